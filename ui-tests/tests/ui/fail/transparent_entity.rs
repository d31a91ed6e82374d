#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
#[serde(transparent)]
struct Project {
    name: String,
}

fn main() {}
