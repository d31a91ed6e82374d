#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
#[serde(rename_all = "camelcase")]
struct Project {
    created_at: String,
}

fn main() {}
