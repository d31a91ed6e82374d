//! Where a field's value is read: a view column or a JSON path, and the SQL expression, cast and parameter that
//! compare it.

use std::sync::Arc;

use serde_json::Value;

use super::filter::Filter;
use super::kind::{FieldType, Kind, Temporal};
use super::time::TimeStorage;
use crate::sql::{Expr, Param, quote_identifier, quote_literal};

/// Reads a value of type `T` out of an entity `E` (for keyset pagination).
/// `None` when the value is not there (a key of a map that the row lacks).
pub(crate) type Getter<E, T> = Arc<dyn Fn(&E) -> Option<&T> + Send + Sync>;

/// Where a value lives: a real column of the view, or a path of keys inside a JSON value, the row's `data`
/// document or an element of an array being searched (`any`/`all`, nested `depth` deep).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A column, whose value the document also holds under `key` (the one serde reads the field from).
    Column {
        name: &'static str,
        key: &'static str,
    },
    Json {
        depth: u8,
        keys: Vec<Step>,
    },
}

/// One step of a JSON path: an object's key, or an array's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(&'static str),
    Index(usize),
}

impl Target {
    /// Where a document holds this value, from its root: `None` inside an array element being searched.
    pub(crate) fn document_path(&self) -> Option<Vec<Step>> {
        match self {
            Target::Column { key, .. } => Some(vec![Step::Key(key)]),
            Target::Json { depth: 0, keys } => Some(keys.clone()),
            Target::Json { .. } => None,
        }
    }

    /// This path, one step further (from a column: the step inside the column's JSON value).
    pub(crate) fn then(&self, step: Step) -> Target {
        match self {
            Target::Json { depth, keys } => {
                Target::Json { depth: *depth, keys: keys.iter().copied().chain([step]).collect() }
            }
            // Columns are scalars; generated code never nests under one.
            Target::Column { .. } => Target::Json { depth: 0, keys: vec![step] },
        }
    }
}

impl Target {
    /// The value as SQL text (`->>` for the last key).
    pub(crate) fn text_expr(&self) -> String {
        match self {
            Target::Column { name, .. } => quote_identifier(name),
            Target::Json { depth, keys } => json_path(*depth, keys, true),
        }
    }

    /// The value cast to the SQL type it compares as: the expression that filters and ordering share, so one
    /// expression index serves both. Dates and times read through their [`TimeStorage`]'s function, if it has one.
    pub(crate) fn typed_expr<K: Kind>(&self, time: TimeStorage) -> String {
        match (self, K::TIME, time) {
            (Target::Column { .. }, ..) => self.text_expr(),
            (Target::Json { .. }, Some(family), TimeStorage::Rfc3339) => {
                format!("{}({})", family.function(), self.text_expr())
            }
            (Target::Json { .. }, ..) => match compared_as::<K>(time) {
                Some(sql_type) => format!("({})::{sql_type}", self.text_expr()),
                None => self.text_expr(),
            },
        }
    }

    /// The cast written after a parameter compared with [`typed_expr`](Self::typed_expr): none for columns, whose
    /// type the server infers.
    pub(crate) fn param_cast<K: Kind>(&self, time: TimeStorage) -> String {
        match (self, compared_as::<K>(time)) {
            (Target::Json { .. }, Some(sql_type)) => format!("::{sql_type}"),
            _ => String::new(),
        }
    }

    /// The value as `jsonb`.
    pub(crate) fn json_expr(&self) -> String {
        match self {
            Target::Column { name, .. } => format!("to_jsonb({})", quote_identifier(name)),
            Target::Json { depth, keys } => json_path(*depth, keys, false),
        }
    }

    /// How deep in `any`/`all` element searches this value is (0: in the row's document).
    pub(crate) fn depth(&self) -> u8 {
        match self {
            Target::Column { .. } => 0,
            Target::Json { depth, .. } => *depth,
        }
    }

    /// The JSON value at the root (the document or the element) that holds `leaf` at this path; `None` for a
    /// column.
    pub(crate) fn partial(&self, leaf: Value) -> Option<Value> {
        match self {
            Target::Column { .. } => None,
            // A position cannot be said with `@>`, which matches an element anywhere in an array.
            Target::Json { keys, .. } => keys.iter().rev().try_fold(leaf, |inner, step| match step {
                Step::Key(key) => Some(Value::Object([(key.to_string(), inner)].into_iter().collect())),
                Step::Index(_) => None,
            }),
        }
    }

