//! Reading `#[entity(...)]` and the relevant parts of `#[serde(...)]` into plain values.
//!
//! Nothing here decides what the values mean together (that is [`crate::model`]); this module only checks each
//! attribute's own syntax: known keys, each given once, with a value of the right shape.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Attribute, LitStr, Token};

use crate::case::RenameRule;
use crate::errors::Errors;
pub(crate) use crate::time_storage::TimeStorage;

/// Which derive is reading the attributes; each accepts different keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Derive {
    Entity,
    Document,
    Scalar,
}

impl Derive {
    /// `#[derive(Entity)]`, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Derive::Entity => "#[derive(Entity)]",
            Derive::Document => "#[derive(Document)]",
            Derive::Scalar => "#[derive(Scalar)]",
        }
    }

    /// The keys `#[entity(...)]` accepts on the type itself.
    fn container_keys(self) -> &'static [&'static str] {
        match self {
            Derive::Entity => &["view", "schema", "rename_all", "projection", "time", "crate"],
            Derive::Document => &["rename_all", "crate"],
            Derive::Scalar => &["crate"],
        }
    }

    /// The keys `#[entity(...)]` accepts on a field.
    fn field_keys(self) -> &'static [&'static str] {
        match self {
            Derive::Entity => &["column", "rename", "skip", "order_key", "time"],
            Derive::Document => &["rename", "skip", "time"],
            Derive::Scalar => &[],
        }
    }
}

/// A value with the span of the attribute it came from.
#[derive(Clone, Debug)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// `#[entity(...)]` on the struct or enum.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) view: Option<LitStr>,
    pub(crate) schema: Option<LitStr>,
    pub(crate) rename_all: Option<Spanned<RenameRule>>,
    /// `projection`: queries select only the keys the struct reads.
    pub(crate) projection: Option<Span>,
    /// `time = "…"`: how the entity's dates and times are stored, unless a field says otherwise.
    pub(crate) time: Option<Spanned<TimeStorage>>,
    pub(crate) krate: Option<syn::Path>,
}

/// `#[entity(column)]` or `#[entity(column = "name")]`.
pub(crate) struct Column {
    pub(crate) name: Option<LitStr>,
    pub(crate) span: Span,
}

/// `#[entity(...)]` on a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) column: Option<Column>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) skip: Option<Span>,
    pub(crate) order_key: Option<Span>,
    pub(crate) time: Option<Spanned<TimeStorage>>,
}

/// What `#[serde(...)]` on the type says about the document's shape.
#[derive(Default)]
pub(crate) struct SerdeContainer {
    /// The `rename_all` rule for deserializing.
    pub(crate) rename_all: Option<Spanned<RenameRule>>,
    /// `transparent`, `from` or `try_from`: the document is not this struct's fields.
    pub(crate) reshaped: Option<Spanned<&'static str>>,
    /// `tag = "…"` or `untagged`: an enum whose variants do not serialize as plain strings.
    pub(crate) tagged: Option<Spanned<&'static str>>,
    /// `default`: every missing key decodes as the struct's default.
    pub(crate) default: Option<Span>,
}

/// What `#[serde(...)]` on a field says about its key.
#[derive(Default)]
pub(crate) struct SerdeField {
    /// The key when deserializing.
    pub(crate) rename: Option<LitStr>,
    /// `alias = "…"`: more keys serde reads this field from.
    pub(crate) aliases: Vec<LitStr>,
    /// `skip` or `skip_deserializing`: the field is never read from the document.
    pub(crate) skip: bool,
    /// `flatten`: the field's keys are spliced into the enclosing document.
    pub(crate) flatten: Option<Span>,
    /// `with` or `deserialize_with`: the value is read in a form of the user's choosing (the key's name).
    pub(crate) with: Option<Spanned<&'static str>>,
    /// `default` or `default = "…"`: a missing key decodes as a value the document does not hold.
    pub(crate) default: Option<Span>,
}

