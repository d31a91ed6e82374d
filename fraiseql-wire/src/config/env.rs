//! The process environment as libpq reads it: `PG*` variables, the OS user and the home directory.
//!
//! [`Environment`] captures everything resolution reads, so [`Config::resolve_in`] is testable without touching
//! the real process environment.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parse::{DEFAULT_PORT, parse_connect_timeout, parse_host_list, parse_hostaddr_list, parse_port_list};
use super::{Config, Host, Resolved, SslMode, Target, pgpass};
use crate::error::Error;

/// The environment variables resolution reads.
const VARS: &[&str] = &[
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
];

/// Where the server's Unix socket is looked for when no host is given, in order.
const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// The host used when no socket is found in [`DEFAULT_SOCKET_DIRS`].
const DEFAULT_TCP_HOST: &str = "localhost";

/// `application_name` when none is configured.
const DEFAULT_APPLICATION_NAME: &str = "fraiseql-wire";

/// Tells whether a socket file (a full path such as `/tmp/.s.PGSQL.5432`) exists.
type SocketProbe = Arc<dyn Fn(&Path) -> bool + Send + Sync>;

/// What connection resolution reads from the process: `PG*` variables, the OS user, the home directory and
/// which Unix sockets exist.
#[derive(Clone)]
pub(crate) struct Environment {
    /// The `PG*` variables that are set and not empty.
    vars: HashMap<String, String>,
    /// The operating system user, the default role name.
    os_user: Option<String>,
    /// The home directory, where `.pgpass` lives.
    home: Option<PathBuf>,
    /// Whether a socket file exists.
    socket_exists: SocketProbe,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(name, value)| (name.as_str(), if name == "PGPASSWORD" { "<redacted>" } else { value.as_str() }))
            .collect();
        vars.sort_unstable();
        f.debug_struct("Environment")
            .field("vars", &vars)
            .field("os_user", &self.os_user)
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// Reads the real process environment.
    pub(crate) fn from_process() -> Environment {
        let vars = VARS
            .iter()
            .filter_map(|&name| {
                let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
                Some((name.to_owned(), value))
            })
            .collect();
        let passwd = passwd_entry();
        let os_user = passwd
            .as_ref()
            .and_then(|p| p.name.clone())
            .or_else(|| non_empty_var("USER"))
            .or_else(|| non_empty_var("LOGNAME"));
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
            .or_else(|| passwd.and_then(|p| p.home));
        Environment { vars, os_user, home, socket_exists: Arc::new(|path: &Path| path.exists()) }
    }

    /// An environment with no variables, no OS user, no home directory and no sockets, for tests.
    #[cfg(test)]
    pub(crate) fn empty() -> Environment {
        Environment { vars: HashMap::new(), os_user: None, home: None, socket_exists: Arc::new(|_: &Path| false) }
    }

    /// Sets an environment variable (an empty value is as if unset, as for the real environment).
    #[cfg(test)]
    pub(crate) fn with_var(mut self, name: &str, value: &str) -> Environment {
        if value.is_empty() {
            self.vars.remove(name);
        } else {
            self.vars.insert(name.to_owned(), value.to_owned());
        }
        self
    }

    /// Sets the operating system user.
    #[cfg(test)]
    pub(crate) fn with_os_user(mut self, user: &str) -> Environment {
        self.os_user = Some(user.to_owned());
        self
    }

    /// Sets the home directory.
    #[cfg(test)]
    pub(crate) fn with_home(mut self, home: impl Into<PathBuf>) -> Environment {
        self.home = Some(home.into());
        self
    }

    /// Fakes which socket files exist: `probe` receives full socket paths such as `/tmp/.s.PGSQL.5432`.
    #[cfg(test)]
    pub(crate) fn with_socket_probe(mut self, probe: impl Fn(&Path) -> bool + Send + Sync + 'static) -> Environment {
        self.socket_exists = Arc::new(probe);
        self
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Fills in what this configuration leaves unset from `env`, the password file and libpq's defaults.
    ///
    /// Precedence: the configuration, then the environment variable, then (password only) the password file,
    /// then the default.
    pub(crate) fn resolve_in(&self, env: &Environment) -> Result<Resolved, Error> {
        let ssl_mode = match (self.ssl_mode, env.var("PGSSLMODE")) {
            (Some(mode), _) => mode,
            (None, Some(value)) => value
                .parse::<SslMode>()
                .map_err(|e| Error::config(format!("in the PGSSLMODE environment variable: {e}")))?,
            (None, None) => SslMode::default(),
        };
        if matches!(ssl_mode, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull) {
            return Err(Error::unsupported(
                format!("sslmode={}", ssl_mode.as_str()),
                "TLS is not implemented yet; use sslmode=disable or prefer on a trusted network or a Unix socket",
            ));
        }

        let user = match self.user.as_deref().or(env.var("PGUSER")).or(env.os_user.as_deref()) {
            Some(user) => user.to_owned(),
            None => {
                return Err(Error::config(
                    "no user name: the operating system user could not be determined; set user in the connection \
                     string (postgres://USER@host/db or user=USER) or the PGUSER environment variable",
                ));
            }
        };
        let dbname = self.dbname.as_deref().or(env.var("PGDATABASE")).unwrap_or(&user).to_owned();
        let application_name = self
            .application_name
            .as_deref()
            .or(env.var("PGAPPNAME"))
            .or(self.fallback_application_name.as_deref())
            .unwrap_or(DEFAULT_APPLICATION_NAME)
            .to_owned();
        let options = self.options.clone().or_else(|| env.var("PGOPTIONS").map(str::to_owned));

        let connect_timeout = match (self.connect_timeout, env.var("PGCONNECT_TIMEOUT")) {
            (Some(timeout), _) => Some(timeout),
            (None, Some(value)) => parse_connect_timeout(value, "PGCONNECT_TIMEOUT")?,
            (None, None) => None,
        }
        .filter(|timeout| !timeout.is_zero());

        let targets = self.targets(env)?;

        let password = match self.password.as_deref().or(env.var("PGPASSWORD")) {
            Some(password) => Some(password.to_owned()),
            None => {
                let passfile = self
                    .passfile
                    .clone()
                    .or_else(|| env.var("PGPASSFILE").map(PathBuf::from))
                    .or_else(|| env.home.as_ref().map(|home| home.join(".pgpass")));
                passfile.and_then(|path| pgpass::find_password(&path, &targets, &dbname, &user))
            }
        };

        Ok(Resolved {
            targets,
            user,
            password,
            dbname,
            application_name,
            options,
            connect_timeout,
            ssl_mode,
            max_row_bytes: self.max_row_bytes,
            cancel_timeout: self.cancel_timeout,
        })
    }

    /// The hosts and ports to try, in order.
    fn targets(&self, env: &Environment) -> Result<Vec<Target>, Error> {
        let ports = match (self.ports.is_empty(), env.var("PGPORT")) {
            (false, _) => self.ports.clone(),
            (true, Some(value)) => parse_port_list(value, "PGPORT")?,
            (true, None) => Vec::new(),
        };
        let mut hosts = self.hosts.clone();
        if hosts.is_empty() {
            if let Some(value) = env.var("PGHOSTADDR") {
                hosts = parse_hostaddr_list(value, "PGHOSTADDR")?;
            } else if let Some(value) = env.var("PGHOST") {
                hosts = parse_host_list(value, "PGHOST")?;
            }
        }
        if hosts.is_empty() {
            let port = ports.first().copied().unwrap_or(DEFAULT_PORT);
            hosts.push(default_host(env, port));
        }
        match ports.as_slice() {
            [] | [_] => {
                let port = ports.first().copied().unwrap_or(DEFAULT_PORT);
                Ok(hosts.into_iter().map(|host| Target { host, port }).collect())
            }
            _ if ports.len() == hosts.len() => {
                Ok(hosts.into_iter().zip(ports).map(|(host, port)| Target { host, port }).collect())
            }
            _ => Err(Error::config(format!(
                "{} ports for {} hosts: give one port for all hosts or one per host, in the same order",
                ports.len(),
                hosts.len()
            ))),
        }
    }
}

