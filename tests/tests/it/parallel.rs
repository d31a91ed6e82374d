//! Parallel export against a real server: the slices together return exactly the rows of one stream, all from one
//! snapshot (rows deleted after the export started still arrive), with their own connections, which end with the
//! export; a dropped export stops every slice's query.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use fraiseql_wire::{Client, Error, ErrorKind, Pool, Query};
use fraiseql_wire_tests::{AuthUser, TestDatabase};

use crate::common::{app_name, connect, database, sessions, url_with_app, wait_for};

const ROWS: i64 = 3000;

/// `v_items`: `ROWS` documents with an `id` column, a key `group` that is `NULL` for every tenth row, and a
/// `weight`.
async fn setup() -> TestDatabase {
    let db = database().await;
    db.execute(&format!(
        "CREATE TABLE items (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO items SELECT i, jsonb_build_object('id', i, 'weight', i % 17,
             'group', CASE WHEN i % 10 = 0 THEN NULL ELSE 'g' || (i % 7) END, 'pad', repeat('x', i % 50))
         FROM generate_series(1, {ROWS}) i;
         CREATE VIEW v_items AS SELECT id, data FROM items;"
    ))
    .await;
    db
}

/// The rows' texts, sorted: the same multiset whatever order they arrived in.
async fn sorted(rows: impl futures_util::Stream<Item = fraiseql_wire::Result<Bytes>>) -> Vec<Bytes> {
    let mut rows: Vec<Bytes> = rows.try_collect().await.expect("every row");
    rows.sort();
    rows
}

