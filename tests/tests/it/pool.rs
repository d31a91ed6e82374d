//! The pool: the same queries as a client, one connection per concurrent stream, exhaustion as a typed timeout,
//! dropped streams drained (or their connection discarded) before it is lent again, broken connections never
//! lent; and the client's answer to a query that would wait for itself.

use std::time::{Duration, Instant};

use fraiseql_wire::{Client, Config, Entity, Error, ErrorKind, Pool};
use fraiseql_wire_tests::fault_proxy::{Fault, FaultProxy};
use fraiseql_wire_tests::{AuthUser, TestDatabase};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::time::timeout;

use crate::common::project::{self, Project};
use crate::common::{assert_usable, create_endless_view, create_small_view, database, small_rows};

const NO_HANG: Duration = Duration::from_secs(30);

async fn pool_of(db: &TestDatabase, max_size: usize, wait: Duration) -> Pool {
    let config: Config = db.socket_conninfo(AuthUser::Scram).parse().expect("conninfo");
    Pool::builder(config).max_size(max_size).wait_timeout(wait).connect().await.expect("pool")
}

/// A view whose one row names the backend that served it.
async fn create_pid_view(db: &TestDatabase) {
    db.execute("CREATE VIEW v_pid AS SELECT jsonb_build_object('pid', pg_backend_pid()) AS data").await;
}

async fn backend_pid(pool: &Pool) -> Value {
    timeout(NO_HANG, pool.query("v_pid").fetch_one()).await.expect("hung").expect("v_pid")["pid"].clone()
}

/// A stream of `v_endless` that has produced its first row, so it holds a connection.
async fn holding(pool: &Pool) -> fraiseql_wire::RowStream<Value> {
    let mut rows = pool.query("v_endless").stream();
    let first = timeout(NO_HANG, rows.next()).await.expect("hung").expect("a row").expect("a good row");
    assert_eq!(first["i"], json!(1));
    rows
}

#[tokio::test]
async fn a_pool_runs_the_same_queries_as_a_client() {
    let db = database().await;
    create_small_view(&db).await;
    let docs: Vec<Value> = (1..=3)
        .map(|id| {
            json!({"id": id, "name": format!("p{id}"), "status": "active", "priority": id, "done": false,
                   "tags": [], "owner": {"team": "core"}})
        })
        .collect();
    project::create(&db, &docs).await;
    let pool = pool_of(&db, 2, NO_HANG).await;
    assert_eq!(pool.query("v_small").fetch_all().await.expect("untyped"), small_rows());
    let client = Client::connect(&db.socket_conninfo(AuthUser::Scram)).await.expect("client");
    let on_pool = Project::query(&pool).order_by(|p| p.id.asc()).fetch_all().await.expect("pool");
    let on_client = Project::query(&client).order_by(|p| p.id.asc()).fetch_all().await.expect("client");
    assert_eq!(on_pool.len(), 3);
    assert_eq!(on_pool, on_client);
    // A query built without an executor binds to a pool too.
    let bound = Project::select().filter(|p| p.id.eq(on_pool[0].id)).on(&pool).fetch_one().await.expect("bound");
    assert_eq!(bound, on_pool[0]);
}

#[tokio::test]
async fn each_stream_holds_a_connection_and_exhaustion_is_a_typed_timeout() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let wait = Duration::from_millis(300);
    let pool = pool_of(&db, 2, wait).await;
    let first = holding(&pool).await;
    let second = holding(&pool).await;
    let status = pool.status();
    assert_eq!((status.size, status.available, status.max_size), (2, 0, 2), "{status:?}");

    let started = Instant::now();
    let error = timeout(NO_HANG, pool.query("v_small").fetch_all()).await.expect("hung").unwrap_err();
    assert!(matches!(error, Error::PoolTimeout { max_size: 2, .. }), "{error:?}");
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Timeout, true));
    assert!(error.to_string().contains("max_connections"), "{error}");
    assert!(started.elapsed() >= wait, "it gave up before the wait timeout");

    // A connection comes back when its stream is dropped (after the cancel and drain).
    drop(first);
    assert_eq!(timeout(NO_HANG, pool.query("v_small").fetch_all()).await.expect("hung").expect("rows"), small_rows());
    drop(second);
}