/// The default socket directory whose `.s.PGSQL.<port>` exists, else TCP `localhost`.
fn default_host(env: &Environment, port: u16) -> Host {
    DEFAULT_SOCKET_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| (env.socket_exists)(&dir.join(format!(".s.PGSQL.{port}"))))
        .map_or_else(|| Host::Tcp(DEFAULT_TCP_HOST.to_owned()), Host::Unix)
}

/// The parts of the current user's passwd entry that resolution uses.
struct PasswdEntry {
    name: Option<String>,
    home: Option<PathBuf>,
}

/// The passwd entry of the effective user, if the system has one.
#[cfg(unix)]
fn passwd_entry() -> Option<PasswdEntry> {
    use std::ffi::OsString;
    use std::mem::MaybeUninit;
    use std::os::unix::ffi::OsStringExt;

    const MAX_BUFFER: usize = 1 << 20;

    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        let mut pwd = MaybeUninit::<libc::passwd>::uninit();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `pwd` and `result` are valid for writes and `buf` is valid for `buf.len()` bytes; on success
        // getpwuid_r fills `pwd`, with its strings stored inside `buf`, and points `result` at it.
        let rc = unsafe { libc::getpwuid_r(uid, pwd.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < MAX_BUFFER {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded and found an entry, so `pwd` is initialised; its `pw_name` and `pw_dir`
        // are null or NUL-terminated strings inside `buf`, which is alive and unchanged during these reads.
        let (name, home) = unsafe {
            let pwd = pwd.assume_init_ref();
            (c_string_bytes(pwd.pw_name), c_string_bytes(pwd.pw_dir))
        };
        return Some(PasswdEntry {
            name: name.and_then(|name| String::from_utf8(name).ok()).filter(|name| !name.is_empty()),
            home: home.filter(|home| !home.is_empty()).map(|home| PathBuf::from(OsString::from_vec(home))),
        });
    }
}

/// Copies a C string.
///
/// # Safety
///
/// `ptr` must be null or point to a NUL-terminated string that stays valid during the call.
#[cfg(unix)]
unsafe fn c_string_bytes(ptr: *const libc::c_char) -> Option<Vec<u8>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` is non-null and, per this function's contract, a valid NUL-terminated string.
    Some(unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes().to_vec())
}

#[cfg(not(unix))]
fn passwd_entry() -> Option<PasswdEntry> {
    None
}
