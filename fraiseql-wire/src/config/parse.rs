//! libpq's URI (`postgres://…`) and `key=value` connection strings.
//!
//! Both forms go through [`Parsed::set`], so a parameter means the same thing whether it comes from a
//! `key=value` pair or a URI query string. Parsing does no I/O: the environment, the password file and the
//! defaults are applied later, by [`Config::resolve_in`](super::Config::resolve_in).
//!
//! An empty value (`user=''`, `?user=`) leaves the parameter unset, so the environment and the defaults apply.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::pairs::parse_pairs;
use super::uri::parse_uri;
use super::{Config, Host, ProtocolVersion, Secret, SslMode};
use crate::error::Error;

/// PostgreSQL's default port.
pub(super) const DEFAULT_PORT: u16 = 5432;

const GSS_ADVICE: &str = "GSSAPI/Kerberos is not implemented; remove this parameter and use password, md5 or \
                          scram-sha-256 authentication for this role in pg_hba.conf";

/// libpq parameters that fraiseql-wire knows but does not implement, with what to do instead.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "sslpassword",
        "encrypted private keys are not implemented; decrypt the key into a file only its owner can read \
         (`openssl pkey -in key.enc -out key.pem`) and remove this parameter",
    ),
    (
        "sslcertmode",
        "the client certificate is sent whenever sslcert names one (libpq's sslcertmode=allow); remove this parameter",
    ),
    (
        "sslcrl",
        "certificate revocation lists are not implemented; remove this parameter and rotate away from a revoked \
         certificate on the server side",
    ),
    (
        "sslcrldir",
        "certificate revocation lists are not implemented; remove this parameter and rotate away from a revoked \
         certificate on the server side",
    ),
    ("sslkeylogfile", "writing TLS session keys to a file is not implemented; remove this parameter"),
    ("krbsrvname", GSS_ADVICE),
    ("gsslib", GSS_ADVICE),
    ("gssdelegation", GSS_ADVICE),
    (
        "requirepeer",
        "checking the server process's user is not implemented; remove this parameter (a socket directory only the \
         server can write to gives the same assurance)",
    ),
    ("service", "service files (pg_service.conf) are not read; spell out host, port, dbname and user instead"),
    ("replication", "replication connections are not supported; remove this parameter"),
    ("oauth_issuer", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
    ("oauth_client_id", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
    ("oauth_client_secret", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
    ("oauth_scope", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
];

/// Parses a libpq connection string: the URI form if it starts with `postgresql://` or `postgres://`, else the
/// `key=value` form.
pub(super) fn parse(s: &str) -> Result<Config, Error> {
    // libpq's strings end at a NUL, so one cannot mean anything there; refused rather than cut short.
    if s.contains('\0') {
        return Err(Error::config(
            "the connection string contains a NUL character",
            "remove it: no libpq setting can hold one",
        ));
    }
    let mut parsed = Parsed { config: Config::new() };
    let trimmed = s.trim_matches(|c: char| c.is_ascii_whitespace());
    match trimmed.strip_prefix("postgresql://").or_else(|| trimmed.strip_prefix("postgres://")) {
        Some(rest) => parse_uri(rest, &mut parsed)?,
        None => parse_pairs(s, &mut parsed)?,
    }
    Ok(parsed.config)
}

/// A configuration being parsed.
pub(super) struct Parsed {
    pub(super) config: Config,
}

impl Parsed {
    /// Applies one parameter; a later value replaces an earlier one, as in libpq.
    pub(super) fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let config = &mut self.config;
        match key {
            "host" => config.hosts = parse_host_list(value, "host")?,
            "hostaddr" => config.hostaddrs = parse_hostaddr_list(value, "hostaddr")?,
            "port" => config.ports = parse_port_list(value, "port")?,
            "user" => config.user = non_empty(value),
            "password" => config.password = non_empty(value).map(Secret::from),
            "dbname" => config.dbname = non_empty(value),
            "application_name" => config.application_name = non_empty(value),
            "fallback_application_name" => config.fallback_application_name = non_empty(value),
            "options" => config.options = non_empty(value),
            "connect_timeout" => config.connect_timeout = parse_connect_timeout(value, "connect_timeout")?,
            "sslmode" => config.ssl_mode = if value.is_empty() { None } else { Some(value.parse()?) },
            // libpq's predecessor of sslmode: 1 means require.
            "requiressl" => match value {
                "" => {}
                "1" => config.ssl_mode = Some(SslMode::Require),
                "0" => config.ssl_mode = Some(SslMode::Prefer),
                other => {
                    return Err(Error::config(
                        format!("invalid requiressl `{other}`"),
                        "use 1 (sslmode=require) or 0 (sslmode=prefer), or set sslmode instead",
                    ));
                }
            },
            "passfile" => config.passfile = non_empty(value).map(PathBuf::from),
            "min_protocol_version" => config.min_protocol = parse_protocol(value)?,
            "max_protocol_version" => config.max_protocol = parse_protocol(value)?,
            "require_auth" => config.require_auth = if value.is_empty() { None } else { Some(value.parse()?) },
            "client_encoding" => check_client_encoding(value)?,
            "target_session_attrs" => config.target_session_attrs = non_empty(value).map(|v| v.parse()).transpose()?,
            "load_balance_hosts" => config.load_balance_hosts = non_empty(value).map(|v| v.parse()).transpose()?,
            "gssencmode" => check_choice(
                key,
                value,
                &["disable", "prefer"],
                &["require"],
                "GSSAPI encryption is not implemented; use gssencmode=disable or prefer",
            )?,
            _ if config.tls.set(key, value)? => {}
            _ if config.liveness.set(key, value)? => {}
            "cancel_timeout" => {
                if let Some(timeout) = super::liveness::parse_seconds(value, key)? {
                    config.cancel_timeout = timeout;
                }
            }
            "statement_cache_capacity" => {
                config.statement_cache_capacity = value.trim().parse().map_err(|_| {
                    Error::config(
                        format!("invalid statement_cache_capacity `{value}`"),
                        "give a number of statements (0 turns the cache off)",
                    )
                })?;
            }
            _ => {
                if let Some((name, advice)) = UNSUPPORTED.iter().find(|(name, _)| *name == key) {
                    return Err(Error::unsupported(*name, *advice));
                }
                return Err(Error::UnknownParameter { name: key.to_owned() });
            }
        }
        Ok(())
    }
}

pub(super) fn parse_protocol(value: &str) -> Result<Option<ProtocolVersion>, Error> {
    if value.is_empty() { Ok(None) } else { value.parse().map(Some) }
}

pub(super) fn non_empty(value: &str) -> Option<String> {
    if value.is_empty() { None } else { Some(value.to_owned()) }
}

fn check_client_encoding(value: &str) -> Result<(), Error> {
    let normalized: String = value.chars().filter(|&c| c != '-' && c != '_').collect();
    if value.is_empty() || normalized.eq_ignore_ascii_case("utf8") {
        Ok(())
    } else {
        Err(Error::unsupported(
            format!("client_encoding={value}"),
            "fraiseql-wire always uses UTF8 on the wire; remove client_encoding or set it to UTF8",
        ))
    }
}

/// Checks a parameter whose value is an enumeration: `accepted` values are fine, `refused` ones are valid libpq
/// values that fraiseql-wire does not implement, anything else is a typo.
fn check_choice(key: &str, value: &str, accepted: &[&str], refused: &[&str], advice: &str) -> Result<(), Error> {
    if value.is_empty() || accepted.contains(&value) {
        Ok(())
    } else if refused.contains(&value) {
        Err(Error::unsupported(format!("{key}={value}"), advice))
    } else {
        let all: Vec<&str> = accepted.iter().chain(refused).copied().collect();
        Err(Error::config(format!("invalid {key} `{value}`"), format!("use one of {}", all.join(", "))))
    }
}

/// Parses a comma-separated `host` list (from a parameter or `PGHOST`); an entry starting with `/` is a Unix socket
/// directory. `source` names where the value came from, for error messages.
pub(super) fn parse_host_list(value: &str, source: &str) -> Result<Vec<Host>, Error> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|entry| {
            if entry.is_empty() {
                return Err(Error::config(
                    format!("empty entry in the {source} list `{value}`"),
                    "name every host, separated by commas",
                ));
            }
            if entry == "[]" {
                return Err(Error::config(
                    format!("empty IPv6 address `[]` in the {source} list `{value}`"),
                    "put an address between the brackets, or leave the host out for the default",
                ));
            }
            Ok(host_from_str(entry))
        })
        .collect()
}

