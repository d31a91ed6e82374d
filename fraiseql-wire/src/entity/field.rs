//! Typed handles on the fields of an entity, and the SQL each operator compiles to.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;

use super::filter::Filter;
use super::kind::{
    Containing, Containment, Equality, FieldType, Kind, ListField, Nullable, Operand, Ordered, Range, Temporal, Textual,
};
use super::order::OrderKey;
use super::time::TimeStorage;
use crate::sql::{Expr, Param, SortKey, ToParam, quote_identifier, quote_literal};

/// Reads a value of type `T` out of an entity `E` (for keyset pagination).
pub(crate) type Getter<E, T> = Arc<dyn Fn(&E) -> &T + Send + Sync>;

/// Where a value lives: a real column of the view, or a path of keys inside its `data` document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Column(&'static str),
    Json(Vec<&'static str>),
}

impl Target {
    /// The value as SQL text (`->>` for the last key).
    pub(crate) fn text_expr(&self) -> String {
        match self {
            Target::Column(name) => quote_identifier(name),
            Target::Json(keys) => json_path(keys, true),
        }
    }

    /// The value cast to the SQL type it compares as: the expression that filters and ordering share, so one
    /// expression index serves both. Dates and times read through their [`TimeStorage`]'s function, if it has one.
    pub(crate) fn typed_expr<K: Kind>(&self, time: TimeStorage) -> String {
        match (self, K::TIME, time) {
            (Target::Column(_), ..) => self.text_expr(),
            (Target::Json(_), Some(family), TimeStorage::Rfc3339) => {
                format!("{}({})", family.function(), self.text_expr())
            }
            (Target::Json(_), ..) => match compared_as::<K>(time) {
                Some(sql_type) => format!("({})::{sql_type}", self.text_expr()),
                None => self.text_expr(),
            },
        }
    }

    /// The cast written after a parameter compared with [`typed_expr`](Self::typed_expr): none for columns, whose
    /// type the server infers.
    pub(crate) fn param_cast<K: Kind>(&self, time: TimeStorage) -> String {
        match (self, compared_as::<K>(time)) {
            (Target::Json(_), Some(sql_type)) => format!("::{sql_type}"),
            _ => String::new(),
        }
    }

    /// The value as `jsonb`.
    fn json_expr(&self) -> String {
        match self {
            Target::Column(name) => format!("to_jsonb({})", quote_identifier(name)),
            Target::Json(keys) => json_path(keys, false),
        }
    }

    /// A `@>` condition: the document must contain `leaf` at this path (served by a GIN index on `data`).
    fn containment<E>(&self, leaf: Value) -> Filter<E> {
        let (expr, document) = match self {
            Target::Column(_) => (self.json_expr(), leaf),
            Target::Json(keys) => (
                "data".to_owned(),
                keys.iter()
                    .rev()
                    .fold(leaf, |inner, key| Value::Object([(key.to_string(), inner)].into_iter().collect())),
            ),
        };
        Filter::expr(Expr::compare(format!("{expr} @> "), Param::text(document.to_string()), "::jsonb"))
    }
}

/// The SQL type a value of kind `K` stored as `time` compares as (`None`: as text).
fn compared_as<K: Kind>(time: TimeStorage) -> Option<&'static str> {
    match K::TIME {
        Some(_) => time.compared_as().or(K::SQL_TYPE),
        None => K::SQL_TYPE,
    }
}

/// The parameter for `value`, of kind `K`, compared with a field stored as `time`.
fn encode<K: Kind>(value: &Value, time: TimeStorage) -> Param {
    match K::TIME {
        Some(_) => time.param(value),
        None => K::param(value),
    }
}

/// `data->'a'->'b'` or `data->'a'->>'b'`.
fn json_path(keys: &[&str], last_as_text: bool) -> String {
    let mut out = String::from("data");
    for (i, key) in keys.iter().enumerate() {
        out.push_str(if last_as_text && i + 1 == keys.len() { "->>" } else { "->" });
        out.push_str(&quote_literal(key));
    }
    out
}

/// The location of a value of type `T` inside entity `E`; what generated code builds field handles from.
#[doc(hidden)]
pub struct Location<E, T: ?Sized> {
    pub(crate) target: Target,
    pub(crate) get: Getter<E, T>,
    pub(crate) unique: bool,
    /// How dates and times at and under this location are stored.
    pub(crate) time: TimeStorage,
}

impl<E, T: ?Sized> Clone for Location<E, T> {
    fn clone(&self) -> Self {
        Location { target: self.target.clone(), get: self.get.clone(), unique: self.unique, time: self.time }
    }
}

impl<E: 'static> Location<E, E> {
    /// The entity itself: the whole `data` document.
    pub fn root() -> Self {
        Location { target: Target::Json(Vec::new()), get: Arc::new(|e: &E| e), unique: false, time: TimeStorage::Cast }
    }
}

