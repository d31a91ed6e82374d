//! Connecting from the environment alone: `PG*` variables and the password file (acceptance point 2).
//!
//! This file is its own test process because it changes the process environment. It holds a single `#[test]`
//! that changes the environment only while no runtime of ours exists: the cluster's helper threads (server
//! keeper, log drain) never read the environment, and each scenario runs on a fresh current-thread runtime
//! that is dropped before the next change.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fraiseql_wire::{Client, Error, TlsFailure};
use fraiseql_wire_tests::{AuthUser, CERT_USER, ClusterOptions, ServerTls, TestCerts, TestCluster};

/// Every variable the client reads; all are cleared first so the runner's own environment cannot interfere.
const PG_VARS: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGSSLMODE",
    "PGPASSFILE",
    "PGOPTIONS",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLNEGOTIATION",
    "PGSSLSNI",
    "PGCHANNELBINDING",
    "PGREQUIREAUTH",
    "PGMINPROTOCOLVERSION",
    "PGMAXPROTOCOLVERSION",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("building a runtime")
}

/// Sets (`Some`) or removes (`None`) environment variables.
fn set_env(vars: &[(&str, Option<&str>)]) {
    for (name, value) in vars {
        // SAFETY: edition 2024 makes this unsafe because another thread could read the environment at the same
        // time. No runtime of ours is alive here, and the harness's threads do not read the environment.
        unsafe {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }
}

/// `Client::connect("")`, then who we are according to the server.
fn connect_from_env() -> Result<serde_json::Value, Error> {
    runtime().block_on(async {
        let client = Client::connect("").await?;
        client.query("v_whoami").fetch_one().await
    })
}

fn write_passfile(path: &Path, contents: &str, mode: u32) {
    fs::write(path, contents).expect("writing the password file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod of the password file");
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn connects_from_pg_environment_variables_and_password_file() {
    let cluster = TestCluster::shared();
    let dbname = runtime().block_on(async {
        let db = cluster.database().await;
        db.execute(
            "CREATE VIEW v_whoami AS SELECT jsonb_build_object('user', current_user::text, 'db', \
             current_database()::text) AS data",
        )
        .await;
        db.name().to_owned()
    });
    let port = cluster.port().to_string();
    let socket_dir = cluster.socket_dir().display().to_string();
    let expect = |user: AuthUser| serde_json::json!({"user": user.name(), "db": dbname});

    let cleared: Vec<(&str, Option<&str>)> = PG_VARS.iter().map(|&name| (name, None)).collect();
    set_env(&cleared);

    // 1. PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE only, with a SCRAM role.
    let scram = AuthUser::Scram;
    set_env(&[
        ("PGHOST", Some(cluster.host())),
        ("PGPORT", Some(&port)),
        ("PGUSER", Some(scram.name())),
        ("PGPASSWORD", scram.password()),
        ("PGDATABASE", Some(&dbname)),
    ]);
    assert_eq!(connect_from_env().expect("connecting with PG* variables only"), expect(scram));

    // 2. The password from a 0600 PGPASSFILE (cleartext password role, over TCP).
    let dir = TempDir(std::env::temp_dir().join(format!("fw_env_test_{}", std::process::id())));
    fs::create_dir_all(&dir.0).expect("creating a temporary directory");
    let passfile = dir.0.join("pgpass");
    let password = AuthUser::Password;
    let passfile_contents = format!(
        "# a comment, then a line for another database, then ours\n\
         127.0.0.1:{port}:other_db:{user}:wrong\n\
         127.0.0.1:{port}:{dbname}:{user}:{secret}\n\
         localhost:{port}:*:{md5}:{md5_secret}\n",
        user = password.name(),
        secret = password.password().unwrap(),
        md5 = AuthUser::Md5.name(),
        md5_secret = AuthUser::Md5.password().unwrap(),
    );
    write_passfile(&passfile, &passfile_contents, 0o600);
    let passfile_path = passfile.display().to_string();
    set_env(&[("PGPASSWORD", None), ("PGUSER", Some(password.name())), ("PGPASSFILE", Some(&passfile_path))]);
    assert_eq!(connect_from_env().expect("connecting with the password from PGPASSFILE"), expect(password));

    // 3. Over the Unix socket, a `localhost` line of the password file applies (md5 role).
    set_env(&[("PGHOST", Some(&socket_dir)), ("PGUSER", Some(AuthUser::Md5.name()))]);
    assert_eq!(connect_from_env().expect("connecting over the socket with PGPASSFILE"), expect(AuthUser::Md5));

    // 4. A password file that group and others can read is ignored, as libpq does.
    set_env(&[("PGHOST", Some(cluster.host())), ("PGUSER", Some(password.name()))]);
    write_passfile(&passfile, &passfile_contents, 0o644);
    match connect_from_env() {
        Err(Error::PasswordMissing { user }) => assert_eq!(user, password.name()),
        other => panic!("a 0644 password file must be ignored (PasswordMissing), got {other:?}"),
    }

    // 5. Restored to 0600, it is used again.
    write_passfile(&passfile, &passfile_contents, 0o600);
    assert_eq!(connect_from_env().expect("connecting after chmod 0600"), expect(password));

    // 6. TLS from the environment: verify-full with PGSSLROOTCERT, and a client certificate from PGSSLCERT and
    //    PGSSLKEY for a role that may only log in with one.
    set_env(&cleared);
    let certs = TestCerts::get();
    let tls_cluster = TestCluster::start_with(ClusterOptions {
        tls: Some(ServerTls { cert: certs.server.clone(), client_ca: Some(certs.ca.clone()) }),
        hba: ["127.0.0.1/32", "::1/128"]
            .iter()
            .map(|address| format!("hostssl all {CERT_USER} {address} cert clientcert=verify-full"))
            .collect(),
        sql: vec![format!("CREATE ROLE {CERT_USER} LOGIN IN ROLE readers")],
        ..ClusterOptions::default()
    });
    let tls_db = runtime().block_on(async {
        let db = tls_cluster.database().await;
        db.execute("CREATE VIEW v_whoami AS SELECT jsonb_build_object('user', current_user::text) AS data").await;
        db.name().to_owned()
    });
    let tls_port = tls_cluster.port().to_string();
    let (ca, cert, key) = (
        certs.ca.display().to_string(),
        certs.client.cert.display().to_string(),
        certs.client.key.display().to_string(),
    );
    set_env(&[
        ("PGHOST", Some("localhost")),
        ("PGPORT", Some(&tls_port)),
        ("PGUSER", Some(CERT_USER)),
        ("PGDATABASE", Some(&tls_db)),
        ("PGSSLMODE", Some("verify-full")),
        ("PGSSLROOTCERT", Some(&ca)),
        ("PGSSLCERT", Some(&cert)),
        ("PGSSLKEY", Some(&key)),
    ]);
    assert_eq!(
        connect_from_env().expect("connecting with TLS settings from PG* variables"),
        serde_json::json!({"user": CERT_USER})
    );

    // 7. The variables are really what decides: another CA in PGSSLROOTCERT fails verification.
    let other_ca = certs.other_ca.display().to_string();
    set_env(&[("PGSSLROOTCERT", Some(&other_ca))]);
    match connect_from_env() {
        Err(Error::Tls { failure: TlsFailure::UntrustedCertificate, .. }) => {}
        other => panic!("PGSSLROOTCERT naming another CA must fail verification, got {other:?}"),
    }

    set_env(&cleared);
}
