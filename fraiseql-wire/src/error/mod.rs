//! The one error type of the crate.
//!
//! Every message says what happened, the likely cause and what to try ([`Error::advice`] gives the last part on
//! its own); server errors keep everything the server sent (SQLSTATE, severity, detail, hint, position,
//! schema/table/column names).

mod build;
mod db;
mod decode;
mod kind;
mod sqlstate;

use std::fmt;
use std::io;
use std::time::Duration;

pub(crate) use build::BuildError;
pub use db::DbError;
pub use decode::DecodeError;
pub use kind::ErrorKind;
pub use sqlstate::SqlState;

/// Why a TLS handshake failed, in the terms that decide what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate does not lead to a trusted root (`sslrootcert`).
    UntrustedCertificate,
    /// The server's certificate does not name the host connected to (`sslmode=verify-full`).
    HostnameMismatch,
    /// The server's certificate has expired or is not valid yet.
    ExpiredCertificate,
    /// Some other defect of the server's certificate.
    InvalidCertificate,
    /// The server refused the client certificate (or its absence).
    ClientCertificateRefused,
    /// The server did not agree to ALPN `postgresql`, which direct TLS needs.
    NoAlpn,
    /// The handshake failed otherwise (no common version or cipher, the connection closed, …).
    Handshake,
}

