//! Opaque cursors and pages: over 10,001 rows whose sort keys repeat (and are sometimes missing or null), pages
//! of typed and of raw rows return every row exactly once in the query's order, with exact and estimated totals;
//! a cursor of another ordering or filter, a modified one and garbage are refused before reaching the server.

use std::collections::BTreeSet;

use fraiseql_wire::entity::{InputErrorKind, Page, Total};
use fraiseql_wire::{Entity, Error, ErrorKind, Query};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::differential::Differential;

#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize, Entity)]
#[entity(view = "v_paged")]
struct Item {
    #[entity(column = "id")]
    id: i64,
    priority: i64,
    score: Option<f64>,
    team: String,
}

const ROWS: usize = 10_001;

fn documents() -> Vec<Map<String, Value>> {
    (0..ROWS)
        .map(|i| {
            let mut doc = Map::new();
            doc.insert("priority".into(), json!(i % 7));
            doc.insert("team".into(), json!(["core", "web", "ops"][i % 3]));
            match i % 5 {
                0 => {}
                1 => {
                    doc.insert("score".into(), Value::Null);
                }
                _ => {
                    doc.insert("score".into(), json!((i % 11) as f64 / 4.0));
                }
            }
            doc
        })
        .collect()
}

/// The ordering under test: a nullable float key descending, a repeating integer key, then the unique id.
fn ordered(client: &fraiseql_wire::Client) -> Query<Item> {
    Item::query(client).order_by(|i| (i.score.desc(), i.priority.asc(), i.id.asc()))
}

/// Every page of `first`, by cursor, `limit` rows at a time, with `total` on each: the ids in page order.
fn typed_pages(db: &Differential, query: impl Fn() -> Query<Item>, limit: u64, total: Total) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let next = match &cursor {
            Some(cursor) => query().after_cursor(cursor),
            None => query(),
        };
        let page: Page<Item> = db.block_on(next.fetch_page_with(limit, total)).expect("a page");
        assert!(page.items().len() as u64 <= limit);
        if total == Total::Exact {
            assert_eq!(page.total(), Some(ROWS as u64), "the total is the whole result's on every page");
        }
        ids.extend(page.items().iter().map(|item| item.id));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

#[test]
fn pages_return_every_row_exactly_once_typed_and_raw() {
    let db = Differential::load::<Item>("paged_docs", &documents());
    let client = db.client();
    let everything: Vec<i64> =
        db.block_on(ordered(client).stream().map_ok(|item| item.id).try_collect()).expect("all rows");
    assert_eq!(everything.len(), ROWS);

    let typed = typed_pages(&db, || ordered(client), 997, Total::Exact);
    assert_eq!(typed, everything, "typed pages, in order, each row once");

    // Raw pages: the cursor is read from the last document's JSON.
    let mut raw = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => ordered(client).after_cursor(cursor),
            None => ordered(client),
        };
        let page = db.block_on(query.fetch_page_raw(1_500, Total::None)).expect("a raw page");
        assert_eq!(page.total(), None);
        raw.extend(
            page.items()
                .iter()
                .map(|doc| serde_json::from_slice::<Value>(doc).expect("JSON")["id"].as_i64().expect("an id")),
        );
        match page.next_cursor() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(raw, everything, "raw pages, in order, each row once");

    // A filtered query pages through its own rows only; the last page is exactly full or short, never empty
    // with a cursor.
    let filtered = || ordered(client).filter(|i| i.team.eq("web"));
    let web = typed_pages(&db, filtered, 1_000, Total::None);
    let expected: BTreeSet<i64> = (0..ROWS as i64).filter(|i| i % 3 == 1).collect();
    assert_eq!(web.iter().copied().collect::<BTreeSet<_>>(), expected);
    assert_eq!(web.len(), expected.len());

    // The estimate is the planner's: near the truth once the table is analysed.
    db.block_on(async {
        let page = ordered(client).fetch_page_with(10, Total::Estimate).await.expect("a page");
        let estimate = page.total().expect("an estimate");
        assert!((ROWS as u64 / 2..ROWS as u64 * 2).contains(&estimate), "estimate {estimate}");
        // With bound parameters too (EXPLAIN of the filtered statement).
        let web = ordered(client).filter(|i| i.team.eq("web")).fetch_page_with(10, Total::Estimate).await;
        let estimate = web.expect("a page").total().expect("an estimate");
        assert!((1..ROWS as u64).contains(&estimate), "estimate {estimate}");
    });
}

fn refused(db: &Differential, query: Query<Item>) -> fraiseql_wire::entity::InputError {
    match db.block_on(query.fetch_page(10)) {
        Err(Error::Input(error)) => {
            assert_eq!(error.kind(), InputErrorKind::Cursor, "{error}");
            *error
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn cursors_of_other_queries_and_modified_cursors_are_refused() {
    let docs: Vec<Map<String, Value>> = documents().into_iter().take(100).collect();
    let db = Differential::load::<Item>("paged_refusals", &docs);
    let client = db.client();
    let page = db.block_on(ordered(client).fetch_page(10)).expect("a page");
    let cursor = page.next_cursor().expect("more pages").to_owned();

    let other_order = Item::query(client).order_by(|i| (i.priority.desc(), i.id.asc())).after_cursor(&cursor);
    let error = refused(&db, other_order);
    assert!(error.message().contains("another query"), "{error}");
    refused(&db, ordered(client).filter(|i| i.team.eq("web")).after_cursor(&cursor));
    refused(&db, ordered(client).after_cursor("garbage!"));
    refused(&db, ordered(client).after_cursor(""));
    let mut modified: Vec<char> = cursor.chars().collect();
    let middle = modified.len() / 2;
    modified[middle] = if modified[middle] == 'A' { 'B' } else { 'A' };
    let modified: String = modified.into_iter().collect();
    let error = refused(&db, ordered(client).after_cursor(&modified));
    let library = Error::Input(Box::new(error));
    assert_eq!(library.kind(), ErrorKind::Input);
    assert!(library.advice().is_some_and(|advice| advice.contains("unchanged")), "{library}");

    // The same query continues; a filter after the cursor (unchecked by it) is refused.
    let late = db.block_on(ordered(client).after_cursor(&cursor).filter(|i| i.team.eq("web")).fetch_page(10));
    assert!(matches!(&late, Err(Error::InvalidKeyset { reason }) if reason.contains("after_cursor")), "{late:?}");
    let second = db.block_on(ordered(client).after_cursor(&cursor).fetch_page(10)).expect("the next page");
    assert_eq!(second.items().len(), 10);
    assert!(second.items().iter().all(|item| !page.items().iter().any(|seen| seen.id == item.id)));

    // An order that does not end with a unique key cannot make cursors.
    let loose = db.block_on(Item::query(client).order_by(|i| i.priority.asc()).fetch_page(10));
    assert!(matches!(loose, Err(Error::InvalidKeyset { .. })), "{loose:?}");
}
