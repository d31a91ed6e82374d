//! Each kind's operators by name: the JSON value read as the field's Rust type, then the typed method called, so
//! the filter is the one a closure would build.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::parse::Parser;
use crate::entity::documents::DocumentList;
use crate::entity::field::Field;
use crate::entity::kind::{self, Equality, FieldType, ListField, Ordered, Range, Sequence};
use crate::entity::location::Location;
use crate::entity::map::MapField;
use crate::entity::{Document, Filter, OrderKey};
use crate::error::{InputError, InputErrorKind};

const COMPARE: &[&str] = &["eq", "ne", "lt", "lte", "gt", "gte", "in_list", "not_in"];
const RANGE: &[&str] = &["eq", "ne", "lt", "lte", "gt", "gte", "between", "in_list", "not_in"];
const TEXT: &[&str] = &[
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in_list",
    "not_in",
    "starts_with",
    "ends_with",
    "contains",
    "like",
    "ilike",
    "matches_regex",
    "matches_regex_ci",
    "search",
];
const LIST: &[&str] = &[
    "contains",
    "contains_all",
    "contains_any",
    "contained_by",
    "is_empty",
    "len_eq",
    "len_gt",
    "len_gte",
    "len_lt",
    "len_lte",
];
const DOCUMENT_LIST: &[&str] =
    &["any", "all", "contains", "is_empty", "len_eq", "len_gt", "len_gte", "len_lt", "len_lte"];
pub(super) const NULL_OPERATORS: [&str; 4] = ["is_null", "is_not_null", "is_missing", "is_json_null"];
/// A document's own operators in input.
#[doc(hidden)]
pub const DOCUMENT: &[&str] = &["contains", "contained_by", "is_null", "is_not_null", "is_missing", "is_json_null"];
/// An enum with data's own operators in input.
#[doc(hidden)]
pub const VARIANT: &[&str] =
    &["is_variant", "contains", "contained_by", "is_null", "is_not_null", "is_missing", "is_json_null"];

/// The filter operators of `family` in input (an `Option`'s null tests aside).
pub(super) fn operators(family: &str) -> &'static [&'static str] {
    match family {
        "text" => TEXT,
        "integer" | "float" | "timestamp" | "local_date_time" | "date" => RANGE,
        "uuid" => COMPARE,
        "boolean" => &["eq", "ne", "in_list", "not_in"],
        "list" => LIST,
        "document_list" => DOCUMENT_LIST,
        "map" => &["has_key", "has_any_keys", "has_all_keys"],
        "document" => DOCUMENT,
        "variant" => VARIANT,
        _ => &[],
    }
}

/// How a kind's operators are applied by name (`None`: no such operator).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a field of type `{T}` cannot be looked up by name",
    note = "filters from input read values with the field's `Deserialize`; a field type must implement it"
)]
pub trait DynamicKind<E, T>: crate::entity::schema::Describe {
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E>;

    fn order(_field: &Field<E, T>, _descending: bool) -> Option<OrderKey<E>> {
        None
    }
}

/// `value` read as a `V`, or the error saying what a field of `family` takes.
fn read<V: DeserializeOwned>(value: &Value, family: &str, parser: &Parser) -> Result<V, InputError> {
    if value.is_null() {
        return Err(parser.error(
            InputErrorKind::WrongType,
            "`null` is not a value to compare with",
            "to match a missing or null field use `{\"is_null\": true}`",
        ));
    }
    V::deserialize(value).map_err(|error| {
        parser.error(
            InputErrorKind::WrongType,
            format!("{} is not a value of this {family} field: {error}", super::shown(value)),
            format!("send a value the field's type reads ({})", example(family)),
        )
    })
}

/// An example value of `family`, for advice.
fn example(family: &str) -> &'static str {
    match family {
        "text" => "a string",
        "integer" => "an integer, such as 3",
        "float" => "a number, such as 2.5",
        "boolean" => "true or false",
        "uuid" => "a UUID string",
        "timestamp" => "an RFC 3339 instant, such as \"2026-01-31T12:00:00Z\"",
        "local_date_time" => "a date and time without offset, such as \"2026-01-31T12:00:00\"",
        "date" => "a date, such as \"2026-01-31\"",
        _ => "JSON of the field's shape",
    }
}

