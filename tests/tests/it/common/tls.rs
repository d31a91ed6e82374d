//! TLS clusters shared by the TLS tests: PostgreSQL 15 and 18, with and without `ssl`, and with the odd server
//! certificates, each started on first use. Every one has the matrix roles, each behind one kind of
//! `pg_hba.conf` line, and `cert_user` behind a `cert clientcert=verify-full` line.

use std::sync::OnceLock;

use fraiseql_wire::{Client, Error};
use fraiseql_wire_tests::{
    AuthUser, CERT_USER, CertFiles, ClusterOptions, PgServer, ServerTls, TestCerts, TestCluster, TestDatabase,
};

/// The roles of the sslmode matrix and the `pg_hba.conf` line type each one has (`trust`).
pub const MATRIX_ROLES: [(&str, &str); 3] =
    [("hostssl", "m_hostssl"), ("hostnossl", "m_hostnossl"), ("host", "m_host")];

/// A kind of shared cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL 15, `ssl = on` with the `localhost` certificate, client certificates from the test CA.
    Pg15Tls,
    /// PostgreSQL 15, `ssl = off`.
    Pg15Plain,
    /// PostgreSQL 18, `ssl = on`, as [`Kind::Pg15Tls`].
    Pg18Tls,
    /// PostgreSQL 18, `ssl = off`.
    Pg18Plain,
    /// PostgreSQL 15 with an Ed25519 server certificate.
    Ed25519,
    /// PostgreSQL 15 with an expired server certificate.
    Expired,
}

impl Kind {
    const ALL: [Kind; 6] =
        [Kind::Pg15Tls, Kind::Pg15Plain, Kind::Pg18Tls, Kind::Pg18Plain, Kind::Ed25519, Kind::Expired];

    fn server(self) -> PgServer {
        if matches!(self, Kind::Pg18Tls | Kind::Pg18Plain) { PgServer::Pg18 } else { PgServer::Pg15 }
    }

    fn certificate(self) -> Option<&'static CertFiles> {
        let certs = TestCerts::get();
        match self {
            Kind::Pg15Tls | Kind::Pg18Tls => Some(&certs.server),
            Kind::Ed25519 => Some(&certs.server_ed25519),
            Kind::Expired => Some(&certs.server_expired),
            Kind::Pg15Plain | Kind::Pg18Plain => None,
        }
    }
}

/// The options of a cluster of this kind (also for tests that need one of their own).
pub fn options(kind: Kind) -> ClusterOptions {
    let certs = TestCerts::get();
    let mut hba = Vec::new();
    for address in ["127.0.0.1/32", "::1/128"] {
        for (line, role) in MATRIX_ROLES {
            hba.push(format!("{line} all {role} {address} trust"));
        }
        hba.push(format!("hostssl all {CERT_USER} {address} cert clientcert=verify-full"));
    }
    let roles = MATRIX_ROLES.iter().map(|(_, role)| *role).chain([CERT_USER]);
    ClusterOptions {
        server: kind.server(),
        tls: kind.certificate().map(|cert| ServerTls { cert: cert.clone(), client_ca: Some(certs.ca.clone()) }),
        hba,
        settings: Vec::new(),
        sql: roles.map(|role| format!("CREATE ROLE {role} LOGIN IN ROLE readers")).collect(),
    }
}

/// The shared cluster of this kind.
pub fn cluster(kind: Kind) -> &'static TestCluster {
    static CLUSTERS: [OnceLock<TestCluster>; 6] = [const { OnceLock::new() }; 6];
    let index = Kind::ALL.iter().position(|k| *k == kind).unwrap_or_default();
    CLUSTERS[index].get_or_init(|| TestCluster::start_with(options(kind)))
}

/// A fresh database on `cluster` with `v_ssl`: whether this session is encrypted, as the server sees it, and who
/// it is.
pub async fn ssl_database(cluster: &TestCluster) -> TestDatabase {
    let db = cluster.database().await;
    db.execute(
        "CREATE VIEW v_ssl AS SELECT jsonb_build_object('ssl', s.ssl, 'version', s.version, 'user', \
         current_user::text) AS data FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()",
    )
    .await;
    db
}

/// A `key=value` connection string for `user` on `db` at `host`, followed by `extra`.
pub fn conninfo(db: &TestDatabase, host: &str, user: &str, extra: &str) -> String {
    format!("host={host} port={} dbname={} user={user} connect_timeout=20 {extra}", db.port(), db.name())
}

/// The same for one of the harness's roles, with its password.
pub fn conninfo_as(db: &TestDatabase, host: &str, user: AuthUser, extra: &str) -> String {
    let password = user.password().map(|p| format!("password={p} ")).unwrap_or_default();
    conninfo(db, host, user.name(), &format!("{password}{extra}"))
}

/// Whether the server says this client's session is encrypted (from `v_ssl`).
pub async fn server_sees_tls(client: &Client) -> Result<bool, Error> {
    let row = client.query("v_ssl").fetch_one().await?;
    Ok(row["ssl"] == serde_json::Value::Bool(true))
}

/// Connects and reports what the server sees: `Ok(true)` for an encrypted session, `Ok(false)` for plaintext.
pub async fn connect_and_check(conninfo: &str) -> Result<bool, Error> {
    let client = Client::connect(conninfo).await?;
    server_sees_tls(&client).await
}
