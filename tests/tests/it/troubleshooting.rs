//! Every scenario of TROUBLESHOOTING.md, run for real: the message the guide quotes is the one the library
//! produces, so the guide cannot drift from the code.
//!
//! In the guide, a scenario is an HTML comment `<!-- scenario: NAME -->` followed by a quoted line (`> …`): the
//! exact message, where `…` stands for text that varies (a port, a database name, a path).

use std::collections::BTreeMap;
use std::time::Duration;

use fraiseql_wire::{Client, Config, Error};
use fraiseql_wire_tests::fault_proxy::{Fault, FaultProxy};
use fraiseql_wire_tests::{AuthUser, ClusterOptions, TestCerts, TestCluster, TestDatabase};
use futures_util::StreamExt;

use crate::common::tls::{Kind, cluster, conninfo_as};
use crate::common::{create_endless_view, create_small_view, database};

/// The quoted message of each scenario in the guide.
fn guide_scenarios() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../TROUBLESHOOTING.md");
    let guide = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut scenarios = BTreeMap::new();
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("<!-- scenario: ").and_then(|rest| rest.strip_suffix(" -->")) else {
            continue;
        };
        let quote = lines.next().and_then(|l| l.strip_prefix("> ")).unwrap_or_else(|| {
            panic!("TROUBLESHOOTING.md: scenario `{name}` must be followed by a quoted line (`> message`)")
        });
        scenarios.insert(name.to_owned(), quote.to_owned());
    }
    scenarios
}

/// Whether `message` reads as `pattern`, where `…` stands for any text.
fn reads_as(message: &str, pattern: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('…').collect();
    let mut rest = message;
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(piece) {
                Some(after) => rest = after,
                None => return false,
            }
        } else if i == pieces.len() - 1 {
            return piece.is_empty() || rest.ends_with(piece);
        } else {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

async fn connect_error(conninfo: &str) -> Error {
    match tokio::time::timeout(Duration::from_secs(30), Client::connect(conninfo)).await {
        Ok(Err(error)) => error,
        Ok(Ok(_)) => panic!("`{conninfo}` connected"),
        Err(_) => panic!("`{conninfo}` hung"),
    }
}

async fn query_error(client: &Client, relation: &str) -> Error {
    let mut rows = client.query(relation).stream();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), rows.next()).await.expect("the query hung") {
            Some(Ok(_)) => {}
            Some(Err(error)) => return error,
            None => panic!("{relation}: no error"),
        }
    }
}

/// Runs every scenario and returns its actual message.
async fn actual_messages(db: &TestDatabase) -> BTreeMap<&'static str, String> {
    let mut actual = BTreeMap::new();
    let socket = |user: AuthUser| db.socket_conninfo(user);
    let client = Client::connect(&socket(AuthUser::Scram)).await.expect("connect");

    let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("a port").port();
    let refused = connect_error(&format!("host=127.0.0.1 port={closed} user=u dbname=d sslmode=disable")).await;
    actual.insert("connection-refused", refused.to_string());
    let wrong = format!("{} password=wrong", socket(AuthUser::Md5)).replace("password=md5_secret ", "");
    actual.insert("password-failed", connect_error(&wrong).await.to_string());
    let missing = format!("host={} port={} user=password_user dbname={}", db_socket(db), db.port(), db.name());
    actual.insert("password-missing", connect_error(&missing).await.to_string());
    actual.insert("hba-rejected", connect_error(&socket(AuthUser::Reject)).await.to_string());
    let refused_method = format!("{} require_auth=scram-sha-256", socket(AuthUser::Password));
    actual.insert("auth-method-refused", connect_error(&refused_method).await.to_string());
    let no_db = socket(AuthUser::Scram).replace(&format!("dbname={}", db.name()), "dbname=no_such_db");
    actual.insert("database-missing", connect_error(&no_db).await.to_string());

    actual.insert("relation-missing", query_error(&client, "v_missing").await.to_string());
    actual.insert("no-data-column", query_error(&client, "v_no_data").await.to_string());
    actual.insert("not-json", query_error(&client, "v_text_data").await.to_string());
    actual.insert("permission-denied", query_error(&client, "v_forbidden").await.to_string());
    let decode = client.query("v_small").stream_as::<BadShape>().next().await.expect("a row").expect_err("decode");
    actual.insert("decode-error", decode.to_string());
    let small_rows =
        Client::connect_with(socket(AuthUser::Scram).parse::<Config>().expect("settings").max_row_bytes(10))
            .await
            .expect("connect");
    actual.insert("row-too-large", query_error(&small_rows, "v_small").await.to_string());
    let timed =
        Client::connect(&format!("{} statement_timeout=200ms", socket(AuthUser::Scram))).await.expect("connect");
    actual.insert("statement-timeout", query_error(&timed, "v_slow").await.to_string());

    let proxy = FaultProxy::start(db.port());
    let via = format!("{}?sslmode=disable&read_timeout=1", db.url_via(proxy.port(), AuthUser::Scram));
    let through = Client::connect(&via).await.expect("connect through the proxy");
    let mut rows = through.query("v_endless").stream();
    rows.next().await.expect("a row").expect("a good row");
    proxy.set(Fault::Stall);
    actual.insert("read-timeout", drain_to_error(&mut rows).await.to_string());
    drop(rows);
    proxy.set(Fault::Pass);
    let mut rows = through.query("v_endless").stream();
    rows.next().await.expect("a row").expect("a good row");
    proxy.set(Fault::Reset);
    actual.insert("connection-lost", drain_to_error(&mut rows).await.to_string());

    let mut held = client.query("v_endless").stream();
    held.next().await.expect("a row").expect("a good row");
    actual.insert("connection-busy", query_error(&client, "v_small").await.to_string());
    drop(held);
    let config: Config = socket(AuthUser::Scram).parse().expect("settings");
    let pool = fraiseql_wire::Pool::builder(config).max_size(1).wait_timeout(Duration::from_millis(100));
    let pool = pool.connect().await.expect("pool");
    let mut held = pool.query("v_endless").stream();
    held.next().await.expect("a row").expect("a good row");
    actual.insert("pool-timeout", pool.query("v_small").fetch_all().await.expect_err("exhausted").to_string());
    drop(held);
    let standby = format!("{}?target_session_attrs=standby", db.url(AuthUser::Scram));
    actual.insert("no-suitable-host", connect_error(&standby).await.to_string());

    let no_tls = format!("{}?sslmode=require", db.url(AuthUser::Scram));
    actual.insert("tls-unavailable", connect_error(&no_tls).await.to_string());
    let tls_db = cluster(Kind::Pg15Tls).database().await;
    let other_ca = format!("sslmode=verify-full sslrootcert={}", TestCerts::get().other_ca.display());
    actual.insert(
        "tls-untrusted",
        connect_error(&conninfo_as(&tls_db, "localhost", AuthUser::Scram, &other_ca)).await.to_string(),
    );
    let mismatch = format!("sslmode=verify-full sslrootcert={}", TestCerts::get().ca.display());
    actual.insert(
        "tls-hostname",
        connect_error(&conninfo_as(&tls_db, "127.0.0.1", AuthUser::Scram, &mismatch)).await.to_string(),
    );

    let small = TestCluster::start_with(ClusterOptions {
        settings: vec!["max_connections = 3".into(), "superuser_reserved_connections = 0".into()],
        ..ClusterOptions::default()
    });
    let small_db = small.database().await;
    let mut held = Vec::new();
    let too_many = loop {
        match Client::connect(&small_db.socket_conninfo(AuthUser::Scram)).await {
            Ok(client) => held.push(client),
            Err(error) => break error,
        }
        assert!(held.len() < 10, "max_connections was never reached");
    };
    actual.insert("too-many-connections", too_many.to_string());
    actual
}

