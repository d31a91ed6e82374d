//! Connecting: transports, authentication methods, and the errors a bad setup gets (acceptance point 1).

use std::net::TcpListener;

use crate::common::{assert_usable, connect, create_small_view, database};
use fraiseql_wire::config::Host;
use fraiseql_wire::{Client, Config, Error};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};

/// A view that reports who we are connected as, to prove the right role and database were used.
async fn create_whoami_view(db: &TestDatabase) {
    db.execute(
        "CREATE VIEW v_whoami AS SELECT jsonb_build_object('user', current_user::text, 'db', \
         current_database()::text) AS data",
    )
    .await;
}

async fn assert_whoami(client: &Client, user: AuthUser, db: &TestDatabase) {
    let me = client.query("v_whoami").fetch_one().await.unwrap_or_else(|e| panic!("{}: {e}", user.name()));
    assert_eq!(me, serde_json::json!({"user": user.name(), "db": db.name()}));
}

async fn connect_and_stream_both_transports(user: AuthUser) {
    let db = database().await;
    create_whoami_view(&db).await;
    create_small_view(&db).await;
    for conninfo in [db.url(user), db.socket_conninfo(user)] {
        let client = connect(&conninfo).await;
        assert_whoami(&client, user, &db).await;
        assert_usable(&client).await;
    }
}

#[tokio::test]
async fn trust_user_over_tcp_and_unix_socket() {
    connect_and_stream_both_transports(AuthUser::Trust).await;
}

#[tokio::test]
async fn cleartext_password_user_over_tcp_and_unix_socket() {
    connect_and_stream_both_transports(AuthUser::Password).await;
}

#[tokio::test]
async fn md5_user_over_tcp_and_unix_socket() {
    connect_and_stream_both_transports(AuthUser::Md5).await;
}

#[tokio::test]
async fn scram_user_over_tcp_and_unix_socket() {
    connect_and_stream_both_transports(AuthUser::Scram).await;
}

#[tokio::test]
async fn config_builder_connects_over_tcp_and_unix_socket() {
    let cluster = TestCluster::shared();
    let db = cluster.database().await;
    create_whoami_view(&db).await;
    let user = AuthUser::Scram;
    let tcp = Config::new()
        .host(cluster.host())
        .port(cluster.port())
        .user(user.name())
        .password(user.password().unwrap())
        .dbname(db.name());
    let socket = Config::new()
        .host_path(cluster.socket_dir())
        .port(cluster.port())
        .user(user.name())
        .password(user.password().unwrap())
        .dbname(db.name());
    assert!(matches!(socket.get_hosts(), [Host::Unix(_)]));
    for config in [tcp, socket] {
        let client = Client::connect_with(config).await.expect("connect_with");
        assert_whoami(&client, user, &db).await;
    }
}

#[tokio::test]
async fn application_name_reaches_the_server() {
    let db = database().await;
    create_small_view(&db).await;
    let app = crate::common::app_name("application_name_reaches_the_server");
    let client = connect(&crate::common::url_with_app(&db, AuthUser::Md5, &app)).await;
    assert_usable(&client).await;
    let pid = crate::common::single_backend(db.admin(), &app).await;
    assert!(pid > 0);
}

#[tokio::test]
async fn wrong_password_is_28p01_with_advice() {
    let db = database().await;
    for user in [AuthUser::Password, AuthUser::Md5, AuthUser::Scram] {
        let good = user.password().unwrap();
        for conninfo in [db.url(user), db.socket_conninfo(user)] {
            let bad = conninfo.replace(good, "not_the_password");
            let err = Client::connect(&bad).await.expect_err("a wrong password must be refused");
            assert_eq!(err.code(), Some("28P01"), "{}: {err}", user.name());
            let message = err.to_string();
            assert!(message.contains("password authentication failed"), "{message}");
            assert!(message.contains("pgpass") && message.contains("PGPASSWORD"), "no advice in: {message}");
            // The password itself never appears in an error.
            assert!(!message.contains("not_the_password"), "{message}");
        }
    }
}

#[tokio::test]
async fn rejected_user_is_28000_even_with_its_password() {
    let db = database().await;
    for conninfo in [db.url(AuthUser::Reject), db.socket_conninfo(AuthUser::Reject)] {
        let err = Client::connect(&conninfo).await.expect_err("reject_user must be refused");
        assert_eq!(err.code(), Some("28000"), "{err}");
        assert!(err.to_string().contains("pg_hba.conf"), "{err}");
    }
}

