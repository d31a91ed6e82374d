//! libpq's URI (`postgres://…`) and `key=value` connection strings.
//!
//! Both forms go through [`Parsed::set`], so a parameter means the same thing whether it comes from a
//! `key=value` pair or a URI query string. Parsing does no I/O: the environment, the password file and the
//! defaults are applied later, by [`Config::resolve_in`](super::Config::resolve_in).
//!
//! An empty value (`user=''`, `?user=`) leaves the parameter unset, so the environment and the defaults apply.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use super::{Config, Host};
use crate::error::Error;

/// PostgreSQL's default port.
pub(super) const DEFAULT_PORT: u16 = 5432;

const TLS_ADVICE: &str = "TLS is not implemented yet; remove this parameter and use sslmode=disable or prefer on a \
                          trusted network or a Unix socket";
const GSS_ADVICE: &str = "GSSAPI/Kerberos is not implemented; remove this parameter and use password, md5 or \
                          scram-sha-256 authentication for this role in pg_hba.conf";
const KEEPALIVE_ADVICE: &str = "TCP keepalive and user-timeout tuning is not implemented; remove this parameter (the \
                                operating system's defaults apply)";

/// libpq parameters that fraiseql-wire knows but does not implement, with what to do instead.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("sslcert", TLS_ADVICE),
    ("sslkey", TLS_ADVICE),
    ("sslpassword", TLS_ADVICE),
    ("sslcertmode", TLS_ADVICE),
    ("sslrootcert", TLS_ADVICE),
    ("sslcrl", TLS_ADVICE),
    ("sslcrldir", TLS_ADVICE),
    ("sslsni", TLS_ADVICE),
    ("sslcompression", TLS_ADVICE),
    ("sslnegotiation", TLS_ADVICE),
    ("sslkeylogfile", TLS_ADVICE),
    ("requiressl", TLS_ADVICE),
    ("ssl_min_protocol_version", TLS_ADVICE),
    ("ssl_max_protocol_version", TLS_ADVICE),
    ("keepalives_idle", KEEPALIVE_ADVICE),
    ("keepalives_interval", KEEPALIVE_ADVICE),
    ("keepalives_count", KEEPALIVE_ADVICE),
    ("tcp_user_timeout", KEEPALIVE_ADVICE),
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
    (
        "require_auth",
        "remove this parameter; fraiseql-wire authenticates with password, md5 or scram-sha-256, as the server asks",
    ),
    ("min_protocol_version", "fraiseql-wire speaks protocol 3.0; remove this parameter"),
    ("max_protocol_version", "fraiseql-wire speaks protocol 3.0; remove this parameter"),
    ("oauth_issuer", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
    ("oauth_client_id", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
    ("oauth_client_secret", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
    ("oauth_scope", "OAuth authentication is not implemented; use password, md5 or scram-sha-256"),
];

/// Parses a libpq connection string: the URI form if it starts with `postgresql://` or `postgres://`, else the
/// `key=value` form.
pub(super) fn parse(s: &str) -> Result<Config, Error> {
    let mut parsed = Parsed { config: Config::new(), hostaddrs: None };
    let trimmed = s.trim_matches(|c: char| c.is_ascii_whitespace());
    match trimmed.strip_prefix("postgresql://").or_else(|| trimmed.strip_prefix("postgres://")) {
        Some(rest) => parse_uri(rest, &mut parsed)?,
        None => parse_pairs(s, &mut parsed)?,
    }
    Ok(parsed.finish())
}

/// A configuration being parsed.
struct Parsed {
    config: Config,
    /// `hostaddr`, kept apart so that it wins over `host` whatever their order.
    hostaddrs: Option<Vec<Host>>,
}

impl Parsed {
    fn finish(mut self) -> Config {
        if let Some(addrs) = self.hostaddrs {
            self.config.hosts = addrs;
        }
        self.config
    }

    /// Applies one parameter; a later value replaces an earlier one, as in libpq.
    fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let config = &mut self.config;
        match key {
            "host" => config.hosts = parse_host_list(value, "host")?,
            "hostaddr" => {
                let addrs = parse_hostaddr_list(value, "hostaddr")?;
                self.hostaddrs = if addrs.is_empty() { None } else { Some(addrs) };
            }
            "port" => config.ports = parse_port_list(value, "port")?,
            "user" => config.user = non_empty(value),
            "password" => config.password = non_empty(value),
            "dbname" => config.dbname = non_empty(value),
            "application_name" => config.application_name = non_empty(value),
            "fallback_application_name" => config.fallback_application_name = non_empty(value),
            "options" => config.options = non_empty(value),
            "connect_timeout" => config.connect_timeout = parse_connect_timeout(value, "connect_timeout")?,
            "sslmode" => config.ssl_mode = if value.is_empty() { None } else { Some(value.parse()?) },
            "passfile" => config.passfile = non_empty(value).map(PathBuf::from),
            "client_encoding" => check_client_encoding(value)?,
            "target_session_attrs" => check_choice(
                key,
                value,
                &["any"],
                &["read-write", "read-only", "primary", "standby", "prefer-standby"],
                "fraiseql-wire connects to the first reachable host whatever its role; remove this parameter or use \
                 target_session_attrs=any",
            )?,
            "load_balance_hosts" => check_choice(
                key,
                value,
                &["disable"],
                &["random"],
                "hosts are tried in the order given; remove this parameter or use load_balance_hosts=disable",
            )?,
            "channel_binding" => check_choice(
                key,
                value,
                &["disable", "prefer"],
                &["require"],
                "SCRAM channel binding needs TLS, which is not implemented yet; use channel_binding=prefer or disable",
            )?,
            "gssencmode" => check_choice(
                key,
                value,
                &["disable", "prefer"],
                &["require"],
                "GSSAPI encryption is not implemented; use gssencmode=disable or prefer",
            )?,
            "keepalives" => check_keepalives(value)?,
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

fn non_empty(value: &str) -> Option<String> {
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
        Err(Error::config(format!("invalid {key} `{value}`: expected one of {}", all.join(", "))))
    }
}

fn check_keepalives(value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Ok(());
    }
    match value.trim().parse::<i64>() {
        Ok(0) => Err(Error::unsupported("keepalives=0", KEEPALIVE_ADVICE)),
        Ok(_) => Ok(()),
        Err(_) => Err(Error::config(format!("invalid keepalives `{value}`: expected 1 (on) or 0 (off)"))),
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
                return Err(Error::config(format!(
                    "empty entry in the {source} list `{value}`: name every host, separated by commas"
                )));
            }
            Ok(host_from_str(entry))
        })
        .collect()
}

