//! Private, throwaway PostgreSQL clusters for fraiseql-wire's tests, examples and benchmarks.
//!
//! [`TestCluster::shared`] starts one cluster per test process on first use (`initdb` into a
//! fresh temporary directory, then `postgres` on a free port of `127.0.0.1` and a private Unix
//! socket directory) and removes it when the process exits. [`TestCluster::start`] gives a test
//! a cluster of its own that it may stop, kill and restart. [`TestCluster::database`] creates a
//! fresh database with a unique name, so tests can run in parallel against the shared cluster.
//!
//! Every cluster has one login role per authentication method (see [`AuthUser`]), each with
//! `pg_hba.conf` lines for `local` (Unix socket) and `host` (TCP) connections. Setup SQL runs
//! through `tokio-postgres`, independently of the crate under test.
//!
//! A cluster started with [`ClusterOptions::primary`] can have streaming replicas
//! ([`TestCluster::start_replica`], [`TestCluster::promote`], [`TestCluster::wait_for_replica`]), and
//! [`PgBouncer`] puts a connection pooler in front of any cluster.
//!
//! # Finding PostgreSQL
//!
//! The server binaries are taken from, in order: the directory in `$FRAISEQL_PG_BIN`,
//! `pg_config --bindir`, and `/usr/lib/postgresql/*/bin` (newest version first). PostgreSQL
//! 13 or newer is required. If nothing is found, the harness panics with instructions (install
//! e.g. `postgresql-15`, or set `FRAISEQL_PG_BIN=/path/to/bin`); it never skips silently.
//!
//! When the test process runs as root, `initdb` and `postgres` run as the user `nobody`,
//! because PostgreSQL refuses to run as root.
//!
//! # Example
//!
//! ```no_run
//! use fraiseql_wire_tests::{AuthUser, TestCluster};
//!
//! # async fn example() {
//! let db = TestCluster::shared().database().await;
//! db.execute("CREATE TABLE t (doc jsonb); CREATE VIEW v AS SELECT doc FROM t").await;
//! let url = db.url(AuthUser::Scram); // postgresql://scram_user:...@127.0.0.1:<port>/<db>
//! # let _ = url;
//! # }
//! ```

#![deny(missing_docs)]

mod binaries;
mod certs;
mod cleanup;
mod conninfo;
pub mod fake_server;
pub mod fault_proxy;
pub mod netns;
mod options;
mod os;
mod pgbouncer;
mod proxy;
mod replica;
mod server;
mod setup;

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

pub use crate::certs::{CERT_USER, CertFiles, TestCerts};
use crate::conninfo::Endpoint;
pub use crate::options::{ClusterOptions, PgServer, ServerTls};
pub use crate::pgbouncer::{PgBouncer, PoolMode};
pub use crate::proxy::Proxy;
use crate::server::{LaunchError, Running, ServerSpec};

/// Prefix of every panic message of this crate.
const WHO: &str = "fraiseql-wire-tests";

/// How long `stop` waits for the postmaster to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `restart` keeps retrying while the old server's port or shared memory linger.
const RESTART_RETRY: Duration = Duration::from_secs(30);

/// How a running cluster is shut down (see the PostgreSQL docs on "Shutting Down the Server").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopMode {
    /// SIGTERM: wait for all clients to disconnect, then shut down cleanly.
    Smart,
    /// SIGINT: terminate sessions (clients see an admin-shutdown error), then shut down cleanly.
    Fast,
    /// SIGQUIT: terminate every process immediately; the next start performs crash recovery.
    Immediate,
}

impl StopMode {
    fn signal(self) -> libc::c_int {
        match self {
            StopMode::Smart => libc::SIGTERM,
            StopMode::Fast => libc::SIGINT,
            StopMode::Immediate => libc::SIGQUIT,
        }
    }
}

/// The login roles every cluster has, one per authentication method.
///
/// Each role has `pg_hba.conf` lines for all databases over `local` (Unix socket) and
/// `host` 127.0.0.1/32 (and ::1/128) using its method, and can connect to and read (`SELECT`)
/// the tables and views of databases made by [`TestCluster::database`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthUser {
    /// `postgres`, the superuser; `trust`, no password.
    Superuser,
    /// `trust_user`; `trust`, no password.
    Trust,
    /// `password_user`; `password` (cleartext password exchange).
    Password,
    /// `md5_user`; `md5`, with the password stored as an MD5 hash.
    Md5,
    /// `scram_user`; `scram-sha-256`, with the password stored as a SCRAM verifier.
    Scram,
    /// `reject_user`; `reject`: every connection attempt fails, even with the right password.
    Reject,
}

