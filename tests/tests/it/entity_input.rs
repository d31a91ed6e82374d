//! Filters and sorts from request input (`filter_from_json`, `order_by_from`, `by_path`): for random typed
//! filters, the JSON shape parsed back renders exactly the typed SQL, the filter input JSON Schema accepts it, and
//! the server returns the same rows for both; every bad input in a table is a typed error naming its path.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fraiseql_wire::entity::{InputError, InputErrorKind, Limits};
use fraiseql_wire::{Document, Entity, Filter, Scalar};
use futures_util::TryStreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::common::differential::Differential;
use crate::common::model::{boolean_tree, tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Scalar)]
#[serde(rename_all = "snake_case")]
enum Status {
    Open,
    Blocked,
    Closed,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
struct Label {
    name: String,
    weight: Option<i64>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
struct Owner {
    team: String,
    lead: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Document)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payment {
    Card { last4: String },
    Invoice,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_ticket")]
#[serde(rename_all = "camelCase")]
struct Ticket {
    #[entity(column = "id")]
    id: i64,
    title: String,
    status: Status,
    priority: i64,
    score: Option<f64>,
    done: bool,
    due_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
    tags: Vec<String>,
    labels: Vec<Label>,
    owner: Owner,
    payment: Option<Payment>,
    meta: HashMap<String, String>,
    #[entity(order_key)]
    slug: String,
}

/// A filter on one label.
#[derive(Clone, Debug)]
enum LabelLeaf {
    Name(&'static str, String),
    Weight(&'static str, i64),
    WeightNull(bool),
}

/// One operator on one field, with its value.
#[derive(Clone, Debug)]
enum Leaf {
    Title(&'static str, String),
    Status(&'static str, Status),
    StatusIn(Vec<Status>),
    Priority(&'static str, i64),
    PriorityBetween(i64, i64),
    PriorityIn(Vec<i64>),
    Score(&'static str, f64),
    ScoreNull(&'static str, bool),
    Done(&'static str, bool),
    Due(&'static str, NaiveDate),
    Created(&'static str, DateTime<Utc>),
    TagsContain(String),
    TagsAll(Vec<String>),
    TagsLen(&'static str, usize),
    TagsEmpty(bool),
    LabelsAny(LabelLeaf),
    LabelsAll(LabelLeaf),
    LabelsContain(String),
    OwnerTeam(&'static str, String),
    OwnerLeadNull(bool),
    PaymentIs(&'static str),
    PaymentNull(bool),
    MetaHasKey(String),
    MetaHasAny(Vec<String>),
    Id(&'static str, i64),
}

#[derive(Clone, Debug)]
enum Expr {
    Leaf(Leaf),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}
boolean_tree!(Expr);

/// The typed handle method named `op`, with `v`.
macro_rules! compare {
    ($field:expr, $op:expr, $v:expr) => {
        match $op {
            "eq" => $field.eq($v),
            "ne" => $field.ne($v),
            "lt" => $field.lt($v),
            "lte" => $field.lte($v),
            "gt" => $field.gt($v),
            "gte" => $field.gte($v),
            other => unreachable!("no comparison {other}"),
        }
    };
}

macro_rules! presence {
    ($field:expr, $op:expr, $wanted:expr) => {
        match ($op, $wanted) {
            ("is_null", true) | ("is_not_null", false) => $field.is_null(),
            ("is_null", false) | ("is_not_null", true) => $field.is_not_null(),
            ("is_missing", true) => $field.is_missing(),
            ("is_missing", false) => $field.is_missing().not(),
            (_, true) => $field.is_json_null(),
            (_, false) => $field.is_json_null().not(),
        }
    };
}

fn label_typed(leaf: &LabelLeaf, l: &LabelFields<Label>) -> Filter<Label> {
    match leaf {
        LabelLeaf::Name(op, v) => match *op {
            "starts_with" => l.name.starts_with(v),
            op => compare!(l.name, op, v.as_str()),
        },
        LabelLeaf::Weight(op, v) => compare!(l.weight, *op, *v),
        LabelLeaf::WeightNull(wanted) => presence!(l.weight, "is_null", *wanted),
    }
}

fn label_json(leaf: &LabelLeaf) -> Value {
    match leaf {
        LabelLeaf::Name(op, v) => json!({"name": {*op: v}}),
        LabelLeaf::Weight(op, v) => json!({"weight": {*op: v}}),
        LabelLeaf::WeightNull(wanted) => json!({"weight": {"is_null": wanted}}),
    }
}

fn leaf_typed(leaf: &Leaf) -> Filter<Ticket> {
    let t = Ticket::fields();
    match leaf {
        Leaf::Title(op, v) => match *op {
            "starts_with" => t.title.starts_with(v),
            "ends_with" => t.title.ends_with(v),
            "contains" => t.title.contains(v.as_str()),
            "like" => t.title.like(v),
            "ilike" => t.title.ilike(v),
            "matches_regex" => t.title.matches_regex(v),
            "search" => t.title.search(fraiseql_wire::websearch(v.as_str())),
            op => compare!(t.title, op, v.as_str()),
        },
        Leaf::Status(op, v) => match *op {
            "eq" => t.status.eq(*v),
            _ => t.status.ne(*v),
        },
        Leaf::StatusIn(v) => t.status.in_list(v.iter().copied()),
        Leaf::Priority(op, v) => compare!(t.priority, *op, *v),
        Leaf::PriorityBetween(a, b) => t.priority.between(*a, *b),
        Leaf::PriorityIn(v) => t.priority.not_in(v.iter().copied()),
        Leaf::Score(op, v) => compare!(t.score, *op, *v),
        Leaf::ScoreNull(op, wanted) => presence!(t.score, *op, *wanted),
        Leaf::Done(op, v) => match *op {
            "eq" => t.done.eq(*v),
            _ => t.done.ne(*v),
        },
        Leaf::Due(op, v) => compare!(t.due_on, *op, *v),
        Leaf::Created(op, v) => compare!(t.created_at, *op, *v),
        Leaf::TagsContain(v) => t.tags.contains(v.as_str()),
        Leaf::TagsAll(v) => t.tags.contains_all(v.iter().map(String::as_str)),
        Leaf::TagsLen(op, n) => match *op {
            "len_eq" => t.tags.len_eq(*n),
            "len_gt" => t.tags.len_gt(*n),
            _ => t.tags.len_lte(*n),
        },
        Leaf::TagsEmpty(true) => t.tags.is_empty(),
        Leaf::TagsEmpty(false) => t.tags.is_empty().not(),
        Leaf::LabelsAny(leaf) => t.labels.any(|l| label_typed(leaf, l)),
        Leaf::LabelsAll(leaf) => t.labels.all(|l| label_typed(leaf, l)),
        Leaf::LabelsContain(name) => t.labels.contains(&json!({"name": name})),
        Leaf::OwnerTeam(op, v) => compare!(t.owner.team, *op, v.as_str()),
        Leaf::OwnerLeadNull(wanted) => presence!(t.owner.lead, "is_null", *wanted),
        Leaf::PaymentIs("card") => t.payment.is_variant(PaymentVariant::Card),
        Leaf::PaymentIs(_) => t.payment.is_variant(PaymentVariant::Invoice),
        Leaf::PaymentNull(wanted) => presence!(t.payment, "is_null", *wanted),
        Leaf::MetaHasKey(key) => t.meta.has_key(key),
        Leaf::MetaHasAny(keys) => t.meta.has_any_keys(keys.iter().map(String::as_str)),
        Leaf::Id(op, v) => compare!(t.id, *op, *v),
    }
}

fn leaf_json(leaf: &Leaf) -> Value {
    match leaf {
        Leaf::Title(op, v) => json!({"title": {*op: v}}),
        Leaf::Status(op, v) => json!({"status": {*op: v}}),
        Leaf::StatusIn(v) => json!({"status": {"in_list": v}}),
        Leaf::Priority(op, v) => json!({"priority": {*op: v}}),
        Leaf::PriorityBetween(a, b) => json!({"priority": {"between": [a, b]}}),
        Leaf::PriorityIn(v) => json!({"priority": {"not_in": v}}),
        Leaf::Score(op, v) => json!({"score": {*op: v}}),
        Leaf::ScoreNull(op, wanted) => json!({"score": {*op: wanted}}),
        Leaf::Done(op, v) => json!({"done": {*op: v}}),
        Leaf::Due(op, v) => json!({"dueOn": {*op: v}}),
        Leaf::Created(op, v) => json!({"createdAt": {*op: v}}),
        Leaf::TagsContain(v) => json!({"tags": {"contains": v}}),
        Leaf::TagsAll(v) => json!({"tags": {"contains_all": v}}),
        Leaf::TagsLen(op, n) => json!({"tags": {*op: n}}),
        Leaf::TagsEmpty(wanted) => json!({"tags": {"is_empty": wanted}}),
        Leaf::LabelsAny(leaf) => json!({"labels": {"any": label_json(leaf)}}),
        Leaf::LabelsAll(leaf) => json!({"labels": {"all": label_json(leaf)}}),
        Leaf::LabelsContain(name) => json!({"labels": {"contains": {"name": name}}}),
        Leaf::OwnerTeam(op, v) => json!({"owner": {"team": {*op: v}}}),
        Leaf::OwnerLeadNull(wanted) => json!({"owner": {"lead": {"is_null": wanted}}}),
        Leaf::PaymentIs(name) => json!({"payment": {"is_variant": name}}),
        Leaf::PaymentNull(wanted) => json!({"payment": {"is_null": wanted}}),
        Leaf::MetaHasKey(key) => json!({"meta": {"has_key": key}}),
        Leaf::MetaHasAny(keys) => json!({"meta": {"has_any_keys": keys}}),
        Leaf::Id(op, v) => json!({"id": {*op: v}}),
    }
}

fn typed(expr: &Expr) -> Filter<Ticket> {
    match expr {
        Expr::Leaf(leaf) => leaf_typed(leaf),
        Expr::And(a, b) => typed(a).and(typed(b)),
        Expr::Or(a, b) => typed(a).or(typed(b)),
        Expr::Not(a) => typed(a).not(),
    }
}

/// The JSON input shape of `expr`.
fn input(expr: &Expr) -> Value {
    match expr {
        Expr::Leaf(leaf) => leaf_json(leaf),
        Expr::And(a, b) => json!({"_and": [input(a), input(b)]}),
        Expr::Or(a, b) => json!({"_or": [input(a), input(b)]}),
        Expr::Not(a) => json!({"_not": input(a)}),
    }
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["core", "web", "a", "x%_y", "O'Brien", "é", ""]).prop_map(str::to_owned)
}

fn compare_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["eq", "ne", "lt", "lte", "gt", "gte"])
}

fn presence_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["is_null", "is_not_null", "is_missing", "is_json_null"])
}

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(vec![Status::Open, Status::Blocked, Status::Closed])
}

fn label_leaf() -> impl Strategy<Value = LabelLeaf> {
    prop_oneof![
        (prop::sample::select(vec!["eq", "ne", "starts_with"]), word()).prop_map(|(op, v)| LabelLeaf::Name(op, v)),
        (compare_op(), -3i64..3).prop_map(|(op, v)| LabelLeaf::Weight(op, v)),
        any::<bool>().prop_map(LabelLeaf::WeightNull),
    ]
}

fn leaf() -> impl Strategy<Value = Leaf> {
    let title_op = prop::sample::select(vec![
        "eq",
        "ne",
        "lt",
        "gte",
        "starts_with",
        "ends_with",
        "contains",
        "like",
        "ilike",
        "matches_regex",
        "search",
    ]);
    let date =
        (0i64..3_000).prop_map(|d| NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date") + chrono::Days::new(d as u64));
    let instant = (1_700_000_000i64..1_800_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| Utc.timestamp_opt(s, n).single().expect("an instant"));
    prop_oneof![
        (title_op, word()).prop_map(|(op, v)| Leaf::Title(op, v)),
        (prop::sample::select(vec!["eq", "ne"]), status()).prop_map(|(op, v)| Leaf::Status(op, v)),
        prop::collection::vec(status(), 0..3).prop_map(Leaf::StatusIn),
        (compare_op(), -5i64..5).prop_map(|(op, v)| Leaf::Priority(op, v)),
        (-5i64..5, -5i64..5).prop_map(|(a, b)| Leaf::PriorityBetween(a, b)),
        prop::collection::vec(-5i64..5, 0..4).prop_map(Leaf::PriorityIn),
        (compare_op(), -1e6f64..1e6).prop_map(|(op, v)| Leaf::Score(op, v)),
        (presence_op(), any::<bool>()).prop_map(|(op, v)| Leaf::ScoreNull(op, v)),
        (prop::sample::select(vec!["eq", "ne"]), any::<bool>()).prop_map(|(op, v)| Leaf::Done(op, v)),
        (compare_op(), date).prop_map(|(op, v)| Leaf::Due(op, v)),
        (compare_op(), instant).prop_map(|(op, v)| Leaf::Created(op, v)),
        word().prop_map(Leaf::TagsContain),
        prop::collection::vec(word(), 0..3).prop_map(Leaf::TagsAll),
        (prop::sample::select(vec!["len_eq", "len_gt", "len_lte"]), 0usize..4).prop_map(|(op, n)| Leaf::TagsLen(op, n)),
        any::<bool>().prop_map(Leaf::TagsEmpty),
        label_leaf().prop_map(Leaf::LabelsAny),
        label_leaf().prop_map(Leaf::LabelsAll),
        word().prop_map(Leaf::LabelsContain),
        (prop::sample::select(vec!["eq", "ne", "gt"]), word()).prop_map(|(op, v)| Leaf::OwnerTeam(op, v)),
        any::<bool>().prop_map(Leaf::OwnerLeadNull),
        prop::sample::select(vec!["card", "invoice"]).prop_map(Leaf::PaymentIs),
        any::<bool>().prop_map(Leaf::PaymentNull),
        word().prop_map(Leaf::MetaHasKey),
        prop::collection::vec(word(), 0..3).prop_map(Leaf::MetaHasAny),
        (compare_op(), 0i64..40).prop_map(|(op, v)| Leaf::Id(op, v)),
    ]
}

fn exprs() -> impl Strategy<Value = Expr> {
    tree(leaf().prop_map(Expr::Leaf), 6)
}

/// The statement `filter` gives a query on `Ticket`: its SQL and parameters.
fn rendered(filter: Filter<Ticket>) -> String {
    let statement = Ticket::select().filter_by(filter).to_sql().expect("renders");
    format!("{}\n{:?}", statement.sql, statement.params)
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&Ticket::schema().filter_json_schema()).expect("a valid JSON Schema")
}

#[test]
fn parsed_input_renders_exactly_the_typed_sql_and_the_schema_accepts_it() {
    let validator = validator();
    let mut runner = TestRunner::new(ProptestConfig { cases: 1_000, ..ProptestConfig::default() });
    runner
        .run(&exprs(), |expr| {
            let input = input(&expr);
            let parsed = Ticket::filter_from_json(&input).map_err(|e| TestCaseError::fail(format!("{input}: {e}")))?;
            prop_assert_eq!(rendered(parsed), rendered(typed(&expr)), "input {}", input);
            let errors: Vec<String> = validator.iter_errors(&input).map(|e| e.to_string()).collect();
            prop_assert!(errors.is_empty(), "the JSON Schema refuses {}: {:?}", input, errors);
            Ok(())
        })
        .expect("a parsed input differs from its typed filter");
}

#[test]
fn the_filter_json_schema_is_pinned() {
    insta::assert_snapshot!(serde_json::to_string_pretty(&Ticket::schema().filter_json_schema()).expect("JSON"));
}

/// `depth` `_not`s around a filter.
fn nested_not(depth: usize) -> Value {
    (0..depth).fold(json!({"done": {"eq": true}}), |inner, _| json!({"_not": inner}))
}

#[test]
fn every_bad_input_is_a_typed_error_naming_its_path() {
    use InputErrorKind::*;
    let many_terms: Vec<Value> = (0..65).map(|i| json!({"priority": {"ne": i}})).collect();
    let long_list: Vec<i64> = (0..1_001).collect();
    let cases: Vec<(Value, InputErrorKind, &str)> = vec![
        (json!([]), Shape, ""),
        (json!("title"), Shape, ""),
        (json!(null), Shape, ""),
        (json!({"nope": {"eq": 1}}), UnknownField, "/nope"),
        (json!({"titel": {"eq": "a"}}), UnknownField, "/titel"),
        (json!({"due_on": {"eq": "2026-01-01"}}), UnknownField, "/due_on"),
        (json!({"title": "a"}), Shape, "/title"),
        (json!({"title": {"equals": "a"}}), UnknownOperator, "/title/equals"),
        (json!({"title": {"eq": 3}}), WrongType, "/title/eq"),
        (json!({"title": {"eq": null}}), WrongType, "/title/eq"),
        (json!({"title": {"eq": "a", "like": 5}}), WrongType, "/title/like"),
        (json!({"title": {"matches_regex": ["x"]}}), WrongType, "/title/matches_regex"),
        (json!({"status": {"eq": "nope"}}), WrongType, "/status/eq"),
        (json!({"status": {"in_list": ["open", "shut"]}}), WrongType, "/status/in_list/1"),
        (json!({"priority": {"gte": "3"}}), WrongType, "/priority/gte"),
        (json!({"priority": {"eq": 2.5}}), WrongType, "/priority/eq"),
        (json!({"priority": {"between": [1]}}), WrongType, "/priority/between"),
        (json!({"priority": {"between": 1}}), WrongType, "/priority/between"),
        (json!({"priority": {"in_list": [1, "x"]}}), WrongType, "/priority/in_list/1"),
        (json!({"priority": {"starts_with": "1"}}), UnknownOperator, "/priority/starts_with"),
        (json!({"priority": {"is_null": true}}), UnknownOperator, "/priority/is_null"),
        (json!({"done": {"gt": true}}), UnknownOperator, "/done/gt"),
        (json!({"score": {"is_null": "yes"}}), WrongType, "/score/is_null"),
        (json!({"dueOn": {"gt": "yesterday"}}), WrongType, "/dueOn/gt"),
        (json!({"createdAt": {"lt": "2026-13-01T00:00:00Z"}}), WrongType, "/createdAt/lt"),
        (json!({"tags": {"contains": 1}}), WrongType, "/tags/contains"),
        (json!({"tags": {"len_gt": -1}}), WrongType, "/tags/len_gt"),
        (json!({"tags": {"eq": ["a"]}}), UnknownOperator, "/tags/eq"),
        (json!({"labels": {"any": {"nam": {"eq": "x"}}}}), UnknownField, "/labels/any/nam"),
        (json!({"labels": {"any": []}}), Shape, "/labels/any"),
        (json!({"labels": {"all": {"weight": {"gt": "heavy"}}}}), WrongType, "/labels/all/weight/gt"),
        (json!({"labels": {"contains": "bug"}}), WrongType, "/labels/contains"),
        (json!({"owner": {"teem": {"eq": "x"}}}), UnknownField, "/owner/teem"),
        (json!({"owner": {"team": {"eq": "x"}, "lead": {"is_null": 1}}}), WrongType, "/owner/lead/is_null"),
        (json!({"owner": "core"}), Shape, "/owner"),
        (json!({"payment": {"is_variant": "cash"}}), WrongType, "/payment/is_variant"),
        (json!({"meta": {"has_key": 5}}), WrongType, "/meta/has_key"),
        (json!({"meta": {"has_all_keys": "a"}}), WrongType, "/meta/has_all_keys"),
        (json!({"id": {"eq": "1"}}), WrongType, "/id/eq"),
        (json!({"_or": {}}), Shape, "/_or"),
        (json!({"_or": [{"title": {"eq": "a"}}, 3]}), Shape, "/_or/1"),
        (json!({"_and": [{"title": {"nope": 1}}]}), UnknownOperator, "/_and/0/title/nope"),
        (json!({"_not": []}), Shape, "/_not"),
        (json!({"_xor": []}), UnknownField, "/_xor"),
        (json!({"a/b~c": {}}), UnknownField, "/a~1b~0c"),
        (nested_not(12), TooDeep, "/_not/_not/_not/_not/_not/_not/_not/_not/_not/_not"),
        (json!({"_and": many_terms}), TooManyTerms, "/_and/64/priority/ne"),
        (json!({"priority": {"in_list": long_list}}), TooManyValues, "/priority/in_list"),
    ];
    assert!(cases.len() >= 30);
    let validator = validator();
    for (input, kind, path) in &cases {
        let error: InputError = match Ticket::filter_from_json(input) {
            Ok(filter) => panic!("{input} was accepted: {filter:?}"),
            Err(error) => error,
        };
        assert_eq!((error.kind(), error.path()), (*kind, *path), "{input}: {error}");
        assert!(!error.message().is_empty() && !error.advice().is_empty(), "{input}: {error}");
        let text = error.to_string();
        assert!(text.contains(error.advice()), "{text}");
        // As the library's error: classified, for an API to answer 400.
        let library = fraiseql_wire::Error::from(error);
        assert_eq!(library.kind(), fraiseql_wire::ErrorKind::Input);
        assert!(!library.is_retriable());
        // The JSON Schema refuses what it can see: names, operators and JSON types.
        if matches!(kind, UnknownField | UnknownOperator | Shape)
            || path.ends_with("/eq") && input.to_string().contains("null")
        {
            assert!(!validator.is_valid(input), "the JSON Schema accepts {input}");
        }
    }
    // Advice names what was meant.
    let typo = Ticket::filter_from_json(&json!({"titel": {"eq": "a"}})).expect_err("a typo");
    assert!(typo.advice().contains("`title`"), "{typo}");
    let operator = Ticket::filter_from_json(&json!({"priority": {"like": "1"}})).expect_err("no like");
    assert!(operator.advice().contains("between"), "{operator}");
    // Limits are the caller's to set.
    let strict = Limits::new().max_terms(1);
    let two = json!({"priority": {"gt": 1, "lt": 3}});
    assert_eq!(Ticket::filter_from_json_with(&two, &strict).expect_err("two terms").kind(), TooManyTerms);
    assert!(Ticket::filter_from_json(&two).is_ok());
    let text = Ticket::filter_from_str("{\"title\": ").expect_err("not JSON");
    assert_eq!(text.kind(), Shape);
}

#[test]
fn sorts_and_paths_from_input_are_the_typed_ones() {
    let t = Ticket::fields();
    let keys = Ticket::order_by_from(&["-priority", "owner.team", "+createdAt", "id"]).expect("valid keys");
    let dynamic = Ticket::select().order_by(|_| keys).to_sql().expect("renders");
    let typed = Ticket::select()
        .order_by(|t| vec![t.priority.desc(), t.owner.team.asc(), t.created_at.asc(), t.id.asc()])
        .to_sql()
        .expect("renders");
    assert_eq!(dynamic.sql, typed.sql);

    let refused: Vec<(&[&str], InputErrorKind, &str)> = vec![
        (&["nope"], InputErrorKind::UnknownField, "/0"),
        (&["id", "tags"], InputErrorKind::UnknownOperator, "/1"),
        (&["-"], InputErrorKind::Shape, "/0"),
        (&["owner.nope"], InputErrorKind::UnknownField, "/0"),
        (&["owner"], InputErrorKind::UnknownOperator, "/0"),
        (&["done"], InputErrorKind::UnknownOperator, "/0"),
    ];
    for (keys, kind, path) in refused {
        let error = Ticket::order_by_from(keys).expect_err("refused");
        assert_eq!((error.kind(), error.path()), (kind, path), "{keys:?}: {error}");
    }
    let many: Vec<String> = (0..65).map(|_| "id".to_owned()).collect();
    assert_eq!(Ticket::order_by_from(&many).expect_err("too many").kind(), InputErrorKind::TooManyTerms);

    let team = t.by_path("owner.team").expect("a nested field");
    assert_eq!((team.family(), team.nullable()), ("text", false));
    assert_eq!(rendered(team.apply("eq", &json!("core")).expect("eq")), rendered(t.owner.team.eq("core")));
    assert!(t.by_path("owner.lead").expect("lead").nullable());
    assert!(t.by_path("owner").expect("owner").field("team").is_some());
    assert_eq!(t.by_path("owner.nope").expect_err("no field").kind(), InputErrorKind::UnknownField);
    assert_eq!(
        t.by_path("title").expect("title").apply("gt", &json!(1)).expect_err("a number").kind(),
        InputErrorKind::WrongType
    );
}

/// Documents of every shape the filters meet: values missing, null, of each variant.
fn documents() -> Vec<Map<String, Value>> {
    let teams = ["core", "web", "O'Brien"];
    let words = ["core", "web", "a", "x%_y", "é"];
    let statuses = ["open", "blocked", "closed"];
    (0..40)
        .map(|i: i64| {
            let mut doc = json!({
                "id": i,
                "title": format!("{} ticket {i}", words[(i % 5) as usize]),
                "status": statuses[(i % 3) as usize],
                "priority": i % 7 - 3,
                "done": i % 2 == 0,
                "createdAt": format!("2026-0{}-1{}T0{}:00:00.{}Z", 1 + i % 9, i % 10, i % 10, i % 1000),
                "tags": words.iter().take((i % 4) as usize).collect::<Vec<_>>(),
                "labels": (0..i % 3).map(|j| json!({"name": words[((i + j) % 5) as usize], "weight": (i + j) % 4 - 2})).collect::<Vec<_>>(),
                "owner": {"team": teams[(i % 3) as usize]},
                "meta": {words[(i % 5) as usize]: "v"},
                "slug": format!("t{i}"),
            });
            let doc = doc.as_object_mut().expect("an object");
            match i % 4 {
                0 => {}
                1 => {
                    doc.insert("score".into(), Value::Null);
                    doc.insert("payment".into(), json!({"type": "invoice"}));
                }
                _ => {
                    doc.insert("score".into(), json!((i as f64) * 1.5e5 - 2e6));
                    doc.insert("dueOn".into(), json!(format!("2026-02-{:02}", 1 + i % 28)));
                    doc.insert("payment".into(), json!({"type": "card", "last4": "4242"}));
                    doc.insert("owner".into(), json!({"team": teams[(i % 3) as usize], "lead": "ann"}));
                }
            }
            doc.clone()
        })
        .collect()
}

#[test]
fn parsed_input_returns_the_typed_rows_from_the_server() {
    let docs = documents();
    let db = Differential::load::<Ticket>("ticket_docs", &docs);
    let ids = |filter: Filter<Ticket>| -> BTreeSet<i64> {
        let rows = db.block_on(Ticket::query(db.client()).filter_by(filter).stream_raw().try_collect::<Vec<_>>());
        rows.expect("the query runs")
            .iter()
            .filter_map(|raw| serde_json::from_slice::<Value>(raw).ok().and_then(|d| d["id"].as_i64()))
            .collect()
    };
    let discriminating = std::cell::Cell::new(0);
    let mut runner = TestRunner::new(ProptestConfig { cases: 150, ..ProptestConfig::default() });
    runner
        .run(&exprs(), |expr| {
            let parsed = Ticket::filter_from_json(&input(&expr)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (dynamic, typed) = (ids(parsed), ids(typed(&expr)));
            if !typed.is_empty() && typed.len() < docs.len() {
                discriminating.set(discriminating.get() + 1);
            }
            prop_assert_eq!(dynamic, typed, "{:?}", expr);
            Ok(())
        })
        .expect("the server returns other rows for a parsed input");
    let discriminating = discriminating.get();
    assert!(discriminating > 30, "only {discriminating} filters selected some rows but not all");

    // A hand-written request, as an API receives it.
    let request = json!({
        "status": {"in_list": ["open", "blocked"]},
        "priority": {"gte": 0},
        "_or": [{"owner": {"team": {"eq": "core"}}}, {"labels": {"any": {"weight": {"gt": 0}}}}],
    });
    let expected: BTreeSet<i64> = docs
        .iter()
        .filter(|d| {
            let team = d["owner"]["team"] == "core";
            let heavy = d["labels"].as_array().is_some_and(|l| l.iter().any(|l| l["weight"].as_i64() > Some(0)));
            d["status"] != "closed" && d["priority"].as_i64() >= Some(0) && (team || heavy)
        })
        .filter_map(|d| d["id"].as_i64())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ids(Ticket::filter_from_json(&request).expect("valid")), expected);
}
