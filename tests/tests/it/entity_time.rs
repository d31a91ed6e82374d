//! Date and time fields against the server: every comparison agrees with a Rust model over documents whose
//! timestamps are written with different offsets and fractional digits, in each way of storing them (the default
//! cast, `time = "rfc3339"`, epoch seconds and milliseconds); keyset pagination over a date key with duplicates
//! returns every row once; the `rfc3339` functions are immutable in fact; chrono, time and jiff fields all work.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use fraiseql_wire::entity::time::FUNCTIONS_SQL;
use fraiseql_wire::{Client, Entity, Field, Filter, Scalar};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use futures_util::TryStreamExt;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::common::model::{self, insert_documents, maybe, put};

/// 2026-03-01T12:00:00Z, in microseconds.
const BASE_MICROS: i64 = 1_772_366_400_000_000;

/// The instants documents and operands are drawn from: few, so equal instants written differently meet often.
const INSTANTS: [i64; 7] = [0, 500_000, 123_456, 3_600_000_000, -86_400_000_000, 100_000, 1_000_000];

/// The offsets documents and operands are written with, in minutes (`Z` is written for one of the zeros).
const OFFSETS: [i32; 5] = [0, 0, 330, -480, 60];

const DAYS: [(i32, u32, u32); 5] = [(2026, 2, 28), (2026, 3, 1), (2026, 3, 2), (2025, 12, 31), (2026, 10, 10)];

/// Epoch seconds stored as numbers.
const SECONDS: [i64; 4] = [1_772_366_400, 1_772_366_401, 1_772_280_000, 1_772_370_000];

/// An entity over `v_event` with every date family; the two below differ only in the entity's `time`.
macro_rules! event_entity {
    ($(#[$doc:meta])* $name:ident $(, $time:literal)?) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize, Entity)]
        #[entity(view = "v_event" $(, time = $time)?)]
        struct $name {
            #[entity(column = "id")]
            id: i64,
            at: Option<DateTime<FixedOffset>>,
            local: Option<NaiveDateTime>,
            day: Option<NaiveDate>,
            #[entity(time = "epoch")]
            #[serde(default, with = "chrono::serde::ts_seconds_option")]
            ts: Option<DateTime<Utc>>,
            #[entity(time = "epoch_ms")]
            #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
            ms: Option<DateTime<Utc>>,
        }
    };
}

event_entity!(
    /// The text dates read through the server's cast (the default).
    Event
);
event_entity!(
    /// The text dates read through the indexable functions; the epoch fields keep their own declaration.
    StrictEvent,
    "rfc3339"
);

/// The handles of either entity, so one filter is built on both.
struct Handles<E> {
    at: Field<E, Option<DateTime<FixedOffset>>>,
    local: Field<E, Option<NaiveDateTime>>,
    day: Field<E, Option<NaiveDate>>,
    ts: Field<E, Option<DateTime<Utc>>>,
    ms: Field<E, Option<DateTime<Utc>>>,
}

fn cast_handles() -> Handles<Event> {
    let f = Event::fields();
    Handles { at: f.at, local: f.local, day: f.day, ts: f.ts, ms: f.ms }
}

fn strict_handles() -> Handles<StrictEvent> {
    let f = StrictEvent::fields();
    Handles { at: f.at, local: f.local, day: f.day, ts: f.ts, ms: f.ms }
}

fn instant(index: usize) -> DateTime<Utc> {
    Utc.timestamp_micros(BASE_MICROS + INSTANTS[index]).single().expect("a valid instant")
}

fn with_offset(at: DateTime<Utc>, minutes: i32) -> DateTime<FixedOffset> {
    at.with_timezone(&FixedOffset::east_opt(minutes * 60).expect("a valid offset"))
}

fn day(index: usize) -> NaiveDate {
    let (y, m, d) = DAYS[index];
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// The fraction of `micros` with `digits` digits when that loses nothing (0: as few as it needs).
fn fraction(micros: u32, digits: usize) -> String {
    let six = format!("{micros:06}");
    let needed = six.trim_end_matches('0').len();
    let digits = if digits == 0 { needed } else { digits.max(needed) };
    if digits == 0 { String::new() } else { format!(".{}", &six[..digits]) }
}

/// An instant as RFC 3339 text, with one of the offsets and fraction styles.
fn instant_text(at: DateTime<Utc>, offset: usize, digits: usize) -> String {
    let local = with_offset(at, OFFSETS[offset]);
    let zone = if offset == 0 { "Z".to_owned() } else { local.format("%:z").to_string() };
    format!("{}{}{zone}", local.format("%Y-%m-%dT%H:%M:%S"), fraction(at.timestamp_subsec_micros(), digits))
}

fn local_text(at: NaiveDateTime, digits: usize) -> String {
    format!("{}{}", at.format("%Y-%m-%dT%H:%M:%S"), fraction(at.and_utc().timestamp_subsec_micros(), digits))
}

#[derive(Clone, Copy, Debug)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Cmp::Eq => ordering.is_eq(),
            Cmp::Ne => ordering.is_ne(),
            Cmp::Lt => ordering.is_lt(),
            Cmp::Lte => ordering.is_le(),
            Cmp::Gt => ordering.is_gt(),
            Cmp::Gte => ordering.is_ge(),
        }
    }

    fn filter<E: 'static, T, V>(self, field: &Field<E, Option<T>>, value: V) -> Filter<E>
    where
        T: fraiseql_wire::FieldType + 'static,
        T::Kind: fraiseql_wire::entity::kind::Equality<Option<T>> + fraiseql_wire::entity::kind::Ordered<Option<T>>,
        V: fraiseql_wire::entity::kind::Operand<Option<T>>,
    {
        match self {
            Cmp::Eq => field.eq(value),
            Cmp::Ne => field.ne(value),
            Cmp::Lt => field.lt(value),
            Cmp::Lte => field.lte(value),
            Cmp::Gt => field.gt(value),
            Cmp::Gte => field.gte(value),
        }
    }
}

