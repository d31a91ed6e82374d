//! Free JSON: `serde_json::Value` fields, the untyped escape hatch inside a typed entity.
//!
//! `reactions.path("+1").gt(3)` compiles to `jsonb_path_exists(data->'reactions', $1::jsonpath, $2::jsonb, TRUE)`
//! with the path `strict $."+1" ? (@ > $v)` and the variables `{"v": 3}` both bound: keys are quoted inside the
//! jsonpath (never SQL), values are never in it. Strict mode means a missing key or position, or a step into a
//! value of another shape, leaves the comparison unknown (as a missing field is for typed handles), and an array
//! is never unwrapped. Comparisons follow jsonpath: numbers numerically, strings by code point, booleans
//! `false < true`, `null` equal only to `null`, and values of two different types (or objects and arrays) never
//! compare true. `eq` with a string, integer or boolean on a path of keys also lets the query's `WHERE` carry a
//! `@>` that a GIN `jsonb_path_ops` index on `data` serves (and-ed beside the whole filter, where it cannot change
//! which rows match); the other comparisons are not index-served.

use std::fmt::Write as _;
use std::marker::PhantomData;

use serde_json::Value;

use super::field::Field;
use super::filter::Filter;
use super::kind::{FieldType, Json, Sealed};
use super::location::Target;
use crate::sql::{Expr, Param};

impl FieldType for Value {
    type Kind = Json;
    fn to_json(&self) -> Value {
        self.clone()
    }
}

/// Kinds read as free JSON: `serde_json::Value`.
#[diagnostic::on_unimplemented(
    message = "`{T}` is not a `serde_json::Value` field",
    note = "`path` reads free JSON; a typed field has its own handles (`p.owner.team`, `p.tags.at(0)`)"
)]
pub trait FreeJson<T: ?Sized>: Sealed {}
impl<T: ?Sized> FreeJson<T> for Json {}

/// One step of a path into free JSON.
#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// A path into a `serde_json::Value` field, from [`Field::path`]: its comparisons build [`Filter<E>`]s.
pub struct JsonPath<E> {
    root: Target,
    steps: Vec<PathStep>,
    entity: PhantomData<fn(&E)>,
}

impl<E> Clone for JsonPath<E> {
    fn clone(&self) -> Self {
        JsonPath { root: self.root.clone(), steps: self.steps.clone(), entity: PhantomData }
    }
}

impl<E: 'static> std::fmt::Debug for JsonPath<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JsonPath").field(&self.jsonpath(None)).finish()
    }
}

impl<E: 'static, T: FieldType + 'static> Field<E, T>
where
    T::Kind: FreeJson<T>,
{
    /// The value under `key` of this JSON object (any key: it is quoted in the jsonpath, so `"+1"` is fine).
    pub fn path(&self, key: impl Into<String>) -> JsonPath<E> {
        JsonPath { root: self.location.target.clone(), steps: vec![PathStep::Key(key.into())], entity: PhantomData }
    }

    /// The element at `index` (from 0) of this JSON array.
    pub fn at_index(&self, index: usize) -> JsonPath<E> {
        JsonPath { root: self.location.target.clone(), steps: vec![PathStep::Index(index)], entity: PhantomData }
    }
}

