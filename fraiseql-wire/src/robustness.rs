//! Property tests: whatever bytes the network or a caller hands the pure layers, they return an error rather
//! than panic, and what they accept keeps the invariants the SQL layer relies on.

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;
use proptest::prelude::*;

use crate::config::Config;
use crate::protocol::auth::Authenticator;
use crate::protocol::frame;
use crate::query::{Relation, quote_identifier};

/// SQL-ish text: quotes, dollars, comments, parentheses and semicolons appear often.
fn sqlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("'".to_owned()),
            Just("\"".to_owned()),
            Just("$".to_owned()),
            Just("$1".to_owned()),
            Just("$$".to_owned()),
            Just("$t$".to_owned()),
            Just("--".to_owned()),
            Just("/*".to_owned()),
            Just("*/".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just(";".to_owned()),
            Just("\n".to_owned()),
            Just("E'".to_owned()),
            Just("\\".to_owned()),
            "[a-z ]{0,3}",
            any::<char>().prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn frame_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = frame::header(&bytes);
        let _ = frame::single_column(&bytes);
    }

    #[test]
    fn backend_messages_never_panic_the_authenticator(tag in prop_oneof![Just(b'R'), any::<u8>()],
                                                        kind in 0u32..12,
                                                        body in proptest::collection::vec(any::<u8>(), 0..48)) {
        // An authentication request of any kind with arbitrary payload, as a hostile server could send it.
        let mut raw = BytesMut::new();
        let mut payload = kind.to_be_bytes().to_vec();
        payload.extend_from_slice(&body);
        raw.extend_from_slice(&[tag]);
        raw.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
        raw.extend_from_slice(&payload);
        if let Ok(Some(message)) = Message::parse(&mut raw) {
            // Once fresh, and once after a SASL start, so SCRAM challenges reach the SCRAM parser.
            let mut fresh = Authenticator::new("user", Some("password"));
            let _ = fresh.on_message(&message, &mut BytesMut::new());
            let mut sasl = Authenticator::new("user", Some("password"));
            let mut start = BytesMut::from(&b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"[..]);
            if let Ok(Some(start)) = Message::parse(&mut start) {
                prop_assert!(sasl.on_message(&start, &mut BytesMut::new()).is_ok());
                let _ = sasl.on_message(&message, &mut BytesMut::new());
            }
        }
    }

    #[test]
    fn fragments_never_panic_and_accepted_ones_stay_one_expression(fragment in sqlish(), params in 0usize..3) {
        if let Ok(sql) = crate::query::fragment::renumber(&fragment, 5, params) {
            // Wrapped as the builder wraps it, the result must still be one balanced, semicolon-free expression.
            let wrapped = format!("({sql})");
            prop_assert!(crate::query::fragment::renumber(&wrapped, 0, 0).is_ok() || params > 0, "{wrapped}");
        }
    }

    #[test]
    fn relation_names_never_panic_and_are_always_quoted(name in "\\PC{0,20}|[a-zA-Z_\\.\"' ;-]{0,20}") {
        if let Ok(relation) = Relation::parse(&name) {
            // Every part is a quoted identifier: the statement cannot be changed by the name.
            for part in split_quoted(&relation.quoted) {
                prop_assert!(part.len() >= 2 && part.starts_with('"') && part.ends_with('"'), "{}", relation.quoted);
                prop_assert!(!part[1..part.len() - 1].replace("\"\"", "").contains('"'), "{}", relation.quoted);
            }
        }
    }

    #[test]
    fn quoting_round_trips(name in "\\PC{1,20}") {
        prop_assume!(!name.contains('\0') && name.len() <= 63);
        let relation = Relation::parse(&quote_identifier(&name)).map(|r| r.quoted);
        prop_assert_eq!(relation.ok(), Some(quote_identifier(&name)));
    }

    #[test]
    fn connection_strings_never_panic(s in "\\PC{0,40}|(postgres(ql)?://)?[a-z%:@/\\[\\]?=&,. '\\\\0-9]{0,40}") {
        let _ = s.parse::<Config>();
    }
}

/// The dot-separated parts of a quoted relation name (dots inside quotes do not separate).
fn split_quoted(quoted: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut inside = false;
    for (i, c) in quoted.char_indices() {
        match c {
            '"' => inside = !inside,
            '.' if !inside => {
                parts.push(&quoted[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&quoted[start..]);
    parts
}
