//! Opaque keyset cursors: the position after a row (its sort keys' values) as URL-safe text, bound to the query it
//! came from.
//!
//! A cursor is base64url (no padding) of: a version byte; a 64-bit fingerprint of the query (its relation, `WHERE`
//! and `ORDER BY`, values included, without its window or projection); each key's value (a tag byte, `0` for
//! `NULL` or `1` then a LEB128 length and the value's text); and a 64-bit checksum of all of it. It holds no SQL:
//! its values are bound as parameters like any other. A cursor from another query or ordering is refused by the
//! fingerprint, a modified one by the checksum, and a value the key's type cannot hold by its check; the checksum
//! is no signature (its algorithm is public), so an application that must stop clients forging positions in
//! its ordering has to sign cursors itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::kind::Kind;
use super::location::compared_as;
use super::time::TimeStorage;
use crate::error::{InputError, InputErrorKind};
use crate::sql::Param;

const VERSION: u8 = 1;

/// Whether a value's text fits its key's SQL type (so a forged value is refused rather than sent).
pub(crate) type Check = fn(&str) -> bool;

/// FNV-1a, 64 bits: stable across processes, versions and platforms (the standard library's hasher is not).
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The cursor after a row whose keys' values are `values`, for the query whose fingerprint is `fingerprint`.
pub(crate) fn encode(fingerprint: u64, values: &[Param]) -> String {
    let mut bytes = vec![VERSION];
    bytes.extend_from_slice(&fingerprint.to_be_bytes());
    for value in values {
        match value.as_str() {
            None => bytes.push(0),
            Some(text) => {
                bytes.push(1);
                let mut len = text.len();
                loop {
                    let low = (len & 0x7f) as u8;
                    len >>= 7;
                    bytes.push(if len == 0 { low } else { low | 0x80 });
                    if len == 0 {
                        break;
                    }
                }
                bytes.extend_from_slice(text.as_bytes());
            }
        }
    }
    let checksum = fnv1a(&[b"fraiseql-wire cursor", &bytes]);
    bytes.extend_from_slice(&checksum.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn refused(message: impl Into<String>) -> InputError {
    InputError::new(
        InputErrorKind::Cursor,
        "",
        message,
        "send a cursor this query returned (a page's `next`), unchanged, with the same filter and order; or start \
         from the first page without one",
    )
}

/// The key values in `token`, if it is a cursor of the query whose fingerprint is `fingerprint`, with one value
/// per key that passes the key's check (`(nullable, check)`).
pub(crate) fn decode(token: &str, fingerprint: u64, keys: &[(bool, Check)]) -> Result<Vec<Param>, InputError> {
    if token.len() > 16 * 1024 {
        return Err(refused("the cursor is longer than any this library makes"));
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused("the cursor is not one of ours (not base64url)"))?;
    let Some((body, checksum)) = bytes.split_last_chunk::<8>() else {
        return Err(refused("the cursor is too short"));
    };
    if fnv1a(&[b"fraiseql-wire cursor", body]) != u64::from_be_bytes(*checksum) {
        return Err(refused("the cursor was modified (its checksum does not match)"));
    }
    let Some((&version, rest)) = body.split_first() else {
        return Err(refused("the cursor is too short"));
    };
    if version != VERSION {
        return Err(refused(format!("cursor version {version} is not one this version of the library reads")));
    }
    let Some((hash, mut rest)) = rest.split_first_chunk::<8>() else {
        return Err(refused("the cursor is too short"));
    };
    if u64::from_be_bytes(*hash) != fingerprint {
        return Err(refused("the cursor belongs to another query: its filter, order or view differ from this one's"));
    }
    let mut values = Vec::with_capacity(keys.len());
    for (i, (nullable, check)) in keys.iter().enumerate() {
        let Some((&tag, after)) = rest.split_first() else {
            return Err(refused("the cursor has fewer values than the query has sort keys"));
        };
        rest = after;
        match tag {
            0 if *nullable => values.push(Param::NULL),
            1 => {
                let (len, after) = leb128(rest).ok_or_else(|| refused("the cursor is truncated"))?;
                let (text, after) = after.split_at_checked(len).ok_or_else(|| refused("the cursor is truncated"))?;
                rest = after;
                let text = std::str::from_utf8(text).map_err(|_| refused("a cursor value is not UTF-8"))?;
                if !check(text) {
                    return Err(refused(format!("the cursor's value for sort key {} does not fit its type", i + 1)));
                }
                values.push(Param::text(text));
            }
            _ => return Err(refused(format!("the cursor's value for sort key {} is malformed", i + 1))),
        }
    }
    if !rest.is_empty() {
        return Err(refused("the cursor has more values than the query has sort keys"));
    }
    Ok(values)
}

fn leb128(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value: usize = 0;
    for (i, byte) in bytes.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// The check for values of kind `K` stored as `time`.
pub(crate) fn check<K: Kind>(time: TimeStorage) -> Check {
    match compared_as::<K>(time) {
        Some("numeric") => is_number,
        Some("float8" | "float4") => is_float,
        Some("boolean") => |text| matches!(text, "true" | "false"),
        Some("uuid") => is_uuid,
        // The server's date input takes many shapes; what it refuses is its own error, never a position.
        Some("timestamptz" | "timestamp" | "date") => |text| text.len() <= 64 && !text.chars().any(char::is_control),
        _ => |_| true,
    }
}

fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (digits, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(whole.is_empty() && fraction.is_empty())
        && all_digits(whole)
        && all_digits(fraction)
        && exponent.is_none_or(|e| !e.is_empty() && e.len() <= 6 && all_digits(e))
}

fn is_float(text: &str) -> bool {
    matches!(text, "NaN" | "Infinity" | "-Infinity") || (is_number(text) && text.parse::<f64>().is_ok())
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<(bool, Check)> {
        vec![(true, is_number), (false, |_| true)]
    }

    #[test]
    fn cursors_round_trip_and_refuse_any_change() {
        let values = vec![Param::NULL, Param::text("p'7 ü")];
        let token = encode(42, &values);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert_eq!(decode(&token, 42, &keys()).expect("valid"), values);
        assert!(decode(&token, 43, &keys()).is_err(), "another query");
        let long = encode(1, &[Param::text("9"), Param::text("x".repeat(300))]);
        assert_eq!(decode(&long, 1, &keys()).expect("valid")[1].as_str().map(str::len), Some(300));
        // Every single-character change is refused.
        for i in 0..token.len() {
            for replacement in ['A', 'z', '-', '0'] {
                let mut changed: Vec<char> = token.chars().collect();
                if changed[i] == replacement {
                    continue;
                }
                changed[i] = replacement;
                let changed: String = changed.into_iter().collect();
                assert!(decode(&changed, 42, &keys()).is_err(), "{changed}");
            }
        }
        assert!(decode("", 42, &keys()).is_err());
        assert!(decode("%%%", 42, &keys()).is_err());
        // A value its key cannot hold is refused even with a matching checksum.
        let forged = encode(42, &[Param::text("1; DROP"), Param::text("x")]);
        assert!(decode(&forged, 42, &keys()).is_err());
        // A null where the key cannot be null, too.
        let null = encode(42, &[Param::text("1"), Param::NULL]);
        assert!(decode(&null, 42, &keys()).is_err());
    }

    #[test]
    fn checks_accept_what_keys_hold() {
        for ok in ["0", "-12", "3.25", ".5", "1e10", "-2.5E-3"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in ["", "-", "1.2.3", "1e", "abc", "1 OR 1", "0x10"] {
            assert!(!is_number(bad), "{bad}");
        }
        assert!(is_float("NaN") && is_float("-Infinity") && is_float("1.5") && !is_float("inf"));
        assert!(is_uuid("67e55044-10b1-426f-9247-bb680e5fe0c8") && !is_uuid("67e55044-10b1-426f-9247-bb680e5fe0cg"));
    }
}
