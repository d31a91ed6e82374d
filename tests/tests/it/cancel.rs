//! Dropping a stream early: the server's work stops and the connection is drained and reused
//! (acceptance point 7).

use std::time::{Duration, Instant};

use crate::common::{
    app_name, assert_usable, connect, create_endless_view, create_small_view, database, sessions, single_backend,
    wait_for,
};
use fraiseql_wire_tests::{AuthUser, TestDatabase};
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
    {
        // Drive the stream until the server runs the query (as a caller does before its timeout fires).
        let next = rows.next();
        tokio::pin!(next);
        let running = wait_for(Duration::from_secs(5), || async { active(&db, &app).await.then_some(()) });
        tokio::select! {
            item = &mut next => panic!("no row can be ready yet, got {item:?}"),
            running = running => assert!(running.is_some(), "the query never started"),
        }
    }
    drop(rows);
    assert_stops_within(&db, &app, STOP_DEADLINE).await;
    let started = Instant::now();
    assert_usable(&client).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the next query took {:?}", started.elapsed());
}
