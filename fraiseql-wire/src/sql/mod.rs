//! SQL as a value: relation names, caller fragments, bound parameters, the condition tree and one renderer that
//! turns a query into a [`Statement`]. Pure: no I/O, no client.

mod expr;
mod fragment;
mod keyset;
mod param;
mod projection;
mod relation;
mod select;

use std::fmt;

pub(crate) use expr::{Expr, Node};
pub(crate) use fragment::parse as parse_fragment;
pub(crate) use keyset::{SortKey, after as keyset_after};
pub use param::{Param, ToParam};
pub(crate) use projection::Projection;
pub(crate) use relation::{Relation, quote_identifier};
pub(crate) use select::{Form, Select};

/// A statement and its bound parameters, as [`Query::to_sql`](crate::Query::to_sql) returns them.
///
/// `Display` shows the SQL followed by one `$n = value` line per parameter, as a log line or a test snapshot
/// would want it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statement {
    /// The SQL text, with `$n` placeholders.
    pub sql: String,
    /// The value bound to each placeholder, in order.
    pub params: Vec<Param>,
    /// The 1-based character position of the `"data"` column reference, where the server points when the
    /// relation has no such column.
    pub(crate) data_column: Option<u32>,
}

impl Statement {
    pub(crate) fn new(sql: String, params: Vec<Param>) -> Statement {
        Statement { sql, params, data_column: None }
    }

    fn with_data_column(mut self, position: usize) -> Statement {
        self.data_column = u32::try_from(position).ok();
        self
    }
}

/// A SQL string literal; `E''` with escaped backslashes when needed, so the result does not depend on
/// `standard_conforming_strings`.
pub(crate) fn quote_literal(s: &str) -> String {
    let quoted = s.replace('\'', "''");
    if quoted.contains('\\') { format!("E'{}'", quoted.replace('\\', "\\\\")) } else { format!("'{quoted}'") }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)?;
        for (i, param) in self.params.iter().enumerate() {
            write!(f, "\n${} = {param}", i + 1)?;
        }
        Ok(())
    }
}
