//! Maps: `HashMap<String, T>` and `BTreeMap<String, T>` fields (and `Option` of them), JSON objects whose keys
//! are the data's (languages by code, names by locale), `T` a field type or a document.
//!
//! | operator | SQL | index that serves it |
//! |---|---|---|
//! | `has_key("fra")` | `data->'languages' ? $1` | GIN (`jsonb_ops`) on `(data->'languages')` |
//! | `has_any_keys`, `has_all_keys` | `?| $1::text[]`, `?& $1::text[]` | the same |
//! | `get("fra")` | the value's own handle at `data->'languages'->'fra'` | as for that type |
//! | `any_value(\|v\| …)` | `EXISTS (SELECT 1 FROM jsonb_each(data->'languages') AS __e1(key, value) WHERE …)` | – |

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::field::{Field, Handle};
use super::filter::Filter;
use super::kind::{Element, FieldType, Map, Shape};
use super::location::Location;
use crate::sql::{Expr, Node, ToParam};

impl<T: Element> FieldType for HashMap<String, T> {
    type Kind = Map;
    fn to_json(&self) -> Value {
        Value::Object(self.iter().map(|(k, v)| (k.clone(), v.element_json())).collect())
    }
}

impl<T: Element> FieldType for BTreeMap<String, T> {
    type Kind = Map;
    fn to_json(&self) -> Value {
        Value::Object(self.iter().map(|(k, v)| (k.clone(), v.element_json())).collect())
    }
}

/// Fields that hold a JSON object keyed by the data: `HashMap<String, T>`, `BTreeMap<String, T>`, and `Option`s
/// of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a map field",
    note = "has_key/has_any_keys/has_all_keys/get/any_value apply to `HashMap<String, T>` and `BTreeMap<String, T>`"
)]
pub trait MapField: Shape {
    /// The type of the values.
    type Value: 'static;

    /// The value under `key`, if there is one.
    #[doc(hidden)]
    fn lookup(&self, key: &str) -> Option<&Self::Value>;
}

impl<T: 'static> MapField for HashMap<String, T> {
    type Value = T;
    fn lookup(&self, key: &str) -> Option<&T> {
        self.get(key)
    }
}

impl<T: 'static> MapField for BTreeMap<String, T> {
    type Value = T;
    fn lookup(&self, key: &str) -> Option<&T> {
        self.get(key)
    }
}

impl<M: MapField> MapField for Option<M> {
    type Value = M::Value;
    fn lookup(&self, key: &str) -> Option<&M::Value> {
        self.as_ref().and_then(|map| map.lookup(key))
    }
}

/// The handle on one value of a map with values of type `V`, rooted at the value, as `any_value` gives it.
pub type ValueHandle<V> = <V as Handle<V>>::Handle;

impl<E: 'static, T: FieldType + MapField + 'static> Field<E, T> {
    fn key_test(&self, op: &str, value: impl ToParam, cast: &str) -> Filter<E> {
        let json = self.location.target.json_expr();
        Filter::expr(Expr::compare(format!("{json} {op} "), value.to_param(), cast))
    }

    /// The map has `key` (`?`, served by a GIN index on the map's expression).
    pub fn has_key(&self, key: &str) -> Filter<E> {
        self.key_test("?", key, "")
    }

    /// The map has at least one of `keys` (`?|`; false when there are none).
    pub fn has_any_keys<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Filter<E> {
        self.key_test("?|", keys.into_iter().collect::<Vec<_>>(), "::text[]")
    }

    /// The map has every one of `keys` (`?&`; true when there are none, for a map that is there).
    pub fn has_all_keys<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Filter<E> {
        self.key_test("?&", keys.into_iter().collect::<Vec<_>>(), "::text[]")
    }

    /// The handle on the value under `key`: a [`Field`] for a field type, the document's handles for a document.
    /// A row without the key compares as a missing value.
    pub fn get(&self, key: &'static str) -> <T::Value as Handle<E>>::Handle
    where
        T::Value: Handle<E>,
    {
        <T::Value as Handle<E>>::handle(self.location.map_value(key, |map: &T, key| map.lookup(key)))
    }

    /// At least one value satisfies `predicate` (false on an empty, missing or non-object value).
    pub fn any_value(&self, predicate: impl FnOnce(&ValueHandle<T::Value>) -> Filter<T::Value>) -> Filter<E>
    where
        T::Value: Handle<T::Value>,
    {
        let depth = self.location.target.depth().saturating_add(1);
        let handle = <T::Value as Handle<T::Value>>::handle(Location::element(depth, self.location.time));
        let inner = predicate(&handle);
        let map = self.location.target.json_expr();
        Filter::from_node(Node::Within {
            before: format!(
                "EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof({map}) = 'object' THEN {map} END) \
                 AS __e{depth}(key, value) WHERE "
            ),
            inner: Box::new(inner.node),
            after: ")".to_owned(),
        })
    }
}
