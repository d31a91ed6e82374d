//! Several hosts, as libpq: tried in order (or at random with `load_balance_hosts=random`), an unreachable one
//! skipped, an authentication failure final; `target_session_attrs` against a primary (the replica tests are in
//! `replicas`).

use std::time::Duration;

use fraiseql_wire::config::TargetSessionAttrs;
use fraiseql_wire::{Client, Config, Error, ErrorKind};
use fraiseql_wire_tests::fault_proxy::FaultProxy;
use fraiseql_wire_tests::{AuthUser, TestCerts, TestDatabase};
use tokio::time::timeout;

use crate::common::tls::{Kind, cluster, conninfo_as};
use crate::common::{assert_usable, create_small_view, database};

const NO_HANG: Duration = Duration::from_secs(30);

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("a free port").port()
}

/// `postgres://user:password@127.0.0.1:p1,127.0.0.1:p2,…/db?sslmode=disable&…`
fn multi_host_url(db: &TestDatabase, ports: &[u16], params: &str) -> String {
    let single = db.url(AuthUser::Scram);
    let port = format!(":{}/", db.port());
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let (head, tail) = single.split_once(&port).unwrap_or_else(|| panic!("no `{port}` in {single}"));
    let (head, _) = head.rsplit_once('@').unwrap_or_else(|| panic!("no user in {single}"));
    format!("{head}@{}/{tail}?sslmode=disable{params}", hosts.join(","))
}

async fn connect(url: &str) -> Result<Client, Error> {
    timeout(NO_HANG, Client::connect(url)).await.expect("connecting hung")
}

#[tokio::test]
async fn an_unreachable_host_is_skipped_for_the_next() {
    let db = database().await;
    create_small_view(&db).await;
    let url = multi_host_url(&db, &[closed_port(), db.port()], "");
    assert_usable(&connect(&url).await.expect("the second host")).await;
    // The key=value form, with one port per host.
    let pairs: Config = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=scram_user password={} dbname={} sslmode=disable",
        closed_port(),
        db.port(),
        AuthUser::Scram.password().expect("a password"),
        db.name()
    )
    .parse()
    .expect("conninfo");
    assert_usable(&Client::connect_with(pairs).await.expect("the second host")).await;
    // No host answers: the last host's error.
    let error = connect(&multi_host_url(&db, &[closed_port(), closed_port()], "")).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
}

#[tokio::test]
async fn hosts_are_tried_in_order_unless_load_balanced() {
    let db = database().await;
    let (first, second) = (FaultProxy::start(db.port()), FaultProxy::start(db.port()));
    let ordered = multi_host_url(&db, &[first.port(), second.port()], "");
    for _ in 0..10 {
        connect(&ordered).await.expect("connect");
    }
    assert_eq!((first.connections(), second.connections()), (10, 0), "load_balance_hosts=disable keeps the order");

    let random = multi_host_url(&db, &[first.port(), second.port()], "&load_balance_hosts=random");
    for _ in 0..40 {
        connect(&random).await.expect("connect");
    }
    let (a, b) = (first.connections() - 10, second.connections());
    assert_eq!(a + b, 40);
    // Both sides get some: all 40 on one side has a probability of 2^-39.
    assert!(a > 0 && b > 0, "random order sent {a} and {b} connections");
}

#[tokio::test]
async fn an_authentication_failure_does_not_move_on_to_the_next_host() {
    let db = database().await;
    let (first, second) = (FaultProxy::start(db.port()), FaultProxy::start(db.port()));
    let url = multi_host_url(&db, &[first.port(), second.port()], "")
        .replace(AuthUser::Scram.password().expect("a password"), "wrong");
    let error = connect(&url).await.unwrap_err();
    assert_eq!(error.code(), Some("28P01"), "{error:?}");
    assert_eq!((first.connections(), second.connections()), (1, 0), "the password went to a second server");
}

/// A lone primary: `read-write`, `primary`, `any` and `prefer-standby` (after its standby pass) accept it;
/// `standby` and `read-only` do not, with a retriable connect error naming what each host is.
#[tokio::test]
async fn target_session_attrs_against_a_primary() {
    let db = database().await;
    create_small_view(&db).await;
    for attrs in ["any", "read-write", "primary", "prefer-standby"] {
        let url = multi_host_url(&db, &[db.port()], &format!("&target_session_attrs={attrs}"));
        assert_usable(&connect(&url).await.unwrap_or_else(|e| panic!("{attrs}: {e}"))).await;
    }
    for attrs in ["standby", "read-only"] {
        let url = multi_host_url(&db, &[closed_port(), db.port()], &format!("&target_session_attrs={attrs}"));
        let error = connect(&url).await.unwrap_err();
        match &error {
            Error::NoSuitableHost { target_session_attrs, tried } => {
                assert_eq!(*target_session_attrs, attrs);
                assert_eq!(tried, &[format!("127.0.0.1:{} (primary)", db.port())]);
            }
            other => panic!("{attrs}: {other:?}"),
        }
        assert_eq!((error.kind(), error.is_retriable()), (ErrorKind::Connect, true));
    }
    // A primary whose sessions default to read-only is no `read-write` server, but is a `read-only` one.
    db.execute(&format!("ALTER DATABASE {} SET default_transaction_read_only = on", db.name())).await;
    let read_only = multi_host_url(&db, &[db.port()], "&target_session_attrs=read-only");
    assert_usable(&connect(&read_only).await.expect("read-only")).await;
    let config: Config = multi_host_url(&db, &[db.port()], "").parse().expect("url");
    let error = Client::connect_with(config.target_session_attrs(TargetSessionAttrs::ReadWrite)).await.unwrap_err();
    assert!(error.to_string().contains("(primary, read-only)"), "{error}");
}

/// `hostaddr` is what is dialled (the name is never looked up), while `host` still names the server: TLS checks
/// the certificate against the name, not against the address.
#[tokio::test]
async fn hostaddr_is_dialled_and_host_names_the_server() {
    let db = database().await;
    create_small_view(&db).await;
    let unresolvable = format!(
        "host=db.fraiseql.invalid hostaddr=127.0.0.1 port={} user=scram_user password={} dbname={} sslmode=disable",
        db.port(),
        AuthUser::Scram.password().expect("a password"),
        db.name()
    );
    assert_usable(&connect(&unresolvable).await.expect("the name was looked up")).await;

    let tls_db = cluster(Kind::Pg15Tls).database().await;
    let ca = TestCerts::get().ca.display().to_string();
    // The certificate names `localhost`, not 127.0.0.1.
    let by_name = conninfo_as(
        &tls_db,
        "localhost",
        AuthUser::Scram,
        &format!("hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={ca}"),
    );
    connect(&by_name).await.expect("verify-full against the host name");
    let by_address =
        conninfo_as(&tls_db, "127.0.0.1", AuthUser::Scram, &format!("sslmode=verify-full sslrootcert={ca}"));
    let error = connect(&by_address).await.unwrap_err();
    assert!(matches!(error, Error::Tls { failure: fraiseql_wire::TlsFailure::HostnameMismatch, .. }), "{error:?}");
}
