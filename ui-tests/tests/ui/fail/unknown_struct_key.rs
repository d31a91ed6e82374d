#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project", table = "project")]
struct Project {
    name: String,
}

fn main() {}