impl TlsFailure {
    fn advice(self) -> &'static str {
        match self {
            TlsFailure::UntrustedCertificate => {
                "sslrootcert must hold the CA certificate that signed the server's certificate (or its chain)"
            }
            TlsFailure::HostnameMismatch => {
                "connect with a host name the server's certificate lists, or use sslmode=verify-ca to check the \
                 chain only"
            }
            TlsFailure::ExpiredCertificate => "the server's certificate has expired (or is not valid yet): renew it",
            TlsFailure::InvalidCertificate => "check the server's certificate and sslrootcert",
            TlsFailure::ClientCertificateRefused => {
                "check that sslcert and sslkey hold a valid, unexpired certificate signed by a CA in the server's \
                 ssl_ca_file, for this user"
            }
            TlsFailure::NoAlpn => {
                "direct TLS needs PostgreSQL 17 or later listening on that port; use sslnegotiation=postgres"
            }
            TlsFailure::Handshake => {
                "check that the port is PostgreSQL's, the server's ssl settings and log, and \
                 ssl_min_protocol_version / ssl_max_protocol_version"
            }
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, from parsing a connection string to decoding a row.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection settings are malformed.
    Config {
        /// What is wrong, naming the offending piece.
        message: String,
    },

    /// The connection string names a parameter that libpq does not know.
    UnknownParameter {
        /// The parameter as written.
        name: String,
    },

    /// A known libpq feature that fraiseql-wire does not implement yet; it is refused rather than ignored.
    Unsupported {
        /// The feature, for example `sslmode=verify-full`.
        feature: String,
        /// What to do instead.
        advice: String,
    },

    /// No connection could be opened to any of the configured hosts.
    Connect {
        /// The host and port, or the socket path, that was tried last.
        target: String,
        /// The operating system's error.
        source: io::Error,
        /// What to try.
        advice: &'static str,
    },

    /// Connecting and authenticating took longer than `connect_timeout`.
    ConnectTimeout {
        /// The host and port, or the socket path.
        target: String,
        /// The configured timeout.
        timeout: Duration,
    },

    /// The TLS handshake failed: the server's certificate is not trusted, does not name the host, has expired,
    /// or the server refused the client certificate.
    Tls {
        /// The host and port.
        target: String,
        /// What kind of failure, to act on it.
        failure: TlsFailure,
        /// What failed, as the TLS library reports it.
        reason: String,
    },

    /// The server does not accept TLS, and the settings do not allow a plaintext session.
    TlsUnavailable {
        /// The host and port.
        target: String,
        /// The `sslmode` in force.
        sslmode: &'static str,
        /// Whether `sslmode` was left unset (then plaintext is refused only off the loopback interface).
        implicit: bool,
    },

    /// `channel_binding=require` could not be met: the server did not use SCRAM-SHA-256-PLUS over TLS. Nothing was
    /// sent in answer.
    ChannelBindingRequired {
        /// Why no channel binding was possible.
        reason: String,
    },

    /// The server asked for the password in clear over an unencrypted connection to a host that is not local;
    /// nothing was sent.
    CleartextPasswordRefused,

    /// The server sent nothing for `read_timeout` while a query waited for it: a stalled server or network path.
    /// The query is cancelled in the background (within `cancel_timeout`).
    ReadTimeout {
        /// The configured `read_timeout`.
        timeout: Duration,
    },

    /// The server asked for a password and none was configured.
    PasswordMissing {
        /// The role that was logging in.
        user: String,
    },

    /// The server asked for an authentication method this crate does not implement.
    AuthUnsupported {
        /// The method, as named in `pg_hba.conf`.
        method: String,
    },

    /// The server asked for an authentication method that `require_auth` does not allow (or skipped
    /// authentication where `none` is not allowed); nothing was sent in answer.
    AuthMethodRefused {
        /// What the server asked for.
        method: String,
        /// The `require_auth` setting that refused it.
        require_auth: String,
    },

    /// The server did not authenticate itself as the protocol requires (a SCRAM proof that does not verify, an
    /// exchange that ends without one, an absurd iteration count): it may not be the server the settings meant.
    ServerAuthentication {
        /// What the server got wrong.
        reason: String,
    },

    /// The server reported an error.
    Db(Box<DbError>),

    /// The connection broke while in use (server restart, network failure, killed backend).
    ConnectionLost {
        /// The I/O error that revealed it.
        source: io::Error,
    },

    /// The server sent something the protocol does not allow at this point.
    Protocol(String),

    /// The server switched `client_encoding` away from UTF8; the connection was closed.
    EncodingChanged(String),

    /// A relation name passed to [`Client::query`](crate::Client::query) is not a valid identifier.
    InvalidRelation {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// A SQL fragment given to the query builder is malformed or unsafe to embed.
    InvalidFragment {
        /// The fragment as given.
        fragment: String,
        /// Why it was refused.
        reason: String,
    },

    /// A typed filter could not be built (its value could not be serialized).
    InvalidFilter {
        /// Why.
        reason: String,
    },

    /// [`Query::after`](crate::Query::after) cannot express "after this row" with the query's sort keys.
    InvalidKeyset {
        /// Why.
        reason: String,
    },

    /// The query cannot be put on the wire (more than 65,535 parameters, a NUL byte in the SQL text).
    Encode {
        /// What could not be encoded.
        reason: String,
    },

    /// A query built without a client ([`Entity::select`](crate::Entity::select), [`Query::view`](crate::Query::view))
    /// was run before being bound to one.
    NotBound,

    /// The relation has no `data` column.
    NoDataColumn {
        /// The relation as queried.
        relation: String,
        /// Its columns and their types, `name type, …`.
        columns: String,
    },

    /// The `data` column is not `json` or `jsonb`.
    NotJson {
        /// The relation as queried.
        relation: String,
        /// The column's type as the server names it (or its OID).
        type_name: String,
    },

    /// A row is larger than the configured `max_row_bytes`.
    RowTooLarge {
        /// The 1-based row number.
        row: u64,
        /// The row's size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// A row's JSON could not be decoded into the requested type; the stream goes on with the next row.
    Decode {
        /// The 1-based row number.
        row: u64,
        /// The JSON path of the failing value (`.` for the document itself), shortened in the middle when very
        /// deep.
        path: String,
        /// What does not fit, as the JSON decoder describes it.
        source: DecodeError,
    },

    /// A row's bytes are not valid UTF-8.
    InvalidUtf8 {
        /// The 1-based row number.
        row: u64,
        /// How many bytes of the row's JSON are valid before the first invalid one.
        valid_up_to: usize,
    },

    /// `fetch_one` found no row.
    RowNotFound,

    /// `fetch_one` or `fetch_optional` found more than one row.
    TooManyRows,
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config { message: message.into() }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::Protocol(message.into())
    }

    pub(crate) fn unsupported(feature: impl Into<String>, advice: impl Into<String>) -> Self {
        Error::Unsupported { feature: feature.into(), advice: advice.into() }
    }

    pub(crate) fn lost(source: io::Error) -> Self {
        Error::ConnectionLost { source }
    }

    /// The server's SQLSTATE code, for errors the server reported (`"28P01"`, `"22012"`, …).
    pub fn code(&self) -> Option<&str> {
        self.as_db_error().map(|db| db.code.as_str())
    }

    /// The server's SQLSTATE, for errors the server reported, to compare with the [`SqlState`] constants.
    pub fn sql_state(&self) -> Option<SqlState> {
        self.as_db_error().map(DbError::sql_state)
    }

    /// The server's error, if this is one.
    pub fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Error::Db(db) => Some(db),
            _ => None,
        }
    }

