#[derive(fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    name: String,
}

fn main() {}