/// A filter over the date fields, as data: built on either entity and evaluated in Rust.
#[derive(Clone, Debug)]
enum Expr {
    At(Cmp, DateTime<FixedOffset>),
    AtBetween(DateTime<FixedOffset>, DateTime<FixedOffset>),
    AtIn(Vec<DateTime<FixedOffset>>),
    AtNotIn(Vec<DateTime<FixedOffset>>),
    AtIsNull,
    Local(Cmp, NaiveDateTime),
    LocalBetween(NaiveDateTime, NaiveDateTime),
    Day(Cmp, NaiveDate),
    DayIn(Vec<NaiveDate>),
    Ts(Cmp, DateTime<Utc>),
    TsBetween(DateTime<Utc>, DateTime<Utc>),
    TsNotIn(Vec<DateTime<Utc>>),
    MsIn(Vec<DateTime<Utc>>),
    Ms(Cmp, DateTime<Utc>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    fn filter<E: 'static>(&self, h: &Handles<E>) -> Filter<E> {
        match self {
            Expr::At(cmp, v) => cmp.filter(&h.at, *v),
            Expr::AtBetween(a, b) => h.at.between(*a, *b),
            Expr::AtIn(v) => h.at.in_list(v.iter().copied()),
            Expr::AtNotIn(v) => h.at.not_in(v.iter().copied()),
            Expr::AtIsNull => h.at.is_null(),
            Expr::Local(cmp, v) => cmp.filter(&h.local, *v),
            Expr::LocalBetween(a, b) => h.local.between(*a, *b),
            Expr::Day(cmp, v) => cmp.filter(&h.day, *v),
            Expr::DayIn(v) => h.day.in_list(v.iter().copied()),
            Expr::Ts(cmp, v) => cmp.filter(&h.ts, *v),
            Expr::TsBetween(a, b) => h.ts.between(*a, *b),
            Expr::TsNotIn(v) => h.ts.not_in(v.iter().copied()),
            Expr::MsIn(v) => h.ms.in_list(v.iter().copied()),
            Expr::Ms(cmp, v) => cmp.filter(&h.ms, *v),
            Expr::And(a, b) => a.filter(h).and(b.filter(h)),
            Expr::Or(a, b) => a.filter(h).or(b.filter(h)),
            Expr::Not(a) => a.filter(h).not(),
        }
    }

