//! Nested documents against the server: `any`, `all`, `contains`, `is_empty`, `len_*` and `at` on `Vec<D>`
//! fields (with an array nested inside the elements), and the handles, presence tests and `contained_by` of an
//! `Option<D>` field, agree with a Rust model over documents whose values are missing, null, of another shape,
//! empty, or hold elements of mixed shapes; and the `@>` pre-filter `any` writes lets a GIN index find the rows.

use fraiseql_wire::{Client, Document, Entity, Filter};
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
#[derive(Debug, Deserialize, Document)]
struct Part {
    sku: Option<String>,
    qty: Option<i64>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
struct Label {
    name: Option<String>,
    weight: Option<i64>,
    tags: Option<Vec<String>>,
    parts: Option<Vec<Part>>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_issue")]
struct Issue {
    #[entity(column = "id")]
    id: i64,
    labels: Option<Vec<Label>>,
    milestone: Option<Label>,
}

/// A filter on one part.
#[derive(Clone, Debug)]
enum PartExpr {
    SkuEq(String),
    QtyGte(i64),
    QtyIsNull,
}

/// A filter on one label.
#[derive(Clone, Debug)]
enum LabelExpr {
    NameEq(String),
    NameNe(String),
    NameStartsWith(String),
    WeightEq(i64),
    WeightGt(i64),
    WeightIsNull,
    TagsContains(String),
    TagAtEq(usize, String),
    TagsContainedBy(Vec<String>),
    PartsAny(PartExpr),
    PartsAll(PartExpr),
    And(Box<LabelExpr>, Box<LabelExpr>),
    Or(Box<LabelExpr>, Box<LabelExpr>),
    Not(Box<LabelExpr>),
}

model::boolean_tree!(LabelExpr);

/// A filter on the issue.
#[derive(Clone, Debug)]
enum Expr {
    Any(LabelExpr),
    All(LabelExpr),
    Contains(Value),
    IsEmpty,
    LengthGt(usize),
    LabelAt(usize, LabelExpr),
    Milestone(LabelExpr),
    MilestoneIsNull,
    MilestoneIsMissing,
    MilestoneIsJsonNull,
    MilestoneContainedBy(Value),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

model::boolean_tree!(Expr);

impl PartExpr {
    fn filter(&self, p: &PartFields<Part>) -> Filter<Part> {
        match self {
            PartExpr::SkuEq(s) => p.sku.eq(s.as_str()),
            PartExpr::QtyGte(n) => p.qty.gte(*n),
            PartExpr::QtyIsNull => p.qty.is_null(),
        }
    }

    fn eval(&self, part: &Value) -> Truth {
        match self {
            PartExpr::SkuEq(s) => text(part, "sku").map(|v| v == *s),
            PartExpr::QtyGte(n) => number(part, "qty").map(|v| v >= *n),
            PartExpr::QtyIsNull => Some(text(part, "qty").is_none()),
        }
    }
}

impl LabelExpr {
    fn filter<E: 'static>(&self, l: &LabelFields<E>) -> Filter<E> {
        match self {
            LabelExpr::NameEq(s) => l.name.eq(s.as_str()),
            LabelExpr::NameNe(s) => l.name.ne(s.as_str()),
            LabelExpr::NameStartsWith(s) => l.name.starts_with(s),
            LabelExpr::WeightEq(n) => l.weight.eq(*n),
            LabelExpr::WeightGt(n) => l.weight.gt(*n),
            LabelExpr::WeightIsNull => l.weight.is_null(),
            LabelExpr::TagsContains(s) => l.tags.contains(s.as_str()),
            LabelExpr::TagAtEq(n, s) => l.tags.at(*n).eq(s.as_str()),
            LabelExpr::TagsContainedBy(words) => l.tags.contained_by(words),
            LabelExpr::PartsAny(p) => l.parts.any(|part| p.filter(part)),
            LabelExpr::PartsAll(p) => l.parts.all(|part| p.filter(part)),
            LabelExpr::And(a, b) => a.filter(l).and(b.filter(l)),
            LabelExpr::Or(a, b) => a.filter(l).or(b.filter(l)),
            LabelExpr::Not(a) => a.filter(l).not(),
        }
    }

