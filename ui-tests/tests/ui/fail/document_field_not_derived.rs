#[derive(serde::Deserialize)]
struct Member {
    name: String,
}

#[derive(serde::Deserialize, fraiseql_wire::Document)]
struct Owner {
    team: String,
    lead: Member,
}

fn main() {}