    /// What SQL computes on `doc`: comparisons of the instants and dates the texts and numbers denote.
    fn eval(&self, doc: &Value) -> Option<bool> {
        let at = || doc.get("at").and_then(Value::as_str).map(parse_instant);
        let local = || doc.get("local").and_then(Value::as_str).map(parse_local);
        let day = || doc.get("day").and_then(Value::as_str).map(parse_day);
        let ts = || doc.get("ts").and_then(Value::as_i64).and_then(|s| DateTime::from_timestamp(s, 0));
        let ms = || doc.get("ms").and_then(Value::as_i64).and_then(DateTime::from_timestamp_millis);
        let between = |x: Option<DateTime<Utc>>, a: DateTime<Utc>, b: DateTime<Utc>| x.map(|x| a <= x && x <= b);
        match self {
            Expr::At(cmp, v) => at().map(|x| cmp.holds(x.cmp(&v.to_utc()))),
            Expr::AtBetween(a, b) => between(at(), a.to_utc(), b.to_utc()),
            Expr::AtIn(v) => list(at(), v.iter().map(DateTime::to_utc).collect(), true),
            Expr::AtNotIn(v) => list(at(), v.iter().map(DateTime::to_utc).collect(), false),
            Expr::AtIsNull => Some(at().is_none()),
            Expr::Local(cmp, v) => local().map(|x| cmp.holds(x.cmp(v))),
            Expr::LocalBetween(a, b) => local().map(|x| *a <= x && x <= *b),
            Expr::Day(cmp, v) => day().map(|x| cmp.holds(x.cmp(v))),
            Expr::DayIn(v) => list(day(), v.clone(), true),
            Expr::Ts(cmp, v) => ts().map(|x| cmp.holds(x.cmp(v))),
            Expr::TsBetween(a, b) => between(ts(), *a, *b),
            Expr::TsNotIn(v) => list(ts(), v.clone(), false),
            Expr::MsIn(v) => list(ms(), v.clone(), true),
            Expr::Ms(cmp, v) => ms().map(|x| cmp.holds(x.cmp(v))),
            Expr::And(a, b) => model::and(a.eval(doc), b.eval(doc)),
            Expr::Or(a, b) => model::or(a.eval(doc), b.eval(doc)),
            Expr::Not(a) => a.eval(doc).map(|t| !t),
        }
    }
}

/// `x = ANY(list)` (`member`) or `x <> ALL(list)`, with SQL's NULL rules.
fn list<T: PartialEq>(x: Option<T>, values: Vec<T>, member: bool) -> Option<bool> {
    if values.is_empty() {
        return Some(!member);
    }
    x.map(|x| values.contains(&x) == member)
}

fn parse_instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}")).to_utc()
}

fn parse_local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn parse_day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn any_instant() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (0..INSTANTS.len(), 0..OFFSETS.len()).prop_map(|(i, o)| with_offset(instant(i), OFFSETS[o]))
}

fn any_utc() -> impl Strategy<Value = DateTime<Utc>> {
    (0..INSTANTS.len()).prop_map(instant)
}

fn any_local() -> impl Strategy<Value = NaiveDateTime> {
    (0..INSTANTS.len()).prop_map(|i| instant(i).naive_utc())
}

fn any_day() -> impl Strategy<Value = NaiveDate> {
    (0..DAYS.len()).prop_map(day)
}

fn any_cmp() -> impl Strategy<Value = Cmp> {
    prop_oneof![Just(Cmp::Eq), Just(Cmp::Ne), Just(Cmp::Lt), Just(Cmp::Lte), Just(Cmp::Gt), Just(Cmp::Gte)]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (any_cmp(), any_instant()).prop_map(|(c, v)| Expr::At(c, v)),
        (any_instant(), any_instant()).prop_map(|(a, b)| Expr::AtBetween(a, b)),
        proptest::collection::vec(any_instant(), 0..3).prop_map(Expr::AtIn),
        proptest::collection::vec(any_instant(), 0..3).prop_map(Expr::AtNotIn),
        Just(Expr::AtIsNull),
        (any_cmp(), any_local()).prop_map(|(c, v)| Expr::Local(c, v)),
        (any_local(), any_local()).prop_map(|(a, b)| Expr::LocalBetween(a, b)),
        (any_cmp(), any_day()).prop_map(|(c, v)| Expr::Day(c, v)),
        proptest::collection::vec(any_day(), 0..3).prop_map(Expr::DayIn),
        (any_cmp(), any_utc()).prop_map(|(c, v)| Expr::Ts(c, v)),
        (any_utc(), any_utc()).prop_map(|(a, b)| Expr::TsBetween(a, b)),
        proptest::collection::vec(any_utc(), 0..3).prop_map(Expr::TsNotIn),
        proptest::collection::vec(any_utc(), 0..3).prop_map(Expr::MsIn),
        (any_cmp(), any_utc()).prop_map(|(c, v)| Expr::Ms(c, v)),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    model::tree(leaf(), 12)
}

