//! Projection against a real server: a struct of a few fields read from wide documents (toasted and not) receives
//! only its keys, decodes to exactly what the whole document gives, and keeps "absent", "null", non-object
//! documents and SQL `NULL` apart; filters, ordering and keyset pagination still see the whole document.

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use fraiseql_wire::{Client, Entity, Query};
use fraiseql_wire_tests::{AuthUser, TestDatabase};

use crate::common::{connect, database};

/// A struct reading seven keys of the wide documents, with `#[entity(projection)]` or without; the fields
/// exercise what a projection must keep.
macro_rules! reader {
    ($(#[$doc:meta])* $name:ident $(, $projection:ident)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize, Entity)]
        #[entity(view = "v_wide" $(, $projection)?)]
        struct $name {
            #[entity(column)]
            id: i64,
            #[entity(order_key)]
            name: String,
            status: String,
            /// Absent in some documents: the default, which a `null` would not give. No handle: the server's
            /// filters would see the key missing where the row holds 0.
            #[serde(default)]
            #[entity(skip)]
            rank: u32,
            /// `null` in some documents, absent in others.
            maybe: Option<String>,
            /// Read under its alias in some documents.
            #[serde(alias = "old_label")]
            label: Option<String>,
            /// Kept whole, nested nulls included.
            #[entity(skip)]
            nested: Value,
        }
    };
}

reader!(
    /// Projected by the attribute.
    Slim, projection
);
reader!(
    /// Whole documents.
    Whole
);

impl From<Whole> for Slim {
    fn from(w: Whole) -> Slim {
        Slim {
            id: w.id,
            name: w.name,
            status: w.status,
            rank: w.rank,
            maybe: w.maybe,
            label: w.label,
            nested: w.nested,
        }
    }
}

const ROWS: i64 = 60;

/// `v_wide`: documents of about 120 KB (toasted) for even ids and 1.5 KB (inline) for odd ones, each with 40
/// padding keys nobody reads; `v_odd` adds a non-object document and a SQL `NULL`; `v_wide_json` is the same
/// as `json`.
async fn setup() -> (TestDatabase, Client) {
    let db = database().await;
    db.execute(&format!(
        "CREATE TABLE wide (id bigint PRIMARY KEY, data jsonb);
         INSERT INTO wide SELECT i,
             jsonb_build_object('id', i, 'name', 'n' || lpad(i::text, 4, '0'), 'status',
                                CASE WHEN i % 3 = 0 THEN 'active' ELSE 'done' END,
                                'category', CASE WHEN i % 2 = 0 THEN 'big' ELSE 'small' END,
                                'nested', jsonb_build_object('a', NULL, 'b', jsonb_build_array(i, NULL)))
             || CASE WHEN i % 4 = 0 THEN '{{}}'::jsonb ELSE jsonb_build_object('rank', i) END
             || CASE i % 3 WHEN 0 THEN '{{}}'::jsonb WHEN 1 THEN '{{\"maybe\": null}}'::jsonb
                           ELSE jsonb_build_object('maybe', 'm' || i) END
             || CASE WHEN i % 5 = 0 THEN jsonb_build_object('old_label', 'old' || i)
                     ELSE jsonb_build_object('label', 'l' || i) END
             || (SELECT jsonb_object_agg('pad' || j,
                        CASE WHEN i % 2 = 0 THEN (SELECT string_agg(md5((i * 1000 + j * 10 + r)::text), '')
                                                  FROM generate_series(1, 90) r)
                             ELSE md5((i * 1000 + j)::text) END)
                 FROM generate_series(1, 40) j)
         FROM generate_series(1, {ROWS}) i;
         CREATE VIEW v_wide AS SELECT id, data FROM wide;
         CREATE VIEW v_wide_json AS SELECT id, data::json AS data FROM wide;
         CREATE VIEW v_odd AS SELECT * FROM (VALUES (1, '5'::jsonb), (2, '[\"name\"]'), (3, NULL),
                                                   (4, '{{\"name\": \"x\", \"pad\": 1}}')) AS t(id, data);
         ANALYZE wide;"
    ))
    .await;
    let client = connect(&db.socket_conninfo(AuthUser::Scram)).await;
    (db, client)
}

async fn raw(query: Query<impl Sized>) -> Vec<Bytes> {
    query.stream_raw().try_collect().await.expect("raw rows")
}

fn total(rows: &[Bytes]) -> usize {
    rows.iter().map(Bytes::len).sum()
}

#[tokio::test]
async fn a_projected_struct_decodes_as_from_whole_documents_from_far_fewer_bytes() {
    let (_db, client) = setup().await;
    let projected: Vec<Slim> = Slim::query(&client).order_by(|s| s.name.asc()).fetch_all().await.expect("projected");
    let whole: Vec<Whole> = Whole::query(&client).order_by(|w| w.name.asc()).fetch_all().await.expect("whole");
    assert_eq!(projected.len(), ROWS as usize);
    assert_eq!(projected, whole.into_iter().map(Slim::from).collect::<Vec<_>>());
    // The serde defaults, aliases and nulls the data set was built to exercise all occurred.
    assert!(projected.iter().any(|s| s.rank == 0) && projected.iter().any(|s| s.rank > 0));
    assert!(projected.iter().any(|s| s.label.as_deref().is_some_and(|l| l.starts_with("old"))));
    assert_eq!(projected[0].nested, json!({"a": null, "b": [1, null]}));

    let exact = Slim::select().on(&client).select_keys(Slim::KEYS.expect("listed").iter().copied());
    let slim_bytes = total(&raw(exact).await);
    let whole_bytes = total(&raw(Slim::select().on(&client).whole_documents()).await);
    assert_eq!(whole_bytes, total(&raw(Whole::query(&client)).await));
    assert!(slim_bytes * 100 < whole_bytes, "projected {slim_bytes} B, whole {whole_bytes} B");
}

#[tokio::test]
async fn an_adaptive_projection_sends_small_documents_whole() {
    let (db, client) = setup().await;
    // `projected()` builds documents stored in at least 256 bytes per key read; `Slim` reads 7 keys.
    let threshold = 256 * Slim::KEYS.expect("listed").len() as i32;
    let stored = db.admin().query("SELECT id, pg_column_size(data) FROM wide", &[]).await.expect("sizes");
    let small: std::collections::BTreeSet<i64> =
        stored.iter().filter(|row| row.get::<_, i32>(1) < threshold).map(|row| row.get(0)).collect();
    assert!(!small.is_empty() && small.len() < ROWS as usize, "the data set has both sizes: {small:?}");
    for row in raw(Slim::query(&client)).await {
        let document: Value = serde_json::from_slice(&row).expect("json");
        let id = document["id"].as_i64().expect("an id");
        let whole = document.get("pad1").is_some();
        assert_eq!(whole, small.contains(&id), "row {id}: sent whole = {whole}");
    }
}

#[tokio::test]
async fn absent_null_non_object_and_sql_null_documents_stay_apart() {
    let (_db, client) = setup().await;
    let rows: Vec<Value> = client
        .query("v_wide")
        .select_keys(["maybe", "rank", "nope"])
        .where_sql("id <= $1", &[&4i64])
        .order_by_sql("id")
        .fetch_all()
        .await
        .expect("projected values");
    assert_eq!(
        rows,
        [
            json!({"maybe": null, "rank": 1}),
            json!({"maybe": "m2", "rank": 2}),
            json!({"rank": 3}),
            json!({"maybe": null})
        ]
    );

    let odd: Vec<Value> =
        client.query("v_odd").select_keys(["name"]).order_by_sql("id").fetch_all().await.expect("odd documents");
    assert_eq!(odd, [json!(5), json!(["name"]), Value::Null, json!({"name": "x"})]);

    // A `json` view is projected the same way.
    let from_json: Vec<Value> =
        client.query("v_wide_json").select_keys(["id"]).order_by_sql("id").limit(2).fetch_all().await.expect("json");
    assert_eq!(from_json, [json!({"id": 1}), json!({"id": 2})]);
}

#[tokio::test]
async fn filters_order_and_keyset_pages_use_keys_outside_the_projection() {
    let (_db, client) = setup().await;
    let big_active = |query: Query<Slim>| {
        query
            .where_sql("data->>'category' = $1", &[&"big"])
            .filter(|s| s.status.eq("active"))
            .order_by_sql("data->>'category'")
            .order_by(|s| s.name.desc())
    };
    let expected: Vec<i64> = (1..=ROWS).rev().filter(|i| i % 6 == 0).collect();
    let all: Vec<Slim> = big_active(Slim::query(&client)).fetch_all().await.expect("filtered");
    assert_eq!(all.iter().map(|s| s.id).collect::<Vec<_>>(), expected);
    assert_eq!(big_active(Slim::query(&client)).count().await.expect("count"), expected.len() as u64);

    let mut paged = Vec::new();
    let mut last: Option<Slim> = None;
    loop {
        let page_query = big_active(Slim::query(&client)).limit(3);
        let page_query = match &last {
            Some(row) => page_query.after(row),
            None => page_query,
        };
        let page = page_query.fetch_all().await.expect("page");
        let Some(end) = page.last().cloned() else { break };
        paged.extend(page.iter().map(|s| s.id));
        last = Some(end);
    }
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn projected_asks_an_entity_without_the_attribute_and_whole_documents_undoes_it() {
    let (_db, client) = setup().await;
    let query = Whole::query(&client).projected().where_sql("id = $1", &[&2i64]);
    let sql = query.to_sql().expect("sql").sql;
    assert!(sql.contains("jsonb_build_object('id', __fraiseql_doc->'id', 'name', "), "{sql}");
    assert!(sql.contains("'old_label'") && !sql.contains("'pad1'"), "{sql}");
    let projected = raw(query.clone()).await;
    let whole = raw(query.whole_documents()).await;
    assert_eq!(projected.len(), 1);
    let keys = |bytes: &Bytes| {
        let value: Value = serde_json::from_slice(bytes).expect("json");
        let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&projected[0]), ["id", "label", "maybe", "name", "nested", "rank", "status"]);
    assert_eq!(keys(&whole[0]).len(), 48);
}
