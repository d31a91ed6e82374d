//! Why a row's JSON does not fit the requested type.

use std::fmt;

/// What the JSON decoder found wrong with a row, as [`Error::Decode`](super::Error::Decode) carries it.
///
/// It prints the decoder's description without its position in the row's text (` at line 1 column 46` says
/// nothing about the caller's code; the error's JSON path does). The decoder's own error is its
/// [`source`](std::error::Error::source).
pub struct DecodeError(serde_json::Error);

impl DecodeError {
    pub(crate) fn new(error: serde_json::Error) -> Self {
        DecodeError(error)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        if self.0.line() == 0 {
            return f.write_str(&text);
        }
        let position = format!(" at line {} column {}", self.0.line(), self.0.column());
        f.write_str(text.strip_suffix(&position).unwrap_or(&text))
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DecodeError").field(&self.to_string()).finish()
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
