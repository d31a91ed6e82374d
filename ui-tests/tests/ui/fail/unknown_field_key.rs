#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    #[entity(colum = "id")]
    id: i64,
}

fn main() {}
