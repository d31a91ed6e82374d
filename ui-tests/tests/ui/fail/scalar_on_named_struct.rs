#[derive(serde::Serialize, fraiseql_wire::Scalar)]
struct Money {
    amount: i64,
    currency: String,
}

fn main() {}
