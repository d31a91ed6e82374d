//! Derive macros for [fraiseql-wire](https://docs.rs/fraiseql-wire).
//!
//! Use them through the `fraiseql_wire` crate (feature `derive`, on by default) rather than depending on this
//! crate directly: `fraiseql_wire::{Entity, Document, Scalar}`.
//!
//! The macros read `#[entity(...)]` and the parts of `#[serde(...)]` that decide the document's keys
//! (`rename_all`, `rename`, `skip`, `skip_deserializing`, `flatten`), so the keys in the SQL are the keys serde
//! reads. Everything they generate names the runtime by absolute path, `::fraiseql_wire::…`; a crate that renames
//! or re-exports fraiseql-wire says where it is with `#[entity(crate = "path::to::fraiseql_wire")]`.
#![deny(missing_docs)]

mod attr;
mod time_storage;
mod case;
mod errors;
mod expand;
mod model;

use proc_macro::TokenStream;
use syn::DeriveInput;

/// Binds a struct to a PostgreSQL view that exposes one JSON document per row, with typed field handles.
///
/// ```
/// use fraiseql_wire::{Document, Entity, Scalar};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize, Scalar)]
/// #[serde(rename_all = "snake_case")]
/// enum Status {
///     Active,
///     OnHold,
/// }
///
/// #[derive(Deserialize, Document)]
/// struct Owner {
///     team: String,
/// }
///
/// #[derive(Deserialize, Entity)]
/// #[entity(view = "v_project", schema = "app")]
/// #[serde(rename_all = "camelCase")]
/// pub struct Project {
///     /// A real column of the view: filtered as `"id" = $1`, and a unique key for keyset pagination.
///     #[entity(column = "id")]
///     pub id: i64,
///     pub name: String,
///     pub status: Status,
///     pub priority: i32,
///     pub tags: Vec<String>,
///     pub owner: Owner,
///     /// The key is `createdAt`, from `rename_all`.
///     pub created_at: String,
///     /// No handle: a map is not a field type.
///     #[entity(skip)]
///     pub labels: std::collections::HashMap<String, String>,
/// }
///
/// # fn demo(client: &fraiseql_wire::Client) {
/// let query = Project::query(client)
///     .filter(|p| p.status.eq(Status::Active).and(p.owner.team.eq("core")))
///     .filter(|p| p.tags.contains("rust") | p.created_at.gte("2026-01-01"))
///     .order_by(|p| (p.priority.desc(), p.id.asc()));
/// # }
/// ```
///
/// It generates:
/// - `ProjectFields`, with the struct's visibility: one public handle per field with the field's own visibility
///   and name, a [`Field`](https://docs.rs/fraiseql-wire/latest/fraiseql_wire/struct.Field.html) for values or the
///   nested document's handles, and `matches(&partial)` for JSON containment on the whole document;
/// - `impl Entity for Project`, and the inherent `Project::query(&client)` (on any
///   [`Executor`](https://docs.rs/fraiseql-wire/latest/fraiseql_wire/trait.Executor.html)) and `Project::fields()`;
///   `Entity::select()` builds a query with no connection;
/// - a check that `Project` implements `Deserialize`.
///
/// A mistake in the attributes is a compile error at the attribute; the items above are still generated from
/// what could be read, so code that uses the entity does not fail a second time because of it.
///
/// # Attributes
///
/// On the struct, `#[entity(...)]` takes:
/// - `view = "v_project"` (required) and `schema = "app"`: unquoted SQL identifiers (ASCII letters, digits, `_`
///   and `$`, starting with a letter or `_`, at most 63 bytes), quoted as given, so case is kept;
/// - `rename_all = "camelCase"`, for a struct whose `Deserialize` is written by hand (with serde's derive, its
///   own `#[serde(rename_all)]` is read instead, and the two must agree);
/// - `projection`: every query on the entity is `Query::projected`: the server sends only the keys the struct
///   reads (`Entity::KEYS`: each field's key and `#[serde(alias)]`es, `#[entity(skip)]` fields included,
///   serde-skipped ones not) of documents large enough for it to pay, so a struct of three fields read from
///   100 KB documents receives three keys per row. `Query::whole_documents` undoes it for one query, and
///   `Query::projected` asks for it on an entity without the attribute. An error with a `#[serde(flatten)]`
///   field, whose keys cannot be listed;
/// - `time = "rfc3339"`: how the entity's date and time fields (and those of its nested documents) are stored,
///   unless a field says otherwise; see the field attribute;
/// - `crate = "path"`: where fraiseql-wire is, if not at `::fraiseql_wire`.
///
/// On a field, `#[entity(...)]` takes:
/// - `column = "id"` (or `column` for a column named like the field): a real column of the view, compared with
///   its own SQL type; a unique key for keyset pagination. Rows are decoded from the document alone, so the
///   value must be in the document too;
/// - `rename = "key"`: the JSON key, for a hand-written `Deserialize` (it must agree with `#[serde(rename)]`);
/// - `skip`: no handle (required on `#[serde(flatten)]` fields and on types that cannot be filtered);
/// - `order_key`: the key identifies a row, so it can end a keyset `order_by` (see `Query::after`);
/// - `time = "cast" | "rfc3339" | "epoch" | "epoch_ms"`, on a date or time field only: how the document writes
///   it, which decides the SQL that compares it and the index that can serve it (`fraiseql_wire::entity::time`):
///   ISO 8601 text through the server's cast (the default, never indexable), RFC 3339 text through the
///   immutable functions of `FUNCTIONS_SQL` (indexable), or a number of seconds or milliseconds since 1970.
///
/// From `#[serde(...)]`: `rename_all` and `rename` (their `deserialize` side), `alias` (projected too), `skip`
/// and `skip_deserializing` (no handle), `flatten` (an error unless the field has `#[entity(skip)]`), `default`
/// (an error on a field that is not an `Option`, unless skipped: a missing key would decode as a value the
/// server's filters do not see), `with`/`deserialize_with` (an error unless the field has `#[entity(time)]` or
/// `#[entity(skip)]`). `transparent`, `from` and
/// `try_from` are errors: the document's keys would not be the struct's fields. Other keys are ignored.
///
/// Entities cannot be generic, and the field name `__location` is reserved. The inherent `query` and `fields`
/// take those two names among the struct's own inherent methods, and make importing the `Entity` trait
/// unnecessary for them.
#[proc_macro_derive(Entity, attributes(entity))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand_entity(&input).into()
}

