//! What is wrong with a filter, sort or cursor that came from request input, and where in it.

use std::fmt;

/// What kind of mistake an [`InputError`] is, for an API layer to choose its response (all are the client's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// The input is not JSON, or not of the shape a filter or sort has (an object where a list was expected…).
    Shape,
    /// No field of the entity has this name.
    UnknownField,
    /// The field has no operator of this name.
    UnknownOperator,
    /// The value given to an operator has the wrong type for the field (a string for an integer field…).
    WrongType,
    /// Objects nested deeper than [`Limits::max_depth`](crate::entity::Limits::max_depth).
    TooDeep,
    /// More operators or sort keys than [`Limits::max_terms`](crate::entity::Limits::max_terms).
    TooManyTerms,
    /// A list value longer than [`Limits::max_values`](crate::entity::Limits::max_values).
    TooManyValues,
    /// A cursor that is not one of ours, was changed, or belongs to another ordering or query.
    Cursor,
}

impl InputErrorKind {
    /// A short snake_case name, stable across versions: `shape`, `unknown_field`, `unknown_operator`,
    /// `wrong_type`, `too_deep`, `too_many_terms`, `too_many_values`, `cursor`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputErrorKind::Shape => "shape",
            InputErrorKind::UnknownField => "unknown_field",
            InputErrorKind::UnknownOperator => "unknown_operator",
            InputErrorKind::WrongType => "wrong_type",
            InputErrorKind::TooDeep => "too_deep",
            InputErrorKind::TooManyTerms => "too_many_terms",
            InputErrorKind::TooManyValues => "too_many_values",
            InputErrorKind::Cursor => "cursor",
        }
    }
}

impl fmt::Display for InputErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mistake in request input (a filter, a sort, a cursor), found before anything reached the server: what is
/// wrong, where (a JSON Pointer into the input, `/_or/1/priority/gte`), and what to send instead.
///
/// Its [`Display`](fmt::Display) is written for the API's client, and safe to return to it: it names only the
/// input's own paths and the entity's public field names. It converts into [`Error::Input`](super::Error::Input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    kind: InputErrorKind,
    path: String,
    message: String,
    advice: String,
}

impl InputError {
    pub(crate) fn new(
        kind: InputErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
        advice: impl Into<String>,
    ) -> Self {
        InputError { kind, path: path.into(), message: message.into(), advice: advice.into() }
    }

    /// What kind of mistake it is.
    pub fn kind(&self) -> InputErrorKind {
        self.kind
    }

    /// Where it is: a JSON Pointer (RFC 6901) into the input (`""` for the whole input).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the path and advice.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to send instead.
    pub fn advice(&self) -> &str {
        &self.advice
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() { "the input" } else { &self.path };
        write!(f, "at {at}: {}; {}", self.message, self.advice)
    }
}

impl std::error::Error for InputError {}
