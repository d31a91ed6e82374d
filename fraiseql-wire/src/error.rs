//! The one error type of the crate.
//!
//! Every message says what happened, the likely cause and what to try; server errors keep everything the server
//! sent (SQLSTATE, severity, detail, hint, position, schema/table/column names).

use std::fmt;
use std::io;
use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, from parsing a connection string to decoding a row.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection settings are malformed.
    #[error("invalid connection settings: {message}")]
    Config {
        /// What is wrong, naming the offending piece.
        message: String,
    },

    /// The connection string names a parameter that libpq does not know.
    #[error(
        "unknown connection parameter `{name}`: check its spelling against libpq's list \
         (host, port, user, password, dbname, application_name, connect_timeout, sslmode, options, passfile, …)"
    )]
    UnknownParameter {
        /// The parameter as written.
        name: String,
    },

    /// A known libpq feature that fraiseql-wire does not implement yet; it is refused rather than ignored.
    #[error("{feature} is not supported yet by fraiseql-wire: {advice}")]
    Unsupported {
        /// The feature, for example `sslmode=verify-full`.
        feature: String,
        /// What to do instead.
        advice: String,
    },

    /// No connection could be opened to any of the configured hosts.
    #[error("could not connect to {target}: {source}; {advice}")]
    Connect {
        /// The host and port, or the socket path, that was tried last.
        target: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
        /// What to try.
        advice: &'static str,
    },

    /// Connecting and authenticating took longer than `connect_timeout`.
    #[error(
        "timed out after {timeout:?} connecting to {target}: the server is unreachable or overloaded; \
         check it with `pg_isready -h <host> -p <port>` or raise connect_timeout"
    )]
    ConnectTimeout {
        /// The host and port, or the socket path.
        target: String,
        /// The configured timeout.
        timeout: Duration,
    },

    /// The server asked for a password and none was configured.
    #[error(
        "the server asked for a password for user `{user}` and none was given: set it in the connection \
         string, the PGPASSWORD environment variable or ~/.pgpass"
    )]
    PasswordMissing {
        /// The role that was logging in.
        user: String,
    },

    /// The server asked for an authentication method this crate does not implement.
    #[error(
        "the server asked for {method} authentication, which fraiseql-wire does not support: \
         use password, md5 or scram-sha-256 for this role in pg_hba.conf"
    )]
    AuthUnsupported {
        /// The method, as named in `pg_hba.conf`.
        method: String,
    },

    /// The server reported an error.
    #[error("{0}")]
    Db(Box<DbError>),

    /// The connection broke while in use (server restart, network failure, killed backend).
    #[error(
        "the connection to the server was lost: {source}; the server may have restarted or the network dropped. \
         The next query opens a new connection"
    )]
    ConnectionLost {
        /// The I/O error that revealed it.
        #[source]
        source: io::Error,
    },

    /// The server sent something the protocol does not allow at this point.
    #[error(
        "protocol violation: {0}; the server (or a proxy in between) is not speaking PostgreSQL's protocol \
         as expected. The connection was closed; the next query opens a new one"
    )]
    Protocol(String),

    /// The server switched `client_encoding` away from UTF8; the connection was closed.
    #[error(
        "the server changed client_encoding to `{0}`; fraiseql-wire needs UTF8, so the connection was closed. \
         Remove any `SET client_encoding` from the session or the role's settings"
    )]
    EncodingChanged(String),

    /// A relation name passed to [`Client::query`](crate::Client::query) is not a valid identifier.
    #[error(
        "invalid relation name `{name}`: {reason}. Pass a view name such as `v_project` or `app.v_project` \
         (quote unusual names with double quotes, as in SQL)"
    )]
    InvalidRelation {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// A SQL fragment given to the query builder is malformed or unsafe to embed.
    #[error("invalid SQL fragment `{fragment}`: {reason}")]
    InvalidFragment {
        /// The fragment as given.
        fragment: String,
        /// Why it was refused.
        reason: String,
    },

    /// The relation has no `data` column.
    #[error(
        "{relation} has no `data` column (its columns are: {columns}); fraiseql-wire reads views that expose one \
         JSON document per row, for example \
         `CREATE VIEW {relation} AS SELECT id, jsonb_build_object('id', id, 'name', name) AS data FROM …`"
    )]
    NoDataColumn {
        /// The relation as queried.
        relation: String,
        /// Its columns and their types, `name type, …`.
        columns: String,
    },

    /// The `data` column is not `json` or `jsonb`.
    #[error(
        "the `data` column of {relation} has type {type_name}, but fraiseql-wire needs json or jsonb; \
         define the view's column as `… AS data` with a jsonb expression, or cast it (`data::jsonb AS data`)"
    )]
    NotJson {
        /// The relation as queried.
        relation: String,
        /// The column's type as the server names it (or its OID).
        type_name: String,
    },

    /// A row is larger than the configured `max_row_bytes`.
    #[error(
        "row {row} is {size} bytes, above the max_row_bytes limit of {limit}; the query was stopped. Raise \
         Config::max_row_bytes if such rows are expected, or select less into the view's `data`"
    )]
    RowTooLarge {
        /// The 1-based row number.
        row: u64,
        /// The row's size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// A row's JSON could not be decoded into the requested type; the stream goes on with the next row.
    #[error("row {row}, at {path}: {source}")]
    Decode {
        /// The 1-based row number.
        row: u64,
        /// The JSON path of the failing value (`.` for the document itself).
        path: String,
        /// serde_json's description.
        #[source]
        source: serde_json::Error,
    },

    /// A row's bytes are not valid UTF-8.
    #[error("row {row} is not valid UTF-8 ({source}); the server's data or encoding settings are broken")]
    InvalidUtf8 {
        /// The 1-based row number.
        row: u64,
        /// Where the invalid byte is.
        #[source]
        source: std::str::Utf8Error,
    },

    /// `fetch_one` found no row.
    #[error("the query returned no row where exactly one was expected; use fetch_optional if none is possible")]
    RowNotFound,

    /// `fetch_one` or `fetch_optional` found more than one row.
    #[error(
        "the query returned more than one row where at most one was expected; add a filter or limit(1), \
         or use fetch_all"
    )]
    TooManyRows,
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config { message: message.into() }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::Protocol(message.into())
    }

    /// A copy of an error stored by the query builder (always one of the builder's own variants), so that
    /// `Query::to_sql` and `Clone` report it unchanged.
    pub(crate) fn clone_builder_error(&self) -> Error {
        match self {
            Error::InvalidRelation { name, reason } => {
                Error::InvalidRelation { name: name.clone(), reason: reason.clone() }
            }
            Error::InvalidFragment { fragment, reason } => {
                Error::InvalidFragment { fragment: fragment.clone(), reason: reason.clone() }
            }
            Error::Config { message } => Error::Config { message: message.clone() },
            other => Error::InvalidFragment { fragment: String::new(), reason: other.to_string() },
        }
    }

    pub(crate) fn unsupported(feature: impl Into<String>, advice: impl Into<String>) -> Self {
        Error::Unsupported { feature: feature.into(), advice: advice.into() }
    }

    /// The server's SQLSTATE code, for errors the server reported (`"28P01"`, `"22012"`, …).
    pub fn code(&self) -> Option<&str> {
        self.as_db_error().map(|db| db.code.as_str())
    }

    /// The server's error, if this is one.
    pub fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Error::Db(db) => Some(db),
            _ => None,
        }
    }

    /// Whether the connection is gone: the client reconnects on its next query.
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::Connect { .. } | Error::ConnectTimeout { .. } | Error::ConnectionLost { .. } | Error::Protocol(_)
        ) || self.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
    }
}