#[tokio::test]
async fn slices_return_exactly_the_rows_of_one_stream() {
    let db = setup().await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    let single = sorted(client.query("v_items").stream_raw()).await;
    assert_eq!(single.len(), ROWS as usize);
    for connections in [1, 2, 4] {
        let parallel = sorted(client.query("v_items").parallel(connections, "id").stream_raw()).await;
        assert_eq!(parallel, single, "{connections} connections");
    }
    // A key that is NULL for some rows: those go to the first slice, none is lost.
    let by_group = sorted(client.query("v_items").parallel(3, "data->>'group'").stream_raw()).await;
    assert_eq!(by_group, single);

    // Filters apply in every slice; a typed stream keeps the Rust predicate.
    #[derive(Deserialize)]
    struct Item {
        id: i64,
        weight: i64,
    }
    let heavy =
        |query: Query<Item>| query.where_sql("(data->>'weight')::int >= $1", &[&10]).filter_rust(|i| i.id % 2 == 0);
    let mut expected: Vec<i64> =
        heavy(client.query_as::<Item>("v_items")).stream().map_ok(|i| i.id).try_collect().await.expect("one");
    let mut got: Vec<i64> = heavy(client.query_as::<Item>("v_items"))
        .parallel(2, "id")
        .stream()
        .map_ok(|i| {
            assert!(i.weight >= 10);
            i.id
        })
        .try_collect()
        .await
        .expect("parallel typed");
    expected.sort_unstable();
    got.sort_unstable();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

#[tokio::test]
async fn range_slices_return_exactly_the_rows_of_one_stream() {
    let db = setup().await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    let single = sorted(client.query("v_items").stream_raw()).await;
    for connections in [1, 2, 3, 4, 7] {
        let parallel = sorted(client.query("v_items").parallel(connections, "id").by_range().stream_raw()).await;
        assert_eq!(parallel, single, "{connections} connections");
    }
    // An integer key that is NULL for every tenth row and spans only 1..=9.
    let nullable = "nullif(id % 10, 0)";
    assert_eq!(sorted(client.query("v_items").parallel(4, nullable).by_range().stream_raw()).await, single);

    // The bounds are those of the filtered rows (bound parameters included), and an empty result is no error.
    let filtered = |from: i64| client.query("v_items").where_sql("id > $1", &[&from]);
    let tail = sorted(filtered(2900).stream_raw()).await;
    assert_eq!(tail.len(), 100);
    assert_eq!(sorted(filtered(2900).parallel(3, "id").by_range().stream_raw()).await, tail);
    assert!(sorted(filtered(ROWS).parallel(3, "id").by_range().stream_raw()).await.is_empty());
}

/// `in_key_order()`: exactly the rows of one `ORDER BY key` stream, in that order, whatever the number of slices;
/// with a nullable key, the keys never decrease and the `NULL` keys come last; filters and bound parameters apply.
#[tokio::test]
async fn key_order_returns_the_rows_of_one_ordered_stream() {
    let db = setup().await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    let collect = |rows: fraiseql_wire::ParallelStream<Bytes>| rows.try_collect::<Vec<Bytes>>();
    let ordered: Vec<Bytes> =
        client.query("v_items").order_by_sql("id").stream_raw().try_collect().await.expect("one stream");
    assert_eq!(ordered.len(), ROWS as usize);
    for connections in [1, 2, 3, 4, 7] {
        let rows = collect(client.query("v_items").parallel(connections, "id").in_key_order().stream_raw());
        assert_eq!(rows.await.expect("in key order"), ordered, "{connections} connections");
    }

    #[derive(Deserialize)]
    struct Id {
        id: i64,
    }
    // Keys 1..=9 with every tenth NULL: many equal keys, and NULL sorts after them all.
    let ids: Vec<i64> = client
        .query_as::<Id>("v_items")
        .parallel(4, "nullif(id % 10, 0)")
        .in_key_order()
        .stream()
        .map_ok(|row| row.id)
        .try_collect()
        .await
        .expect("nullable key");
    let sort_key = |id: &i64| if id % 10 == 0 { (true, 0) } else { (false, id % 10) };
    let keys: Vec<(bool, i64)> = ids.iter().map(sort_key).collect();
    assert!(keys.windows(2).all(|pair| pair[0] <= pair[1]), "keys out of order");
    let mut every = ids.clone();
    every.sort_unstable();
    assert_eq!(every, (1..=ROWS).collect::<Vec<_>>(), "every row once");

    let filtered = |from: i64| client.query("v_items").where_sql("id > $1", &[&from]);
    let tail: Vec<Bytes> = filtered(2900).order_by_sql("id").stream_raw().try_collect().await.expect("tail");
    assert_eq!(tail.len(), 100);
    assert_eq!(collect(filtered(2900).parallel(3, "id").in_key_order().stream_raw()).await.expect("filtered"), tail);
    assert!(collect(filtered(ROWS).parallel(3, "id").in_key_order().stream_raw()).await.expect("empty").is_empty());
}

/// In key order every slice's query runs from the start, not when its turn comes: with only the first row read,
/// both export sessions have run their `ORDER BY` slice (a slice started late would still show the `SET
/// TRANSACTION SNAPSHOT` that preceded it); dropping the export closes both.
#[tokio::test]
async fn key_order_runs_every_slice_at_once() {
    let db = setup().await;
    let app = app_name("parallel_key_order");
    let client: Client = connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    let admin = db.admin();
    let mut export = client.query("v_items").parallel(2, "id").in_key_order().stream_raw();
    let first = export.try_next().await.expect("first row").expect("a row");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&first).expect("json")["id"], 1);
    let ran_slices = || async {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%ORDER BY%'";
        admin.query_one(sql, &[&app]).await.expect("pg_stat_activity").get::<_, i64>(0)
    };
    let both = wait_for(Duration::from_secs(5), || async { (ran_slices().await == 2).then_some(()) });
    assert!(both.await.is_some(), "both slices started: {} did", ran_slices().await);
    drop(export);
    let stopped = wait_for(Duration::from_secs(5), || async { (sessions(admin, &app).await.len() == 1).then_some(()) });
    assert!(stopped.await.is_some(), "slices still there: {:?}", sessions(admin, &app).await);
}

#[tokio::test]
async fn a_range_split_needs_an_integer_key() {
    let db = setup().await;
    let app = app_name("parallel_range_key");
    let client = connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    let mut rows = client.query("v_items").parallel(2, "data->>'group'").by_range().stream_raw();
    let error = rows.try_next().await.expect_err("refused");
    assert!(matches!(error, Error::InvalidParallel { .. }), "{error:?}");
    assert!(error.to_string().contains("integer key") && error.to_string().contains("text"), "{error}");
    assert!(rows.next().await.is_none(), "nothing after the error");
    // The export's connections went with it; only the client's own session is left.
    let closed =
        wait_for(Duration::from_secs(5), || async { (sessions(db.admin(), &app).await.len() == 1).then_some(()) });
    assert!(closed.await.is_some(), "{:?}", sessions(db.admin(), &app).await);
}