#[tokio::test]
async fn a_waiting_query_gets_the_connection_a_stream_gives_back() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let pool = pool_of(&db, 1, NO_HANG).await;
    let rows = holding(&pool).await;
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.query("v_small").fetch_all().await }
    });
    let waiting = crate::common::wait_for(NO_HANG, || async { (pool.status().waiting == 1).then_some(()) }).await;
    assert!(waiting.is_some(), "the second query never queued: {:?}", pool.status());
    drop(rows);
    let got = timeout(NO_HANG, waiter).await.expect("the waiter hung").expect("task").expect("rows");
    assert_eq!(got, small_rows());
}

/// A stream dropped mid-way: its query is cancelled and the connection drained, then reused (same backend).
#[tokio::test]
async fn a_dropped_stream_is_drained_and_its_connection_reused() {
    let db = database().await;
    create_endless_view(&db, 100).await;
    create_pid_view(&db).await;
    let pool = pool_of(&db, 1, NO_HANG).await;
    let pid = backend_pid(&pool).await;
    for _ in 0..3 {
        drop(holding(&pool).await);
        assert_eq!(backend_pid(&pool).await, pid, "the drained connection was replaced");
    }
    assert_eq!(pool.status().size, 1);
}

/// A dropped stream whose cancel cannot get through (a stalled path): after `cancel_timeout` its connection
/// leaves the pool, and the next query runs on a new one.
#[tokio::test]
async fn a_connection_that_cannot_be_drained_is_never_lent_again() {
    let db = database().await;
    create_endless_view(&db, 100).await;
    create_pid_view(&db).await;
    let proxy = FaultProxy::start(db.port());
    let url = format!("{}?sslmode=disable&cancel_timeout=1", db.url_via(proxy.port(), AuthUser::Scram));
    let pool = Pool::builder(url.parse().expect("url")).max_size(1).connect().await.expect("pool");
    let pid = backend_pid(&pool).await;
    let rows = holding(&pool).await;
    proxy.set(Fault::Stall);
    drop(rows);
    // The stalled drain keeps the connection out of the pool until cancel_timeout passes, then it leaves the pool.
    assert_eq!(pool.status().available, 0, "an undrained connection is available: {:?}", pool.status());
    let discarded = crate::common::wait_for(NO_HANG, || async { (pool.status().size == 0).then_some(()) }).await;
    assert!(discarded.is_some(), "the undrained connection stayed in the pool: {:?}", pool.status());
    proxy.set(Fault::Pass);
    assert_ne!(backend_pid(&pool).await, pid, "the connection that could not be drained was lent again");
}

/// Connections the server closed while idle in the pool (terminated backends) are noticed without a round trip
/// and replaced: the next queries run on new backends and succeed.
#[tokio::test]
async fn connections_closed_by_the_server_are_never_lent() {
    let db = database().await;
    create_pid_view(&db).await;
    let app = crate::common::app_name("pool_terminated");
    let config: Config = format!("{} application_name={app}", db.socket_conninfo(AuthUser::Scram)).parse().unwrap();
    let pool = Pool::builder(config).max_size(2).connect().await.expect("pool");
    // Two connections open: two streams alive at once, each on its own.
    let (mut a, mut b) = (pool.query("v_pid").stream(), pool.query("v_pid").stream());
    let first = a.next().await.expect("a row").expect("a good row")["pid"].clone();
    let second = b.next().await.expect("a row").expect("a good row")["pid"].clone();
    assert!(a.next().await.is_none() && b.next().await.is_none());
    assert_ne!(first, second, "two live streams shared a connection");
    let before = [first, second];
    let terminated = db
        .admin()
        .query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&app])
        .await
        .expect("terminate");
    assert_eq!(terminated.len(), 2);
    let gone = crate::common::wait_for(NO_HANG, || async {
        crate::common::sessions(db.admin(), &app).await.is_empty().then_some(())
    })
    .await;
    assert!(gone.is_some(), "the backends did not exit");
    for _ in 0..4 {
        let pid = backend_pid(&pool).await;
        assert!(!before.contains(&pid), "a terminated connection was lent");
    }
}

