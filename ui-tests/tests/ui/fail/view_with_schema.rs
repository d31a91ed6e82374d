#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "app.v_project")]
struct Project {
    name: String,
}

fn main() {}
