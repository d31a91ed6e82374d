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

    use super::{suits, surrogate_escape};

    thread_local! {
        static SCRATCH: RefCell<(Vec<u8>, simd_json::Buffers)> = RefCell::new((Vec::new(), simd_json::Buffers::default()));
    }

    /// Rows up to this size leave their scratch space for the next row; a larger one frees it, so that memory stays
    /// bounded by the rows in flight.
    const KEEP: usize = 256 * 1024;

    /// simd-json's deserializer recurses once per nesting level without a limit, so a deeply nested document
    /// (which jsonb accepts) would overflow the stack. Nesting is at most the number of `{` and `[` bytes, which a
    /// vectorised count finds cheaply: a document with more goes to serde_json, which stops at 128 levels.
    pub(super) const MAX_OPENERS: usize = 128;

    /// simd-json 0.15 reads some numbers of more digits than this wrong (`1000000.00000000000000`, which `jsonb`
    /// sends as written, became 77662.79… after other numbers in one document) and reads past junk after one; the differential test found both.
    pub(super) const MAX_DIGITS: usize = 15;

    pub(super) fn parse<T: DeserializeOwned>(json: &[u8]) -> Option<T> {
        if !suits(json) || surrogate_escape(json) {
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

/// Whether simd-json reads `json` as serde_json does, as far as one pass over it can tell: nesting bounded (its
/// deserializer recurses without a limit), no number of more than `MAX_DIGITS` digits, no `-0` (the integer 0 to
/// simd-json, the float -0.0 to serde_json), no control byte besides whitespace (invalid JSON, which simd-json
/// may read past). Digits inside strings count too: such a row merely goes to
/// serde_json.
#[cfg(feature = "simd-json")]
fn suits(json: &[u8]) -> bool {
    let (mut openers, mut digits, mut previous) = (0usize, 0usize, 0u8);
    for &byte in json {
        match byte {
            b'0'..=b'9' | b'.' => {
                digits += 1;
                if digits > simd::MAX_DIGITS || (byte == b'0' && previous == b'-') {
                    return false;
                }
            }
            b'{' | b'[' => {
                openers += 1;
                digits = 0;
            }
            // A control byte is never valid outside whitespace, and simd-json reads past one after a number.
            0..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f => return false,
            _ => digits = 0,
        }
        previous = byte;
    }
    openers <= simd::MAX_OPENERS
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

/// simd-json against serde_json. On every document a server can send (valid JSON, as `json` and `jsonb` output
/// always is), whatever simd-json accepts serde_json reads as the same value (`Value` and a typed struct), and
/// what it leaves (`None`) goes to serde_json, except for `-0`. On corrupted text simd-json is laxer: it reads past
/// junk after a long number. Both keep the feature opt-in (see `where_simd_json_and_serde_json_differ`).
#[cfg(all(test, feature = "simd-json"))]
mod parser_differential {
    use proptest::prelude::*;
    use serde::Deserialize;

    use super::simd;

    /// Text with what parsers get wrong: escapes of every kind (lone and paired surrogates included), control
    /// characters, non-ASCII, quotes and backslashes.
    fn json_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z ]{0,6}".prop_map(|s| s),
            any::<char>().prop_map(|c| c.to_string()),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\n\\t\\/\\b\\f\\r".to_owned()),
            (0u32..0x10000).prop_map(|u| format!("\\u{u:04x}")),
            (0xd800u32..0xdc00, 0xdc00u32..0xe000).prop_map(|(h, l)| format!("\\u{h:04X}\\u{l:04x}")),
            Just("\\\\ud800".to_owned()),
        ];
        prop::collection::vec(piece, 0..6).prop_map(|pieces| {
            let body: String = pieces
                .concat()
                .chars()
                .map(|c| if c == '"' || (c as u32) < 0x20 { ' ' } else { c })
                .collect::<String>();
            format!("\"{}\"", body.replace("\\ ", " "))
        })
    }

    fn json_number() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?".prop_map(|s| s),
        ]
    }

    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            json_number(),
            json_string()
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((json_string(), inner), 0..6).prop_map(|fields| {
                    let fields: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    /// A document with one byte changed, dropped or added (mostly invalid).
    fn corrupted() -> impl Strategy<Value = Vec<u8>> {
        (json_text(), 0usize..4, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(text, change, at, byte)| {
            let mut bytes = text.into_bytes();
            let at = at.index(bytes.len() + 1);
            match change {
                1 if at < bytes.len() => bytes[at] = byte,
                2 if at < bytes.len() => {
                    bytes.remove(at);
                }
                3 => bytes.insert(at, byte),
                _ => {}
            }
            bytes
        })
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Typed {
        id: Option<i64>,
        name: Option<String>,
        tags: Option<Vec<String>>,
        score: Option<f64>,
    }

    fn agree<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Some(fast) = simd::parse::<T>(bytes) {
            let reference = serde_json::from_slice::<T>(bytes);
            prop_assert!(
                reference.as_ref().is_ok_and(|value| *value == fast),
                "simd-json accepted {:?} as {fast:?}, serde_json says {reference:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn on_what_a_server_sends_both_parsers_read_the_same(text in json_text()) {
            agree::<serde_json::Value>(text.as_bytes())?;
            // A struct read from an array is the one difference left (see below).
            if !text.starts_with('[') {
                agree::<Typed>(text.as_bytes())?;
            }
        }

        #[test]
        fn on_corrupted_text_both_parsers_refuse_or_read_the_same(bytes in corrupted()) {
            agree::<serde_json::Value>(&bytes)?;
        }
    }

    /// What the differential test found simd-json 0.15 reading differently goes to serde_json: `-0` (the integer 0
    /// to simd-json, -0.0 to serde_json), a number of many digits (read wrong), junk after a long number (read
    /// past). Raw simd-json is checked too, so that an upgrade that fixes them is noticed.
    #[test]
    fn what_simd_json_reads_differently_goes_to_serde_json() {
        const LONG: &[u8] = b"[-1.891960097797394e-308,false,-1000000000000000000,[],1000000.00000000000000]";
        let raw = |text: &[u8]| simd_json::serde::from_slice::<serde_json::Value>(&mut text.to_vec()).ok();
        let cases: [(&[u8], Option<serde_json::Value>); 3] = [
            (b"[-0]", Some(serde_json::json!([0]))),
            (LONG, raw(LONG)),
            (b"[-100000000000000000\x010]", Some(serde_json::json!([-100000000000000000i64]))),
        ];
        for (text, simd_json_alone) in cases {
            assert_ne!(simd_json_alone, serde_json::from_slice(text).ok(), "{}", String::from_utf8_lossy(text));
            assert_eq!(simd::parse::<serde_json::Value>(text), None, "{}", String::from_utf8_lossy(text));
        }
        assert_eq!(super::parse::<f64>(b"1000000.00000000000000", 1).ok(), Some(1_000_000.0));
    }

    /// The difference no cheap check finds, so the feature stays opt-in: a struct read from an array with more
    /// elements than fields, which serde_json refuses and simd-json accepts, dropping the extra ones.
    #[test]
    fn simd_json_reads_a_struct_from_a_longer_array() {
        let text = br#"[0,"",null,null,null]"#;
        assert!(serde_json::from_slice::<Typed>(text).is_err());
        let typed = simd::parse::<Typed>(text);
        assert_eq!(typed, Some(Typed { id: Some(0), name: Some(String::new()), tags: None, score: None }));
    }
}
