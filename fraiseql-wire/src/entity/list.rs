//! Arrays: `Vec<T>` fields (and `Option<Vec<T>>`), of values or of documents: containment of values, position,
//! emptiness and length. What only lists of documents have (`any`, `all`) is in `documents`.
//!
//! | operator | SQL | index that serves it |
//! |---|---|---|
//! | `contains`, `contains_all`, `contains_any` | `data @> $1::jsonb` (`{"tags": ["x"]}`) | GIN `jsonb_path_ops` on `data` |
//! | `contained_by` | `data->'tags' <@ $1::jsonb` | – |
//! | `at(0)` | the element's own SQL at `data->'tags'->0` | an expression index on the element |
//! | `is_empty`, `len_*` | `data->'tags' = '[]'`, `jsonb_array_length(…)` | – |

use serde_json::Value;

use super::field::{Field, Handle};
use super::filter::Filter;
use super::kind::{FieldType, ListField, Operand, Sequence};
use crate::sql::{Expr, ToParam};

impl<E: 'static, T: FieldType + ListField + 'static> Field<E, T> {
    /// Contains every one of `values` (true when there are none).
    pub fn contains_all<V: Operand<T::Element>>(&self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        let elements: Vec<Value> = values.into_iter().map(|v| v.to_json()).collect();
        if elements.is_empty() {
            return Filter::always();
        }
        self.location.target.containment(Value::Array(elements))
    }

    /// Every element is one of `values` (`<@`; an empty list always is). Elements are compared as JSON, so
    /// duplicates do not matter and no index serves it.
    pub fn contained_by<V: Operand<T::Element>>(&self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        self.location.target.contained_by(Value::Array(values.into_iter().map(|v| v.to_json()).collect()))
    }

    /// Contains at least one of `values` (false when there are none).
    pub fn contains_any<V: Operand<T::Element>>(&self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        Filter::any(values.into_iter().map(|v| self.location.target.containment(Value::Array(vec![v.to_json()]))))
    }
}

impl<E: 'static, T: FieldType + Sequence + 'static> Field<E, T> {
    /// The handle on the element at `index` (from 0): a [`Field`] for a list of values, the document's handles
    /// for a list of documents (`data->'tags'->0`). A shorter list, or anything that is not an array, compares
    /// as a missing value. No `@>` can say a position, so only an expression index on the element serves it.
    pub fn at(&self, index: usize) -> <T::Item as Handle<E>>::Handle
    where
        T::Item: Handle<E>,
    {
        <T::Item as Handle<E>>::handle(self.location.position(index, T::item))
    }

    /// An empty list.
    pub fn is_empty(&self) -> Filter<E> {
        Filter::expr(Expr::text(format!("{} = '[]'::jsonb", self.location.target.json_expr())))
    }

    fn length(&self, op: &str, n: usize) -> Filter<E> {
        let json = self.location.target.json_expr();
        let length = format!("CASE WHEN jsonb_typeof({json}) = 'array' THEN jsonb_array_length({json}) END {op} ");
        Filter::expr(Expr::compare(length, n.to_param(), "::int"))
    }

    /// Exactly `n` elements.
    pub fn len_eq(&self, n: usize) -> Filter<E> {
        self.length("=", n)
    }

    /// More than `n` elements.
    pub fn len_gt(&self, n: usize) -> Filter<E> {
        self.length(">", n)
    }

    /// At least `n` elements.
    pub fn len_gte(&self, n: usize) -> Filter<E> {
        self.length(">=", n)
    }

    /// Fewer than `n` elements.
    pub fn len_lt(&self, n: usize) -> Filter<E> {
        self.length("<", n)
    }

    /// At most `n` elements.
    pub fn len_lte(&self, n: usize) -> Filter<E> {
        self.length("<=", n)
    }
}