/// With `test_before_acquire`, an idle connection whose path went silent is not lent: the check times out, and
/// the query fails within the connect timeout (the new connection cannot get through either) instead of waiting
/// for the read timeout on the dead one.
#[tokio::test]
async fn test_before_acquire_never_lends_a_silent_connection() {
    let db = database().await;
    create_small_view(&db).await;
    let proxy = FaultProxy::start(db.port());
    let url =
        format!("{}?sslmode=disable&connect_timeout=2&read_timeout=120", db.url_via(proxy.port(), AuthUser::Scram));
    let pool = Pool::builder(url.parse().expect("url"))
        .max_size(1)
        .test_before_acquire(true)
        .recycle_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("pool");
    assert_usable_pool(&pool).await;
    proxy.set(Fault::Stall);
    let error = timeout(NO_HANG, pool.query("v_small").fetch_all()).await.expect("hung").unwrap_err();
    assert!(matches!(error, Error::ConnectTimeout { .. }), "{error:?}");
    proxy.set(Fault::Pass);
    assert_usable_pool(&pool).await;
    assert!(proxy.connections() >= 3, "the silent connection was not replaced");
}

async fn assert_usable_pool(pool: &Pool) {
    let rows = timeout(NO_HANG, pool.query("v_small").fetch_all()).await.expect("hung").expect("rows");
    assert_eq!(rows, small_rows());
}

#[tokio::test]
async fn a_closed_pool_refuses_queries() {
    let db = database().await;
    create_small_view(&db).await;
    let pool = pool_of(&db, 2, NO_HANG).await;
    assert_usable_pool(&pool).await;
    pool.close();
    assert!(pool.is_closed());
    let error = pool.query("v_small").fetch_all().await.unwrap_err();
    assert!(matches!(error, Error::PoolClosed), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Usage);
}

/// A client is one connection: a second query from the task that holds it in a live stream is refused at once
/// (it would wait for itself), while another task's query waits its turn.
#[tokio::test]
async fn a_client_refuses_a_query_that_would_wait_for_itself() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let client = Client::connect(&db.socket_conninfo(AuthUser::Scram)).await.expect("client");
    let mut rows = client.query("v_endless").stream();
    assert!(timeout(NO_HANG, rows.next()).await.expect("hung").expect("a row").is_ok());

    let error = timeout(NO_HANG, client.query("v_small").fetch_all()).await.expect("it waited for itself").unwrap_err();
    assert!(matches!(error, Error::ConnectionBusy), "{error:?}");
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Usage, false));
    assert!(error.to_string().contains("Pool"), "{error}");

    // Another task waits instead, and runs once the stream is gone.
    let other = tokio::spawn({
        let client = client.clone();
        async move { client.query("v_small").fetch_all().await }
    });
    // The stream goes on meanwhile.
    assert!(timeout(NO_HANG, rows.next()).await.expect("hung").expect("a row").is_ok());
    drop(rows);
    let got = timeout(NO_HANG, other).await.expect("the other task hung").expect("task").expect("rows");
    assert_eq!(got, small_rows());
    assert_usable(&client).await;
}

/// A stream moved to another task: the task now polling it holds the connection, so the task that started it
/// may query again (it waits for the stream's end instead of being refused).
#[tokio::test]
async fn a_stream_moved_to_another_task_is_held_by_that_task() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let client = Client::connect(&db.socket_conninfo(AuthUser::Scram)).await.expect("client");
    let mut rows = client.query("v_endless").stream();
    assert!(rows.next().await.expect("a row").is_ok());
    let (polled, polled_rx) = tokio::sync::oneshot::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let consumer = tokio::spawn(async move {
        assert!(rows.next().await.expect("a row").is_ok());
        let _ = polled.send(());
        let _ = stop_rx.await;
        drop(rows);
    });
    timeout(NO_HANG, polled_rx).await.expect("hung").expect("the consumer polled");
    let (again, ()) = tokio::join!(timeout(NO_HANG, client.query("v_small").fetch_all()), async {
        tokio::task::yield_now().await;
        let _ = stop.send(());
    });
    assert_eq!(again.expect("hung").expect("the starting task may query once the stream moved"), small_rows());
    consumer.await.expect("consumer");
}
