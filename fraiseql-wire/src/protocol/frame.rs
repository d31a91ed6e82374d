//! Splitting the backend byte stream into messages, with the row fast path.

use std::ops::Range;

use crate::error::Error;

/// Byte length of a message header: one tag byte and a 4-byte length.
pub(crate) const HEADER_LEN: usize = 5;

/// The tag of a `DataRow` message.
pub(crate) const DATA_ROW: u8 = b'D';

/// The start of a backend message: its tag and its total length (header included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) tag: u8,
    pub(crate) total: usize,
}

/// Reads the header at the start of `buf`, if five bytes are there.
pub(crate) fn header(buf: &[u8]) -> Result<Option<Header>, Error> {
    let Some(&[tag, a, b, c, d]) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([a, b, c, d]);
    if len < 4 || len > i32::MAX as u32 {
        return Err(Error::protocol(format!("message `{}` declares an invalid length {len}", tag.escape_ascii())));
    }
    Ok(Some(Header { tag, total: len as usize + 1 }))
}

/// Where the single column's value sits inside a complete `DataRow` message (`None` for SQL NULL).
///
/// `message` is the whole message, header included. Rows of any other width are a protocol error: the query
/// layer only ever selects one column.
pub(crate) fn single_column(message: &[u8]) -> Result<Option<Range<usize>>, Error> {
    let body = message.get(HEADER_LEN..).unwrap_or_default();
    let Some(&[c0, c1, l0, l1, l2, l3]) = body.get(..6) else {
        return Err(Error::protocol("truncated DataRow message"));
    };
    let columns = i16::from_be_bytes([c0, c1]);
    if columns != 1 {
        return Err(Error::protocol(format!("expected rows of one column, got {columns}")));
    }
    let len = i32::from_be_bytes([l0, l1, l2, l3]);
    let start = HEADER_LEN + 6;
    if len < 0 {
        return if len == -1 && message.len() == start {
            Ok(None)
        } else {
            Err(Error::protocol(format!("invalid column length {len} in DataRow")))
        };
    }
    let end = start + len as usize;
    if end != message.len() {
        return Err(Error::protocol(format!(
            "DataRow column length {len} does not match the message length {}",
            message.len()
        )));
    }
    Ok(Some(start..end))
}

/// A one-column DataRow message holding `value` (`None`: SQL NULL), for tests.
#[cfg(test)]
pub(crate) fn data_row(value: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![0, 1];
    match value {
        Some(v) => {
            body.extend_from_slice(&(v.len() as i32).to_be_bytes());
            body.extend_from_slice(v);
        }
        None => body.extend_from_slice(&(-1i32).to_be_bytes()),
    }
    let mut message = vec![DATA_ROW];
    message.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    message.extend_from_slice(&body);
    message
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn header_needs_five_bytes() {
        assert_eq!(header(&[b'D', 0, 0, 0]).unwrap(), None);
        assert_eq!(header(&[b'D', 0, 0, 0, 10]).unwrap(), Some(Header { tag: b'D', total: 11 }));
    }

    #[test]
    fn header_rejects_lengths_below_four_and_above_i32() {
        assert!(header(&[b'D', 0, 0, 0, 3]).is_err());
        assert!(header(&[b'D', 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn single_column_finds_the_value() {
        let msg = data_row(Some(br#"{"a":1}"#));
        let range = single_column(&msg).unwrap().unwrap();
        assert_eq!(&msg[range], br#"{"a":1}"#);
    }

    #[test]
    fn single_column_null() {
        assert_eq!(single_column(&data_row(None)).unwrap(), None);
    }

    #[test]
    fn single_column_rejects_inconsistent_lengths() {
        let mut msg = data_row(Some(b"{}"));
        msg.push(b'x');
        assert!(single_column(&msg).is_err());
        let msg = data_row(Some(b"{}"));
        assert!(single_column(&msg[..msg.len() - 1]).is_err());
        assert!(single_column(&msg[..7]).is_err());
    }

    #[test]
    fn single_column_rejects_other_widths() {
        let mut msg = data_row(Some(b"{}"));
        msg[6] = 2;
        assert!(single_column(&msg).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn frame_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = header(&bytes);
            let _ = single_column(&bytes);
        }
    }
}
