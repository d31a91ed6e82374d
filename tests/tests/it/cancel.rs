//! Dropping a stream early: the server's work stops and the connection is drained and reused
//! (acceptance point 7).

use std::time::{Duration, Instant};

use crate::common::{
    app_name, assert_usable, connect, create_endless_view, create_small_view, database, sessions, single_backend,
    wait_for,
};
use fraiseql_wire::{Client, Config, RowStream};
use fraiseql_wire_tests::{AuthUser, Proxy, TestDatabase};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;

/// How soon after a drop the server must have stopped the query.
const STOP_DEADLINE: Duration = Duration::from_secs(1);

/// Whether some session of `app` is running a query.
async fn active(db: &TestDatabase, app: &str) -> bool {
    sessions(db.admin(), app).await.iter().any(|(_, state, _)| state.as_deref() == Some("active"))
}

/// Waits (bounded) until no session of `app` is running a query; panics with what it saw otherwise.
async fn assert_stops_within(db: &TestDatabase, app: &str, limit: Duration) {
    let stopped = wait_for(limit, || async { (!active(db, app).await).then_some(()) }).await;
    if stopped.is_none() {
        panic!(
            "the server was still running our query {limit:?} after the stream was dropped: {:?}",
            sessions(db.admin(), app).await
        );
    }
}

/// Polls `rows` (a query whose first row takes long) until the server runs the query, as a caller does before
/// its own timeout fires.
async fn poll_until_running(rows: &mut RowStream<serde_json::Value>, db: &TestDatabase, app: &str) {
    let next = rows.next();
    tokio::pin!(next);
    let running = wait_for(Duration::from_secs(5), || async { active(db, app).await.then_some(()) });
    tokio::select! {
        item = &mut next => panic!("no row can be ready yet, got {item:?}"),
        running = running => assert!(running.is_some(), "the query never started"),
    }
}

async fn drop_endless_stream_after_ten_rows(conninfo: &str, db: &TestDatabase, app: &str) {
    let client = connect(conninfo).await;
    let pid = single_backend(db.admin(), app).await;

    let mut rows = client.query("v_endless").stream();
    for i in 1..=10 {
        let row = rows.try_next().await.expect("row").expect("the view is endless");
        assert_eq!(row["i"], json!(i));
    }
    // The server is busy with our query while the stream lives.
    assert!(active(db, app).await, "{:?}", sessions(db.admin(), app).await);

    drop(rows);
    assert_stops_within(db, app, STOP_DEADLINE).await;

    // The connection was drained, not replaced: the next query is quick and runs on the same backend.
    let started = Instant::now();
    assert_usable(&client).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the next query took {:?}", started.elapsed());
    assert_eq!(single_backend(db.admin(), app).await, pid, "the connection was replaced instead of drained");
}

#[tokio::test]
async fn dropping_an_endless_stream_stops_the_query_and_keeps_the_connection_tcp() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let app = app_name("drop_endless_tcp");
    drop_endless_stream_after_ten_rows(&crate::common::url_with_app(&db, AuthUser::Scram, &app), &db, &app).await;
}

#[tokio::test]
async fn dropping_an_endless_stream_stops_the_query_and_keeps_the_connection_unix_socket() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let app = app_name("drop_endless_socket");
    let conninfo = format!("{} application_name={app}", db.socket_conninfo(AuthUser::Md5));
    drop_endless_stream_after_ten_rows(&conninfo, &db, &app).await;
}

#[tokio::test]
async fn dropping_streams_of_finished_queries_leaves_no_stray_cancel() {
    let db = database().await;
    create_small_view(&db).await;
    let app = app_name("drop_finished");
    let client = connect(&crate::common::url_with_app(&db, AuthUser::Trust, &app)).await;
    // The server has sent everything (five small rows) when these streams are dropped, so each cancel request
    // races with the end of the query. A cancel landing late would fail the query that follows on the drained
    // connection.
    for taken in 0..=5 {
        for _ in 0..5 {
            let mut rows = client.query("v_small").stream();
            for _ in 0..taken {
                rows.try_next().await.unwrap().unwrap();
            }
            drop(rows);
            assert_usable(&client).await;
        }
    }
}

#[tokio::test]
async fn dropping_a_stream_before_its_first_row_stops_the_query() {
    let db = database().await;
    // The first row takes 20 s to compute; the RowDescription does not reach us before it.
    db.execute("CREATE VIEW v_slow AS SELECT jsonb_build_object('slept', pg_sleep(20)::text) AS data").await;
    create_small_view(&db).await;
    let app = app_name("drop_before_first_row");
    let client = connect(&crate::common::url_with_app(&db, AuthUser::Scram, &app)).await;

    let mut rows = client.query("v_slow").stream();
    poll_until_running(&mut rows, &db, &app).await;
    drop(rows);
    assert_stops_within(&db, &app, STOP_DEADLINE).await;
    let started = Instant::now();
    assert_usable(&client).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the next query took {:?}", started.elapsed());
}