/// A JSON list of values each read as `V`, at most `max_values` long.
fn read_list<V: DeserializeOwned>(value: &Value, family: &str, parser: &mut Parser) -> Result<Vec<V>, InputError> {
    let Value::Array(items) = value else {
        return Err(parser.error(
            InputErrorKind::WrongType,
            format!("{} is not a list", super::shown(value)),
            "send a JSON array of values",
        ));
    };
    parser.values(items.len())?;
    items.iter().enumerate().map(|(i, item)| parser.at(&i.to_string(), |parser| read(item, family, parser))).collect()
}

fn read_str<'v>(value: &'v Value, parser: &Parser) -> Result<&'v str, InputError> {
    value.as_str().ok_or_else(|| {
        parser.error(InputErrorKind::WrongType, format!("{} is not a string", super::shown(value)), "send a string")
    })
}

fn read_bool(value: &Value, parser: &Parser) -> Result<bool, InputError> {
    value.as_bool().ok_or_else(|| {
        parser.error(
            InputErrorKind::WrongType,
            format!("{} is not a boolean", super::shown(value)),
            "send true or false",
        )
    })
}

fn read_count(value: &Value, parser: &Parser) -> Result<usize, InputError> {
    value.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
        parser.error(
            InputErrorKind::WrongType,
            format!("{} is not a count", super::shown(value)),
            "send a non-negative integer",
        )
    })
}

type Applied<E> = Option<Result<Filter<E>, InputError>>;

/// `eq ne in_list not_in`.
fn equality<E: 'static, T>(
    field: &Field<E, T>,
    op: &str,
    value: &Value,
    parser: &mut Parser,
    family: &str,
) -> Applied<E>
where
    T: FieldType + DeserializeOwned + 'static,
    T::Kind: Equality<T>,
{
    Some(match op {
        "eq" => read::<T>(value, family, parser).map(|v| field.eq(v)),
        "ne" => read::<T>(value, family, parser).map(|v| field.ne(v)),
        "in_list" => read_list::<T>(value, family, parser).map(|v| field.in_list(v)),
        "not_in" => read_list::<T>(value, family, parser).map(|v| field.not_in(v)),
        _ => return None,
    })
}

/// `lt lte gt gte`.
fn ordered<E: 'static, T>(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser, family: &str) -> Applied<E>
where
    T: FieldType + DeserializeOwned + 'static,
    T::Kind: Ordered<T>,
{
    Some(match op {
        "lt" => read::<T>(value, family, parser).map(|v| field.lt(v)),
        "lte" => read::<T>(value, family, parser).map(|v| field.lte(v)),
        "gt" => read::<T>(value, family, parser).map(|v| field.gt(v)),
        "gte" => read::<T>(value, family, parser).map(|v| field.gte(v)),
        _ => return None,
    })
}

/// `between`.
fn range<E: 'static, T>(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser, family: &str) -> Applied<E>
where
    T: FieldType + DeserializeOwned + 'static,
    T::Kind: Range<T>,
{
    if op != "between" {
        return None;
    }
    Some(read_list::<T>(value, family, parser).and_then(|bounds| match <[T; 2]>::try_from(bounds) {
        Ok([low, high]) => Ok(field.between(low, high)),
        Err(_) => Err(parser.error(InputErrorKind::WrongType, "`between` takes two values", "send [low, high]")),
    }))
}

