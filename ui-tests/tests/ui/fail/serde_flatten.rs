use std::collections::HashMap;

#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    name: String,
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

fn main() {}
