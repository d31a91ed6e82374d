#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project<T> {
    extra: T,
}

fn main() {}
