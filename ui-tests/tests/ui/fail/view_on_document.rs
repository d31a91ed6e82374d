#[derive(serde::Deserialize, fraiseql_wire::Document)]
#[entity(view = "v_owner")]
struct Owner {
    team: String,
}

fn main() {}
