//! What a `json` or `jsonb` value can carry, pinned against the server (PostgreSQL 15, and 18 in CI's second
//! run): `json` keeps its text as written, so a string or key with a lone UTF-16 surrogate escape (`"\ud800"`,
//! `"\udc00"`, a reversed pair) reaches the client, whereas `jsonb` refuses one at input (22P02). The row parser
//! must refuse such a row the same way whatever parser is the default (serde_json refuses it: a lone surrogate
//! is not a Unicode scalar value), so a faster parser that accepts it may only be used after a check for it on
//! `json` columns; `jsonb` columns never need the check. simd-json decodes `"\ud800"` as `"\0"`, silently, so
//! with the `simd-json` feature rows holding a surrogate escape go to serde_json (this test passes with it too:
//! `cargo test -p fraiseql-wire-tests --features fraiseql-wire/simd-json --test it json_escapes`).

use fraiseql_wire::{Client, Error, ErrorKind};
use fraiseql_wire_tests::AuthUser;
use futures_util::TryStreamExt;

use crate::common;

/// Documents with a lone surrogate escape somewhere, as `json` text.
const LONE: [&str; 4] = [r#""\ud800""#, r#"{"a": "x\udc00y"}"#, r#"{"\ud800": 1}"#, r#"["\ude00\ud83d"]"#];

#[tokio::test]
async fn json_carries_lone_surrogate_escapes_and_jsonb_refuses_them() {
    let db = common::database().await;
    let client = Client::connect(&db.url(AuthUser::Scram)).await.expect("connect");
    for (i, text) in LONE.iter().enumerate() {
        let literal = text.replace('\'', "''");
        db.execute(&format!("CREATE VIEW v_lone_{i} AS SELECT '{literal}'::json AS data")).await;
        // The server sends the text as written.
        let raw: Vec<bytes::Bytes> =
            client.query(&format!("v_lone_{i}")).stream_raw().try_collect().await.expect("raw rows");
        assert_eq!(raw, [bytes::Bytes::from(text.to_string())], "json keeps {text} as written");
        // Decoded, the row is refused, naming the row, and the client stays usable.
        let decoded = client.query(&format!("v_lone_{i}")).fetch_all().await;
        match decoded {
            Err(error @ Error::Decode { .. }) => assert_eq!(error.kind(), ErrorKind::Decode),
            other => panic!("{text} decoded as {other:?}"),
        }
        // jsonb refuses it at input.
        let jsonb = db.admin().simple_query(&format!("SELECT '{literal}'::jsonb")).await;
        let code = jsonb.expect_err("jsonb accepted a lone surrogate").code().map(|c| c.code().to_owned());
        assert_eq!(code.as_deref(), Some("22P02"), "{text}");
    }
    // A proper pair is one character, in both types.
    let pair = client.query_as::<String>("v_pair");
    db.execute(r#"CREATE VIEW v_pair AS SELECT '"\ud83d\ude00"'::json AS data"#).await;
    assert_eq!(pair.fetch_all().await.expect("a pair decodes"), ["😀"]);
}
