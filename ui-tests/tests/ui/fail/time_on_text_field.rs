use fraiseql_wire::Entity;
use serde::Deserialize;

#[derive(Deserialize, Entity)]
#[entity(view = "v_event")]
struct Event {
    #[entity(time = "epoch")]
    name: String,
}

fn main() {}
