//! Typed handles on the fields of an entity, and the SQL each operator compiles to.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;

use super::filter::Filter;
use super::kind::{
    self, Containing, Containment, Equality, FieldType, Kind, ListField, Nullable, Operand, Ordered, Range, Sequence,
    Textual,
};
use super::location::{Location, Target, compared_as, encode};
use super::order::OrderKey;
use crate::sql::{Expr, Param, SortKey, ToParam};

/// Chooses the handle type of a field: [`Field`] for values, the generated `…Fields` struct for a nested
/// [`Document`](crate::Document).
#[doc(hidden)]
pub trait Handle<E>: Sized {
    type Handle;
    fn handle(location: Location<E, Self>) -> Self::Handle;
}

impl<E: 'static, T: FieldType + 'static> Handle<E> for T
where
    T::Kind: KindHandle<E, T>,
{
    type Handle = <T::Kind as KindHandle<E, T>>::Handle;
    fn handle(location: Location<E, T>) -> Self::Handle {
        <T::Kind as KindHandle<E, T>>::handle(location)
    }
}

/// The handle type of a field of type `T`, chosen by its kind: a [`Field`] for values, the document's handles
/// for a nested document (also inside an `Option`).
#[doc(hidden)]
pub trait KindHandle<E, T>: Kind {
    type Handle;
    fn handle(location: Location<E, T>) -> Self::Handle;
}

macro_rules! value_handles {
    ($($kind:ty $(, $param:ident: $bound:path)?);* $(;)?) => {$(
        impl<E: 'static, T: FieldType + 'static $(, $param: $bound)?> KindHandle<E, T> for $kind {
            type Handle = Field<E, T>;
            fn handle(location: Location<E, T>) -> Field<E, T> {
                Field { location, value: PhantomData }
            }
        }
    )*};
}
value_handles!(
    kind::Text; kind::Number; kind::Double; kind::Real; kind::Boolean; kind::Uuid; kind::Timestamp;
    kind::LocalDateTime; kind::Date; kind::Map; kind::Json; kind::Documents<D>, D: Sized; kind::List<K>, K: Kind;
);

/// A typed handle on a field of type `T` of entity `E`: its operators build [`Filter<E>`]s and [`OrderKey<E>`]s.
///
/// Which operators exist depends on `T`: text, numbers, booleans, UUIDs, `Option<T>` (adds
/// [`is_null`](Field::is_null)) and `Vec<T>` (containment and length).
pub struct Field<E, T> {
    pub(super) location: Location<E, T>,
    value: PhantomData<fn() -> T>,
}

impl<E, T> Clone for Field<E, T> {
    fn clone(&self) -> Self {
        Field { location: self.location.clone(), value: PhantomData }
    }
}

impl<E, T> fmt::Debug for Field<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Field").field(&self.location.target.text_expr()).finish()
    }
}

impl<E: 'static, T: FieldType + 'static> Field<E, T> {
    fn typed(&self) -> String {
        self.location.target.typed_expr::<T::Kind>(self.location.time)
    }

    fn cast(&self) -> String {
        self.location.target.param_cast::<T::Kind>(self.location.time)
    }

    fn param(&self, value: &impl Operand<T>) -> Param {
        encode::<T::Kind>(&value.to_json(), self.location.time)
    }

    fn compare(&self, op: &str, value: Param) -> Filter<E> {
        Filter::expr(Expr::compare(format!("{} {op} ", self.typed()), value, &self.cast()))
    }

    /// The SQL expression of this field (`data->>'name'`, `(data->>'priority')::numeric`, `"id"`), the one an
    /// expression index must use to serve it.
    pub fn sql(&self) -> String {
        self.typed()
    }

    /// Equal to `value`.
    pub fn eq<V: Operand<T>>(&self, value: V) -> Filter<E>
    where
        T::Kind: Equality<T>,
    {
        let json = value.to_json();
        let filter = self.compare("=", encode::<T::Kind>(&json, self.location.time));
        // Inside `any(…)`, equalities on exact kinds become a `@>` pre-filter on the list, which GIN serves.
        if !<T::Kind as Kind>::CONTAINMENT_EXACT || json.is_null() {
            return filter;
        }
        match self.location.target.partial(json) {
            Some(partial) => filter.with_prefilter(partial),
            None => filter,
        }
    }

    /// Not equal to `value` (a missing or null field matches neither `eq` nor `ne`).
    pub fn ne<V: Operand<T>>(&self, value: V) -> Filter<E>
    where
        T::Kind: Equality<T>,
    {
        self.compare("<>", self.param(&value))
    }

    /// Less than `value`.
    pub fn lt<V: Operand<T>>(&self, value: V) -> Filter<E>
    where
        T::Kind: Ordered<T>,
    {
        self.compare("<", self.param(&value))
    }

    /// Less than or equal to `value`.
    pub fn lte<V: Operand<T>>(&self, value: V) -> Filter<E>
    where
        T::Kind: Ordered<T>,
    {
        self.compare("<=", self.param(&value))
    }

    /// Greater than `value`.
    pub fn gt<V: Operand<T>>(&self, value: V) -> Filter<E>
    where
        T::Kind: Ordered<T>,
    {
        self.compare(">", self.param(&value))
    }

    /// Greater than or equal to `value`.
    pub fn gte<V: Operand<T>>(&self, value: V) -> Filter<E>
    where
        T::Kind: Ordered<T>,
    {
        self.compare(">=", self.param(&value))
    }

