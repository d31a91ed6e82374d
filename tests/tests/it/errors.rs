//! Queries that fail: before the first row, in the middle of the stream, and injection attempts
//! (acceptance points 4, 6 and 8).

use crate::common::{assert_usable, connect, create_small_view, database};
use fraiseql_wire::{Client, Error};
use fraiseql_wire_tests::AuthUser;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

/// The first item of the stream is `err`, and the stream ends right after it.
async fn first_item_is_error(client: &Client, view: &str) -> Error {
    let mut rows = client.query(view).stream();
    let err = match rows.next().await {
        Some(Err(err)) => err,
        Some(Ok(row)) => panic!("{view}: expected an error before the first row, got the row {row}"),
        None => panic!("{view}: expected an error before the first row, the stream ended"),
    };
    assert!(rows.next().await.is_none(), "{view}: the stream must end after its error");
    assert_eq!(rows.rows_read(), 0);
    err
}

#[tokio::test]
async fn view_without_data_column_lists_its_columns() {
    let db = database().await;
    db.execute("CREATE VIEW v_two AS SELECT 1::int AS id, 'x'::text AS \"Name\"").await;
    create_small_view(&db).await;
    let client = connect(&db.url(AuthUser::Scram)).await;

    for _ in 0..2 {
        let err = first_item_is_error(&client, "v_two").await;
        match &err {
            Error::NoDataColumn { relation, columns } => {
                assert_eq!(relation, "v_two");
                assert_eq!(columns, r#"id integer, "Name" text"#);
            }
            other => panic!("expected NoDataColumn, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("v_two has no `data` column"), "{message}");
        assert!(message.contains(r#"id integer, "Name" text"#), "{message}");
        assert!(message.contains("AS data"), "the message should show what the view should look like: {message}");
        assert_usable(&client).await;
    }
    // fetch_* report the same error.
    let err = client.query("v_two").fetch_optional().await.unwrap_err();
    assert!(matches!(err, Error::NoDataColumn { .. }), "{err:?}");
    assert_usable(&client).await;
}

#[tokio::test]
async fn text_data_column_is_not_json() {
    let db = database().await;
    db.execute(
        "CREATE VIEW v_text AS SELECT '{\"a\": 1}'::text AS data FROM generate_series(1, 100000); \
         CREATE VIEW v_int AS SELECT 42 AS data",
    )
    .await;
    create_small_view(&db).await;
    let client = connect(&db.socket_conninfo(AuthUser::Md5)).await;

    for _ in 0..2 {
        let err = first_item_is_error(&client, "v_text").await;
        match &err {
            Error::NotJson { relation, type_name } => {
                assert_eq!(relation, "v_text");
                assert_eq!(type_name, "text");
            }
            other => panic!("expected NotJson, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("has type text"), "{message}");
        assert!(message.contains("json or jsonb"), "{message}");
        assert_usable(&client).await;
    }
    let err = client.query("v_int").stream_raw().try_next().await.unwrap_err();
    assert!(
        matches!(&err, Error::NotJson { type_name, .. } if type_name == "integer" || type_name == "int4"),
        "{err:?}"
    );
    assert_usable(&client).await;
}

#[tokio::test]
async fn missing_view_is_42p01_with_advice() {
    let db = database().await;
    create_small_view(&db).await;
    let client = connect(&db.url(AuthUser::Password)).await;

    for view in ["v_missing", "nosuchschema.v_small"] {
        let err = first_item_is_error(&client, view).await;
        assert_eq!(err.code(), Some("42P01"), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("does not exist"), "{message}");
        assert!(message.contains("create the view or check its name"), "{message}");
        assert_usable(&client).await;
    }
    let err = client.query("v_missing").fetch_one().await.unwrap_err();
    assert_eq!(err.code(), Some("42P01"));
    assert_usable(&client).await;
}

#[tokio::test]
async fn error_at_row_500_ends_the_stream_after_499_rows() {
    let db = database().await;
    db.execute(
        "CREATE VIEW v_fails AS SELECT jsonb_build_object('i', i, 'x', 1 / (500 - i)) AS data \
         FROM generate_series(1, 1000) AS i",
    )
    .await;
    create_small_view(&db).await;
    let client = connect(&db.url(AuthUser::Scram)).await;

    for _ in 0..2 {
        let mut rows = client.query("v_fails").stream();
        for i in 1..500 {
            let row = rows.next().await.unwrap_or_else(|| panic!("the stream ended before row {i}"));
            let row: Value = row.unwrap_or_else(|e| panic!("row {i} failed: {e}"));
            assert_eq!(row, json!({"i": i, "x": 1 / (500 - i)}));
        }
        let err = match rows.next().await {
            Some(Err(err)) => err,
            other => panic!("expected the division by zero after row 499, got {other:?}"),
        };
        assert_eq!(err.code(), Some("22012"), "{err:?}");
        assert!(err.to_string().contains("division by zero"), "{err}");
        assert!(rows.next().await.is_none(), "the stream must end after the server error");
        assert!(rows.next().await.is_none());
        assert_eq!(rows.rows_read(), 499);
        drop(rows);
        assert_usable(&client).await;
    }

    // The raw form and fetch_all see the same.
    let raw: Vec<_> = client.query("v_fails").stream_raw().collect().await;
    assert_eq!(raw.len(), 500);
    assert!(raw[..499].iter().all(Result::is_ok));
    assert_eq!(raw[499].as_ref().unwrap_err().code(), Some("22012"));
    assert_eq!(client.query("v_fails").fetch_all().await.unwrap_err().code(), Some("22012"));
    // Rows before the failing one can still be had.
    let first = client.query("v_fails").limit(499).fetch_all().await.unwrap();
    assert_eq!(first.len(), 499);
    assert_usable(&client).await;
}

#[tokio::test]
async fn injection_attempts_change_nothing() {
    let db = database().await;
    db.execute(
        "CREATE TABLE canary (x int); INSERT INTO canary VALUES (1); \
         CREATE VIEW v_people AS SELECT jsonb_build_object('name', name) AS data \
         FROM (VALUES ('alice'), ('O''Brien; --'), ('bob')) AS t(name)",
    )
    .await;
    create_small_view(&db).await;
    // The superuser could drop the canary if any of this reached the server as SQL.
    let client = connect(&db.url(AuthUser::Superuser)).await;
    let payload = "'; DROP TABLE canary; --";

    // A relation name that is not an identifier is refused before anything is sent.
    let err = client.query(payload).fetch_all().await.unwrap_err();
    match &err {
        Error::InvalidRelation { name, .. } => assert_eq!(name, payload),
        other => panic!("expected InvalidRelation, got {other:?}"),
    }
    assert!(err.to_string().contains("invalid relation name"), "{err}");
    for name in ["v_small; DROP TABLE canary", "v_small--", "public.v_small.x", "v_small UNION SELECT 1"] {
        let err = client.query(name).stream().try_next().await.unwrap_err();
        assert!(matches!(err, Error::InvalidRelation { .. }), "{name}: {err:?}");
    }

    // Quoted, it is one (missing) identifier.
    let quoted = format!("\"{payload}\"");
    let err = client.query(&quoted).fetch_all().await.unwrap_err();
    assert_eq!(err.code(), Some("42P01"), "{err:?}");
    let err = client.query(r#""v_small"" ; DROP TABLE canary; --""#).fetch_all().await.unwrap_err();
    assert_eq!(err.code(), Some("42P01"), "{err:?}");

    // Values are bound parameters, never SQL.
    let none = client.query("v_people").where_sql("data->>'name' = $1", &[&payload]).fetch_all().await.unwrap();
    assert!(none.is_empty(), "{none:?}");
    let tricky = client.query("v_people").where_sql("data->>'name' = $1", &[&"O'Brien; --"]).fetch_all().await;
    assert_eq!(tricky.unwrap(), [json!({"name": "O'Brien; --"})]);

    // Fragments must be one expression.
    for fragment in ["true; DROP TABLE canary", "true) OR (true", "true /* ", "data->>'name' = '"] {
        let err = client.query("v_people").where_sql(fragment, &[]).fetch_all().await.unwrap_err();
        match &err {
            Error::InvalidFragment { fragment: given, .. } => assert_eq!(given, fragment),
            other => panic!("{fragment}: expected InvalidFragment, got {other:?}"),
        }
    }
    let err = client.query("v_people").order_by_sql("1; DROP TABLE canary").fetch_all().await.unwrap_err();
    assert!(matches!(err, Error::InvalidFragment { .. }), "{err:?}");
    // A `;` inside a string literal is just text.
    let literal = client.query("v_people").where_sql("data->>'name' <> ';DROP TABLE canary'", &[]).fetch_all();
    assert_eq!(literal.await.unwrap().len(), 3);

    assert_usable(&client).await;
    let alive: bool = db.admin().query_one("SELECT to_regclass('canary') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(alive, "the canary table was dropped");
    let rows: i64 = db.admin().query_one("SELECT count(*) FROM canary", &[]).await.unwrap().get(0);
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn permission_denied_is_42501_with_advice() {
    let db = database().await;
    // Function calls in a view are checked against the querying role, and pg_read_all_data does not grant
    // EXECUTE, so this view fails for every test role.
    db.execute(
        "CREATE FUNCTION secret() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$; \
         REVOKE EXECUTE ON FUNCTION secret() FROM PUBLIC; \
         CREATE VIEW v_secret AS SELECT secret() AS data",
    )
    .await;
    create_small_view(&db).await;
    let client = connect(&db.url(AuthUser::Trust)).await;
    for _ in 0..2 {
        let err = first_item_is_error(&client, "v_secret").await;
        assert_eq!(err.code(), Some("42501"), "{err:?}");
        assert!(err.to_string().contains("GRANT"), "{err}");
        assert_usable(&client).await;
    }
}

#[tokio::test]
async fn client_encoding_changed_by_the_view_closes_the_connection() {
    let db = database().await;
    db.execute(
        "CREATE VIEW v_latin1 AS SELECT jsonb_build_object('i', i, 'enc', \
         set_config('client_encoding', 'LATIN1', false)) AS data FROM generate_series(1, 3) AS i",
    )
    .await;
    create_small_view(&db).await;
    let client = connect(&db.url(AuthUser::Scram)).await;

    let items: Vec<_> = client.query("v_latin1").stream().collect().await;
    let err = items.iter().find_map(|item| item.as_ref().err()).expect("an encoding change must be reported");
    assert!(matches!(err, Error::EncodingChanged(enc) if enc == "LATIN1"), "{err:?}");
    assert!(matches!(items.last(), Some(Err(_))), "the error ends the stream: {items:?}");
    // The next query runs on a fresh connection, in UTF8.
    assert_usable(&client).await;
}

/// Reported by a user: a view that switches `client_encoding` to LATIN1 and returns `café` was `InvalidUtf8` in
/// raw mode but a `Decode` error ("invalid unicode code point", advice: make the field an `Option`) as `Value` or
/// a struct. It is `InvalidUtf8` in every mode, and the encoding change that caused it closes the connection.
#[tokio::test]
async fn latin1_bytes_are_invalid_utf8_in_every_mode() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // decoded, never read
    struct Named {
        name: String,
    }

    let db = database().await;
    db.execute(
        "CREATE VIEW v_cafe AS SELECT jsonb_build_object('name', 'café', \
         'enc', set_config('client_encoding', 'LATIN1', false)) AS data",
    )
    .await;
    create_small_view(&db).await;
    let client = connect(&db.url(AuthUser::Scram)).await;

    let modes: [(&str, Vec<Result<(), Error>>); 3] = [
        ("raw", client.query("v_cafe").stream_raw().map_ok(drop).collect().await),
        ("value", client.query("v_cafe").stream().map_ok(drop).collect().await),
        ("typed", client.query("v_cafe").stream_as::<Named>().map_ok(drop).collect().await),
    ];
    for (mode, items) in modes {
        match items.as_slice() {
            [Err(Error::InvalidUtf8 { row: 1, valid_up_to }), Err(Error::EncodingChanged(encoding))] => {
                assert_eq!(encoding, "LATIN1", "{mode}");
                assert!(*valid_up_to > 0, "{mode}");
            }
            other => panic!("{mode}: expected InvalidUtf8 then EncodingChanged, got {other:?}"),
        }
        let message = items[0].as_ref().unwrap_err().to_string();
        assert!(message.contains("client_encoding"), "{mode}: the advice names the cause: {message}");
        assert_usable(&client).await;
    }
}