fn db_socket(db: &TestDatabase) -> String {
    let conninfo = db.socket_conninfo(AuthUser::Trust);
    conninfo
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("host="))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no host in {conninfo}"))
}

async fn drain_to_error(rows: &mut fraiseql_wire::RowStream<serde_json::Value>) -> Error {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), rows.next()).await.expect("hung") {
            Some(Ok(_)) => {}
            Some(Err(error)) => return error,
            None => panic!("no error"),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct BadShape {
    id: String,
}

#[tokio::test]
async fn every_scenario_in_the_guide_reads_as_the_library_says_it() {
    let db = database().await;
    create_small_view(&db).await;
    create_endless_view(&db, 0).await;
    db.execute(
        "CREATE VIEW v_no_data AS SELECT 1 AS id, 'x'::text AS name;
         CREATE VIEW v_text_data AS SELECT 'x'::text AS data;
         CREATE FUNCTION fw_guarded() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
         REVOKE EXECUTE ON FUNCTION fw_guarded() FROM PUBLIC;
         CREATE VIEW v_forbidden AS SELECT fw_guarded() AS data;
         CREATE VIEW v_slow AS SELECT jsonb_build_object('slept', pg_sleep(5)::text) AS data",
    )
    .await;
    let guide = guide_scenarios();
    let actual = actual_messages(&db).await;
    let mut wrong = Vec::new();
    for (name, message) in &actual {
        match guide.get(*name) {
            Some(pattern) if reads_as(message, pattern) => {}
            Some(pattern) => {
                wrong.push(format!("`{name}`: the guide says\n  {pattern}\nbut the library says\n  {message:?}"))
            }
            None => wrong.push(format!("`{name}` is not in the guide; the library says\n  {message:?}")),
        }
    }
    for name in guide.keys().filter(|name| !actual.contains_key(name.as_str())) {
        wrong.push(format!("the guide has scenario `{name}`, which this test does not run"));
    }
    assert!(wrong.is_empty(), "TROUBLESHOOTING.md and the library disagree:\n\n{}", wrong.join("\n\n"));
    assert!(actual.len() >= 15, "{} scenarios", actual.len());
}

#[test]
fn the_wildcard_matcher() {
    assert!(reads_as("could not connect to 127.0.0.1:5: refused", "could not connect to …: refused"));
    assert!(reads_as("abc", "abc"));
    assert!(reads_as("abcdef", "a…c…f"));
    assert!(!reads_as("abcdef", "a…x…f"));
    assert!(!reads_as("abcdef", "abc"));
    assert!(reads_as("abc and more", "abc…"));
}
