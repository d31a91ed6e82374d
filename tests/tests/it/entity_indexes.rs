//! The SQL typed filters compile to is what indexes serve: with 100,000 rows, a GIN `jsonb_path_ops` index on
//! `data` and expression btrees on `data->>'name'` and `(data->>'priority')::numeric`, `EXPLAIN` of the exact
//! statement from `to_sql()`, with its parameters bound, must use those indexes. The numeric expression index
//! serving both `priority.gt(…)` and `order_by(priority)` proves filters and ordering share one expression.

use fraiseql_wire::{Client, Query};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use serde_json::json;

use crate::common::plan::explain;
use crate::common::project::Project;

const ROWS: i64 = 100_000;

/// `t` with 100,000 documents, `v_project` over it, the three indexes, and fresh statistics.
///
/// Selectivity: tag `"x"` is on 10 rows (every 10,000th), names and priorities are unique (`priority = id`),
/// teams repeat every 20 rows.
async fn setup() -> (TestDatabase, Client) {
    let db = TestCluster::shared().database().await;
    db.execute(&format!(
        "CREATE SCHEMA app;
         CREATE TABLE app.t (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO app.t
         SELECT i, jsonb_build_object(
             'id', i,
             'name', 'project ' || i,
             'status', 'active',
             'priority', i,
             'done', false,
             'tags', CASE WHEN i % 10000 = 0 THEN jsonb_build_array('x', 'y') ELSE jsonb_build_array('y', 't' || i % 50) END,
             'owner', jsonb_build_object('team', 'team' || i % 20, 'address', jsonb_build_object('city', 'Bern')),
             'slug', 'p' || i,
             'createdAt', '2026-01-01')
         FROM generate_series(1, {ROWS}) AS i;
         CREATE VIEW app.v_project AS SELECT id, data FROM app.t;
         CREATE INDEX t_data_gin ON app.t USING gin (data jsonb_path_ops);
         CREATE INDEX t_name ON app.t ((data->>'name'));
         CREATE INDEX t_priority ON app.t (((data->>'priority')::numeric));
         ANALYZE app.t;"
    ))
    .await;
    let client = match Client::connect(&db.url(AuthUser::Superuser)).await {
        Ok(client) => client,
        Err(e) => panic!("connecting: {e}"),
    };
    (db, client)
}

async fn ids(query: Query<Project>) -> Vec<i64> {
    match query.fetch_all().await {
        Ok(rows) => rows.iter().map(|p| p.id).collect(),
        Err(e) => panic!("query failed: {e}"),
    }
}

#[tokio::test]
async fn gin_index_serves_list_contains_and_matches() {
    let (db, client) = setup().await;
    let expected: Vec<i64> = (1..=10).map(|i| i * 10_000).collect();

    let query = Project::query(&client).filter(|p| p.tags.contains("x"));
    let plan = explain(&db, &query).await;
    assert!(plan.has("Bitmap Index Scan") && plan.uses_index("t_data_gin"), "{plan}");
    assert!(!plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, expected);

    let query = Project::query(&client).filter(|p| p.tags.contains_all(["x", "y"]));
    let plan = explain(&db, &query).await;
    assert!(plan.has("Bitmap Index Scan") && plan.uses_index("t_data_gin"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, expected);

    let query =
        Project::query(&client).filter(|p| p.matches(&json!({"name": "project 777", "owner": {"team": "team17"}})));
    let plan = explain(&db, &query).await;
    assert!(plan.has("Bitmap Index Scan") && plan.uses_index("t_data_gin"), "{plan}");
    assert_eq!(ids(query).await, [777]);

    let query =
        Project::query(&client).filter(|p| p.owner.contains(&json!({"team": "team3"})).and(p.tags.contains("x")));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_data_gin"), "{plan}");
    assert_eq!(ids(query).await, Vec::<i64>::new());
}

#[tokio::test]
async fn expression_btree_serves_text_eq_and_prefix() {
    let (db, client) = setup().await;

    let query = Project::query(&client).filter(|p| p.name.eq("project 12345"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name"), "{plan}");
    assert!(!plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query).await, [12345]);

    let query = Project::query(&client).filter(|p| p.name.in_list(["project 1", "project 99999"]));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, [1, 99999]);

    // The C collation lets a plain btree serve a LIKE prefix; starts_with escapes its argument, and the
    // planner still sees a fixed prefix.
    let query = Project::query(&client).filter(|p| p.name.starts_with("project 9999"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name"), "{plan}");
    assert_eq!(
        ids(query.order_by(|p| p.id.asc())).await,
        [9999, 99990, 99991, 99992, 99993, 99994, 99995, 99996, 99997, 99998, 99999]
    );

    // Control: a suffix cannot use the btree, and the plan check notices.
    let query = Project::query(&client).filter(|p| p.name.ends_with(" 4242"));
    let plan = explain(&db, &query).await;
    assert!(plan.has("Seq Scan") && !plan.uses_index("t_name"), "{plan}");
    assert_eq!(ids(query).await, [4242]);
}

#[tokio::test]
async fn numeric_expression_index_serves_filters_and_order_by() {
    let (db, client) = setup().await;
    let field = Project::fields().priority.sql();
    assert_eq!(field, "(data->>'priority')::numeric", "the expression of the index");

    let query = Project::query(&client).filter(|p| p.priority.gt(ROWS - 10));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_priority"), "{plan}");
    assert!(!plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, (ROWS - 9..=ROWS).collect::<Vec<_>>());

    let query = Project::query(&client).filter(|p| p.priority.between(500, 504));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_priority"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, [500, 501, 502, 503, 504]);

    // ORDER BY the same expression with a LIMIT: an index scan that returns rows in order, no Sort.
    let query = Project::query(&client).order_by(|p| p.priority.asc()).limit(10);
    let plan = explain(&db, &query).await;
    assert!(plan.has("Limit") && plan.has("Index Scan") && plan.uses_index("t_priority"), "{plan}");
    assert!(!plan.sorts(), "{plan}");
    assert_eq!(ids(query).await, (1..=10).collect::<Vec<_>>());

    let query = Project::query(&client).order_by(|p| p.priority.desc()).limit(10);
    let plan = explain(&db, &query).await;
    assert!(plan.has("Index Scan Backward") && plan.uses_index("t_priority"), "{plan}");
    assert!(!plan.sorts(), "{plan}");
    assert_eq!(ids(query).await, (ROWS - 9..=ROWS).rev().collect::<Vec<_>>());

    // Filter and order on the one expression: one index scan does both.
    let query = Project::query(&client).filter(|p| p.priority.gte(ROWS - 4)).order_by(|p| p.priority.asc()).limit(3);
    let plan = explain(&db, &query).await;
    assert!(plan.has("Index Scan") && plan.uses_index("t_priority") && !plan.sorts(), "{plan}");
    assert_eq!(ids(query).await, [ROWS - 4, ROWS - 3, ROWS - 2]);

    // A keyset page after row 50,000 in (priority, id) order: the same index finds the rows after the key
    // (ties on priority would be ordered by an Incremental Sort on top of it).
    let last = Project::query(&client).filter(|p| p.id.eq(50_000)).fetch_one().await.expect("row 50000");
    let query = Project::query(&client).order_by(|p| (p.priority.asc(), p.id.asc())).after(&last).limit(5);
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_priority"), "{plan}");
    assert_eq!(ids(query).await, [50_001, 50_002, 50_003, 50_004, 50_005]);
}

#[tokio::test]
async fn trigram_index_serves_regular_expressions_substrings_and_ilike() {
    let (db, client) = setup().await;
    db.execute(
        "CREATE EXTENSION pg_trgm;
         CREATE INDEX t_name_trgm ON app.t USING gin ((data->>'name') gin_trgm_ops);
         ANALYZE app.t;",
    )
    .await;

    let query = Project::query(&client).filter(|p| p.name.matches_regex("ct 4242[0-9]$"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name_trgm") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, (42_420..=42_429).collect::<Vec<_>>());

    // An anchored pattern has a fixed prefix, which the plain btree serves (the C collation).
    let query = Project::query(&client).filter(|p| p.name.matches_regex("^project 4242[0-9]$"));
    let plan = explain(&db, &query).await;
    assert!(!plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, (42_420..=42_429).collect::<Vec<_>>());

    let query = Project::query(&client).filter(|p| p.name.matches_regex_ci("PROJECT 9876[0-9]"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name_trgm"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, (98_760..=98_769).collect::<Vec<_>>());

    // `ilike` with wildcards on both sides: the same index, ignoring case.
    let query = Project::query(&client).filter(|p| p.name.ilike("%JECT 4242_%"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name_trgm") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc())).await, (42_420..=42_429).collect::<Vec<_>>());

    // `contains` on text is `LIKE '%…%'`, which the same index serves.
    let query = Project::query(&client).filter(|p| p.name.contains("ct 7777"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("t_name_trgm") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(
        ids(query.order_by(|p| p.id.asc())).await,
        (0..=10).map(|n| if n == 0 { 7777 } else { 77_770 + n - 1 }).collect::<Vec<_>>()
    );
}