    /// Between `low` and `high`, both included.
    pub fn between<V: Operand<T>>(&self, low: V, high: V) -> Filter<E>
    where
        T::Kind: Range<T>,
    {
        let cast = self.cast();
        let mut expr = Expr::compare(format!("{} BETWEEN ", self.typed()), self.param(&low), &cast);
        expr.push_text(" AND ");
        expr.push_value(self.param(&high));
        expr.push_text(&cast);
        Filter::expr(expr)
    }

    fn any_of<V: Operand<T>>(&self, op: &str, values: impl IntoIterator<Item = V>) -> Filter<E> {
        let params: Vec<Param> = values.into_iter().map(|v| self.param(&v)).collect();
        let array_cast = match (&self.location.target, compared_as::<T::Kind>(self.location.time)) {
            (Target::Column(_), _) => String::new(),
            (_, Some(sql_type)) => format!("::{sql_type}[]"),
            (_, None) => "::text[]".to_owned(),
        };
        Filter::expr(Expr::compare(format!("{} {op}(", self.typed()), params.to_param(), &format!("{array_cast})")))
    }

    /// Equal to one of `values` (`= ANY($1)`: one parameter however many values).
    pub fn in_list<V: Operand<T>>(&self, values: impl IntoIterator<Item = V>) -> Filter<E>
    where
        T::Kind: Equality<T>,
    {
        self.any_of("= ANY", values)
    }

    /// Equal to none of `values`. A missing or null field does not match, except that every row matches an
    /// empty list (SQL's `x <> ALL('{}')` is true).
    pub fn not_in<V: Operand<T>>(&self, values: impl IntoIterator<Item = V>) -> Filter<E>
    where
        T::Kind: Equality<T>,
    {
        self.any_of("<> ALL", values)
    }

    fn like_filter(&self, op: &str, pattern: String) -> Filter<E> {
        Filter::expr(Expr::compare(format!("{} {op} ", self.location.target.text_expr()), Param::text(pattern), ""))
    }

    /// Starts with `prefix` (taken literally: `%`, `_` and `\` in it are escaped).
    pub fn starts_with(&self, prefix: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("LIKE", format!("{}%", escape_like(prefix)))
    }

    /// Ends with `suffix` (taken literally).
    pub fn ends_with(&self, suffix: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("LIKE", format!("%{}", escape_like(suffix)))
    }

    /// SQL `LIKE` with `pattern` as written (`%` any run, `_` one character, `\` escapes).
    pub fn like(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("LIKE", pattern.to_owned())
    }

    /// SQL `ILIKE`: `like`, ignoring case.
    pub fn ilike(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("ILIKE", pattern.to_owned())
    }

    /// Matches the POSIX regular expression `pattern` (`~`, a bound parameter; an invalid pattern is the
    /// server's error 2201B). A trigram GIN index (`pg_trgm`) on the expression can serve it.
    pub fn matches_regex(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("~", pattern.to_owned())
    }

    /// `matches_regex`, ignoring case (`~*`).
    pub fn matches_regex_ci(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("~*", pattern.to_owned())
    }

    /// For text: contains the substring (taken literally). For a list: contains the element (`@>`, served by a
    /// GIN index on `data`).
    pub fn contains<V>(&self, value: V) -> Filter<E>
    where
        T::Kind: Containing<T, V>,
    {
        match <T::Kind as Containing<T, V>>::containment(&value) {
            Containment::Substring(s) => self.like_filter("LIKE", format!("%{}%", escape_like(&s))),
            Containment::Element(element) => self.location.target.containment(Value::Array(vec![element])),
            Containment::Invalid(reason) => Filter::invalid(reason),
        }
    }

    /// Missing, or JSON `null` ([`is_missing`](Field::is_missing) and [`is_json_null`](Field::is_json_null) tell
    /// them apart).
    pub fn is_null(&self) -> Filter<E>
    where
        T: Nullable,
    {
        self.location.is_null()
    }

    /// Present and not JSON `null`.
    pub fn is_not_null(&self) -> Filter<E>
    where
        T: Nullable,
    {
        self.location.is_not_null()
    }

    /// The key is absent (JSON `null` is present: see [`is_json_null`](Field::is_json_null)).
    pub fn is_missing(&self) -> Filter<E>
    where
        T: Nullable,
    {
        self.location.is_missing()
    }

    /// The key is present with the value JSON `null`.
    pub fn is_json_null(&self) -> Filter<E>
    where
        T: Nullable,
    {
        self.location.is_json_null()
    }

    /// Ascending order on this field.
    pub fn asc(&self) -> OrderKey<E>
    where
        T::Kind: Ordered<T>,
    {
        self.order_key(false)
    }

    /// Descending order on this field.
    pub fn desc(&self) -> OrderKey<E>
    where
        T::Kind: Ordered<T>,
    {
        self.order_key(true)
    }

    fn order_key(&self, descending: bool) -> OrderKey<E> {
        let get = self.location.get.clone();
        let time = self.location.time;
        let key = SortKey {
            expr: Expr::text(self.typed()),
            cast: self.cast(),
            descending,
            nulls_first: None,
            unique: self.location.unique,
            nullable: T::NULLABLE || self.location.optional,
            recomputed: false,
        };
        OrderKey::new(
            key,
            Arc::new(move |e: &E| match get(e) {
                Some(value) => encode::<T::Kind>(&FieldType::to_json(value), time),
                None => Param::NULL,
            }),
        )
    }
}

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

/// Escapes `%`, `_` and `\` so a string matches itself in a `LIKE` pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
