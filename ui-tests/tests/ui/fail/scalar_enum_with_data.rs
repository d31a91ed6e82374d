#[derive(serde::Serialize, fraiseql_wire::Scalar)]
enum Status {
    Active,
    Paused { until: String },
    Archived(u32),
}

fn main() {}
