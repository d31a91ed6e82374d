//! SQLSTATE codes: the five-character error codes of the SQL standard and PostgreSQL.

use std::borrow::Cow;
use std::fmt;

/// A SQLSTATE code, as the server reports it in every error (`DbError::code`).
///
/// The constants name the codes fraiseql-wire itself looks at; any other code the server sends is kept as it is.
/// Compare with a constant or with the code's text:
///
/// ```
/// use fraiseql_wire::SqlState;
///
/// let state = SqlState::from_code("42P01");
/// assert_eq!(state, SqlState::UNDEFINED_TABLE);
/// assert_eq!(state, "42P01");
/// assert_eq!(state.class(), "42");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SqlState(Cow<'static, str>);

macro_rules! sql_states {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        impl SqlState {
            $(
                $(#[$doc])*
                pub const $name: SqlState = SqlState(Cow::Borrowed($code));
            )*
        }
    };
}

sql_states! {
    /// `08000`: connection exception.
    CONNECTION_EXCEPTION = "08000";
    /// `08006`: connection failure.
    CONNECTION_FAILURE = "08006";
    /// `0A000`: feature not supported (also "cached plan must not change result type").
    FEATURE_NOT_SUPPORTED = "0A000";
    /// `22012`: division by zero.
    DIVISION_BY_ZERO = "22012";
    /// `22021`: a character not valid in the encoding (a NUL byte in a parameter, for example).
    CHARACTER_NOT_IN_REPERTOIRE = "22021";
    /// `28000`: the role may not connect (`pg_hba.conf` rejects it, or it lacks `LOGIN`).
    INVALID_AUTHORIZATION_SPECIFICATION = "28000";
    /// `28P01`: wrong password.
    INVALID_PASSWORD = "28P01";
    /// `3D000`: the database does not exist.
    INVALID_CATALOG_NAME = "3D000";
    /// `26000`: the prepared statement named does not exist (behind a transaction pooler, say).
    INVALID_SQL_STATEMENT_NAME = "26000";
    /// `42501`: permission denied.
    INSUFFICIENT_PRIVILEGE = "42501";
    /// `42601`: syntax error.
    SYNTAX_ERROR = "42601";
    /// `42703`: a column does not exist.
    UNDEFINED_COLUMN = "42703";
    /// `42P01`: a table or view does not exist.
    UNDEFINED_TABLE = "42P01";
    /// `53300`: the server has no connection slot left.
    TOO_MANY_CONNECTIONS = "53300";
    /// `40001`: the transaction could not be serialized with concurrent ones; running it again may succeed.
    SERIALIZATION_FAILURE = "40001";
    /// `40P01`: the server broke a deadlock by failing this transaction; running it again may succeed.
    DEADLOCK_DETECTED = "40P01";
    /// `57014`: the statement was cancelled (cancel request or `statement_timeout`).
    QUERY_CANCELED = "57014";
    /// `57P01`: the server is shutting down (or an administrator terminated the session).
    ADMIN_SHUTDOWN = "57P01";
    /// `57P02`: the server crashed and is restarting.
    CRASH_SHUTDOWN = "57P02";
    /// `57P03`: the server is starting up or shutting down and accepts no connection yet.
    CANNOT_CONNECT_NOW = "57P03";
}

impl SqlState {
    /// The state for a code as the server sent it.
    pub fn from_code(code: &str) -> SqlState {
        SqlState(Cow::Owned(code.to_owned()))
    }

    /// The five-character code.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The class: the code's first two characters (`"08"` connection exception, `"57"` operator intervention, …).
    pub fn class(&self) -> &str {
        self.0.get(..2).unwrap_or(&self.0)
    }

    /// Whether the session is gone or going: class `08` (connection exception) or `57P` (shutdown, crash,
    /// server not ready).
    pub fn ends_session(&self) -> bool {
        self.class() == "08" || self.0.starts_with("57P")
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for SqlState {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SqlState {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_compare_with_codes_from_the_server() {
        assert_eq!(SqlState::from_code("57P01"), SqlState::ADMIN_SHUTDOWN);
        assert!(SqlState::ADMIN_SHUTDOWN.ends_session());
        assert!(SqlState::from_code("08P01").ends_session());
        assert!(!SqlState::QUERY_CANCELED.ends_session());
        assert_eq!(SqlState::UNDEFINED_TABLE.class(), "42");
        assert_eq!(SqlState::from_code("4").class(), "4");
    }
}
