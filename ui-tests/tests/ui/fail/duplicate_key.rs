#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
#[entity(view = "v_projects")]
struct Project {
    #[entity(skip, skip)]
    name: String,
}

fn main() {}
