//! Map fields against the server: `has_key`, `has_any_keys`, `has_all_keys`, `get` (scalar and document
//! values) and `any_value` agree with a Rust model over maps that are missing, null, not objects, empty, or
//! hold values of mixed shapes; a GIN index on the map's expression serves the key tests.

use std::collections::{BTreeMap, HashMap};

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
struct Name {
    common: Option<String>,
    official: Option<String>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_country")]
struct Country {
    #[entity(column = "id")]
    id: i64,
    languages: Option<HashMap<String, String>>,
    names: Option<BTreeMap<String, Name>>,
    population: Option<BTreeMap<String, i64>>,
}

const KEYS: [&str; 4] = ["fra", "deu", "ita", "a'b"];

#[derive(Clone, Debug)]
enum Expr {
    HasKey(&'static str),
    HasAnyKeys(Vec<&'static str>),
    HasAllKeys(Vec<&'static str>),
    LanguageEq(&'static str, String),
    NameCommonEq(&'static str, String),
    NameOfficialIsNull(&'static str),
    PopulationGt(&'static str, i64),
    AnyLanguageStartsWith(String),
    AnyNameCommonEq(String),
    AnyPopulationLt(i64),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

model::boolean_tree!(Expr);

impl Expr {
    fn filter(&self) -> Filter<Country> {
        let c = Country::fields();
        match self {
            Expr::HasKey(k) => c.languages.has_key(k),
            Expr::HasAnyKeys(k) => c.languages.has_any_keys(k.iter().copied()),
            Expr::HasAllKeys(k) => c.languages.has_all_keys(k.iter().copied()),
            Expr::LanguageEq(k, v) => c.languages.get(k).eq(v.as_str()),
            Expr::NameCommonEq(k, v) => c.names.get(k).common.eq(v.as_str()),
            Expr::NameOfficialIsNull(k) => c.names.get(k).official.is_null(),
            Expr::PopulationGt(k, n) => c.population.get(k).gt(*n),
            Expr::AnyLanguageStartsWith(s) => c.languages.any_value(|v| v.starts_with(s)),
            Expr::AnyNameCommonEq(s) => c.names.any_value(|n| n.common.eq(s.as_str())),
            Expr::AnyPopulationLt(n) => c.population.any_value(|p| p.lt(*n)),
            Expr::And(a, b) => a.filter().and(b.filter()),
            Expr::Or(a, b) => a.filter().or(b.filter()),
            Expr::Not(a) => a.filter().not(),
        }
    }

    fn eval(&self, doc: &Value) -> Truth {
        let object = |key: &str| doc.get(key).and_then(Value::as_object);
        // `?`, `?|`, `?&`: NULL on a missing map; otherwise PostgreSQL's reading of "exists", which for an array
        // or a string is an element or the string itself.
        let languages = doc.get("languages");
        let exists = |k: &str| match languages {
            Some(Value::Object(m)) => m.contains_key(k),
            Some(Value::Array(a)) => a.iter().any(|e| e.as_str() == Some(k)),
            Some(Value::String(s)) => s == k,
            _ => false,
        };
        match self {
            Expr::HasKey(k) => languages.map(|_| exists(k)),
            Expr::HasAnyKeys(ks) => languages.map(|_| ks.iter().any(|k| exists(k))),
            Expr::HasAllKeys(ks) => languages.map(|_| ks.iter().all(|k| exists(k))),
            Expr::LanguageEq(k, v) => text(object("languages").and_then(|m| m.get(*k))).map(|t| t == *v),
            Expr::NameCommonEq(k, v) => {
                text(object("names").and_then(|m| m.get(*k)).and_then(|n| n.get("common"))).map(|t| t == *v)
            }
            Expr::NameOfficialIsNull(k) => {
                Some(text(object("names").and_then(|m| m.get(*k)).and_then(|n| n.get("official"))).is_none())
            }
            Expr::PopulationGt(k, n) => {
                text(object("population").and_then(|m| m.get(*k))).and_then(|t| t.parse::<i64>().ok()).map(|p| p > *n)
            }
            Expr::AnyLanguageStartsWith(s) => Some(
                object("languages")
                    .is_some_and(|m| m.values().any(|v| text(Some(v)).is_some_and(|t| t.starts_with(s.as_str())))),
            ),
            Expr::AnyNameCommonEq(s) => Some(
                object("names").is_some_and(|m| m.values().any(|n| text(n.get("common")).is_some_and(|t| t == *s))),
            ),
            Expr::AnyPopulationLt(n) => Some(object("population").is_some_and(|m| {
                m.values().any(|v| text(Some(v)).and_then(|t| t.parse::<i64>().ok()).is_some_and(|p| p < *n))
            })),
            Expr::And(a, b) => model::and(a.eval(doc), b.eval(doc)),
            Expr::Or(a, b) => model::or(a.eval(doc), b.eval(doc)),
            Expr::Not(a) => a.eval(doc).map(|t| !t),
        }
    }
}

/// `->>` of a value: NULL for a missing value or JSON null, else its text.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![Just("a".to_owned()), Just("b".to_owned()), Just("ab".to_owned())]
}

fn key() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(&KEYS[..])
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        key().prop_map(Expr::HasKey),
        proptest::collection::vec(key(), 0..3).prop_map(Expr::HasAnyKeys),
        proptest::collection::vec(key(), 0..3).prop_map(Expr::HasAllKeys),
        (key(), word()).prop_map(|(k, v)| Expr::LanguageEq(k, v)),
        (key(), word()).prop_map(|(k, v)| Expr::NameCommonEq(k, v)),
        key().prop_map(Expr::NameOfficialIsNull),
        (key(), 0i64..4).prop_map(|(k, n)| Expr::PopulationGt(k, n)),
        word().prop_map(Expr::AnyLanguageStartsWith),
        word().prop_map(Expr::AnyNameCommonEq),
        (0i64..4).prop_map(Expr::AnyPopulationLt),
    ];
    model::tree(leaf, 8)
}

/// A map over some of `KEYS` with values from `value`, or something that is not an object.
fn map(value: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => proptest::collection::btree_map(key(), value, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => Just(json!(["fra"])),
        1 => Just(json!("fra")),
    ]
}

fn document() -> impl Strategy<Value = Map<String, Value>> {
    let language = prop_oneof![4 => word().prop_map(Value::from), 1 => Just(Value::Null)];
    let name = (maybe(word()), maybe(word())).prop_map(|(common, official)| {
        let mut name = Map::new();
        put(&mut name, "common", common.map(|v| v.map(Value::from)));
        put(&mut name, "official", official.map(|v| v.map(Value::from)));
        Value::Object(name)
    });
    let name = prop_oneof![5 => name, 1 => Just(json!("x"))];
    let population = prop_oneof![4 => (0i64..4).prop_map(Value::from), 1 => Just(Value::Null)];
    (maybe(map(language)), maybe(map(name)), maybe(map(population))).prop_map(|(languages, names, population)| {
        let mut doc = Map::new();
        put(&mut doc, "languages", languages);
        put(&mut doc, "names", names);
        put(&mut doc, "population", population);
        doc
    })
}

#[test]
fn map_filters_agree_with_a_rust_model() {
    let mut runner = TestRunner::new(ProptestConfig::default());
    let docs = proptest::collection::vec(document(), 300).new_tree(&mut runner).expect("documents").current();
    let server = Differential::load::<Country>("country", &docs);
    let docs: Vec<Value> = docs.into_iter().map(Value::Object).collect();
    server.agree(docs.len(), expr(), Expr::filter, |expr, i| expr.eval(&docs[i]));
}

#[tokio::test]
async fn a_gin_index_on_the_map_serves_key_tests() {
    let db = TestCluster::shared().database().await;
    db.execute(
        "CREATE TABLE country (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO country
         SELECT i, jsonb_build_object('id', i, 'languages',
             CASE WHEN i % 5000 = 0 THEN jsonb_build_object('rare', 'r', 'eng', 'English')
                  ELSE jsonb_build_object('eng', 'English', 'l' || i % 100, 'x') END)
         FROM generate_series(1, 100000) AS i;
         CREATE VIEW v_country AS SELECT id, data FROM country;
         CREATE INDEX country_languages ON country USING gin ((data->'languages'));
         ANALYZE country;",
    )
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let ids = |rows: Vec<Country>| rows.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let rare: Vec<i64> = (1..=20).map(|n| n * 5000).collect();

    let query = Country::query(&client).filter(|c| c.languages.has_key("rare"));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("country_languages") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|c| c.id.asc()).fetch_all().await.expect("has_key")), rare);

    let query = Country::query(&client).filter(|c| c.languages.has_all_keys(["rare", "eng"]));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("country_languages"), "{plan}");
    assert_eq!(ids(query.order_by(|c| c.id.asc()).fetch_all().await.expect("has_all_keys")), rare);

    let query = Country::query(&client).filter(|c| c.languages.has_any_keys(["rare", "nope"]));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("country_languages"), "{plan}");
    assert_eq!(ids(query.order_by(|c| c.id.asc()).fetch_all().await.expect("has_any_keys")), rare);
}