/// Reads every `#[entity(...)]` on the type.
pub(crate) fn container(attrs: &[Attribute], derive: Derive, errors: &mut Errors) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("entity")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            let handled = match key.as_str() {
                "view" | "schema" if derive == Derive::Entity => {
                    string_value(&meta, &key, if key == "view" { "v_project" } else { "app" }).map(|lit| {
                        let slot = if key == "view" { &mut out.view } else { &mut out.schema };
                        set_once(slot, lit, &meta, errors);
                    })
                }
                "view" | "schema" if derive == Derive::Document => Err(meta.error(format!(
                    "a document has no `{key}`: it is nested inside an entity's `data` document; \
                     use #[derive(Entity)] for a struct read from a view"
                ))),
                "projection" if derive == Derive::Entity => no_value(&meta, &key).map(|()| {
                    set_once(&mut out.projection, key_span(&meta), &meta, errors);
                }),
                "time" if derive == Derive::Entity => {
                    time_storage(&meta).map(|time| set_once(&mut out.time, time, &meta, errors))
                }
                "time" if derive == Derive::Document => Err(meta.error(
                    "a document takes `time` on its fields only: a nested document follows the entity's \
                     `#[entity(time = …)]`, so put it on the entity, or on this document's date fields",
                )),
                "rename_all" if derive != Derive::Scalar => rename_rule(&meta).map(|rule| {
                    if let Some(rule) = rule {
                        set_once(&mut out.rename_all, rule, &meta, errors);
                    }
                }),
                "crate" => string_value(&meta, "crate", "::fraiseql_wire").and_then(|lit| {
                    let path = lit.parse::<syn::Path>().map_err(|_| {
                        syn::Error::new(
                            lit.span(),
                            "expected a path to the fraiseql_wire crate, as in `crate = \"::fraiseql_wire\"`",
                        )
                    })?;
                    set_once(&mut out.krate, path, &meta, errors);
                    Ok(())
                }),
                _ if derive.field_keys().contains(&key.as_str()) => Err(meta.error(format!(
                    "`{key}` is a field attribute: put `#[entity({key})]` on the field, not on the {}",
                    if derive == Derive::Scalar { "type" } else { "struct" }
                ))),
                _ => Err(meta.error(format!(
                    "unknown key `{key}` in `#[entity(...)]` of {}: expected {}",
                    derive.attribute(),
                    one_of(derive.container_keys())
                ))),
            };
            recover(handled, meta.input, errors)
        });
        errors.take(result);
    }
    out
}

/// Reads every `#[entity(...)]` on a field.
pub(crate) fn field(attrs: &[Attribute], derive: Derive, errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("entity")) {
        if derive == Derive::Scalar {
            errors.spanned(attr, "#[derive(Scalar)] takes no `#[entity(...)]` attributes on variants or fields");
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            let handled = match key.as_str() {
                "column" | "order_key" if derive == Derive::Document => Err(meta.error(format!(
                    "`{key}` applies to fields of an entity only: a document nested inside `data` has no \
                     columns{}; remove it, or put it on the entity's own field",
                    if key == "order_key" { " and no row-identifying keys" } else { "" }
                ))),
                "column" => {
                    let span = key_span(&meta);
                    let name = if meta.input.peek(Token![=]) {
                        string_value(&meta, "column", "id").map(Some)
                    } else {
                        no_value(&meta, "column").map(|()| None)
                    };
                    name.map(|name| set_once(&mut out.column, Column { name, span }, &meta, errors))
                }
                "rename" => {
                    string_value(&meta, "rename", "key").map(|lit| set_once(&mut out.rename, lit, &meta, errors))
                }
                "time" => time_storage(&meta).map(|time| set_once(&mut out.time, time, &meta, errors)),
                "skip" | "order_key" => no_value(&meta, &key).map(|()| {
                    let slot = if key == "skip" { &mut out.skip } else { &mut out.order_key };
                    set_once(slot, key_span(&meta), &meta, errors);
                }),
                _ if derive.container_keys().contains(&key.as_str()) => Err(meta.error(format!(
                    "`{key}` goes on the struct, not on a field: `#[entity({key} = …)]` above `struct`"
                ))),
                _ => Err(meta.error(format!(
                    "unknown key `{key}` in a field's `#[entity(...)]` of {}: expected {}",
                    derive.attribute(),
                    one_of(derive.field_keys())
                ))),
            };
            recover(handled, meta.input, errors)
        });
        errors.take(result);
    }
    out
}