    fn eval(&self, label: &Value) -> Truth {
        match self {
            LabelExpr::NameEq(s) => text(label, "name").map(|v| v == *s),
            LabelExpr::NameNe(s) => text(label, "name").map(|v| v != *s),
            LabelExpr::NameStartsWith(s) => text(label, "name").map(|v| v.starts_with(s.as_str())),
            LabelExpr::WeightEq(n) => number(label, "weight").map(|v| v == *n),
            LabelExpr::WeightGt(n) => number(label, "weight").map(|v| v > *n),
            LabelExpr::WeightIsNull => Some(text(label, "weight").is_none()),
            LabelExpr::TagsContains(s) => Some(array(label.get("tags")).is_some_and(|t| t.contains(&json!(s)))),
            LabelExpr::TagAtEq(n, s) => {
                array(object_key(label, "tags")).and_then(|t| t.get(*n)).and_then(as_text).map(|v| v == *s)
            }
            LabelExpr::TagsContainedBy(words) => object_key(label, "tags").map(|t| contains(&json!(words), t)),
            LabelExpr::PartsAny(p) => Some(exists(label.get("parts"), |part| p.eval(part))),
            LabelExpr::PartsAll(p) => every(label.get("parts"), |part| p.eval(part)),
            LabelExpr::And(a, b) => model::and(a.eval(label), b.eval(label)),
            LabelExpr::Or(a, b) => model::or(a.eval(label), b.eval(label)),
            LabelExpr::Not(a) => a.eval(label).map(|t| !t),
        }
    }
}

impl Expr {
    fn filter(&self) -> Filter<Issue> {
        let i = Issue::fields();
        match self {
            Expr::Any(l) => i.labels.any(|label| l.filter(label)),
            Expr::All(l) => i.labels.all(|label| l.filter(label)),
            Expr::Contains(partial) => i.labels.contains(partial),
            Expr::IsEmpty => i.labels.is_empty(),
            Expr::LengthGt(n) => i.labels.len_gt(*n),
            Expr::LabelAt(n, l) => l.filter(&i.labels.at(*n)),
            Expr::Milestone(l) => l.filter(&i.milestone),
            Expr::MilestoneIsNull => i.milestone.is_null(),
            Expr::MilestoneIsMissing => i.milestone.is_missing(),
            Expr::MilestoneIsJsonNull => i.milestone.is_json_null(),
            Expr::MilestoneContainedBy(whole) => i.milestone.contained_by(whole),
            Expr::And(a, b) => a.filter().and(b.filter()),
            Expr::Or(a, b) => a.filter().or(b.filter()),
            Expr::Not(a) => a.filter().not(),
        }
    }

    fn eval(&self, doc: &Value) -> Truth {
        let labels = doc.get("labels");
        let milestone = doc.get("milestone");
        match self {
            Expr::Any(l) => Some(exists(labels, |label| l.eval(label))),
            Expr::All(l) => every(labels, |label| l.eval(label)),
            Expr::Contains(partial) => Some(array(labels).is_some_and(|a| a.iter().any(|e| contains(e, partial)))),
            // `data->'labels' = '[]'`: NULL when the key is missing, false for JSON null.
            Expr::IsEmpty => labels.map(|l| l == &json!([])),
            Expr::LengthGt(n) => array(labels).map(|a| a.len() > *n),
            // `data->'labels'->n`: NULL past the end and on anything but an array, so every key there is missing.
            Expr::LabelAt(n, l) => l.eval(array(labels).and_then(|a| a.get(*n)).unwrap_or(&Value::Null)),
            Expr::Milestone(l) => l.eval(milestone.unwrap_or(&Value::Null)),
            Expr::MilestoneIsNull => Some(milestone.is_none_or(Value::is_null)),
            Expr::MilestoneIsMissing => Some(milestone.is_none()),
            Expr::MilestoneIsJsonNull => Some(milestone.is_some_and(Value::is_null)),
            Expr::MilestoneContainedBy(whole) => milestone.map(|m| contains(whole, m)),
            Expr::And(a, b) => model::and(a.eval(doc), b.eval(doc)),
            Expr::Or(a, b) => model::or(a.eval(doc), b.eval(doc)),
            Expr::Not(a) => a.eval(doc).map(|t| !t),
        }
    }
}

/// `value->'key'`: NULL unless `value` is an object holding `key`.
fn object_key<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value.as_object()?.get(key)
}

/// `value->>key`: NULL unless `value` is an object holding a non-null `key`.
fn text(value: &Value, key: &str) -> Option<String> {
    object_key(value, key).and_then(as_text)
}

/// A JSON value as `->>` gives it: NULL for JSON null, a string's contents, any other value's JSON text.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn number(value: &Value, key: &str) -> Option<i64> {
    text(value, key).and_then(|t| t.parse().ok())
}

fn array(value: Option<&Value>) -> Option<&Vec<Value>> {
    value.and_then(Value::as_array)
}

/// `EXISTS (… jsonb_array_elements …)`: some element is true; false for anything but an array.
fn exists(list: Option<&Value>, predicate: impl Fn(&Value) -> Truth) -> bool {
    array(list).is_some_and(|a| a.iter().any(|e| predicate(e) == Some(true)))
}

