//! TLS and channel-binding settings, with libpq's names and meanings.
//!
//! Only what the settings say lives here; reading certificate files and the handshake belong to the connection
//! layer.

use std::path::PathBuf;
use std::str::FromStr;

use super::env::Environment;
use crate::error::Error;
pub use crate::protocol::channel_binding::ChannelBinding;

/// TLS policy, as libpq's `sslmode`.
///
/// When neither the settings nor `PGSSLMODE` name a mode, fraiseql-wire behaves as `prefer` with one difference:
/// it never falls back to plaintext towards a host that is not on the loopback interface (a Unix socket never
/// uses TLS, as in libpq). Say `sslmode=prefer` (or `allow`, or `disable`) to accept plaintext over the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Plaintext first; TLS only if the server rejects the plaintext connection.
    Allow,
    /// TLS if the server offers it, else plaintext (libpq's default).
    #[default]
    Prefer,
    /// TLS required. The certificate is not checked, unless a root certificate file is present, in which case the
    /// chain is checked as with `verify-ca`.
    Require,
    /// TLS required, certificate chain checked against `sslrootcert`.
    VerifyCa,
    /// TLS required, certificate chain and host name checked.
    VerifyFull,
}

impl SslMode {
    /// Whether this mode refuses a plaintext session.
    pub fn requires_tls(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }

    /// The libpq spelling of this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::config(
                    format!("invalid sslmode `{other}`"),
                    "use one of disable, allow, prefer, require, verify-ca, verify-full",
                ));
            }
        })
    }
}

/// How TLS is started, as libpq's `sslnegotiation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SslNegotiation {
    /// Ask first with PostgreSQL's SSLRequest, then start TLS if the server agrees (every server version).
    #[default]
    Postgres,
    /// Start the TLS handshake at once, with ALPN `postgresql` (PostgreSQL 17 and later); one round trip less.
    /// Only with `sslmode=require` or stronger: there is no fallback to plaintext.
    Direct,
}

impl FromStr for SslNegotiation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "postgres" => Ok(SslNegotiation::Postgres),
            "direct" => Ok(SslNegotiation::Direct),
            other => Err(Error::config(format!("invalid sslnegotiation `{other}`"), "use postgres or direct")),
        }
    }
}

/// A TLS protocol version, for `ssl_min_protocol_version` and `ssl_max_protocol_version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    fn parse(value: &str, key: &str) -> Result<TlsVersion, Error> {
        match value {
            "TLSv1.2" => Ok(TlsVersion::Tls12),
            "TLSv1.3" => Ok(TlsVersion::Tls13),
            "TLSv1" | "TLSv1.1" => Err(Error::unsupported(
                format!("{key}={value}"),
                "TLS 1.0 and 1.1 are obsolete and not implemented; use TLSv1.2 or TLSv1.3",
            )),
            other => Err(Error::config(format!("invalid {key} `{other}`"), "use TLSv1.2 or TLSv1.3")),
        }
    }
}

/// Where the certificates that may sign the server's certificate come from (`sslrootcert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// The operating system's trusted roots (`sslrootcert=system`); implies `sslmode=verify-full`.
    System,
}

impl RootCert {
    fn from_setting(value: &str) -> RootCert {
        if value == "system" { RootCert::System } else { RootCert::File(PathBuf::from(value)) }
    }
}

/// The TLS settings as given, before the environment and the defaults apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    pub(crate) root_cert: Option<RootCert>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) negotiation: Option<SslNegotiation>,
    pub(crate) sni: Option<bool>,
    pub(crate) channel_binding: Option<ChannelBinding>,
    pub(crate) min_version: Option<TlsVersion>,
    pub(crate) max_version: Option<TlsVersion>,
}

