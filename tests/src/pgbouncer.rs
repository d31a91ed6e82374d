//! PgBouncer in front of a test cluster, for tests of the client through a connection pooler.
//!
//! Each [`PgBouncer`] is a process of its own with a private directory (configuration, auth file, log), listening
//! on a free port of 127.0.0.1 and routing every database name to one cluster.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::conninfo::Endpoint;
use crate::os::{self, RunAs};
use crate::setup::{free_port, new_root_dir};
use crate::{AuthUser, TestCluster, WHO, cleanup};

/// Environment variable naming the `pgbouncer` executable.
const BIN_ENV: &str = "FRAISEQL_PGBOUNCER_BIN";

/// Where the Debian package installs it (`/usr/sbin` is not on every user's PATH).
const DEBIAN_BIN: &str = "/usr/sbin/pgbouncer";

/// How long PgBouncer may take to listen.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `stop` waits after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How many log lines panic messages include.
const LOG_TAIL: usize = 40;

/// Startup parameters that PgBouncer drops instead of refusing the login ("unsupported startup parameter").
///
/// PgBouncer itself handles only `client_encoding`, `DateStyle`, `TimeZone`, `standard_conforming_strings` and
/// `application_name`. The client under test may send `statement_timeout` and `options`; JDBC and others send
/// `extra_float_digits`. Dropped means the server never sees them: a `statement_timeout` sent at startup does not
/// apply through PgBouncer.
const IGNORED_STARTUP_PARAMETERS: &str = "extra_float_digits,options,statement_timeout";

/// When a server connection returns to the pool for another client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolMode {
    /// After each transaction: consecutive transactions of one client may run on different server connections,
    /// so session state (`SET`, named prepared statements, advisory locks, `LISTEN`) does not carry over.
    Transaction,
    /// When the client disconnects: a client keeps one server connection for its whole session.
    Session,
}

impl PoolMode {
    fn ini_value(self) -> &'static str {
        match self {
            PoolMode::Transaction => "transaction",
            PoolMode::Session => "session",
        }
    }
}

/// A PgBouncer process in front of a [`TestCluster`]; stopped and its directory removed on Drop.
///
/// Every database name is routed to the cluster (`* = host=127.0.0.1 port=<cluster port>`). Clients authenticate
/// to PgBouncer with the same method as to the cluster ([`AuthUser`] documents them; PgBouncer reads them from an
/// `auth_hba_file`), and PgBouncer logs in to the cluster as the same role with the same password. The admin
/// console (database `pgbouncer`) accepts `postgres`. Only TCP: no Unix socket, no TLS.
#[derive(Debug)]
pub struct PgBouncer {
    port: u16,
    dir: PathBuf,
    log_path: PathBuf,
    run_as: Option<RunAs>,
    child: Mutex<Option<Child>>,
    pid: Arc<AtomicI32>,
    registry_id: u64,
}

impl PgBouncer {
    /// Starts PgBouncer in front of `cluster` with `mode` pooling, and waits until it accepts connections.
    ///
    /// Finds the executable in `$FRAISEQL_PGBOUNCER_BIN`, else `pgbouncer` on PATH, else `/usr/sbin/pgbouncer`.
    /// As root, it runs as the same unprivileged user as the clusters (PgBouncer refuses to run as root).
    ///
    /// # Panics
    ///
    /// If PgBouncer is not installed, or does not start; the message says how to install it, or includes its log.
    pub fn start(cluster: &TestCluster, mode: PoolMode) -> PgBouncer {
        let binary = locate();
        let dir = new_root_dir();
        let pid = Arc::new(AtomicI32::new(0));
        let registry_id = cleanup::register(Arc::clone(&pid), dir.clone());
        let mut bouncer = PgBouncer {
            port: 0,
            log_path: dir.join("pgbouncer.log"),
            dir,
            run_as: os::server_identity(),
            child: Mutex::new(None),
            pid,
            registry_id,
        };
        // From here on, a panic drops `bouncer`, which stops the process and removes the directory.
        bouncer.write_auth_files();
        bouncer.launch(&binary, cluster.port(), mode);
        bouncer
    }

