#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
#[serde(rename_all = "camelCase")]
struct Project {
    #[entity(rename = "createdAt")]
    created: String,
    created_at: String,
}

fn main() {}
