//! Typed entities: `#[derive(Entity)]` binds a struct to a view, and its generated field handles build filters
//! and sort keys that compile to SQL with bound parameters.
//!
//! # The SQL each operator compiles to
//!
//! | operator | SQL | index that serves it |
//! |---|---|---|
//! | text `eq`, `ne`, `lt`… | `data->>'name' = $1` | btree on `(data->>'name')` |
//! | number `eq`, `gt`, `between`… | `(data->>'priority')::numeric > $1::numeric` | btree on `((data->>'priority')::numeric)` |
//! | boolean `eq` | `(data->>'done')::boolean = $1::boolean` | btree on that expression |
//! | `in_list` / `not_in` | `data->>'status' = ANY($1::text[])` / `<> ALL(…)` | btree on the expression |
//! | `starts_with`, `like`, `ilike` | `data->>'name' LIKE $1` (prefix escaped) | btree with `text_pattern_ops` for prefixes, trigram GIN for the rest |
//! | `is_null` | `data->>'score' IS NULL` (missing or JSON null) | – |
//! | list `contains`, `contains_all`, `contains_any` | `data @> $1::jsonb` (`{"tags":["x"]}`) | GIN `jsonb_path_ops` on `data` |
//! | document `contains`, `matches` | `data @> $1::jsonb` | GIN `jsonb_path_ops` on `data` |
//! | `column` fields | `"id" = $1` (the column's own type) | the column's index |
//!
//! Ordering uses the same expression as filters, so one expression index serves both. Nested fields use
//! `data->'owner'->>'team'`. Keys are SQL literals generated from the struct; values are always parameters.

mod field;
mod filter;
pub mod kind;
mod order;

use serde::de::DeserializeOwned;

pub use field::Field;
#[doc(hidden)]
pub use field::{Handle, Location};
pub use filter::Filter;
pub use kind::FieldType;
pub use order::OrderKey;
pub(crate) use order::keyset_after;

use crate::client::Client;
use crate::query::Query;

/// A struct bound to a view, with typed field handles: implement it with `#[derive(Entity)]`.
pub trait Entity: DeserializeOwned + Sized + 'static {
    /// The generated struct of field handles (`ProjectFields` for `Project`).
    type Fields;

    /// The view (or table) name.
    const VIEW: &'static str;

    /// The schema, if the view is schema-qualified.
    const SCHEMA: Option<&'static str>;

    /// The field handles, as the `filter` and `order_by` closures receive them.
    fn fields() -> Self::Fields;

    /// A query on this entity's view.
    fn query(client: &Client) -> Query<Self> {
        Query::for_entity(client.clone())
    }
}

/// A struct nested inside an entity's document: implement it with `#[derive(Document)]`.
pub trait Document: DeserializeOwned + Sized + 'static {
    /// The generated struct of field handles, rooted in entity `E`.
    type Fields<E: 'static>;

    /// The handles of this document's fields at `location` inside `E`.
    #[doc(hidden)]
    fn fields_at<E: 'static>(location: Location<E, Self>) -> Self::Fields<E>;
}

/// Items that generated code refers to by absolute path; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use super::field::{Handle, Location};
    pub use super::filter::Filter;
    pub use serde::Serialize;
    pub use serde_json::Value;

    /// A value's JSON form for `#[derive(Scalar)]` enums; a value that cannot be serialized becomes `null`
    /// (which no comparison matches) rather than a panic.
    pub fn to_json_value<T: serde::Serialize + ?Sized>(value: &T) -> Value {
        serde_json::to_value(value).unwrap_or(Value::Null)
    }

    /// Compile-time check that an entity can be decoded; its message says what to derive.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` must implement `serde::Deserialize` to be an entity or document",
        label = "add `#[derive(serde::Deserialize)]` to this struct"
    )]
    pub trait AssertDeserialize {}
    impl<T: serde::de::DeserializeOwned> AssertDeserialize for T {}

    /// Used by generated code: `assert_deserialize::<Project>()`.
    pub const fn assert_deserialize<T: AssertDeserialize + ?Sized>() {}
}
