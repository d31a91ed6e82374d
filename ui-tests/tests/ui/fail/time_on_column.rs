use fraiseql_wire::Entity;
use serde::Deserialize;

#[derive(Deserialize, Entity)]
#[entity(view = "v_event")]
struct Event {
    #[entity(column = "at", time = "rfc3339")]
    at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
