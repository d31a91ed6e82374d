//! Pipelined batches: every query goes out in one write and each answer comes back in order, with its own type;
//! an error ends only its own query; queries with the same SQL share one prepared statement; tickets taken out of
//! order are refused; dropping the results cancels what is left; a connection that died while idle is replaced
//! before anything is read, and one that breaks mid-batch fails the rest with `BatchAborted`.

use std::time::Duration;

use bytes::Bytes;
use fraiseql_wire::{Client, Entity, Error, ErrorKind, Pool};
use fraiseql_wire_tests::fault_proxy::FaultProxy;
use fraiseql_wire_tests::{AuthUser, TestDatabase};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::common::{self, app_name, assert_usable, single_backend, url_with_app, wait_for};

#[derive(Debug, Deserialize, Entity, PartialEq)]
#[entity(view = "v_batch_item")]
struct Item {
    #[entity(column = "id")]
    id: i64,
    name: String,
}

async fn setup() -> TestDatabase {
    let db = common::database().await;
    common::create_small_view(&db).await;
    db.execute(
        "CREATE TABLE batch_items (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO batch_items SELECT i, jsonb_build_object('id', i, 'name', 'item ' || i)
           FROM generate_series(1, 200) i;
         CREATE VIEW v_batch_item AS SELECT id, data FROM batch_items;
         CREATE VIEW v_batch_text AS SELECT 'not json'::text AS data;
         CREATE VIEW v_batch_prepared AS SELECT jsonb_build_object('statement', statement) AS data
           FROM pg_prepared_statements WHERE statement LIKE '%v_batch_item%';",
    )
    .await;
    db
}

fn item(id: i64) -> Item {
    Item { id, name: format!("item {id}") }
}

