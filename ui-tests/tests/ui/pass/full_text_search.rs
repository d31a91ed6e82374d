//! Full-text search on an optional text field and on the whole document, one query value for the filter and the
//! rank; an entity's own fields named `search` and `rank` live beside the entity's `search` and `rank`.

use fraiseql_wire::{Entity, websearch};
use serde::Deserialize;

#[derive(Deserialize, Entity)]
#[entity(view = "v_post")]
struct Post {
    #[entity(column = "id")]
    id: i64,
    body: Option<String>,
    search: String,
    rank: i32,
}

fn main() {
    let q = websearch("rust async").config("simple");
    let statement = Post::select()
        .filter(|p| p.body.search(&q).or(p.search(&q)).and(p.rank.gt(3)).and(p.search.eq("x")))
        .order_by(|p| (p.body.rank(&q).desc(), p.rank(q.clone()).asc(), p.id.asc()))
        .to_sql()
        .unwrap();
    assert!(statement.sql.contains("to_tsvector('simple'::regconfig, data->>'body') @@ websearch_to_tsquery("));
    assert!(statement.sql.contains("jsonb_to_tsvector('simple'::regconfig, data, '[\"string\"]'::jsonb)"));
    assert_eq!(statement.params.iter().filter(|p| p.as_str() == Some("rust async")).count(), 4);
}
