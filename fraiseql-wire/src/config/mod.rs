//! Connection settings: libpq's URI and `key=value` forms, `PG*` environment variables, `.pgpass`, and a builder.
//!
//! Parsing is pure (no I/O) so it can be unit-tested; `Config::resolve` is the one place that reads the
//! environment and the password file.

mod display;
mod env;
pub(crate) mod liveness;
#[cfg(test)]
mod libpq_conformance;
mod os_user;
mod pairs;
mod parse;
mod pgpass;
mod protocol;
mod routing;
mod secret;
mod targets;
mod tls;
mod uri;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;

pub use crate::protocol::require_auth::{AuthMethod, RequireAuth};
pub use crate::protocol::startup::ProtocolVersion;
pub(crate) use env::Environment;
pub(crate) use liveness::{Liveness, LivenessOptions};
pub use routing::{LoadBalanceHosts, TargetSessionAttrs};
pub(crate) use routing::{Routing, ServerRole};
pub(crate) use secret::Secret;
pub use tls::{ChannelBinding, RootCert, SslMode, SslNegotiation, TlsVersion};
pub(crate) use tls::{ClientCert, TlsOptions, TlsSettings};

/// Default number of prepared statements each connection keeps (see [`Config::statement_cache_capacity`]).
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 64;

/// Default cap on one row's size: a row above it is [`Error::RowTooLarge`].
pub const DEFAULT_MAX_ROW_BYTES: usize = 256 * 1024 * 1024;

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name or IP address, reached over TCP.
    Tcp(String),
    /// A directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    Unix(PathBuf),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(name) => f.write_str(name),
            Host::Unix(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// Connection settings.
///
/// Build one with [`Config::new`] and the setters, or parse a libpq connection string with
/// [`str::parse`] / [`Config::from_str`]:
///
/// ```
/// # fn main() -> Result<(), fraiseql_wire::Error> {
/// use fraiseql_wire::Config;
///
/// let from_uri: Config = "postgres://app@db.internal:5433/shop?application_name=api".parse()?;
/// let from_pairs: Config = "host=/run/postgresql user=app dbname=shop".parse()?;
/// let built = Config::new().host("db.internal").port(5433).user("app").dbname("shop");
/// # let _ = (from_uri, from_pairs, built);
/// # Ok(()) }
/// ```
///
/// Anything left unset is filled in when connecting, as libpq does: from `PGHOST`, `PGPORT`, `PGUSER`,
/// `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`,
/// `PGSSLNEGOTIATION`, `PGSSLSNI`, `PGCHANNELBINDING`, `PGREQUIREAUTH`, `PGTARGETSESSIONATTRS`, `PGLOADBALANCEHOSTS`
/// and `PGPASSFILE`, then the password
/// file (`~/.pgpass`), then the defaults (user = the OS user, dbname = the user, host = the default socket
/// directory if it exists, else `localhost`, port 5432).
///
/// `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) hosts: Vec<Host>,
    pub(crate) hostaddrs: Vec<IpAddr>,
    pub(crate) ports: Vec<u16>,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<Secret>,
    pub(crate) dbname: Option<String>,
    pub(crate) application_name: Option<String>,
    pub(crate) fallback_application_name: Option<String>,
    pub(crate) options: Option<String>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) ssl_mode: Option<SslMode>,
    pub(crate) tls: TlsOptions,
    pub(crate) liveness: LivenessOptions,
    pub(crate) passfile: Option<PathBuf>,
    pub(crate) require_auth: Option<RequireAuth>,
    pub(crate) min_protocol: Option<ProtocolVersion>,
    pub(crate) max_protocol: Option<ProtocolVersion>,
    pub(crate) target_session_attrs: Option<TargetSessionAttrs>,
    pub(crate) load_balance_hosts: Option<LoadBalanceHosts>,
    pub(crate) max_row_bytes: usize,
    pub(crate) cancel_timeout: Duration,
    pub(crate) statement_cache_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// An empty configuration: everything comes from the environment and libpq's defaults.
    pub fn new() -> Self {
        Config {
            hosts: Vec::new(),
            hostaddrs: Vec::new(),
            ports: Vec::new(),
            user: None,
            password: None,
            dbname: None,
            application_name: None,
            fallback_application_name: None,
            options: None,
            connect_timeout: None,
            ssl_mode: None,
            tls: TlsOptions::default(),
            liveness: LivenessOptions::default(),
            passfile: None,
            require_auth: None,
            min_protocol: None,
            max_protocol: None,
            target_session_attrs: None,
            load_balance_hosts: None,
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
            cancel_timeout: Duration::from_secs(5),
            statement_cache_capacity: DEFAULT_STATEMENT_CACHE_CAPACITY,
        }
    }

    /// Adds a host to try, in order. A value starting with `/` is a Unix socket directory.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        self.hosts.push(if host.starts_with('/') { Host::Unix(PathBuf::from(host)) } else { Host::Tcp(host) });
        self
    }

    /// Adds a Unix socket directory to try.
    pub fn host_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.hosts.push(Host::Unix(dir.into()));
        self
    }

    /// Adds a numeric address to connect to (libpq's `hostaddr`): one per host in the same order, so the name
    /// is not looked up but still used for TLS verification and `.pgpass`, or, without hosts, the hosts
    /// themselves.
    pub fn hostaddr(mut self, addr: IpAddr) -> Self {
        self.hostaddrs.push(addr);
        self
    }

    /// Adds a port: one for all hosts, or one per host in the same order.
    pub fn port(mut self, port: u16) -> Self {
        self.ports.push(port);
        self
    }

    /// The role to log in as.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The password, for password, md5 and scram-sha-256 authentication. The settings' copy is wiped from memory
    /// when they are dropped, and never printed.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret::from(password.into()));
        self
    }

    /// The database to connect to.
    pub fn dbname(mut self, dbname: impl Into<String>) -> Self {
        self.dbname = Some(dbname.into());
        self
    }

    /// The `application_name` reported to the server (visible in `pg_stat_activity`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// The `application_name` to use when none is set (libpq's `fallback_application_name`): a tool names
    /// itself here, and the user's `application_name` or `PGAPPNAME` still wins.
    pub fn fallback_application_name(mut self, name: impl Into<String>) -> Self {
        self.fallback_application_name = Some(name.into());
        self
    }

    /// Command-line options sent to the server at startup, as libpq's `options` (for example `-c search_path=app`).
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = Some(options.into());
        self
    }

    /// How long to wait for each address's connection, TLS handshake and authentication, up to the first
    /// ReadyForQuery (default 10 s; zero waits forever; shorter than 2 s is 2 s, as in libpq).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// TCP keepalives (libpq's `keepalives`, `keepalives_idle`, `keepalives_interval`, `keepalives_count`): on by
    /// default, probing after 30 s of silence, 3 probes 10 s apart, so a dead peer or a dropped NAT entry is noticed
    /// within about a minute even while the connection is idle. `None` turns them off.
    pub fn keepalives(mut self, probing: Option<(Duration, Duration, u32)>) -> Self {
        self.liveness.keepalives = Some(probing.is_some());
        if let Some((idle, interval, count)) = probing {
            self.liveness.keepalives_idle = Some(idle);
            self.liveness.keepalives_interval = Some(interval);
            self.liveness.keepalives_count = Some(count);
        }
        self
    }

    /// How long sent data may stay unacknowledged before the connection is dropped (libpq's `tcp_user_timeout`,
    /// Linux only; default 60 s, zero for the system's default of about 15 minutes).
    pub fn tcp_user_timeout(mut self, timeout: Duration) -> Self {
        self.liveness.tcp_user_timeout = Some(timeout);
        self
    }

    /// The server's `statement_timeout` for this connection's queries, sent at startup so that the server enforces
    /// it (default: the server's own setting). It counts wall-clock time, including the time a slow consumer makes
    /// the server wait.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.liveness.statement_timeout = Some(timeout);
        self
    }

    /// How long a query may wait for the server's next bytes while the stream is being polled (default 5
    /// minutes; zero waits forever). Only time spent waiting for the server counts, never the time the consumer
    /// takes between rows. When it passes, the query fails with [`Error::ReadTimeout`] and is cancelled in the
    /// background within `cancel_timeout`.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.liveness.read_timeout = Some(timeout);
        self
    }

    /// The TLS policy (libpq's `sslmode`). Left unset, it is `prefer` without plaintext fallback off loopback:
    /// see [`SslMode`].
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self
    }

    /// The certificates that may sign the server's (libpq's `sslrootcert`; default `~/.postgresql/root.crt` if it
    /// exists). With a file present, even `sslmode=require` checks the chain, as in libpq.
    pub fn ssl_root_cert(mut self, roots: RootCert) -> Self {
        self.tls.root_cert = Some(roots);
        self
    }

    /// A client certificate and its private key, PEM files (libpq's `sslcert` and `sslkey`; PKCS#8, PKCS#1 and
    /// SEC1 keys). The key file must not be readable by group or others.
    pub fn ssl_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.cert = Some(cert.into());
        self.tls.key = Some(key.into());
        self
    }

    /// How TLS is started (libpq's `sslnegotiation`).
    pub fn ssl_negotiation(mut self, negotiation: SslNegotiation) -> Self {
        self.tls.negotiation = Some(negotiation);
        self
    }

    /// Whether to send the host name in the TLS handshake (SNI; libpq's `sslsni`, default on). Never sent for an
    /// IP address.
    pub fn ssl_sni(mut self, sni: bool) -> Self {
        self.tls.sni = Some(sni);
        self
    }

    /// The lowest and highest TLS versions allowed (libpq's `ssl_min_protocol_version` and
    /// `ssl_max_protocol_version`; default: 1.2 to 1.3).
    pub fn ssl_protocol_versions(mut self, min: Option<TlsVersion>, max: Option<TlsVersion>) -> Self {
        self.tls.min_version = min;
        self.tls.max_version = max;
        self
    }

    /// Whether SCRAM binds itself to the TLS channel (libpq's `channel_binding`, default `prefer`).
    pub fn channel_binding(mut self, binding: ChannelBinding) -> Self {
        self.tls.channel_binding = Some(binding);
        self
    }

    /// The authentication methods the server may use (libpq's `require_auth`): anything else it asks for is
    /// refused before a word of the password is sent, and `none` decides whether it may skip authentication.
    pub fn require_auth(mut self, methods: RequireAuth) -> Self {
        self.require_auth = Some(methods);
        self
    }

    /// The oldest and newest protocol versions to accept (libpq's `min_protocol_version` and
    /// `max_protocol_version`). The default, 3.0 to 3.0, works with every server and pooler; 3.2 (PostgreSQL 18)
    /// brings longer cancel keys, and a server that only speaks 3.0 is then used at 3.0 unless the minimum says 3.2.
    pub fn protocol_versions(mut self, min: Option<ProtocolVersion>, max: Option<ProtocolVersion>) -> Self {
        self.min_protocol = min;
        self.max_protocol = max;
        self
    }

    /// The kind of server to connect to when several hosts are given (libpq's `target_session_attrs`, default
    /// `any`): see [`TargetSessionAttrs`].
    pub fn target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.target_session_attrs = Some(attrs);
        self
    }

    /// Whether hosts are tried in the order given or in a random order (libpq's `load_balance_hosts`, default
    /// `disable`).
    pub fn load_balance_hosts(mut self, balance: LoadBalanceHosts) -> Self {
        self.load_balance_hosts = Some(balance);
        self
    }

    /// The password file to read instead of `~/.pgpass`.
    pub fn passfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.passfile = Some(path.into());
        self
    }

    /// The largest row accepted, in bytes (default 256 MiB). A larger row is [`Error::RowTooLarge`] and ends
    /// its query; the connection stays usable.
    pub fn max_row_bytes(mut self, limit: usize) -> Self {
        self.max_row_bytes = limit;
        self
    }

    /// How long a dropped stream may take to stop the server's work and drain the connection (default 5 s).
    /// Past it the connection is closed and a fresh one is opened on next use.
    pub fn cancel_timeout(mut self, timeout: Duration) -> Self {
        self.cancel_timeout = timeout;
        self
    }

    /// How many prepared statements each connection keeps, by SQL text (default 64; 0 turns the cache off).
    ///
    /// A query whose SQL text was seen before on the connection skips the server's parsing and planning: the
    /// statement prepared the first time is bound again. Past the capacity the least recently used statement is
    /// closed. Behind PgBouncer in transaction pooling (before 1.21), set 0: a statement prepared on one server
    /// connection is missing on the next, and each such query is then prepared twice (it still succeeds). Also
    /// `statement_cache_capacity` in the connection string.
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }

    /// The hosts set so far.
    pub fn get_hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The ports set so far.
    pub fn get_ports(&self) -> &[u16] {
        &self.ports
    }

    /// The user, if set.
    pub fn get_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The database name, if set.
    pub fn get_dbname(&self) -> Option<&str> {
        self.dbname.as_deref()
    }

    /// The application name, if set.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name.as_deref()
    }

    /// Whether a password is set (the password itself is never exposed).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Fills in what is missing from the process environment, the password file and libpq's defaults.
    pub(crate) fn resolve(&self) -> Result<Resolved, Error> {
        self.resolve_in(&Environment::from_process())
    }
}