pub(super) fn host_from_str(entry: &str) -> Host {
    if entry.starts_with('/') {
        Host::Unix(PathBuf::from(entry))
    } else {
        // Tolerate a bracketed IPv6 literal, as written in URIs.
        // Only around what looks like an IPv6 address, so that the name prints back as it reads (found by the
        // fuzz target: `[[::1]]`, `[/tmp]`).
        let name = entry
            .strip_prefix('[')
            .and_then(|e| e.strip_suffix(']'))
            .filter(|inner| inner.contains(':') && !inner.contains(['[', ']', '/']))
            .unwrap_or(entry);
        Host::Tcp(name.to_owned())
    }
}

/// Parses a comma-separated `hostaddr` list (from a parameter or `PGHOSTADDR`): numeric IP addresses only.
pub(super) fn parse_hostaddr_list(value: &str, source: &str) -> Result<Vec<IpAddr>, Error> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|entry| {
            entry.parse::<IpAddr>().map_err(|_| {
                Error::config(
                    format!("invalid {source} `{entry}`: not a numeric IP address"),
                    "give addresses such as 192.0.2.10 or ::1, and put host names in `host`",
                )
            })
        })
        .collect()
}

/// Parses a comma-separated `port` list (from a parameter or `PGPORT`); an empty entry means 5432.
pub(super) fn parse_port_list(value: &str, source: &str) -> Result<Vec<u16>, Error> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value.split(',').map(|entry| if entry.is_empty() { Ok(DEFAULT_PORT) } else { parse_port(entry, source) }).collect()
}

