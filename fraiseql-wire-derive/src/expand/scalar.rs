//! `#[derive(Scalar)]`: `impl FieldType` for an enum of unit variants (text) or a newtype (its inner type's kind).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};

use crate::model::{Scalar, ScalarShape, support_path};

pub(crate) fn scalar(model: &Scalar) -> TokenStream {
    let Scalar { ident, generics, krate, shape } = model;
    let private = support_path(krate);
    match shape {
        ScalarShape::Text => quote_spanned! {ident.span()=>
            #[automatically_derived]
            impl #krate::FieldType for #ident {
                type Kind = #krate::entity::kind::Text;

                fn to_json(&self) -> #private::Value {
                    #private::to_json_value(self)
                }
            }
        },
        ScalarShape::Newtype { member, ty, ty_span } => {
            let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
            // A generic newtype is a field type when its inner type is one.
            let where_clause = if generics.params.is_empty() {
                quote!(#where_clause)
            } else {
                let mut predicates: Vec<TokenStream> = where_clause
                    .map(|w| w.predicates.iter().map(ToTokens::to_token_stream).collect())
                    .unwrap_or_default();
                predicates.push(quote!(#ty: #krate::FieldType));
                quote!(where #(#predicates),*)
            };
            quote_spanned! {*ty_span=>
                #[automatically_derived]
                impl #impl_generics #krate::FieldType for #ident #ty_generics #where_clause {
                    type Kind = <#ty as #krate::FieldType>::Kind;

                    fn to_json(&self) -> #private::Value {
                        <#ty as #krate::FieldType>::to_json(&self.#member)
                    }
                }
            }
        }
    }
}
