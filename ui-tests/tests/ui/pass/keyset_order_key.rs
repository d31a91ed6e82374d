//! `#[entity(order_key)]` marks a unique JSON key, so it can end a keyset `order_by` and `after` works.

use fraiseql_wire::Entity;
use serde::Deserialize;

#[derive(Deserialize, Entity)]
#[entity(view = "v_article", schema = "blog")]
struct Article {
    published: String,
    #[entity(order_key)]
    slug: String,
}

fn main() {
    let last = Article { published: "2026-05-01".into(), slug: "hello".into() };
    let statement = Article::select()
        .order_by(|a| (a.published.desc(), a.slug.asc()))
        .after(&last)
        .limit(20)
        .to_sql()
        .unwrap();
    assert_eq!(
        statement.sql,
        "SELECT \"data\" FROM \"blog\".\"v_article\" \
         WHERE (data->>'published' < $1 OR (data->>'published' = $1 AND data->>'slug' > $2)) \
         ORDER BY data->>'published' DESC, data->>'slug' ASC LIMIT $3"
    );
    // Without the unique key last, `after` is refused.
    assert!(Article::select().order_by(|a| a.published.desc()).after(&last).to_sql().is_err());
}