impl FromStr for Config {
    type Err = Error;

    /// Parses libpq's URI form (`postgres://…`, `postgresql://…`) or its `key=value` form.
    fn from_str(s: &str) -> Result<Self, Error> {
        parse::parse(s)
    }
}

/// One place to connect to, after defaults are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The name (used for TLS, `.pgpass` and messages).
    pub(crate) host: Host,
    pub(crate) port: u16,
    /// libpq's `hostaddr`: the address to connect to instead of looking the name up.
    pub(crate) addr: Option<IpAddr>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Tcp(name) if name.contains(':') => write!(f, "[{name}]:{}", self.port),
            Host::Tcp(name) => write!(f, "{name}:{}", self.port),
            Host::Unix(dir) => write!(f, "{}/.s.PGSQL.{}", dir.display(), self.port),
        }
    }
}

/// A configuration with every default applied: what the connection layer uses.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub(crate) targets: Vec<Target>,
    pub(crate) user: String,
    pub(crate) password: Option<Secret>,
    pub(crate) dbname: String,
    pub(crate) application_name: String,
    pub(crate) options: Option<String>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) tls: TlsSettings,
    pub(crate) require_auth: Option<RequireAuth>,
    /// The oldest and newest protocol versions accepted.
    pub(crate) protocol: (ProtocolVersion, ProtocolVersion),
    pub(crate) liveness: Liveness,
    pub(crate) routing: Routing,
    pub(crate) max_row_bytes: usize,
    pub(crate) cancel_timeout: Duration,
    pub(crate) statement_cache_capacity: usize,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("targets", &self.targets)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("dbname", &self.dbname)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .field("tls", &self.tls)
            .field("require_auth", &self.require_auth)
            .field("protocol", &self.protocol)
            .field("liveness", &self.liveness)
            .field("routing", &self.routing)
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .finish()
    }
}
