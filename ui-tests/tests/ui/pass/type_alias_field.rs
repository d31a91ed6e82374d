//! A field whose type is an alias (and one written with `Self` in a path) is the aliased type.

use fraiseql_wire::Entity;
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
    let sql = Scored::select()
        .filter(|s| s.score.between(1.0, 2.0).and(s.tags.contains("x")).and(s.best.gt(0.5)))
        .order_by(|s| s.score.desc())
        .to_sql()
        .unwrap()
        .sql;
    // An alias of f64 compares as an f64 does: as float8.
    assert!(sql.contains("(data->>'score')::float8 BETWEEN"), "{sql}");
}