pub(super) fn parse_port(value: &str, source: &str) -> Result<u16, Error> {
    match value.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(Error::config(format!("invalid port `{value}` in {source}"), "give a number from 1 to 65535")),
    }
}

/// Parses `connect_timeout` (from a parameter or `PGCONNECT_TIMEOUT`), in whole seconds.
///
/// Zero or negative means no timeout, stored as `Some(Duration::ZERO)` so that it still overrides the
/// environment; an empty value leaves it unset.
pub(super) fn parse_connect_timeout(value: &str, source: &str) -> Result<Option<Duration>, Error> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.trim().parse::<i64>() {
        Ok(secs) => Ok(Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))),
        Err(_) => Err(Error::config(
            format!("invalid {source} `{value}`"),
            "give a whole number of seconds (0 for no timeout)",
        )),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// key=value form
// ---------------------------------------------------------------------------------------------------------------

#[cfg(test)]
pub(super) mod test_helpers {
    use std::path::PathBuf;

    use super::parse;
    use crate::config::Host;
    use crate::error::Error;

    pub(in crate::config) fn tcp(name: &str) -> Host {
        Host::Tcp(name.to_owned())
    }

    pub(in crate::config) fn unix(dir: &str) -> Host {
        Host::Unix(PathBuf::from(dir))
    }

    pub(in crate::config) fn unsupported_feature(s: &str) -> String {
        match parse(s) {
            Err(Error::Unsupported { feature, .. }) => feature,
            other => panic!("expected an unsupported error for {s:?}, got {other:?}"),
        }
    }