impl AuthUser {
    /// Every role, in declaration order.
    pub const ALL: [AuthUser; 6] =
        [AuthUser::Superuser, AuthUser::Trust, AuthUser::Password, AuthUser::Md5, AuthUser::Scram, AuthUser::Reject];

    /// The role name.
    pub fn name(self) -> &'static str {
        match self {
            AuthUser::Superuser => "postgres",
            AuthUser::Trust => "trust_user",
            AuthUser::Password => "password_user",
            AuthUser::Md5 => "md5_user",
            AuthUser::Scram => "scram_user",
            AuthUser::Reject => "reject_user",
        }
    }

    /// The role's (fixed) password; `None` for the trust-authenticated roles.
    ///
    /// `reject_user` has a password too, so that tests can show that a correct password
    /// does not get past a `reject` line.
    pub fn password(self) -> Option<&'static str> {
        match self {
            AuthUser::Superuser | AuthUser::Trust => None,
            AuthUser::Password => Some("password_secret"),
            AuthUser::Md5 => Some("md5_secret"),
            AuthUser::Scram => Some("scram_secret"),
            AuthUser::Reject => Some("reject_secret"),
        }
    }

    fn hba_method(self) -> &'static str {
        match self {
            AuthUser::Superuser | AuthUser::Trust => "trust",
            AuthUser::Password => "password",
            AuthUser::Md5 => "md5",
            AuthUser::Scram => "scram-sha-256",
            AuthUser::Reject => "reject",
        }
    }
}

/// A private PostgreSQL cluster (data directory plus postmaster process) for tests.
///
/// All methods take `&self`; the postmaster state is behind a mutex, so
/// [`stop`](Self::stop), [`kill`](Self::kill) and [`restart`](Self::restart) can be called on a
/// cluster shared between tasks. Don't call them on [`TestCluster::shared`], which other tests
/// use concurrently; use [`TestCluster::start`] for that.
pub struct TestCluster {
    spec: ServerSpec,
    endpoint: Endpoint,
    version: String,
    server: Mutex<Option<Running>>,
    postmaster_pid: Arc<AtomicI32>,
    registry_id: u64,
}

impl fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCluster")
            .field("version", &self.version)
            .field("host", &self.endpoint.host)
            .field("port", &self.endpoint.port)
            .field("socket_dir", &self.endpoint.socket_dir)
            .field("data_dir", &self.spec.data_dir)
            .field("bin_dir", &self.spec.bin_dir)
            .field("postmaster_pid", &self.postmaster_pid.load(Ordering::SeqCst))
            .finish()
    }
}

/// Describes a tokio-postgres error with the server's code, message, detail, hint and position.
fn describe(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        let mut out = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            source = cause.source();
        }
        return out;
    };
    let mut out = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        out.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = db.hint() {
        out.push_str(&format!("\nHINT: {hint}"));
    }
    if let Some(tokio_postgres::error::ErrorPosition::Original(pos)) = db.position() {
        out.push_str(&format!("\nPOSITION: character {pos}"));
    }
    out
}

