#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(schema = "app")]
struct Project {
    name: String,
}

fn main() {}
