//! Arrays of nested documents: `Vec<D>` and `Option<Vec<D>>` fields where `D: Document`.
//!
//! `labels.any(|l| l.name.eq("bug"))` and `labels.all(|l| …)` take a filter on one element, built from the
//! element's own typed handles (and so any operator its fields allow, nested arrays included), and compile to
//! `EXISTS (SELECT 1 FROM jsonb_array_elements(data->'labels') AS __e1(value) WHERE __e1.value->>'name' = $1)`.
//! An `EXISTS` cannot use an index, so `any` also writes the element filter's plain equalities (on strings,
//! integers, booleans, and containments) as one `@>` pre-filter on the list, `data @> '{"labels":
//! [{"name": "bug"}]}'`, which a GIN `jsonb_path_ops` index on `data` serves; the `EXISTS` then checks the few
//! candidate rows exactly. `contains(&partial)` is that containment alone.
//!
//! On a missing key, JSON `null` or any value that is not an array, `any` is false (like `contains`), and `all`
//! is unknown, as a comparison with a missing value is: neither `all(…)` nor `all(…).not()` matches it. An
//! empty array matches `all` and never `any`. Elements that are not objects have no keys, so every key reads
//! as missing in them.

use super::Document;
use super::field::{Field, KindHandle};
use super::filter::Filter;
use super::kind::{FieldType, Object, Sequence};
use super::location::Location;
use crate::sql::Node;

/// A field that holds a document `D`: `D` itself, or `Option<D>` (whose handles compare as missing when the
/// document is).
#[doc(hidden)]
pub trait Nests<D> {
    /// The document may be absent.
    const OPTIONAL: bool;
    fn nested(&self) -> Option<&D>;
}

impl<D: Document> Nests<D> for D {
    const OPTIONAL: bool = false;
    fn nested(&self) -> Option<&D> {
        Some(self)
    }
}

impl<D: Document> Nests<D> for Option<D> {
    const OPTIONAL: bool = true;
    fn nested(&self) -> Option<&D> {
        self.as_ref()
    }
}

impl<E: 'static, T: Nests<D> + 'static, D: Document> KindHandle<E, T> for Object<D> {
    type Handle = D::Fields<E>;
    fn handle(location: Location<E, T>) -> D::Fields<E> {
        D::fields_at(location.nested())
    }
    fn dynamic(handle: &D::Fields<E>) -> super::input::DynField<E> {
        super::input::Dynamic::dynamic(handle)
    }
}

/// Fields that hold a JSON array of documents: `Vec<D>` and `Option<Vec<D>>` with `D: Document`.
///
/// [`Field::any`] is an `EXISTS` over `jsonb_array_elements` of the list, plus a `@>` pre-filter holding the
/// element filter's equalities on strings, integers and booleans and its containments, which a GIN
/// `jsonb_path_ops` index on `data` serves (an `EXISTS` alone cannot use an index). On anything that is not an
/// array, `any` is false and [`Field::all`] is unknown; an empty array matches `all` and never `any`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of documents",
    note = "any/all apply to `Vec<D>` fields where `D` derives `fraiseql_wire::Document`; for a list of scalars \
            use contains/contains_all/contains_any"
)]
pub trait DocumentList: Sequence {
    /// The element type.
    type Document: Document;
}

impl<D: Document> DocumentList for Vec<D> {
    type Document = D;
}

impl<D: Document> DocumentList for Option<Vec<D>> {
    type Document = D;
}

/// The handles of one element, rooted at the element, as `any` and `all` give them to their predicate.
pub type ElementFields<T> = <<T as DocumentList>::Document as Document>::Fields<<T as DocumentList>::Document>;