/// `CASE WHEN jsonb_typeof(x) = 'array' THEN NOT EXISTS (… WHERE (p) IS NOT TRUE) END`: NULL for anything but
/// an array.
fn every(list: Option<&Value>, predicate: impl Fn(&Value) -> Truth) -> Truth {
    array(list).map(|a| a.iter().all(|e| predicate(e) == Some(true)))
}

/// jsonb containment `value @> partial`.
fn contains(value: &Value, partial: &Value) -> bool {
    match (value, partial) {
        (Value::Object(v), Value::Object(p)) => p.iter().all(|(k, pv)| v.get(k).is_some_and(|vv| contains(vv, pv))),
        (Value::Array(v), Value::Array(p)) => p.iter().all(|pe| v.iter().any(|ve| contains(ve, pe))),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![Just("a".to_owned()), Just("b".to_owned()), Just("ab".to_owned()), Just("é".to_owned())]
}

fn small() -> impl Strategy<Value = i64> {
    0i64..4
}

fn part_expr() -> impl Strategy<Value = PartExpr> {
    prop_oneof![word().prop_map(PartExpr::SkuEq), small().prop_map(PartExpr::QtyGte), Just(PartExpr::QtyIsNull)]
}

fn label_expr() -> impl Strategy<Value = LabelExpr> {
    let leaf = prop_oneof![
        word().prop_map(LabelExpr::NameEq),
        word().prop_map(LabelExpr::NameNe),
        word().prop_map(LabelExpr::NameStartsWith),
        small().prop_map(LabelExpr::WeightEq),
        small().prop_map(LabelExpr::WeightGt),
        Just(LabelExpr::WeightIsNull),
        word().prop_map(LabelExpr::TagsContains),
        ((0usize..3), word()).prop_map(|(n, w)| LabelExpr::TagAtEq(n, w)),
        proptest::collection::vec(word(), 0..3).prop_map(LabelExpr::TagsContainedBy),
        part_expr().prop_map(LabelExpr::PartsAny),
        part_expr().prop_map(LabelExpr::PartsAll),
    ];
    model::tree(leaf, 6)
}

fn expr() -> impl Strategy<Value = Expr> {
    let partial = prop_oneof![
        word().prop_map(|w| json!({ "name": w })),
        small().prop_map(|n| json!({ "weight": n })),
        word().prop_map(|w| json!({ "tags": [w] })),
        (word(), small()).prop_map(|(w, n)| json!({ "name": w, "parts": [{ "qty": n }] })),
    ];
    let whole = prop_oneof![
        (word(), small()).prop_map(|(w, n)| json!({ "name": w, "weight": n })),
        (word(), proptest::collection::vec(word(), 0..3)).prop_map(|(w, tags)| json!({ "name": w, "tags": tags })),
        Just(json!({})),
    ];
    let leaf = prop_oneof![
        4 => label_expr().prop_map(Expr::Any),
        3 => label_expr().prop_map(Expr::All),
        1 => partial.prop_map(Expr::Contains),
        1 => Just(Expr::IsEmpty),
        1 => (0usize..3).prop_map(Expr::LengthGt),
        2 => ((0usize..3), label_expr()).prop_map(|(n, l)| Expr::LabelAt(n, l)),
        3 => label_expr().prop_map(Expr::Milestone),
        1 => Just(Expr::MilestoneIsNull),
        1 => Just(Expr::MilestoneIsMissing),
        1 => Just(Expr::MilestoneIsJsonNull),
        1 => whole.prop_map(Expr::MilestoneContainedBy),
    ];
    model::tree(leaf, 6)
}

fn part() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (maybe(word()), maybe(small())).prop_map(|(sku, qty)| {
            let mut part = Map::new();
            put(&mut part, "sku", sku.map(|v| v.map(Value::from)));
            put(&mut part, "qty", qty.map(|v| v.map(Value::from)));
            Value::Object(part)
        }),
        1 => Just(json!("loose")),
    ]
}

/// A label, or an element of another shape (a string, a number, null, an array).
fn element() -> impl Strategy<Value = Value> {
    let label = (
        maybe(word()),
        maybe(small()),
        maybe(proptest::collection::vec(word(), 0..3)),
        maybe(proptest::collection::vec(part(), 0..3)),
    )
        .prop_map(|(name, weight, tags, parts)| {
            let mut label = Map::new();
            put(&mut label, "name", name.map(|v| v.map(Value::from)));
            put(&mut label, "weight", weight.map(|v| v.map(Value::from)));
            put(&mut label, "tags", tags.map(|v| v.map(Value::from)));
            put(&mut label, "parts", parts.map(|v| v.map(Value::Array)));
            Value::Object(label)
        });
    prop_oneof![8 => label, 1 => Just(json!("bug")), 1 => Just(json!(3)), 1 => Just(Value::Null), 1 => Just(json!([]))]
}

