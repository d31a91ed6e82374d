use fraiseql_wire::Entity;
use serde::Deserialize;

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_issue")]
struct Issue {
    labels: Vec<Label>,
}

fn main() {}