impl<E: 'static> JsonPath<E> {
    /// The value under `key` of the object here.
    pub fn path(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::Key(key.into()));
        self
    }

    /// The element at `index` of the array here.
    pub fn at(mut self, index: usize) -> Self {
        self.steps.push(PathStep::Index(index));
        self
    }

    /// `strict $."a"[0]`, and ` ? (@ op $v)` when comparing.
    fn jsonpath(&self, op: Option<&str>) -> String {
        let mut path = "strict $".to_owned();
        for step in &self.steps {
            match step {
                PathStep::Key(key) => {
                    path.push_str(".\"");
                    for c in key.chars() {
                        match c {
                            '"' => path.push_str("\\\""),
                            '\\' => path.push_str("\\\\"),
                            c if u32::from(c) < 0x20 => {
                                let _ = write!(path, "\\u{:04x}", u32::from(c));
                            }
                            c => path.push(c),
                        }
                    }
                    path.push('"');
                }
                PathStep::Index(index) => {
                    let _ = write!(path, "[{index}]");
                }
            }
        }
        if let Some(op) = op {
            let _ = write!(path, " ? (@ {op} $v)");
        }
        path
    }

    /// `jsonb_path_exists(root, $1::jsonpath, $2::jsonb, TRUE)`, between `before` and `after`.
    fn path_exists(&self, before: &str, jsonpath: String, vars: Value, after: &str) -> Filter<E> {
        let mut expr = Expr::compare(
            format!("{before}jsonb_path_exists({}, ", self.root.json_expr()),
            Param::text(jsonpath),
            "::jsonpath, ",
        );
        expr.push_value(Param::text(vars.to_string()));
        expr.push_text("::jsonb, TRUE)");
        expr.push_text(after);
        Filter::expr(expr)
    }

    fn compare(&self, op: &str, value: impl serde::Serialize) -> Filter<E> {
        match serde_json::to_value(value) {
            Ok(value) => self.path_exists("", self.jsonpath(Some(op)), serde_json::json!({ "v": value }), ""),
            Err(error) => Filter::invalid(format!("the value to compare with cannot be serialized: {error}")),
        }
    }

    /// The path is there (a missing key or position, or a step into another shape, is false).
    pub fn exists(&self) -> Filter<E> {
        self.path_exists("COALESCE(", self.jsonpath(None), Value::Object(serde_json::Map::new()), ", FALSE)")
    }

    /// Equal to `value` (`==`: numbers numerically, `null` only to `null`).
    pub fn eq(&self, value: impl serde::Serialize) -> Filter<E> {
        let json = serde_json::to_value(&value).ok();
        let exact = self.compare("==", value);
        // A strict path of keys equal to a string, integer or boolean is also a containment, which GIN serves.
        let leaf = match json {
            Some(leaf @ (Value::String(_) | Value::Bool(_))) => leaf,
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n),
            _ => return exact,
        };
        let mut partial = leaf;
        for step in self.steps.iter().rev() {
            match step {
                PathStep::Key(key) => partial = Value::Object([(key.clone(), partial)].into_iter().collect()),
                PathStep::Index(_) => return exact,
            }
        }
        // The containment holds whenever the comparison does, but is false where the comparison is unknown (a
        // missing key), so it only narrows a `WHERE` (or an `any`'s candidates), never joins the condition.
        let containment: Filter<E> = self.root.containment(partial);
        let mut filter = exact;
        filter.prefilter.extend(containment.prefilter);
        if self.root.depth() == 0 {
            filter.hints.push(containment.node);
        }
        filter
    }

    /// Not equal to `value` (`!=`; values of two different types are neither, but `null` differs from any other).
    pub fn ne(&self, value: impl serde::Serialize) -> Filter<E> {
        self.compare("!=", value)
    }

    /// Less than `value`.
    pub fn lt(&self, value: impl serde::Serialize) -> Filter<E> {
        self.compare("<", value)
    }

    /// Less than or equal to `value`.
    pub fn lte(&self, value: impl serde::Serialize) -> Filter<E> {
        self.compare("<=", value)
    }

    /// Greater than `value`.
    pub fn gt(&self, value: impl serde::Serialize) -> Filter<E> {
        self.compare(">", value)
    }

    /// Greater than or equal to `value`.
    pub fn gte(&self, value: impl serde::Serialize) -> Filter<E> {
        self.compare(">=", value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_inside_the_jsonpath() {
        let path: JsonPath<()> = JsonPath {
            root: Target::Json { depth: 0, keys: Vec::new() },
            steps: vec![PathStep::Key("+1".into()), PathStep::Key("a\"b\\c\n".into()), PathStep::Index(2)],
            entity: PhantomData,
        };
        assert_eq!(path.jsonpath(Some(">")), r#"strict $."+1"."a\"b\\c\u000a"[2] ? (@ > $v)"#);
    }
}
