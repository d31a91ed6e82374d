use fraiseql_wire::{Client, Entity, Document, Scalar};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Scalar)]
enum Status {
    Active,
}

#[derive(Deserialize, Document)]
struct Owner {
    team: String,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_project")]
struct Project {
    #[entity(column = "id")]
    id: i64,
    name: String,
    priority: i32,
    score: Option<f64>,
    tags: Vec<String>,
    status: Status,
    owner: Owner,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_team")]
struct Team {
    name: String,
}

fn f(client: &Client) {
    let other = Team::fields().name.eq("core");
    let _ = Project::query(client).filter_by(other);
    let _ = Project::query(client).filter(|_| Team::fields().name.eq("core"));
}

fn main() {}