impl<E: 'static, T: FieldType + DocumentList + 'static> Field<E, T> {
    /// At least one element satisfies `predicate` (false on an empty, missing or non-array value).
    pub fn any(&self, predicate: impl FnOnce(&ElementFields<T>) -> Filter<T::Document>) -> Filter<E> {
        let (depth, elements, inner) = self.element_search(predicate);
        let prefilter = merge_partials(&inner.prefilter);
        let exists = Filter::from_node(Node::Within {
            before: format!("EXISTS (SELECT 1 FROM {elements} AS __e{depth}(value) WHERE "),
            inner: Box::new(inner.node),
            after: ")".to_owned(),
        });
        match prefilter {
            Some(element) => {
                Filter::all([self.location.target.containment(serde_json::Value::Array(vec![element])), exists])
            }
            None => exists,
        }
    }

    /// Every element satisfies `predicate` (true on an empty array; unknown, so matching neither `all` nor its
    /// `not`, on anything that is not an array).
    pub fn all(&self, predicate: impl FnOnce(&ElementFields<T>) -> Filter<T::Document>) -> Filter<E> {
        let (depth, elements, inner) = self.element_search(predicate);
        let list = self.location.target.json_expr();
        Filter::from_node(Node::Within {
            before: format!(
                "CASE WHEN jsonb_typeof({list}) = 'array' THEN NOT EXISTS (SELECT 1 FROM {elements} AS __e{depth}(value) \
                 WHERE ("
            ),
            inner: Box::new(inner.node),
            after: ") IS NOT TRUE) END".to_owned(),
        })
    }

    /// The nesting depth of the elements, the `FROM` item that lists them, and the predicate's filter on one.
    fn element_search(
        &self,
        predicate: impl FnOnce(&ElementFields<T>) -> Filter<T::Document>,
    ) -> (u8, String, Filter<T::Document>) {
        let depth = self.location.target.depth().saturating_add(1);
        let handles = T::Document::fields_at(Location::element(depth, self.location.time));
        let list = self.location.target.json_expr();
        // The guard keeps jsonb_array_elements from failing on an object or a scalar: those have no elements.
        let elements = format!("jsonb_array_elements(CASE WHEN jsonb_typeof({list}) = 'array' THEN {list} END)");
        (depth, elements, predicate(&handles))
    }
}

/// One JSON object containing every one of `partials` (objects merged key by key, arrays concatenated), or
/// `None` if there are none or two disagree on a scalar (then no single `@>` says both).
fn merge_partials(partials: &[serde_json::Value]) -> Option<serde_json::Value> {
    let (first, rest) = partials.split_first()?;
    rest.iter().try_fold(first.clone(), merge)
}

fn merge(into: serde_json::Value, next: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match (into, next) {
        (Value::Object(mut into), Value::Object(next)) => {
            for (key, value) in next {
                let merged = match into.remove(key) {
                    Some(existing) => merge(existing, value)?,
                    None => value.clone(),
                };
                into.insert(key.clone(), merged);
            }
            Some(Value::Object(into))
        }
        (Value::Array(mut into), Value::Array(next)) => {
            into.extend(next.iter().cloned());
            Some(Value::Array(into))
        }
        (into, next) => (into == *next).then_some(into),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_partials;

    #[test]
    fn partials_merge_into_one_element() {
        let merged =
            merge_partials(&[json!({"name": "bug"}), json!({"owner": {"team": "core"}}), json!({"tags": ["x"]})]);
        assert_eq!(merged, Some(json!({"name": "bug", "owner": {"team": "core"}, "tags": ["x"]})));
        let nested = merge_partials(&[json!({"owner": {"team": "core"}}), json!({"owner": {"lead": "ann"}})]);
        assert_eq!(nested, Some(json!({"owner": {"team": "core", "lead": "ann"}})));
        assert_eq!(merge_partials(&[json!({"name": "a"}), json!({"name": "b"})]), None);
        assert_eq!(
            merge_partials(&[json!({"tags": ["x"]}), json!({"tags": ["y"]})]),
            Some(json!({"tags": ["x", "y"]}))
        );
        assert_eq!(merge_partials(&[]), None);
    }
}