#[tokio::test]
async fn every_slice_reads_the_snapshot_taken_when_the_export_started() {
    let db = setup().await;
    let pool = Pool::connect(&db.socket_conninfo(AuthUser::Scram)).await.expect("pool");
    let everything = sorted(pool.query("v_items").stream_raw()).await;
    let mut export = pool.query("v_items").parallel(3, "id").stream_raw();
    let first = export.try_next().await.expect("first row").expect("a row");
    // Every slice has adopted the snapshot by the time a row arrives; what commits now is not seen by any.
    db.execute("DELETE FROM items; INSERT INTO items VALUES (-1, '{\"late\": true}')").await;
    let mut rows = vec![first];
    rows.extend(export.try_collect::<Vec<_>>().await.expect("the rest"));
    rows.sort();
    assert_eq!(rows, everything);
    let after = pool.query("v_items").fetch_all().await.expect("after");
    assert_eq!(after, [serde_json::json!({"late": true})]);
}

#[tokio::test]
async fn the_export_uses_connections_of_its_own_and_closes_them() {
    let db = setup().await;
    let app = app_name("parallel_own");
    let client = connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    let admin = db.admin();
    client.query("v_items").limit(1).fetch_all().await.expect("the client's own session");
    assert_eq!(sessions(admin, &app).await.len(), 1);

    let count = client.query("v_items").parallel(3, "id").stream_raw().try_fold(0, |n, _| async move { Ok(n + 1) });
    assert_eq!(count.await.expect("export"), ROWS);
    let back_to_one =
        wait_for(Duration::from_secs(5), || async { (sessions(admin, &app).await.len() == 1).then_some(()) });
    assert!(back_to_one.await.is_some(), "the export's connections stayed open: {:?}", sessions(admin, &app).await);
    // The client's own session was never inside the export's transactions: it sees a change at once.
    db.execute("DELETE FROM items WHERE id > 10").await;
    assert_eq!(client.query("v_items").count().await.expect("count"), 10);
}

#[tokio::test]
async fn dropping_the_export_stops_every_slice() {
    let db = setup().await;
    db.execute(
        "CREATE VIEW v_slow AS SELECT id, data FROM v_items, LATERAL (SELECT pg_sleep(0.002) WHERE id > 0) AS s",
    )
    .await;
    let app = app_name("parallel_drop");
    let client: Client = connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    let admin = db.admin();
    let mut export = client.query("v_slow").parallel(2, "id").stream_raw();
    export.try_next().await.expect("first row").expect("a row");
    let active = || async {
        sessions(admin, &app).await.iter().filter(|(_, state, _)| state.as_deref() == Some("active")).count()
    };
    let both = wait_for(Duration::from_secs(5), || async { (active().await == 2).then_some(()) });
    assert!(both.await.is_some(), "both slices run: {:?}", sessions(admin, &app).await);
    drop(export);
    // Only the client's own (idle) session is left.
    let stopped = wait_for(Duration::from_secs(5), || async { (sessions(admin, &app).await.len() == 1).then_some(()) });
    assert!(stopped.await.is_some(), "slices still there: {:?}", sessions(admin, &app).await);
}

#[tokio::test]
async fn a_query_that_cannot_be_split_is_refused_before_connecting() {
    let db = setup().await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    for (query, what) in [
        (client.query("v_items").order_by_sql("id").parallel(2, "id"), "in_key_order()"),
        (client.query("v_items").limit(5).parallel(2, "id"), "limit"),
        (client.query("v_items").parallel(0, "id"), "at least one connection"),
    ] {
        let mut rows = query.stream_raw();
        let error = rows.try_next().await.expect_err("refused");
        assert!(matches!(error, Error::InvalidParallel { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert!(error.to_string().contains(what), "{error}");
        assert!(rows.next().await.is_none(), "nothing after the error");
    }
    let error = client.query("v_items").parallel(2, "id; DROP TABLE items").stream_raw().try_next().await;
    assert!(matches!(error, Err(Error::InvalidFragment { .. })), "{error:?}");
}
