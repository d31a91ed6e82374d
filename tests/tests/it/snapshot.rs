//! `Snapshot`: queries on different views read one moment. Rows written between two queries of a snapshot are
//! invisible to both (and to a snapshot adopted from it), while a client without one sees them; a snapshot from a
//! pool behaves the same; dropping a snapshot ends its transaction; a snapshot whose connection is killed fails
//! with `SnapshotEnded` instead of reading a newer state.

use std::time::Duration;

use fraiseql_wire::{Client, Entity, Error, ErrorKind, Pool};
use fraiseql_wire_tests::{AuthUser, TestDatabase};
use serde::Deserialize;

use crate::common::{self, app_name, sessions, url_with_app, wait_for};

#[allow(dead_code)]
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_snap_order")]
struct Order {
    #[entity(column = "id")]
    id: i64,
}

async fn setup() -> TestDatabase {
    let db = common::database().await;
    db.execute(
        "CREATE TABLE snap_orders (id bigint PRIMARY KEY, data jsonb NOT NULL);
         CREATE TABLE snap_lines (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO snap_orders SELECT i, jsonb_build_object('id', i) FROM generate_series(1, 10) i;
         INSERT INTO snap_lines SELECT i, jsonb_build_object('id', i) FROM generate_series(1, 30) i;
         CREATE VIEW v_snap_order AS SELECT id, data FROM snap_orders;
         CREATE VIEW v_snap_line AS SELECT id, data FROM snap_lines;",
    )
    .await;
    db
}

async fn write_more(db: &TestDatabase, from: i64) {
    db.execute(&format!(
        "INSERT INTO snap_orders SELECT i, jsonb_build_object('id', i) FROM generate_series({from}, {from} + 4) i;
         INSERT INTO snap_lines SELECT i, jsonb_build_object('id', i) FROM generate_series({from}, {from} + 4) i;"
    ))
    .await;
}

#[tokio::test]
async fn queries_of_one_snapshot_read_one_moment() {
    let db = setup().await;
    let app = app_name("snapshot_moment");
    let client = Client::connect(&url_with_app(&db, AuthUser::Scram, &app)).await.expect("connect");
    let snapshot = client.snapshot().await.expect("a snapshot");
    assert!(!snapshot.id().is_empty());

    let orders = Order::query(&snapshot).count().await.expect("orders");
    write_more(&db, 100).await;
    // Another view, after the write: the same moment.
    let lines = snapshot.query("v_snap_line").count().await.expect("lines");
    assert_eq!((orders, lines), (10, 30));
    // An adopted snapshot on another connection reads the same moment, at the same time as the first.
    let adopted = snapshot.adopt().await.expect("adopted");
    write_more(&db, 200).await;
    let (a, b) = tokio::join!(adopted.query("v_snap_order").count(), snapshot.query("v_snap_line").count());
    assert_eq!((a.expect("adopted orders"), b.expect("lines")), (10, 30));
    // Without the snapshot, the writes show.
    assert_eq!(client.query("v_snap_order").count().await.expect("orders now"), 20);
    assert_eq!(client.query("v_snap_line").count().await.expect("lines now"), 40);

    // Through a pool too.
    let pool = Pool::connect(&db.url(AuthUser::Scram)).await.expect("a pool");
    let pooled = pool.snapshot().await.expect("a pool snapshot");
    let before = pooled.query("v_snap_order").count().await.expect("orders");
    write_more(&db, 300).await;
    assert_eq!(pooled.query("v_snap_order").count().await.expect("orders again"), before);
    assert_eq!(pool.query("v_snap_order").count().await.expect("orders now"), before + 5);

    // Dropping every handle ends the transaction: the snapshot's backend goes away.
    let in_transaction = || async {
        sessions(db.admin(), &app)
            .await
            .iter()
            .filter(|(_, state, _)| state.as_deref() == Some("idle in transaction"))
            .count()
    };
    assert_eq!(in_transaction().await, 2, "the snapshot and its adopted copy are open");
    drop((snapshot, adopted));
    let ended = wait_for(Duration::from_secs(5), || async { (in_transaction().await == 0).then_some(()) }).await;
    assert!(ended.is_some(), "a dropped snapshot's transaction is still open");
}

#[tokio::test]
async fn a_snapshot_whose_connection_dies_is_never_replaced() {
    let db = setup().await;
    let app = app_name("snapshot_killed");
    let client = Client::connect(&url_with_app(&db, AuthUser::Scram, &app)).await.expect("connect");
    let snapshot = client.snapshot().await.expect("a snapshot");
    snapshot.query("v_snap_order").count().await.expect("a first read");
    let killed: bool = db
        .admin()
        .query_one(
            "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1 AND state = 'idle in transaction'",
            &[&app],
        )
        .await
        .expect("terminate")
        .get(0);
    assert!(killed);
    let first = snapshot.query("v_snap_order").count().await.expect_err("the connection is gone");
    assert_eq!(first.kind(), ErrorKind::Closed, "{first}");
    let again = snapshot.query("v_snap_order").count().await.expect_err("still gone");
    assert!(matches!(again, Error::SnapshotEnded), "{again:?}");
    assert!(!again.is_retriable());
    assert!(again.advice().is_some_and(|advice| advice.contains("new snapshot")), "{again}");
    // The client itself is unaffected.
    assert_eq!(client.query("v_snap_order").count().await.expect("the client"), 10);
}
