//! `#[derive(Document)]` on an enum with data: its serde representation, and each variant's name, shape and
//! (for a struct variant) fields, validated like a document's.

use proc_macro2::{Ident, Span, TokenStream};
use quote::ToTokens;
use syn::{Data, DataStruct, DeriveInput, Fields, LitStr};

use super::{FieldModel, Rejected, container, finish, replace_self, runtime_path, support_path, unraw};
use crate::attr::{self, Derive, Spanned};
use crate::case::{RenameRule, snake};
use crate::errors::Errors;

/// The methods every enum's handles have, which a variant's method must not shadow.
const RESERVED: [&str; 8] =
    ["is_variant", "is_null", "is_not_null", "is_missing", "is_json_null", "contains", "contained_by", "clone"];

/// An enum deriving `Document`.
pub(crate) struct EnumDocument {
    pub(crate) ident: Ident,
    pub(crate) vis: syn::Visibility,
    pub(crate) krate: TokenStream,
    pub(crate) serde: TokenStream,
    pub(crate) tagging: Tagging,
    pub(crate) variants: Vec<VariantModel>,
}

/// serde's tagged representations.
pub(crate) enum Tagging {
    External,
    Internal { tag: String },
    Adjacent { tag: String, content: String },
}

/// One variant that serde reads.
pub(crate) struct VariantModel {
    pub(crate) ident: Ident,
    /// The name serde reads first, then its aliases.
    pub(crate) names: Vec<String>,
    /// The handle method for a variant with content (`card` for `Card`).
    pub(crate) method: Ident,
    pub(crate) shape: VariantShape,
}

pub(crate) enum VariantShape {
    Unit,
    Newtype {
        ty: TokenStream,
        ty_span: Span,
    },
    Struct {
        fields: Vec<FieldModel>,
    },
    /// Two or more unnamed fields: only `is_variant`.
    Tuple,
}

/// What `#[serde(...)]` on the enum says about its representation.
#[derive(Default)]
struct EnumSerde {
    tag: Option<LitStr>,
    content: Option<LitStr>,
    untagged: Option<Span>,
    rename_all_fields: Option<Spanned<RenameRule>>,
}

fn enum_serde(attrs: &[syn::Attribute], errors: &mut Errors) -> EnumSerde {
    let mut out = EnumSerde::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // serde reports its own syntax errors.
        let _ = a.parse_nested_meta(|meta| {
            match attr::key_name(&meta).as_str() {
                "tag" => out.tag = Some(meta.value()?.parse()?),
                "content" => out.content = Some(meta.value()?.parse()?),
                "untagged" => out.untagged = Some(attr::key_span(&meta)),
                "rename_all_fields" => match attr::rename_rule(&meta) {
                    Ok(rule) => out.rename_all_fields = rule,
                    Err(error) => {
                        errors.push(error);
                        attr::skip_value(meta.input)?;
                    }
                },
                _ => attr::skip_value(meta.input)?,
            }
            Ok(())
        });
    }
    out
}

/// `#[serde(other)]` or `#[serde(untagged)]` on a variant, which no tag test can describe.
fn unsupported_variant_attr(attrs: &[syn::Attribute]) -> Option<(Span, &'static str)> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = a.parse_nested_meta(|meta| {
            match attr::key_name(&meta).as_str() {
                "other" => found = Some((attr::key_span(&meta), "other")),
                "untagged" => found = Some((attr::key_span(&meta), "untagged")),
                _ => {}
            }
            attr::skip_value(meta.input)
        });
    }
    found
}

