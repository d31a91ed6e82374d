//! Smoke tests for the test-cluster harness itself.

use fraiseql_wire_tests::{AuthUser, StopMode, TestCluster};
use tokio_postgres::NoTls;

async fn connect(conninfo: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn select_one(conninfo: &str) {
    let client = connect(conninfo).await.unwrap_or_else(|e| panic!("connecting with `{conninfo}` failed: {e}"));
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .unwrap_or_else(|e| panic!("SELECT 1 over `{conninfo}` failed: {e}"))
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn every_auth_method_over_tcp_and_socket() {
    let cluster = TestCluster::shared();
    assert_eq!(cluster.host(), "127.0.0.1");
    assert!(cluster.socket_dir().is_dir());
    assert!(cluster.data_dir().join("PG_VERSION").is_file());
    assert!(cluster.bin_dir().join("postgres").is_file());

    let db = cluster.database().await;
    db.execute("CREATE TABLE docs (doc jsonb); INSERT INTO docs VALUES ('{\"a\": 1}'); CREATE VIEW v_docs AS SELECT doc FROM docs")
        .await;

    for user in [AuthUser::Superuser, AuthUser::Trust, AuthUser::Password, AuthUser::Md5, AuthUser::Scram] {
        select_one(&db.url(user)).await;
        select_one(&db.socket_conninfo(user)).await;

        // Test roles can read views in test databases.
        let client = connect(&db.url(user)).await.unwrap();
        let n: i64 = client
            .query_one("SELECT count(*) FROM v_docs", &[])
            .await
            .unwrap_or_else(|e| panic!("{} cannot read v_docs: {e}", user.name()))
            .get(0);
        assert_eq!(n, 1);
    }

    for conninfo in [db.url(AuthUser::Reject), db.socket_conninfo(AuthUser::Reject)] {
        let err = match connect(&conninfo).await {
            Ok(_) => panic!("reject_user connected with `{conninfo}`"),
            Err(e) => e,
        };
        let db_error = err.as_db_error().unwrap_or_else(|| panic!("reject_user: expected a server error, got {err:?}"));
        assert_eq!(db_error.code(), &tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
        assert!(
            db_error.message().contains("pg_hba.conf rejects connection"),
            "unexpected error for reject_user: {db_error}"
        );
    }

    // A wrong password fails for each password method.
    for user in [AuthUser::Password, AuthUser::Md5, AuthUser::Scram] {
        let url = cluster.url(user, db.name()).replace(user.password().unwrap(), "wrong");
        assert!(connect(&url).await.is_err(), "{} accepted a wrong password", user.name());
    }

    let is_md5: bool = db
        .admin()
        .query_one("SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = 'md5_user'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(is_md5, "md5_user's password is not stored as MD5");
    let is_scram: bool = db
        .admin()
        .query_one("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'scram_user'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(is_scram, "scram_user's password is not stored as SCRAM");
}

#[tokio::test]
async fn databases_are_isolated() {
    let cluster = TestCluster::shared();
    let (a, b) = (cluster.database().await, cluster.database().await);
    assert_ne!(a.name(), b.name());
    a.execute("CREATE TABLE only_in_a (id int)").await;
    let seen: bool = b.admin().query_one("SELECT to_regclass('only_in_a') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!seen);
    let client = cluster.admin(a.name()).await;
    client.batch_execute("SELECT * FROM only_in_a").await.unwrap();
}

#[tokio::test]
async fn own_cluster_restart_and_kill() {
    let cluster = TestCluster::start();
    let port = cluster.port();
    let socket_dir = cluster.socket_dir().to_owned();
    let conninfo = cluster.url(AuthUser::Scram, "postgres");
    select_one(&conninfo).await;

    cluster.restart();
    assert_eq!(cluster.port(), port);
    assert_eq!(cluster.socket_dir(), socket_dir);
    select_one(&conninfo).await;
    select_one(&cluster.socket_conninfo(AuthUser::Md5, "postgres")).await;

    // A client of the killed server sees an error instead of hanging.
    let client = connect(&conninfo).await.unwrap();
    cluster.kill();
    assert!(client.query_one("SELECT 1", &[]).await.is_err());
    assert!(connect(&conninfo).await.is_err());

    // Crash recovery after kill, then the stop modes.
    cluster.restart();
    select_one(&conninfo).await;
    cluster.stop(StopMode::Immediate);
    cluster.restart();
    cluster.stop(StopMode::Smart);
    cluster.restart();
    let db = cluster.database().await;
    select_one(&db.url(AuthUser::Password)).await;
    cluster.stop(StopMode::Fast);
    cluster.stop(StopMode::Fast); // no-op when already stopped
    cluster.kill(); // likewise
    let data_dir = cluster.data_dir().to_owned();
    drop(cluster);
    assert!(!data_dir.exists(), "Drop did not remove {}", data_dir.display());
}
