//! libpq's URI form: `postgresql://[user[:password]@][host[:port][,…]][/dbname][?param=value&…]`.

use percent_encoding::percent_decode_str;

use super::parse::{DEFAULT_PORT, Parsed, host_from_str, non_empty, parse_port};
use super::{Host, Secret};
use crate::error::Error;

/// Parses what follows `postgresql://`: `[user[:password]@][host[:port][,…]][/dbname][?param=value&…]`.
pub(super) fn parse_uri(rest: &str, parsed: &mut Parsed) -> Result<(), Error> {
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
                parsed.config.password = non_empty(&decode(password, "password")?).map(Secret::from);
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
        let mut parts = pair.splitn(3, '=');
        let (key, value) = match (parts.next(), parts.next(), parts.next()) {
            (Some(key), Some(value), None) => (key, value),
            (Some(key), Some(_), Some(_)) => {
                return Err(Error::config(
                    format!("extra `=` in URI query parameter `{key}`"),
                    "write ?key=value&key=value, with a `=` inside a value percent-encoded as %3D",
                ));
            }
            _ => {
                return Err(Error::config(
                    format!("missing `=` in URI query parameter `{pair}`"),
                    "write ?key=value&key=value",
                ));
            }
        };
        let key = decode(key, "parameter name")?;
        let value = decode(value, &format!("value of `{key}`"))?;
        if key == "ssl" {
            // JDBC's spelling, which libpq also accepts.
            match value.as_str() {
                "true" => parsed.set("sslmode", "require")?,
                _ => {
                    return Err(Error::config(
                        format!("invalid ssl `{value}` in the URI"),
                        "the only value is `true` (JDBC's spelling of sslmode=require); or set sslmode",
                    ));
                }
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
    // libpq decodes the host list as one piece: spaces around it are dropped, spaces inside it are refused.
    let spec = without_outer_spaces(spec, "host list")?;
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for entry in spec.split(',') {
        let (host, port, bracketed) = match entry.strip_prefix('[') {
            Some(inner) => {
                let Some((host, after)) = inner.split_once(']') else {
                    return Err(Error::config_syntax(format!(
                        "IPv6 address `{entry}` in the URI is missing its closing `]`"
                    )));
                };
                if host.is_empty() {
                    // `postgres://[${HOST}]:5433/db` with an empty variable: refused rather than read as the
                    // default host, which would quietly connect somewhere else.
                    return Err(Error::config(
                        format!("empty IPv6 address `[]` in the URI's host list `{spec}`"),
                        "put an address between the brackets, or leave the host out (postgres://:5433/db) for the \
                         default",
                    ));
                }
                let port = if after.is_empty() {
                    None
                } else {
                    Some(after.strip_prefix(':').ok_or_else(|| {
                        Error::config_syntax(format!(
                            "unexpected `{after}` after `[{host}]` in the URI: expected `:port`"
                        ))
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
        if bracketed && host.contains('/') {
            // A bracketed `/tmp` would be a host name that prints back as a socket directory.
            return Err(Error::config(
                format!("`[{host}]` in the URI is not an IPv6 address"),
                "write an IPv6 address between brackets; a socket directory goes percent-encoded outside them \
                 (postgresql://%2Ftmp/db) or in ?host=/tmp",
            ));
        }
        if host.contains(',') {
            // Found by the connection_string fuzz target: libpq splits host lists at commas, so a decoded one
            // would name two hosts where the URI showed one.
            return Err(Error::config(
                format!("a host of the URI, `{host}`, contains a percent-encoded comma"),
                "separate hosts with a plain `,` (a host name or socket directory cannot contain one)",
            ));
        }
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
        return Err(Error::config(
            format!("empty host in the URI's host list `{spec}`"),
            "name every host, separated by commas",
        ));
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

/// Drops the spaces around one piece of a URI and refuses spaces inside it, as libpq does: an unencoded space
/// is most likely a value pasted unencoded, and the part after it would be lost or misread.
fn without_outer_spaces<'a>(raw: &'a str, what: &str) -> Result<&'a str, Error> {
    let trimmed = raw.trim_matches(' ');
    if trimmed.contains(' ') {
        return Err(Error::config(
            format!("unencoded spaces inside the {what} of the URI"),
            "percent-encode a space as %20 (and `%` as %25, `@` as %40, `/` as %2F, `:` as %3A)",
        ));
    }
    Ok(trimmed)
}

/// Percent-decodes one piece of a URI, refusing unencoded spaces inside it, malformed escapes, `%00` and invalid
/// UTF-8.
fn decode(raw: &str, what: &str) -> Result<String, Error> {
    let raw = without_outer_spaces(raw, what)?;
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let escape = bytes.get(i + 1..i + 3);
            let valid = escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err(Error::config(
                    format!("invalid percent-encoding in the {what} of the URI"),
                    "`%` must be followed by two hex digits: write a literal `%` as %25",
                ));
            }
            if escape == Some(b"00") {
                return Err(Error::config(
                    format!("the {what} of the URI contains %00"),
                    "remove it: libpq refuses a NUL character in any setting",
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_decode_str(raw).decode_utf8().map(|decoded| decoded.into_owned()).map_err(|_| {
        Error::config(
            format!("the {what} of the URI is not valid UTF-8 once percent-decoded"),
            "percent-encode the UTF-8 bytes of each character (é is %C3%A9)",
        )
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::super::parse::parse;
    use super::super::parse::test_helpers::{config_err, tcp, unix, unsupported_feature};
    use super::*;
    use crate::config::SslMode;

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
        // Found by the connection_string fuzz target.
        assert!(config_err("postgres://%2cexample").contains("comma"));
        assert!(config_err("postgresql://[%2Ftmp]/db").contains("not an IPv6 address"));
        assert!(config_err("postgres://%2Ftmp%2Ca/db").contains("comma"));
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
        assert_eq!(unsupported_feature("postgresql:///db?sslcrl=/x"), "sslcrl");
    }

    #[test]
    fn uri_ssl_true_means_require() {
        assert_eq!(parse("postgresql:///db?ssl=true").unwrap().ssl_mode, Some(SslMode::Require));
        assert!(config_err("postgresql:///db?ssl=1").contains("ssl"));
    }
}
