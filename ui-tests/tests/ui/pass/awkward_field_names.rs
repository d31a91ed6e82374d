//! Fields named like keywords, the generated methods, and the `Filter` combinators all get handles.

use fraiseql_wire::{Document, Entity};
use serde::Deserialize;

#[derive(Deserialize, Document)]
struct Meta {
    contains: String,
    r#match: String,
}

#[derive(Deserialize, Entity)]
#[entity(view = "v_thing")]
struct Thing {
    r#type: String,
    query: String,
    fields: i32,
    and: bool,
    not: bool,
    row: Option<i64>,
    matches: String,
    meta: Meta,
}

fn main() {
    let query = Thing::select()
        .filter(|t| t.r#type.eq("a").and(t.query.ne("b")).and(t.fields.gt(1)))
        .filter(|t| t.and.eq(true).or(t.not.eq(false)).not())
        .filter(|t| t.row.is_null().and(t.matches.starts_with("x")))
        .filter(|t| t.meta.contains.eq("c").and(t.meta.r#match.eq("d")));
    let sql = query.to_sql().unwrap().sql;
    assert!(sql.contains("data->>'type' = $1"), "{sql}");
    assert!(sql.contains("data->>'query' <> $2"), "{sql}");
    assert!(sql.contains("data->'meta'->>'match' = $"), "{sql}");
    // The inherent methods and the trait's agree.
    let _ = <Thing as Entity>::fields();
    let _ = Thing::fields();
}
