//! Through PgBouncer (Debian's package), in transaction and session pooling: streaming, typed queries, the
//! cancel of a dropped stream (PgBouncer forwards it to the right server connection), and a pool on top, its
//! health check included.

use std::time::Duration;

use fraiseql_wire::{Client, Pool};
use fraiseql_wire_tests::{AuthUser, PgBouncer, PoolMode, TestCluster, TestDatabase};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::time::timeout;

use crate::common::{create_endless_view, create_small_view, small_rows, wait_for};

const NO_HANG: Duration = Duration::from_secs(30);
const MODES: [PoolMode; 2] = [PoolMode::Transaction, PoolMode::Session];

#[derive(Debug, Deserialize, PartialEq)]
struct Item {
    id: i64,
    name: String,
}

async fn setup() -> TestDatabase {
    let db = TestCluster::shared().database().await;
    create_small_view(&db).await;
    create_endless_view(&db, 100).await;
    db.execute(
        "CREATE VIEW v_item AS SELECT jsonb_build_object('id', i, 'name', 'item ' || i) AS data \
         FROM generate_series(1, 20000) AS i",
    )
    .await;
    db
}

/// Whether a query on `v_endless` still runs on the server.
async fn endless_running(db: &TestDatabase) -> bool {
    let running: i64 = db
        .admin()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%v_endless%' \
             AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_activity")
        .get(0);
    running > 0
}

#[tokio::test]
async fn streaming_typed_queries_and_cancel_through_pgbouncer() {
    let db = setup().await;
    for mode in MODES {
        let bouncer = PgBouncer::start(TestCluster::shared(), mode);
        let client = Client::connect(&bouncer.url(AuthUser::Scram, db.name())).await.expect("connect");
        for _ in 0..3 {
            // Several queries in a row on one client connection: in transaction mode each may run on another
            // server connection, which only works with unnamed statements.
            let mut items = client.query("v_item").order_by_sql("(data->>'id')::int").stream_as::<Item>();
            let mut count = 0i64;
            while let Some(item) = timeout(NO_HANG, items.next()).await.expect("hung") {
                let item = item.unwrap_or_else(|e| panic!("{mode:?}: {e}"));
                count += 1;
                assert_eq!(item, Item { id: count, name: format!("item {count}") });
            }
            assert_eq!(count, 20_000, "{mode:?}");
        }
        // A stream dropped early: the cancel goes through PgBouncer and stops the server's query.
        let mut endless = client.query("v_endless").stream();
        for _ in 0..10 {
            endless.next().await.expect("a row").expect("a good row");
        }
        assert!(endless_running(&db).await, "{mode:?}: the endless query is not running");
        drop(endless);
        let stopped = wait_for(NO_HANG, || async { (!endless_running(&db).await).then_some(()) }).await;
        assert!(stopped.is_some(), "{mode:?}: the server query was not cancelled");
        let rows = timeout(NO_HANG, client.query("v_small").fetch_all()).await.expect("hung").expect("rows");
        assert_eq!(rows, small_rows(), "{mode:?}: the connection after the cancel");
    }
}

#[tokio::test]
async fn a_pool_through_pgbouncer() {
    let db = setup().await;
    for mode in MODES {
        let bouncer = PgBouncer::start(TestCluster::shared(), mode);
        let config = bouncer.url(AuthUser::Scram, db.name()).parse().expect("url");
        // The health check's lone Sync goes through PgBouncer too.
        let pool = Pool::builder(config).max_size(3).test_before_acquire(true).connect().await.expect("pool");
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut rows = pool.query("v_item").stream_raw();
                let mut count = 0u64;
                while let Some(row) = rows.next().await {
                    row?;
                    count += 1;
                }
                Ok::<_, fraiseql_wire::Error>(count)
            }));
        }
        for task in tasks {
            let count = timeout(NO_HANG, task).await.expect("hung").expect("task");
            assert_eq!(count.unwrap_or_else(|e| panic!("{mode:?}: {e}")), 20_000, "{mode:?}");
        }
        assert!(pool.status().size <= 3);
    }
}
