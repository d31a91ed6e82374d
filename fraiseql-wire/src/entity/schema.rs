//! The schema of an entity, as data: every field's JSON path, type family, nullability and the operators it
//! allows, for an API layer to generate its input types (GraphQL, OpenAPI) from. `Project::schema()`.

use serde::Serialize;

use super::Document;
use super::kind::{self, FieldType};

/// A typed entity's fields, as `Entity::schema` describes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// The view.
    pub view: &'static str,
    /// Its schema, if it is qualified.
    pub schema: Option<&'static str>,
    /// Every field with a handle, nested documents' fields after their document, in declaration order. The fields
    /// of a list of documents' elements follow the list, under the path segment `"[]"` (`["labels", "[]",
    /// "name"]`).
    pub fields: Vec<FieldSchema>,
}

/// One field of an entity or of a document nested in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldSchema {
    /// The JSON keys from the document's root (`["owner", "team"]`); for a view column, its name.
    pub path: Vec<String>,
    /// How the field compares: `text`, `integer`, `float`, `boolean`, `uuid`, `timestamp`, `local_date_time`,
    /// `date`, `list`, `document_list`, `map`, `document` (a nested document or an enum with data, see
    /// `variants`) or `json` (free JSON).
    pub family: &'static str,
    /// It may be missing or null: an `Option`, or inside one.
    pub nullable: bool,
    /// The view column it is read from, for `#[entity(column)]` fields.
    pub column: Option<&'static str>,
    /// For an enum with data, the variants' names as the JSON writes them.
    pub variants: Option<&'static [&'static str]>,
    /// The operators its handle has, by method name.
    pub operators: Vec<&'static str>,
    /// The operators a filter from input may use on it ([`Entity::filter_from_json`](super::Entity::filter_from_json)).
    pub filters: Vec<&'static str>,
    /// It can be a sort key ([`Entity::order_by_from`](super::Entity::order_by_from)).
    pub sortable: bool,
    /// For a list of values, its elements' family.
    pub element: Option<&'static str>,
}

/// The operators of a field of `family` (without those of `Option`): those a filter from input has, and the
/// handle's methods input cannot call (sort keys, positions, map values, jsonpath).
fn operators(family: &str) -> Vec<&'static str> {
    let mut operators = super::input::filter_operators(family).to_vec();
    let more: &[&str] = match family {
        "text" => &["asc", "desc", "rank"],
        "integer" | "float" | "timestamp" | "local_date_time" | "date" | "uuid" => &["asc", "desc"],
        "list" | "document_list" => &["at"],
        "map" => &["get", "any_value"],
        "json" => &["path", "at_index"],
        _ => &[],
    };
    operators.extend(more);
    operators
}

/// How a kind is described: its family, and what it holds.
#[doc(hidden)]
pub trait Describe: kind::Kind {
    const FAMILY: &'static str;

    /// The variants of an enum with data.
    fn variants() -> Option<&'static [&'static str]> {
        None
    }

    /// For a list of values, its elements' family.
    fn element() -> Option<&'static str> {
        None
    }

    /// The fields inside a value of this kind at `path` (a document's).
    fn nested(_path: &[String], _nullable: bool, _out: &mut Vec<FieldSchema>) {}
}

macro_rules! families {
    ($($kind:ty => $family:literal $(, $param:ident: $bound:path)?);* $(;)?) => {$(
        impl$(<$param: $bound>)? Describe for $kind {
            const FAMILY: &'static str = $family;
        }
    )*};
}
families!(
    kind::Text => "text"; kind::Number => "integer"; kind::Double => "float"; kind::Real => "float";
    kind::Boolean => "boolean"; kind::Uuid => "uuid"; kind::Timestamp => "timestamp";
    kind::LocalDateTime => "local_date_time"; kind::Date => "date"; kind::Map => "map"; kind::Json => "json";
);

impl<K: Describe> Describe for kind::List<K> {
    const FAMILY: &'static str = "list";

    fn element() -> Option<&'static str> {
        Some(K::FAMILY)
    }
}

impl<D: Document> Describe for kind::Documents<D> {
    const FAMILY: &'static str = "document_list";

    fn nested(path: &[String], _nullable: bool, out: &mut Vec<FieldSchema>) {
        // Inside `any`/`all` an element is present, so its fields are nullable only by their own types.
        let element: Vec<String> = path.iter().cloned().chain(["[]".to_owned()]).collect();
        D::describe_fields::<D>(&element, false, out);
    }
}

impl<D: Document> Describe for kind::Object<D> {
    const FAMILY: &'static str = "document";

    fn variants() -> Option<&'static [&'static str]> {
        D::VARIANTS
    }

    fn nested(path: &[String], nullable: bool, out: &mut Vec<FieldSchema>) {
        D::describe_fields::<D>(path, nullable, out);
    }
}

/// Adds the field of type `T` at `path` (and, for a document, its fields) to `out`; what generated code calls.
#[doc(hidden)]
pub fn describe<T: FieldType>(
    path: Vec<String>,
    column: Option<&'static str>,
    nullable: bool,
    out: &mut Vec<FieldSchema>,
) where
    T::Kind: Describe,
{
    let family = <T::Kind as Describe>::FAMILY;
    let nullable = nullable || T::NULLABLE;
    let variants = <T::Kind as Describe>::variants();
    let mut operators = operators(family);
    if variants.is_some() {
        operators.insert(0, "is_variant");
    }
    if T::NULLABLE && family != "document" {
        operators.extend(["is_null", "is_not_null", "is_missing", "is_json_null"]);
    }
    let mut filters = super::input::filter_operators(if variants.is_some() { "variant" } else { family }).to_vec();
    if T::NULLABLE && family != "document" {
        filters.extend(["is_null", "is_not_null", "is_missing", "is_json_null"]);
    }
    let sortable = operators.contains(&"asc");
    let element = <T::Kind as Describe>::element();
    out.push(FieldSchema {
        path: path.clone(),
        family,
        nullable,
        column,
        variants,
        operators,
        filters,
        sortable,
        element,
    });
    <T::Kind as Describe>::nested(&path, nullable, out);
}