impl<E: 'static, T: 'static> Location<E, T> {
    /// A key of this document. `unique` marks a key that identifies a row (`#[entity(order_key)]`).
    pub fn key<U: 'static>(&self, key: &'static str, get: fn(&T) -> &U, unique: bool) -> Location<E, U> {
        let parent = self.get.clone();
        let target = match &self.target {
            Target::Json(keys) => Target::Json(keys.iter().copied().chain([key]).collect()),
            // Columns are scalars; generated code never nests under one.
            Target::Column(_) => Target::Json(vec![key]),
        };
        Location { target, get: Arc::new(move |e: &E| get(parent(e))), unique, time: self.time }
    }

    /// A real column of the view (`#[entity(column = "…")]`); unique, as a view's key column is.
    pub fn column<U: 'static>(&self, name: &'static str, get: fn(&T) -> &U) -> Location<E, U> {
        let parent = self.get.clone();
        Location {
            target: Target::Column(name),
            get: Arc::new(move |e: &E| get(parent(e))),
            unique: true,
            time: self.time,
        }
    }

    /// How the dates and times under this location are stored, unless a field says otherwise
    /// (`#[entity(time = "…")]` on the entity).
    pub fn time_default(mut self, time: TimeStorage) -> Self {
        self.time = time;
        self
    }

    /// How this field's date or time is stored (`#[entity(time = "…")]` on the field): only for date and time
    /// fields, so the attribute on any other field is a compile error.
    pub fn stored_as(mut self, time: TimeStorage) -> Self
    where
        T: FieldType,
        T::Kind: Temporal<T>,
    {
        self.time = time;
        self
    }

    /// A `@>` condition on this document: it contains `partial`.
    pub fn contains_json<P: serde::Serialize + ?Sized>(&self, partial: &P) -> Filter<E> {
        match serde_json::to_value(partial) {
            Ok(value) => self.target.containment(value),
            Err(error) => Filter::invalid(format!("the value for `contains` cannot be serialized: {error}")),
        }
    }
}

/// Chooses the handle type of a field: [`Field`] for values, the generated `…Fields` struct for a nested
/// [`Document`](crate::Document).
#[doc(hidden)]
pub trait Handle<E>: Sized {
    type Handle;
    fn handle(location: Location<E, Self>) -> Self::Handle;
}

impl<E: 'static, T: FieldType + 'static> Handle<E> for T {
    type Handle = Field<E, T>;
    fn handle(location: Location<E, T>) -> Field<E, T> {
        Field { location, value: PhantomData }
    }
}

/// A typed handle on a field of type `T` of entity `E`: its operators build [`Filter<E>`]s and [`OrderKey<E>`]s.
///
/// Which operators exist depends on `T`: text, numbers, booleans, UUIDs, `Option<T>` (adds
/// [`is_null`](Field::is_null)) and `Vec<T>` (containment and length).
pub struct Field<E, T> {
    location: Location<E, T>,
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
        self.compare("=", self.param(&value))
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

    /// For text: contains the substring (taken literally). For a list: contains the element (`@>`, served by a
    /// GIN index on `data`).
    pub fn contains<V>(&self, value: V) -> Filter<E>
    where
        T::Kind: Containing<T, V>,
    {
        match <T::Kind as Containing<T, V>>::containment(&value) {
            Containment::Substring(s) => self.like_filter("LIKE", format!("%{}%", escape_like(&s))),
            Containment::Element(element) => self.location.target.containment(Value::Array(vec![element])),
        }
    }

    /// Missing, or JSON `null`.
    pub fn is_null(&self) -> Filter<E>
    where
        T: Nullable,
    {
        Filter::expr(Expr::text(format!("{} IS NULL", self.location.target.text_expr())))
    }

    /// Present and not JSON `null`.
    pub fn is_not_null(&self) -> Filter<E>
    where
        T: Nullable,
    {
        Filter::expr(Expr::text(format!("{} IS NOT NULL", self.location.target.text_expr())))
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
            expr: self.typed(),
            cast: self.cast(),
            descending,
            nulls_first: None,
            unique: self.location.unique,
            nullable: T::NULLABLE,
        };
        OrderKey::new(key, Arc::new(move |e: &E| encode::<T::Kind>(&FieldType::to_json(get(e)), time)))
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

    /// Contains at least one of `values` (false when there are none).
    pub fn contains_any<V: Operand<T::Element>>(&self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        Filter::any(values.into_iter().map(|v| self.location.target.containment(Value::Array(vec![v.to_json()]))))
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
    fn json_paths() {
        assert_eq!(json_path(&["owner", "team"], true), "data->'owner'->>'team'");
        assert_eq!(json_path(&["it's"], false), "data->'it''s'");
        assert_eq!(json_path(&[r"a\b"], true), r"data->>E'a\\b'");
    }

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
