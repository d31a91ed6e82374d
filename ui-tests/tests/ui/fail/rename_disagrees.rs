#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    #[serde(rename = "title")]
    #[entity(rename = "name")]
    name: String,
}

fn main() {}
