//! The validated model of an entity, document or scalar: which fields get handles, at which JSON key or column.
//!
//! Reading an input gives a model or, when something is wrong, the errors and (where the input's shape allows
//! it) a fallback model: generated from it, the user's code that names the struct's items (`Project::query`,
//! `p.name`) still resolves, so one mistake in an attribute is reported once, where it is, and not again at every
//! use of the struct.

mod scalar;
mod variants;

use std::collections::BTreeMap;

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Data, DeriveInput, Fields, LitStr, Visibility};

use crate::attr::{self, Derive};
use crate::case::RenameRule;
use crate::errors::Errors;

/// PostgreSQL truncates longer identifiers; the derive refuses them instead.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The name the generated struct of handles keeps for the document's own location.
pub(crate) const LOCATION_FIELD: &str = "__location";

/// A struct deriving `Entity` or `Document`.
pub(crate) struct Container {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    /// The path to the runtime crate: `::fraiseql_wire` unless `#[entity(crate = "…")]`.
    pub(crate) krate: TokenStream,
    /// Where generated code finds `Serialize`: the runtime's re-export of serde.
    pub(crate) serde: TokenStream,
    /// The fields that get a handle, in declaration order.
    pub(crate) fields: Vec<FieldModel>,
    /// Every top-level key serde reads (handles or not), or `None` when a flattened field reads keys it does
    /// not name.
    pub(crate) read_keys: Option<Vec<String>>,
}

/// What only an entity has.
pub(crate) struct Entity {
    pub(crate) container: Container,
    pub(crate) view: String,
    pub(crate) schema: Option<String>,
    /// `#[entity(projection)]`.
    pub(crate) projection: bool,
    /// `#[entity(time = "…")]`: how the entity's dates and times are stored unless a field says otherwise.
    pub(crate) time: Option<attr::TimeStorage>,
}

/// A field with a handle.
pub(crate) struct FieldModel {
    /// The field's name as declared (raw identifiers keep their `r#`).
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    /// The declared type, with `Self` replaced by the struct's name (the handles live in another struct).
    pub(crate) ty: TokenStream,
    /// The span of the declared type, for errors about it.
    pub(crate) ty_span: Span,
    pub(crate) target: Target,
    /// `#[entity(time = "…")]` on the field.
    pub(crate) time: Option<attr::TimeStorage>,
}

/// Where a field's value is read in SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A key of the JSON document; `unique` for `#[entity(order_key)]`.
    Key { key: String, unique: bool },
    /// A real column of the view, whose value the document also holds under `key` (the key serde reads, where
    /// a cursor finds it).
    Column { name: String, key: String },
}

pub(crate) use scalar::{Scalar, ScalarShape, scalar};
pub(crate) use variants::{EnumDocument, Tagging, VariantShape, enum_document};

/// An input that cannot be derived as it is: the errors, and a model to generate anyway, if the shape allows one.
pub(crate) struct Rejected<T> {
    pub(crate) error: syn::Error,
    pub(crate) fallback: Option<Box<T>>,
}

impl<T> Rejected<T> {
    fn without_fallback(error: syn::Error) -> Self {
        Rejected { error, fallback: None }
    }
}

/// `Ok(model)` if no error was recorded, else the errors with `fallback`.
fn finish<T>(errors: Errors, model: T, fallback_allowed: bool) -> Result<T, Rejected<T>> {
    match errors.finish() {
        Ok(()) => Ok(model),
        Err(error) => Err(Rejected { error, fallback: fallback_allowed.then(|| Box::new(model)) }),
    }
}