fn host_from_str(entry: &str) -> Host {
    if entry.starts_with('/') {
        Host::Unix(PathBuf::from(entry))
    } else {
        // Tolerate a bracketed IPv6 literal, as written in URIs.
        let name = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
        Host::Tcp(name.to_owned())
    }
}

/// Parses a comma-separated `hostaddr` list (from a parameter or `PGHOSTADDR`): numeric IP addresses only.
pub(super) fn parse_hostaddr_list(value: &str, source: &str) -> Result<Vec<Host>, Error> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|entry| match entry.parse::<IpAddr>() {
            Ok(_) => Ok(Host::Tcp(entry.to_owned())),
            Err(_) => Err(Error::config(format!(
                "invalid {source} `{entry}`: expected a numeric IP address such as 192.0.2.10 or ::1 \
                 (put host names in `host`)"
            ))),
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

fn parse_port(value: &str, source: &str) -> Result<u16, Error> {
    match value.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(Error::config(format!("invalid port `{value}` in {source}: expected a number from 1 to 65535"))),
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
        Err(_) => Err(Error::config(format!(
            "invalid {source} `{value}`: expected a whole number of seconds (0 for no timeout)"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// key=value form
// ---------------------------------------------------------------------------------------------------------------

fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

fn parse_pairs(s: &str, parsed: &mut Parsed) -> Result<(), Error> {
    let mut rest = s;
    let mut previous_key: Option<String> = None;
    loop {
        rest = rest.trim_start_matches(is_space);
        if rest.is_empty() {
            return Ok(());
        }
        let key_end = rest.find(|c: char| c == '=' || is_space(c)).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start_matches(is_space);
        let Some(after_eq) = rest.strip_prefix('=') else {
            return Err(missing_equals(key, previous_key.as_deref()));
        };
        if key.is_empty() {
            return Err(Error::config("missing parameter name before `=` in the connection string"));
        }
        let (value, remaining) = read_value(after_eq.trim_start_matches(is_space), key)?;
        parsed.set(key, &value)?;
        previous_key = Some(key.to_owned());
        rest = remaining;
    }
}

fn missing_equals(token: &str, previous_key: Option<&str>) -> Error {
    if previous_key == Some("password") {
        // The stray token is most likely the rest of an unquoted password: do not echo it.
        Error::config(
            "missing `=` after the value of `password` in the connection string: quote values that contain \
             spaces, as in password='a b'",
        )
    } else {
        Error::config(format!(
            "missing `=` after `{token}` in the connection string: write key=value pairs, quoting values that \
             contain spaces, as in options='-c search_path=app'"
        ))
    }
}

/// Reads one value, quoted or not, returning it unescaped and what follows it.
fn read_value<'a>(s: &'a str, key: &str) -> Result<(String, &'a str), Error> {
    let mut value = String::new();
    if let Some(quoted) = s.strip_prefix('\'') {
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                '\'' => return Ok((value, &quoted[i + 1..])),
                _ => value.push(c),
            }
        }
        Err(Error::config(format!("unterminated quoted value for `{key}`: add the closing `'`")))
    } else {
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if is_space(c) => return Ok((value, &s[i..])),
                '\\' => value.push(chars.next().map_or('\\', |(_, escaped)| escaped)),
                _ => value.push(c),
            }
        }
        Ok((value, ""))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// URI form
// ---------------------------------------------------------------------------------------------------------------

/// Parses what follows `postgresql://`: `[user[:password]@][host[:port][,…]][/dbname][?param=value&…]`.
fn parse_uri(rest: &str, parsed: &mut Parsed) -> Result<(), Error> {
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (before_query, None),
    };
    let hostspec = match authority.rsplit_once('@') {
        Some((userinfo, hostspec)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            parsed.config.user = non_empty(&decode(user, "user name")?);
            if let Some(password) = password {
                parsed.config.password = non_empty(&decode(password, "password")?);
            }
            hostspec
        }
        None => authority,
    };
    parse_uri_hosts(hostspec, parsed)?;
    if let Some(path) = path {
        parsed.config.dbname = non_empty(&decode(path, "database name")?);
    }
    for pair in query.unwrap_or("").split('&').filter(|pair| !pair.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Error::config(format!(
                "missing `=` in URI query parameter `{pair}`: write ?key=value&key=value"
            )));
        };
        let key = decode(key, "parameter name")?;
        let value = decode(value, &format!("value of `{key}`"))?;
        if key == "ssl" {
            // JDBC's spelling, which libpq also accepts.
            match value.as_str() {
                "true" => parsed.set("sslmode", "require")?,
                _ => return Err(Error::config(format!("invalid ssl `{value}` in the URI: the only value is `true`"))),
            }
        } else {
            parsed.set(&key, &value)?;
        }
    }
    Ok(())
}

