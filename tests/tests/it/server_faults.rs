//! What the server does to a running or starting query, each against a real server: shutdowns, statement
//! timeouts, too many connections, missing rights and relations. Each ends in the documented error, with its
//! kind and retriability, and no hang.

use std::time::Duration;

use fraiseql_wire::{Client, Error, ErrorKind};
use fraiseql_wire_tests::fault_proxy::FaultProxy;
use fraiseql_wire_tests::{AuthUser, ClusterOptions, StopMode, TestCluster};
use futures_util::StreamExt;
use tokio::time::timeout;

use crate::common::{assert_usable, connect, create_endless_view, create_small_view, database};

/// Bound for anything that must not hang.
const NO_HANG: Duration = Duration::from_secs(30);

/// A fast shutdown mid-stream: the rows sent so far, then 57P01 (or, when the backend was blocked writing, the
/// connection closing without it), retriable, and the stream ends.
#[tokio::test]
async fn fast_shutdown_mid_stream_is_a_retriable_57p01() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    create_endless_view(&db, 0).await;
    create_small_view(&db).await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    let mut rows = client.query("v_endless").stream();
    for _ in 0..10 {
        rows.next().await.expect("a row").expect("a good row");
    }
    cluster.stop(StopMode::Fast);
    let error = timeout(NO_HANG, async {
        loop {
            match rows.next().await {
                Some(Ok(_)) => {}
                Some(Err(error)) => return error,
                None => panic!("the stream ended without an error"),
            }
        }
    })
    .await
    .expect("the stream hung after the shutdown");
    // A backend terminated while blocked writing to us (the test stopped reading, so the socket is full) does
    // not send its FATAL: PostgreSQL drops it rather than break the message it was writing. Then the stream ends
    // as a lost connection, which must be the same kind and just as retriable.
    match error.code() {
        Some(code) => assert_eq!(code, "57P01", "{error:?}"),
        None => assert!(matches!(error, Error::ConnectionLost { .. }), "{error:?}"),
    }
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Closed, true));
    assert!(timeout(NO_HANG, rows.next()).await.expect("hung").is_none());
    drop(rows);
    cluster.restart();
    assert_usable(&client).await;
}

/// The server's `statement_timeout`, sent at startup: the rows produced in time, then 57014 (kind timeout, not
/// retriable: it would time out again), and the same connection serves the next query.
#[tokio::test]
async fn statement_timeout_mid_stream_ends_the_query_and_keeps_the_connection() {
    let db = database().await;
    create_small_view(&db).await;
    db.execute(
        "CREATE VIEW v_slow_rows AS SELECT jsonb_build_object('i', i, 'slept', pg_sleep(0.05)::text) AS data \
         FROM (SELECT generate_series(1, 1000) AS i) AS s;
         CREATE VIEW v_pid AS SELECT jsonb_build_object('pid', pg_backend_pid()) AS data",
    )
    .await;
    let client = connect(&format!("{} statement_timeout=1s", db.socket_conninfo(AuthUser::Scram))).await;
    let pid = client.query("v_pid").fetch_one().await.expect("v_pid")["pid"].clone();
    let mut rows = client.query("v_slow_rows").stream();
    let mut count = 0;
    let error = timeout(NO_HANG, async {
        loop {
            match rows.next().await {
                Some(Ok(_)) => count += 1,
                Some(Err(error)) => return error,
                None => panic!("1,000 rows of 50 ms each cannot finish within a 1 s statement_timeout"),
            }
        }
    })
    .await
    .expect("hung");
    assert_eq!(error.code(), Some("57014"), "{error:?}");
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Timeout, false));
    assert!(count > 0 && count < 1000, "{count} rows before the timeout");
    drop(rows);
    assert_eq!(client.query("v_pid").fetch_one().await.expect("v_pid")["pid"], pid, "the connection was replaced");
}

/// Too many connections: 53300 from the server, retriable, before any row.
#[tokio::test]
async fn too_many_connections_is_a_retriable_53300() {
    let cluster = TestCluster::start_with(ClusterOptions {
        settings: vec!["max_connections = 4".into(), "superuser_reserved_connections = 1".into()],
        ..ClusterOptions::default()
    });
    let db = cluster.database().await;
    create_small_view(&db).await;
    let conninfo = db.socket_conninfo(AuthUser::Scram);
    let mut held: Vec<Client> = Vec::new();
    let error = loop {
        assert!(held.len() < 10, "max_connections = 4 was never reached");
        match timeout(NO_HANG, Client::connect(&conninfo)).await.expect("connect hung") {
            Ok(client) => held.push(client),
            Err(error) => break error,
        }
    };
    assert_eq!(error.code(), Some("53300"), "{error:?}");
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Db, true));
    held.pop();
    // One slot is free again: a retry succeeds.
    assert_usable(&connect(&conninfo).await).await;
}