/// Reads and validates an entity.
pub(crate) fn entity(input: &DeriveInput) -> Result<Entity, Rejected<Entity>> {
    // A wrong shape is the one thing worth saying: the other checks would only add noise.
    let named = named_fields(input, Derive::Entity).map_err(Rejected::without_fallback)?;
    let mut errors = Errors::default();
    let attrs = attr::container(&input.attrs, Derive::Entity, &mut errors);
    let view = match &attrs.view {
        Some(lit) if lit.value().contains('.') && attrs.schema.is_none() => {
            errors.spanned(
                lit,
                format!(
                    "{:?} is not a valid view name: give the schema separately, as in \
                     `#[entity(view = \"v_project\", schema = \"app\")]`",
                    lit.value()
                ),
            );
            None
        }
        Some(lit) => check_identifier(lit, "view name", &mut errors),
        None => {
            errors.spanned(
                &input.ident,
                "#[derive(Entity)] needs the view it reads: add `#[entity(view = \"v_name\")]` to the struct \
                 (and `schema = \"app\"` if the view is not on the search path)",
            );
            None
        }
    };
    let schema = attrs.schema.as_ref().and_then(|lit| check_identifier(lit, "schema name", &mut errors));
    let (container, fallback) = container(input, named, Derive::Entity, attrs.krate, attrs.rename_all, &mut errors);
    if let (Some(span), None) = (attrs.projection, &container.read_keys) {
        errors.at(
            span,
            "`projection` needs every key the struct reads, but a `#[serde(flatten)]` field reads keys it does not \
             name; remove `projection` (or the flatten, listing the keys as fields)",
        );
    }
    // Every `None` recorded an error, so the empty view name is only ever generated beside it.
    let entity = Entity {
        container,
        view: view.unwrap_or_default(),
        schema,
        projection: attrs.projection.is_some(),
        time: attrs.time.map(|time| time.value),
    };
    finish(errors, entity, fallback)
}

/// Reads and validates a document.
pub(crate) fn document(input: &DeriveInput) -> Result<Container, Rejected<Container>> {
    let named = named_fields(input, Derive::Document).map_err(Rejected::without_fallback)?;
    let mut errors = Errors::default();
    let attrs = attr::container(&input.attrs, Derive::Document, &mut errors);
    let (container, fallback) = container(input, named, Derive::Document, attrs.krate, attrs.rename_all, &mut errors);
    finish(errors, container, fallback)
}

/// The fields of a struct with named fields, or why `input` is not one.
fn named_fields(input: &DeriveInput, derive: Derive) -> syn::Result<&syn::FieldsNamed> {
    let needs_named = || {
        format!(
            "{} needs a struct with named fields, whose names are the document's keys: \
             `struct {} {{ name: String, … }}`",
            derive.attribute(),
            input.ident
        )
    };
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Ok(named),
            Fields::Unnamed(fields) => Err(syn::Error::new_spanned(
                fields,
                format!(
                    "{}{}",
                    needs_named(),
                    if fields.unnamed.len() == 1 {
                        "; for a newtype used as a field, derive `Scalar` instead"
                    } else {
                        ""
                    }
                ),
            )),
            Fields::Unit => Err(syn::Error::new_spanned(&input.ident, needs_named())),
        },
        Data::Enum(data) => Err(syn::Error::new(
            data.enum_token.span,
            format!(
                "{} applies to structs with named fields, not enums: {}; for an enum used as a field, derive \
                 `Scalar` (unit variants, compared as strings) or `Document` (variants with data)",
                derive.attribute(),
                if derive == Derive::Entity {
                    "an entity is one JSON object per row"
                } else {
                    "a document is one JSON object"
                }
            ),
        )),
        Data::Union(data) => Err(syn::Error::new(
            data.union_token.span,
            format!("{} applies to structs with named fields, not unions", derive.attribute()),
        )),
    }
}

