#[derive(fraiseql_wire::Scalar)]
enum Status {
    Active,
    Archived,
}

fn main() {}
