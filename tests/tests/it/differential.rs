//! Differential test of typed filters: proptest builds random filters (and/or/not over every operator family)
//! and random documents; PostgreSQL evaluates the compiled SQL, a Rust mirror of SQL's semantics (three-valued
//! logic, `->>` text, numeric casts, LIKE, jsonb containment) evaluates the same filter, and the ids must agree.

use std::collections::BTreeSet;

use fraiseql_wire::Filter;
use fraiseql_wire_tests::{AuthUser, TestCluster};
use futures_util::TryStreamExt;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::model::{self, Truth, insert_documents, maybe, put};

#[derive(Debug, Deserialize, fraiseql_wire::Document)]
struct Owner {
    team: String,
}

#[allow(dead_code)] // only the handles are used; rows are read raw
#[derive(Debug, Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_diff")]
struct Doc {
    #[entity(column = "id")]
    id: i64,
    name: Option<String>,
    priority: Option<i64>,
    score: Option<f64>,
    flag: Option<bool>,
    tags: Vec<String>,
    owner: Owner,
}

/// A filter as data, so it can both build a `Filter<Doc>` and be evaluated in Rust.
#[derive(Clone, Debug)]
enum Expr {
    NameEq(String),
    NameNe(String),
    NameLt(String),
    NameGte(String),
    NameIn(Vec<String>),
    NameNotIn(Vec<String>),
    NameStartsWith(String),
    NameEndsWith(String),
    NameContains(String),
    NameLike(String),
    NameIsNull,
    NameIsNotNull,
    NameIsMissing,
    NameIsJsonNull,
    NameMatches(&'static str),
    NameMatchesCi(&'static str),
    PriorityEq(i64),
    PriorityGt(i64),
    PriorityLte(i64),
    PriorityBetween(i64, i64),
    PriorityIn(Vec<i64>),
    ScoreGt(f64),
    ScoreIsNull,
    FlagEq(bool),
    TagsContains(String),
    TagsContainsAll(Vec<String>),
    TagsContainsAny(Vec<String>),
    TagsIsEmpty,
    TagsLenGt(usize),
    TeamEq(String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    fn filter(&self) -> Filter<Doc> {
        let d = Doc::fields();
        match self {
            Expr::NameEq(s) => d.name.eq(s.as_str()),
            Expr::NameNe(s) => d.name.ne(s.as_str()),
            Expr::NameLt(s) => d.name.lt(s.as_str()),
            Expr::NameGte(s) => d.name.gte(s.as_str()),
            Expr::NameIn(v) => d.name.in_list(v.iter().map(String::as_str)),
            Expr::NameNotIn(v) => d.name.not_in(v.iter().map(String::as_str)),
            Expr::NameStartsWith(s) => d.name.starts_with(s),
            Expr::NameEndsWith(s) => d.name.ends_with(s),
            Expr::NameContains(s) => d.name.contains(s.as_str()),
            Expr::NameLike(s) => d.name.like(s),
            Expr::NameIsNull => d.name.is_null(),
            Expr::NameIsNotNull => d.name.is_not_null(),
            Expr::NameIsMissing => d.name.is_missing(),
            Expr::NameIsJsonNull => d.name.is_json_null(),
            Expr::NameMatches(p) => d.name.matches_regex(p),
            Expr::NameMatchesCi(p) => d.name.matches_regex_ci(p),
            Expr::PriorityEq(n) => d.priority.eq(*n),
            Expr::PriorityGt(n) => d.priority.gt(*n),
            Expr::PriorityLte(n) => d.priority.lte(*n),
            Expr::PriorityBetween(a, b) => d.priority.between(*a, *b),
            Expr::PriorityIn(v) => d.priority.in_list(v.iter().copied()),
            Expr::ScoreGt(x) => d.score.gt(*x),
            Expr::ScoreIsNull => d.score.is_null(),
            Expr::FlagEq(b) => d.flag.eq(*b),
            Expr::TagsContains(s) => d.tags.contains(s.as_str()),
            Expr::TagsContainsAll(v) => d.tags.contains_all(v.iter().map(String::as_str)),
            Expr::TagsContainsAny(v) => d.tags.contains_any(v.iter().map(String::as_str)),
            Expr::TagsIsEmpty => d.tags.is_empty(),
            Expr::TagsLenGt(n) => d.tags.len_gt(*n),
            Expr::TeamEq(s) => d.owner.team.eq(s.as_str()),
            Expr::And(a, b) => a.filter().and(b.filter()),
            Expr::Or(a, b) => a.filter().or(b.filter()),
            Expr::Not(a) => a.filter().not(),
        }
    }

    /// What PostgreSQL computes for this filter on `doc`.
    fn eval(&self, doc: &Value) -> Truth {
        let name = text(doc, &["name"]);
        let priority = number(doc, "priority");
        let tags = doc.get("tags");
        match self {
            Expr::NameEq(s) => name.map(|n| n == *s),
            Expr::NameNe(s) => name.map(|n| n != *s),
            Expr::NameLt(s) => name.map(|n| n.as_str() < s.as_str()),
            Expr::NameGte(s) => name.map(|n| n.as_str() >= s.as_str()),
            Expr::NameIn(v) => any_of(name.as_ref(), v),
            Expr::NameNotIn(v) => none_of(name.as_ref(), v),
            Expr::NameStartsWith(s) => name.map(|n| n.starts_with(s.as_str())),
            Expr::NameEndsWith(s) => name.map(|n| n.ends_with(s.as_str())),
            Expr::NameContains(s) => name.map(|n| n.contains(s.as_str())),
            Expr::NameLike(p) => name.map(|n| like(&n, p)),
            Expr::NameIsNull => Some(name.is_none()),
            Expr::NameIsNotNull => Some(name.is_some()),
            Expr::NameIsMissing => Some(doc.get("name").is_none()),
            Expr::NameIsJsonNull => Some(doc.get("name") == Some(&Value::Null)),
            Expr::NameMatches(p) => name.map(|n| regex(p, false).is_match(&n)),
            Expr::NameMatchesCi(p) => name.map(|n| regex(p, true).is_match(&n)),
            Expr::PriorityEq(n) => priority.map(|p| p == *n as f64),
            Expr::PriorityGt(n) => priority.map(|p| p > *n as f64),
            Expr::PriorityLte(n) => priority.map(|p| p <= *n as f64),
            Expr::PriorityBetween(a, b) => priority.map(|p| *a as f64 <= p && p <= *b as f64),
            Expr::PriorityIn(v) => any_of(priority.as_ref(), &v.iter().map(|n| *n as f64).collect::<Vec<_>>()),
            Expr::ScoreGt(x) => number(doc, "score").map(|s| s > *x),
            Expr::ScoreIsNull => Some(number(doc, "score").is_none()),
            Expr::FlagEq(b) => text(doc, &["flag"]).map(|f| (f == "true") == *b),
            Expr::TagsContains(s) => Some(contains(tags, std::slice::from_ref(s))),
            Expr::TagsContainsAll(v) => Some(v.is_empty() || contains(tags, v)),
            Expr::TagsContainsAny(v) => Some(v.iter().any(|s| contains(tags, std::slice::from_ref(s)))),
            // `data->'tags' = '[]'`: NULL when the key is missing.
            Expr::TagsIsEmpty => tags.map(|t| t == &json!([])),
            Expr::TagsLenGt(n) => tags.and_then(Value::as_array).map(|a| a.len() > *n),
            Expr::TeamEq(s) => text(doc, &["owner", "team"]).map(|t| t == *s),
            Expr::And(a, b) => model::and(a.eval(doc), b.eval(doc)),
            Expr::Or(a, b) => model::or(a.eval(doc), b.eval(doc)),
            Expr::Not(a) => a.eval(doc).map(|t| !t),
        }
    }
}

/// `data->'a'->>'b'`: SQL NULL for a missing key or JSON null, else the value's text.
fn text(doc: &Value, path: &[&str]) -> Option<String> {
    let mut value = doc;
    for key in path {
        value = value.get(key)?;
    }
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn number(doc: &Value, key: &str) -> Option<f64> {
    text(doc, &[key]).and_then(|t| t.parse().ok())
}

/// `x = ANY(array)`: NULL for a NULL `x` unless the array is empty.
fn any_of<T: PartialEq>(x: Option<&T>, values: &[T]) -> Truth {
    if values.is_empty() {
        return Some(false);
    }
    x.map(|x| values.contains(x))
}

/// `x <> ALL(array)`: true for an empty array, NULL for a NULL `x` otherwise.
fn none_of<T: PartialEq>(x: Option<&T>, values: &[T]) -> Truth {
    if values.is_empty() {
        return Some(true);
    }
    x.map(|x| !values.contains(x))
}

/// `data @> {"tags": [..]}`: the tags array holds every one of `wanted`.
fn contains(tags: Option<&Value>, wanted: &[String]) -> bool {
    let Some(Value::Array(items)) = tags else { return false };
    wanted.iter().all(|w| items.iter().any(|i| i.as_str() == Some(w.as_str())))
}

/// SQL `LIKE` with `\` as the escape character, on characters (the test cluster uses the C collation).
fn like(text: &str, pattern: &str) -> bool {
    fn matches(t: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| matches(&t[i..], rest)),
            Some(('_', rest)) => !t.is_empty() && matches(&t[1..], rest),
            Some(('\\', rest)) => match rest.split_first() {
                Some((c, rest)) => t.first() == Some(c) && matches(&t[1..], rest),
                None => false,
            },
            Some((c, rest)) => t.first() == Some(c) && matches(&t[1..], rest),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    matches(&t, &p)
}

/// Regular expressions that mean the same in PostgreSQL's ARE syntax and the regex crate's.
const PATTERNS: &[&str] = &["^a", "b$", "a.b", "^(a|é)+$", "^$", "[%_]", "A", "\\\\"];

fn regex(pattern: &str, ignore_case: bool) -> regex::Regex {
    regex::RegexBuilder::new(pattern).case_insensitive(ignore_case).build().expect("a valid pattern")
}

/// Short strings over a small alphabet (with LIKE metacharacters and non-ASCII), so values collide often.
fn word() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![Just('a'), Just('b'), Just('%'), Just('_'), Just('é'), Just('\\')], 0..4)
        .prop_map(|chars| chars.into_iter().collect())
}

fn small_int() -> impl Strategy<Value = i64> {
    -3i64..4
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        word().prop_map(Expr::NameEq),
        word().prop_map(Expr::NameNe),
        word().prop_map(Expr::NameLt),
        word().prop_map(Expr::NameGte),
        proptest::collection::vec(word(), 0..3).prop_map(Expr::NameIn),
        proptest::collection::vec(word(), 0..3).prop_map(Expr::NameNotIn),
        word().prop_map(Expr::NameStartsWith),
        word().prop_map(Expr::NameEndsWith),
        word().prop_map(Expr::NameContains),
        // Patterns ending in a lone backslash are invalid SQL LIKE patterns; the server rejects them.
        word()
            .prop_filter("valid LIKE pattern", |p| p.chars().rev().take_while(|c| *c == '\\').count() % 2 == 0)
            .prop_map(Expr::NameLike),
        Just(Expr::NameIsNull),
        Just(Expr::NameIsNotNull),
        Just(Expr::NameIsMissing),
        Just(Expr::NameIsJsonNull),
        proptest::sample::select(PATTERNS).prop_map(Expr::NameMatches),
        proptest::sample::select(PATTERNS).prop_map(Expr::NameMatchesCi),
        small_int().prop_map(Expr::PriorityEq),
        small_int().prop_map(Expr::PriorityGt),
        small_int().prop_map(Expr::PriorityLte),
        (small_int(), small_int()).prop_map(|(a, b)| Expr::PriorityBetween(a, b)),
        proptest::collection::vec(small_int(), 0..3).prop_map(Expr::PriorityIn),
        (-300i64..300).prop_map(|n| Expr::ScoreGt(n as f64 / 100.0)),
        // Thresholds equal (as f64) to the scores stored with more digits than an f64 keeps.
        (0i64..50).prop_map(|n| Expr::ScoreGt(n as f64 / 3.0)),
        Just(Expr::ScoreIsNull),
        any::<bool>().prop_map(Expr::FlagEq),
        word().prop_map(Expr::TagsContains),
        proptest::collection::vec(word(), 0..3).prop_map(Expr::TagsContainsAll),
        proptest::collection::vec(word(), 0..3).prop_map(Expr::TagsContainsAny),
        Just(Expr::TagsIsEmpty),
        (0usize..3).prop_map(Expr::TagsLenGt),
        word().prop_map(Expr::TeamEq),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    model::tree(leaf(), 16)
}

model::boolean_tree!(Expr);

fn document() -> impl Strategy<Value = Map<String, Value>> {
    (
        maybe(word()),
        maybe(small_int()),
        maybe((-300i64..300).prop_map(|n| n as f64 / 100.0)),
        maybe(any::<bool>()),
        prop_oneof![1 => Just(None), 4 => proptest::collection::vec(word(), 0..3).prop_map(Some)],
        prop_oneof![1 => Just(None), 4 => word().prop_map(Some)],
    )
        .prop_map(|(name, priority, score, flag, tags, team)| {
            let mut doc = Map::new();
            put(&mut doc, "name", name.map(|v| v.map(Value::from)));
            put(&mut doc, "priority", priority.map(|v| v.map(Value::from)));
            put(&mut doc, "score", score.map(|v| v.map(Value::from)));
            put(&mut doc, "flag", flag.map(|v| v.map(Value::from)));
            put(&mut doc, "tags", tags.map(|t| Some(Value::from(t))));
            put(&mut doc, "owner", team.map(|t| Some(json!({ "team": t }))));
            doc
        })
}

#[test]
fn typed_filters_agree_with_a_rust_model_of_sql() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let cluster = TestCluster::shared();
    let (db, client, docs) = runtime.block_on(async {
        let db = cluster.database().await;
        // One fixed set of documents per run, large enough that each filter sees every shape.
        let mut runner = TestRunner::new(ProptestConfig::default());
        let strategy = proptest::collection::vec(document(), 300);
        let docs: Vec<Map<String, Value>> = strategy.new_tree(&mut runner).expect("documents").current();
        db.execute(
            "CREATE TABLE diff (id bigint PRIMARY KEY, data jsonb NOT NULL); \
                    CREATE VIEW v_diff AS SELECT id, data FROM diff",
        )
        .await;
        insert_documents(&db, "diff", &docs).await;
        // Scores with more digits than an f64 keeps (`0.33333333333333333333`), which only SQL can store; the
        // model reads the documents back as a client decodes them.
        db.execute(
            "UPDATE diff SET data = jsonb_set(data, '{score}', to_jsonb((id % 50) / 3.0)) \
             WHERE id % 4 = 0 AND jsonb_typeof(data->'score') = 'number'",
        )
        .await;
        let client = fraiseql_wire::Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
        let stored = client.query("v_diff").order_by_sql("id").stream_raw().try_collect::<Vec<_>>().await;
        let docs: Vec<Value> = stored
            .expect("reading the documents back")
            .iter()
            .map(|raw| serde_json::from_slice(raw).expect("valid JSON from the server"))
            .collect();
        assert_eq!(docs.len(), 300);
        (db, client, docs)
    });

    let mut runner = TestRunner::new(ProptestConfig { cases: 300, ..ProptestConfig::default() });
    runner
        .run(&expr(), |expr| {
            let expected: BTreeSet<i64> =
                docs.iter().enumerate().filter(|(_, d)| expr.eval(d) == Some(true)).map(|(i, _)| i as i64).collect();
            let query = Doc::query(&client).filter_by(expr.filter());
            let sql = query.to_sql().map(|s| s.sql).unwrap_or_default();
            let actual: BTreeSet<i64> = runtime
                .block_on(async {
                    query
                        .stream_raw()
                        .map_ok(|raw| {
                            let doc: Value = serde_json::from_slice(&raw).expect("valid JSON from the server");
                            doc["id"].as_i64()
                        })
                        .try_collect::<Vec<_>>()
                        .await
                })
                .map_err(|e| TestCaseError::fail(format!("query failed: {e}\nSQL: {sql}")))?
                .into_iter()
                .flatten()
                .collect();
            prop_assert_eq!(&actual, &expected, "filter {:?}\nSQL: {}", expr, sql);
            Ok(())
        })
        .expect("PostgreSQL and the Rust model disagree");
    drop(db);
}