/// Reads and validates an enum document.
pub(crate) fn enum_document(input: &DeriveInput) -> Result<EnumDocument, Rejected<EnumDocument>> {
    let Data::Enum(data) = &input.data else {
        return Err(Rejected { error: syn::Error::new_spanned(&input.ident, "expected an enum"), fallback: None });
    };
    let mut errors = Errors::default();
    let attrs = attr::container(&input.attrs, Derive::Document, &mut errors);
    let mut serde_errors = Errors::default();
    let serde = attr::serde_container(&input.attrs, &mut serde_errors);
    let ours = enum_serde(&input.attrs, &mut serde_errors);
    let fallback = input.generics.params.is_empty() && serde_errors.is_empty();
    if let Err(error) = serde_errors.finish() {
        errors.push(error);
    }
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "documents cannot be generic: the field handles are generated for one concrete enum; remove the type \
             and lifetime parameters",
        );
    }
    if let Some(span) = ours.untagged {
        errors.at(
            span,
            "an untagged enum's JSON does not say which variant it is, so no filter can test it; use serde's \
             default (external) tagging, `tag = \"…\"` or `tag = \"…\", content = \"…\"`, or mark fields of this \
             type `#[entity(skip)]`",
        );
    }
    if let Some(reshaped) = &serde.reshaped {
        errors.at(
            reshaped.span,
            format!(
                "`#[serde({})]` is not supported with #[derive(Document)]: the JSON would not be this enum's",
                reshaped.value
            ),
        );
    }
    let tagging = match (&ours.tag, &ours.content) {
        (None, None) => Tagging::External,
        (Some(tag), None) => Tagging::Internal { tag: tag.value() },
        (Some(tag), Some(content)) => Tagging::Adjacent { tag: tag.value(), content: content.value() },
        // serde itself refuses `content` without `tag`.
        (None, Some(_)) => Tagging::External,
    };
    let krate = runtime_path(attrs.krate);
    let serde_path = support_path(&krate);
    let rename_all_fields =
        || ours.rename_all_fields.as_ref().map(|rule| Spanned { value: rule.value, span: rule.span });
    let mut variants = Vec::new();
    let mut methods: Vec<(String, Ident)> = Vec::new();
    for variant in &data.variants {
        let theirs = attr::serde_field(&variant.attrs);
        if theirs.skip {
            continue;
        }
        if let Some((span, key)) = unsupported_variant_attr(&variant.attrs) {
            errors.at(
                span,
                format!(
                    "`#[serde({key})]` on a variant is not supported by #[derive(Document)]: its values have no tag \
                     of their own to test; remove it or mark fields of this type `#[entity(skip)]`"
                ),
            );
            continue;
        }
        let name = unraw(&variant.ident);
        let mut names = vec![theirs.rename.as_ref().map_or_else(
            || serde.rename_all.as_ref().map_or_else(|| name.clone(), |rule| rule.value.apply_to_variant(&name)),
            LitStr::value,
        )];
        names.extend(theirs.aliases.iter().map(LitStr::value));
        let method_name = snake(&name);
        if RESERVED.contains(&method_name.as_str()) {
            errors.spanned(
                &variant.ident,
                format!(
                    "variant `{name}` would get the handle method `{method_name}`, which every enum's handles already \
                     have; rename the variant (keeping its JSON name with `#[serde(rename = \"{}\")]`)",
                    names[0]
                ),
            );
        }
        // A keyword (`Type` gives `type`) is kept as a raw identifier.
        let method = match syn::parse_str::<Ident>(&method_name) {
            Ok(_) => Ident::new(&method_name, variant.ident.span()),
            Err(_) => Ident::new_raw(&method_name, variant.ident.span()),
        };
        if let Some((other, _)) = methods.iter().find(|(m, _)| *m == method_name) {
            errors.spanned(
                &variant.ident,
                format!("variants `{other}` and `{name}` would both get the handle method `{method_name}`; rename one"),
            );
        }
        methods.push((name.clone(), method.clone()));
        let shape = match &variant.fields {
            Fields::Unit => VariantShape::Unit,
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                let ty = &fields.unnamed[0].ty;
                let ty_span =
                    ty.to_token_stream().into_iter().next().map_or_else(|| variant.ident.span(), |t| t.span());
                VariantShape::Newtype { ty: replace_self(ty.to_token_stream(), &input.ident), ty_span }
            }
            Fields::Unnamed(_) => VariantShape::Tuple,
            Fields::Named(named) => {
                // Validated as a document of the variant's fields, with serde's `rename_all_fields` as its rule.
                let as_struct = DeriveInput {
                    attrs: Vec::new(),
                    vis: input.vis.clone(),
                    ident: input.ident.clone(),
                    generics: syn::Generics::default(),
                    data: Data::Struct(DataStruct {
                        struct_token: Default::default(),
                        fields: Fields::Named(named.clone()),
                        semi_token: None,
                    }),
                };
                let (fields, _) =
                    container(&as_struct, named, Derive::Document, None, rename_all_fields(), &mut errors);
                // A variant's fields have no visibility of their own: their handles are as visible as the enum.
                let mut fields = fields.fields;
                for field in &mut fields {
                    field.vis = input.vis.clone();
                }
                VariantShape::Struct { fields }
            }
        };
        variants.push(VariantModel { ident: variant.ident.clone(), names, method, shape });
    }
    let model = EnumDocument {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        krate,
        serde: serde_path,
        tagging,
        variants,
    };
    finish(errors, model, fallback)
}