async fn connect(conninfo: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl TestCluster {
    /// One cluster per test process, started on first use; stopped and removed when the
    /// process exits.
    ///
    /// # Panics
    ///
    /// If the cluster cannot be started; the message says why and how to fix it. Once the
    /// first attempt failed, every later call panics with the same message.
    pub fn shared() -> &'static TestCluster {
        static SHARED: OnceLock<Result<TestCluster, String>> = OnceLock::new();
        let result = SHARED.get_or_init(|| {
            std::panic::catch_unwind(|| TestCluster::create(&ClusterOptions::default())).map_err(|payload| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| format!("{WHO}: starting the cluster panicked"))
            })
        });
        match result {
            Ok(cluster) => cluster,
            Err(message) => panic!(
                "{WHO}: the shared test cluster failed to start: {}",
                message.trim_start_matches(&format!("{WHO}: "))
            ),
        }
    }

    /// A cluster of its own (for tests that stop/kill/restart it); stopped and removed on Drop.
    ///
    /// Blocks for the `initdb` and server startup (typically one to a few seconds).
    ///
    /// # Panics
    ///
    /// If the cluster cannot be started; the message says why and how to fix it.
    pub fn start() -> TestCluster {
        TestCluster::create(&ClusterOptions::default())
    }

    /// A cluster of its own set up as `options` say (server version, TLS, extra `pg_hba.conf` lines and
    /// settings); stopped and removed on Drop.
    ///
    /// # Panics
    ///
    /// If the cluster cannot be started (for PostgreSQL 18: if it is not installed); the message says why and
    /// how to fix it.
    pub fn start_with(options: ClusterOptions) -> TestCluster {
        TestCluster::create(&options)
    }

    /// The server's version, as `postgres --version` reports it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// TCP port the server listens on (also part of the Unix socket's file name).
    pub fn port(&self) -> u16 {
        self.endpoint.port
    }

    /// Host the server listens on: `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        &self.endpoint.host
    }

    /// Directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.endpoint.socket_dir
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.spec.data_dir
    }

    /// Directory of the `initdb` and `postgres` binaries in use.
    pub fn bin_dir(&self) -> &Path {
        &self.spec.bin_dir
    }

    /// The server log (everything the postmaster wrote to stderr, across restarts).
    pub fn log_path(&self) -> &Path {
        &self.spec.log_path
    }

    /// libpq URI over TCP for `user` (with its password if it has one) and `dbname`.
    pub fn url(&self, user: AuthUser, dbname: &str) -> String {
        self.endpoint.url(user, dbname)
    }

    /// key=value string over the Unix socket (`host=<socket_dir> port=<port> ...`).
    pub fn socket_conninfo(&self, user: AuthUser, dbname: &str) -> String {
        self.endpoint.socket_conninfo(user, dbname)
    }

    /// Superuser tokio-postgres client on `dbname` (the connection task is spawned on the
    /// current runtime).
    ///
    /// # Panics
    ///
    /// If the connection fails (for example because this test stopped the cluster).
    pub async fn admin(&self, dbname: &str) -> tokio_postgres::Client {
        let conninfo = self.endpoint.tcp_conninfo(AuthUser::Superuser, dbname);
        match connect(&conninfo).await {
            Ok(client) => client,
            Err(e) => panic!(
                "{WHO}: could not connect as superuser with `{conninfo}`: {}. Is the cluster \
                 running (stop/kill stop it until restart) and does the database exist? \
                 Server log {}:\n{}",
                describe(&e),
                self.spec.log_path.display(),
                server::log_tail(&self.spec)
            ),
        }
    }

    /// A fresh database with a unique name (owned by postgres; all test roles can connect and
    /// read), so tests run in parallel without seeing each other's objects.
    ///
    /// The database lives as long as the cluster.
    ///
    /// # Panics
    ///
    /// If the database cannot be created or connected to.
    pub async fn database(&self) -> TestDatabase {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!("fraiseql_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let admin = self.admin("postgres").await;
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")).await {
            panic!(
                "{WHO}: CREATE DATABASE {name} failed: {}. (A replica is read-only: create the database on its \
                 primary, then wait_for_replica.) Server log {}:\n{}",
                describe(&e),
                self.spec.log_path.display(),
                server::log_tail(&self.spec)
            );
        }
        drop(admin);
        let client = self.admin(&name).await;
        TestDatabase { name, endpoint: self.endpoint.clone(), client }
    }

    /// Sends SIGTERM ([`StopMode::Smart`]), SIGINT ([`StopMode::Fast`]) or SIGQUIT
    /// ([`StopMode::Immediate`]) to the postmaster and waits for it to exit. Does nothing if
    /// the server is not running.
    ///
    /// # Panics
    ///
    /// If the server is still running after 60 s (a smart shutdown waits for every client
    /// to disconnect).
    pub fn stop(&self, mode: StopMode) {
        let mut server = self.lock_server();
        let Some(running) = server.as_mut() else {
            return;
        };
        if !running.signal_and_wait(mode.signal(), STOP_TIMEOUT) {
            panic!(
                "{WHO}: the postmaster (pid {}) did not exit within {STOP_TIMEOUT:?} after a \
                 {mode:?} shutdown request. A smart shutdown waits until every client has \
                 disconnected: drop your clients first or use StopMode::Fast. Server log {}:\n{}",
                running.pid(),
                self.spec.log_path.display(),
                server::log_tail(&self.spec)
            );
        }
        *server = None;
        self.postmaster_pid.store(0, Ordering::SeqCst);
    }

    /// SIGKILLs the postmaster and waits for it to exit; its backends notice the postmaster's
    /// death and exit on their own (this waits up to 10 s for them). Does nothing if the server
    /// is not running.
    pub fn kill(&self) {
        let mut server = self.lock_server();
        if let Some(mut running) = server.take() {
            self.postmaster_pid.store(0, Ordering::SeqCst);
            running.kill_hard();
        }
    }

    /// Stops the server with [`StopMode::Fast`] if it is running, then starts it again on the
    /// same port and socket directory and waits until it accepts connections (after
    /// [`kill`](Self::kill) or [`StopMode::Immediate`] that includes crash recovery).
    ///
    /// # Panics
    ///
    /// If the server does not come back; the message includes the server log.
    pub fn restart(&self) {
        let mut server = self.lock_server();
        if let Some(running) = server.as_mut() {
            if !running.signal_and_wait(libc::SIGINT, STOP_TIMEOUT) {
                running.kill_hard();
            }
        }
        *server = None;
        self.postmaster_pid.store(0, Ordering::SeqCst);

        let deadline = Instant::now() + RESTART_RETRY;
        loop {
            match self.spec.launch(self.endpoint.port) {
                Ok(running) => {
                    self.postmaster_pid.store(running.pid(), Ordering::SeqCst);
                    *server = Some(running);
                    return;
                }
                Err(LaunchError::Retryable(_)) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(200));
                }
                Err(LaunchError::Retryable(message) | LaunchError::Fatal(message)) => panic!(
                    "{WHO}: could not restart the cluster in {} on port {}: {message}\nHow to \
                     fix: if the port is taken by another process, stop it; otherwise read the \
                     server log above.",
                    self.spec.data_dir.display(),
                    self.endpoint.port
                ),
            }
        }
    }

    fn lock_server(&self) -> MutexGuard<'_, Option<Running>> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let running = self.server.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        self.postmaster_pid.store(0, Ordering::SeqCst);
        if let Some(mut running) = running {
            if !running.signal_and_wait(libc::SIGINT, Duration::from_secs(30)) {
                running.kill_hard();
            }
        }
        cleanup::unregister(self.registry_id);
        let _ = fs::remove_dir_all(&self.spec.root_dir);
    }
}