fn document() -> impl Strategy<Value = Map<String, Value>> {
    let labels = prop_oneof![
        6 => proptest::collection::vec(element(), 0..4).prop_map(Value::Array),
        1 => Just(json!({ "name": "a" })),
        1 => Just(json!("a")),
    ];
    (maybe(labels), maybe(element())).prop_map(|(labels, milestone)| {
        let mut doc = Map::new();
        put(&mut doc, "labels", labels);
        put(&mut doc, "milestone", milestone);
        doc
    })
}

#[test]
fn any_all_and_containment_agree_with_a_rust_model() {
    let mut runner = TestRunner::new(ProptestConfig::default());
    let docs = proptest::collection::vec(document(), 300).new_tree(&mut runner).expect("documents").current();
    let server = Differential::load::<Issue>("issue", &docs);
    let docs: Vec<Value> = docs.into_iter().map(Value::Object).collect();
    server.agree(docs.len(), expr(), Expr::filter, |expr, i| expr.eval(&docs[i]));
}

#[tokio::test]
async fn any_is_served_by_the_gin_index_through_its_prefilter() {
    let db = TestCluster::shared().database().await;
    db.execute(
        "CREATE TABLE issue (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO issue
         SELECT i, jsonb_build_object('id', i, 'labels', jsonb_build_array(
             jsonb_build_object('name', CASE WHEN i % 10000 = 0 THEN 'rare' ELSE 'common' END, 'weight', i % 7,
                                'parts', jsonb_build_array(jsonb_build_object('sku', 's' || i % 5000, 'qty', i % 3))),
             jsonb_build_object('name', 'other', 'weight', 1)))
         FROM generate_series(1, 100000) AS i;
         CREATE VIEW v_issue AS SELECT id, data FROM issue;
         CREATE INDEX issue_gin ON issue USING gin (data jsonb_path_ops);
         ANALYZE issue;",
    )
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let ids = |issues: Vec<Issue>| issues.into_iter().map(|i| i.id).collect::<Vec<_>>();

    // An equality and a range on the same element: the equality prunes through GIN, the range is checked.
    let query = Issue::query(&client).filter(|i| i.labels.any(|l| l.name.eq("rare").and(l.weight.gt(2))));
    let plan = explain(&db, &query).await;
    assert!(plan.has("Bitmap Index Scan") && plan.uses_index("issue_gin") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (1..=10).map(|n| n * 10_000).filter(|i| i % 7 > 2).collect();
    assert_eq!(ids(query.order_by(|i| i.id.asc()).fetch_all().await.expect("any")), expected);

    // A nested array inside the elements: its equality joins the pre-filter too.
    let query =
        Issue::query(&client).filter(|i| i.labels.any(|l| l.parts.any(|p| p.sku.eq("s1234").and(p.qty.gte(1)))));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("issue_gin") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (0..20).map(|n| 1234 + n * 5000).filter(|i| i % 3 >= 1).collect();
    assert_eq!(ids(query.order_by(|i| i.id.asc()).fetch_all().await.expect("nested any")), expected);

    let query = Issue::query(&client).filter(|i| i.labels.contains(&json!({"name": "rare", "weight": 4})));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("issue_gin"), "{plan}");
    assert_eq!(ids(query.order_by(|i| i.id.asc()).fetch_all().await.expect("contains")), [10_000, 80_000]);

    // A position is never a `@>`; an expression index on the element's key serves it.
    db.execute("CREATE INDEX issue_first_label ON issue ((data->'labels'->0->>'name')); ANALYZE issue").await;
    let query = Issue::query(&client).filter(|i| i.labels.at(0).name.eq("rare"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("issue_first_label") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (1..=10).map(|n| n * 10_000).collect();
    assert_eq!(ids(query.order_by(|i| i.id.asc()).fetch_all().await.expect("at")), expected);

    // Control: a predicate with no equality has nothing for GIN, and the plan check notices.
    let query = Issue::query(&client).filter(|i| i.labels.any(|l| l.weight.gt(5)).and(i.id.lt(20)));
    let plan = explain(&db, &query).await;
    assert!(!plan.uses_index("issue_gin"), "{plan}");
    assert_eq!(ids(query.order_by(|i| i.id.asc()).fetch_all().await.expect("range only")), [6, 13]);
}
