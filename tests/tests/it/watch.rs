//! Live queries against the server: the snapshot, then every change through the query's filters; the folded
//! events equal a fresh run of the query under concurrent writers; restarts, stalls and a slow consumer end in a
//! `Resync` and converge; a quiet listener is not timed out; dropping the watch closes its connections.

use std::collections::HashMap;
use std::time::Duration;

use fraiseql_wire::watch::{self, Event, ResyncReason, Watch, WatchOptions};
use fraiseql_wire::{Client, Entity, Error};
use fraiseql_wire_tests::fault_proxy::{Fault, FaultProxy};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::common::{self, app_name, url_with_app, wait_for};

#[derive(Clone, Debug, Deserialize, Entity, PartialEq)]
#[entity(view = "v_watch_item")]
struct Item {
    #[entity(column = "id")]
    id: i64,
    active: bool,
    score: i64,
}

/// The table, its view, and the triggers of `watch::trigger_sql`, with `rows` active items.
fn schema_sql(rows: i64) -> String {
    let triggers = watch::trigger_sql("watch_items", "id", "v_watch_item").expect("valid trigger arguments");
    format!(
        "CREATE TABLE watch_items (id bigint PRIMARY KEY, active boolean NOT NULL, score bigint NOT NULL,
                                   untracked int NOT NULL DEFAULT 0);
         INSERT INTO watch_items SELECT i, true, i FROM generate_series(1, {rows}) i;
         CREATE VIEW v_watch_item AS
           SELECT id, jsonb_build_object('id', id, 'active', active, 'score', score) AS data FROM watch_items;
         {triggers}"
    )
}

async fn setup(rows: i64) -> TestDatabase {
    let db = common::database().await;
    db.execute(&schema_sql(rows)).await;
    db
}

fn options() -> WatchOptions {
    WatchOptions::new().keepalive_interval(Duration::from_millis(500)).reconnect_timeout(Duration::from_secs(30))
}

/// The next event, within a bound that only a hang reaches.
async fn next<T: serde::de::DeserializeOwned + std::fmt::Debug>(watch: &mut Watch<T>) -> Event<T> {
    match tokio::time::timeout(Duration::from_secs(60), watch.try_next()).await {
        Ok(Ok(Some(event))) => event,
        Ok(Ok(None)) => panic!("the watch ended"),
        Ok(Err(error)) => panic!("the watch failed: {error}"),
        Err(_) => panic!("no event within 60 s"),
    }
}

/// The rows the events describe, folded as a consumer would.
#[derive(Default)]
struct Folded {
    rows: HashMap<String, Item>,
    resyncs: Vec<ResyncReason>,
    ready: bool,
}

impl Folded {
    fn apply(&mut self, event: Event<Item>) {
        match event {
            Event::Snapshot { key, row } | Event::Upsert { key, row } => {
                assert_eq!(key, row.id.to_string(), "an event's key is its row's");
                self.rows.insert(key, row);
            }
            Event::Remove { key } => {
                assert!(self.rows.remove(&key).is_some(), "a removal of {key}, which the result did not hold");
            }
            Event::Ready => self.ready = true,
            Event::Resync { reason } => {
                self.rows.clear();
                self.ready = false;
                self.resyncs.push(reason);
            }
            other => panic!("unexpected event {other:?}"),
        }
    }

    /// Folds events up to and including the first `Ready`.
    async fn until_ready(&mut self, watch: &mut Watch<Item>) {
        self.ready = false;
        while !self.ready {
            self.apply(next(watch).await);
        }
    }

    /// Folds events until `row` has arrived as an upsert (with a snapshot or resync on the way).
    async fn until_upsert(&mut self, watch: &mut Watch<Item>, id: i64) {
        loop {
            let event = next(watch).await;
            let done = matches!(&event, Event::Upsert { row, .. } if row.id == id);
            self.apply(event);
            if done && self.ready {
                return;
            }
        }
    }

    fn sorted(&self) -> Vec<Item> {
        let mut rows: Vec<Item> = self.rows.values().cloned().collect();
        rows.sort_by_key(|item| item.id);
        rows
    }
}

