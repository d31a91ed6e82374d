//! Typed handles on the fields of an entity, and the SQL each operator compiles to.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;

use super::filter::Filter;
use super::input::{DynField, Dynamic, DynamicKind};
use super::kind::{self, Containing, Containment, Equality, FieldType, Kind, Nullable, Operand, Ordered, Range};
use super::location::{Location, Step, Target, compared_as, encode};
use super::order::OrderKey;
use super::schema::{Describe, FieldSchema};
use crate::sql::{Expr, Param, SortKey, ToParam};

/// The value at `path` in `document`, if there is one.
fn walk<'v>(document: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(document, |value, step| match step {
        Step::Key(key) => value.get(*key),
        Step::Index(index) => value.get(*index),
    })
}

/// Chooses the handle type of a field: [`Field`] for values, the generated `…Fields` struct for a nested
/// [`Document`](crate::Document).
#[doc(hidden)]
pub trait Handle<E>: Sized {
    type Handle;
    fn handle(location: Location<E, Self>) -> Self::Handle;
    /// Adds this field at `path` (and a document's own fields) to a schema.
    fn describe(path: Vec<String>, column: Option<&'static str>, nullable: bool, out: &mut Vec<FieldSchema>);
    /// The handle, to look up by name.
    fn dynamic(handle: &Self::Handle) -> DynField<E>;
}

impl<E: 'static, T: FieldType + 'static> Handle<E> for T
where
    T::Kind: KindHandle<E, T> + Describe,
{
    type Handle = <T::Kind as KindHandle<E, T>>::Handle;
    fn handle(location: Location<E, T>) -> Self::Handle {
        <T::Kind as KindHandle<E, T>>::handle(location)
    }
    fn describe(path: Vec<String>, column: Option<&'static str>, nullable: bool, out: &mut Vec<FieldSchema>) {
        super::schema::describe::<T>(path, column, nullable, out);
    }
    fn dynamic(handle: &Self::Handle) -> DynField<E> {
        <T::Kind as KindHandle<E, T>>::dynamic(handle)
    }
}

/// The handle type of a field of type `T`, chosen by its kind: a [`Field`] for values, the document's handles
/// for a nested document (also inside an `Option`).
#[doc(hidden)]
pub trait KindHandle<E, T>: Kind {
    type Handle;
    fn handle(location: Location<E, T>) -> Self::Handle;
    fn dynamic(handle: &Self::Handle) -> DynField<E>;
}

macro_rules! value_handles {
    ($($kind:ty $(, $param:ident: $bound:path)?);* $(;)?) => {$(
        impl<E: 'static, T: FieldType<Kind = $kind> + 'static $(, $param: $bound)?> KindHandle<E, T> for $kind
        where
            $kind: DynamicKind<E, T>,
        {
            type Handle = Field<E, T>;
            fn handle(location: Location<E, T>) -> Field<E, T> {
                Field { location, value: PhantomData }
            }
            fn dynamic(handle: &Field<E, T>) -> DynField<E> {
                Dynamic::dynamic(handle)
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
            (Target::Column { .. }, _) => String::new(),
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

    /// For text: contains the substring (taken literally). For a list: contains the element (`@>`, served by a
    /// GIN index on `data`).
    pub fn contains<V>(&self, value: V) -> Filter<E>
    where
        T::Kind: Containing<T, V>,
    {
        match <T::Kind as Containing<T, V>>::containment(&value) {
            Containment::Substring(s) => self.like_filter("LIKE", format!("%{}%", super::text::escape_like(&s))),
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
        let path = self.location.target.document_path();
        OrderKey::new(
            key,
            Arc::new(move |e: &E| match get(e) {
                Some(value) => encode::<T::Kind>(&FieldType::to_json(value), time),
                None => Param::NULL,
            }),
            Arc::new(move |document: &Value| match path.as_deref().and_then(|path| walk(document, path)) {
                None | Some(Value::Null) => Param::NULL,
                // Stored as epoch numbers, a date's key is the document's own number.
                Some(Value::Number(n)) if <T::Kind as Kind>::TIME.is_some() => Param::text(n.to_string()),
                Some(value) => encode::<T::Kind>(value, time),
            }),
            super::cursor::check::<T::Kind>(time),
        )
    }
}