/// The kinds with every comparison: numbers, dates and times.
macro_rules! ranged_kinds {
    ($($kind:ty => $family:literal);* $(;)?) => {$(
        impl<E: 'static, T: FieldType<Kind = $kind> + DeserializeOwned + 'static> DynamicKind<E, T> for $kind {
            fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
                equality(field, op, value, parser, $family)
                    .or_else(|| ordered(field, op, value, parser, $family))
                    .or_else(|| range(field, op, value, parser, $family))
            }

            fn order(field: &Field<E, T>, descending: bool) -> Option<OrderKey<E>> {
                Some(if descending { field.desc() } else { field.asc() })
            }
        }
    )*};
}
ranged_kinds!(
    kind::Number => "integer"; kind::Double => "float"; kind::Real => "float"; kind::Timestamp => "timestamp";
    kind::LocalDateTime => "local_date_time"; kind::Date => "date";
);

impl<E: 'static, T: FieldType<Kind = kind::Uuid> + DeserializeOwned + 'static> DynamicKind<E, T> for kind::Uuid {
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
        equality(field, op, value, parser, "uuid").or_else(|| ordered(field, op, value, parser, "uuid"))
    }

    fn order(field: &Field<E, T>, descending: bool) -> Option<OrderKey<E>> {
        Some(if descending { field.desc() } else { field.asc() })
    }
}

impl<E: 'static, T: FieldType<Kind = kind::Text> + DeserializeOwned + 'static> DynamicKind<E, T> for kind::Text {
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
        let text = |parser: &Parser| read_str(value, parser);
        let parsed = match op {
            "starts_with" => text(parser).map(|s| field.starts_with(s)),
            "ends_with" => text(parser).map(|s| field.ends_with(s)),
            "contains" => text(parser).map(|s| field.contains(s)),
            "like" => text(parser).map(|s| field.like(s)),
            "ilike" => text(parser).map(|s| field.ilike(s)),
            "matches_regex" => text(parser).map(|s| field.matches_regex(s)),
            "matches_regex_ci" => text(parser).map(|s| field.matches_regex_ci(s)),
            "search" => text(parser).map(|s| field.search(crate::entity::websearch(s))),
            _ => {
                return equality(field, op, value, parser, "text")
                    .or_else(|| ordered(field, op, value, parser, "text"));
            }
        };
        Some(parsed)
    }

    fn order(field: &Field<E, T>, descending: bool) -> Option<OrderKey<E>> {
        Some(if descending { field.desc() } else { field.asc() })
    }
}

impl<E: 'static, T: FieldType<Kind = kind::Boolean> + DeserializeOwned + 'static> DynamicKind<E, T> for kind::Boolean {
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
        equality(field, op, value, parser, "boolean")
    }
}

/// `is_empty` and `len_*`, on any list.
fn sequence<E: 'static, T: FieldType + Sequence + 'static>(
    field: &Field<E, T>,
    op: &str,
    value: &Value,
    parser: &Parser,
) -> Applied<E> {
    let parsed = match op {
        "is_empty" => {
            read_bool(value, parser).map(|empty| if empty { field.is_empty() } else { field.is_empty().not() })
        }
        "len_eq" => read_count(value, parser).map(|n| field.len_eq(n)),
        "len_gt" => read_count(value, parser).map(|n| field.len_gt(n)),
        "len_gte" => read_count(value, parser).map(|n| field.len_gte(n)),
        "len_lt" => read_count(value, parser).map(|n| field.len_lt(n)),
        "len_lte" => read_count(value, parser).map(|n| field.len_lte(n)),
        _ => return None,
    };
    Some(parsed)
}

impl<E, T, K> DynamicKind<E, T> for kind::List<K>
where
    E: 'static,
    K: crate::entity::schema::Describe,
    T: FieldType<Kind = kind::List<K>> + ListField + Sequence + 'static,
    T::Element: DeserializeOwned,
{
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
        let parsed = match op {
            "contains" => read::<T::Element>(value, "list element", parser).map(|v| field.contains(v)),
            "contains_all" => read_list::<T::Element>(value, "list element", parser).map(|v| field.contains_all(v)),
            "contains_any" => read_list::<T::Element>(value, "list element", parser).map(|v| field.contains_any(v)),
            "contained_by" => read_list::<T::Element>(value, "list element", parser).map(|v| field.contained_by(v)),
            _ => return sequence(field, op, value, parser),
        };
        Some(parsed)
    }
}

