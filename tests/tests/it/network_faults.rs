//! Network faults between client and server, injected by the harness's fault proxy in front of a real server:
//! a stalled path, a reset, a FIN, a message cut in half, delay and throttling. Each ends in a typed error (or
//! completes) without a hang, and the client recovers once the path does.

use std::time::Duration;

use fraiseql_wire::{Client, Error, ErrorKind, RowStream};
use fraiseql_wire_tests::fault_proxy::{Fault, FaultProxy};
use fraiseql_wire_tests::{AuthUser, TestDatabase};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::time::timeout;

use crate::common::{assert_usable, create_endless_view, create_small_view, database, small_rows};

/// Bound for anything that must not hang.
const NO_HANG: Duration = Duration::from_secs(30);

async fn setup() -> (TestDatabase, FaultProxy) {
    let db = database().await;
    create_endless_view(&db, 100).await;
    create_small_view(&db).await;
    let proxy = FaultProxy::start(db.port());
    (db, proxy)
}

fn url(db: &TestDatabase, proxy: &FaultProxy, params: &str) -> String {
    format!("{}?sslmode=disable{params}", db.url_via(proxy.port(), AuthUser::Scram))
}

/// Reads rows until the stream fails; returns how many came and the error.
async fn read_until_error(rows: &mut RowStream<Value>) -> (u64, Error) {
    let mut count = 0;
    loop {
        match rows.next().await {
            Some(Ok(_)) => count += 1,
            Some(Err(error)) => return (count, error),
            None => panic!("the stream ended without an error after {count} more rows"),
        }
    }
}

/// A path that stops forwarding (both sockets open, nothing moves) trips `read_timeout`: a typed, retriable
/// timeout, with a cancel tried in the background within `cancel_timeout`; once the path works again, so does the
/// client.
#[tokio::test]
async fn a_stalled_path_trips_the_read_timeout() {
    let (db, proxy) = setup().await;
    let client = Client::connect(&url(&db, &proxy, "&read_timeout=1&cancel_timeout=2")).await.expect("connect");
    let mut rows = client.query("v_endless").stream();
    for _ in 0..10 {
        rows.next().await.expect("a row").expect("a good row");
    }
    proxy.set(Fault::Stall);
    let before = proxy.connections();
    let started = std::time::Instant::now();
    let (_, error) = timeout(NO_HANG, read_until_error(&mut rows)).await.expect("the stalled stream hung");
    assert!(matches!(error, Error::ReadTimeout { timeout } if timeout == Duration::from_secs(1)), "{error:?}");
    assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Timeout, true));
    assert!(error.to_string().contains("read_timeout"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    drop(rows);
    // The background cancel opens its own connection (through the stalled proxy, so it gets nowhere).
    let cancel_tried =
        crate::common::wait_for(Duration::from_secs(5), || async { (proxy.connections() > before).then_some(()) });
    assert!(cancel_tried.await.is_some(), "no cancel request was attempted");

    proxy.set(Fault::Pass);
    timeout(NO_HANG, assert_usable(&client)).await.expect("the next query hung");
}

/// A reset, a close and a message cut in half end the stream with a closed-connection error, retriable; the next
/// query reconnects.
#[tokio::test]
async fn reset_close_and_cut_end_the_stream_and_the_next_query_reconnects() {
    let (db, proxy) = setup().await;
    let client = Client::connect(&url(&db, &proxy, "")).await.expect("connect");
    for fault in [Fault::Reset, Fault::Close, Fault::Cut] {
        let mut rows = client.query("v_endless").stream();
        for _ in 0..10 {
            rows.next().await.expect("a row").expect("a good row");
        }
        proxy.set(fault);
        let (_, error) = timeout(NO_HANG, read_until_error(&mut rows)).await.expect("hung");
        assert!(matches!(error, Error::ConnectionLost { .. }), "{fault:?}: {error:?}");
        assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Closed, true), "{fault:?}");
        assert!(timeout(NO_HANG, rows.next()).await.expect("hung").is_none(), "{fault:?}: the stream must end");
        drop(rows);
        proxy.set(Fault::Pass);
        timeout(NO_HANG, assert_usable(&client)).await.expect("the next query hung");
    }
}

/// A slow path (a fixed delay, a jittery one, throttling) still delivers every row, in order, with no timeout tripping.
#[tokio::test]
async fn a_slow_path_delivers_every_row() {
    let (db, proxy) = setup().await;
    let client = Client::connect(&url(&db, &proxy, "&read_timeout=5")).await.expect("connect");
    for fault in [
        Fault::Delay(Duration::from_millis(200)),
        Fault::Jitter(Duration::from_millis(10), Duration::from_millis(300)),
        Fault::Throttle(2_000),
    ] {
        proxy.set(fault);
        let rows = timeout(NO_HANG, client.query("v_small").fetch_all()).await.expect("hung");
        assert_eq!(rows.unwrap_or_else(|e| panic!("{fault:?}: {e}")), small_rows(), "{fault:?}");
    }
}