/// A view the role may not read, and a relation that does not exist: the server's error comes before any row.
#[tokio::test]
async fn permission_denied_and_missing_relations_fail_before_any_row() {
    let db = database().await;
    create_small_view(&db).await;
    // The test roles may read every table (pg_read_all_data), but not run a function whose EXECUTE right was
    // taken from them: the view's rows need it.
    db.execute(
        "CREATE FUNCTION fw_secret() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{\"s\": 1}'::jsonb $$;
         REVOKE EXECUTE ON FUNCTION fw_secret() FROM PUBLIC;
         CREATE VIEW v_secret AS SELECT fw_secret() AS data",
    )
    .await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    for (relation, code) in [("v_secret", "42501"), ("v_missing", "42P01")] {
        let mut rows = client.query(relation).stream();
        let first = timeout(NO_HANG, rows.next()).await.expect("hung").expect("an item");
        let error: Error = first.expect_err("no row may come");
        assert_eq!(error.code(), Some(code), "{relation}: {error:?}");
        assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Db, false), "{relation}");
        assert!(timeout(NO_HANG, rows.next()).await.expect("hung").is_none());
    }
    assert_usable(&client).await;
}

/// Reads until the stream fails, checking that every row is whole and in order (`{"i": n}` from `v_endless`).
async fn rows_then_error(rows: &mut fraiseql_wire::RowStream<serde_json::Value>, mut last: i64) -> (i64, Error) {
    timeout(NO_HANG, async {
        loop {
            match rows.next().await {
                Some(Ok(row)) => {
                    last += 1;
                    assert_eq!(row["i"], serde_json::json!(last), "a row out of order or damaged");
                }
                Some(Err(error)) => return (last, error),
                None => panic!("the stream ended without an error after row {last}"),
            }
        }
    })
    .await
    .expect("the stream hung")
}

async fn first_rows(client: &Client, n: i64) -> fraiseql_wire::RowStream<serde_json::Value> {
    let mut rows = client.query("v_endless").stream();
    for i in 1..=n {
        assert_eq!(rows.next().await.expect("a row").expect("a good row")["i"], serde_json::json!(i));
    }
    rows
}

/// An immediate shutdown: the backend sends only a WARNING notice, then closes the socket. The error is that
/// notice (its text and SQLSTATE), not a bare end of file.
///
/// PostgreSQL sends that notice best-effort (its `quickdie` drops it when the signal lands while the backend is
/// inside its send code, and a backend that is slow to react is SIGKILLed), so the connection runs through a
/// proxy that records what the server really sent: each run checks the client against that, and the test needs
/// one run where the notice was sent.
#[tokio::test]
async fn immediate_shutdown_reports_the_servers_last_notice() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    // Rows come slowly, so the socket buffers never fill: a backend that is told to quit sends its farewell
    // notice without blocking.
    db.execute(
        "CREATE VIEW v_endless AS SELECT jsonb_build_object('i', i, 'slept', pg_sleep(0.01)::text) AS data \
         FROM (SELECT generate_series(1::bigint, 1000000::bigint) AS i) AS s",
    )
    .await;
    const RUNS: usize = 6;
    for run in 1..=RUNS {
        let proxy = FaultProxy::start(db.port());
        let client = connect(&format!("{}?sslmode=disable", db.url_via(proxy.port(), AuthUser::Scram))).await;
        let mut rows = first_rows(&client, 10).await;
        cluster.stop(StopMode::Immediate);
        let (_, error) = rows_then_error(&mut rows, 10).await;
        assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Closed, true), "{error:?}");
        let sent = proxy.server_tail();
        let notice_sent = sent.windows(FAREWELL.len()).any(|w| w == FAREWELL.as_bytes());
        if notice_sent {
            let db_error = error.as_db_error().unwrap_or_else(|| panic!("the server sent its notice, got {error:?}"));
            assert!(db_error.message.contains(FAREWELL), "{db_error:?}");
            assert_eq!((db_error.severity.as_str(), db_error.code.as_str()), ("WARNING", "57P01"), "{db_error:?}");
            return;
        }
        assert!(matches!(error, Error::ConnectionLost { .. }), "run {run}: no notice on the wire, got {error:?}");
        cluster.restart();
    }
    panic!(
        "in {RUNS} immediate shutdowns the server never sent its farewell notice, so the client could not be checked"
    );
}

/// The text of the notice a backend sends when the server stops in immediate mode.
const FAREWELL: &str = "terminating connection due to immediate shutdown command";

/// SIGKILL of our backend: a closed-connection error, and every row handed out before it is whole.
#[tokio::test]
async fn a_killed_backend_is_a_closed_connection_without_partial_rows() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    create_endless_view(&db, 1000).await;
    let app = crate::common::app_name("killed_backend");
    let client = connect(&format!("{} application_name={app}", db.socket_conninfo(AuthUser::Scram))).await;
    let mut rows = first_rows(&client, 10).await;
    let pid = crate::common::single_backend(db.admin(), &app).await;
    // SAFETY: kill(2) with a pid read from the server; the test runs as root or as the server's user.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill -9 {pid}");
    let (last, error) = rows_then_error(&mut rows, 10).await;
    assert!(
        matches!(error, Error::ConnectionLost { .. }) || error.code().is_some_and(|c| c.starts_with("57P")),
        "after row {last}: {error:?}"
    );
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Closed, true), "{error:?}");
}

