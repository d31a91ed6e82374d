#[derive(serde::Deserialize, fraiseql_wire::Document)]
struct Owner {
    #[entity(column = "owner_id")]
    id: i64,
    #[entity(order_key)]
    team: String,
}

fn main() {}