    /// Whether the connection is gone (or could not be opened): the client opens a new one on its next query.
    ///
    /// True for failures to reach the server (a failed TLS handshake included, so that the next host is tried), a lost
    /// connection, a protocol violation and a changed
    /// `client_encoding` (both close the connection), and server errors of class `08` or `57P` (shutdown, crash,
    /// server not ready). False for everything the server or the client refused on purpose, authentication
    /// included: retrying those on another connection gives the same answer.
    pub fn is_connection_error(&self) -> bool {
        match self {
            Error::Connect { .. }
            | Error::ConnectTimeout { .. }
            | Error::Tls { .. }
            | Error::TlsUnavailable { .. }
            | Error::ConnectionLost { .. }
            | Error::Protocol(_)
            | Error::EncodingChanged(_) => true,
            Error::Db(db) => db.sql_state().ends_session(),
            _ => false,
        }
    }

    /// What to try, on its own (the message ends with it too), for programs that log it apart.
    pub fn advice(&self) -> Option<&str> {
        Some(match self {
            Error::Config { .. } => {
                "compare with libpq's syntax: `postgres://user:password@host:port/dbname?param=value` or \
                 `host=… port=… user=… dbname=…`"
            }
            Error::UnknownParameter { .. } => {
                "check its spelling against libpq's list (host, port, user, password, dbname, application_name, \
                 connect_timeout, sslmode, options, passfile, …)"
            }
            Error::Unsupported { advice, .. } => advice,
            Error::Connect { advice, .. } => advice,
            Error::ConnectTimeout { .. } => "check it with `pg_isready -h <host> -p <port>` or raise connect_timeout",
            Error::Tls { failure, .. } => failure.advice(),
            Error::ReadTimeout { .. } => {
                "a stalled server or network path (a dead peer, a NAT or firewall that dropped the connection); the \
                 connection is reused if the cancel gets through within cancel_timeout, else the next query opens a \
                 new one; raise read_timeout if queries legitimately run that long before sending rows"
            }
            Error::TlsUnavailable { implicit: true, .. } => {
                "enable TLS on the server (`ssl = on` with a certificate), or, if the network to it is trusted, say \
                 so with sslmode=prefer (or disable) in the connection string or PGSSLMODE"
            }
            Error::TlsUnavailable { .. } => {
                "enable TLS on the server (`ssl = on` with a certificate), check that host and port point at it \
                 rather than at a proxy that strips TLS, or lower sslmode if the network is trusted"
            }
            Error::ChannelBindingRequired { .. } => {
                "connect with TLS to a server whose pg_hba.conf uses scram-sha-256 for this role and whose \
                 certificate is signed with RSA or ECDSA, or set channel_binding=prefer"
            }
            Error::CleartextPasswordRefused => {
                "use TLS (sslmode=require or stronger), switch the role to scram-sha-256 in pg_hba.conf, or accept \
                 the risk explicitly with require_auth=password"
            }
            Error::PasswordMissing { .. } => {
                "set it in the connection string, the PGPASSWORD environment variable or ~/.pgpass"
            }
            Error::AuthUnsupported { .. } => "use password, md5 or scram-sha-256 for this role in pg_hba.conf",
            Error::AuthMethodRefused { .. } => {
                "if the server is the one you meant, allow its method in require_auth or ask for the role's method in \
                 pg_hba.conf to change; otherwise this server is not to be trusted with the password"
            }
            Error::ServerAuthentication { .. } => {
                "check that host and port point at the intended server, and that nothing in between (a proxy, a \
                 load balancer) alters the authentication exchange; the connection was closed"
            }
            Error::Db(db) => return db.advice(),
            Error::ConnectionLost { .. } => "the next query opens a new connection",
            Error::Protocol(_) => {
                "check that host and port point at PostgreSQL itself; the connection was closed and the next query \
                 opens a new one"
            }
            Error::EncodingChanged(_) => {
                "remove any `SET client_encoding` from the view, the session or the role's settings"
            }
            Error::InvalidRelation { .. } => {
                "pass a view name such as `v_project` or `app.v_project` (quote unusual names with double quotes, \
                 as in SQL)"
            }
            Error::InvalidFragment { .. } => {
                "write one SQL expression (balanced parentheses, closed quotes and comments, no `;`) and pass values \
                 as $1, $2, … parameters"
            }
            Error::InvalidFilter { .. } => "check the Serialize implementation of the value given to the operator",
            Error::InvalidKeyset { .. } => {
                "end the order_by keys with a unique one (a `#[entity(column = …)]` field or one marked \
                 `#[entity(order_key)]`), then call after(&row)"
            }
            Error::Encode { .. } => "split the query, or remove the NUL byte",
            Error::NotBound => {
                "build it with `Entity::query(&client)` / `client.query(…)`, or bind it with `.on(&client)` before \
                 running it"
            }
            Error::NoDataColumn { .. } => {
                "fraiseql-wire reads views that expose one JSON document per row in a column named `data`"
            }
            Error::NotJson { .. } => {
                "define the view's column as `… AS data` with a jsonb expression, or cast it (`data::jsonb AS data`)"
            }
            Error::RowTooLarge { .. } => {
                "raise Config::max_row_bytes if such rows are expected, or select less into the view's `data`"
            }
            Error::Decode { .. } => {
                "the document does not fit the Rust type at that path: fix the view or the type (an `Option` or \
                 `#[serde(default)]` for a value that may be null or missing)"
            }
            Error::InvalidUtf8 { .. } => {
                "the server's data or encoding settings are broken; a view or role that switches client_encoding \
                 causes this (rows received before the EncodingChanged error that follows may be wrong too)"
            }
            Error::RowNotFound => "use fetch_optional if none is possible",
            Error::TooManyRows => "add a filter or limit(1), or use fetch_all",
        })
    }

