//! The process environment as libpq reads it: `PG*` variables, the OS user and the home directory.
//!
//! [`Environment`] captures everything resolution reads, so [`Config::resolve_in`] is testable without touching
//! the real process environment.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::liveness::{self, Liveness};
use super::os_user::passwd_entry;
use super::parse::parse_connect_timeout;
use super::{Config, RequireAuth, Resolved, Secret, TlsSettings, pgpass, protocol, routing, targets};
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
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLNEGOTIATION",
    "PGSSLSNI",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGCHANNELBINDING",
    "PGPASSFILE",
    "PGOPTIONS",
    "PGREQUIREAUTH",
    "PGMINPROTOCOLVERSION",
    "PGMAXPROTOCOLVERSION",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
];

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
    pub(super) socket_exists: SocketProbe,
    /// Whether a regular file exists (the default client certificate).
    file_exists: SocketProbe,
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
        Environment {
            vars,
            os_user,
            home,
            socket_exists: Arc::new(|path: &Path| path.exists()),
            file_exists: Arc::new(|path: &Path| path.is_file()),
        }
    }

    /// An environment with no variables, no OS user, no home directory and no sockets, for tests.
    #[cfg(test)]
    pub(crate) fn empty() -> Environment {
        Environment {
            vars: HashMap::new(),
            os_user: None,
            home: None,
            socket_exists: Arc::new(|_: &Path| false),
            file_exists: Arc::new(|_: &Path| false),
        }
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

    /// Fakes which regular files exist.
    #[cfg(test)]
    pub(crate) fn with_file_probe(mut self, probe: impl Fn(&Path) -> bool + Send + Sync + 'static) -> Environment {
        self.file_exists = Arc::new(probe);
        self
    }

    pub(super) fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub(super) fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    pub(super) fn file_exists(&self, path: &Path) -> bool {
        (self.file_exists)(path)
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
        let tls = TlsSettings::resolve(self.ssl_mode, &self.tls, env)?;

        let user = match self.user.as_deref().or(env.var("PGUSER")).or(env.os_user.as_deref()) {
            Some(user) => user.to_owned(),
            None => {
                return Err(Error::config(
                    "no user name: the operating system user could not be determined",
                    "set user in the connection string (postgres://USER@host/db or user=USER) or the PGUSER \
                     environment variable",
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
        let require_auth = match (&self.require_auth, env.var("PGREQUIREAUTH")) {
            (Some(methods), _) => Some(methods.clone()),
            (None, Some(value)) => Some(value.parse::<RequireAuth>().map_err(|e| e.in_variable("PGREQUIREAUTH"))?),
            (None, None) => None,
        };

        let protocol = protocol::resolve(self.min_protocol, self.max_protocol, env)?;

        let connect_timeout = liveness::connect_timeout(match (self.connect_timeout, env.var("PGCONNECT_TIMEOUT")) {
            (Some(timeout), _) => Some(timeout),
            (None, Some(value)) => parse_connect_timeout(value, "PGCONNECT_TIMEOUT")?,
            (None, None) => None,
        });

        let targets = targets::resolve(self, env)?;

        let password = match self.password.as_deref().or(env.var("PGPASSWORD")) {
            Some(password) => Some(Secret::from(password.to_owned())),
            None => {
                let passfile = self
                    .passfile
                    .clone()
                    .or_else(|| env.var("PGPASSFILE").map(PathBuf::from))
                    .or_else(|| env.home.as_ref().map(|home| home.join(".pgpass")));
                passfile.and_then(|path| pgpass::find_password(&path, &targets, &dbname, &user)).map(Secret::from)
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
            tls,
            require_auth,
            protocol,
            liveness: Liveness::resolve(&self.liveness),
            routing: routing::resolve(self.target_session_attrs, self.load_balance_hosts, env)?,
            max_row_bytes: self.max_row_bytes,
            cancel_timeout: self.cancel_timeout,
            statement_cache_capacity: self.statement_cache_capacity,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::pgpass::test_support::TempDir;
    use crate::config::{Host, SslMode, Target};

    fn env() -> Environment {
        Environment::empty().with_os_user("osuser")
    }

    fn resolve(config: &str, env: &Environment) -> Result<Resolved, Error> {
        config.parse::<Config>()?.resolve_in(env)
    }

    fn targets(resolved: &Resolved) -> Vec<String> {
        resolved.targets.iter().map(Target::to_string).collect()
    }

    #[test]
    fn defaults() {
        let r = resolve("", &env()).unwrap();
        assert_eq!(r.user, "osuser");
        assert_eq!(r.dbname, "osuser");
        assert_eq!(r.application_name, "fraiseql-wire");
        assert_eq!(r.password, None);
        assert_eq!(r.options, None);
        assert_eq!(r.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(r.tls.mode, SslMode::Prefer);
        assert_eq!(r.targets, vec![Target { host: Host::Tcp("localhost".to_owned()), port: 5432, addr: None }]);
        assert_eq!(r.max_row_bytes, crate::config::DEFAULT_MAX_ROW_BYTES);
        assert_eq!(r.cancel_timeout, Duration::from_secs(5));
    }

    #[test]
    fn no_user_anywhere_is_an_actionable_error() {
        match resolve("", &Environment::empty()) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGUSER"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(resolve("", &Environment::empty().with_var("PGUSER", "u")).unwrap().user, "u");
        assert_eq!(resolve("user=c", &Environment::empty()).unwrap().user, "c");
    }

    #[test]
    fn config_beats_env_beats_default() {
        let env = env()
            .with_var("PGHOST", "envhost")
            .with_var("PGPORT", "6000")
            .with_var("PGUSER", "envuser")
            .with_var("PGPASSWORD", "envpass")
            .with_var("PGDATABASE", "envdb")
            .with_var("PGAPPNAME", "envapp")
            .with_var("PGCONNECT_TIMEOUT", "9")
            .with_var("PGSSLMODE", "disable")
            .with_var("PGOPTIONS", "-c envopt=1");

        let from_env = resolve("", &env).unwrap();
        assert_eq!(targets(&from_env), ["envhost:6000"]);
        assert_eq!(from_env.user, "envuser");
        assert_eq!(from_env.password.as_deref(), Some("envpass"));
        assert_eq!(from_env.dbname, "envdb");
        assert_eq!(from_env.application_name, "envapp");
        assert_eq!(from_env.connect_timeout, Some(Duration::from_secs(9)));
        assert_eq!(from_env.tls.mode, SslMode::Disable);
        assert_eq!(from_env.options.as_deref(), Some("-c envopt=1"));

        let explicit = resolve(
            "host=cfghost port=7000 user=cfguser password=cfgpass dbname=cfgdb application_name=cfgapp \
             connect_timeout=3 sslmode=allow options='-c cfgopt=1'",
            &env,
        )
        .unwrap();
        assert_eq!(targets(&explicit), ["cfghost:7000"]);
        assert_eq!(explicit.user, "cfguser");
        assert_eq!(explicit.password.as_deref(), Some("cfgpass"));
        assert_eq!(explicit.dbname, "cfgdb");
        assert_eq!(explicit.application_name, "cfgapp");
        assert_eq!(explicit.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(explicit.tls.mode, SslMode::Allow);
        assert_eq!(explicit.options.as_deref(), Some("-c cfgopt=1"));
    }

    #[test]
    fn dbname_defaults_to_the_resolved_user() {
        assert_eq!(resolve("user=alice", &env()).unwrap().dbname, "alice");
        assert_eq!(resolve("", &env().with_var("PGUSER", "bob")).unwrap().dbname, "bob");
        assert_eq!(resolve("user=alice", &env().with_var("PGDATABASE", "db")).unwrap().dbname, "db");
    }

    #[test]
    fn application_name_order() {
        let with_app = env().with_var("PGAPPNAME", "envapp");
        assert_eq!(resolve("fallback_application_name=fb", &env()).unwrap().application_name, "fb");
        assert_eq!(resolve("fallback_application_name=fb", &with_app).unwrap().application_name, "envapp");
        assert_eq!(
            resolve("application_name=app fallback_application_name=fb", &with_app).unwrap().application_name,
            "app"
        );
    }

    #[test]
    fn hostaddr_pairs_with_host_as_in_libpq() {
        let env = env().with_var("PGHOST", "name").with_var("PGHOSTADDR", "192.0.2.1");
        let r = resolve("", &env).unwrap();
        assert_eq!(targets(&r), ["name:5432"]);
        assert_eq!(r.targets[0].addr, Some("192.0.2.1".parse().unwrap()));
        let alone = resolve("", &self::env().with_var("PGHOSTADDR", "192.0.2.1")).unwrap();
        assert_eq!(targets(&alone), ["192.0.2.1:5432"]);
        let r = resolve("host=a,b hostaddr=192.0.2.1,::1 port=1,2", &self::env()).unwrap();
        assert_eq!(targets(&r), ["a:1", "b:2"]);
        assert_eq!(r.targets[1].addr, Some("::1".parse().unwrap()));
        let error = resolve("host=a,b hostaddr=192.0.2.1", &self::env()).unwrap_err();
        assert!(error.to_string().contains("1 hostaddr entries for 2 hosts"), "{error}");
        let error = resolve("host=/run/pg hostaddr=192.0.2.1", &self::env()).unwrap_err();
        assert!(error.to_string().contains("socket directory"), "{error}");
        let bad = env.with_var("PGHOSTADDR", "not-an-ip");
        match resolve("", &bad) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGHOSTADDR"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn host_and_port_lists() {
        let r = resolve("host=a,b,/tmp port=1,2,3", &env()).unwrap();
        assert_eq!(targets(&r), ["a:1", "b:2", "/tmp/.s.PGSQL.3"]);
        let r = resolve("host=a,b port=6000", &env()).unwrap();
        assert_eq!(targets(&r), ["a:6000", "b:6000"]);
        let r = resolve("postgresql://[::1]:5433,h2/db", &env()).unwrap();
        assert_eq!(targets(&r), ["[::1]:5433", "h2:5432"]);
        let r = resolve("", &env().with_var("PGHOST", "x,/run/pg").with_var("PGPORT", "1,2")).unwrap();
        assert_eq!(targets(&r), ["x:1", "/run/pg/.s.PGSQL.2"]);
        // Config hosts, env ports.
        let r = resolve("host=a,b", &env().with_var("PGPORT", "1,2")).unwrap();
        assert_eq!(targets(&r), ["a:1", "b:2"]);

        for (config, env) in
            [("host=a,b,c port=1,2", env()), ("port=1,2", env()), ("host=a,b,c", env().with_var("PGPORT", "1,2"))]
        {
            match resolve(config, &env) {
                Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("one per host"), "{e}"),
                other => panic!("{config}: {other:?}"),
            }
        }
        match resolve("", &env().with_var("PGPORT", "x")) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGPORT"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn default_host_uses_existing_sockets() {
        let both = env().with_socket_probe(|path| {
            path == Path::new("/var/run/postgresql/.s.PGSQL.5432") || path == Path::new("/tmp/.s.PGSQL.5432")
        });
        assert_eq!(targets(&resolve("", &both).unwrap()), ["/var/run/postgresql/.s.PGSQL.5432"]);

        let tmp_only = env().with_socket_probe(|path| path.starts_with("/tmp"));
        assert_eq!(targets(&resolve("", &tmp_only).unwrap()), ["/tmp/.s.PGSQL.5432"]);

        // The probe looks for the socket of the configured port.
        let only_5433 = env().with_socket_probe(|path| path == Path::new("/var/run/postgresql/.s.PGSQL.5433"));
        assert_eq!(targets(&resolve("", &only_5433).unwrap()), ["localhost:5432"]);
        assert_eq!(targets(&resolve("port=5433", &only_5433).unwrap()), ["/var/run/postgresql/.s.PGSQL.5433"]);
        let env_port = only_5433.clone().with_var("PGPORT", "5433");
        assert_eq!(targets(&resolve("", &env_port).unwrap()), ["/var/run/postgresql/.s.PGSQL.5433"]);

        // An explicit host is used as given.
        assert_eq!(targets(&resolve("host=db", &both).unwrap()), ["db:5432"]);
        assert_eq!(targets(&resolve("postgresql:///x?host=/sock", &both).unwrap()), ["/sock/.s.PGSQL.5432"]);
    }

    #[test]
    fn tls_modes_resolve_from_settings_then_environment() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let r = resolve(&format!("sslmode={mode}"), &env()).unwrap();
            assert_eq!(r.tls.mode.as_str(), mode);
            assert!(r.tls.mode_explicit);
            let r = resolve("", &env().with_var("PGSSLMODE", mode)).unwrap();
            assert_eq!(r.tls.mode.as_str(), mode);
        }
        // The connection string beats the environment.
        let r = resolve("sslmode=disable", &env().with_var("PGSSLMODE", "verify-full")).unwrap();
        assert_eq!(r.tls.mode, SslMode::Disable);
        match resolve("", &env().with_var("PGSSLMODE", "bogus")) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGSSLMODE"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn require_auth_sources() {
        let scram_env = env().with_var("PGREQUIREAUTH", "scram-sha-256");
        let from_env = resolve("", &scram_env).unwrap().require_auth.map(|r| r.to_string());
        assert_eq!(from_env.as_deref(), Some("scram-sha-256"));
        let from_config = resolve("require_auth=!password", &scram_env).unwrap().require_auth.map(|r| r.to_string());
        assert_eq!(from_config.as_deref(), Some("!password"), "the connection string beats the environment");
        assert_eq!(resolve("", &env()).unwrap().require_auth, None);
        match resolve("", &env().with_var("PGREQUIREAUTH", "kerberos")) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGREQUIREAUTH"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_timeout_sources() {
        let env10 = env().with_var("PGCONNECT_TIMEOUT", "10");
        assert_eq!(resolve("", &env10).unwrap().connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(resolve("connect_timeout=0", &env10).unwrap().connect_timeout, None, "explicit 0 beats env");
        assert_eq!(resolve("", &env().with_var("PGCONNECT_TIMEOUT", "0")).unwrap().connect_timeout, None);
        assert_eq!(resolve("", &env().with_var("PGCONNECT_TIMEOUT", "-5")).unwrap().connect_timeout, None);
        // As libpq: anything shorter than 2 s is 2 s.
        let built = Config::new().connect_timeout(Duration::from_millis(1500)).resolve_in(&env10).unwrap();
        assert_eq!(built.connect_timeout, Some(Duration::from_secs(2)));
        match resolve("", &env().with_var("PGCONNECT_TIMEOUT", "soon")) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGCONNECT_TIMEOUT"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn builder_settings_copy_through() {
        let config = Config::new().max_row_bytes(1234).cancel_timeout(Duration::from_secs(1)).user("u");
        let r = config.resolve_in(&env()).unwrap();
        assert_eq!(r.max_row_bytes, 1234);
        assert_eq!(r.cancel_timeout, Duration::from_secs(1));
    }

    #[test]
    fn password_file_sources_and_precedence() {
        let dir = TempDir::new("env-pgpass");
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        dir.write("home/.pgpass", "*:*:*:*:from-home\n", 0o600);
        let env_file = dir.write("env-pgpass", "db:5432:*:app:from-pgpassfile\n", 0o600);
        let cfg_file = dir.write("cfg pgpass", "db:*:shop:app:from-passfile-param\n", 0o600);
        let wide_open = dir.write("open", "*:*:*:*:from-0644-file\n", 0o644);

        let base = env().with_home(&home);
        let uri = "postgresql://app@db/shop";

        // $HOME/.pgpass.
        assert_eq!(resolve(uri, &base).unwrap().password.as_deref(), Some("from-home"));
        // PGPASSFILE beats $HOME/.pgpass.
        let with_env_file = base.clone().with_var("PGPASSFILE", env_file.to_str().unwrap());
        assert_eq!(resolve(uri, &with_env_file).unwrap().password.as_deref(), Some("from-pgpassfile"));
        // passfile= beats PGPASSFILE.
        let with_param = format!("{uri}?passfile={}", cfg_file.to_str().unwrap().replace(' ', "%20"));
        assert_eq!(resolve(&with_param, &with_env_file).unwrap().password.as_deref(), Some("from-passfile-param"));
        // PGPASSWORD beats the file, the connection string beats PGPASSWORD.
        let with_pgpassword = with_env_file.clone().with_var("PGPASSWORD", "from-env");
        assert_eq!(resolve(uri, &with_pgpassword).unwrap().password.as_deref(), Some("from-env"));
        let explicit = "postgresql://app:explicit@db/shop";
        assert_eq!(resolve(explicit, &with_pgpassword).unwrap().password.as_deref(), Some("explicit"));
        // The lookup uses the resolved user, database and port.
        assert_eq!(resolve("postgresql://other@db/shop", &with_env_file).unwrap().password, None);
        assert_eq!(resolve("postgresql://app@db:5433/shop", &with_env_file).unwrap().password, None);
        // A file readable by others is ignored; a missing one is silently nothing.
        let open = base.clone().with_var("PGPASSFILE", wide_open.to_str().unwrap());
        assert_eq!(resolve(uri, &open).unwrap().password, None);
        let missing = base.clone().with_var("PGPASSFILE", dir.path().join("nope").to_str().unwrap());
        assert_eq!(resolve(uri, &missing).unwrap().password, None);
        // No home, no PGPASSFILE: no file at all.
        assert_eq!(resolve(uri, &env()).unwrap().password, None);
    }

    #[test]
    fn password_file_for_default_socket_and_later_targets() {
        let dir = TempDir::new("env-pgpass-hosts");
        let file = dir.write("pgpass", "localhost:5432:*:*:socket-pass\nsecond:5432:*:*:second-pass\n", 0o600);
        let sockets = env()
            .with_var("PGPASSFILE", file.to_str().unwrap())
            .with_socket_probe(|path| path.starts_with("/var/run/postgresql"));
        let r = resolve("", &sockets).unwrap();
        assert_eq!(targets(&r), ["/var/run/postgresql/.s.PGSQL.5432"]);
        assert_eq!(r.password.as_deref(), Some("socket-pass"));
        let r = resolve("host=first,second", &sockets).unwrap();
        assert_eq!(r.password.as_deref(), Some("second-pass"));
    }

    #[test]
    fn environment_debug_redacts_pgpassword() {
        let env = env().with_var("PGPASSWORD", "hunter2").with_var("PGUSER", "u");
        let debug = format!("{env:?}");
        assert!(!debug.contains("hunter2") && debug.contains("PGUSER"), "{debug}");
    }

    #[test]
    fn from_process_reads_the_real_environment() {
        let env = Environment::from_process();
        // The passwd entry or USER/LOGNAME normally names the user; either way nothing panics.
        if let Some(user) = &env.os_user {
            assert!(!user.is_empty());
        }
        assert!(env.vars.keys().all(|name| VARS.contains(&name.as_str())));
    }
}