/// `pg_terminate_backend` while the consumer does not read (the backend is blocked writing): the socket closes
/// in the middle of a message; the rows before it are whole, then a clean error, no hang.
#[tokio::test]
async fn terminating_the_backend_of_a_stalled_consumer_is_a_clean_error() {
    let db = database().await;
    create_endless_view(&db, 1000).await;
    let app = crate::common::app_name("terminate_stalled");
    let client = connect(&format!("{} application_name={app}", db.socket_conninfo(AuthUser::Scram))).await;
    let mut rows = first_rows(&client, 10).await;
    let admin = db.admin();
    let blocked = crate::common::wait_for(NO_HANG, || async {
        let sessions = crate::common::sessions(admin, &app).await;
        sessions.iter().find(|(_, _, wait)| wait.as_deref() == Some("ClientWrite")).map(|(pid, ..)| *pid)
    })
    .await
    .expect("the backend never blocked on the stalled consumer");
    admin.execute("SELECT pg_terminate_backend($1)", &[&blocked]).await.expect("pg_terminate_backend");
    let (last, error) = rows_then_error(&mut rows, 10).await;
    assert!(error.is_retriable() && error.kind() == ErrorKind::Closed, "after row {last}: {error:?}");
}

/// A smart shutdown lets the running stream finish while new connections are refused with 57P03.
#[tokio::test]
async fn smart_shutdown_refuses_new_connections_and_lets_the_stream_finish() {
    let cluster = std::sync::Arc::new(TestCluster::start());
    let db = cluster.database().await;
    db.execute("CREATE VIEW v_many AS SELECT jsonb_build_object('i', i) AS data FROM generate_series(1, 200000) AS i")
        .await;
    let conninfo = db.socket_conninfo(AuthUser::Scram);
    drop(db);
    let client = connect(&conninfo).await;
    let mut rows = client.query("v_many").stream();
    for _ in 0..10 {
        rows.next().await.expect("a row").expect("a good row");
    }
    let stopping = std::sync::Arc::clone(&cluster);
    let stopper = tokio::task::spawn_blocking(move || stopping.stop(StopMode::Smart));
    let refused = crate::common::wait_for(NO_HANG, || async {
        match Client::connect(&conninfo).await {
            Err(error) if error.code() == Some("57P03") => Some(error),
            _ => None,
        }
    })
    .await
    .expect("new connections were never refused during the smart shutdown");
    assert_eq!((refused.kind(), refused.is_retriable()), (ErrorKind::Closed, true));
    let mut count = 10;
    while let Some(row) = timeout(NO_HANG, rows.next()).await.expect("the stream hung") {
        row.expect("the running stream finishes cleanly");
        count += 1;
    }
    assert_eq!(count, 200_000);
    drop(rows);
    drop(client);
    timeout(NO_HANG, stopper).await.expect("the server did not stop once the client left").expect("stop");
}

/// JSON that the server accepts but the decoder refuses: a lone UTF-16 surrogate, a number beyond f64 and nesting
/// 10,000 deep. Each is a
/// per-row decode error (no panic, no stack overflow), the deep one with its path shortened, and the stream goes
/// on with the next row.
#[tokio::test]
async fn json_the_server_accepts_but_the_decoder_refuses_is_a_per_row_error() {
    let db = database().await;
    db.execute(
        "CREATE VIEW v_odd_json AS SELECT data FROM (VALUES
           (1, '{\"ok\": 1}'::json),
           (2, '{\"n\": 1e400}'::json),
           (3, (repeat('[', 10000) || repeat(']', 10000))::json),
           (4, '{\"ok\": 4}'::json),
           (5, '{\"a\": \"\\ud800\"}'::json)
         ) AS t(id, data) ORDER BY id",
    )
    .await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    let results: Vec<Result<serde_json::Value, Error>> =
        timeout(NO_HANG, client.query("v_odd_json").stream().collect()).await.expect("hung");
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().ok(), Some(&serde_json::json!({"ok": 1})));
    assert_eq!(results[3].as_ref().ok(), Some(&serde_json::json!({"ok": 4})), "the stream went on");
    match &results[1] {
        Err(error @ Error::Decode { row: 2, .. }) => assert!(error.to_string().contains("out of range"), "{error}"),
        other => panic!("row 2: {other:?}"),
    }
    match &results[2] {
        Err(error @ Error::Decode { row: 3, path, .. }) => {
            assert!(error.to_string().contains("recursion limit"), "{error}");
            assert!(path.len() < 200, "the path of a very deep value is shortened: {path}");
            assert_eq!(error.kind(), ErrorKind::Decode);
        }
        other => panic!("row 3: {other:?}"),
    }
    match &results[4] {
        Err(error @ Error::Decode { row: 5, path, .. }) => {
            assert!(error.to_string().contains("escape"), "{error}");
            assert_eq!(path, "a");
        }
        other => panic!("row 5: {other:?}"),
    }
}
