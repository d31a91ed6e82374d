//! The statement cache, seen from the server: `pg_prepared_statements` of the session shows which statements it
//! holds. A repeated query is prepared once; past the capacity the least recently used statement is closed; a
//! view whose result type changed is prepared again instead of failing.

use std::collections::BTreeSet;

use fraiseql_wire::{Client, Config};
use fraiseql_wire_tests::{AuthUser, TestDatabase};

use crate::common::{create_small_view, database, small_rows};

/// The SQL text of every statement the session has prepared (the query reading this view included).
async fn prepared(client: &Client) -> BTreeSet<String> {
    let rows = client.query("v_prepared").fetch_all().await.expect("v_prepared");
    rows.iter().map(|row| row["statement"].as_str().expect("a statement").to_owned()).collect()
}

/// Which of the relations named appear in the prepared statements' SQL.
fn relations(statements: &BTreeSet<String>, names: &[&str]) -> Vec<String> {
    let mut found: Vec<String> =
        names.iter().filter(|name| statements.iter().any(|sql| sql.contains(*name))).map(|n| (*n).to_owned()).collect();
    found.sort();
    found
}

async fn setup() -> TestDatabase {
    let db = database().await;
    create_small_view(&db).await;
    db.execute(
        "CREATE VIEW v_prepared AS SELECT jsonb_build_object('name', name, 'statement', statement) AS data \
         FROM pg_prepared_statements;
         CREATE VIEW v_other AS SELECT data FROM v_small",
    )
    .await;
    db
}

async fn client_with(db: &TestDatabase, capacity: usize) -> Client {
    let config: Config = db.socket_conninfo(AuthUser::Scram).parse().expect("conninfo");
    Client::connect_with(config.statement_cache_capacity(capacity)).await.expect("connect")
}

#[tokio::test]
async fn repeated_queries_are_prepared_once_and_the_cache_stays_bounded() {
    let db = setup().await;
    let client = client_with(&db, 2).await;
    for _ in 0..3 {
        assert_eq!(client.query("v_small").fetch_all().await.expect("v_small"), small_rows());
    }
    let held = prepared(&client).await;
    assert_eq!(held.len(), 2, "v_small once, and the query reading the list: {held:?}");
    assert_eq!(relations(&held, &["v_small", "v_prepared"]), ["v_prepared", "v_small"]);

    // A third statement closes the least recently used one (v_small) on the server.
    assert_eq!(client.query("v_other").fetch_all().await.expect("v_other"), small_rows());
    let held = prepared(&client).await;
    assert_eq!(relations(&held, &["v_small", "v_other", "v_prepared"]), ["v_other", "v_prepared"], "{held:?}");
    // v_small is prepared again when it comes back, and still right.
    assert_eq!(client.query("v_small").fetch_all().await.expect("v_small"), small_rows());
}

#[tokio::test]
async fn capacity_zero_prepares_nothing() {
    let db = setup().await;
    let client = client_with(&db, 0).await;
    client.query("v_small").fetch_all().await.expect("v_small");
    assert!(prepared(&client).await.is_empty());
}

/// The view is replaced with one whose `data` is `json` instead of `jsonb`: the cached statement can no longer run
/// (0A000, "cached plan must not change result type"), so it is prepared again and the query succeeds.
#[tokio::test]
async fn a_view_whose_result_type_changed_is_prepared_again() {
    let db = setup().await;
    db.execute("CREATE VIEW v_shape AS SELECT data FROM v_small").await;
    let client = client_with(&db, 8).await;
    assert_eq!(client.query("v_shape").fetch_all().await.expect("first"), small_rows());
    db.execute("DROP VIEW v_shape; CREATE VIEW v_shape AS SELECT data::json AS data FROM v_small").await;
    assert_eq!(client.query("v_shape").fetch_all().await.expect("after the change"), small_rows());
    // A dropped view is the server's error as usual, and the session goes on.
    db.execute("DROP VIEW v_shape").await;
    let error = client.query("v_shape").fetch_all().await.unwrap_err();
    assert_eq!(error.code(), Some("42P01"), "{error:?}");
    assert_eq!(client.query("v_small").fetch_all().await.expect("v_small"), small_rows());
}

/// Statements the server parsed but the cache does not keep (the Bind failed, the column is not JSON) are closed
/// with the next query: repeating a failing query piles nothing up on the server.
#[tokio::test]
async fn statements_that_are_not_kept_are_closed() {
    let db = setup().await;
    db.execute("CREATE VIEW v_text AS SELECT 'x'::text AS data").await;
    let client = client_with(&db, 8).await;
    for _ in 0..5 {
        let error = client
            .query("v_small")
            .where_sql("(data->>'id')::int = $1", &[&"not a number"])
            .fetch_all()
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some("22P02"), "{error:?}");
        let error = client.query("v_text").fetch_all().await.unwrap_err();
        assert!(matches!(error, fraiseql_wire::Error::NotJson { .. }), "{error:?}");
    }
    let held = prepared(&client).await;
    assert_eq!(relations(&held, &["v_small", "v_text", "v_prepared"]), ["v_prepared"], "{held:?}");
}