impl<E, T, D> DynamicKind<E, T> for kind::Documents<D>
where
    E: 'static,
    D: Document,
    T: FieldType<Kind = kind::Documents<D>> + DocumentList<Document = D> + 'static,
{
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
        let mut failed = None;
        let mut element = |fields: &D::Fields<D>| match parser.filter(fields, value) {
            Ok(filter) => filter,
            Err(error) => {
                failed = Some(error);
                Filter::never()
            }
        };
        let filter = match op {
            "any" => field.any(&mut element),
            "all" => field.all(&mut element),
            "contains" if value.is_object() => field.contains(value),
            "contains" => {
                return Some(Err(parser.error(
                    InputErrorKind::WrongType,
                    "`contains` on a list of documents takes part of one element",
                    "send a JSON object, such as {\"name\": \"bug\"}",
                )));
            }
            _ => return sequence(field, op, value, parser),
        };
        Some(match failed {
            Some(error) => Err(error),
            None => Ok(filter),
        })
    }
}

impl<E: 'static, T: FieldType<Kind = kind::Map> + MapField + 'static> DynamicKind<E, T> for kind::Map {
    fn apply(field: &Field<E, T>, op: &str, value: &Value, parser: &mut Parser) -> Applied<E> {
        let parsed = match op {
            "has_key" => read_str(value, parser).map(|key| field.has_key(key)),
            "has_any_keys" => read_list::<String>(value, "map key", parser)
                .map(|keys| field.has_any_keys(keys.iter().map(String::as_str))),
            "has_all_keys" => read_list::<String>(value, "map key", parser)
                .map(|keys| field.has_all_keys(keys.iter().map(String::as_str))),
            _ => return None,
        };
        Some(parsed)
    }
}

impl<E: 'static, T: FieldType<Kind = kind::Json> + 'static> DynamicKind<E, T> for kind::Json {
    fn apply(_: &Field<E, T>, _: &str, _: &Value, _: &mut Parser) -> Applied<E> {
        None
    }
}

/// `is_null` and its kin, for fields that may be missing or null: `true` tests it, `false` its opposite.
pub(super) fn null_operation<E: 'static, T: 'static>(
    location: &Location<E, T>,
    op: &str,
    value: &Value,
    parser: &Parser,
) -> Applied<E> {
    let test = match op {
        "is_null" | "is_not_null" | "is_missing" | "is_json_null" => op,
        _ => return None,
    };
    Some(read_bool(value, parser).map(|wanted| match (test, wanted) {
        ("is_null", true) | ("is_not_null", false) => location.is_null(),
        ("is_null", false) | ("is_not_null", true) => location.is_not_null(),
        ("is_missing", true) => location.is_missing(),
        ("is_missing", false) => location.is_missing().not(),
        (_, true) => location.is_json_null(),
        (_, false) => location.is_json_null().not(),
    }))
}

/// A document's own operators (generated code calls it): containment both ways and the null tests.
#[doc(hidden)]
pub fn document_operation<E: 'static, D: 'static>(
    location: &Location<E, D>,
    op: &str,
    value: &Value,
    parser: &mut Parser,
) -> Applied<E> {
    match op {
        "contains" => Some(Ok(location.contains_json(value))),
        "contained_by" => Some(Ok(location.contained_by_json(value))),
        _ => null_operation(location, op, value, parser),
    }
}

/// The index in `variants` (each variant's names: the one serde writes and its aliases) of the variant `value`
/// names, for `is_variant` (generated code calls it).
#[doc(hidden)]
pub fn variant_named(value: &Value, parser: &Parser, variants: &[&[&str]]) -> Result<usize, InputError> {
    let name = read_str(value, parser)?;
    variants.iter().position(|names| names.contains(&name)).ok_or_else(|| {
        let known: Vec<&str> = variants.iter().filter_map(|names| names.first().copied()).collect();
        parser.error(
            InputErrorKind::WrongType,
            format!("no variant {name:?}"),
            format!("send one of: {}", known.join(", ")),
        )
    })
}