    /// The port PgBouncer listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// libpq URI through PgBouncer for `user` (with its password if it has one) and `dbname`: the same form as
    /// [`TestCluster::url`].
    pub fn url(&self, user: AuthUser, dbname: &str) -> String {
        Endpoint { host: "127.0.0.1".to_owned(), port: self.port, socket_dir: self.dir.clone() }.url(user, dbname)
    }

    /// PgBouncer's log (everything it wrote to stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Stops PgBouncer; its clients see their connections close. Does nothing if it is not running.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(PoisonError::into_inner).take();
        self.pid.store(0, Ordering::SeqCst);
        if let Some(mut child) = child {
            // SIGTERM, not SIGINT: in PgBouncer up to 1.22 SIGINT is a "safe shutdown" that waits for every
            // session-mode client to disconnect, SIGTERM exits at once. (Later versions swapped the meanings; they
            // get SIGKILL after the timeout, which is as good for a throwaway pooler.)
            // SAFETY: plain kill(2) on our own, not yet reaped, child.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The auth file (the password of every role, which PgBouncer also uses to log in to the cluster) and the
    /// hba file (each role's method), as for the cluster.
    fn write_auth_files(&self) {
        let mut users = String::new();
        let mut hba = String::from("# Written by fraiseql-wire-tests: the cluster's method for each role.\n");
        for user in AuthUser::ALL {
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            users.push_str(&format!("{} {}\n", quote(user.name()), quote(user.password().unwrap_or(""))));
            hba.push_str(&format!("host all {} 127.0.0.1/32 {}\n", user.name(), user.hba_method()));
        }
        self.write_private(cleanup::OWNER_FILE, &format!("{}\n", std::process::id()));
        self.write_private("userlist.txt", &users);
        self.write_private("pgbouncer_hba.conf", &hba);
        if let Some(who) = self.run_as {
            if let Err(e) = os::chown(&self.dir, who) {
                panic!(
                    "{WHO}: could not chown {} to uid {}: {e}. As root, the harness runs PgBouncer as `nobody`, \
                     which must own its directory.",
                    self.dir.display(),
                    who.uid
                );
            }
        }
    }

    /// Writes `name` in the directory, readable by PgBouncer's user only.
    fn write_private(&self, name: &str, text: &str) {
        let path = self.dir.join(name);
        let written = fs::write(&path, text)
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o600)))
            .and_then(|()| self.run_as.map_or(Ok(()), |who| os::chown(&path, who)));
        if let Err(e) = written {
            panic!("{WHO}: could not write {}: {e}. Check that the temporary directory is writable.", path.display());
        }
    }

    fn ini(&self, port: u16, upstream: u16, mode: PoolMode) -> String {
        let dir = self.dir.display();
        format!(
            "; Written by fraiseql-wire-tests.\n\
             [databases]\n\
             * = host=127.0.0.1 port={upstream}\n\
             \n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = hba\n\
             auth_hba_file = {dir}/pgbouncer_hba.conf\n\
             auth_file = {dir}/userlist.txt\n\
             admin_users = postgres\n\
             pool_mode = {mode}\n\
             ignore_startup_parameters = {IGNORED_STARTUP_PARAMETERS}\n\
             max_client_conn = 500\n\
             default_pool_size = 20\n\
             ; After a failed login to the server (a cluster being restarted, say), retry after 1 s, not 15.\n\
             server_login_retry = 1\n",
            mode = mode.ini_value()
        )
    }

    /// Starts the process on a free port, retrying on another port if someone took it first.
    fn launch(&mut self, binary: &Path, upstream: u16, mode: PoolMode) {
        const ATTEMPTS: usize = 10;
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let port = free_port();
            self.write_private("pgbouncer.ini", &self.ini(port, upstream, mode));
            let child = self.spawn(binary, port);
            self.pid.store(child.id() as libc::pid_t, Ordering::SeqCst);
            *self.child.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
            match self.wait_listening(port) {
                Ok(()) => {
                    self.port = port;
                    return;
                }
                Err(Exited { status, retryable: true }) => last = status,
                Err(Exited { status, .. }) => panic!(
                    "{WHO}: PgBouncer ({}) exited during startup ({status}). Read its log; to use another \
                     executable set {BIN_ENV}.\n--- {} (tail) ---\n{}",
                    binary.display(),
                    self.log_path.display(),
                    self.log_tail()
                ),
            }
        }
        panic!(
            "{WHO}: could not start PgBouncer on a free port of 127.0.0.1 after {ATTEMPTS} attempts (every port was \
             taken before it could bind it). Last attempt: {last}\n--- {} (tail) ---\n{}",
            self.log_path.display(),
            self.log_tail()
        );
    }

    fn spawn(&self, binary: &Path, port: u16) -> Child {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .and_then(|mut log| {
                writeln!(log, "--- fraiseql-wire-tests: starting PgBouncer on port {port} ---")?;
                Ok((log.try_clone()?, log))
            })
            .unwrap_or_else(|e| panic!("{WHO}: could not open {}: {e}", self.log_path.display()));
        let mut cmd = Command::new(binary);
        // In the foreground, PgBouncer logs to stderr: the log file is ours, opened before the switch of user.
        cmd.arg(self.dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1)
            // Keep terminal Ctrl-C away from it; our own signals and PR_SET_PDEATHSIG stop it.
            .process_group(0);
        os::prepare(&mut cmd, self.run_as, &self.dir);
        // PgBouncer 1.18 has no SIGQUIT handler: the default action (exit) is what the process-exit cleanup and
        // PR_SET_PDEATHSIG count on, but a SIGQUIT ignored by our parent (a shell's background job) would stay
        // ignored across exec and leave PgBouncer running.
        // SAFETY: signal(2) is async-signal-safe, and this closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                if libc::signal(libc::SIGQUIT, libc::SIG_DFL) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        os::spawn_from_keeper_thread(cmd).unwrap_or_else(|e| {
            panic!(
                "{WHO}: could not start {}: {e}. Check that it is executable{}; to use another executable set \
                 {BIN_ENV}.",
                binary.display(),
                if self.run_as.is_some() {
                    " by `nobody` (as root, the harness runs PgBouncer as `nobody`)"
                } else {
                    ""
                }
            )
        })
    }

    /// Polls until a TCP connection to `port` succeeds while the process still runs, or it exits.
    fn wait_listening(&self, port: u16) -> Result<(), Exited> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let listening = TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok();
            let mut guard = self.child.lock().unwrap_or_else(PoisonError::into_inner);
            let child = guard.as_mut().expect("launch stores the child before waiting");
            match child.try_wait() {
                Ok(None) if listening => return Ok(()),
                Ok(None) if Instant::now() < deadline => {}
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    *guard = None;
                    panic!(
                        "{WHO}: PgBouncer did not accept connections on 127.0.0.1:{port} within \
                         {STARTUP_TIMEOUT:?}; killed it. Read its log.\n--- {} (tail) ---\n{}",
                        self.log_path.display(),
                        self.log_tail()
                    );
                }
                Ok(Some(status)) => {
                    *guard = None;
                    self.pid.store(0, Ordering::SeqCst);
                    let status = status.to_string();
                    return Err(Exited { retryable: self.log_tail().contains("Address already in use"), status });
                }
                Err(e) => panic!("{WHO}: could not check on the PgBouncer process: {e}"),
            }
            drop(guard);
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_tail(&self) -> String {
        match fs::read_to_string(&self.log_path) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n")
            }
            Err(e) => format!("(could not read {}: {e})", self.log_path.display()),
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
        cleanup::unregister(self.registry_id);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// How a launch attempt ended early.
