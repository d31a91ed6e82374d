//! Free JSON against the server: `serde_json::Value` fields read through `path(…)` (strict jsonpath with bound
//! variables) agree with a Rust model of jsonpath's comparisons over values that are missing, null, of other
//! types, arrays or odd keys; `eq` on a path of keys is also a `@>` that a GIN index serves.

use fraiseql_wire::{Client, Entity, Filter, JsonPath};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::differential::Differential;
use crate::common::model::{self, Truth, maybe, put};
use crate::common::plan::explain;

#[allow(dead_code)] // only the handles are used; rows are read raw
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_post")]
struct Post {
    #[entity(column = "id")]
    id: i64,
    reactions: Option<Value>,
}

const KEYS: [&str; 3] = ["+1", "a\"b", "x"];

#[derive(Clone, Debug)]
enum Step {
    Key(&'static str),
    Index(usize),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gte,
}

#[derive(Clone, Debug)]
enum Expr {
    Compare(Vec<Step>, Op, Value),
    Exists(Vec<Step>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

model::boolean_tree!(Expr);

fn path_of(steps: &[Step]) -> JsonPath<Post> {
    let reactions = Post::fields().reactions;
    let (first, rest) = steps.split_first().expect("a path has a step");
    let start = match first {
        Step::Key(k) => reactions.path(*k),
        Step::Index(i) => reactions.at_index(*i),
    };
    rest.iter().fold(start, |path, step| match step {
        Step::Key(k) => path.path(*k),
        Step::Index(i) => path.at(*i),
    })
}

/// A strict path: `None` (unknown) when a key or position is missing or a step meets another shape.
fn walk<'v>(root: Option<&'v Value>, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(root?, |value, step| match step {
        Step::Key(k) => value.as_object()?.get(*k),
        Step::Index(i) => value.as_array()?.get(*i),
    })
}

/// jsonpath's comparison: `null` equals only `null` and differs from everything; two other types never
/// compare; objects and arrays never do.
fn compare(at: &Value, op: Op, v: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (at, v) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Value::Null) => return matches!(op, Op::Ne),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64().and_then(|a| b.as_f64().and_then(|b| a.partial_cmp(&b))),
        (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    };
    match (ordering, op) {
        (None, _) => false,
        (Some(o), Op::Eq) => o == Ordering::Equal,
        (Some(o), Op::Ne) => o != Ordering::Equal,
        (Some(o), Op::Lt) => o == Ordering::Less,
        (Some(o), Op::Gte) => o != Ordering::Less,
    }
}

impl Expr {
    fn filter(&self) -> Filter<Post> {
        match self {
            Expr::Compare(steps, op, v) => {
                let path = path_of(steps);
                match op {
                    Op::Eq => path.eq(v),
                    Op::Ne => path.ne(v),
                    Op::Lt => path.lt(v),
                    Op::Gte => path.gte(v),
                }
            }
            Expr::Exists(steps) => path_of(steps).exists(),
            Expr::And(a, b) => a.filter().and(b.filter()),
            Expr::Or(a, b) => a.filter().or(b.filter()),
            Expr::Not(a) => a.filter().not(),
        }
    }

    fn eval(&self, doc: &Value) -> Truth {
        let reactions = doc.get("reactions");
        match self {
            Expr::Compare(steps, op, v) => walk(reactions, steps).map(|at| compare(at, *op, v)),
            Expr::Exists(steps) => Some(walk(reactions, steps).is_some()),
            Expr::And(a, b) => model::and(a.eval(doc), b.eval(doc)),
            Expr::Or(a, b) => model::or(a.eval(doc), b.eval(doc)),
            Expr::Not(a) => a.eval(doc).map(|t| !t),
        }
    }
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0i64..4).prop_map(Value::from),
        1 => Just(json!(2.5)),
        2 => prop_oneof![Just("a"), Just("b"), Just("B")].prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map(prop::sample::select(&KEYS[..]), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step =
        prop_oneof![3 => prop::sample::select(&KEYS[..]).prop_map(Step::Key), 1 => (0usize..2).prop_map(Step::Index)];
    proptest::collection::vec(step, 1..3)
}

fn expr() -> impl Strategy<Value = Expr> {
    let op = prop_oneof![Just(Op::Eq), Just(Op::Ne), Just(Op::Lt), Just(Op::Gte)];
    let leaf = prop_oneof![
        4 => (steps(), op, scalar()).prop_map(|(s, op, v)| Expr::Compare(s, op, v)),
        1 => steps().prop_map(Expr::Exists),
    ];
    model::tree(leaf, 6)
}

fn document() -> impl Strategy<Value = Map<String, Value>> {
    maybe(json_value()).prop_map(|reactions| {
        let mut doc = Map::new();
        put(&mut doc, "reactions", reactions);
        doc
    })
}

#[test]
fn paths_agree_with_a_model_of_strict_jsonpath() {
    let mut runner = TestRunner::new(ProptestConfig::default());
    let docs = proptest::collection::vec(document(), 300).new_tree(&mut runner).expect("documents").current();
    let server = Differential::load::<Post>("post", &docs);
    let docs: Vec<Value> = docs.into_iter().map(Value::Object).collect();
    server.agree(docs.len(), expr(), Expr::filter, |expr, i| expr.eval(&docs[i]));
}

#[tokio::test]
async fn an_equality_on_a_path_is_served_by_the_gin_index() {
    let db = TestCluster::shared().database().await;
    db.execute(
        "CREATE TABLE post (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO post SELECT i, jsonb_build_object('id', i, 'reactions', jsonb_build_object('+1', i % 1000, 'heart', i % 7))
         FROM generate_series(1, 100000) AS i;
         CREATE VIEW v_post AS SELECT id, data FROM post;
         CREATE INDEX post_gin ON post USING gin (data jsonb_path_ops);
         ANALYZE post;",
    )
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let query = Post::query(&client).filter(|p| p.reactions.path("+1").eq(999).and(p.reactions.path("heart").gt(3)));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("post_gin") && !plan.has("Seq Scan"), "{plan}");
    let ids: Vec<i64> =
        query.order_by(|p| p.id.asc()).fetch_all().await.expect("eq").into_iter().map(|p| p.id).collect();
    let expected: Vec<i64> = (0..100).map(|n| 999 + n * 1000).filter(|i| i % 7 > 3).collect();
    assert_eq!(ids, expected);
}