model::boolean_tree!(Expr);

fn document() -> impl Strategy<Value = Map<String, Value>> {
    let digits = prop_oneof![Just(0usize), Just(3), Just(6)];
    (
        maybe((0..INSTANTS.len(), 0..OFFSETS.len(), digits.clone())),
        maybe((0..INSTANTS.len(), digits)),
        maybe(0..DAYS.len()),
        maybe(0..SECONDS.len()),
        maybe(0..INSTANTS.len()),
    )
        .prop_map(|(at, local, day_index, ts, ms)| {
            let mut doc = Map::new();
            put(&mut doc, "at", at.map(|v| v.map(|(i, o, d)| Value::from(instant_text(instant(i), o, d)))));
            put(&mut doc, "local", local.map(|v| v.map(|(i, d)| Value::from(local_text(instant(i).naive_utc(), d)))));
            put(&mut doc, "day", day_index.map(|v| v.map(|i| Value::from(day(i).format("%Y-%m-%d").to_string()))));
            put(&mut doc, "ts", ts.map(|v| v.map(|i| Value::from(SECONDS[i]))));
            put(&mut doc, "ms", ms.map(|v| v.map(|i| Value::from(instant(i).timestamp_millis()))));
            doc
        })
}

/// A database with `v_event` over `docs` (ids are the positions) and the `rfc3339` functions installed.
async fn events(docs: &[Map<String, Value>]) -> (TestDatabase, Client) {
    let db = TestCluster::shared().database().await;
    db.execute(FUNCTIONS_SQL).await;
    db.execute(
        "CREATE TABLE event (id bigint PRIMARY KEY, data jsonb NOT NULL);
         CREATE VIEW v_event AS SELECT id, data FROM event;",
    )
    .await;
    insert_documents(&db, "event", docs).await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    (db, client)
}

async fn ids<E: Entity>(query: fraiseql_wire::Query<E>) -> Result<BTreeSet<i64>, String> {
    let sql = query.to_sql().map(|s| s.sql).unwrap_or_default();
    let rows = query.stream_raw().try_collect::<Vec<_>>().await.map_err(|e| format!("{e}\nSQL: {sql}"))?;
    Ok(rows
        .iter()
        .filter_map(|raw| serde_json::from_slice::<Value>(raw).ok().and_then(|doc| doc["id"].as_i64()))
        .collect())
}

#[test]
fn date_filters_agree_with_a_rust_model_in_every_storage() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let mut runner = TestRunner::new(ProptestConfig::default());
    let docs = proptest::collection::vec(document(), 250).new_tree(&mut runner).expect("documents").current();
    let (db, client) = runtime.block_on(events(&docs));
    let docs: Vec<Value> = docs.into_iter().map(Value::Object).collect();
    let (cast, strict) = (cast_handles(), strict_handles());

    let mut runner = TestRunner::new(ProptestConfig { cases: 300, ..ProptestConfig::default() });
    runner
        .run(&expr(), |expr| {
            let expected: BTreeSet<i64> =
                docs.iter().enumerate().filter(|(_, d)| expr.eval(d) == Some(true)).map(|(i, _)| i as i64).collect();
            let by_cast = Event::query(&client).filter_by(expr.filter(&cast));
            let by_function = StrictEvent::query(&client).filter_by(expr.filter(&strict));
            let (by_cast, by_function) = runtime.block_on(async { (ids(by_cast).await, ids(by_function).await) });
            prop_assert_eq!(by_cast.map_err(TestCaseError::fail)?, expected.clone(), "cast: {:?}", expr);
            prop_assert_eq!(by_function.map_err(TestCaseError::fail)?, expected, "rfc3339: {:?}", expr);
            Ok(())
        })
        .expect("PostgreSQL and the Rust model disagree");
    drop(db);
}