/// A query dropped before its first row is cancelled in the background; when the cancel target accepts the
/// request and never answers (a stalled network), that background work gives up within `cancel_timeout`: no
/// task and no socket outlive it, and the next query opens a fresh connection.
#[tokio::test]
async fn a_cancel_target_that_never_answers_is_given_up_within_cancel_timeout() {
    const CANCEL_TIMEOUT: Duration = Duration::from_millis(500);
    let db = database().await;
    db.execute("CREATE VIEW v_slow AS SELECT jsonb_build_object('slept', pg_sleep(30)::text) AS data").await;
    create_small_view(&db).await;
    let proxy = Proxy::swallowing_cancels(db.port());
    let app = app_name("cancel_never_answers");
    let url = format!("{}?application_name={app}", db.url_via(proxy.port(), AuthUser::Scram));
    let config: Config = url.parse().expect("a valid URL");
    let client = Client::connect_with(config.cancel_timeout(CANCEL_TIMEOUT)).await.expect("connect");
    let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
    // The harness's own admin connection runs a task on this runtime too.
    let baseline = tasks();

    let mut rows = client.query("v_slow").stream();
    poll_until_running(&mut rows, &db, &app).await;
    drop(rows);
    let dropped = Instant::now();
    assert_eq!(tasks(), baseline + 1, "dropping the stream starts one background task (cancel, then drain)");

    let ended = wait_for(CANCEL_TIMEOUT * 10, || async { (tasks() == baseline).then_some(()) }).await;
    let took = dropped.elapsed();
    assert!(ended.is_some(), "the background task still runs {took:?} after the drop");
    assert!(took >= CANCEL_TIMEOUT, "it gave up before cancel_timeout ({took:?}): the cancel cannot have completed");
    assert_eq!(proxy.cancel_requests(), 1, "the cancel request went to the proxy");
    let closed = wait_for(Duration::from_secs(5), || async { (proxy.cancels_closed_by_client() == 1).then_some(()) });
    assert!(closed.await.is_some(), "the client never closed its cancel socket");

    // The abandoned connection was closed rather than reused: the next query works on a new one.
    assert_usable(&client).await;
}

/// Whatever state a stream is dropped in (never polled, its query just sent, waiting for the connection,
/// mid-rows, ended, failed), the server is left idle and the next query runs at once on the same connection.
#[tokio::test]
async fn dropping_a_stream_in_any_state_leaves_the_connection_ready() {
    let db = database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    db.execute(
        "CREATE VIEW v_fails AS SELECT jsonb_build_object('i', i, 'x', 1 / (3 - i)) AS data \
         FROM generate_series(1, 5) AS i",
    )
    .await;
    let app = app_name("drop_in_any_state");
    let client = connect(&crate::common::url_with_app(&db, AuthUser::Scram, &app)).await;
    let pid = single_backend(db.admin(), &app).await;
    let ready = |state: &'static str| {
        let (db, app, client) = (&db, &app, &client);
        async move {
            assert_stops_within(db, app, STOP_DEADLINE).await;
            assert_usable(client).await;
            assert_eq!(single_backend(db.admin(), app).await, pid, "dropped {state}: the connection was replaced");
        }
    };

    drop(client.query("v_endless").stream());
    ready("before its first poll").await;

    // One poll sends the query and finds no answer yet (the server is a round trip away).
    let mut sent = client.query("v_small").stream();
    std::future::poll_fn(|cx| {
        assert!(sent.poll_next_unpin(cx).is_pending(), "the answer cannot be there within the same poll");
        std::task::Poll::Ready(())
    })
    .await;
    drop(sent);
    ready("right after sending its query").await;

    // A query from another task waits for the connection (one from this task would be refused: it holds it).
    let mut first = client.query("v_endless").stream();
    first.try_next().await.expect("row").expect("endless");
    let other = client.clone();
    tokio::spawn(async move {
        let mut waiting = other.query("v_small").stream();
        std::future::poll_fn(|cx| {
            assert!(waiting.poll_next_unpin(cx).is_pending(), "the second query must wait for the first");
            std::task::Poll::Ready(())
        })
        .await;
    })
    .await
    .expect("the waiting task");
    drop(first);
    ready("while waiting for the connection").await;

    let mut rows = client.query("v_endless").stream();
    rows.try_next().await.expect("row").expect("endless");
    drop(rows);
    ready("in the middle of its rows").await;

    let mut rows = client.query("v_small").stream();
    while rows.try_next().await.expect("a row").is_some() {}
    drop(rows);
    ready("after its end").await;

    let mut rows = client.query("v_fails").stream();
    let failed = loop {
        match rows.next().await {
            Some(Ok(_)) => {}
            Some(Err(error)) => break error,
            None => panic!("the view fails at row 3"),
        }
    };
    assert_eq!(failed.code(), Some("22012"), "{failed:?}");
    drop(rows);
    ready("after a server error").await;
}