/// Reads what matters of `#[serde(...)]` on the type. Unknown keys are skipped; serde reports its own mistakes.
pub(crate) fn serde_container(attrs: &[Attribute], errors: &mut Errors) -> SerdeContainer {
    let mut out = SerdeContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Syntax errors in `#[serde]` are serde's to report; whatever was read before one is kept.
        let _ = attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            match key.as_str() {
                "rename_all" => match rename_rule(&meta) {
                    Ok(Some(rule)) => out.rename_all = Some(rule),
                    Ok(None) => {}
                    Err(error) => {
                        errors.push(error);
                        skip_value(meta.input)?;
                    }
                },
                "transparent" | "from" | "try_from" => {
                    let name = match key.as_str() {
                        "transparent" => "transparent",
                        "from" => "from",
                        _ => "try_from",
                    };
                    out.reshaped = Some(Spanned { value: name, span: key_span(&meta) });
                    skip_value(meta.input)?;
                }
                "tag" | "untagged" => {
                    let name = if key == "tag" { "tag" } else { "untagged" };
                    out.tagged = Some(Spanned { value: name, span: key_span(&meta) });
                    skip_value(meta.input)?;
                }
                "default" => {
                    out.default = Some(key_span(&meta));
                    skip_value(meta.input)?;
                }
                // `crate = "…"` is serde's business: generated bounds use the runtime's own re-export.
                _ => skip_value(meta.input)?,
            }
            Ok(())
        });
    }
    out
}

/// Reads what matters of `#[serde(...)]` on a field.
pub(crate) fn serde_field(attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            match key.as_str() {
                "rename" => {
                    if let Some(name) = deserialize_side(&meta)? {
                        out.rename = Some(name);
                    }
                }
                "alias" => out.aliases.push(meta.value()?.parse()?),
                "skip" | "skip_deserializing" => {
                    out.skip = true;
                    skip_value(meta.input)?;
                }
                "flatten" => {
                    out.flatten = Some(key_span(&meta));
                    skip_value(meta.input)?;
                }
                "default" => {
                    out.default = Some(key_span(&meta));
                    skip_value(meta.input)?;
                }
                "with" | "deserialize_with" => {
                    let name = if key == "with" { "with" } else { "deserialize_with" };
                    out.with = Some(Spanned { value: name, span: key_span(&meta) });
                    skip_value(meta.input)?;
                }
                _ => skip_value(meta.input)?,
            }
            Ok(())
        });
    }
    out
}

/// The key as written (`view`, or `a::b` for a path, which no attribute accepts).
pub(crate) fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    let names: Vec<String> = meta.path.segments.iter().map(|s| s.ident.to_string()).collect();
    names.join("::")
}

/// The span of the key's name.
pub(crate) fn key_span(meta: &ParseNestedMeta<'_>) -> Span {
    meta.path.segments.first().map_or_else(Span::call_site, |s| s.ident.span())
}

/// "`a`, `b` or `c`".
fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "nothing".to_owned(),
    }
}

/// Records a misuse of one key and skips the rest of its value, so the keys after it are still read.
fn recover(handled: syn::Result<()>, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<()> {
    if let Err(error) = handled {
        errors.push(error);
        skip_value(input)?;
    }
    Ok(())
}

/// Skips whatever is left of the current key's value: everything up to the next top-level comma.
pub(crate) fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

/// Fills `slot`, or reports that the key was given twice.
fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>, errors: &mut Errors) {
    if slot.is_some() {
        let key = key_name(meta);
        errors.at(key_span(meta), format!("`{key}` is given twice: keep one"));
    } else {
        *slot = Some(value);
    }
}

/// `key = "…"`; the error shows the expected form with `example`.
fn string_value(meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<LitStr> {
    let expected = || format!("expected a string: `{key} = \"{example}\"`");
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(expected()));
    }
    let value = meta.value()?;
    value.parse::<LitStr>().map_err(|error| syn::Error::new(error.span(), expected()))
}

/// A flag: `skip`, with no value.
fn no_value(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Ok(())
    } else {
        Err(meta.error(format!("`{key}` takes no value: write `#[entity({key})]`")))
    }
}

/// `time = "cast" | "rfc3339" | "epoch" | "epoch_ms"`.
fn time_storage(meta: &ParseNestedMeta<'_>) -> syn::Result<Spanned<TimeStorage>> {
    let lit = string_value(meta, "time", "rfc3339")?;
    let names: Vec<&str> = TimeStorage::NAMES.iter().map(|(name, _)| *name).collect();
    match TimeStorage::NAMES.iter().find(|(name, _)| *name == lit.value()) {
        Some((_, storage)) => Ok(Spanned { value: *storage, span: lit.span() }),
        None => Err(syn::Error::new(
            lit.span(),
            format!(
                "unknown `time` storage {:?}: expected {} (ISO 8601 text through the server's cast, RFC 3339 text \
                 through the indexable functions, seconds or milliseconds since 1970 as a number)",
                lit.value(),
                one_of(&names)
            ),
        )),
    }
}