/// What entities and documents share: no generics, serde container attributes, and the fields. Also says whether
/// a fallback may be generated despite errors: not for a generic struct, nor when serde's own attributes are
/// malformed (serde's derive fails too, and a fallback would only add errors about the missing `Deserialize`).
fn container(
    input: &DeriveInput,
    named: &syn::FieldsNamed,
    derive: Derive,
    krate: Option<syn::Path>,
    entity_rename_all: Option<attr::Spanned<RenameRule>>,
    errors: &mut Errors,
) -> (Container, bool) {
    let what = if derive == Derive::Entity { "entities" } else { "documents" };
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            format!(
                "{what} cannot be generic: the field handles are generated for one concrete struct; remove the \
                 type and lifetime parameters (a field that borrows cannot be decoded from a row anyway)"
            ),
        );
    }
    let mut serde_errors = Errors::default();
    let serde = attr::serde_container(&input.attrs, &mut serde_errors);
    let fallback = input.generics.params.is_empty() && serde_errors.is_empty();
    if let Err(error) = serde_errors.finish() {
        errors.push(error);
    }
    if let Some(reshaped) = &serde.reshaped {
        errors.at(
            reshaped.span,
            format!(
                "`#[serde({})]` is not supported with {}: the JSON document would not have this struct's fields \
                 as its keys",
                reshaped.value,
                derive.attribute()
            ),
        );
    }
    let rename_all = match (entity_rename_all, serde.rename_all) {
        (Some(ours), Some(theirs)) if ours.value != theirs.value => {
            errors.at(
                ours.span,
                format!(
                    "`#[entity(rename_all = \"{}\")]` disagrees with `#[serde(rename_all = \"{}\")]`, which decides \
                     the keys serde reads; remove the `#[entity]` one",
                    ours.value, theirs.value
                ),
            );
            None
        }
        (ours, theirs) => ours.or(theirs).map(|rule| rule.value),
    };

    let mut fields = Vec::new();
    // What serde reads, handles or not (described by `#[entity]` too, for a `Deserialize` written by hand).
    let mut read_keys = Vec::new();
    let mut flattened = false;
    let mut keys: BTreeMap<String, Ident> = BTreeMap::new();
    let mut columns: BTreeMap<String, Ident> = BTreeMap::new();
    for field in &named.named {
        let Some(ident) = &field.ident else { continue };
        let ours = attr::field(&field.attrs, derive, errors);
        let theirs = attr::serde_field(&field.attrs);
        let name = unraw(ident);
        // The key serde reads the field from (a column field's document holds it there too).
        let key = theirs
            .rename
            .as_ref()
            .or(ours.rename.as_ref())
            .map_or_else(|| rename_all.map_or_else(|| name.clone(), |rule| rule.apply_to_field(&name)), LitStr::value);
        if theirs.flatten.is_some() {
            flattened = true;
        } else if !theirs.skip {
            read_keys.push(key.clone());
            read_keys.extend(theirs.aliases.iter().map(LitStr::value));
        }
        if let Some(span) = theirs.flatten {
            if ours.skip.is_none() {
                errors.at(
                    span,
                    "flattened fields cannot be filtered: their keys are spliced into the enclosing document, so no \
                     handle can name them; add `#[entity(skip)]` to this field (and filter on the flattened keys \
                     with the enclosing struct's `matches`/`contains`)",
                );
                continue;
            }
        }
        if ours.skip.is_some() || theirs.skip {
            let conflicts = [
                ("column", ours.column.as_ref().map(|c| c.span)),
                ("rename", ours.rename.as_ref().map(LitStr::span)),
                ("order_key", ours.order_key),
                ("time", ours.time.as_ref().map(|t| t.span)),
            ];
            for (key, span) in conflicts {
                if let Some(span) = span {
                    errors.at(
                        span,
                        format!(
                            "`{key}` has no effect on a skipped field, which gets no handle; remove `{key}` or the \
                             skip"
                        ),
                    );
                }
            }
            continue;
        }
        if let (Some(with), None) = (&theirs.with, &ours.time) {
            errors.at(
                with.span,
                format!(
                    "`#[serde({})]` reads this field in a form of its own, so the filters generated for its type \
                     could compare the wrong thing; for a date or time, say how the document stores it with \
                     `#[entity(time = \"rfc3339\")]` (or \"cast\", \"epoch\", \"epoch_ms\"), otherwise add \
                     `#[entity(skip)]`",
                    with.value
                ),
            );
            continue;
        }
        if let (Some(span), false) = (theirs.default.or(serde.default), is_option(&field.ty)) {
            errors.at(
                span,
                format!(
                    "`#[serde(default)]` decodes a missing `{name}` as a value the document does not hold, so the \
                     server's filters (which see the key missing) would disagree with the decoded rows; make \
                     `{name}` an `Option` (`.unwrap_or_default()` where it is read), write the default into the view \
                     (`COALESCE(data->'key', …)`), or add `#[entity(skip)]` to it"
                ),
            );
            continue;
        }
        if name == LOCATION_FIELD {
            errors.spanned(
                ident,
                format!(
                    "the field name `{LOCATION_FIELD}` is reserved by {}; rename the field (keeping its key with \
                     `#[serde(rename = \"{LOCATION_FIELD}\")]`) or add `#[entity(skip)]`",
                    derive.attribute()
                ),
            );
            continue;
        }
        let target = if let Some(column) = &ours.column {
            if let Some(rename) = &ours.rename {
                errors.spanned(
                    rename,
                    "`rename` names a JSON key, but this field is read from a column; name the column with \
                     `column = \"…\"` instead",
                );
            }
            if let Some(span) = ours.order_key {
                errors.at(span, "a `column` field is already a unique key for keyset pagination; remove `order_key`");
            }
            if let Some(time) = &ours.time {
                errors.at(
                    time.span,
                    "a `column` field is compared as the column's own SQL type (`timestamptz`, `date`…), so `time` \
                     has nothing to say about it; remove `time`",
                );
            }
            let column_name = match &column.name {
                Some(lit) => check_identifier(lit, "column name", errors),
                None => check_identifier(&LitStr::new(&name, ident.span()), "column name", errors),
            };
            // An invalid name was reported; the fallback keeps the field (as a column named like it).
            let column_name = column_name.unwrap_or_else(|| name.clone());
            if let Some(previous) = columns.insert(column_name.clone(), ident.clone()) {
                errors.spanned(
                    ident,
                    format!(
                        "fields `{}` and `{}` both read the column `{column_name}`; each column backs one field",
                        unraw(&previous),
                        name
                    ),
                );
            }
            Target::Column { name: column_name, key }
        } else {
            if let (Some(ours), Some(theirs)) = (&ours.rename, &theirs.rename) {
                if ours.value() != theirs.value() {
                    errors.spanned(
                        ours,
                        format!(
                            "`#[entity(rename = {:?})]` disagrees with `#[serde(rename = {:?})]`, which decides the \
                             key serde reads; remove the `#[entity]` rename",
                            ours.value(),
                            theirs.value()
                        ),
                    );
                }
            }
            if let Some(previous) = keys.insert(key.clone(), ident.clone()) {
                errors.spanned(
                    ident,
                    format!(
                        "fields `{}` and `{}` both read the JSON key {key:?}; rename one of them",
                        unraw(&previous),
                        name
                    ),
                );
            }
            Target::Key { key, unique: ours.order_key.is_some() }
        };
        let ty_span = field.ty.to_token_stream().into_iter().next().map_or_else(|| ident.span(), |t| t.span());
        fields.push(FieldModel {
            ident: ident.clone(),
            vis: field.vis.clone(),
            ty: replace_self(field.ty.to_token_stream(), &input.ident),
            ty_span,
            target,
            time: ours.time.map(|time| time.value),
        });
    }

    let krate = runtime_path(krate);
    // `Serialize` bounds must name the serde that fraiseql-wire itself uses, whatever path the user's crate
    // knows serde by, so the runtime's re-export is used rather than `#[serde(crate)]`.
    let serde = support_path(&krate);
    let read_keys = (!flattened).then_some(read_keys);
    (Container { ident: input.ident.clone(), vis: input.vis.clone(), krate, serde, fields, read_keys }, fallback)
}