    /// A `@>` condition: the root must contain `leaf` at this path (in the row's document, served by a GIN
    /// index on `data`). Inside `any`, it is also a pre-filter for the list.
    pub(crate) fn containment<E>(&self, leaf: Value) -> Filter<E> {
        match (self, self.partial(leaf.clone())) {
            (Target::Json { depth, .. }, Some(document)) => {
                let root = json_path(*depth, &[], false);
                Filter::expr(Expr::compare(format!("{root} @> "), Param::text(document.to_string()), "::jsonb"))
                    .with_prefilter(document)
            }
            // A path through a position: the value there must contain `leaf`, and a missing value does not
            // (false, as at a path of keys, where the root is always there).
            (Target::Json { .. }, None) => Filter::expr(Expr::compare(
                format!("COALESCE({} @> ", self.json_expr()),
                Param::text(leaf.to_string()),
                "::jsonb, FALSE)",
            )),
            (Target::Column { .. }, _) => Filter::expr(Expr::compare(
                format!("{} @> ", self.json_expr()),
                Param::text(leaf.to_string()),
                "::jsonb",
            )),
        }
    }
}

impl Target {
    /// A `<@` condition: the value here is contained in `whole` (no index serves it).
    pub(crate) fn contained_by<E>(&self, whole: Value) -> Filter<E> {
        Filter::expr(Expr::compare(format!("{} <@ ", self.json_expr()), Param::text(whole.to_string()), "::jsonb"))
    }
}

/// The SQL type a value of kind `K` stored as `time` compares as (`None`: as text).
pub(crate) fn compared_as<K: Kind>(time: TimeStorage) -> Option<&'static str> {
    match K::TIME {
        Some(_) => time.compared_as().or(K::SQL_TYPE),
        None => K::SQL_TYPE,
    }
}

/// The parameter for `value`, of kind `K`, compared with a field stored as `time`.
pub(crate) fn encode<K: Kind>(value: &Value, time: TimeStorage) -> Param {
    match K::TIME {
        Some(_) => time.param(value),
        None => K::param(value),
    }
}

/// The root of a JSON path: the row's `data`, or the element of the `depth`-th nested `any`/`all`.
fn json_root(depth: u8) -> String {
    if depth == 0 { "data".to_owned() } else { format!("__e{depth}.value") }
}

/// `data->'a'->'b'` or `data->'a'->>'b'` (from an element: `__e1.value->'a'`; the element itself as text,
/// a map's scalar value: `__e1.value #>> '{}'`).
fn json_path(depth: u8, keys: &[Step], last_as_text: bool) -> String {
    let mut out = json_root(depth);
    if keys.is_empty() && last_as_text {
        out.push_str(" #>> '{}'");
        return out;
    }
    for (i, step) in keys.iter().enumerate() {
        out.push_str(if last_as_text && i + 1 == keys.len() { "->>" } else { "->" });
        match step {
            Step::Key(key) => out.push_str(&quote_literal(key)),
            // A number from code, not text: it cannot change the statement's shape.
            Step::Index(index) => out.push_str(&index.to_string()),
        }
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
    /// The value may be absent even if its type is not an `Option` (a map's value).
    pub(crate) optional: bool,
}

impl<E, T: ?Sized> Clone for Location<E, T> {
    fn clone(&self) -> Self {
        Location {
            target: self.target.clone(),
            get: self.get.clone(),
            unique: self.unique,
            time: self.time,
            optional: self.optional,
        }
    }
}

impl<E: 'static> Location<E, E> {
    /// The entity itself: the whole `data` document.
    pub fn root() -> Self {
        Location::element(0, TimeStorage::Cast)
    }

    /// An element of an array searched by `any`/`all`, `depth` searches deep, as the root its filters see.
    pub(crate) fn element(depth: u8, time: TimeStorage) -> Self {
        Location {
            target: Target::Json { depth, keys: Vec::new() },
            get: Arc::new(|e: &E| Some(e)),
            unique: false,
            time,
            optional: false,
        }
    }
}