#[tokio::test]
async fn missing_database_is_3d000() {
    let cluster = TestCluster::shared();
    for conninfo in [
        cluster.url(AuthUser::Scram, "no_such_database_here"),
        cluster.socket_conninfo(AuthUser::Trust, "no_such_database_here"),
    ] {
        let err = Client::connect(&conninfo).await.expect_err("a missing database must be refused");
        assert_eq!(err.code(), Some("3D000"), "{err}");
        let message = err.to_string();
        assert!(message.contains("no_such_database_here"), "{message}");
        assert!(message.contains("PGDATABASE"), "no advice in: {message}");
    }
}

/// A port of 127.0.0.1 nobody listens on (it was free a moment ago).
fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn refused_tcp_connection_names_the_target_and_pg_isready() {
    let port = closed_port();
    let err = Client::connect(&format!("postgresql://trust_user@127.0.0.1:{port}/postgres"))
        .await
        .expect_err("nothing listens on that port");
    match &err {
        Error::Connect { target, source, .. } => {
            assert_eq!(target, &format!("127.0.0.1:{port}"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.contains("pg_isready"), "{message}");
    assert!(err.is_connection_error());
}

#[tokio::test]
async fn missing_unix_socket_names_the_path_and_pg_isready() {
    let cluster = TestCluster::shared();
    let dir = std::env::temp_dir().join(format!("fw_no_socket_{}", std::process::id()));
    let port = cluster.port();
    let err = Client::connect(&format!("host={} port={port} user=trust_user dbname=postgres", dir.display()))
        .await
        .expect_err("no socket there");
    let expected = format!("{}/.s.PGSQL.{port}", dir.display());
    assert!(matches!(&err, Error::Connect { target, .. } if *target == expected), "{err:?}");
    assert!(err.to_string().contains("pg_isready"), "{err}");
}

#[tokio::test]
async fn password_user_without_password_is_password_missing() {
    let cluster = TestCluster::shared();
    let db = cluster.database().await;
    // `passfile` points nowhere, so neither ~/.pgpass nor anything else can supply the password.
    let nowhere = std::env::temp_dir().join(format!("fw_no_pgpass_{}", std::process::id()));
    for user in [AuthUser::Password, AuthUser::Md5, AuthUser::Scram] {
        for host in [cluster.host().to_owned(), cluster.socket_dir().display().to_string()] {
            let conninfo = format!(
                "host={host} port={} user={} dbname={} passfile={}",
                cluster.port(),
                user.name(),
                db.name(),
                nowhere.display()
            );
            let err = Client::connect(&conninfo).await.expect_err("no password was given");
            match &err {
                Error::PasswordMissing { user: who } => assert_eq!(who, user.name()),
                other => panic!("{}: expected PasswordMissing, got {other:?}", user.name()),
            }
            let message = err.to_string();
            assert!(message.contains("PGPASSWORD") && message.contains("pgpass"), "{message}");
        }
    }
}

/// The shared cluster has no TLS: the modes that demand it are refused by a server that answers `N`, never
/// weakened to plaintext; the others connect in plaintext (the unset default too, since 127.0.0.1 is loopback).
#[tokio::test]
async fn a_server_without_tls_refuses_modes_that_demand_it() {
    let db = database().await;
    let ca = fraiseql_wire_tests::TestCerts::get().ca.display().to_string();
    for mode in ["require", "verify-ca", "verify-full"] {
        let err = Client::connect(&format!("{}?sslmode={mode}&sslrootcert={ca}", db.url(AuthUser::Scram)))
            .await
            .expect_err("a mode demanding TLS must be refused by a server without it");
        match &err {
            Error::TlsUnavailable { sslmode, implicit: false, .. } => assert_eq!(*sslmode, mode),
            other => panic!("expected TlsUnavailable for sslmode={mode}, got {other:?}"),
        }
        assert!(err.to_string().contains("ssl = on"), "{err}");
    }
    create_small_view(&db).await;
    for mode in ["disable", "allow", "prefer"] {
        let client = connect(&format!("{}?sslmode={mode}", db.url(AuthUser::Scram))).await;
        assert_usable(&client).await;
    }
    assert_usable(&connect(&db.url(AuthUser::Scram)).await).await;
}

#[tokio::test]
async fn misspelled_parameter_is_unknown_parameter() {
    let db = database().await;
    let pairs = format!("{} dbame=x", db.socket_conninfo(AuthUser::Trust));
    let uri = format!("{}?dbame=x", db.url(AuthUser::Trust));
    for conninfo in [pairs, uri] {
        let err = Client::connect(&conninfo).await.expect_err("dbame is not a parameter");
        match &err {
            Error::UnknownParameter { name } => assert_eq!(name, "dbame"),
            other => panic!("expected UnknownParameter for `{conninfo}`, got {other:?}"),
        }
        assert!(err.to_string().contains("`dbame`"), "{err}");
    }
}

/// A server that accepts and never answers fails within the connect timeout: the one given (1 s is raised to 2 s,
/// as libpq does), or the default of 10 s when none is.
#[tokio::test]
async fn connect_timeout_bounds_a_silent_server() {
    // The kernel accepts connections on this listener, but nobody ever answers.
    let silent = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = silent.local_addr().unwrap().port();
    let attempt = |param: &'static str, expected: u64| async move {
        let started = std::time::Instant::now();
        let conninfo = format!("postgresql://trust_user@127.0.0.1:{port}/postgres?sslmode=disable{param}");
        let err = tokio::time::timeout(std::time::Duration::from_secs(30), Client::connect(&conninfo))
            .await
            .expect("connect_timeout was not honoured")
            .expect_err("a silent server cannot complete a connection");
        match &err {
            Error::ConnectTimeout { target, timeout } => {
                assert_eq!(target, &format!("127.0.0.1:{port}"));
                assert_eq!(*timeout, std::time::Duration::from_secs(expected));
            }
            other => panic!("expected ConnectTimeout, got {other:?}"),
        }
        assert!(started.elapsed() >= std::time::Duration::from_secs(expected));
        assert!(err.to_string().contains("pg_isready"), "{err}");
        assert!(err.is_retriable());
    };
    tokio::join!(attempt("&connect_timeout=1", 2), attempt("", 10));
}

#[tokio::test]
async fn a_server_that_is_not_postgresql_is_a_protocol_error() {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut startup = [0u8; 8];
        let _ = socket.read(&mut startup).await;
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        // Keep the socket open until the client gives up.
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
    });
    let conninfo = format!("postgresql://trust_user@127.0.0.1:{port}/postgres");
    let attempt = Client::connect(&conninfo);
    let err = tokio::time::timeout(std::time::Duration::from_secs(20), attempt)
        .await
        .expect("the client hung on a non-PostgreSQL peer")
        .expect_err("an HTTP server is not PostgreSQL");
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    server.abort();
}

