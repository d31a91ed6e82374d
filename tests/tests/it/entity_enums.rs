//! Enums with data against the server, in serde's three tagged representations: `is_variant` and the
//! per-variant filters (`card(|c| …)`, a newtype variant's handles) agree with Rust's own `match` on the values
//! serde wrote, missing and null included; inside `any` the internal tag is a `@>` pre-filter that a GIN index
//! on `data` serves, and a GIN index on the enum's expression serves the external tag's key test.

use fraiseql_wire::{Client, Document, Entity, Filter};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::differential::Differential;
use crate::common::model::{self, Truth};
use crate::common::plan::explain;

#[derive(Clone, Debug, Deserialize, Serialize, Document)]
struct Bank {
    country: Option<String>,
}

/// Externally tagged (serde's default): `{"Card": {…}}`, `"Cash"`.
#[derive(Clone, Debug, Deserialize, Serialize, Document)]
enum Method {
    Card { last4: String, year: Option<i64> },
    Cash,
    Transfer(Bank),
    Split(i64, i64),
}

/// Internally tagged, with renamed variants: `{"type": "moved", "to": 3}`.
#[derive(Clone, Debug, Deserialize, Serialize, Document)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Created { by: Option<String> },
    Moved { to: Option<i64> },
    Linked(Bank),
    Closed,
}

