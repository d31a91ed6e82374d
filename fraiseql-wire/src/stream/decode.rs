//! Turning a row's JSON into what the caller asked for: raw bytes, or any `T: Deserialize`.

use std::fmt::Write;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

use crate::connection::RawRow;
use crate::error::{DecodeError, Error, Result};

/// Turns a row into an item; the second argument is the row's 1-based number, for errors.
pub(crate) type Decoder<T> = fn(RawRow<'_>, u64) -> Result<T>;

/// Paths deeper than this many segments are shortened in the middle in error messages.
const MAX_PATH_SEGMENTS: usize = 12;

/// Parses the row's JSON into `T`.
pub(crate) fn json<T: DeserializeOwned>(row: RawRow<'_>, number: u64) -> Result<T> {
    parse(row.json(), number)
}

/// The row's JSON text as received, checked to be UTF-8, without copying it.
pub(crate) fn raw(row: RawRow<'_>, number: u64) -> Result<Bytes> {
    let json = row.into_json_bytes();
    if is_utf8(&json) { Ok(json) } else { Err(invalid_utf8(&json, number)) }
}

/// Whether `bytes` are UTF-8: the fast check, which says only yes or no.
#[inline]
fn is_utf8(bytes: &[u8]) -> bool {
    #[cfg(feature = "simdutf8")]
    return simdutf8::basic::from_utf8(bytes).is_ok();
    #[cfg(not(feature = "simdutf8"))]
    return std::str::from_utf8(bytes).is_ok();
}

/// Where a row stops being UTF-8, found by the slower check that says where.
#[cold]
fn invalid_utf8(bytes: &[u8], row: u64) -> Error {
    let valid_up_to = std::str::from_utf8(bytes).err().map_or(bytes.len(), |error| error.valid_up_to());
    Error::InvalidUtf8 { row, valid_up_to }
}

pub(crate) fn parse<T: DeserializeOwned>(json: &[u8], row: u64) -> Result<T> {
    #[cfg(feature = "simd-json")]
    if let Some(value) = simd::parse(json) {
        return Ok(value);
    }
    // The fast path tracks nothing; only a failing row pays for finding out why.
    serde_json::from_slice(json).map_err(|error| explain::<T>(json, row, error))
}

/// simd-json, which parses in place: into a copy kept per thread with its buffers, so that the row stays intact
/// for serde_json, which explains a failure (or has the last word where the two parsers disagree).
#[cfg(feature = "simd-json")]
mod simd {
    use std::cell::RefCell;

    use serde::de::DeserializeOwned;

    use super::surrogate_escape;

    thread_local! {
        static SCRATCH: RefCell<(Vec<u8>, simd_json::Buffers)> = RefCell::new((Vec::new(), simd_json::Buffers::default()));
    }

    /// Rows up to this size leave their scratch space for the next row; a larger one frees it, so that memory stays
    /// bounded by the rows in flight.
    const KEEP: usize = 256 * 1024;

    /// simd-json's deserializer recurses once per nesting level without a limit, so a deeply nested document
    /// (which jsonb accepts) would overflow the stack. Nesting is at most the number of `{` and `[` bytes, which a
    /// vectorised count finds cheaply: a document with more goes to serde_json, which stops at 128 levels.
    const MAX_OPENERS: usize = 128;

    pub(super) fn parse<T: DeserializeOwned>(json: &[u8]) -> Option<T> {
        if json.iter().filter(|&&b| b == b'{' || b == b'[').count() > MAX_OPENERS || surrogate_escape(json) {
            return None;
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.try_borrow_mut().ok()?;
            let (copy, buffers) = &mut *scratch;
            copy.clear();
            copy.extend_from_slice(json);
            let parsed = simd_json::serde::from_slice_with_buffers(copy, buffers).ok();
            if json.len() > KEEP {
                *scratch = (Vec::new(), simd_json::Buffers::default());
            }
            parsed
        })
    }
}

