//! Typed entities: `#[derive(Entity)]` binds a struct to a view, and its generated field handles build filters
//! and sort keys that compile to SQL with bound parameters.
//!
//! # The SQL each operator compiles to
//!
//! | operator | SQL | index that serves it |
//! |---|---|---|
//! | text `eq`, `ne`, `lt`… | `data->>'name' = $1` | btree on `(data->>'name')` |
//! | integer `eq`, `gt`, `between`… | `(data->>'priority')::numeric > $1::numeric` | btree on `((data->>'priority')::numeric)` |
//! | `f64` `eq`, `gt`, `between`… (`f32`: `float4`) | `(data->>'score')::float8 > $1::float8` | btree on `((data->>'score')::float8)` |
//! | boolean `eq` | `(data->>'done')::boolean = $1::boolean` | btree on that expression |
//! | `in_list` / `not_in` | `data->>'status' = ANY($1::text[])` / `<> ALL(…)` | btree on the expression |
//! | `starts_with`, `contains`, `like`, `ilike` | `data->>'name' LIKE $1` (prefix escaped) | btree with `text_pattern_ops` for prefixes, trigram GIN (`CREATE EXTENSION pg_trgm; CREATE INDEX … USING gin ((data->>'name') gin_trgm_ops)`) for the rest, `ilike('%x%')` included |
//! | `is_null` | `data->>'score' IS NULL` (missing or JSON null) | – |
//! | map `has_key`, `has_any_keys`, `has_all_keys` | `data->'languages' ? $1`, `?\| $1::text[]`, `?& $1::text[]` | GIN (`jsonb_ops`) on `(data->'languages')` |
//! | map `get("fra")`, `any_value(\|v\| …)` | the value's own SQL at `data->'languages'->'fra'`; `EXISTS (… jsonb_each(…) …)` | as for the value's type; – |
//! | `is_missing` / `is_json_null` | `data->'score' IS NULL` / `COALESCE(jsonb_typeof(data->'score') = 'null', FALSE)` | – |
//! | `matches_regex`, `matches_regex_ci` | `data->>'name' ~ $1` / `~* $1` | trigram GIN (`pg_trgm`, `gin_trgm_ops`) on `(data->>'name')`; a btree for an anchored prefix |
//! | text `search(websearch(q))`, `plain`, `phrase` ([`TextQuery`]) | `to_tsvector('english'::regconfig, data->>'body') @@ websearch_to_tsquery('english'::regconfig, $1)` | GIN on `(to_tsvector('english', data->>'body'))`, the queries' configuration |
//! | document `search(q)` | `jsonb_to_tsvector('english'::regconfig, data, '["string"]'::jsonb) @@ …` | GIN on `(jsonb_to_tsvector('english', data, '["string"]'))` |
//! | text and document `rank(q).desc()` ([`Rank`]) | `ORDER BY COALESCE(ts_rank(…), 0) DESC`; keyset recomputes the row's rank by its unique key | – |
//! | list `contains`, `contains_all`, `contains_any` | `data @> $1::jsonb` (`{"tags":["x"]}`) | GIN `jsonb_path_ops` on `data` |
//! | document `contains`, `matches` | `data @> $1::jsonb` | GIN `jsonb_path_ops` on `data` |
//! | `contained_by` (documents, lists) | `data->'owner' <@ $1::jsonb` | – |
//! | list `at(0)` | the element's own SQL at `data->'tags'->0` (a position is never a `@>` pre-filter) | an expression index on the element |
//! | enum `is_variant`, `card(\|c\| …)` (see [`variants`]) | external: `data->'method' ? $1`; internal, adjacent: `data @> '{"method": {"type": "card"}}'`; a variant's fields at `->'Card'->`, beside the tag, or under `->'c'->` | GIN (`jsonb_ops`) on `(data->'method')` for external; GIN `jsonb_path_ops` on `data` for internal and adjacent |
//! | free JSON `path("+1").gt(3)` (`serde_json::Value` fields, see [`JsonPath`]) | `jsonb_path_exists(data->'reactions', $1::jsonpath, $2::jsonb, TRUE)`, `$1 = 'strict $."+1" ? (@ > $v)'`, `$2 = '{"v": 3}'` | none, but `eq` also adds `data @> $3::jsonb` to the `WHERE` for GIN `jsonb_path_ops` on `data` |
//! | `Option<D>` documents | the document's handles at `data->'milestone'->…`; `is_null` etc. as for `Option<T>` | as for each field |
//! | list of documents `any(\|l\| …)` | `data @> $1::jsonb AND EXISTS (SELECT 1 FROM jsonb_array_elements(data->'labels') AS __e1(value) WHERE …)`, the `@>` holding the element filter's equalities on strings, integers and booleans (see [`DocumentList`]) | GIN `jsonb_path_ops` on `data`, through the `@>` |
//! | list of documents `all(\|l\| …)` | `CASE WHEN jsonb_typeof(data->'labels') = 'array' THEN NOT EXISTS (… WHERE (…) IS NOT TRUE) END` | – |
//! | date and time `eq`, `gt`, `between`… | `(data->>'at')::timestamptz > $1::timestamptz` (`timestamp`, `date` for the naive types), or as [`#[entity(time = …)]`](time) says | none for the default cast; btree on `(fraiseql_timestamptz(data->>'at'))` for `time = "rfc3339"`, on `((data->>'at')::numeric)` for `"epoch"` |
//! | `column` fields | `"id" = $1` (the column's own type) | the column's index |
//!
//! Ordering uses the same expression as filters, so one expression index serves both. Nested fields use
//! `data->'owner'->>'team'`. Keys are SQL literals generated from the struct; values are always parameters.
//!
//! Each field compares in the SQL type its Rust type decodes as: integers as `numeric` (exact), `f64` as
//! `float8` and `f32` as `float4` (so a value read from a row, for keyset pagination, equals that row's own key
//! even when the document holds more digits than a float keeps), text as text.