struct Exited {
    status: String,
    /// The port was taken: another port may work.
    retryable: bool,
}

/// The `pgbouncer` executable: `$FRAISEQL_PGBOUNCER_BIN`, else on PATH, else where Debian puts it.
fn locate() -> PathBuf {
    let install = "Run the tests with scripts/test (as root it installs pgbouncer with apt), install it yourself \
                   (apt-get install pgbouncer on Debian/Ubuntu), or set FRAISEQL_PGBOUNCER_BIN to the pgbouncer \
                   executable.";
    if let Some(value) = std::env::var_os(BIN_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        if is_executable(&path) {
            return path;
        }
        panic!("{WHO}: {BIN_ENV}={} is not an executable file. {install}", path.display());
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("pgbouncer")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path.into_iter().chain([PathBuf::from(DEBIAN_BIN)]).find(|path| is_executable(path)).unwrap_or_else(|| {
        panic!("{WHO}: PgBouncer was not found (not on PATH, not at {DEBIAN_BIN}, {BIN_ENV} not set). {install}")
    })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{connect, describe, one_value};

    /// Every role logs in with its own method and reads a row; PgBouncer checks the passwords itself.
    async fn logins_and_queries_pass(mode: PoolMode) {
        let cluster = TestCluster::shared();
        let db = cluster.database().await;
        db.execute("CREATE TABLE t AS SELECT 42 AS answer").await;
        let bouncer = PgBouncer::start(cluster, mode);
        for user in [AuthUser::Scram, AuthUser::Md5, AuthUser::Password, AuthUser::Trust, AuthUser::Superuser] {
            let url = bouncer.url(user, db.name());
            let client = connect(&url).await.unwrap_or_else(|e| {
                panic!("{url}: {}\n--- {} ---\n{}", describe(&e), bouncer.log_path().display(), bouncer.log_tail())
            });
            assert_eq!(one_value(&client, "SELECT answer FROM t").await, "42");
            assert_eq!(one_value(&client, "SELECT current_user").await, user.name());
        }
        let wrong = format!("postgresql://scram_user:wrong@127.0.0.1:{}/{}", bouncer.port(), db.name());
        assert!(connect(&wrong).await.is_err(), "a wrong password must not get through");
        assert!(connect(&bouncer.url(AuthUser::Reject, db.name())).await.is_err(), "reject_user must be rejected");
        // `options` is dropped rather than refused.
        let with_options = format!("{}?options=-c%20search_path%3Dnowhere", bouncer.url(AuthUser::Scram, db.name()));
        let client = connect(&with_options).await.unwrap_or_else(|e| panic!("{with_options}: {}", describe(&e)));
        assert_eq!(one_value(&client, "SELECT answer FROM t").await, "42");
    }

    #[tokio::test]
    async fn transaction_pooling_passes_logins_and_queries() {
        logins_and_queries_pass(PoolMode::Transaction).await;
    }

    #[tokio::test]
    async fn session_pooling_passes_logins_and_queries() {
        logins_and_queries_pass(PoolMode::Session).await;
    }

    #[test]
    fn sigquit_ends_it_as_the_process_exit_cleanup_expects() {
        let bouncer = PgBouncer::start(TestCluster::shared(), PoolMode::Transaction);
        let pid = bouncer.pid.load(Ordering::SeqCst);
        // SAFETY: plain kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut guard = bouncer.child.lock().unwrap();
        let child = guard.as_mut().unwrap();
        while matches!(child.try_wait(), Ok(None)) {
            assert!(Instant::now() < deadline, "PgBouncer (pid {pid}) ignored SIGQUIT");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn stop_removes_nothing_but_drop_removes_the_directory() {
        let bouncer = PgBouncer::start(TestCluster::shared(), PoolMode::Session);
        let dir = bouncer.dir.clone();
        bouncer.stop();
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, bouncer.port())).is_err(), "stopped, yet listening");
        assert!(dir.join("pgbouncer.log").is_file());
        drop(bouncer);
        assert!(!dir.exists(), "{} was not removed", dir.display());
    }
}