/// The runtime's path for `krate`.
pub(crate) fn runtime_path(krate: Option<syn::Path>) -> TokenStream {
    krate.map_or_else(|| quote!(::fraiseql_wire), |path| path.to_token_stream())
}

/// Where generated code finds the runtime's support items: a module named for this crate's version, which the
/// runtime pins exactly (`=`), so code generated by one version never meets the support of another.
pub(crate) fn support_path(krate: &TokenStream) -> TokenStream {
    quote!(#krate::__private_0_1)
}

/// The name of an identifier without its `r#`: the JSON key of field `r#type` is `type`.
pub(crate) fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(rest) => rest.to_owned(),
        None => name,
    }
}

/// The value of `lit` if it is a valid SQL identifier for this derive, else records why not.
fn check_identifier(lit: &LitStr, what: &str, errors: &mut Errors) -> Option<String> {
    let value = lit.value();
    match identifier_problem(&value) {
        None => Some(value),
        Some(problem) => {
            errors.spanned(
                lit,
                format!(
                    "{value:?} is not a valid {what}: {problem}; a name here must be an unquoted SQL identifier \
                     (ASCII letters, digits, `_` and `$`, starting with a letter or `_`, at most \
                     {MAX_IDENTIFIER_BYTES} bytes)"
                ),
            );
            None
        }
    }
}

