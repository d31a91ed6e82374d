//! What kind of failure an error is, and whether trying again may succeed.

use std::fmt;

use super::Error;
use crate::error::SqlState;

/// A stable category of [`Error`], for metrics, logs and deciding what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server could not be reached.
    Connect,
    /// TLS could not be set up, or the server does not offer it where it is required.
    Tls,
    /// Authentication failed or was refused, on either side.
    Auth,
    /// The server reported an error about the query.
    Db,
    /// A time limit passed: connecting, waiting for the server mid-query, or the server's `statement_timeout`.
    Timeout,
    /// The connection closed or broke while in use, or the server is shutting down.
    Closed,
    /// The server (or something in between) broke the protocol.
    Protocol,
    /// A row could not be decoded into the requested type, or is too large.
    Decode,
    /// The connection settings are wrong or ask for something not supported.
    Config,
    /// The view does not have the shape fraiseql-wire reads (a `data` column of type json or jsonb).
    Schema,
    /// The query was built or used wrongly (an invalid name or fragment, no row where one was expected).
    Usage,
    /// Request input (a filter, sort or cursor from an API's client) is wrong: for an API, a 400 response.
    Input,
}

impl ErrorKind {
    /// A short lowercase name, stable across versions: `connect`, `tls`, `auth`, `db`, `timeout`, `closed`,
    /// `protocol`, `decode`, `config`, `schema`, `usage`, `input`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Auth => "auth",
            ErrorKind::Db => "db",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Decode => "decode",
            ErrorKind::Config => "config",
            ErrorKind::Schema => "schema",
            ErrorKind::Usage => "usage",
            ErrorKind::Input => "input",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Server errors that are transient: shutdown or crash of the server, too many connections, serialization
/// failure, deadlock.
const RETRIABLE_STATES: [SqlState; 6] = [
    SqlState::ADMIN_SHUTDOWN,
    SqlState::CRASH_SHUTDOWN,
    SqlState::CANNOT_CONNECT_NOW,
    SqlState::TOO_MANY_CONNECTIONS,
    SqlState::SERIALIZATION_FAILURE,
    SqlState::DEADLOCK_DETECTED,
];

impl Error {
    /// The category of this error.
    ///
    /// Server errors are [`ErrorKind::Db`], except where their SQLSTATE names a better category: class 28
    /// (invalid authorization) and 28P01 are [`ErrorKind::Auth`], 57014 (`statement_timeout` or a cancel) is
    /// [`ErrorKind::Timeout`], and class 08 and the shutdown codes 57P01–57P03 are [`ErrorKind::Closed`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. } | Error::UnknownParameter { .. } | Error::Unsupported { .. } => ErrorKind::Config,
            Error::Connect { .. } | Error::NoSuitableHost { .. } => ErrorKind::Connect,
            Error::ConnectTimeout { .. } | Error::ReadTimeout { .. } | Error::PoolTimeout { .. } => ErrorKind::Timeout,
            Error::Tls { .. } | Error::TlsUnavailable { .. } => ErrorKind::Tls,
            Error::PasswordMissing { .. }
            | Error::AuthUnsupported { .. }
            | Error::AuthMethodRefused { .. }
            | Error::ServerAuthentication { .. }
            | Error::ChannelBindingRequired { .. }
            | Error::CleartextPasswordRefused => ErrorKind::Auth,
            Error::Db(db) => {
                let code = db.code.as_str();
                if code.starts_with("28") {
                    ErrorKind::Auth
                } else if code == "57014" {
                    ErrorKind::Timeout
                } else if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") {
                    ErrorKind::Closed
                } else {
                    ErrorKind::Db
                }
            }
            Error::ConnectionLost { .. } | Error::SnapshotEnded | Error::BatchAborted { .. } => ErrorKind::Closed,
            Error::Protocol(_) | Error::EncodingChanged(_) => ErrorKind::Protocol,
            Error::RowTooLarge { .. } | Error::Decode { .. } | Error::InvalidUtf8 { .. } => ErrorKind::Decode,
            Error::NoDataColumn { .. } | Error::NotJson { .. } => ErrorKind::Schema,
            Error::InvalidRelation { .. }
            | Error::InvalidFragment { .. }
            | Error::InvalidFilter { .. }
            | Error::InvalidKeyset { .. }
            | Error::InvalidParallel { .. }
            | Error::InvalidWatch { .. }
            | Error::Encode { .. }
            | Error::NotBound
            | Error::PoolClosed
            | Error::ConnectionBusy
            | Error::BatchOrder { .. }
            | Error::RowNotFound
            | Error::TooManyRows => ErrorKind::Usage,
            Error::Input(_) => ErrorKind::Input,
        }
    }

    /// Whether running the same operation again may succeed: true exactly for transient failures (the server
    /// could not be reached or the connection broke, a client-side timeout, the server shutting down or
    /// restarting, too many connections, a serialization failure or a deadlock). A retried query runs on a new
    /// connection when the old one broke; rows a stream already returned are returned again.
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<Vec<serde_json::Value>> {
    /// use std::time::Duration;
    ///
    /// let mut delay = Duration::from_millis(100);
    /// loop {
    ///     match client.query("app.v_project").fetch_all().await {
    ///         Err(error) if error.is_retriable() && delay < Duration::from_secs(5) => {
    ///             eprintln!("retrying after {delay:?}: {error}");
    ///             tokio::time::sleep(delay).await;
    ///             delay *= 2;
    ///         }
    ///         result => return result,
    ///     }
    /// }
    /// # }
    /// ```
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::ConnectTimeout { .. } | Error::ReadTimeout { .. } => true,
            Error::NoSuitableHost { .. } | Error::PoolTimeout { .. } => true,
            Error::ConnectionLost { .. } | Error::BatchAborted { .. } => true,
            Error::Db(db) => {
                let state = db.sql_state();
                RETRIABLE_STATES.contains(&state) || db.code.starts_with("08")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use super::*;
    use crate::error::{DbError, DecodeError, TlsFailure};

    fn db(code: &str) -> Error {
        Error::Db(Box::new(DbError::new_for_tests(code, "m")))
    }

    /// Every variant, with the kind and retriability it must keep.
    #[test]
    fn every_variant_is_classified() {
        let io = || io::Error::from(io::ErrorKind::ConnectionReset);
        let decode = serde_json::from_str::<u8>("x").err().map(|e| Error::Decode {
            row: 1,
            path: ".".into(),
            source: DecodeError::new(e),
        });
        let cases: Vec<(Error, ErrorKind, bool)> = vec![
            (Error::config("x", "y"), ErrorKind::Config, false),
            (Error::UnknownParameter { name: "x".into() }, ErrorKind::Config, false),
            (Error::unsupported("x", "y"), ErrorKind::Config, false),
            (Error::Connect { target: "t".into(), source: io(), advice: "" }, ErrorKind::Connect, true),
            (Error::ConnectTimeout { target: "t".into(), timeout: Duration::from_secs(1) }, ErrorKind::Timeout, true),
            (Error::ReadTimeout { timeout: Duration::from_secs(1) }, ErrorKind::Timeout, true),
            (
                Error::Tls { target: "t".into(), failure: TlsFailure::UntrustedCertificate, reason: "r".into() },
                ErrorKind::Tls,
                false,
            ),
            (Error::TlsUnavailable { target: "t".into(), sslmode: "require", implicit: false }, ErrorKind::Tls, false),
            (Error::PasswordMissing { user: "u".into() }, ErrorKind::Auth, false),
            (Error::AuthUnsupported { method: "gss".into() }, ErrorKind::Auth, false),
            (Error::AuthMethodRefused { method: "m".into(), require_auth: "r".into() }, ErrorKind::Auth, false),
            (Error::ServerAuthentication { reason: "r".into() }, ErrorKind::Auth, false),
            (Error::ChannelBindingRequired { reason: "r".into() }, ErrorKind::Auth, false),
            (Error::CleartextPasswordRefused, ErrorKind::Auth, false),
            (db("42P01"), ErrorKind::Db, false),
            (db("42501"), ErrorKind::Db, false),
            (db("22012"), ErrorKind::Db, false),
            (db("28P01"), ErrorKind::Auth, false),
            (db("28000"), ErrorKind::Auth, false),
            (db("57014"), ErrorKind::Timeout, false),
            (db("57P01"), ErrorKind::Closed, true),
            (db("57P02"), ErrorKind::Closed, true),
            (db("57P03"), ErrorKind::Closed, true),
            (db("08006"), ErrorKind::Closed, true),
            (db("53300"), ErrorKind::Db, true),
            (db("40001"), ErrorKind::Db, true),
            (db("40P01"), ErrorKind::Db, true),
            (Error::ConnectionLost { source: io() }, ErrorKind::Closed, true),
            (Error::protocol("p"), ErrorKind::Protocol, false),
            (Error::EncodingChanged("LATIN1".into()), ErrorKind::Protocol, false),
            (Error::InvalidRelation { name: "n".into(), reason: "r".into() }, ErrorKind::Usage, false),
            (Error::InvalidFragment { fragment: "f".into(), reason: "r".into() }, ErrorKind::Usage, false),
            (Error::InvalidFilter { reason: "r".into() }, ErrorKind::Usage, false),
            (Error::InvalidKeyset { reason: "r".into() }, ErrorKind::Usage, false),
            (Error::InvalidParallel { reason: "r".into() }, ErrorKind::Usage, false),
            (Error::InvalidWatch { reason: "r".into() }, ErrorKind::Usage, false),
            (Error::Encode { reason: "r".into() }, ErrorKind::Usage, false),
            (Error::NotBound, ErrorKind::Usage, false),
            (Error::NoDataColumn { relation: "v".into(), columns: "c".into() }, ErrorKind::Schema, false),
            (Error::NotJson { relation: "v".into(), type_name: "text".into() }, ErrorKind::Schema, false),
            (Error::RowTooLarge { row: 1, size: 2, limit: 1 }, ErrorKind::Decode, false),
            (Error::InvalidUtf8 { row: 1, valid_up_to: 0 }, ErrorKind::Decode, false),
            (Error::RowNotFound, ErrorKind::Usage, false),
            (Error::NoSuitableHost { target_session_attrs: "primary", tried: vec![] }, ErrorKind::Connect, true),
            (Error::PoolTimeout { waited: Duration::from_secs(1), max_size: 2 }, ErrorKind::Timeout, true),
            (Error::PoolClosed, ErrorKind::Usage, false),
            (Error::ConnectionBusy, ErrorKind::Usage, false),
            (Error::TooManyRows, ErrorKind::Usage, false),
            (Error::SnapshotEnded, ErrorKind::Closed, false),
            (Error::BatchOrder { reason: "r".into() }, ErrorKind::Usage, false),
            (Error::BatchAborted { query: 1 }, ErrorKind::Closed, true),
        ];
        let cases = cases.into_iter().chain(decode.map(|e| (e, ErrorKind::Decode, false)));
        for (error, kind, retriable) in cases {
            assert_eq!(error.kind(), kind, "{error:?}");
            assert_eq!(error.is_retriable(), retriable, "{error:?}");
        }
        assert_eq!(ErrorKind::Timeout.to_string(), "timeout");
    }
}