/// Parses the URI's `host[:port][,host[:port]…]`, with IPv6 literals in brackets.
fn parse_uri_hosts(spec: &str, parsed: &mut Parsed) -> Result<(), Error> {
    if spec.is_empty() {
        return Ok(());
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for entry in spec.split(',') {
        let (host, port, bracketed) = match entry.strip_prefix('[') {
            Some(inner) => {
                let Some((host, after)) = inner.split_once(']') else {
                    return Err(Error::config(format!("IPv6 address `{entry}` in the URI is missing its closing `]`")));
                };
                let port = if after.is_empty() {
                    None
                } else {
                    Some(after.strip_prefix(':').ok_or_else(|| {
                        Error::config(format!("unexpected `{after}` after `[{host}]` in the URI: expected `:port`"))
                    })?)
                };
                (host, port, true)
            }
            None => match entry.split_once(':') {
                Some((host, port)) => (host, Some(port), false),
                None => (entry, None, false),
            },
        };
        let host = decode(host, "host")?;
        let port = match port {
            Some(port) if !port.is_empty() => Some(parse_port(&decode(port, "port")?, "the URI")?),
            _ => None,
        };
        hosts.push((host, bracketed));
        ports.push(port);
    }

    if let [(host, _)] = hosts.as_slice() {
        if host.is_empty() {
            // `postgresql://:5433/db`: the default host, on a given port.
            parsed.config.hosts = Vec::new();
            parsed.config.ports = ports.into_iter().flatten().collect();
            return Ok(());
        }
    }
    if hosts.iter().any(|(host, _)| host.is_empty()) {
        return Err(Error::config(format!(
            "empty host in the URI's host list `{spec}`: name every host, separated by commas"
        )));
    }
    parsed.config.hosts = hosts
        .into_iter()
        .map(|(host, bracketed)| if bracketed { Host::Tcp(host) } else { host_from_str(&host) })
        .collect();
    parsed.config.ports = if ports.iter().any(Option::is_some) {
        ports.into_iter().map(|port| port.unwrap_or(DEFAULT_PORT)).collect()
    } else {
        Vec::new()
    };
    Ok(())
}

/// Percent-decodes one piece of a URI, refusing malformed escapes, `%00` and invalid UTF-8.
fn decode(raw: &str, what: &str) -> Result<String, Error> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let escape = bytes.get(i + 1..i + 3);
            let valid = escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err(Error::config(format!(
                    "invalid percent-encoding in the {what} of the URI: `%` must be followed by two hex digits \
                     (write a literal `%` as %25)"
                )));
            }
            if escape == Some(b"00") {
                return Err(Error::config(format!("the {what} of the URI contains %00, which is not allowed")));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| Error::config(format!("the {what} of the URI is not valid UTF-8 once percent-decoded")))
}

