#[derive(serde::Serialize, fraiseql_wire::Scalar)]
#[serde(tag = "kind")]
enum Status {
    Active,
    Archived,
}

fn main() {}