/// `rename_all = "…"` or `rename_all(deserialize = "…")`: the rule for deserializing, if one is given.
pub(crate) fn rename_rule(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Spanned<RenameRule>>> {
    let Some(lit) = deserialize_side(meta)? else { return Ok(None) };
    match RenameRule::parse(&lit.value()) {
        Some(rule) => Ok(Some(Spanned { value: rule, span: lit.span() })),
        None => Err(syn::Error::new(
            lit.span(),
            format!("unknown `rename_all` rule {:?}: expected one of {}", lit.value(), RenameRule::valid_names()),
        )),
    }
}

/// The deserialize side of `key = "…"` or `key(serialize = "…", deserialize = "…")`.
pub(crate) fn deserialize_side(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    if meta.input.peek(syn::token::Paren) {
        let mut found = None;
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("deserialize") {
                found = Some(inner.value()?.parse()?);
            } else {
                skip_value(inner.input)?;
            }
            Ok(())
        })?;
        return Ok(found);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(tokens: proc_macro2::TokenStream) -> Vec<Attribute> {
        let input: syn::DeriveInput = syn::parse2(quote::quote! { #tokens struct S; }).expect("test input parses");
        input.attrs
    }

    fn messages(errors: Errors) -> Vec<String> {
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn entity_container() {
        let mut errors = Errors::default();
        let attrs = attrs(quote::quote! {
            #[entity(view = "v_project", schema = "app")]
            #[entity(rename_all = "camelCase", crate = "my::wire")]
        });
        let parsed = container(&attrs, Derive::Entity, &mut errors);
        assert!(messages(errors).is_empty());
        assert_eq!(parsed.view.map(|l| l.value()).as_deref(), Some("v_project"));
        assert_eq!(parsed.schema.map(|l| l.value()).as_deref(), Some("app"));
        assert_eq!(parsed.rename_all.map(|r| r.value), Some(RenameRule::Camel));
        assert_eq!(parsed.krate.map(|p| quote::quote!(#p).to_string()).as_deref(), Some("my :: wire"));
    }

    #[test]
    fn container_mistakes_are_all_reported() {
        let mut errors = Errors::default();
        let attrs = attrs(quote::quote! {
            #[entity(view = "a", view = "b", color = "red", schema = app, skip, rename_all = "camel")]
        });
        let parsed = container(&attrs, Derive::Entity, &mut errors);
        assert_eq!(parsed.view.map(|l| l.value()).as_deref(), Some("a"));
        let messages = messages(errors);
        assert_eq!(messages.len(), 5, "{messages:#?}");
        assert_eq!(messages[0], "`view` is given twice: keep one");
        assert!(messages[1].starts_with("unknown key `color`"), "{}", messages[1]);
        assert!(
            messages[1].ends_with("expected `view`, `schema`, `rename_all`, `projection`, `time` or `crate`"),
            "{}",
            messages[1]
        );
        assert_eq!(messages[2], "expected a string: `schema = \"app\"`");
        assert!(messages[3].starts_with("`skip` is a field attribute"), "{}", messages[3]);
        assert!(messages[4].starts_with("unknown `rename_all` rule \"camel\": expected one of `lowercase`"));
    }

    #[test]
    fn document_container_has_no_view() {
        let mut errors = Errors::default();
        container(&attrs(quote::quote! { #[entity(view = "v")] }), Derive::Document, &mut errors);
        let messages = messages(errors);
        assert!(messages[0].starts_with("a document has no `view`"), "{messages:?}");
    }

    fn field_of(tokens: proc_macro2::TokenStream) -> syn::Field {
        let input: syn::DeriveInput =
            syn::parse2(quote::quote! { struct S { #tokens x: i32 } }).expect("test input parses");
        match input.data {
            syn::Data::Struct(s) => s.fields.into_iter().next().expect("one field"),
            _ => unreachable!(),
        }
    }

    #[test]
    fn entity_fields() {
        let mut errors = Errors::default();
        let f = field_of(quote::quote! { #[entity(column = "id", order_key)] #[entity(rename = "k", skip)] });
        let parsed = field(&f.attrs, Derive::Entity, &mut errors);
        assert!(messages(errors).is_empty());
        assert_eq!(parsed.column.and_then(|c| c.name).map(|l| l.value()).as_deref(), Some("id"));
        assert_eq!(parsed.rename.map(|l| l.value()).as_deref(), Some("k"));
        assert!(parsed.skip.is_some() && parsed.order_key.is_some());

        let mut errors = Errors::default();
        let f = field_of(quote::quote! { #[entity(column)] });
        let parsed = field(&f.attrs, Derive::Entity, &mut errors);
        assert!(messages(errors).is_empty());
        assert!(parsed.column.is_some_and(|c| c.name.is_none()));
    }

    #[test]
    fn time_storage_on_fields_and_the_entity() {
        let mut errors = Errors::default();
        let f = field_of(quote::quote! { #[entity(time = "epoch_ms")] });
        let parsed = field(&f.attrs, Derive::Document, &mut errors);
        assert!(messages(errors).is_empty());
        assert_eq!(parsed.time.map(|t| t.value), Some(TimeStorage::EpochMillis));

        let mut errors = Errors::default();
        let parsed =
            container(&attrs(quote::quote! { #[entity(view = "v", time = "rfc3339")] }), Derive::Entity, &mut errors);
        assert!(messages(errors).is_empty());
        assert_eq!(parsed.time.map(|t| t.value), Some(TimeStorage::Rfc3339));

        let mut errors = Errors::default();
        let f = field_of(quote::quote! { #[entity(time = "unix", time = "cast", time = "epoch")] });
        field(&f.attrs, Derive::Entity, &mut errors);
        let messages = self::messages(errors);
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(
            messages[0].starts_with("unknown `time` storage \"unix\": expected `cast`, `rfc3339`"),
            "{}",
            messages[0]
        );
        assert_eq!(messages[1], "`time` is given twice: keep one");

        let mut errors = Errors::default();
        container(&attrs(quote::quote! { #[entity(time = "cast")] }), Derive::Document, &mut errors);
        assert!(self::messages(errors)[0].starts_with("a document takes `time` on its fields only"));
    }

    #[test]
    fn field_mistakes() {
        let mut errors = Errors::default();
        let f = field_of(quote::quote! { #[entity(skip = true, colour, view = "v", skip, rename)] });
        field(&f.attrs, Derive::Entity, &mut errors);
        let messages = messages(errors);
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert_eq!(messages[0], "`skip` takes no value: write `#[entity(skip)]`");
        assert!(messages[1].ends_with("expected `column`, `rename`, `skip`, `order_key` or `time`"), "{}", messages[1]);
        assert!(messages[2].starts_with("`view` goes on the struct"), "{}", messages[2]);
        assert_eq!(messages[3], "expected a string: `rename = \"key\"`");

        let mut errors = Errors::default();
        let f = field_of(quote::quote! { #[entity(column = "id", order_key)] });
        field(&f.attrs, Derive::Document, &mut errors);
        let messages = self::messages(errors);
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(messages[0].starts_with("`column` applies to fields of an entity only"));
    }

    #[test]
    fn serde_attributes() {
        let mut errors = Errors::default();
        let attrs = attrs(quote::quote! {
            #[serde(deny_unknown_fields, bound(deserialize = "T: X"), rename_all(serialize = "UPPERCASE", deserialize = "kebab-case"))]
            #[serde(default = "path::to", crate = "my_serde")]
        });
        let parsed = serde_container(&attrs, &mut errors);
        assert!(messages(errors).is_empty());
        assert_eq!(parsed.rename_all.map(|r| r.value), Some(RenameRule::Kebab));
        assert!(parsed.reshaped.is_none());

        let mut errors = Errors::default();
        let parsed = serde_container(&self::attrs(quote::quote! { #[serde(transparent)] }), &mut errors);
        assert_eq!(parsed.reshaped.map(|r| r.value), Some("transparent"));

        let f = field_of(quote::quote! {
            #[serde(default, rename(serialize = "out"), alias = "old", with = "module")]
        });
        let parsed = serde_field(&f.attrs);
        assert!(parsed.rename.is_none() && !parsed.skip && parsed.flatten.is_none());

        let f = field_of(quote::quote! { #[serde(rename(deserialize = "in"), skip_deserializing, flatten)] });
        let parsed = serde_field(&f.attrs);
        assert_eq!(parsed.rename.map(|l| l.value()).as_deref(), Some("in"));
        assert!(parsed.skip && parsed.flatten.is_some());
    }
}