    pub(in crate::config) fn config_err(s: &str) -> String {
        match parse(s) {
            Err(e @ Error::Config { .. }) => e.to_string(),
            other => panic!("expected a config error for {s:?}, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::test_helpers::{config_err, tcp, unsupported_feature};
    use super::*;
    use crate::config::SslMode;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn connection_strings_never_panic(s in "\\PC{0,40}|(postgres(ql)?://)?[a-z%:@/\\[\\]?=&,. '\\\\0-9]{0,40}") {
            let _ = parse(&s);
        }
    }

    #[test]
    fn both_schemes_and_minimal_uris() {
        let c = parse("postgres://localhost").unwrap();
        assert_eq!(c.hosts, vec![tcp("localhost")]);
        assert!(c.ports.is_empty() && c.user.is_none() && c.dbname.is_none());

        for s in ["postgresql://", "postgres://", "postgresql:///", "postgresql://?"] {
            let c = parse(s).unwrap();
            assert!(c == Config::new(), "{s}");
        }
        let c = parse("postgresql://localhost/").unwrap();
        assert_eq!(c.dbname, None);
        let c = parse("  postgresql://h/db  ").unwrap();
        assert_eq!(c.dbname.as_deref(), Some("db"));
    }

    #[test]
    fn unknown_parameter_is_named() {
        match parse("host=h frobnicate=1") {
            Err(Error::UnknownParameter { name }) => assert_eq!(name, "frobnicate"),
            other => panic!("{other:?}"),
        }
        match parse("dbanme=x") {
            Err(e @ Error::UnknownParameter { .. }) => assert!(e.to_string().contains("`dbanme`")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unsupported_parameters() {
        for name in [
            "sslpassword",
            "sslcertmode",
            "sslcrl",
            "sslcrldir",
            "sslkeylogfile",
            "requirepeer",
            "krbsrvname",
            "gsslib",
            "gssdelegation",
            "service",
            "replication",
        ] {
            assert_eq!(unsupported_feature(&format!("{name}=x")), name);
        }
        let err = parse("service=prod").unwrap_err();
        assert!(err.to_string().contains("pg_service.conf"), "{err}");

        assert_eq!(unsupported_feature("gssencmode=require"), "gssencmode=require");
        assert_eq!(unsupported_feature("client_encoding=LATIN1"), "client_encoding=LATIN1");

        assert!(config_err("target_session_attrs=whatever").contains("use one of any"));
        assert!(config_err("load_balance_hosts=sometimes").contains("use one of disable, random"));
        assert!(config_err("statement_cache_capacity=many").contains("statement_cache_capacity"));
        assert_eq!(parse("statement_cache_capacity=0").unwrap().statement_cache_capacity, 0);
        // require_auth is implemented: it parses, and a bad value is a settings error that says what is wrong.
        assert!(parse("require_auth=scram-sha-256,md5").unwrap().require_auth.is_some());
        assert!(config_err("require_auth=x").contains("unknown method `x`"));
        assert!(config_err("keepalives=on").contains("keepalives"));
    }

    #[test]
    fn host_choice_parameters_are_stored() {
        use crate::config::{LoadBalanceHosts, TargetSessionAttrs};
        let c = parse("postgres://a:1,b:2/db?target_session_attrs=prefer-standby&load_balance_hosts=random").unwrap();
        assert_eq!(c.target_session_attrs, Some(TargetSessionAttrs::PreferStandby));
        assert_eq!(c.load_balance_hosts, Some(LoadBalanceHosts::Random));
        assert_eq!(c.hosts.len(), 2);
        assert_eq!(c.ports, [1, 2]);
        assert_eq!(parse(&c.to_string()).unwrap().target_session_attrs, c.target_session_attrs);
    }

    #[test]
    fn accepted_no_op_parameters() {
        parse(
            "target_session_attrs=any load_balance_hosts=disable channel_binding=prefer gssencmode=disable \
             keepalives=1 client_encoding=UTF8",
        )
        .unwrap();
        for enc in ["utf8", "UTF-8", "Utf8", "utf-8"] {
            parse(&format!("client_encoding={enc}")).unwrap();
        }
        parse("channel_binding=disable gssencmode=prefer").unwrap();
    }

    #[test]
    fn tls_parameters_are_stored() {
        use crate::config::{ChannelBinding, RootCert, SslNegotiation, TlsVersion};
        let c = parse(
            "sslrootcert=/r.crt sslcert=/c.crt sslkey=/c.key sslnegotiation=direct sslsni=0 channel_binding=require \
             ssl_min_protocol_version=TLSv1.3 sslcompression=0",
        )
        .unwrap();
        assert_eq!(c.tls.root_cert, Some(RootCert::File(PathBuf::from("/r.crt"))));
        assert_eq!(c.tls.cert, Some(PathBuf::from("/c.crt")));
        assert_eq!(c.tls.key, Some(PathBuf::from("/c.key")));
        assert_eq!(c.tls.negotiation, Some(SslNegotiation::Direct));
        assert_eq!(c.tls.sni, Some(false));
        assert_eq!(c.tls.channel_binding, Some(ChannelBinding::Require));
        assert_eq!(c.tls.min_version, Some(TlsVersion::Tls13));
        assert_eq!(parse("sslrootcert=system").unwrap().tls.root_cert, Some(RootCert::System));
        assert_eq!(parse("requiressl=1").unwrap().ssl_mode, Some(SslMode::Require));
        let uri = parse("postgresql://h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(uri.tls.root_cert, Some(RootCert::File(PathBuf::from("/etc/ca.pem"))));
    }

    #[test]
    fn sslmode_is_stored_not_refused() {
        for (s, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(parse(&format!("sslmode={s}")).unwrap().ssl_mode, Some(mode));
        }
    }

    #[test]
    fn connect_timeout_values() {
        assert_eq!(parse("connect_timeout=5").unwrap().connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(parse("connect_timeout=0").unwrap().connect_timeout, Some(Duration::ZERO));
        assert_eq!(parse("connect_timeout=-3").unwrap().connect_timeout, Some(Duration::ZERO));
        assert_eq!(parse("connect_timeout=''").unwrap().connect_timeout, None);
    }

    #[test]
    fn hostaddr_is_kept_beside_host() {
        let c = parse("hostaddr=192.0.2.1 host=db.example.com").unwrap();
        assert_eq!((c.hosts, c.hostaddrs), (vec![tcp("db.example.com")], vec!["192.0.2.1".parse::<IpAddr>().unwrap()]));
        let c = parse("postgresql://db.example.com/x?hostaddr=10.0.0.1").unwrap();
        assert_eq!(c.hostaddrs, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(parse(&c.to_string()).unwrap().hostaddrs, c.hostaddrs);
    }
}
