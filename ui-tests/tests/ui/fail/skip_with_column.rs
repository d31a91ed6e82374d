#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    #[entity(column = "id", skip)]
    id: i64,
    #[serde(skip)]
    #[entity(order_key)]
    cache: String,
}

fn main() {}
