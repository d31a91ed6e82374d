// Two attribute mistakes are reported once each, where they are: the uses of the entity below still compile
// against the fallback the derive generates, instead of failing with "no function `query`" at every call.
use fraiseql_wire::{Client, Entity};

#[derive(serde::Deserialize, Entity)]
#[entity(view = "v-project")]
struct Project {
    #[entity(column = "1d")]
    id: i64,
    name: String,
}

#[allow(dead_code)]
async fn uses(client: &Client) {
    let query = Project::query(client).filter(|p| p.name.eq("x").and(p.id.gt(3))).order_by(|p| p.id.asc());
    let _ = query.fetch_all().await;
    let _ = Project::fields().name.sql();
}

fn main() {}
