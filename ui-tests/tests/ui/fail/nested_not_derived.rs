#[derive(serde::Deserialize)]
struct Owner {
    team: String,
}

#[derive(serde::Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_project")]
struct Project {
    owner: Owner,
}

fn main() {}
