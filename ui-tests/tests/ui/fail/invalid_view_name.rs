#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v-project")]
struct Project {
    name: String,
}

fn main() {}
