use fraiseql_wire::{Client, Entity};
use serde::Deserialize;

#[derive(Deserialize, Entity)]
#[entity(view = "v_event")]
struct Event {
    day: Option<chrono::NaiveDate>,
}

fn f(client: &Client) {
    let _ = Event::query(client).filter(|e| e.day.starts_with("2026-"));
}

fn main() {}
