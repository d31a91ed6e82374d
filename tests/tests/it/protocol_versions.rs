//! Protocol 3.2 (PostgreSQL 18): negotiated when asked for, with its long cancel keys; against PostgreSQL 15 the
//! server's NegotiateProtocolVersion brings the session down to 3.0, unless the minimum forbids it.

use std::time::Duration;

use fraiseql_wire::{Client, Error};
use fraiseql_wire_tests::{AuthUser, TestDatabase};
use futures_util::StreamExt;

use crate::common::create_endless_view;
use crate::common::tls::{Kind, cluster};

async fn database(kind: Kind) -> TestDatabase {
    let db = cluster(kind).database().await;
    create_endless_view(&db, 0).await;
    db.execute("CREATE VIEW v_pid AS SELECT jsonb_build_object('pid', pg_backend_pid()) AS data").await;
    db
}

async fn backend_pid(client: &Client) -> i64 {
    let row = client.query("v_pid").fetch_one().await.expect("v_pid");
    row["pid"].as_i64().expect("a pid")
}

/// Drops an endless stream after a few rows: the session comes back only if the cancel request, which carries
/// the session's key, reached the server; otherwise the drain times out and a new backend serves the next query.
async fn assert_cancel_keeps_the_session(conninfo: &str) {
    let client = Client::connect(conninfo).await.unwrap_or_else(|e| panic!("{conninfo}: {e}"));
    let before = backend_pid(&client).await;
    let mut rows = client.query("v_endless").stream();
    for _ in 0..10 {
        rows.next().await.expect("a row").expect("a good row");
    }
    drop(rows);
    assert_eq!(backend_pid(&client).await, before, "{conninfo}: the cancelled session was not kept");
}

fn conninfo(db: &TestDatabase, extra: &str) -> String {
    format!("{} {extra}", db.socket_conninfo(AuthUser::Scram))
}

#[tokio::test]
async fn protocol_3_2_with_long_cancel_keys_on_postgres_18() {
    let db = database(Kind::Pg18Plain).await;
    for extra in ["min_protocol_version=3.2 max_protocol_version=3.2", "max_protocol_version=latest", ""] {
        assert_cancel_keeps_the_session(&conninfo(&db, extra)).await;
    }
}

#[tokio::test]
async fn postgres_15_negotiates_down_to_3_0_unless_the_minimum_forbids_it() {
    let db = database(Kind::Pg15Plain).await;
    assert_cancel_keeps_the_session(&conninfo(&db, "max_protocol_version=3.2")).await;
    let refused =
        tokio::time::timeout(Duration::from_secs(20), Client::connect(&conninfo(&db, "min_protocol_version=3.2")))
            .await
            .expect("connect hung");
    match refused {
        Err(e @ Error::Unsupported { .. }) => assert!(e.to_string().contains("3.2"), "{e}"),
        other => panic!("expected protocol 3.2 to be refused by PostgreSQL 15, got {other:?}"),
    }
}
