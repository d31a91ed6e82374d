//! Errors reported by the server, with every field it sent.

use std::fmt;

use super::{Error, SqlState};

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
    /// The SQLSTATE, to compare with the [`SqlState`] constants.
    pub fn sql_state(&self) -> SqlState {
        SqlState::from_code(&self.code)
    }

    /// Whether the server ends the session after this error (`FATAL` or `PANIC`).
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity.as_str(), "FATAL" | "PANIC")
    }

    /// What fraiseql-wire suggests for this SQLSTATE, if anything more than the server's own hint.
    pub fn advice(&self) -> Option<&'static str> {
        let state = self.sql_state();
        Some(if state == SqlState::INVALID_PASSWORD {
            "check the password (connection string, PGPASSWORD or ~/.pgpass) and the role's auth method in pg_hba.conf"
        } else if state == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            "pg_hba.conf rejects this user/database/host combination, or the role may not log in; ask the \
             administrator for a matching pg_hba.conf line or use another role"
        } else if state == SqlState::INVALID_CATALOG_NAME {
            "create the database, or fix dbname (PGDATABASE; it defaults to the user name)"
        } else if state == SqlState::UNDEFINED_TABLE {
            "create the view or check its name and schema (schema-qualify it, e.g. `app.v_project`, or set search_path)"
        } else if state == SqlState::INSUFFICIENT_PRIVILEGE {
            "GRANT SELECT on the view, USAGE on its schema and EXECUTE on functions it calls to this role"
        } else if state == SqlState::TOO_MANY_CONNECTIONS {
            "the server is out of connection slots: close idle connections, pool them, or raise max_connections"
        } else if state == SqlState::QUERY_CANCELED {
            "the statement was cancelled (statement_timeout or a cancel request)"
        } else if state.class() == "57" && state.ends_session() {
            "the server is shutting down or starting up; retry once it is back (`pg_isready`)"
        } else if state == SqlState::UNDEFINED_COLUMN {
            "a column named in the query does not exist in the view; check the filter and order expressions"
        } else if state == SqlState::SYNTAX_ERROR {
            "a SQL fragment passed to where_sql/order_by_sql has a syntax error at the given position"
        } else {
            return None;
        })
    }

    /// An `ERROR` with `code` and `message` and nothing else, for tests.
    #[cfg(test)]
    pub(crate) fn new_for_tests(code: &str, message: &str) -> DbError {
        DbError {
            severity: "ERROR".to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
            detail: None,
            hint: None,
            position: None,
            context: None,
            schema: None,
            table: None,
            column: None,
            datatype: None,
            constraint: None,
        }
    }

    pub(crate) fn from_fields(
        mut fields: postgres_protocol::message::backend::ErrorFields<'_>,
    ) -> Result<DbError, Error> {
        use fallible_iterator::FallibleIterator;
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
        loop {
            let field = match fields.next() {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => return Err(Error::protocol(format!("malformed error message from the server: {e}"))),
            };
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
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
