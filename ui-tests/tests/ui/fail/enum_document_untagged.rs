#[derive(serde::Deserialize, fraiseql_wire::Document)]
#[serde(untagged)]
enum Contact {
    Email { address: String },
    Phone { number: String },
}

#[derive(serde::Deserialize, fraiseql_wire::Document)]
enum Status {
    Open { since: String },
    #[serde(other)]
    Unknown,
}

#[derive(serde::Deserialize, fraiseql_wire::Document)]
enum Reserved {
    IsNull,
    Other { x: i64 },
}

fn main() {}
