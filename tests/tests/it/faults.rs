//! Faults: server restarts and crashes, oversized rows, slow consumers and clients shared between tasks.
//!
//! Each test runs on a cluster of its own (`TestCluster::start()`), since some stop, kill or restart it.

use std::time::Duration;

use crate::common::{
    app_name, assert_usable, connect, create_endless_view, create_small_view, sessions, single_backend, small_rows,
    url_with_app, wait_for,
};
use fraiseql_wire::{Client, Config, Error};
use fraiseql_wire_tests::{AuthUser, StopMode, TestCluster};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;

/// Bound for anything that must not hang.
const NO_HANG: Duration = Duration::from_secs(30);

/// (a) A restart between queries is invisible to the caller: the next query reconnects.
#[tokio::test]
async fn server_restart_between_queries_is_transparent() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    create_small_view(&db).await;
    let app = app_name("restart_between_queries");
    // One client that has run a query, one that has only connected; both hold an open connection.
    let used = connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    assert_usable(&used).await;
    let idle = connect(&format!("{} application_name={app}", db.socket_conninfo(AuthUser::Md5))).await;
    let before = sessions(db.admin(), &app).await;
    assert_eq!(before.len(), 2, "{before:?}");

    cluster.restart();
    assert_usable(&used).await;
    assert_usable(&idle).await;
    let admin = cluster.admin(db.name()).await;
    let after = sessions(&admin, &app).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.iter().all(|(pid, ..)| before.iter().all(|(old, ..)| old != pid)), "{before:?} then {after:?}");

    // While the server is down, queries fail promptly with a connection error; once it is back they work.
    cluster.stop(StopMode::Fast);
    let err = timeout(NO_HANG, used.query("v_small").fetch_all()).await.expect("hung").unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    let err = timeout(NO_HANG, idle.query("v_small").fetch_all()).await.expect("hung").unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    cluster.restart();
    assert_usable(&used).await;
    assert_usable(&idle).await;
}

/// (b) The server dies while a stream is open: the stream reports it and ends; after a restart the client works.
#[tokio::test]
async fn server_killed_mid_stream_ends_the_stream_with_an_error() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    create_endless_view(&db, 100).await;
    create_small_view(&db).await;
    // The cluster runs with synchronous_commit = off: make the views durable before the crash.
    db.execute("CHECKPOINT").await;
    let client = connect(&db.url(AuthUser::Scram)).await;

    let mut rows = client.query("v_endless").stream();
    for i in 1..=10 {
        assert_eq!(rows.try_next().await.unwrap().unwrap()["i"], json!(i));
    }
    cluster.kill();

    // Rows already in the socket buffers may still arrive, in order; then the error, then the end.
    let (last, err) = timeout(NO_HANG, async {
        let mut last = 10;
        loop {
            match rows.next().await {
                Some(Ok(row)) => {
                    last += 1;
                    assert_eq!(row["i"], json!(last));
                }
                Some(Err(err)) => return (last, err),
                None => panic!("the stream ended without an error after row {last}"),
            }
        }
    })
    .await
    .expect("the stream hung after the server was killed");
    assert!(
        matches!(err, Error::ConnectionLost { .. }) || err.code().is_some_and(|code| code.starts_with("57P")),
        "after row {last}: {err:?}"
    );
    assert!(err.is_connection_error(), "{err:?}");
    assert!(timeout(NO_HANG, rows.next()).await.expect("hung").is_none(), "the stream must end after the error");
    drop(rows);

    let down = timeout(NO_HANG, client.query("v_small").fetch_all()).await.expect("hung");
    assert!(down.unwrap_err().is_connection_error());

    cluster.restart();
    assert_usable(&client).await;
}