async fn fresh(client: &Client, min_score: i64) -> Vec<Item> {
    let mut rows = Item::query(client)
        .filter(move |i| i.active.eq(true) & i.score.gte(min_score))
        .filter_rust(|i| i.score % 7 != 0)
        .fetch_all()
        .await
        .expect("the fresh query");
    rows.sort_by_key(|item| item.id);
    rows
}

fn watched(client: &Client, min_score: i64) -> Watch<Item> {
    Item::query(client)
        .filter(move |i| i.active.eq(true) & i.score.gte(min_score))
        .filter_rust(|i| i.score % 7 != 0)
        .watch_with(options())
}

#[tokio::test]
async fn changes_arrive_as_the_query_sees_them() {
    let db = setup(5).await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    let mut live = Item::query(&client).filter(|i| i.active.eq(true)).watch_with(options());
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;
    assert_eq!(folded.sorted().iter().map(|i| i.id).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);

    let admin = db.admin();
    admin.batch_execute("INSERT INTO watch_items VALUES (6, true, 60)").await.unwrap();
    assert_eq!(next(&mut live).await, Event::Upsert { key: "6".into(), row: Item { id: 6, active: true, score: 60 } });

    // A row outside the filter, and a change the view does not show: no event. The next write proves it.
    admin.batch_execute("INSERT INTO watch_items VALUES (7, false, 70)").await.unwrap();
    admin.batch_execute("UPDATE watch_items SET untracked = 1 WHERE id = 1").await.unwrap();
    admin.batch_execute("UPDATE watch_items SET score = 33 WHERE id = 3").await.unwrap();
    assert_eq!(next(&mut live).await, Event::Upsert { key: "3".into(), row: Item { id: 3, active: true, score: 33 } });

    admin.batch_execute("UPDATE watch_items SET active = false WHERE id = 2").await.unwrap();
    assert_eq!(next(&mut live).await, Event::Remove { key: "2".into() });
    admin.batch_execute("UPDATE watch_items SET active = true WHERE id = 7").await.unwrap();
    assert_eq!(next(&mut live).await, Event::Upsert { key: "7".into(), row: Item { id: 7, active: true, score: 70 } });
    admin.batch_execute("DELETE FROM watch_items WHERE id IN (4, 7)").await.unwrap();
    let mut removed = vec![next(&mut live).await, next(&mut live).await];
    removed.sort_by_key(|event| format!("{event:?}"));
    assert_eq!(removed, vec![Event::Remove { key: "4".into() }, Event::Remove { key: "7".into() }]);
    // A key that changes leaves under its old key and enters under the new one.
    admin.batch_execute("UPDATE watch_items SET id = 50 WHERE id = 5").await.unwrap();
    let mut moved = vec![next(&mut live).await, next(&mut live).await];
    moved.sort_by_key(|event| format!("{event:?}"));
    assert_eq!(
        moved,
        vec![
            Event::Remove { key: "5".into() },
            Event::Upsert { key: "50".into(), row: Item { id: 50, active: true, score: 5 } }
        ]
    );
    assert_eq!(live.len(), 4);

    // A TRUNCATE cannot name its rows: everything is read again.
    admin.batch_execute("TRUNCATE watch_items").await.unwrap();
    assert_eq!(next(&mut live).await, Event::Resync { reason: ResyncReason::Requested });
    assert_eq!(next(&mut live).await, Event::Ready);
}