/// Whether `json` holds a `\u` escape of a UTF-16 surrogate (`\ud800` to `\udfff`). A `json` column keeps such
/// an escape as written, even lone (`jsonb` refuses a lone one), and simd-json decodes a lone one as another
/// character where serde_json refuses it; a pair both read alike, but is rare enough to leave to serde_json too.
/// A backslash that escapes another backslash is skipped, so `\\ud800` (text, not an escape) does not count.
#[cfg(feature = "simd-json")]
fn surrogate_escape(json: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = json.get(from..).and_then(|rest| memchr::memchr(b'\\', rest)).map(|i| from + i) {
        match json.get(at + 1..at + 4) {
            Some([b'u', b'd' | b'D', b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F']) => return true,
            _ => from = at + 2,
        }
    }
    false
}

/// Why `json` does not parse into `T`: bytes that are not UTF-8, or the JSON path where the value does not fit.
#[cold]
fn explain<T: DeserializeOwned>(json: &[u8], row: u64, first: serde_json::Error) -> Error {
    // serde_json reports invalid UTF-8 inside a string as a bad code point; say what it is instead.
    if std::str::from_utf8(json).is_err() {
        return invalid_utf8(json, row);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(error) => {
            let path = describe_path(error.path());
            decode_error(row, path, error.into_inner())
        }
        // Only what follows the value can have failed (trailing characters).
        Ok(_) => decode_error(row, ".".to_owned(), deserializer.end().err().unwrap_or(first)),
    }
}

fn decode_error(row: u64, path: String, source: serde_json::Error) -> Error {
    Error::Decode { row, path, source: DecodeError::new(source) }
}

/// The path as serde_path_to_error writes it (`owner.tags[1]`, `.` for the document), with the middle of a very
/// deep one replaced by `…` and the depth.
fn describe_path(path: &Path) -> String {
    let segments: Vec<&Segment> = path.iter().collect();
    if segments.len() <= MAX_PATH_SEGMENTS {
        return path.to_string();
    }
    let keep = MAX_PATH_SEGMENTS / 2;
    let mut out = String::new();
    write_segments(&mut out, &segments[..keep]);
    out.push('…');
    write_segments(&mut out, &segments[segments.len() - keep..]);
    let _ = write!(out, " ({} levels deep)", segments.len());
    out
}

fn write_segments(out: &mut String, segments: &[&Segment]) {
    for segment in segments {
        if !matches!(segment, Segment::Seq { .. }) && !out.is_empty() && !out.ends_with('…') {
            out.push('.');
        }
        let _ = write!(out, "{segment}");
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[cfg(feature = "simd-json")]
    #[test]
    fn surrogate_escapes_go_to_serde_json() {
        for lone in [r#""\ud800""#, r#"{"a": "x\uDC00"}"#, r#"["\ude00\ud83d"]"#, r#"{"\udbff": 1}"#] {
            assert!(surrogate_escape(lone.as_bytes()), "{lone}");
            assert!(parse::<serde_json::Value>(lone.as_bytes(), 1).is_err(), "{lone} parsed");
        }
        for plain in [r#""\\ud800""#, r#""\u00e9\n""#, r#""\ue000""#, r#""x\\""#, r#""\""#, "{}"] {
            assert!(!surrogate_escape(plain.as_bytes()), "{plain}");
        }
        let pair: String = parse(r#""\ud83d\ude00""#.as_bytes(), 1).expect("a pair");
        assert_eq!(pair, "😀");
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Owned {
        owner: Owner,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Owner {
        email: String,
    }

    fn error<T: DeserializeOwned + std::fmt::Debug>(json: &[u8]) -> Error {
        parse::<T>(json, 1532).expect_err("the JSON does not fit")
    }

    #[test]
    fn the_message_names_the_row_and_path_and_no_text_position() {
        let error = error::<Owned>(br#"{"owner": {"email": null}}"#);
        let message = error.to_string();
        assert!(message.starts_with("row 1532, at owner.email: invalid type: null, expected a string;"), "{message}");
        assert!(!message.contains("line 1 column"), "{message}");
    }

    #[test]
    fn invalid_utf8_is_reported_as_such_in_every_mode() {
        let latin1 = b"{\"owner\": {\"email\": \"caf\xe9\"}}";
        assert!(matches!(error::<Owned>(latin1), Error::InvalidUtf8 { row: 1532, valid_up_to: 24 }));
        assert!(matches!(error::<serde_json::Value>(latin1), Error::InvalidUtf8 { row: 1532, .. }));
    }

    /// Arrays nested to any depth.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Level(Vec<Level>);

    #[test]
    fn deep_paths_are_shortened() {
        let depth = 127;
        let json = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
        match error::<Level>(json.as_bytes()) {
            Error::Decode { path, .. } => {
                assert_eq!(path, "[0][0][0][0][0][0]…[0][0][0][0][0][0] (127 levels deep)");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn trailing_characters_are_a_decode_error_at_the_document() {
        assert!(matches!(error::<serde_json::Value>(b"{} x"), Error::Decode { ref path, .. } if path == "."));
    }
}
