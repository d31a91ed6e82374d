//! A field whose type is an alias (and one written with `Self` in a path) is the aliased type.

use fraiseql_wire::{Client, Entity};
use serde::Deserialize;

type Score = f64;
type Tags = Vec<String>;

#[derive(Deserialize, Entity)]
#[entity(view = "v_scored")]
struct Scored {
    score: Score,
    tags: Tags,
    best: Option<Score>,
}

fn main() {
    let config = fraiseql_wire::Config::new().host("/nonexistent").user("u").dbname("d");
    let client = Client::connect_lazy(config).unwrap();
    let sql = Scored::query(&client)
        .filter(|s| s.score.between(1.0, 2.0).and(s.tags.contains("x")).and(s.best.gt(0.5)))
        .order_by(|s| s.score.desc())
        .to_sql()
        .unwrap()
        .sql;
    assert!(sql.contains("(data->>'score')::numeric BETWEEN"), "{sql}");
}