/// A database of its own in a [`TestCluster`], with a superuser client connected to it.
///
/// Created by [`TestCluster::database`]; the database is not dropped when this value is
/// (it disappears with the cluster).
pub struct TestDatabase {
    name: String,
    endpoint: Endpoint,
    client: tokio_postgres::Client,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("host", &self.endpoint.host)
            .field("port", &self.endpoint.port)
            .field("socket_dir", &self.endpoint.socket_dir)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// The database name (unique within the process: `fraiseql_test_<pid>_<n>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// libpq URI over TCP for `user` (with its password if it has one) and this database.
    pub fn url(&self, user: AuthUser) -> String {
        self.endpoint.url(user, &self.name)
    }

    /// key=value string over the Unix socket (`host=<socket_dir> port=<port> ...`) for `user`
    /// and this database.
    pub fn socket_conninfo(&self, user: AuthUser) -> String {
        self.endpoint.socket_conninfo(user, &self.name)
    }

    /// The cluster's TCP port.
    pub fn port(&self) -> u16 {
        self.endpoint.port
    }

    /// libpq URI over TCP for `user` and this database, to `127.0.0.1:<port>` instead of the cluster's own port:
    /// for a [`Proxy`] in front of the cluster.
    pub fn url_via(&self, port: u16, user: AuthUser) -> String {
        let via = Endpoint { host: "127.0.0.1".to_owned(), port, socket_dir: self.endpoint.socket_dir.clone() };
        via.url(user, &self.name)
    }

    /// Superuser client connected to this database.
    pub fn admin(&self) -> &tokio_postgres::Client {
        &self.client
    }

    /// Loads the staging data set of `rows` rows (`tests/fixtures/schema.sql`) into this database, once: the
    /// views `staging_<rows>.v_project`, `v_document`, `v_report` and `v_tree`. Returns the schema name.
    ///
    /// # Panics
    ///
    /// If the load fails.
    pub async fn load_staging(&self, rows: u64) -> String {
        const SCHEMA_SQL: &str = include_str!("../fixtures/schema.sql");
        self.execute(SCHEMA_SQL).await;
        self.execute(&format!("SELECT fixture_load({rows})")).await;
        format!("staging_{rows}")
    }

    /// Runs `sql` (one or more statements) with `batch_execute` as the superuser.
    ///
    /// # Panics
    ///
    /// If the SQL fails; the message includes the SQL and the server's error.
    pub async fn execute(&self, sql: &str) {
        if let Err(e) = self.client.batch_execute(sql).await {
            panic!("{WHO}: SQL failed in test database {}: {}\n--- SQL ---\n{sql}", self.name, describe(&e));
        }
    }
}

/// The first column of the first row of `sql`, run with the simple query protocol (which PgBouncer's
/// transaction pooling allows).
#[cfg(test)]
async fn one_value(client: &tokio_postgres::Client, sql: &str) -> String {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {}", describe(&e)));
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row"))
}
