#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project<'a> {
    name: &'a str,
}

fn main() {}
