//! What the differential tests share: SQL's three-valued logic, a boolean tree over any leaf filter, values that
//! may be present, null or missing, and loading numbered documents into a table.

use fraiseql_wire_tests::TestDatabase;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// SQL's three-valued truth: `None` is NULL.
pub type Truth = Option<bool>;

/// SQL's `AND`.
pub fn and(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// SQL's `OR`.
pub fn or(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// A filter model that combines like booleans.
pub trait BooleanTree: Clone + std::fmt::Debug + Sized + 'static {
    fn and(a: Self, b: Self) -> Self;
    fn or(a: Self, b: Self) -> Self;
    fn not(a: Self) -> Self;
}

/// `impl BooleanTree` for a filter model whose `And`, `Or` and `Not` variants hold boxes.
#[allow(unused_macros)] // the telemetry binary includes `common` without the differential tests
macro_rules! boolean_tree {
    ($model:ident) => {
        impl $crate::common::model::BooleanTree for $model {
            fn and(a: Self, b: Self) -> Self {
                $model::And(Box::new(a), Box::new(b))
            }
            fn or(a: Self, b: Self) -> Self {
                $model::Or(Box::new(a), Box::new(b))
            }
            fn not(a: Self) -> Self {
                $model::Not(Box::new(a))
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use boolean_tree;

/// `and`/`or`/`not` trees of up to `size` leaves, three levels deep.
pub fn tree<T: BooleanTree>(leaf: impl Strategy<Value = T> + 'static, size: u32) -> impl Strategy<Value = T> {
    leaf.prop_recursive(3, size, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| T::and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| T::or(a, b)),
            inner.prop_map(T::not),
        ]
    })
}

/// Present (`Some(Some)`), JSON null (`Some(None)`) or missing (`None`), present four times in six.
pub fn maybe<S: Strategy>(inner: S) -> impl Strategy<Value = Option<Option<S::Value>>>
where
    S::Value: Clone + std::fmt::Debug,
{
    prop_oneof![1 => Just(None), 1 => Just(Some(None)), 4 => inner.prop_map(|v| Some(Some(v)))]
}

/// Sets `key` in `doc` to the value, to JSON null, or leaves it missing.
pub fn put(doc: &mut Map<String, Value>, key: &str, value: Option<Option<Value>>) {
    if let Some(value) = value {
        doc.insert(key.to_owned(), value.unwrap_or(Value::Null));
    }
}

/// Inserts `docs` into `table (id bigint, data jsonb)`, each with its position as `id` (in the row and in the
/// document), in one statement.
pub async fn insert_documents(db: &TestDatabase, table: &str, docs: &[Map<String, Value>]) {
    let rows: Vec<Value> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut data = doc.clone();
            data.insert("id".to_owned(), Value::from(i as i64));
            json!({ "id": i as i64, "data": Value::Object(data) })
        })
        .collect();
    db.admin()
        .execute(
            &format!(
                "INSERT INTO {table} SELECT (r->>'id')::bigint, r->'data' FROM jsonb_array_elements($1::text::jsonb) r"
            ),
            &[&Value::Array(rows).to_string()],
        )
        .await
        .expect("insert documents");
}