#[tokio::test]
async fn the_folded_events_equal_a_fresh_query_under_concurrent_writers() {
    let db = setup(400).await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    let mut live = watched(&client, 100);
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;
    assert_eq!(folded.sorted(), fresh(&client, 100).await);

    const WRITERS: i64 = 4;
    const WRITES: i64 = 750;
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let admin = TestCluster::shared().admin(db.name()).await;
        writers.push(tokio::spawn(async move {
            // A deterministic mix per writer: inserts, updates moving rows across both filters, deletes, and
            // statements touching many rows at once.
            let mut state = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(writer as u64 + 1);
            for n in 0..WRITES {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let id = (state % 600) as i64 + 1;
                let score = (state >> 20) as i64 % 300;
                let sql = match n % 6 {
                    0 => format!(
                        "INSERT INTO watch_items VALUES ({id}, true, {score}) \
                         ON CONFLICT (id) DO UPDATE SET score = excluded.score, active = true"
                    ),
                    1 | 2 => format!("UPDATE watch_items SET score = {score} WHERE id = {id}"),
                    3 => format!("UPDATE watch_items SET active = NOT active WHERE id = {id}"),
                    4 => format!("DELETE FROM watch_items WHERE id = {id}"),
                    _ => format!("UPDATE watch_items SET score = score + 1 WHERE id BETWEEN {id} AND {}", id + 20),
                };
                admin.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }));
    }
    // Events are consumed while the writers write.
    let writing = async {
        for writer in writers {
            writer.await.expect("a writer");
        }
    };
    tokio::pin!(writing);
    loop {
        tokio::select! {
            () = &mut writing => break,
            event = next(&mut live) => folded.apply(event),
        }
    }
    // Two markers, one after the other: the second's batch begins once the first's (and every key notified
    // before the first committed) is done.
    let admin = db.admin();
    for marker in [1_000_001, 1_000_002] {
        admin.batch_execute(&format!("INSERT INTO watch_items VALUES ({marker}, true, 1000)")).await.unwrap();
        folded.until_upsert(&mut live, marker).await;
    }
    let expected = fresh(&client, 100).await;
    assert!(expected.len() > 50, "the writers left too few rows to compare: {}", expected.len());
    assert_eq!(folded.sorted(), expected);
    assert_eq!(live.len(), expected.len());
    assert!(folded.resyncs.is_empty(), "{:?}", folded.resyncs);
}

#[tokio::test]
async fn one_statement_changing_thousands_of_rows_is_sent_in_payloads_under_the_limit() {
    let db = setup(5000).await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    db.execute("UPDATE watch_items SET active = false").await;
    let mut live = Item::query(&client).filter(|i| i.active.eq(true)).watch_with(options());
    assert_eq!(next(&mut live).await, Event::Ready);
    // Keys of 1 to 4 digits in one statement: about 35,000 bytes of keys, over 8,000 in one payload.
    db.execute("UPDATE watch_items SET active = true").await;
    let mut upserts = 0;
    while upserts < 5000 {
        match next(&mut live).await {
            Event::Upsert { .. } => upserts += 1,
            other => panic!("{other:?} after {upserts} upserts"),
        }
    }
    assert_eq!(live.pending_keys(), 0);
}

