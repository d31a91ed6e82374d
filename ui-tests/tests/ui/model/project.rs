// The entity model shared by the usage cases in fail/: each includes it, then misuses one operator.
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

