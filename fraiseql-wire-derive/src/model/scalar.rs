//! `#[derive(Scalar)]`: an enum of unit variants (compared as its JSON string) or a newtype (compared as its inner
//! type).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Member, Type};

use super::{Rejected, finish, runtime_path};
use crate::attr::{self, Derive};
use crate::errors::Errors;

/// What `#[derive(Scalar)]` supports, for every error message.
const SUPPORTED: &str = "#[derive(Scalar)] supports an enum whose variants are all unit variants (`enum Status { \
                         Active, OnHold }`, compared as its JSON string) or a newtype (`struct Email(String);`, \
                         compared as its inner type)";

/// A type that becomes a field type.
pub(crate) struct Scalar {
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    pub(crate) krate: TokenStream,
    pub(crate) shape: ScalarShape,
}

/// How the type sits in the document.
pub(crate) enum ScalarShape {
    /// An enum of unit variants: the string serde writes for each.
    Text,
    /// A newtype: its one field, compared as that field's type.
    Newtype { member: Member, ty: Box<Type>, ty_span: Span },
}

/// Reads and validates a scalar.
pub(crate) fn scalar(input: &DeriveInput) -> Result<Scalar, Rejected<Scalar>> {
    let mut errors = Errors::default();
    let attrs = attr::container(&input.attrs, Derive::Scalar, &mut errors);
    let serde = attr::serde_container(&input.attrs, &mut errors);
    let shape = match &input.data {
        Data::Enum(data) => {
            if !input.generics.params.is_empty() {
                errors.spanned(&input.generics, "a Scalar enum cannot be generic: its variants carry no data");
            }
            if let Some(tagged) = &serde.tagged {
                errors.at(
                    tagged.span,
                    format!(
                        "`#[serde({})]` makes the variants serialize as {}, not as strings; a Scalar enum is compared \
                         as the string of its variant, so remove it",
                        tagged.value,
                        if tagged.value == "tag" { "objects" } else { "`null`" }
                    ),
                );
            }
            for variant in &data.variants {
                for attr in variant.attrs.iter().filter(|a| a.path().is_ident("entity")) {
                    errors.spanned(attr, "#[derive(Scalar)] takes no `#[entity(...)]` attributes on variants");
                }
                if !matches!(variant.fields, Fields::Unit) {
                    errors.spanned(
                        &variant.fields,
                        format!(
                            "variant `{}` carries data, so its JSON is not a plain string; {SUPPORTED}. For an enum \
                             with data, derive `Document` instead (`is_variant` and a filter per variant)",
                            variant.ident
                        ),
                    );
                }
            }
            Some(ScalarShape::Text)
        }
        Data::Struct(data) => {
            for field in data.fields.iter() {
                for attr in field.attrs.iter().filter(|a| a.path().is_ident("entity")) {
                    errors.spanned(attr, "#[derive(Scalar)] takes no `#[entity(...)]` attributes on fields");
                }
            }
            let transparent = serde.reshaped.as_ref().is_some_and(|r| r.value == "transparent");
            newtype(input, &data.fields, transparent, &mut errors)
        }
        Data::Union(data) => {
            errors.at(data.union_token.span, format!("{SUPPORTED}, not a union"));
            None
        }
    };
    let krate = runtime_path(attrs.krate);
    let generic_enum = matches!(input.data, Data::Enum(_)) && !input.generics.params.is_empty();
    match shape {
        Some(shape) => {
            let model = Scalar { ident: input.ident.clone(), generics: input.generics.clone(), krate, shape };
            finish(errors, model, !generic_enum)
        }
        None => Err(Rejected {
            error: errors.finish().err().unwrap_or_else(|| syn::Error::new_spanned(&input.ident, SUPPORTED)),
            fallback: None,
        }),
    }
}

/// The one field of a newtype, or why the struct is not one.
fn newtype(input: &DeriveInput, fields: &Fields, transparent: bool, errors: &mut Errors) -> Option<ScalarShape> {
    let (member, field) = match fields {
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => (Member::from(0), fields.unnamed.first()?),
        // `#[serde(transparent)] struct Email { value: String }` serializes as its only field too.
        Fields::Named(fields) if fields.named.len() == 1 && transparent => {
            let field = fields.named.first()?;
            (Member::Named(field.ident.clone()?), field)
        }
        Fields::Named(_) => {
            errors.spanned(
                &input.ident,
                format!(
                    "{SUPPORTED}, not a struct with named fields; for an object nested in the document, derive \
                     `Document`"
                ),
            );
            return None;
        }
        Fields::Unnamed(fields) => {
            errors.spanned(
                fields,
                format!("{SUPPORTED}; a newtype has exactly one field, this struct has {}", fields.unnamed.len()),
            );
            return None;
        }
        Fields::Unit => {
            errors.spanned(&input.ident, format!("{SUPPORTED}, not a unit struct"));
            return None;
        }
    };
    let ty_span = field.ty.to_token_stream().into_iter().next().map_or_else(Span::call_site, |t| t.span());
    Some(ScalarShape::Newtype { member, ty: Box::new(field.ty.clone()), ty_span })
}