#[tokio::test]
async fn the_next_host_is_tried_when_one_is_down() {
    let cluster = TestCluster::shared();
    let db = cluster.database().await;
    create_small_view(&db).await;
    let down = closed_port();
    let user = AuthUser::Scram;
    let conninfo = format!(
        "host=127.0.0.1,{socket} port={down},{port} user={} password={} dbname={}",
        user.name(),
        user.password().unwrap(),
        db.name(),
        socket = cluster.socket_dir().display(),
        port = cluster.port(),
    );
    assert_usable(&connect(&conninfo).await).await;
    let uri = format!(
        "postgresql://{}:{}@127.0.0.1:{down},127.0.0.1:{port}/{}",
        user.name(),
        user.password().unwrap(),
        db.name(),
        port = cluster.port(),
    );
    assert_usable(&connect(&uri).await).await;
}

/// `require_auth` accepts and refuses as libpq 16 documents it, against the cluster's trust, cleartext, MD5 and
/// SCRAM roles; a refusal happens before anything of the password is sent, and names what the server asked for.
#[tokio::test]
async fn require_auth_accepts_and_refuses_as_libpq_does() {
    let db = database().await;
    let roles = [AuthUser::Trust, AuthUser::Password, AuthUser::Md5, AuthUser::Scram];
    // For each setting: whether the trust, password, md5 and scram roles connect.
    let table: [(&str, [bool; 4]); 10] = [
        ("password", [false, true, false, false]),
        ("md5", [false, false, true, false]),
        ("scram-sha-256", [false, false, false, true]),
        ("none", [true, false, false, false]),
        ("password,md5", [false, true, true, false]),
        ("scram-sha-256,none", [true, false, false, true]),
        ("!password", [true, false, true, true]),
        ("!none", [false, true, true, true]),
        ("!password,!md5", [true, false, false, true]),
        ("!scram-sha-256,!none", [false, true, true, false]),
    ];
    for (setting, expected) in table {
        for (role, connects) in roles.into_iter().zip(expected) {
            let conninfo = format!("{}?require_auth={setting}", db.url(role));
            match Client::connect(&conninfo).await {
                Ok(_) => assert!(connects, "require_auth={setting} let {role:?} connect"),
                Err(Error::AuthMethodRefused { method, require_auth }) => {
                    assert!(!connects, "require_auth={setting} refused {role:?}: {method}");
                    assert_eq!(require_auth, setting);
                }
                Err(other) => panic!("require_auth={setting}, {role:?}: unexpected error {other:?}"),
            }
        }
    }
}
