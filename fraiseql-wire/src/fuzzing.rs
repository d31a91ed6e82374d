//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`): each feeds arbitrary input to one of
//! the layers that read what the network or a caller hands over. Not a public API; `TESTING_GUIDE.md` says how to
//! run them.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;

use crate::protocol::auth::{AuthPolicy, Authenticator, Link};
use crate::protocol::frame;
use crate::sql::{Relation, parse_fragment};

/// Message framing and the DataRow fast path: on a complete `DataRow` message the fast path agrees with
/// postgres-protocol's general parser (same value, or both refuse; the fast path also refuses negative lengths
/// other than -1, which the general parser reads as NULL).
pub fn frame(bytes: &[u8]) {
    let header = frame::header(bytes);
    let ours = frame::single_column(bytes);
    let Ok(Some(header)) = header else { return };
    if header.tag != frame::DATA_ROW || header.total != bytes.len() {
        return;
    }
    let ours = ours.ok().map(|value| value.map(|range| &bytes[range]));
    let mut raw = BytesMut::from(bytes);
    let Ok(Some(Message::DataRow(row))) = Message::parse(&mut raw) else {
        assert!(ours.is_none(), "the fast path read {ours:?} from a DataRow the general parser refuses: {bytes:?}");
        return;
    };
    let mut ranges = row.ranges();
    let mut columns = Vec::new();
    let theirs = loop {
        match ranges.next() {
            Ok(Some(range)) => columns.push(range.map(|range| &row.buffer()[range])),
            Ok(None) => break Some(columns),
            Err(_) => break None,
        }
    };
    let declared = bytes.get(7..11).map(|l| i32::from_be_bytes([l[0], l[1], l[2], l[3]]));
    let expected = match theirs.as_deref() {
        Some(&[None]) if declared != Some(-1) => None,
        Some(&[value]) => Some(value),
        _ => None,
    };
    assert_eq!(ours, expected, "the fast path and the general parser disagree on {bytes:?}");
}

/// A server's authentication message, to a fresh authenticator and to one in the middle of SCRAM.
pub fn auth(bytes: &[u8]) {
    // Only whole messages, as the connection hands over: `Message::parse` reserves whatever length an incomplete
    // message declares, which the connection's own framing checks and caps first.
    match frame::header(bytes) {
        Ok(Some(header)) if header.total <= bytes.len() => {}
        _ => return,
    }
    let mut raw = BytesMut::from(bytes);
    let Ok(Some(message)) = Message::parse(&mut raw) else { return };
    let mut fresh = Authenticator::new("user", Some("password"), AuthPolicy::default(), Link::plain(false));
    let _ = fresh.on_message(&message, &mut BytesMut::new());
    let mut start = BytesMut::from(&b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"[..]);
    if let Ok(Some(start)) = Message::parse(&mut start) {
        let mut scram = Authenticator::new("user", Some("password"), AuthPolicy::default(), Link::plain(false));
        if scram.on_message(&start, &mut BytesMut::new()).is_ok() {
            let _ = scram.on_message(&message, &mut BytesMut::new());
        }
    }
}

/// A libpq connection string: parsing never panics, and what parses prints (`Display`, the `key=value` form) as
/// a string that parses back to the same settings, the password aside (it prints as a placeholder).
pub fn connection_string(text: &str) {
    let Ok(config) = text.parse::<crate::config::Config>() else { return };
    let shown = config.to_string();
    let again: crate::config::Config =
        shown.parse().unwrap_or_else(|e| panic!("{text:?} prints as {shown:?}, which does not parse: {e}"));
    let mut expected = config.clone();
    if expected.password.is_some() {
        expected.password = Some(crate::config::Secret::from("<redacted>".to_owned()));
    }
    assert!(
        again == expected,
        "{text:?} prints as {shown:?}, which parses to other settings:\n{again:?}\n{expected:?}"
    );
}

/// A `where_sql` fragment with `params` parameters, and a relation name.
pub fn sql(text: &str, params: usize) {
    let _ = parse_fragment(text, params % 4);
    let _ = Relation::parse(text);
}

/// Server bytes read as a query's rows, split into reads at `cuts`; panics if two splittings disagree or the
/// read buffer grows past what the message caps allow.
pub fn session(bytes: &[u8], cuts: &[usize]) {
    let (seen, largest) = crate::connection::replay::replay(bytes, cuts);
    let (whole, _) = crate::connection::replay::replay(bytes, &[]);
    assert_eq!(seen, whole, "the same bytes read in other pieces gave another result");
    assert!(largest <= 256 * 1024, "the read buffer grew to {largest} bytes");
}