/// Every page after the last row of the one before, `size` rows at a time.
async fn pages<E: Entity>(
    client: &Client,
    size: u64,
    order: impl Fn(&E::Fields) -> Vec<fraiseql_wire::OrderKey<E>> + Copy,
    id: impl Fn(&E) -> i64,
) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut last: Option<E> = None;
    loop {
        let mut query = E::query(client).order_by(order).limit(size);
        if let Some(row) = &last {
            query = query.after(row);
        }
        let page = query.fetch_all().await.unwrap_or_else(|e| panic!("a page: {e}"));
        let full = page.len() as u64 == size;
        seen.extend(page.iter().map(&id));
        last = page.into_iter().last();
        if !full {
            return seen;
        }
    }
}

#[tokio::test]
async fn keyset_pages_over_dates_with_duplicates_return_every_row_once() {
    // 120 documents over 7 instants (so about 17 share each), each written in several ways, some without one.
    let docs: Vec<Map<String, Value>> = (0..120usize)
        .map(|i| {
            let mut doc = Map::new();
            if i % 11 != 5 {
                doc.insert("at".into(), Value::from(instant_text(instant(i % 7), i % 5, [0, 3, 6][i % 3])));
            }
            doc.insert("day".into(), Value::from(day(i % 5).format("%Y-%m-%d").to_string()));
            doc.insert("ts".into(), Value::from(SECONDS[i % 4]));
            doc
        })
        .collect();
    let (_db, client) = events(&docs).await;
    let at = |i: usize| docs[i].get("at").and_then(Value::as_str).map(parse_instant);
    let all: Vec<usize> = (0..docs.len()).collect();

    // Ascending: NULLs last, as PostgreSQL sorts them.
    let mut expected = all.clone();
    expected.sort_by_key(|&i| (at(i).is_none(), at(i), i));
    let expected: Vec<i64> = expected.into_iter().map(|i| i as i64).collect();
    let order_cast = |e: &EventFields| vec![e.at.asc(), e.id.asc()];
    assert_eq!(pages(&client, 7, order_cast, |e: &Event| e.id).await, expected, "cast, at asc");
    let order_strict = |e: &StrictEventFields| vec![e.at.asc(), e.id.asc()];
    assert_eq!(pages(&client, 7, order_strict, |e: &StrictEvent| e.id).await, expected, "rfc3339, at asc");

    // Descending: NULLs first.
    let mut expected = all.clone();
    expected.sort_by(|&a, &b| (at(b).is_none(), at(b)).cmp(&(at(a).is_none(), at(a))).then(a.cmp(&b)));
    let expected: Vec<i64> = expected.into_iter().map(|i| i as i64).collect();
    let order = |e: &EventFields| vec![e.at.desc(), e.id.asc()];
    assert_eq!(pages(&client, 5, order, |e: &Event| e.id).await, expected, "cast, at desc");

    // A date key and an epoch key, both with many duplicates.
    let mut expected = all.clone();
    expected.sort_by_key(|&i| (day(i % 5), std::cmp::Reverse(SECONDS[i % 4]), i));
    let expected: Vec<i64> = expected.into_iter().map(|i| i as i64).collect();
    let order = |e: &StrictEventFields| vec![e.day.asc(), e.ts.desc(), e.id.asc()];
    assert_eq!(pages(&client, 9, order, |e: &StrictEvent| e.id).await, expected, "day asc, ts desc");
}

#[tokio::test]
async fn text_of_another_shape_is_compared_by_the_cast_and_missing_for_rfc3339() {
    let at = "2026-03-01 14:00:00+02"; // PostgreSQL's own output: no `T`, and an offset without minutes
    let docs: Vec<Map<String, Value>> = vec![[("at".to_owned(), Value::from(at))].into_iter().collect()];
    let (_db, client) = events(&docs).await;
    let noon = with_offset(instant(0), 0);
    let cast = Event::query(&client).filter(|e| e.at.eq(noon));
    assert_eq!(ids(cast).await, Ok(BTreeSet::from([0])));
    let strict = StrictEvent::query(&client).filter(|e| e.at.eq(noon).or(e.at.ne(noon)));
    assert_eq!(ids(strict).await, Ok(BTreeSet::new()), "not RFC 3339, so neither equal nor different");
}