    /// What happened and why, without the advice.
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { message } => write!(f, "invalid connection settings: {message}"),
            Error::UnknownParameter { name } => write!(f, "unknown connection parameter `{name}`"),
            Error::Unsupported { feature, .. } => write!(f, "{feature} is not supported yet by fraiseql-wire"),
            Error::Connect { target, source, .. } => write!(f, "could not connect to {target}: {source}"),
            Error::ConnectTimeout { target, timeout } => {
                write!(f, "timed out after {timeout:?} connecting to {target}: the server is unreachable or overloaded")
            }
            Error::Tls { target, reason, .. } => write!(f, "TLS with {target} failed: {reason}"),
            Error::ReadTimeout { timeout } => write!(
                f,
                "the server sent nothing for {timeout:?} while the query waited for it (read_timeout); the query \
                 is being cancelled"
            ),
            Error::TlsUnavailable { target, sslmode, implicit: false } => {
                write!(f, "{target} does not accept TLS connections, and sslmode={sslmode} requires TLS")
            }
            Error::TlsUnavailable { target, implicit: true, .. } => write!(
                f,
                "{target} does not accept TLS connections, and without an explicit sslmode fraiseql-wire does not \
                 fall back to plaintext towards a host outside the loopback interface"
            ),
            Error::ChannelBindingRequired { reason } => {
                write!(f, "channel_binding=require cannot be met: {reason}; nothing was sent")
            }
            Error::CleartextPasswordRefused => f.write_str(
                "the server asked for the password in clear over an unencrypted connection to a host that is not \
                 local; nothing was sent",
            ),
            Error::PasswordMissing { user } => {
                write!(f, "the server asked for a password for user `{user}` and none was given")
            }
            Error::AuthUnsupported { method } => {
                write!(f, "the server asked for {method} authentication, which fraiseql-wire does not support")
            }
            Error::AuthMethodRefused { method, require_auth } => write!(
                f,
                "the server asked for {method}, which require_auth={require_auth} does not allow; nothing was sent"
            ),
            Error::ServerAuthentication { reason } => {
                write!(f, "the server did not authenticate itself: {reason}; it may not be the server you meant")
            }
            Error::Db(db) => write!(f, "{db}"),
            Error::ConnectionLost { source } => write!(
                f,
                "the connection to the server was lost: {source}; the server may have restarted or the network dropped"
            ),
            Error::Protocol(message) => write!(
                f,
                "protocol violation: {message}; the server (or a proxy in between) is not speaking PostgreSQL's \
                 protocol as expected"
            ),
            Error::EncodingChanged(encoding) => write!(
                f,
                "the server changed client_encoding to `{encoding}`; fraiseql-wire needs UTF8, so the connection was \
                 closed"
            ),
            Error::InvalidRelation { name, reason } => write!(f, "invalid relation name `{name}`: {reason}"),
            Error::InvalidFragment { fragment, reason } => write!(f, "invalid SQL fragment `{fragment}`: {reason}"),
            Error::InvalidFilter { reason } => write!(f, "invalid typed filter: {reason}"),
            Error::InvalidKeyset { reason } => write!(f, "invalid keyset pagination (`after`): {reason}"),
            Error::Encode { reason } => write!(f, "the query cannot be sent: {reason}"),
            Error::NotBound => f.write_str("this query is not bound to a client"),
            Error::NoDataColumn { relation, columns } => write!(
                f,
                "{relation} has no `data` column (its columns are: {columns}); define it, for example \
                 `CREATE VIEW {relation} AS SELECT id, jsonb_build_object('id', id, 'name', name) AS data FROM …`"
            ),
            Error::NotJson { relation, type_name } => {
                write!(f, "the `data` column of {relation} has type {type_name}, but fraiseql-wire needs json or jsonb")
            }
            Error::RowTooLarge { row, size, limit } => {
                write!(f, "row {row} is {size} bytes, above the max_row_bytes limit of {limit}; the query was stopped")
            }
            Error::Decode { row, path, source } => write!(f, "row {row}, at {path}: {source}"),
            Error::InvalidUtf8 { row, valid_up_to } => {
                write!(f, "row {row} is not valid UTF-8 (an invalid byte follows its first {valid_up_to} bytes)")
            }
            Error::RowNotFound => f.write_str("the query returned no row where exactly one was expected"),
            Error::TooManyRows => f.write_str("the query returned more than one row where at most one was expected"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)?;
        match self {
            // The server's error prints its own advice (`TRY: …`).
            Error::Db(_) => Ok(()),
            _ => match self.advice() {
                Some(advice) => write!(f, "; {advice}"),
                None => Ok(()),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } | Error::ConnectionLost { source } => Some(source),
            Error::Db(db) => Some(db.as_ref()),
            Error::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_ends_with_its_advice() {
        let errors = [
            Error::config("port 0"),
            Error::EncodingChanged("LATIN1".into()),
            Error::InvalidKeyset { reason: "no order".into() },
            Error::NotBound,
            Error::InvalidUtf8 { row: 2, valid_up_to: 5 },
            Error::ServerAuthentication { reason: "bad proof".into() },
        ];
        for error in errors {
            let advice = error.advice().expect("advice");
            assert!(error.to_string().ends_with(advice), "{error}");
        }
    }

    #[test]
    fn classification_follows_what_happened() {
        assert!(Error::EncodingChanged("LATIN1".into()).is_connection_error());
        assert!(Error::protocol("garbage").is_connection_error());
        assert!(!Error::ServerAuthentication { reason: "bad proof".into() }.is_connection_error());
        assert!(!Error::PasswordMissing { user: "u".into() }.is_connection_error());
    }
}
