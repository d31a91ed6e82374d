//! A row handed to a decoder: it consumes its own bytes, so no decoder can leave the read buffer out of step.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

#[cfg(doc)]
use crate::protocol::frame;

/// JSON `null`, what a SQL `NULL` in `data` becomes.
const JSON_NULL: &[u8] = b"null";

/// The DataRow at the front of the read buffer. Dropping it consumes the row's bytes; [`into_json_bytes`]
/// takes them whole instead. Either way the buffer moves past exactly this row.
///
/// [`into_json_bytes`]: RawRow::into_json_bytes
pub(crate) struct RawRow<'a> {
    buf: &'a mut BytesMut,
    /// The whole message's length, header included; 0 once the bytes are taken.
    total: usize,
    /// Where the value sits in the message (`None` for SQL NULL).
    value: Option<Range<usize>>,
}

impl<'a> RawRow<'a> {
    /// The complete DataRow of `total` bytes at the front of `buf`, whose value is at `value` (as
    /// [`frame::single_column`] found it).
    #[inline]
    pub(crate) fn new(buf: &'a mut BytesMut, total: usize, value: Option<Range<usize>>) -> RawRow<'a> {
        RawRow { buf, total, value }
    }

    /// The row's JSON text (`null` for SQL NULL).
    #[inline]
    pub(crate) fn json(&self) -> &[u8] {
        match &self.value {
            Some(range) => self.buf.get(range.clone()).unwrap_or(JSON_NULL),
            None => JSON_NULL,
        }
    }

    /// The row's JSON text without copying it: the message is split off the read buffer.
    #[inline]
    pub(crate) fn into_json_bytes(mut self) -> Bytes {
        let message = self.buf.split_to(self.total).freeze();
        self.total = 0;
        match self.value.take() {
            Some(range) => message.slice(range),
            None => Bytes::from_static(JSON_NULL),
        }
    }
}

impl Drop for RawRow<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.total > 0 {
            self.buf.advance(self.total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{self, data_row};

    #[test]
    fn a_row_consumes_itself_however_it_is_used() {
        let first = data_row(Some(br#"{"a":1}"#));
        let second = data_row(None);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&first);
        buf.extend_from_slice(&second);
        buf.extend_from_slice(b"rest");

        let value = frame::single_column(&first).unwrap();
        let row = RawRow::new(&mut buf, first.len(), value);
        assert_eq!(row.json(), br#"{"a":1}"#);
        drop(row);
        let row = RawRow::new(&mut buf, second.len(), None);
        assert_eq!(row.into_json_bytes(), &b"null"[..]);
        assert_eq!(&buf[..], b"rest");
    }
}