/// Binds a struct nested inside an entity's document, so its fields can be filtered as
/// `p.owner.team.eq("core")`.
///
/// It generates `OwnerFields<E>` (one handle per field, for any entity `E` the document sits in, plus
/// `contains(&partial)` for JSON containment), `impl Document for Owner`, and a check that `Owner` implements
/// `Deserialize`.
///
/// Field attributes are those of [`Entity`](derive@Entity) but `column` and `order_key` (a nested document has
/// no columns); on the struct, `rename_all` and `crate` (a document's dates follow the entity's `time`). serde's attributes are read the same way.
///
/// On an enum with data, in any of serde's tagged representations (external, the default; internal,
/// `#[serde(tag = "type")]`; adjacent, `tag = "t", content = "c"`), it generates `PaymentVariant` (one unit variant
/// per variant, for `is_variant(PaymentVariant::Card)`) and `PaymentFields<E>` with `is_variant`, `is_null` and
/// the like, and one method per variant with content, named for it in snake_case: `card(|c| c.last4.eq("4242"))`
/// is "a `Card` whose `last4` is 4242", its closure taking `PaymentCardFields<E>` for a struct variant or the inner
/// type's handle for a newtype variant. serde's `rename_all`, `rename_all_fields`, and the variants' `rename`,
/// `alias` and `skip` are read; untagged enums and `#[serde(other)]` are errors (their JSON does not say which
/// variant it is), and a tuple variant of two or more fields gets only `is_variant`.
///
/// ```
/// #[derive(serde::Deserialize, fraiseql_wire::Document)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// pub enum Payment {
///     Card { last4: String },
///     Cash,
/// }
///
/// #[derive(serde::Deserialize, fraiseql_wire::Entity)]
/// #[entity(view = "v_order")]
/// pub struct Order {
///     pub payment: Payment,
/// }
///
/// let by_card = Order::fields().payment.card(|c| c.last4.eq("4242"));
/// let cash = Order::fields().payment.is_variant(PaymentVariant::Cash);
/// ```
#[proc_macro_derive(Document, attributes(entity))]
pub fn derive_document(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand_document(&input).into()
}

/// Makes an enum of unit variants or a newtype usable as an entity field.
///
/// - On an enum whose variants are all unit variants, fields compare as text: the variant's serialized string
///   (so the enum must implement `serde::Serialize`, whose `rename_all` decides the strings).
/// - On a newtype `struct Email(String);` (usually `#[serde(transparent)]`), fields compare as the inner type.
///   A `#[serde(transparent)]` struct with one named field works too.
///
/// `#[entity(crate = "path")]` says where fraiseql-wire is, if not at `::fraiseql_wire`.
///
/// ```
/// #[derive(serde::Deserialize, serde::Serialize, fraiseql_wire::Scalar)]
/// #[serde(transparent)]
/// pub struct Email(String);
/// ```
#[proc_macro_derive(Scalar, attributes(entity))]
pub fn derive_scalar(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand_scalar(&input).into()
}

/// `#[derive(Entity)]` on `input`, or its errors.
fn expand_entity(input: &DeriveInput) -> proc_macro2::TokenStream {
    generate(model::entity(input), expand::entity)
}

/// `#[derive(Document)]` on `input`, or its errors.
fn expand_document(input: &DeriveInput) -> proc_macro2::TokenStream {
    match input.data {
        syn::Data::Enum(_) => generate(model::enum_document(input), expand::enum_document),
        _ => generate(model::document(input), expand::document),
    }
}

/// `#[derive(Scalar)]` on `input`, or its errors.
fn expand_scalar(input: &DeriveInput) -> proc_macro2::TokenStream {
    generate(model::scalar(input), expand::scalar)
}

/// The code for a model; for a rejected input, its errors and the code of the fallback model, if there is one.
fn generate<T>(
    model: Result<T, model::Rejected<T>>,
    expand: fn(&T) -> proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    match model {
        Ok(model) => expand(&model),
        Err(rejected) => {
            let mut tokens = rejected.error.into_compile_error();
            if let Some(fallback) = rejected.fallback {
                tokens.extend(expand(&fallback));
            }
            tokens
        }
    }
}

#[cfg(test)]
mod tests;