#[tokio::test]
async fn the_rfc3339_functions_do_not_depend_on_session_settings() {
    let db = TestCluster::shared().database().await;
    db.execute(FUNCTIONS_SQL).await;
    let admin = db.admin();
    let texts = ["2026-03-01T12:00:00Z", "2026-03-01T17:30:00.5+05:30", "2026-03-01 04:00:00.123456-08:00"];
    let mut results = Vec::new();
    for settings in [
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'",
        "SET TimeZone = 'Pacific/Kiritimati'; SET DateStyle = 'SQL, DMY'; SET timezone_abbreviations = 'India'",
        "SET TimeZone = 'America/St_Johns'; SET DateStyle = 'German, YMD'; SET IntervalStyle = 'iso_8601'",
    ] {
        admin.batch_execute(settings).await.expect("settings");
        let mut row = Vec::new();
        for text in texts {
            let epoch: String = admin
                .query_one(
                    "SELECT extract(epoch FROM fraiseql_timestamptz($1))::text || ' ' || \
                            extract(epoch FROM fraiseql_timestamp(left($1, 19)) - make_timestamp(2026, 1, 1, 0, 0, 0))::text \
                            || ' ' || (fraiseql_date(left($1, 10)) - make_date(2026, 1, 1))::text",
                    &[&text],
                )
                .await
                .expect("the functions run")
                .get(0);
            row.push(epoch);
        }
        results.push(row);
    }
    assert_eq!(results[0][0].split(' ').next(), Some("1772366400.000000"));
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    // Anything but RFC 3339 text reads as missing, whatever the settings would make of it.
    for other in ["2026-03-01 12:00:00", "now", "epoch", "03/01/2026 12:00:00+00", "2026-03-01T12:00:00+0530"] {
        let row = admin.query_one("SELECT fraiseql_timestamptz($1) IS NULL", &[&other]).await.expect("runs");
        assert!(row.get::<_, bool>(0), "{other:?} should read as missing");
    }
}

/// A newtype over a date, compared as the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize, Scalar)]
#[serde(transparent)]
struct Due(NaiveDate);

#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_release")]
struct Release {
    #[entity(column = "id")]
    id: i64,
    #[entity(time = "rfc3339")]
    #[serde(with = "time::serde::rfc3339")]
    shipped: time::OffsetDateTime,
    built: jiff::Timestamp,
    #[serde(default)]
    due: Option<Due>,
}

#[tokio::test]
async fn time_and_jiff_fields_and_newtypes_compare_as_instants() {
    let db = TestCluster::shared().database().await;
    db.execute(FUNCTIONS_SQL).await;
    db.execute(
        r#"CREATE TABLE release (id bigint PRIMARY KEY, data jsonb NOT NULL);
           CREATE VIEW v_release AS SELECT id, data FROM release;
           INSERT INTO release VALUES
             (1, '{"id": 1, "shipped": "2026-03-01T12:00:00Z", "built": "2026-03-01T11:00:00.25+00:00", "due": "2026-03-02"}'),
             (2, '{"id": 2, "shipped": "2026-03-01T13:00:00+01:00", "built": "2026-03-01T10:59:59Z"}'),
             (3, '{"id": 3, "shipped": "2026-03-01T11:59:59.999+00:00", "built": "2026-03-01T12:00:00.000001+01:00", "due": "2026-02-27"}');"#,
    )
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let noon = time::OffsetDateTime::from_unix_timestamp(1_772_366_400).expect("an instant");
    let built: jiff::Timestamp = "2026-03-01T11:00:00Z".parse().expect("an instant");
    let found = |rows: Vec<Release>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();

    let equal = Release::query(&client).filter(|r| r.shipped.eq(noon)).order_by(|r| r.id.asc());
    assert_eq!(found(equal.fetch_all().await.expect("eq")), [1, 2], "13:00+01:00 is noon UTC");
    let ordered = Release::query(&client).order_by(|r| (r.shipped.desc(), r.id.asc()));
    assert_eq!(found(ordered.fetch_all().await.expect("order")), [1, 2, 3]);
    let later = Release::query(&client).filter(|r| r.built.gt(built)).order_by(|r| r.id.asc());
    assert_eq!(found(later.fetch_all().await.expect("gt")), [1, 3]);
    let due = Release::query(&client).filter(|r| r.due.lt(Due(day(1) + chrono::Days::new(1))));
    assert_eq!(found(due.fetch_all().await.expect("newtype lt")), [3]);
    let in_range = Release::query(&client).filter(|r| r.due.between(Due(day(0)), Due(day(2))).or(r.due.is_null()));
    assert_eq!(found(in_range.order_by(|r| r.id.asc()).fetch_all().await.expect("between")), [1, 2]);
}
