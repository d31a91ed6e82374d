use fraiseql_wire::{Client, Entity};
use serde::Deserialize;

#[derive(Deserialize, Entity)]
#[entity(view = "v_event")]
struct Event {
    at: chrono::DateTime<chrono::Utc>,
}

fn f(client: &Client) {
    let _ = Event::query(client).filter(|e| e.at.gt("2026-01-01T00:00:00Z"));
}

fn main() {}