#[tokio::test]
async fn a_slow_consumer_coalesces_keys_then_overflows_into_a_resync() {
    let db = setup(100).await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    let mut live = Item::query(&client).watch_with(options().max_pending_keys(50));
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;

    // The consumer reads nothing while 200 updates touch 5 rows, then a sixth.
    for n in 0..200 {
        db.execute(&format!("UPDATE watch_items SET score = {n} WHERE id = {}", n % 5 + 1)).await;
    }
    db.execute("UPDATE watch_items SET score = -1 WHERE id = 6").await;
    let six = wait_for(Duration::from_secs(30), || async { (live.pending_keys() == 6).then_some(()) }).await;
    assert!(six.is_some(), "pending keys: {}", live.pending_keys());
    let mut upserts = 0;
    while upserts < 6 {
        match next(&mut live).await {
            event @ Event::Upsert { .. } => {
                folded.apply(event);
                upserts += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(live.pending_keys(), 0);

    // More keys than the watch may hold: it drops them, resynchronises, and converges.
    for id in 1..=60 {
        db.execute(&format!("UPDATE watch_items SET score = score + 1000 WHERE id = {id}")).await;
    }
    db.execute("UPDATE watch_items SET score = 0 WHERE id = 100").await;
    let (mut saw_overflow, mut saw_marker) = (false, false);
    loop {
        let event = next(&mut live).await;
        saw_overflow |= event == Event::Resync { reason: ResyncReason::Overflow };
        saw_marker |= matches!(&event, Event::Snapshot { row, .. } | Event::Upsert { row, .. } if row.id == 100 && row.score == 0);
        folded.apply(event);
        if saw_marker && folded.ready {
            break;
        }
    }
    assert!(saw_overflow, "{:?}", folded.resyncs);
    let mut expected = Item::query(&client).fetch_all().await.unwrap();
    expected.sort_by_key(|i| i.id);
    assert_eq!(folded.sorted(), expected);
}

#[tokio::test]
async fn a_server_restart_resyncs_and_converges() {
    let cluster = TestCluster::start();
    let db = cluster.database().await;
    db.execute(&schema_sql(20)).await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    let mut live = watched(&client, 0);
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;

    cluster.restart();
    // Written before the watch has reconnected: only the fresh snapshot can show it.
    let admin = cluster.admin(db.name()).await;
    admin
        .batch_execute("UPDATE watch_items SET score = 500 WHERE id = 1; DELETE FROM watch_items WHERE id = 2")
        .await
        .unwrap();
    loop {
        folded.apply(next(&mut live).await);
        if folded.ready && !folded.resyncs.is_empty() {
            break;
        }
    }
    assert!(matches!(folded.resyncs[0], ResyncReason::ListenerLost { .. }), "{:?}", folded.resyncs);
    admin.batch_execute("INSERT INTO watch_items VALUES (99, true, 99)").await.unwrap();
    folded.until_upsert(&mut live, 99).await;
    assert_eq!(folded.sorted(), fresh(&client, 0).await);
}

#[tokio::test]
async fn a_stalled_network_is_found_by_the_keepalive_and_the_watch_converges_after_it() {
    let db = setup(20).await;
    let proxy = FaultProxy::start(db.port());
    let url = format!("{}?sslmode=disable", db.url_via(proxy.port(), AuthUser::Scram));
    let client = common::connect(&url).await;
    let mut live = watched(&client, 0);
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;

    proxy.set(Fault::Stall);
    db.execute("UPDATE watch_items SET score = 400 WHERE id = 3").await;
    let lost = tokio::time::timeout(Duration::from_secs(30), live.try_next()).await.expect("no hang");
    let Ok(Some(Event::Resync { reason: ResyncReason::ListenerLost { cause } })) = lost else {
        panic!("expected a resync, got {lost:?}");
    };
    assert!(cause.contains("timed out") || cause.contains("timeout"), "{cause}");
    folded.resyncs.push(ResyncReason::ListenerLost { cause });
    folded.rows.clear();
    proxy.set(Fault::Pass);
    folded.until_ready(&mut live).await;
    db.execute("INSERT INTO watch_items VALUES (78, true, 78)").await;
    folded.until_upsert(&mut live, 78).await;
    assert_eq!(folded.sorted(), fresh(&client, 0).await);
}

#[tokio::test]
async fn a_quiet_listener_outlives_the_read_timeout() {
    let db = setup(3).await;
    let client = common::connect(&format!("{}?read_timeout=1", db.url(AuthUser::Superuser))).await;
    let mut live = Item::query(&client).watch_with(options().keepalive_interval(Duration::from_millis(300)));
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;
    // Three read timeouts of silence: neither an error nor a resync.
    let quiet = tokio::time::timeout(Duration::from_secs(3), live.try_next()).await;
    assert!(quiet.is_err(), "the quiet watch yielded {quiet:?}");
    db.execute("UPDATE watch_items SET score = 9 WHERE id = 1").await;
    assert_eq!(next(&mut live).await, Event::Upsert { key: "1".into(), row: Item { id: 1, active: true, score: 9 } });
}

async fn sessions(db: &TestDatabase, app: &str) -> i64 {
    let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1";
    db.admin().query_one(sql, &[&app]).await.map(|row| row.get::<_, i64>(0)).unwrap()
}

#[tokio::test]
async fn dropping_the_watch_closes_its_connections() {
    let db = setup(3).await;
    let app = app_name("watch_drop");
    let client = common::connect(&url_with_app(&db, AuthUser::Superuser, &app)).await;
    let mut live = Item::query(&client).watch_with(options());
    let mut folded = Folded::default();
    folded.until_ready(&mut live).await;
    // The client's own connection, the listener and the reader.
    assert_eq!(sessions(&db, &app).await, 3);
    drop(live);
    let gone = wait_for(Duration::from_secs(10), || async { (sessions(&db, &app).await == 1).then_some(()) }).await;
    assert!(gone.is_some(), "the watch's connections outlived it");
}

#[tokio::test]
async fn queries_a_watch_cannot_keep_live_are_refused() {
    let db = setup(3).await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    for (query, expected) in [
        (Item::query(&client).limit(2).watch(), "limit"),
        (Item::query(&client).offset(1).watch(), "offset"),
        (Item::query(&client).watch_with(WatchOptions::new().channel("")), "channel"),
        (Item::query(&client).watch_with(WatchOptions::new().key_column("")), "column"),
    ] {
        let mut query = query;
        match query.try_next().await {
            Err(Error::InvalidWatch { reason }) => assert!(reason.contains(expected), "{reason}"),
            other => panic!("{expected}: {other:?}"),
        }
        assert!(query.try_next().await.unwrap().is_none());
    }
    // A view without the key column: the server's error ends the watch.
    let mut live = Item::query(&client).watch_with(options().key_column("no_such_column"));
    let error = live.try_next().await.expect_err("a missing key column");
    assert_eq!(error.code(), Some("42703"), "{error}");
    assert!(live.try_next().await.unwrap().is_none());
}

#[tokio::test]
async fn a_view_over_two_tables_follows_changes_in_either() {
    let db = common::database().await;
    let projects = watch::trigger_sql("watch_projects", "id", "v_watch_project").unwrap();
    // A change of an owner changes the view's rows of each of its projects.
    let owners = watch::trigger_sql(
        "watch_owners",
        "unnest(ARRAY(SELECT p.id FROM watch_projects p WHERE p.owner_id = changed.id))",
        "v_watch_project",
    )
    .unwrap();
    db.execute(&format!(
        "CREATE TABLE watch_owners (id bigint PRIMARY KEY, name text NOT NULL);
         CREATE TABLE watch_projects (id bigint PRIMARY KEY, owner_id bigint NOT NULL REFERENCES watch_owners,
                                      title text NOT NULL);
         INSERT INTO watch_owners VALUES (1, 'ada'), (2, 'grace');
         INSERT INTO watch_projects VALUES (10, 1, 'engine'), (11, 1, 'notes'), (20, 2, 'compiler');
         CREATE VIEW v_watch_project AS
           SELECT p.id, jsonb_build_object('id', p.id, 'title', p.title, 'owner', o.name) AS data
           FROM watch_projects p JOIN watch_owners o ON o.id = p.owner_id;
         {projects}{owners}"
    ))
    .await;
    let client = common::connect(&db.url(AuthUser::Superuser)).await;
    let mut live = client.query("v_watch_project").watch_with(options());
    let mut snapshot = 0;
    while next(&mut live).await != Event::Ready {
        snapshot += 1;
    }
    assert_eq!(snapshot, 3);
    db.execute("UPDATE watch_owners SET name = 'ada l.' WHERE id = 1").await;
    let mut renamed = vec![next(&mut live).await, next(&mut live).await];
    renamed.sort_by_key(|event| format!("{event:?}"));
    let upsert = |id: i64, title: &str| Event::Upsert {
        key: id.to_string(),
        row: serde_json::json!({"id": id, "title": title, "owner": "ada l."}),
    };
    assert_eq!(renamed, vec![upsert(10, "engine"), upsert(11, "notes")]);
    db.execute("DELETE FROM watch_projects WHERE id = 20").await;
    assert_eq!(next(&mut live).await, Event::Remove { key: "20".into() });
}