impl TlsOptions {
    /// Applies one TLS parameter of a connection string; `false` if `key` is not one.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<bool, Error> {
        let path = || if value.is_empty() { None } else { Some(PathBuf::from(value)) };
        match key {
            "sslrootcert" => self.root_cert = (!value.is_empty()).then(|| RootCert::from_setting(value)),
            "sslcert" => self.cert = path(),
            "sslkey" => self.key = path(),
            "sslnegotiation" => self.negotiation = parse_optional(value)?,
            "sslsni" => self.sni = parse_flag(value, key)?,
            "channel_binding" => self.channel_binding = parse_optional(value)?,
            "ssl_min_protocol_version" => self.min_version = parse_version(value, key)?,
            "ssl_max_protocol_version" => self.max_version = parse_version(value, key)?,
            // Compression is gone from every TLS library worth using; libpq ignores the setting too.
            "sslcompression" => {
                parse_flag(value, key)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn parse_optional<T: FromStr<Err = Error>>(value: &str) -> Result<Option<T>, Error> {
    if value.is_empty() { Ok(None) } else { value.parse().map(Some) }
}

fn parse_flag(value: &str, key: &str) -> Result<Option<bool>, Error> {
    match value {
        "" => Ok(None),
        "1" => Ok(Some(true)),
        "0" => Ok(Some(false)),
        other => Err(Error::config(format!("invalid {key} `{other}`"), "use 1 or 0")),
    }
}

fn parse_version(value: &str, key: &str) -> Result<Option<TlsVersion>, Error> {
    if value.is_empty() { Ok(None) } else { TlsVersion::parse(value, key).map(Some) }
}

/// A client certificate and its private key, both PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientCert {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// The TLS settings with the environment and the defaults applied: what the connection layer uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: SslMode,
    /// Whether the user chose the mode (settings or `PGSSLMODE`); if not, plaintext is refused off loopback.
    pub(crate) mode_explicit: bool,
    /// The root certificates; a file may not exist, which libpq's weaker modes accept.
    pub(crate) root_cert: Option<RootCert>,
    /// The client certificate, if configured (or present at the default path).
    pub(crate) client_cert: Option<ClientCert>,
    pub(crate) negotiation: SslNegotiation,
    pub(crate) sni: bool,
    pub(crate) channel_binding: ChannelBinding,
    pub(crate) min_version: Option<TlsVersion>,
    pub(crate) max_version: Option<TlsVersion>,
}

impl TlsSettings {
    /// Applies the `PG*` variables and libpq's defaults to `options` and checks that the result makes sense.
    pub(crate) fn resolve(mode: Option<SslMode>, options: &TlsOptions, env: &Environment) -> Result<Self, Error> {
        let from_env = |name: &str| env.var(name).filter(|v| !v.is_empty());
        let root_cert = options
            .root_cert
            .clone()
            .or_else(|| from_env("PGSSLROOTCERT").map(RootCert::from_setting))
            .or_else(|| env.home().map(|home| RootCert::File(home.join(".postgresql/root.crt"))));
        let env_mode = match from_env("PGSSLMODE") {
            Some(value) => Some(value.parse::<SslMode>().map_err(|e: Error| e.in_variable("PGSSLMODE"))?),
            None => None,
        };
        let chosen = mode.or(env_mode);
        let mode = match (chosen, &root_cert) {
            (Some(mode), _) => mode,
            // libpq: the system's roots only make sense with the host name checked, so they imply it.
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        };
        let negotiation = match (options.negotiation, from_env("PGSSLNEGOTIATION")) {
            (Some(n), _) => n,
            (None, Some(value)) => value.parse().map_err(|e: Error| e.in_variable("PGSSLNEGOTIATION"))?,
            (None, None) => SslNegotiation::Postgres,
        };
        let channel_binding = match (options.channel_binding, from_env("PGCHANNELBINDING")) {
            (Some(c), _) => c,
            (None, Some(value)) => value.parse().map_err(|e: Error| e.in_variable("PGCHANNELBINDING"))?,
            (None, None) => ChannelBinding::Prefer,
        };
        let sni = match (options.sni, from_env("PGSSLSNI")) {
            (Some(sni), _) => sni,
            (None, Some(value)) => parse_flag(value, "PGSSLSNI")?.unwrap_or(true),
            (None, None) => true,
        };
        let min_version = match (options.min_version, from_env("PGSSLMINPROTOCOLVERSION")) {
            (Some(v), _) => Some(v),
            (None, Some(value)) => parse_version(value, "PGSSLMINPROTOCOLVERSION")?,
            (None, None) => None,
        };
        let max_version = match (options.max_version, from_env("PGSSLMAXPROTOCOLVERSION")) {
            (Some(v), _) => Some(v),
            (None, Some(value)) => parse_version(value, "PGSSLMAXPROTOCOLVERSION")?,
            (None, None) => None,
        };
        let client_cert = match (options.cert.clone().or_else(|| from_env("PGSSLCERT").map(PathBuf::from)), env.home())
        {
            (Some(cert), _) => Some(cert),
            // The default file is used only if it is there, as in libpq.
            (None, Some(home)) => Some(home.join(".postgresql/postgresql.crt")).filter(|p| env.file_exists(p)),
            (None, None) => None,
        }
        .map(|cert| {
            let key = options
                .key
                .clone()
                .or_else(|| from_env("PGSSLKEY").map(PathBuf::from))
                .or_else(|| env.home().map(|home| home.join(".postgresql/postgresql.key")))
                .unwrap_or_else(|| cert.with_extension("key"));
            ClientCert { cert, key }
        });

        let settings = TlsSettings {
            mode,
            mode_explicit: chosen.is_some(),
            root_cert,
            client_cert,
            negotiation,
            sni,
            channel_binding,
            min_version,
            max_version,
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), Error> {
        if self.root_cert == Some(RootCert::System) && self.mode != SslMode::VerifyFull {
            return Err(Error::config(
                format!(
                    "sslrootcert=system trusts every certificate authority of the operating system, which is only \
                     safe with the host name checked, but sslmode is {}",
                    self.mode.as_str()
                ),
                "use sslmode=verify-full (or leave sslmode unset), or name the CA's file in sslrootcert",
            ));
        }
        if self.negotiation == SslNegotiation::Direct && !self.mode.requires_tls() {
            return Err(Error::config(
                format!(
                    "sslnegotiation=direct starts TLS without asking the server first, so it cannot fall back to \
                     plaintext, but sslmode is {}",
                    self.mode.as_str()
                ),
                "use sslmode=require, verify-ca or verify-full with it, or sslnegotiation=postgres",
            ));
        }
        if self.channel_binding == ChannelBinding::Require && self.mode == SslMode::Disable {
            return Err(Error::config(
                "channel_binding=require needs TLS, but sslmode is disable",
                "use sslmode=require or stronger, or channel_binding=prefer",
            ));
        }
        if let (Some(min), Some(max)) = (self.min_version, self.max_version) {
            if min > max {
                return Err(Error::config(
                    format!(
                        "ssl_min_protocol_version {} is above ssl_max_protocol_version {}",
                        min.as_str(),
                        max.as_str()
                    ),
                    "lower ssl_min_protocol_version or raise ssl_max_protocol_version (TLSv1.2, TLSv1.3)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(mode: Option<SslMode>, options: &TlsOptions, env: &Environment) -> Result<TlsSettings, Error> {
        TlsSettings::resolve(mode, options, env)
    }

    fn options(pairs: &[(&str, &str)]) -> TlsOptions {
        let mut options = TlsOptions::default();
        for (key, value) in pairs {
            assert!(options.set(key, value).unwrap(), "{key}");
        }
        options
    }

    #[test]
    fn defaults_are_prefer_without_a_choice() {
        let s = resolve(None, &TlsOptions::default(), &Environment::empty()).unwrap();
        assert_eq!((s.mode, s.mode_explicit), (SslMode::Prefer, false));
        assert_eq!(s.channel_binding, ChannelBinding::Prefer);
        assert_eq!(s.negotiation, SslNegotiation::Postgres);
        assert!(s.sni);
        assert_eq!(s.root_cert, None);
        let s = resolve(Some(SslMode::Prefer), &TlsOptions::default(), &Environment::empty()).unwrap();
        assert!(s.mode_explicit);
        let s = resolve(None, &TlsOptions::default(), &Environment::empty().with_var("PGSSLMODE", "prefer")).unwrap();
        assert!(s.mode_explicit, "PGSSLMODE is a choice too");
    }

    #[test]
    fn home_gives_the_default_files() {
        let env = Environment::empty().with_home("/home/u");
        let s = resolve(None, &TlsOptions::default(), &env).unwrap();
        assert_eq!(s.root_cert, Some(RootCert::File(PathBuf::from("/home/u/.postgresql/root.crt"))));
        assert_eq!(s.client_cert, None, "the default client certificate only when it exists");
        let with_file = env.with_file_probe(|p| p.ends_with(".postgresql/postgresql.crt"));
        let s = resolve(None, &TlsOptions::default(), &with_file).unwrap();
        assert_eq!(
            s.client_cert,
            Some(ClientCert {
                cert: PathBuf::from("/home/u/.postgresql/postgresql.crt"),
                key: PathBuf::from("/home/u/.postgresql/postgresql.key"),
            })
        );
    }

    #[test]
    fn settings_beat_the_environment() {
        let env = Environment::empty()
            .with_var("PGSSLROOTCERT", "/env/root.crt")
            .with_var("PGSSLCERT", "/env/c.crt")
            .with_var("PGSSLKEY", "/env/c.key")
            .with_var("PGSSLNEGOTIATION", "direct")
            .with_var("PGSSLMODE", "require")
            .with_var("PGCHANNELBINDING", "require")
            .with_var("PGSSLSNI", "0");
        let s = resolve(None, &TlsOptions::default(), &env).unwrap();
        assert_eq!(s.mode, SslMode::Require);
        assert_eq!(s.root_cert, Some(RootCert::File(PathBuf::from("/env/root.crt"))));
        assert_eq!(s.client_cert.as_ref().map(|c| c.key.clone()), Some(PathBuf::from("/env/c.key")));
        assert_eq!(s.negotiation, SslNegotiation::Direct);
        assert_eq!(s.channel_binding, ChannelBinding::Require);
        assert!(!s.sni);

        let given = options(&[
            ("sslrootcert", "/cfg/root.crt"),
            ("sslcert", "/cfg/c.crt"),
            ("sslkey", "/cfg/c.key"),
            ("sslnegotiation", "postgres"),
            ("channel_binding", "disable"),
            ("sslsni", "1"),
        ]);
        let s = resolve(Some(SslMode::VerifyCa), &given, &env).unwrap();
        assert_eq!(s.mode, SslMode::VerifyCa);
        assert_eq!(s.root_cert, Some(RootCert::File(PathBuf::from("/cfg/root.crt"))));
        assert_eq!(
            s.client_cert,
            Some(ClientCert { cert: PathBuf::from("/cfg/c.crt"), key: PathBuf::from("/cfg/c.key") })
        );
        assert_eq!(
            (s.negotiation, s.channel_binding, s.sni),
            (SslNegotiation::Postgres, ChannelBinding::Disable, true)
        );
    }

    #[test]
    fn system_roots_imply_verify_full_and_refuse_weaker_modes() {
        let system = options(&[("sslrootcert", "system")]);
        assert_eq!(resolve(None, &system, &Environment::empty()).unwrap().mode, SslMode::VerifyFull);
        for weak in [SslMode::Disable, SslMode::Allow, SslMode::Prefer, SslMode::Require, SslMode::VerifyCa] {
            match resolve(Some(weak), &system, &Environment::empty()) {
                Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("verify-full"), "{e}"),
                other => panic!("{weak:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn direct_negotiation_needs_a_mode_without_fallback() {
        let direct = options(&[("sslnegotiation", "direct")]);
        for weak in [None, Some(SslMode::Disable), Some(SslMode::Allow), Some(SslMode::Prefer)] {
            match resolve(weak, &direct, &Environment::empty()) {
                Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("sslnegotiation=direct"), "{e}"),
                other => panic!("{weak:?}: {other:?}"),
            }
        }
        for strong in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            assert!(resolve(Some(strong), &direct, &Environment::empty()).is_ok());
        }
    }

    #[test]
    fn channel_binding_require_refuses_disable() {
        let require = options(&[("channel_binding", "require")]);
        assert!(resolve(Some(SslMode::Disable), &require, &Environment::empty()).is_err());
        assert!(resolve(Some(SslMode::Prefer), &require, &Environment::empty()).is_ok());
    }

    #[test]
    fn bad_values_are_named() {
        let mut o = TlsOptions::default();
        for (key, value) in [
            ("sslnegotiation", "fast"),
            ("channel_binding", "maybe"),
            ("sslsni", "yes"),
            ("ssl_min_protocol_version", "TLSv9"),
        ] {
            match o.set(key, value) {
                Err(e @ Error::Config { .. }) => assert!(e.to_string().contains(key), "{e}"),
                other => panic!("{key}: {other:?}"),
            }
        }
        assert!(matches!(o.set("ssl_max_protocol_version", "TLSv1.1"), Err(Error::Unsupported { .. })));
        let swapped = options(&[("ssl_min_protocol_version", "TLSv1.3"), ("ssl_max_protocol_version", "TLSv1.2")]);
        assert!(resolve(None, &swapped, &Environment::empty()).is_err());
        match resolve(None, &TlsOptions::default(), &Environment::empty().with_var("PGSSLNEGOTIATION", "x")) {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("PGSSLNEGOTIATION"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