impl<E: 'static, T: 'static> Location<E, T> {
    /// A key of this document. `unique` marks a key that identifies a row (`#[entity(order_key)]`).
    pub fn key<U: 'static>(&self, key: &'static str, get: fn(&T) -> &U, unique: bool) -> Location<E, U> {
        let parent = self.get.clone();
        Location {
            target: self.target.then(Step::Key(key)),
            get: Arc::new(move |e: &E| parent(e).map(get)),
            unique,
            time: self.time,
            optional: self.optional,
        }
    }

    /// A real column of the view (`#[entity(column = "…")]`); unique, as a view's key column is. The document
    /// holds its value too, under `key` (what serde reads the field from).
    pub fn column<U: 'static>(&self, name: &'static str, key: &'static str, get: fn(&T) -> &U) -> Location<E, U> {
        let parent = self.get.clone();
        Location {
            target: Target::Column { name, key },
            get: Arc::new(move |e: &E| parent(e).map(get)),
            unique: true,
            time: self.time,
            optional: self.optional,
        }
    }

    /// The value under `key` of this map, which a row may lack.
    pub(crate) fn map_value<U: 'static>(
        &self,
        key: &'static str,
        get: impl for<'a> Fn(&'a T, &str) -> Option<&'a U> + Send + Sync + 'static,
    ) -> Location<E, U> {
        let parent = self.get.clone();
        Location {
            target: self.target.then(Step::Key(key)),
            get: Arc::new(move |e: &E| parent(e).and_then(|map| get(map, key))),
            unique: false,
            time: self.time,
            optional: true,
        }
    }

    /// The document held here, which is absent when `T` is `Option<D>` and the row has none.
    pub(crate) fn nested<D: 'static>(&self) -> Location<E, D>
    where
        T: super::documents::Nests<D>,
    {
        let parent = self.get.clone();
        Location {
            target: self.target.clone(),
            get: Arc::new(move |e: &E| parent(e).and_then(T::nested)),
            unique: false,
            time: self.time,
            optional: self.optional || T::OPTIONAL,
        }
    }

    /// Missing, or JSON `null`.
    pub fn is_null(&self) -> Filter<E> {
        Filter::expr(Expr::text(format!("{} IS NULL", self.target.text_expr())))
    }

    /// Present and not JSON `null`.
    pub fn is_not_null(&self) -> Filter<E> {
        Filter::expr(Expr::text(format!("{} IS NOT NULL", self.target.text_expr())))
    }

    /// The key is absent.
    pub fn is_missing(&self) -> Filter<E> {
        Filter::expr(Expr::text(format!("{} IS NULL", self.target.json_expr())))
    }

    /// The key is present with the value JSON `null`.
    pub fn is_json_null(&self) -> Filter<E> {
        // Never unknown: a missing key is simply not JSON null.
        Filter::expr(Expr::text(format!("COALESCE(jsonb_typeof({}) = 'null', FALSE)", self.target.json_expr())))
    }

    /// The element at `index` of this array, which a row may lack.
    pub(crate) fn position<U: 'static>(&self, index: usize, get: fn(&T, usize) -> Option<&U>) -> Location<E, U> {
        let parent = self.get.clone();
        Location {
            target: self.target.then(Step::Index(index)),
            get: Arc::new(move |e: &E| parent(e).and_then(|list| get(list, index))),
            unique: false,
            time: self.time,
            optional: true,
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

    /// A `<@` condition: the value here is contained in `whole`.
    pub fn contained_by_json<P: serde::Serialize + ?Sized>(&self, whole: &P) -> Filter<E> {
        match serde_json::to_value(whole) {
            Ok(value) => self.target.contained_by(value),
            Err(error) => Filter::invalid(format!("the value for `contained_by` cannot be serialized: {error}")),
        }
    }

    /// A `@>` condition on this document: it contains `partial`.
    pub fn contains_json<P: serde::Serialize + ?Sized>(&self, partial: &P) -> Filter<E> {
        match serde_json::to_value(partial) {
            Ok(value) => self.target.containment(value),
            Err(error) => Filter::invalid(format!("the value for `contains` cannot be serialized: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths() {
        use Step::{Index, Key};
        assert_eq!(json_path(0, &[Key("owner"), Key("team")], true), "data->'owner'->>'team'");
        assert_eq!(json_path(0, &[Key("it's")], false), "data->'it''s'");
        assert_eq!(json_path(0, &[Key(r"a\b")], true), r"data->>E'a\\b'");
        assert_eq!(json_path(0, &[Key("tags"), Index(0)], true), "data->'tags'->>0");

        assert_eq!(json_path(2, &[Key("sku")], true), "__e2.value->>'sku'");
        assert_eq!(json_path(1, &[], true), "__e1.value #>> '{}'");
    }
}