/// An error reported by the server, with every field it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DbError {
    /// `ERROR`, `FATAL` or `PANIC` (localized by the server's `lc_messages` in older servers).
    pub severity: String,
    /// The SQLSTATE code.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// Optional detail.
    pub detail: Option<String>,
    /// Optional hint.
    pub hint: Option<String>,
    /// 1-based character position in the statement.
    pub position: Option<u32>,
    /// Context (the call stack of functions, `WHERE` in psql).
    pub context: Option<String>,
    /// Schema name, for errors tied to an object.
    pub schema: Option<String>,
    /// Table name, for errors tied to a table.
    pub table: Option<String>,
    /// Column name, for errors tied to a column.
    pub column: Option<String>,
    /// Data type name.
    pub datatype: Option<String>,
    /// Constraint name.
    pub constraint: Option<String>,
}

impl DbError {
    /// What fraiseql-wire suggests for this SQLSTATE, if anything more than the server's own hint.
    pub fn advice(&self) -> Option<&'static str> {
        Some(match self.code.as_str() {
            "28P01" => {
                "check the password (connection string, PGPASSWORD or ~/.pgpass) and the role's auth method in pg_hba.conf"
            }
            "28000" => {
                "pg_hba.conf rejects this user/database/host combination, or the role may not log in; ask the administrator for a matching pg_hba.conf line or use another role"
            }
            "3D000" => "create the database, or fix dbname (PGDATABASE; it defaults to the user name)",
            "42P01" => {
                "create the view or check its name and schema (schema-qualify it, e.g. `app.v_project`, or set search_path)"
            }
            "42501" => "GRANT SELECT on the view, USAGE on its schema and EXECUTE on functions it calls to this role",
            "53300" => {
                "the server is out of connection slots: close idle connections, pool them, or raise max_connections"
            }
            "57014" => "the statement was cancelled (statement_timeout or a cancel request)",
            "57P01" | "57P02" | "57P03" => {
                "the server is shutting down or starting up; retry once it is back (`pg_isready`)"
            }
            "42703" => "a column named in the query does not exist in the view; check the filter and order expressions",
            "42601" => "a SQL fragment passed to where_sql/order_by_sql has a syntax error at the given position",
            _ => return None,
        })
    }

    pub(crate) fn from_fields(
        mut fields: postgres_protocol::message::backend::ErrorFields<'_>,
    ) -> Result<DbError, Error> {
        use fallible_iterator_shim::next_field;
        let mut db = DbError {
            severity: String::new(),
            code: String::new(),
            message: String::new(),
            detail: None,
            hint: None,
            position: None,
            context: None,
            schema: None,
            table: None,
            column: None,
            datatype: None,
            constraint: None,
        };
        let mut localized_severity = String::new();
        while let Some((kind, value)) = next_field(&mut fields)? {
            match kind {
                b'S' => localized_severity = value,
                b'V' => db.severity = value,
                b'C' => db.code = value,
                b'M' => db.message = value,
                b'D' => db.detail = Some(value),
                b'H' => db.hint = Some(value),
                b'P' => db.position = value.parse().ok(),
                b'W' => db.context = Some(value),
                b's' => db.schema = Some(value),
                b't' => db.table = Some(value),
                b'c' => db.column = Some(value),
                b'd' => db.datatype = Some(value),
                b'n' => db.constraint = Some(value),
                _ => {}
            }
        }
        if db.severity.is_empty() {
            db.severity = localized_severity;
        }
        Ok(db)
    }
}

/// postgres-protocol exposes error fields as a `FallibleIterator`; this keeps that trait out of our public API.
mod fallible_iterator_shim {
    use crate::error::Error;
    use postgres_protocol::message::backend::ErrorFields;

    pub(super) fn next_field(fields: &mut ErrorFields<'_>) -> Result<Option<(u8, String)>, Error> {
        use fallible_iterator::FallibleIterator;
        match fields.next() {
            Ok(Some(field)) => Ok(Some((field.type_(), String::from_utf8_lossy(field.value_bytes()).into_owned()))),
            Ok(None) => Ok(None),
            Err(e) => Err(Error::protocol(format!("malformed error message from the server: {e}"))),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (SQLSTATE {})", self.severity, self.message, self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, "\nDETAIL: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nHINT: {hint}")?;
        }
        if let Some(advice) = self.advice() {
            write!(f, "\nTRY: {advice}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

impl From<DbError> for Error {
    fn from(db: DbError) -> Self {
        Error::Db(Box::new(db))
    }
}