// ---------------------------------------------------------------------------------------------------------------
// Debug and Display
// ---------------------------------------------------------------------------------------------------------------

const REDACTED: &str = "<redacted>";

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("hosts", &self.hosts)
            .field("ports", &self.ports)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("dbname", &self.dbname)
            .field("application_name", &self.application_name)
            .field("fallback_application_name", &self.fallback_application_name)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field("passfile", &self.passfile)
            .field("max_row_bytes", &self.max_row_bytes)
            .field("cancel_timeout", &self.cancel_timeout)
            .finish()
    }
}

/// The `key=value` form, which parses back to the same settings except the password (shown as `<redacted>`) and
/// the settings that are not connection parameters (`max_row_bytes`, `cancel_timeout`).
impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.hosts.is_empty() {
            let hosts: Vec<String> = self.hosts.iter().map(Host::to_string).collect();
            pairs.push(("host", hosts.join(",")));
        }
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            pairs.push(("port", ports.join(",")));
        }
        let strings = [
            ("user", &self.user),
            ("dbname", &self.dbname),
            ("application_name", &self.application_name),
            ("fallback_application_name", &self.fallback_application_name),
            ("options", &self.options),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if self.password.is_some() {
            pairs.push(("password", REDACTED.to_owned()));
        }
        if let Some(timeout) = self.connect_timeout {
            let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
            pairs.push(("connect_timeout", secs.to_string()));
        }
        if let Some(mode) = self.ssl_mode {
            pairs.push(("sslmode", mode.as_str().to_owned()));
        }
        if let Some(passfile) = &self.passfile {
            pairs.push(("passfile", passfile.display().to_string()));
        }
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{key}=")?;
            write_value(f, value)?;
        }
        Ok(())
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    let needs_quotes = value.is_empty() || value.chars().any(|c| is_space(c) || c == '\'' || c == '\\');
    if !needs_quotes {
        return f.write_str(value);
    }
    f.write_str("'")?;
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SslMode;

    fn tcp(name: &str) -> Host {
        Host::Tcp(name.to_owned())
    }

    fn unix(dir: &str) -> Host {
        Host::Unix(PathBuf::from(dir))
    }

    fn config_err(s: &str) -> String {
        match parse(s) {
            Err(Error::Config { message }) => message,
            other => panic!("expected a config error for {s:?}, got {other:?}"),
        }
    }

    fn unsupported_feature(s: &str) -> String {
        match parse(s) {
            Err(Error::Unsupported { feature, .. }) => feature,
            other => panic!("expected an unsupported error for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn uri_with_everything() {
        let c = parse(
            "postgresql://app:s3cret@db.internal:5433/shop?application_name=api&connect_timeout=10\
             &sslmode=disable&options=-c%20search_path%3Dapp&passfile=/etc/pgpass&fallback_application_name=fb",
        )
        .unwrap();
        assert_eq!(c.hosts, vec![tcp("db.internal")]);
        assert_eq!(c.ports, vec![5433]);
        assert_eq!(c.user.as_deref(), Some("app"));
        assert_eq!(c.password.as_deref(), Some("s3cret"));
        assert_eq!(c.dbname.as_deref(), Some("shop"));
        assert_eq!(c.application_name.as_deref(), Some("api"));
        assert_eq!(c.fallback_application_name.as_deref(), Some("fb"));
        assert_eq!(c.options.as_deref(), Some("-c search_path=app"));
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(c.ssl_mode, Some(SslMode::Disable));
        assert_eq!(c.passfile, Some(PathBuf::from("/etc/pgpass")));
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
    fn uri_percent_decoding() {
        let c = parse("postgresql://us%40er:p%40ss%3Aw%2Fo%25rd@h%2Dost/my%20db?application_name=a%26b").unwrap();
        assert_eq!(c.user.as_deref(), Some("us@er"));
        assert_eq!(c.password.as_deref(), Some("p@ss:w/o%rd"));
        assert_eq!(c.hosts, vec![tcp("h-ost")]);
        assert_eq!(c.dbname.as_deref(), Some("my db"));
        assert_eq!(c.application_name.as_deref(), Some("a&b"));
        // `+` is not a space in libpq URIs.
        let c = parse("postgresql:///a+b").unwrap();
        assert_eq!(c.dbname.as_deref(), Some("a+b"));
        // Percent-encoded parameter names.
        let c = parse("postgresql:///db?%75ser=me").unwrap();
        assert_eq!(c.user.as_deref(), Some("me"));
        // Non-ASCII.
        let c = parse("postgresql:///caf%C3%A9").unwrap();
        assert_eq!(c.dbname.as_deref(), Some("café"));
    }

    #[test]
    fn uri_user_without_password_and_password_with_raw_at() {
        let c = parse("postgresql://me@host").unwrap();
        assert_eq!(c.user.as_deref(), Some("me"));
        assert_eq!(c.password, None);
        let c = parse("postgresql://me:a@b@host").unwrap();
        assert_eq!(c.password.as_deref(), Some("a@b"));
        assert_eq!(c.hosts, vec![tcp("host")]);
        let c = parse("postgresql://:pw@host").unwrap();
        assert_eq!(c.user, None);
        assert_eq!(c.password.as_deref(), Some("pw"));
    }

    #[test]
    fn uri_bad_percent_encoding() {
        assert!(config_err("postgresql://h/d%zzb").contains("database name"));
        assert!(config_err("postgresql://h/db%2").contains("percent-encoding"));
        assert!(config_err("postgresql://h/db%00").contains("%00"));
        assert!(config_err("postgresql://h/%FF").contains("UTF-8"));
        let msg = config_err("postgresql://u:sec%zzret@h/db");
        assert!(msg.contains("password") && !msg.contains("sec"), "{msg}");
    }

    #[test]
    fn uri_ipv6() {
        let c = parse("postgresql://[::1]:5433/db").unwrap();
        assert_eq!(c.hosts, vec![tcp("::1")]);
        assert_eq!(c.ports, vec![5433]);
        let c = parse("postgresql://[2001:db8::7]/db").unwrap();
        assert_eq!(c.hosts, vec![tcp("2001:db8::7")]);
        assert!(c.ports.is_empty());
        let c = parse("postgresql://[fe80::1%25eth0]:6000").unwrap();
        assert_eq!(c.hosts, vec![tcp("fe80::1%eth0")]);
        assert!(config_err("postgresql://[::1/db").contains("closing `]`"));
        assert!(config_err("postgresql://[::1]x/db").contains("expected `:port`"));
    }

    #[test]
    fn uri_unix_socket() {
        let c = parse("postgresql://%2Fvar%2Frun%2Fpostgresql/db").unwrap();
        assert_eq!(c.hosts, vec![unix("/var/run/postgresql")]);
        assert_eq!(c.dbname.as_deref(), Some("db"));

        let c = parse("postgresql:///db?host=/tmp").unwrap();
        assert_eq!(c.hosts, vec![unix("/tmp")]);
        assert_eq!(c.dbname.as_deref(), Some("db"));

        let c = parse("postgresql://%2Ftmp:5439/db").unwrap();
        assert_eq!(c.hosts, vec![unix("/tmp")]);
        assert_eq!(c.ports, vec![5439]);

        let c = parse("postgresql://user@/db?host=%2Frun%2Fpg&port=5440").unwrap();
        assert_eq!(c.hosts, vec![unix("/run/pg")]);
        assert_eq!(c.ports, vec![5440]);
        assert_eq!(c.user.as_deref(), Some("user"));
    }

    #[test]
    fn uri_query_overrides_authority() {
        let c = parse("postgresql://a@h1:1/d1?user=b&host=h2&port=2&dbname=d2").unwrap();
        assert_eq!(c.user.as_deref(), Some("b"));
        assert_eq!(c.hosts, vec![tcp("h2")]);
        assert_eq!(c.ports, vec![2]);
        assert_eq!(c.dbname.as_deref(), Some("d2"));
    }

    #[test]
    fn uri_multi_host() {
        let c = parse("postgresql://h1:5433,h2,[::1]:5435/db").unwrap();
        assert_eq!(c.hosts, vec![tcp("h1"), tcp("h2"), tcp("::1")]);
        assert_eq!(c.ports, vec![5433, 5432, 5435]);

        let c = parse("postgresql://h1,h2/db").unwrap();
        assert_eq!(c.hosts, vec![tcp("h1"), tcp("h2")]);
        assert!(c.ports.is_empty());

        let c = parse("postgresql://h1:,h2:6000").unwrap();
        assert_eq!(c.ports, vec![5432, 6000]);

        let c = parse("postgresql://:5433/db").unwrap();
        assert!(c.hosts.is_empty());
        assert_eq!(c.ports, vec![5433]);

        assert!(config_err("postgresql://h1,,h2/db").contains("empty host"));
    }

    #[test]
    fn uri_bad_port() {
        assert!(config_err("postgresql://h:abc/db").contains("`abc`"));
        assert!(config_err("postgresql://h:0/db").contains("1 to 65535"));
        assert!(config_err("postgresql://h:65536/db").contains("65536"));
        assert!(config_err("postgresql://h:-1/db").contains("-1"));
        assert!(config_err("postgresql:///db?port=x").contains("`x`"));
        assert_eq!(parse("postgresql://h:65535").unwrap().ports, vec![65535]);
        assert_eq!(parse("postgresql://h:1").unwrap().ports, vec![1]);
    }

    #[test]
    fn uri_query_errors() {
        assert!(config_err("postgresql:///db?sslmode").contains("`sslmode`"));
        match parse("postgresql:///db?frobnicate=1") {
            Err(Error::UnknownParameter { name }) => assert_eq!(name, "frobnicate"),
            other => panic!("{other:?}"),
        }
        assert_eq!(unsupported_feature("postgresql:///db?sslrootcert=/x"), "sslrootcert");
    }

    #[test]
    fn uri_ssl_true_means_require() {
        assert_eq!(parse("postgresql:///db?ssl=true").unwrap().ssl_mode, Some(SslMode::Require));
        assert!(config_err("postgresql:///db?ssl=1").contains("ssl"));
    }

    #[test]
    fn key_value_basic() {
        let c = parse("host=db port=5433 user=app password=pw dbname=shop application_name=api").unwrap();
        assert_eq!(c.hosts, vec![tcp("db")]);
        assert_eq!(c.ports, vec![5433]);
        assert_eq!(c.user.as_deref(), Some("app"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.dbname.as_deref(), Some("shop"));
        assert_eq!(c.application_name.as_deref(), Some("api"));

        assert!(parse("").unwrap() == Config::new());
        assert!(parse("   \t\n ").unwrap() == Config::new());
    }

    #[test]
    fn key_value_spaces_quotes_and_escapes() {
        let c = parse("  host = /run/postgresql\tuser= 'a b'  password ='it\\'s \\\\ \"x\"' dbname=d\\ b  ").unwrap();
        assert_eq!(c.hosts, vec![unix("/run/postgresql")]);
        assert_eq!(c.user.as_deref(), Some("a b"));
        assert_eq!(c.password.as_deref(), Some("it's \\ \"x\""));
        assert_eq!(c.dbname.as_deref(), Some("d b"));

        let c = parse("options='-c search_path=app,public -c statement_timeout=5s' dbname=''").unwrap();
        assert_eq!(c.options.as_deref(), Some("-c search_path=app,public -c statement_timeout=5s"));
        assert_eq!(c.dbname, None);

        // A value may contain `=`.
        let c = parse("options=-csearch_path=app").unwrap();
        assert_eq!(c.options.as_deref(), Some("-csearch_path=app"));
        // Later values win.
        let c = parse("user=a user=b").unwrap();
        assert_eq!(c.user.as_deref(), Some("b"));
    }

    #[test]
    fn key_value_lists() {
        let c = parse("host=h1,h2,/tmp port=1,,3").unwrap();
        assert_eq!(c.hosts, vec![tcp("h1"), tcp("h2"), unix("/tmp")]);
        assert_eq!(c.ports, vec![1, 5432, 3]);
        let c = parse("host=::1").unwrap();
        assert_eq!(c.hosts, vec![tcp("::1")]);
        let c = parse("host=[::1]").unwrap();
        assert_eq!(c.hosts, vec![tcp("::1")]);
        assert!(config_err("host=a,,b").contains("empty entry"));
    }

    #[test]
    fn key_value_malformed() {
        let msg = config_err("host=db user");
        assert!(msg.contains("missing `=`") && msg.contains("`user`"), "{msg}");
        let msg = config_err("password=two words");
        assert!(msg.contains("password") && !msg.contains("words"), "{msg}");
        assert!(config_err("=x").contains("parameter name"));
        let msg = config_err("user='unterminated");
        assert!(msg.contains("unterminated") && msg.contains("`user`"), "{msg}");
        assert!(config_err("user='ends with backslash\\").contains("unterminated"));
        assert!(config_err("port=70000").contains("70000"));
        assert!(config_err("port=0").contains("1 to 65535"));
        assert!(config_err("port=5432x").contains("5432x"));
        assert!(config_err("connect_timeout=soon").contains("connect_timeout"));
        assert!(config_err("sslmode=sometimes").contains("sslmode"));
        assert!(config_err("hostaddr=db.example.com").contains("numeric IP"));
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
            "sslcert",
            "sslkey",
            "sslpassword",
            "sslcertmode",
            "sslrootcert",
            "sslcrl",
            "sslcrldir",
            "sslsni",
            "sslcompression",
            "requiressl",
            "ssl_min_protocol_version",
            "ssl_max_protocol_version",
            "requirepeer",
            "krbsrvname",
            "gsslib",
            "gssdelegation",
            "service",
            "replication",
            "require_auth",
            "keepalives_idle",
            "keepalives_interval",
            "keepalives_count",
            "tcp_user_timeout",
        ] {
            assert_eq!(unsupported_feature(&format!("{name}=x")), name);
        }
        let err = parse("service=prod").unwrap_err();
        assert!(err.to_string().contains("pg_service.conf"), "{err}");

        assert_eq!(unsupported_feature("target_session_attrs=read-write"), "target_session_attrs=read-write");
        assert_eq!(unsupported_feature("load_balance_hosts=random"), "load_balance_hosts=random");
        assert_eq!(unsupported_feature("channel_binding=require"), "channel_binding=require");
        assert_eq!(unsupported_feature("gssencmode=require"), "gssencmode=require");
        assert_eq!(unsupported_feature("client_encoding=LATIN1"), "client_encoding=LATIN1");
        assert_eq!(unsupported_feature("keepalives=0"), "keepalives=0");

        assert!(config_err("target_session_attrs=whatever").contains("expected one of any"));
        assert!(config_err("keepalives=on").contains("keepalives"));
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
    fn hostaddr_wins_over_host() {
        let c = parse("hostaddr=192.0.2.1 host=db.example.com").unwrap();
        assert_eq!(c.hosts, vec![tcp("192.0.2.1")]);
        let c = parse("host=db.example.com hostaddr=192.0.2.1,::1").unwrap();
        assert_eq!(c.hosts, vec![tcp("192.0.2.1"), tcp("::1")]);
        let c = parse("postgresql://db.example.com/x?hostaddr=10.0.0.1").unwrap();
        assert_eq!(c.hosts, vec![tcp("10.0.0.1")]);
    }

    #[test]
    fn debug_and_display_redact_the_password() {
        let c = parse("postgresql://app:hunter2@db/shop").unwrap();
        let debug = format!("{c:?}");
        let display = c.to_string();
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!display.contains("hunter2"), "{display}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(display.contains("password=<redacted>"), "{display}");
        let alternate = format!("{c:#?}");
        assert!(!alternate.contains("hunter2"));

        let no_password = Config::new().user("u");
        assert!(!no_password.to_string().contains("password"));
        assert!(format!("{no_password:?}").contains("password: None"));
    }

    #[test]
    fn display_round_trips() {
        let c = Config::new()
            .host("db1")
            .host("/run/my sockets")
            .host("::1")
            .port(5433)
            .port(5434)
            .port(5435)
            .user("o'brien")
            .dbname("back\\slash db")
            .application_name("")
            .options("-c search_path=app")
            .connect_timeout(Duration::from_secs(7))
            .ssl_mode(SslMode::Allow)
            .passfile("/etc/pg pass");
        let mut with_empty_app = c.clone();
        with_empty_app.application_name = None; // an empty value parses back as unset
        let display = c.to_string();
        let reparsed = parse(&display).unwrap();
        assert!(reparsed == with_empty_app, "{display}\n{reparsed:?}");

        let uri = parse("postgresql://u@[::1]:6000,h2:6001/db?application_name=x&connect_timeout=0").unwrap();
        assert!(parse(&uri.to_string()).unwrap() == uri, "{uri}");

        assert_eq!(Config::new().to_string(), "");
        // The password comes back as the placeholder, never the secret.
        let reparsed = parse(&Config::new().password("pw").to_string()).unwrap();
        assert_eq!(reparsed.password.as_deref(), Some("<redacted>"));
    }
}
