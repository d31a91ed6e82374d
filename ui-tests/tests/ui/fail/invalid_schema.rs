#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project", schema = "1st_schema")]
struct Project {
    name: String,
}

fn main() {}
