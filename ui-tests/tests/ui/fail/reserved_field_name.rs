#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    __location: String,
}

fn main() {}
