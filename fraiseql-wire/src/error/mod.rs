//! The one error type of the crate.
//!
//! Every message says what happened, the likely cause and what to try ([`Error::advice`] gives the last part on
//! its own); server errors keep everything the server sent (SQLSTATE, severity, detail, hint, position,
//! schema/table/column names).

mod build;
mod db;
mod decode;
mod input;
mod kind;
mod message;
mod sqlstate;

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::time::Duration;

pub(crate) use build::BuildError;
pub use db::DbError;
pub use decode::DecodeError;
pub use input::{InputError, InputErrorKind};
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

/// The advice of a malformed connection string: libpq's two forms.
pub(crate) const CONNECTION_STRING_SYNTAX: &str = "compare with libpq's syntax: `postgres://user:password@host:port/dbname?param=value` (percent-encode `@`, `:`, \
     `/`, `?`, `&`, `=`, `%` and spaces inside the parts) or `host=… port=… user=… dbname=…` (quote values with \
     spaces: options='-c a=b')";

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, from parsing a connection string to decoding a row.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection settings are malformed, contradict each other, or name files that cannot be used.
    Config {
        /// What is wrong, naming the offending piece.
        message: String,
        /// What to try: the fix for that setting, or libpq's syntax when the connection string itself is malformed.
        advice: Cow<'static, str>,
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

    /// Every host answered, but none was in the role that `target_session_attrs` asks for (a standby where a
    /// primary is wanted, or the reverse).
    NoSuitableHost {
        /// The `target_session_attrs` in force.
        target_session_attrs: &'static str,
        /// Each host that answered, with the role it reported (`127.0.0.1:5432 (standby)`).
        tried: Vec<String>,
    },

    /// Every connection of the pool stayed in use for the pool's whole `wait_timeout`.
    PoolTimeout {
        /// How long the query waited.
        waited: Duration,
        /// The pool's `max_size`.
        max_size: usize,
    },

    /// The pool was closed with [`Pool::close`](crate::Pool::close); it lends no more connections.
    PoolClosed,

    /// The task that started this query already holds the client's one connection, in a stream that has not
    /// ended: waiting for it would wait forever, so the query is refused.
    ConnectionBusy,

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

    /// A typed filter could not be built (its value could not be serialized, or a text search configuration is not
    /// a name).
    InvalidFilter {
        /// Why.
        reason: String,
    },

    /// [`Query::after`](crate::Query::after) cannot express "after this row" with the query's sort keys.
    InvalidKeyset {
        /// Why.
        reason: String,
    },

    /// [`Query::parallel`](crate::Query::parallel) cannot split this query (an order, a window, no
    /// connections).
    InvalidParallel {
        /// Why.
        reason: String,
    },

    /// [`Query::watch`](crate::Query::watch) cannot keep this query live (a window, a cursor, an invalid key
    /// column or channel).
    InvalidWatch {
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

    /// A [`Snapshot`](crate::Snapshot)'s connection closed (a network failure, a server restart, an error
    /// that aborted its transaction), so the moment it read is gone.
    SnapshotEnded,

    /// A [`Ticket`](crate::batch::Ticket) was taken out of order (after a later query's) or from another batch's
    /// results; its query's rows were skipped or are not there.
    BatchOrder {
        /// What was wrong with the ticket.
        reason: String,
    },

    /// An earlier query of a [`Batch`](crate::batch::Batch) broke the connection (its own ticket got that error),
    /// so this query's answer never arrived.
    BatchAborted {
        /// The position (from 0, in the order of `push`) of the query the connection broke at.
        query: usize,
    },

    /// Request input (a filter, sort or cursor from an API's client) is wrong: found before anything reached
    /// the server, and safe to show that client.
    Input(Box<InputError>),
}

impl From<InputError> for Error {
    fn from(error: InputError) -> Self {
        Error::Input(Box::new(error))
    }
}

impl Error {
    /// A setting that is wrong for a reason of its own, with what to try instead.
    pub(crate) fn config(message: impl Into<String>, advice: impl Into<Cow<'static, str>>) -> Self {
        Error::Config { message: message.into(), advice: advice.into() }
    }

    /// A connection string whose form is wrong (not a value in it): the advice is libpq's syntax.
    pub(crate) fn config_syntax(message: impl Into<String>) -> Self {
        Error::config(message, CONNECTION_STRING_SYNTAX)
    }

    /// The same settings error, found in the environment variable `name`.
    pub(crate) fn in_variable(self, name: &str) -> Self {
        match self {
            Error::Config { message, advice } => Error::Config {
                message: format!("in the {name} environment variable: {message}"),
                advice: format!("{advice} (or unset {name})").into(),
            },
            other => other,
        }
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
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) {
    /// if let Err(error) = client.query("app.v_missing").fetch_all().await {
    ///     if let Some(db) = error.as_db_error() {
    ///         eprintln!("{} {}: {} (hint: {:?})", db.severity, db.code, db.message, db.hint);
    ///     }
    /// }
    /// # }
    /// ```
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
            | Error::EncodingChanged(_)
            | Error::NoSuitableHost { .. } => true,
            Error::Db(db) => db.sql_state().ends_session(),
            _ => false,
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
            Error::config("port 0", "give a port from 1 to 65535"),
            Error::config_syntax("missing `=`"),
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
