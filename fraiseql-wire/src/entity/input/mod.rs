//! Filters and sorts from request input, checked against the entity's fields at run time.
//!
//! An API layer receives the filter, the sort and the page from its client. [`Entity::filter_from_json`]
//! reads a filter in a shape close to GraphQL filter inputs, [`Entity::order_by_from`] a list of sort keys, and
//! both call the same typed handles a closure would: the SQL is exactly the typed filter's, every value is a bound
//! parameter, and every mistake is an [`InputError`] naming its place in the input before anything reaches the
//! server.
//!
//! # The filter shape
//!
//! ```json
//! {
//!   "status": {"eq": "active"},
//!   "priority": {"gte": 3, "lt": 9},
//!   "owner": {"team": {"eq": "core"}},
//!   "tags": {"contains": "rust"},
//!   "labels": {"any": {"name": {"eq": "bug"}}},
//!   "_or": [{"title": {"starts_with": "fix"}}, {"milestone": {"is_null": true}}],
//!   "_not": {"id": {"in_list": [1, 2]}}
//! }
//! ```
//!
//! - A filter is an object. Its keys are field names as the JSON document writes them (view columns by their
//!   column name), or `_and` (a list of filters), `_or` (a list of filters) and `_not` (a filter). All of an
//!   object's entries must hold; `{}` matches every row. The SQL has them in the order `serde_json` keeps an
//!   object's keys (sorted, without its `preserve_order` feature); `_and` keeps the order of its list.
//! - A field's value is an object of operators, and all of them must hold. A nested document's value is a filter
//!   on its fields, and may also use the document's own operators (`contains`, `is_null`, `is_variant`…).
//! - The operators are the handles' method names, each with the value the method takes as JSON:
//!   `eq ne lt lte gt gte` (a value), `between` (`[low, high]`), `in_list not_in` (a list), text's
//!   `starts_with ends_with contains like ilike matches_regex matches_regex_ci` (a string) and `search` (a string
//!   in web search syntax, see [`websearch`](super::websearch)), lists' `contains` (an element), `contains_all
//!   contains_any contained_by` (a list), `is_empty` (a boolean) and `len_eq len_gt len_gte len_lt len_lte` (a
//!   count), lists of documents' `any all` (a filter on one element) and `contains` (part of an element), maps'
//!   `has_key` (a string), `has_any_keys has_all_keys` (a list of strings), and for `Option` fields `is_null
//!   is_not_null is_missing is_json_null` (`true`, or `false` for the opposite).
//! - A value is read as the field's own Rust type reads it (serde), so an enum field takes only its variants'
//!   names and an integer field refuses `2.5`; `null` is never a value (use `is_null`).
//! - [`Entity::schema`] lists each field's filter operators, and [`filter_json_schema`](super::schema) describes
//!   the whole shape as JSON Schema.
//!
//! # Sorts
//!
//! `order_by_from(&["-priority", "owner.team", "id"])`: a field path per key, `-` first for descending (`+` is
//! allowed for ascending). Only fields with `asc`/`desc` can sort.
//!
//! # Limits
//!
//! A request must not be able to make a query of unbounded size: [`Limits`] caps the number of operators and
//! sort keys, the nesting depth and the length of list values. The defaults suit an API; raise them with
//! [`Entity::filter_from_json_with`].
//!
//! [`Entity::filter_from_json`]: super::Entity::filter_from_json
//! [`Entity::filter_from_json_with`]: super::Entity::filter_from_json_with
//! [`Entity::order_by_from`]: super::Entity::order_by_from
//! [`Entity::schema`]: super::Entity::schema

mod field;
mod kinds;
mod parse;

use serde_json::Value;

pub use crate::error::{InputError, InputErrorKind};
pub use field::DynField;
#[doc(hidden)]
pub use field::{Dynamic, DynamicFields};
#[doc(hidden)]
pub use kinds::{DOCUMENT, DynamicKind, VARIANT, document_operation, variant_named};
#[doc(hidden)]
pub use parse::Parser;
pub use parse::{Limits, by_path};
pub(crate) use parse::{parse_filter, parse_order};

/// The filter operators a field of `family` accepts in input (those of `Option` fields aside).
pub(crate) fn filter_operators(family: &str) -> &'static [&'static str] {
    kinds::operators(family)
}

/// `value` as it reads in messages: short, and never the whole of a large input.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}
