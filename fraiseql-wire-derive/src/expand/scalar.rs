//! `#[derive(Scalar)]`: `impl FieldType` for an enum of unit variants (text) or a newtype (its inner type's kind).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::{Data, DeriveInput, Fields, Member};

use crate::attr::{self, Derive};
use crate::errors::Errors;

/// What `#[derive(Scalar)]` supports, for every error message.
const SUPPORTED: &str = "#[derive(Scalar)] supports an enum whose variants are all unit variants (`enum Status { \
                         Active, OnHold }`, compared as its JSON string) or a newtype (`struct Email(String);`, \
                         compared as its inner type)";

pub(crate) fn scalar(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let attrs = attr::container(&input.attrs, Derive::Scalar, &mut errors);
    let serde = attr::serde_container(&input.attrs, &mut errors);
    let krate = attrs.krate.map_or_else(|| quote!(::fraiseql_wire), |path| path.to_token_stream());
    let ident = &input.ident;

    let expanded = match &input.data {
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
                            "variant `{}` carries data, so its JSON is not a plain string; {SUPPORTED}. Mark a field \
                             of this type `#[entity(skip)]`, or filter it with `matches`",
                            variant.ident
                        ),
                    );
                }
            }
            let private = quote!(#krate::entity::__private);
            quote_spanned! {ident.span()=>
                #[automatically_derived]
                impl #krate::FieldType for #ident {
                    type Kind = #krate::entity::kind::Text;

                    fn to_json(&self) -> #private::Value {
                        #private::to_json_value(self)
                    }
                }
            }
        }
        Data::Struct(data) => {
            let inner = match &data.fields {
                Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                    fields.unnamed.first().map(|f| (Member::from(0), f))
                }
                // `#[serde(transparent)] struct Email { value: String }` serializes as its only field too.
                Fields::Named(fields)
                    if fields.named.len() == 1 && serde.reshaped.as_ref().is_some_and(|r| r.value == "transparent") =>
                {
                    fields.named.first().and_then(|f| f.ident.clone().map(|i| (Member::Named(i), f)))
                }
                Fields::Named(_) => {
                    errors.spanned(
                        ident,
                        format!(
                            "{SUPPORTED}, not a struct with named fields; for an object nested in the document, \
                             derive `Document`"
                        ),
                    );
                    None
                }
                Fields::Unnamed(fields) => {
                    errors.spanned(
                        fields,
                        format!(
                            "{SUPPORTED}; a newtype has exactly one field, this struct has {}",
                            fields.unnamed.len()
                        ),
                    );
                    None
                }
                Fields::Unit => {
                    errors.spanned(ident, format!("{SUPPORTED}, not a unit struct"));
                    None
                }
            };
            for field in data.fields.iter() {
                for attr in field.attrs.iter().filter(|a| a.path().is_ident("entity")) {
                    errors.spanned(attr, "#[derive(Scalar)] takes no `#[entity(...)]` attributes on fields");
                }
            }
            match inner {
                Some((member, field)) => {
                    let ty = &field.ty;
                    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
                    // A generic newtype is a field type when its inner type is one.
                    let bound = if input.generics.params.is_empty() {
                        quote!()
                    } else {
                        let mut predicates: Vec<TokenStream> = where_clause
                            .map(|w| w.predicates.iter().map(ToTokens::to_token_stream).collect())
                            .unwrap_or_default();
                        predicates.push(quote!(#ty: #krate::FieldType));
                        quote!(where #(#predicates),*)
                    };
                    let where_clause = if input.generics.params.is_empty() { quote!(#where_clause) } else { bound };
                    let private = quote!(#krate::entity::__private);
                    quote_spanned! {ty_span(ty)=>
                        #[automatically_derived]
                        impl #impl_generics #krate::FieldType for #ident #ty_generics #where_clause {
                            type Kind = <#ty as #krate::FieldType>::Kind;

                            fn to_json(&self) -> #private::Value {
                                <#ty as #krate::FieldType>::to_json(&self.#member)
                            }
                        }
                    }
                }
                None => TokenStream::new(),
            }
        }
        Data::Union(data) => {
            errors.at(data.union_token.span, format!("{SUPPORTED}, not a union"));
            TokenStream::new()
        }
    };
    errors.finish()?;
    Ok(expanded)
}

/// The span of a type's first token, where errors about it point.
fn ty_span(ty: &syn::Type) -> proc_macro2::Span {
    ty.to_token_stream().into_iter().next().map_or_else(proc_macro2::Span::call_site, |t| t.span())
}
