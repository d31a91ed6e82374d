#[derive(fraiseql_wire::Entity)]
enum Status {
    Active,
}

fn main() {}
