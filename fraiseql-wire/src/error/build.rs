//! Mistakes found while building a query, before anything is sent.

use super::Error;

/// A query-builder mistake. The builder keeps it (so it is `Clone`) and reports it when the query runs or is
/// rendered, as the matching [`Error`] variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BuildError {
    /// A relation name that is not a valid identifier.
    Relation { name: String, reason: String },
    /// A `where_sql`/`order_by_sql` fragment that is not one safe expression.
    Fragment { fragment: String, reason: String },
    /// A typed filter whose value could not be turned into a parameter.
    Filter { reason: String },
    /// `after()` without usable sort keys.
    Keyset { reason: String },
    /// A parallel export of a query that cannot be split.
    Parallel { reason: String },
    /// A watch of a query that cannot be kept live.
    Watch { reason: String },
    /// Request input (a cursor) that is wrong.
    Input(Box<super::InputError>),
}

impl From<BuildError> for Error {
    fn from(error: BuildError) -> Self {
        match error {
            BuildError::Relation { name, reason } => Error::InvalidRelation { name, reason },
            BuildError::Fragment { fragment, reason } => Error::InvalidFragment { fragment, reason },
            BuildError::Filter { reason } => Error::InvalidFilter { reason },
            BuildError::Keyset { reason } => Error::InvalidKeyset { reason },
            BuildError::Parallel { reason } => Error::InvalidParallel { reason },
            BuildError::Watch { reason } => Error::InvalidWatch { reason },
            BuildError::Input(error) => Error::Input(error),
        }
    }
}