mod cursor;
mod documents;
mod field;
mod filter;
mod filter_schema;
pub mod input;
mod json;
mod list;
pub mod kind;
mod location;
mod map;
mod order;
mod page;
mod query;
pub mod schema;
mod search;
mod text;
pub(crate) mod support;
pub mod time;
pub mod variants;

use serde::de::DeserializeOwned;

pub use documents::{DocumentList, ElementFields};
pub use field::Field;
pub use filter::Filter;
pub use input::{DynField, InputError, InputErrorKind, Limits};
pub use json::{FreeJson, JsonPath};
pub use kind::FieldType;
pub use map::{MapField, ValueHandle};
pub use order::{IntoOrderKeys, OrderKey};
pub use page::{Page, Total};
pub use search::{AsTextQuery, Rank, Searchable, TextQuery, phrase, plain, websearch};
pub use time::TimeStorage;

use crate::executor::Executor;
use crate::query::Query;
use crate::sql::Relation;
use support::Location;

/// A struct bound to a view, with typed field handles: implement it with `#[derive(Entity)]`.
pub trait Entity: DeserializeOwned + Sized + 'static {
    /// The generated struct of field handles (`ProjectFields` for `Project`).
    type Fields: input::DynamicFields<Self>;

    /// The view (or table) name.
    const VIEW: &'static str;

    /// The schema, if the view is schema-qualified.
    const SCHEMA: Option<&'static str>;

    /// The top-level keys a row of this type reads: each field's key as serde reads it, and its aliases. `None`
    /// when they cannot be listed (a `#[serde(flatten)]` field reads keys it does not name).
    const KEYS: Option<&'static [&'static str]> = None;

    /// Whether queries on this entity are [projected](Query::projected) unless asked for
    /// [whole documents](Query::whole_documents): `#[entity(projection)]`.
    const PROJECTED: bool = false;

    /// The field handles, as the `filter` and `order_by` closures receive them.
    fn fields() -> Self::Fields;

    /// Adds every field with a handle to `out` (generated).
    #[doc(hidden)]
    fn describe_fields(_out: &mut Vec<schema::FieldSchema>) {}

    /// Every field with a handle: its JSON path, type family, nullability and operators, serializable for an
    /// API layer to generate its input types from.
    fn schema() -> schema::Schema {
        let mut fields = Vec::new();
        Self::describe_fields(&mut fields);
        schema::Schema { view: Self::VIEW, schema: Self::SCHEMA, fields }
    }

    /// The filter a request's JSON `input` describes ([the shape](input)), checked against this entity's
    /// fields with the default [`Limits`]: the same [`Filter`] the typed handles would build, or an
    /// [`InputError`] naming the place in `input` that is wrong.
    ///
    /// ```
    /// # #[derive(serde::Deserialize, fraiseql_wire::Entity)]
    /// # #[entity(view = "v_project")]
    /// # struct Project { status: String, priority: i32 }
    /// use fraiseql_wire::Entity;
    ///
    /// let input = serde_json::json!({"_and": [{"status": {"eq": "active"}}, {"priority": {"gte": 3}}]});
    /// let filter = Project::filter_from_json(&input)?;
    /// let typed = Project::fields().status.eq("active").and(Project::fields().priority.gte(3));
    /// assert_eq!(format!("{filter:?}"), format!("{typed:?}"));
    /// # Ok::<(), fraiseql_wire::entity::InputError>(())
    /// ```
    fn filter_from_json(input: &serde_json::Value) -> Result<Filter<Self>, InputError> {
        Self::filter_from_json_with(input, &Limits::default())
    }

    /// [`filter_from_json`](Entity::filter_from_json) within `limits`.
    fn filter_from_json_with(input: &serde_json::Value, limits: &Limits) -> Result<Filter<Self>, InputError> {
        input::parse_filter(&Self::fields(), input, limits)
    }

    /// [`filter_from_json`](Entity::filter_from_json) of JSON text (a request body, a query string parameter).
    fn filter_from_str(input: &str) -> Result<Filter<Self>, InputError> {
        let value: serde_json::Value = serde_json::from_str(input).map_err(|error| {
            InputError::new(
                InputErrorKind::Shape,
                "",
                format!("the filter is not JSON: {error}"),
                "send a JSON object, such as {\"status\": {\"eq\": \"active\"}}",
            )
        })?;
        Self::filter_from_json(&value)
    }

    /// The sort keys `keys` name: field paths (`owner.team`), `-` first for descending
    /// (`["-priority", "id"]`), checked against this entity's fields; for [`Query::order_by`]:
    /// `.order_by(|_| keys)`.
    fn order_by_from<S: AsRef<str>>(keys: &[S]) -> Result<Vec<OrderKey<Self>>, InputError> {
        input::parse_order(&Self::fields(), keys, &Limits::default())
    }

    /// A query on this entity's view, run on `executor` (a [`Client`](crate::Client)).
    fn query<X: Executor>(executor: &X) -> Query<Self> {
        Self::select().on(executor)
    }

    /// A query on this entity's view bound to no client yet: to render with
    /// [`to_sql`](Query::to_sql) (in tests, in logs), or to run after [`on`](Query::on).
    fn select() -> Query<Self> {
        let query = Query::new(None, Ok(Relation::from_parts(Self::SCHEMA, Self::VIEW)));
        if Self::PROJECTED { query.projected() } else { query }
    }
}

/// A struct nested inside an entity's document: implement it with `#[derive(Document)]`.
pub trait Document: DeserializeOwned + kind::Element + Sized + 'static {
    /// The generated struct of field handles, rooted in entity `E`.
    type Fields<E: 'static>: input::DynamicFields<E> + input::Dynamic<E>;

    /// The handles of this document's fields at `location` inside `E`.
    #[doc(hidden)]
    fn fields_at<E: 'static>(location: Location<E, Self>) -> Self::Fields<E>;

    /// For an enum with data, its variants' names as the JSON writes them.
    #[doc(hidden)]
    const VARIANTS: Option<&'static [&'static str]> = None;

    /// Adds this document's fields at `path` to `out` (generated).
    #[doc(hidden)]
    fn describe_fields<E: 'static>(_path: &[String], _nullable: bool, _out: &mut Vec<schema::FieldSchema>) {}
}