/// (c) A row above `max_row_bytes` ends its query with `RowTooLarge`; the connection stays usable.
#[tokio::test]
async fn oversized_row_is_row_too_large_and_the_client_goes_on() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    db.execute(
        "CREATE VIEW v_one_big AS SELECT CASE WHEN i = 3 THEN jsonb_build_object('i', i, 'big', repeat('x', 5000)) \
         ELSE jsonb_build_object('i', i) END AS data FROM generate_series(1, 100000) AS i",
    )
    .await;
    create_small_view(&db).await;
    let app = app_name("row_too_large");
    let config: Config = url_with_app(&db, AuthUser::Scram, &app).parse().unwrap();
    let client = Client::connect_with(config.max_row_bytes(1000)).await.unwrap();
    let pid = single_backend(db.admin(), &app).await;

    for attempt in 1..=2 {
        let mut rows = client.query("v_one_big").stream();
        assert_eq!(rows.next().await.unwrap().unwrap(), json!({"i": 1}));
        assert_eq!(rows.next().await.unwrap().unwrap(), json!({"i": 2}));
        let err = rows.next().await.unwrap().expect_err("row 3 is 5000 bytes");
        match &err {
            Error::RowTooLarge { row, size, limit } => {
                assert_eq!(*row, 3);
                assert!(*size > 5000 && *size < 5200, "size {size}");
                assert_eq!(*limit, 1000);
            }
            other => panic!("expected RowTooLarge, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("row 3") && message.contains("max_row_bytes"), "{message}");
        assert!(rows.next().await.is_none(), "the stream must end after RowTooLarge");
        drop(rows);
        assert_usable(&client).await;
        if attempt == 1 {
            // The oversized row was skipped and the query stopped on the same connection.
            assert_eq!(single_backend(db.admin(), &app).await, pid, "the connection was replaced");
        }
    }

    let raw: Vec<_> = client.query("v_one_big").stream_raw().collect().await;
    assert_eq!(raw.len(), 3);
    assert!(matches!(raw[2], Err(Error::RowTooLarge { row: 3, .. })));
    // Rows under the limit are unaffected.
    let small = client.query("v_one_big").where_sql("(data->>'i')::int <> 3", &[]).limit(5).fetch_all().await;
    assert_eq!(small.unwrap().len(), 5);
}

/// (d) A consumer that stops polling makes the server wait: nothing reads ahead of the caller.
#[tokio::test]
async fn slow_consumer_makes_the_server_wait() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    create_endless_view(&db, 1000).await;
    create_small_view(&db).await;
    let app = app_name("backpressure");
    let client = connect(&url_with_app(&db, AuthUser::Trust, &app)).await;

    let mut rows = client.query("v_endless").stream();
    for i in 1..=10 {
        assert_eq!(rows.try_next().await.unwrap().unwrap()["i"], json!(i));
    }
    // Nobody polls the stream now: once the socket buffers are full, the backend blocks writing to us.
    let blocked = wait_for(Duration::from_secs(10), || async {
        sessions(db.admin(), &app)
            .await
            .iter()
            .any(|(_, state, wait)| state.as_deref() == Some("active") && wait.as_deref() == Some("ClientWrite"))
            .then_some(())
    })
    .await;
    assert!(blocked.is_some(), "the server never waited for us: {:?}", sessions(db.admin(), &app).await);
    assert_eq!(rows.rows_read(), 10);

    // Reading resumes where it stopped.
    for i in 11..=1000 {
        assert_eq!(rows.try_next().await.unwrap().unwrap()["i"], json!(i));
    }
    drop(rows);
    assert_usable(&client).await;
}

/// (e) Clones share one connection; a second query waits until the first stream is dropped or ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_take_turns_on_one_connection() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let app = app_name("clones");
    let client = connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    let pid = single_backend(db.admin(), &app).await;

    for how in ["dropped", "finished"] {
        let mut first = match how {
            "dropped" => client.query("v_endless").stream(),
            _ => client.query("v_endless").limit(3).stream(),
        };
        assert_eq!(first.try_next().await.unwrap().unwrap()["i"], json!(1));

        let other = client.clone();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let mut second = tokio::spawn(async move {
            started_tx.send(()).unwrap();
            other.query("v_small").fetch_all().await
        });
        started_rx.await.unwrap();
        assert!(
            timeout(Duration::from_millis(200), &mut second).await.is_err(),
            "the second query finished while the first stream ({how}) was alive"
        );
        // It waits for the shared connection rather than opening one of its own.
        assert_eq!(sessions(db.admin(), &app).await.len(), 1);
        // The first stream is unaffected by the waiting query.
        assert_eq!(first.try_next().await.unwrap().unwrap()["i"], json!(2));
        assert_eq!(first.try_next().await.unwrap().unwrap()["i"], json!(3));
        if how == "dropped" {
            drop(first);
        } else {
            assert!(first.try_next().await.unwrap().is_none());
        }

        let rows: Vec<Value> = timeout(NO_HANG, second)
            .await
            .unwrap_or_else(|_| panic!("the second query still waits after the first stream was {how}"))
            .expect("the task panicked")
            .expect("the second query failed");
        assert_eq!(rows, small_rows());
        if how == "dropped" {
            assert_eq!(single_backend(db.admin(), &app).await, pid, "clones must share one connection");
        }
        // No connection is left behind (a replaced one may take a moment to leave pg_stat_activity).
        let single =
            wait_for(Duration::from_secs(5), || async { (sessions(db.admin(), &app).await.len() == 1).then_some(()) });
        assert!(single.await.is_some(), "{:?}", sessions(db.admin(), &app).await);
    }
}

/// A slow consumer of 200,000 rows (it pauses every 100 rows) is never timed out by the client: every row
/// arrives, while the server waits for it in `ClientWrite`.
#[tokio::test]
async fn a_slow_consumer_of_two_hundred_thousand_rows_completes() {
    let db = crate::common::database().await;
    db.execute(
        "CREATE VIEW v_many AS SELECT jsonb_build_object('i', i, 'pad', repeat('x', 200)) AS data \
         FROM generate_series(1, 200000) AS i",
    )
    .await;
    let app = app_name("slow_consumer_200k");
    // A read timeout far below the run's length: only waiting for the server counts, never the consumer's pauses.
    let client = connect(&format!("{}&read_timeout=2", url_with_app(&db, AuthUser::Scram, &app))).await;
    let mut rows = client.query("v_many").stream();
    let (mut count, mut server_waited) = (0u64, false);
    while let Some(row) = timeout(NO_HANG, rows.next()).await.expect("hung") {
        row.expect("a good row");
        count += 1;
        if count % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if count % 20_000 == 0 && !server_waited {
            server_waited =
                sessions(db.admin(), &app).await.iter().any(|(_, _, wait)| wait.as_deref() == Some("ClientWrite"));
        }
    }
    assert_eq!(count, 200_000);
    assert!(server_waited, "the server never waited for the slow consumer");
}