#[tokio::test]
async fn a_batch_is_one_write_and_answers_each_query_in_order_with_its_own_type() {
    let db = setup().await;
    let proxy = FaultProxy::start(db.port());
    let url = format!("{}?sslmode=disable", db.url_via(proxy.port(), AuthUser::Scram));
    let client = common::connect(&url).await;
    assert_usable(&client).await;

    let mut batch = client.batch();
    let typed: Vec<_> = (1..=10).map(|id| batch.push(Item::query(&client).filter(|i| i.id.eq(id)))).collect();
    let untyped = batch.push(client.query("v_small").where_sql("(data->>'id')::int > $1", &[&3]));
    let raw = batch.push_raw(client.query("v_small").limit(1));
    let in_rust = batch.push(Item::query(&client).filter(|i| i.id.lte(20)).filter_rust(|i| i.id % 10 == 0));
    let many = batch.push(Item::query(&client).order_by(|i| i.id.asc()));
    assert_eq!(batch.len(), 14);
    let reads = proxy.client_reads();
    let mut results = batch.send().await.expect("sent");
    for (ticket, id) in typed.into_iter().zip(1..) {
        assert_eq!(results.fetch_one(ticket).await.expect("a lookup"), item(id));
    }
    let rows = results.fetch_all(untyped).await.expect("untyped");
    assert_eq!(rows, common::small_rows()[3..]);
    let raw: Vec<Bytes> = results.fetch_all(raw).await.expect("raw");
    assert_eq!(raw, [Bytes::from_static(br#"{"id": 1, "name": "project 1"}"#)]);
    assert_eq!(results.fetch_all(in_rust).await.expect("predicate"), [item(10), item(20)]);
    // The last answer streams: rows are read as they are consumed.
    let mut rows = results.rows(many);
    let mut seen = 0;
    while let Some(row) = rows.try_next().await.expect("a row") {
        seen += 1;
        assert_eq!(row, item(seen));
    }
    drop(rows);
    assert_eq!((seen, results.remaining()), (200, 0));
    // Fourteen queries, one write: a client that waited for each answer would have written fourteen times.
    assert_eq!(proxy.client_reads() - reads, 1, "the batch was not sent in one write");
    drop(results);
    assert_usable(&client).await;
}

#[tokio::test]
async fn an_error_ends_only_its_own_query() {
    let db = setup().await;
    let client = common::connect(&db.url(AuthUser::Scram)).await;
    let mut batch = client.batch();
    let first = batch.push(Item::query(&client).filter(|i| i.id.eq(1)));
    // Fails after some rows were sent: the rows before it arrive, then the error.
    let midway = batch.push(client.query("v_batch_item").where_sql("1 / (id - 3) IS NOT NULL", &[]).order_by_sql("id"));
    let missing = batch.push(client.query("v_batch_nothing"));
    // The same SQL again: it shares the statement the previous query failed to prepare, and gets its error.
    let missing_again = batch.push(client.query("v_batch_nothing"));
    let unbuildable = batch.push(client.query("not a relation;"));
    let not_json = batch.push(client.query("v_batch_text"));
    let two_rows = batch.push(client.query("v_small").limit(2));
    let none = batch.push(Item::query(&client).filter(|i| i.id.eq(1000)));
    let last = batch.push(Item::query(&client).filter(|i| i.id.eq(2)));
    let mut results = batch.send().await.expect("sent");

    assert_eq!(results.fetch_one(first).await.expect("first"), item(1));
    let mut rows = results.rows(midway);
    assert_eq!(rows.try_next().await.expect("row 1").map(|r| r["id"].clone()), Some(1.into()));
    assert_eq!(rows.try_next().await.expect("row 2").map(|r| r["id"].clone()), Some(2.into()));
    let error = rows.try_next().await.expect_err("division by zero");
    assert_eq!(error.code(), Some("22012"), "{error}");
    assert!(rows.try_next().await.expect("ended").is_none());
    drop(rows);
    for ticket in [missing, missing_again] {
        let error = results.fetch_all(ticket).await.expect_err("no such view");
        assert_eq!(error.code(), Some("42P01"), "{error}");
    }
    let error = results.fetch_all(unbuildable).await.expect_err("not a name");
    assert!(matches!(error, Error::InvalidRelation { .. }), "{error}");
    let error = results.fetch_all(not_json).await.expect_err("text column");
    assert!(matches!(error, Error::NotJson { .. }), "{error}");
    assert!(matches!(results.fetch_one(two_rows).await, Err(Error::TooManyRows)));
    assert!(results.fetch_optional(none).await.expect("none").is_none());
    assert_eq!(results.fetch_one(last).await.expect("last"), item(2));
    drop(results);
    assert_usable(&client).await;
}

#[tokio::test]
async fn tickets_are_taken_in_order_and_skipped_ones_are_read_past() {
    let db = setup().await;
    let client = common::connect(&db.url(AuthUser::Scram)).await;
    let mut batch = client.batch();
    let all = batch.push(Item::query(&client).order_by(|i| i.id.asc()));
    let skipped = batch.push(Item::query(&client).filter(|i| i.id.eq(5)));
    let third = batch.push(Item::query(&client).filter(|i| i.id.eq(3)));
    let fourth = batch.push(Item::query(&client).filter(|i| i.id.eq(4)));
    let mut other = client.batch();
    let foreign = other.push(Item::query(&client).filter(|i| i.id.eq(9)));
    let mut results = batch.send().await.expect("sent");

    // Three rows of 200, then the stream is dropped: the rest is read past when the next ticket is taken.
    let firsts: Vec<Item> = results.rows(all).take(3).try_collect().await.expect("three rows");
    assert_eq!(firsts, [item(1), item(2), item(3)]);
    // Taking the third skips the second.
    assert_eq!(results.fetch_one(third).await.expect("third"), item(3));
    let error = results.fetch_one(skipped).await.expect_err("taken late");
    assert!(matches!(error, Error::BatchOrder { .. }) && error.kind() == ErrorKind::Usage, "{error}");
    let error = results.fetch_one(foreign).await.expect_err("another batch's");
    assert!(matches!(error, Error::BatchOrder { .. }), "{error}");
    assert_eq!(results.fetch_one(fourth).await.expect("fourth"), item(4));
    drop(results);
    assert_usable(&client).await;
    // Results dropped with answers unread: the connection is drained and reused.
    let mut batch = client.batch();
    let _unread: Vec<_> = (1..=5).map(|id| batch.push(Item::query(&client).filter(|i| i.id.eq(id)))).collect();
    drop(batch.send().await.expect("sent"));
    assert_usable(&client).await;
}

#[tokio::test]
async fn queries_with_the_same_sql_share_one_statement_and_the_cache_keeps_it() {
    let db = setup().await;
    let config = db.url(AuthUser::Scram).parse().expect("a config");
    let pool = Pool::builder(config).max_size(1).build().expect("a pool");
    let prepared = || async {
        let rows = pool.query("v_batch_prepared").fetch_all().await.expect("prepared statements");
        rows.len()
    };
    for round in 0..2 {
        let mut batch = pool.batch();
        let lookups: Vec<_> = (1..=20).map(|id| batch.push(Item::query(&pool).filter(|i| i.id.eq(id)))).collect();
        let listing = batch.push(Item::query(&pool).filter(|i| i.id.lt(3)));
        let mut results = batch.send().await.expect("sent");
        for (ticket, id) in lookups.into_iter().zip(1..) {
            assert_eq!(results.fetch_one(ticket).await.expect("a lookup"), item(id), "round {round}");
        }
        assert_eq!(results.fetch_all(listing).await.expect("listing"), [item(1), item(2)]);
        drop(results);
        // Twenty lookups with one SQL and a listing: two statements on the pool's one connection, the second
        // round binding the cached ones.
        assert_eq!(prepared().await, 2, "round {round}");
    }
}

#[tokio::test]
async fn dropping_the_results_cancels_the_query_running_and_skips_the_rest() {
    let db = setup().await;
    let app = app_name("batch_drop");
    let client = common::connect(&format!("{}&cancel_timeout=30", url_with_app(&db, AuthUser::Scram, &app))).await;
    assert_usable(&client).await;
    let backend = single_backend(db.admin(), &app).await;
    let mut batch = client.batch();
    let first = batch.push(Item::query(&client).filter(|i| i.id.eq(1)));
    let _slow = batch.push(client.query("v_batch_item").where_sql("pg_sleep(120) IS NOT NULL", &[]));
    let _after = batch.push(Item::query(&client).filter(|i| i.id.eq(2)));
    let mut results = batch.send().await.expect("sent");
    assert_eq!(results.fetch_one(first).await.expect("first"), item(1));
    let sleeping = wait_for(Duration::from_secs(10), || async {
        let sessions = common::sessions(db.admin(), &app).await;
        sessions.iter().any(|(_, _, wait)| wait.as_deref() == Some("PgSleep")).then_some(())
    })
    .await;
    assert!(sleeping.is_some(), "the second query never started");
    drop(results);
    // Cancelled and drained (within cancel_timeout, far below the sleep): the same backend answers next.
    assert_usable(&client).await;
    assert_eq!(single_backend(db.admin(), &app).await, backend, "the connection was closed, not drained");
}

#[tokio::test]
async fn a_connection_that_died_while_idle_is_replaced_before_the_batch_is_read() {
    let db = setup().await;
    let app = app_name("batch_stale");
    let client = common::connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    assert_usable(&client).await;
    let backend = single_backend(db.admin(), &app).await;
    db.admin().execute("SELECT pg_terminate_backend($1)", &[&backend]).await.expect("terminate");
    wait_for(Duration::from_secs(5), || async { common::sessions(db.admin(), &app).await.is_empty().then_some(()) })
        .await
        .expect("the backend did not exit");
    let mut batch = client.batch();
    let tickets: Vec<_> = (1..=3).map(|id| batch.push(Item::query(&client).filter(|i| i.id.eq(id)))).collect();
    let mut results = batch.send().await.expect("sent");
    for (ticket, id) in tickets.into_iter().zip(1..) {
        assert_eq!(results.fetch_one(ticket).await.expect("read on the new connection"), item(id));
    }
}

#[tokio::test]
async fn a_connection_that_breaks_mid_batch_aborts_the_rest() {
    let db = setup().await;
    let app = app_name("batch_broken");
    let client = common::connect(&url_with_app(&db, AuthUser::Scram, &app)).await;
    assert_usable(&client).await;
    let backend = single_backend(db.admin(), &app).await;
    let mut batch = client.batch();
    let first = batch.push(Item::query(&client).filter(|i| i.id.eq(1)));
    let slow = batch.push(client.query("v_batch_item").where_sql("pg_sleep(120) IS NOT NULL", &[]));
    let after = batch.push(Item::query(&client).filter(|i| i.id.eq(2)));
    let mut results = batch.send().await.expect("sent");
    assert_eq!(results.fetch_one(first).await.expect("first"), item(1));
    db.admin().execute("SELECT pg_terminate_backend($1)", &[&backend]).await.expect("terminate");
    let error = results.fetch_all(slow).await.expect_err("terminated");
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    let error = results.fetch_one(after).await.expect_err("never answered");
    assert!(matches!(error, Error::BatchAborted { query: 1 }) && error.is_retriable(), "{error}");
    drop(results);
    assert_usable(&client).await;
}

#[tokio::test]
async fn a_snapshot_batch_reads_its_moment() {
    let db = setup().await;
    let client: Client = common::connect(&db.url(AuthUser::Scram)).await;
    let snapshot = client.snapshot().await.expect("a snapshot");
    let before = Item::query(&snapshot).count().await.expect("count");
    db.execute("INSERT INTO batch_items VALUES (1000, '{\"id\": 1000, \"name\": \"item 1000\"}')").await;
    let mut batch = snapshot.batch();
    let new = batch.push(Item::query(&snapshot).filter(|i| i.id.eq(1000)));
    let all = batch.push(Item::query(&snapshot));
    let mut results = batch.send().await.expect("sent");
    assert!(results.fetch_optional(new).await.expect("lookup").is_none());
    assert_eq!(results.fetch_all(all).await.expect("all").len() as u64, before);
}