/// Adjacently tagged: `{"t": "Circle", "c": {"r": 2}}`.
#[derive(Clone, Debug, Deserialize, Serialize, Document)]
#[serde(tag = "t", content = "c")]
enum Shape {
    Circle {
        #[serde(rename = "radius")]
        r: Option<i64>,
    },
    Tagged(String),
    Empty,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_order")]
struct Order {
    #[entity(column = "id")]
    id: i64,
    method: Option<Method>,
    events: Option<Vec<Event>>,
    shape: Option<Shape>,
}

/// A value that may be missing, JSON null, or there.
#[derive(Clone, Debug)]
enum Slot<T> {
    Missing,
    Null,
    Value(T),
}

impl<T: Serialize> Slot<T> {
    fn put(&self, doc: &mut Map<String, Value>, key: &str) {
        match self {
            Slot::Missing => {}
            Slot::Null => {
                doc.insert(key.to_owned(), Value::Null);
            }
            Slot::Value(v) => {
                doc.insert(key.to_owned(), serde_json::to_value(v).expect("serializable"));
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Row {
    method: Slot<Method>,
    events: Slot<Vec<Event>>,
    shape: Slot<Shape>,
}

#[derive(Clone, Debug)]
enum Expr {
    MethodIs(MethodVariant),
    CardLast4Eq(String),
    CardYearGt(i64),
    TransferCountryEq(String),
    AnyEventIs(EventVariant),
    AnyMovedToGte(i64),
    AnyCreatedBy(String),
    AnyLinkedCountryEq(String),
    ShapeIs(ShapeVariant),
    CircleRadiusGte(i64),
    TaggedEq(String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

model::boolean_tree!(Expr);

/// SQL's comparison of a present value: unknown when it is missing.
fn compare<T>(value: Option<&T>, test: impl Fn(&T) -> bool) -> Truth {
    value.map(test)
}

impl Expr {
    fn filter(&self) -> Filter<Order> {
        let o = Order::fields();
        match self {
            Expr::MethodIs(v) => o.method.is_variant(*v),
            Expr::CardLast4Eq(s) => o.method.card(|c| c.last4.eq(s.as_str())),
            Expr::CardYearGt(n) => o.method.card(|c| c.year.gt(*n)),
            Expr::TransferCountryEq(s) => o.method.transfer(|b| b.country.eq(s.as_str())),
            Expr::AnyEventIs(v) => o.events.any(|e| e.is_variant(*v)),
            Expr::AnyMovedToGte(n) => o.events.any(|e| e.moved(|m| m.to.gte(*n))),
            Expr::AnyCreatedBy(s) => o.events.any(|e| e.created(|c| c.by.eq(s.as_str()))),
            Expr::AnyLinkedCountryEq(s) => o.events.any(|e| e.linked(|b| b.country.eq(s.as_str()))),
            Expr::ShapeIs(v) => o.shape.is_variant(*v),
            Expr::CircleRadiusGte(n) => o.shape.circle(|c| c.r.gte(*n)),
            Expr::TaggedEq(s) => o.shape.tagged(|t| t.eq(s.as_str())),
            Expr::And(a, b) => a.filter().and(b.filter()),
            Expr::Or(a, b) => a.filter().or(b.filter()),
            Expr::Not(a) => a.filter().not(),
        }
    }

    /// The Rust predicate, by `match` on the values serde wrote.
    fn eval(&self, row: &Row) -> Truth {
        let method = match &row.method {
            Slot::Value(m) => Some(m),
            _ => None,
        };
        let shape = match &row.shape {
            Slot::Value(s) => Some(s),
            _ => None,
        };
        let events: &[Event] = match &row.events {
            Slot::Value(e) => e,
            _ => &[],
        };
        let any = |test: &dyn Fn(&Event) -> Truth| Some(events.iter().any(|e| test(e) == Some(true)));
        match self {
            // The external tag is a key test: unknown on a missing value, false on JSON null.
            Expr::MethodIs(v) => match &row.method {
                Slot::Missing => None,
                Slot::Null => Some(false),
                Slot::Value(m) => Some(method_variant(m) == *v),
            },
            Expr::CardLast4Eq(s) => variant_and(
                method_truth(&row.method, MethodVariant::Card),
                match method {
                    Some(Method::Card { last4, .. }) => Some(last4 == s),
                    _ => None,
                },
            ),
            Expr::CardYearGt(n) => variant_and(
                method_truth(&row.method, MethodVariant::Card),
                match method {
                    Some(Method::Card { year, .. }) => compare(year.as_ref(), |y| y > n),
                    _ => None,
                },
            ),
            Expr::TransferCountryEq(s) => variant_and(
                method_truth(&row.method, MethodVariant::Transfer),
                match method {
                    Some(Method::Transfer(bank)) => compare(bank.country.as_ref(), |c| c == s),
                    _ => None,
                },
            ),
            Expr::AnyEventIs(v) => any(&|e| Some(event_variant(e) == *v)),
            Expr::AnyMovedToGte(n) => any(&|e| match e {
                Event::Moved { to } => compare(to.as_ref(), |t| t >= n),
                _ => Some(false),
            }),
            Expr::AnyCreatedBy(s) => any(&|e| match e {
                Event::Created { by } => compare(by.as_ref(), |b| b == s),
                _ => Some(false),
            }),
            Expr::AnyLinkedCountryEq(s) => any(&|e| match e {
                Event::Linked(bank) => compare(bank.country.as_ref(), |c| c == s),
                _ => Some(false),
            }),
            // Internal and adjacent tags are containments: never unknown.
            Expr::ShapeIs(v) => Some(shape.is_some_and(|s| shape_variant(s) == *v)),
            Expr::CircleRadiusGte(n) => match shape {
                Some(Shape::Circle { r }) => compare(r.as_ref(), |r| r >= n),
                _ => Some(false),
            },
            Expr::TaggedEq(s) => match shape {
                Some(Shape::Tagged(t)) => Some(t == s),
                _ => Some(false),
            },
            Expr::And(a, b) => model::and(a.eval(row), b.eval(row)),
            Expr::Or(a, b) => model::or(a.eval(row), b.eval(row)),
            Expr::Not(a) => a.eval(row).map(|t| !t),
        }
    }
}

fn method_truth(method: &Slot<Method>, variant: MethodVariant) -> Truth {
    Expr::MethodIs(variant).eval(&Row { method: method.clone(), events: Slot::Missing, shape: Slot::Missing })
}

/// `is_variant AND predicate`, where the predicate reads keys that only that variant has.
fn variant_and(is_variant: Truth, predicate: Truth) -> Truth {
    model::and(is_variant, predicate)
}

fn method_variant(m: &Method) -> MethodVariant {
    match m {
        Method::Card { .. } => MethodVariant::Card,
        Method::Cash => MethodVariant::Cash,
        Method::Transfer(_) => MethodVariant::Transfer,
        Method::Split(..) => MethodVariant::Split,
    }
}

fn event_variant(e: &Event) -> EventVariant {
    match e {
        Event::Created { .. } => EventVariant::Created,
        Event::Moved { .. } => EventVariant::Moved,
        Event::Linked(_) => EventVariant::Linked,
        Event::Closed => EventVariant::Closed,
    }
}

fn shape_variant(s: &Shape) -> ShapeVariant {
    match s {
        Shape::Circle { .. } => ShapeVariant::Circle,
        Shape::Tagged(_) => ShapeVariant::Tagged,
        Shape::Empty => ShapeVariant::Empty,
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![Just("a".to_owned()), Just("b".to_owned()), Just("Card".to_owned())]
}

fn small() -> impl Strategy<Value = i64> {
    0i64..4
}

fn slot<S: Strategy>(inner: S) -> impl Strategy<Value = Slot<S::Value>>
where
    S::Value: Clone + std::fmt::Debug,
{
    prop_oneof![1 => Just(Slot::Missing), 1 => Just(Slot::Null), 4 => inner.prop_map(Slot::Value)]
}

fn bank() -> impl Strategy<Value = Bank> {
    proptest::option::of(word()).prop_map(|country| Bank { country })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        (word(), proptest::option::of(small())).prop_map(|(last4, year)| Method::Card { last4, year }),
        Just(Method::Cash),
        bank().prop_map(Method::Transfer),
        (small(), small()).prop_map(|(a, b)| Method::Split(a, b)),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        proptest::option::of(word()).prop_map(|by| Event::Created { by }),
        proptest::option::of(small()).prop_map(|to| Event::Moved { to }),
        bank().prop_map(Event::Linked),
        Just(Event::Closed),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        proptest::option::of(small()).prop_map(|r| Shape::Circle { r }),
        word().prop_map(Shape::Tagged),
        Just(Shape::Empty),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (slot(method()), slot(proptest::collection::vec(event(), 0..4)), slot(shape()))
        .prop_map(|(method, events, shape)| Row { method, events, shape })
}

fn expr() -> impl Strategy<Value = Expr> {
    let method_variant = prop_oneof![
        Just(MethodVariant::Card),
        Just(MethodVariant::Cash),
        Just(MethodVariant::Transfer),
        Just(MethodVariant::Split)
    ];
    let event_variant = prop_oneof![
        Just(EventVariant::Created),
        Just(EventVariant::Moved),
        Just(EventVariant::Linked),
        Just(EventVariant::Closed)
    ];
    let shape_variant = prop_oneof![Just(ShapeVariant::Circle), Just(ShapeVariant::Tagged), Just(ShapeVariant::Empty)];
    let leaf = prop_oneof![
        method_variant.prop_map(Expr::MethodIs),
        word().prop_map(Expr::CardLast4Eq),
        small().prop_map(Expr::CardYearGt),
        word().prop_map(Expr::TransferCountryEq),
        event_variant.prop_map(Expr::AnyEventIs),
        small().prop_map(Expr::AnyMovedToGte),
        word().prop_map(Expr::AnyCreatedBy),
        word().prop_map(Expr::AnyLinkedCountryEq),
        shape_variant.prop_map(Expr::ShapeIs),
        small().prop_map(Expr::CircleRadiusGte),
        word().prop_map(Expr::TaggedEq),
    ];
    model::tree(leaf, 6)
}

#[test]
fn variant_filters_agree_with_rust_match() {
    let mut runner = TestRunner::new(ProptestConfig::default());
    let rows = proptest::collection::vec(row(), 300).new_tree(&mut runner).expect("rows").current();
    let docs: Vec<Map<String, Value>> = rows
        .iter()
        .map(|row| {
            let mut doc = Map::new();
            row.method.put(&mut doc, "method");
            row.events.put(&mut doc, "events");
            row.shape.put(&mut doc, "shape");
            doc
        })
        .collect();
    let server = Differential::load::<Order>("orders", &docs);
    // The rows decode as the entity: the representations are serde's own.
    let decoded = server.block_on(Order::query(server.client()).fetch_all()).expect("rows decode");
    assert_eq!(decoded.len(), rows.len());
    server.agree(rows.len(), expr(), Expr::filter, |expr, i| expr.eval(&rows[i]));
}

#[tokio::test]
async fn tag_tests_are_served_by_gin_indexes() {
    let db = TestCluster::shared().database().await;
    db.execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO orders
         SELECT i, jsonb_build_object('id', i, 'events', jsonb_build_array(
             jsonb_build_object('type', 'created', 'by', 'u' || i % 100),
             CASE WHEN i % 5000 = 0 THEN jsonb_build_object('type', 'moved', 'to', i % 7)
                  ELSE jsonb_build_object('type', 'closed') END),
             'shape', CASE WHEN i % 4000 = 0
                           THEN jsonb_build_object('t', 'Circle', 'c', jsonb_build_object('radius', i % 3))
                           ELSE jsonb_build_object('t', 'Empty') END,
             'method', CASE WHEN i % 10000 = 0 THEN jsonb_build_object('Transfer', jsonb_build_object('country', 'fr'))
                            ELSE to_jsonb('Cash'::text) END)
         FROM generate_series(1, 100000) AS i;
         CREATE VIEW v_order AS SELECT id, data FROM orders;
         CREATE INDEX orders_gin ON orders USING gin (data jsonb_path_ops);
         CREATE INDEX orders_method ON orders USING gin ((data->'method'));
         ANALYZE orders;",
    )
    .await;
    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let ids = |orders: Vec<Order>| orders.into_iter().map(|o| o.id).collect::<Vec<_>>();

    let query = Order::query(&client).filter(|o| o.events.any(|e| e.moved(|m| m.to.gte(3))));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("orders_gin") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (1..=20).map(|n| n * 5000).filter(|i| i % 7 >= 3).collect();
    assert_eq!(ids(query.order_by(|o| o.id.asc()).fetch_all().await.expect("moved")), expected);

    // The external tag is a key test, which a GIN index on the enum's own expression serves.
    let query = Order::query(&client).filter(|o| o.method.is_variant(MethodVariant::Transfer));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("orders_method") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (1..=10).map(|n| n * 10_000).collect();
    assert_eq!(ids(query.order_by(|o| o.id.asc()).fetch_all().await.expect("transfer")), expected);

    let query = Order::query(&client).filter(|o| o.shape.circle(|c| c.r.eq(1)));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("orders_gin") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (1..=25).map(|n| n * 4000).filter(|i| i % 3 == 1).collect();
    assert_eq!(ids(query.order_by(|o| o.id.asc()).fetch_all().await.expect("circle")), expected);
}
