//! Formatting of libpq URIs and key=value connection strings.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::AuthUser;

/// Where a cluster listens.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) socket_dir: PathBuf,
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Quotes a value for a libpq key=value string when needed.
fn kv_value(s: &str) -> String {
    if !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn kv(host: &str, port: u16, user: AuthUser, dbname: &str) -> String {
    let mut out = format!("host={} port={port} user={}", kv_value(host), kv_value(user.name()));
    if let Some(password) = user.password() {
        let _ = write!(out, " password={}", kv_value(password));
    }
    let _ = write!(out, " dbname={}", kv_value(dbname));
    out
}

impl Endpoint {
    /// `postgresql://user[:password]@host:port/dbname`.
    pub(crate) fn url(&self, user: AuthUser, dbname: &str) -> String {
        let mut out = format!("postgresql://{}", pct(user.name()));
        if let Some(password) = user.password() {
            out.push(':');
            out.push_str(&pct(password));
        }
        let _ = write!(out, "@{}:{}/{}", self.host, self.port, pct(dbname));
        out
    }

    /// key=value string over TCP.
    pub(crate) fn tcp_conninfo(&self, user: AuthUser, dbname: &str) -> String {
        kv(&self.host, self.port, user, dbname)
    }

    /// key=value string over the Unix socket directory.
    pub(crate) fn socket_conninfo(&self, user: AuthUser, dbname: &str) -> String {
        kv(&self.socket_dir.to_string_lossy(), self.port, user, dbname)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint { host: "127.0.0.1".into(), port: 5433, socket_dir: PathBuf::from("/tmp/fraiseql-pg-abc/sock") }
    }

    #[test]
    fn formats_urls() {
        let ep = endpoint();
        assert_eq!(ep.url(AuthUser::Superuser, "db"), "postgresql://postgres@127.0.0.1:5433/db");
        assert_eq!(
            ep.url(AuthUser::Scram, "a b"),
            format!("postgresql://scram_user:{}@127.0.0.1:5433/a%20b", AuthUser::Scram.password().unwrap())
        );
    }

    #[test]
    fn formats_conninfo() {
        let ep = endpoint();
        assert_eq!(
            ep.socket_conninfo(AuthUser::Trust, "it's"),
            "host=/tmp/fraiseql-pg-abc/sock port=5433 user=trust_user dbname='it\\'s'"
        );
        assert_eq!(
            ep.tcp_conninfo(AuthUser::Md5, "x"),
            format!("host=127.0.0.1 port=5433 user=md5_user password={} dbname=x", AuthUser::Md5.password().unwrap())
        );
    }
}