/// Why `name` is not `[A-Za-z_][A-Za-z0-9_$]*` of at most 63 bytes, if it is not.
pub(crate) fn identifier_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("it is empty".to_owned()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => return Some(format!("it starts with {c:?}")),
        Some(_) => {}
    }
    if let Some(c) = chars.find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')) {
        return Some(format!("it contains {c:?}"));
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Some(format!("it is {} bytes long", name.len()));
    }
    None
}

/// Whether `ty` is written `Option<…>` (as `Option`, `std::option::Option`, `core::option::Option`): a missing
/// key then decodes as `None`, which is what the server's filters see.
fn is_option(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => path.path.segments.last().is_some_and(|s| s.ident == "Option"),
        syn::Type::Group(group) => is_option(&group.elem),
        syn::Type::Paren(paren) => is_option(&paren.elem),
        _ => false,
    }
}

/// `tokens` with every `Self` replaced by `ident`, keeping spans.
fn replace_self(tokens: TokenStream, ident: &Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Ident(i) if i == "Self" => {
                let mut replaced = ident.clone();
                replaced.set_span(i.span());
                TokenTree::Ident(replaced)
            }
            TokenTree::Group(group) => {
                let mut replaced = Group::new(group.delimiter(), replace_self(group.stream(), ident));
                replaced.set_span(group.span());
                TokenTree::Group(replaced)
            }
            other => other,
        })
        .collect()
}

/// An identifier that names none of the types in `fields` nor `ident`, for the generated struct's entity
/// parameter: `E` unless a field's type mentions a type called `E`.
pub(crate) fn fresh_type_param(container: &Container) -> Ident {
    fresh_type_param_among(&container.ident, container.fields.iter().map(|f| &f.ty))
}

/// An identifier that names none of `types` nor `ident`: `E`, `E_`, `E__`…
pub(crate) fn fresh_type_param_among<'t>(ident: &Ident, types: impl Iterator<Item = &'t TokenStream> + Clone) -> Ident {
    fn mentions(tokens: TokenStream, name: &str) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(i) => i == name,
            TokenTree::Group(g) => mentions(g.stream(), name),
            _ => false,
        })
    }
    let mut name = "E".to_owned();
    while *ident == name || types.clone().any(|ty| mentions(ty.clone(), &name)) {
        name.push('_');
    }
    Ident::new(&name, Span::call_site())
}

#[cfg(test)]
mod tests;
