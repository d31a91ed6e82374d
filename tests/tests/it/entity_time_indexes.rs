//! The index recipe of each way of storing a date is what the planner uses: with 100,000 rows, an expression
//! btree on `fraiseql_timestamptz(data->>'at')` serves `time = "rfc3339"` filters and ordering, one on
//! `(data->>'ts')::numeric` serves `time = "epoch"`, and the base table's `timestamptz` column serves a `column`
//! field. The default cast cannot be indexed at all: PostgreSQL refuses the index (42P17), which is why the
//! declaration exists.

use chrono::{DateTime, TimeZone, Utc};
use fraiseql_wire::entity::time::FUNCTIONS_SQL;
use fraiseql_wire::{Client, Entity, Query};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use serde::Deserialize;

use crate::common::plan::explain;

const ROWS: i64 = 100_000;

/// 2026-01-01T00:00:00Z; row `i` happened `i` minutes later.
const START: i64 = 1_767_225_600;

#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_happening", schema = "app", time = "rfc3339")]
struct Happening {
    #[entity(column = "id")]
    id: i64,
    at: DateTime<Utc>,
    #[entity(time = "epoch")]
    #[serde(with = "chrono::serde::ts_seconds")]
    ts: DateTime<Utc>,
    #[entity(column = "logged")]
    logged: DateTime<Utc>,
}

/// Minute `i` after `START`.
fn minute(i: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(START + i * 60, 0).single().expect("a valid instant")
}

/// `app.happening` with 100,000 rows whose `at` texts use four different offsets, the three recipes' indexes,
/// and fresh statistics.
async fn setup() -> (TestDatabase, Client) {
    let db = TestCluster::shared().database().await;
    db.execute(FUNCTIONS_SQL).await;
    db.execute(&format!(
        "CREATE SCHEMA app;
         CREATE TABLE app.happening (id bigint PRIMARY KEY, logged timestamptz NOT NULL, data jsonb NOT NULL);
         INSERT INTO app.happening
         SELECT i, t, jsonb_build_object(
             'id', i,
             'at', to_char(t AT TIME ZONE o::interval, 'YYYY-MM-DD\"T\"HH24:MI:SS')
                   || CASE o WHEN '+00:00' THEN 'Z' ELSE o END,
             'ts', extract(epoch FROM t)::bigint,
             'logged', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))
         FROM generate_series(1, {ROWS}) AS i,
              LATERAL (SELECT to_timestamp({START} + i * 60) AS t,
                              (ARRAY['+00:00', '+05:30', '-08:00', '+01:00'])[1 + i % 4] AS o) AS row_values;
         CREATE VIEW app.v_happening AS SELECT id, logged, data FROM app.happening;
         CREATE INDEX happening_at ON app.happening ((fraiseql_timestamptz(data->>'at')));
         CREATE INDEX happening_ts ON app.happening (((data->>'ts')::numeric));
         CREATE INDEX happening_logged ON app.happening (logged);
         ANALYZE app.happening;"
    ))
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    (db, client)
}

async fn ids(query: Query<Happening>) -> Vec<i64> {
    match query.fetch_all().await {
        Ok(rows) => rows.iter().map(|h| h.id).collect(),
        Err(e) => panic!("query failed: {e}"),
    }
}

#[tokio::test]
async fn each_date_storage_is_served_by_its_index_recipe() {
    let (db, client) = setup().await;
    let f = Happening::fields();
    assert_eq!(f.at.sql(), "fraiseql_timestamptz(data->>'at')", "the expression of the rfc3339 index");
    assert_eq!(f.ts.sql(), "(data->>'ts')::numeric", "the expression of the epoch index");

    // A range on `at`: rows 500..=509, whatever offset each is written with.
    let query = Happening::query(&client).filter(|h| h.at.gte(minute(500)).and(h.at.lt(minute(510))));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("happening_at") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|h| h.id.asc())).await, (500..510).collect::<Vec<_>>());

    // Ordering on the same expression with a LIMIT: the index returns rows in order, no Sort.
    let query = Happening::query(&client).order_by(|h| h.at.desc()).limit(3);
    let plan = explain(&db, &query).await;
    assert!(plan.has("Index Scan Backward") && plan.uses_index("happening_at") && !plan.sorts(), "{plan}");
    assert_eq!(ids(query).await, [ROWS, ROWS - 1, ROWS - 2]);

    // A keyset page in `at` order after row 70,000 starts from the index.
    let last = Happening::query(&client).filter(|h| h.id.eq(70_000)).fetch_one().await.expect("row 70000");
    let query = Happening::query(&client).order_by(|h| (h.at.asc(), h.id.asc())).after(&last).limit(3);
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("happening_at"), "{plan}");
    assert_eq!(ids(query).await, [70_001, 70_002, 70_003]);

    let query = Happening::query(&client).filter(|h| h.ts.between(minute(42), minute(44)));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("happening_ts") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|h| h.id.asc())).await, [42, 43, 44]);

    let query = Happening::query(&client).filter(|h| h.logged.in_list([minute(7), minute(99_999)]));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("happening_logged") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|h| h.id.asc())).await, [7, 99_999]);
}

#[tokio::test]
async fn the_default_cast_cannot_be_indexed() {
    let db = TestCluster::shared().database().await;
    db.execute("CREATE TABLE t (data jsonb NOT NULL)").await;
    let error = db
        .admin()
        .batch_execute("CREATE INDEX ON t (((data->>'at')::timestamptz))")
        .await
        .expect_err("PostgreSQL refuses a TimeZone-dependent cast in an index");
    assert_eq!(error.code(), Some(&tokio_postgres::error::SqlState::INVALID_OBJECT_DEFINITION), "{error}");
    assert!(error.to_string().contains("IMMUTABLE") || format!("{error:?}").contains("IMMUTABLE"), "{error:?}");
}
