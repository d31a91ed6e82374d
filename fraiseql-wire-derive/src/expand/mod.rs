//! Code generation from the validated model. Everything generated names the runtime by absolute path (`::fraiseql_wire`
//! unless `#[entity(crate = "…")]`), and locals start with `__` so they cannot meet the user's names.

mod document;
mod entity;
mod scalar;

pub(crate) use document::document;
pub(crate) use entity::entity;
pub(crate) use scalar::scalar;

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::LitStr;

use crate::attr::TimeStorage;
use crate::model::{FieldModel, Target};

/// The documentation of a field's handle.
fn field_doc(field: &FieldModel) -> String {
    let name = crate::model::unraw(&field.ident);
    match &field.target {
        Target::Column(column) => format!(" Handle on `{name}`: the view's column `{column}`."),
        Target::Key { key, unique } => format!(
            " Handle on `{name}`: the key {key:?} of the document.{}",
            if *unique { " A unique key, usable last in a keyset `order_by`." } else { "" }
        ),
    }
}

/// The declarations of the handle fields of `fields`, inside an entity `entity` (a type or a type parameter).
fn field_declarations(fields: &[FieldModel], entity: &TokenStream, krate: &TokenStream) -> TokenStream {
    let private = crate::model::support_path(krate);
    fields
        .iter()
        .map(|field| {
            let FieldModel { ident, vis, ty, ty_span, target, .. } = field;
            let doc = field_doc(field);
            // Spanned on the field's type, so "cannot be a field of an entity" points at it.
            let handle = match target {
                Target::Column(_) => quote_spanned!(*ty_span=> #krate::Field<#entity, #ty>),
                Target::Key { .. } => {
                    quote_spanned!(*ty_span=> <#ty as #private::Handle<#entity>>::Handle)
                }
            };
            quote! {
                #[doc = #doc]
                #vis #ident: #handle,
            }
        })
        .collect()
}

/// The initialisers of the handle fields of `fields`, located under `parent` (a `Location<entity, container>`).
fn field_initialisers(
    fields: &[FieldModel],
    container: &Ident,
    entity: &TokenStream,
    parent: &Ident,
    krate: &TokenStream,
) -> TokenStream {
    let private = crate::model::support_path(krate);
    fields
        .iter()
        .map(|field| {
            let FieldModel { ident, ty, ty_span, target, time, .. } = field;
            let location = match target {
                Target::Column(column) => {
                    let column = LitStr::new(column, ident.span());
                    quote!(#parent.column(#column, |__value: &#container| &__value.#ident))
                }
                Target::Key { key, unique } => {
                    let key = LitStr::new(key, ident.span());
                    quote!(#parent.key(#key, |__value: &#container| &__value.#ident, #unique))
                }
            };
            let location = match time {
                Some(time) => {
                    let storage = time_storage(*time, krate);
                    quote_spanned!(*ty_span=> #location.stored_as(#storage))
                }
                None => location,
            };
            // The field name is given the type's span too: an error about the type is then the same diagnostic
            // as the one at the struct's declaration, and rustc reports it once.
            let mut name = ident.clone();
            name.set_span(*ty_span);
            quote_spanned! {*ty_span=>
                #name: <#ty as #private::Handle<#entity>>::handle(#location),
            }
        })
        .collect()
}

/// The runtime's `TimeStorage` value for `time`.
fn time_storage(time: TimeStorage, krate: &TokenStream) -> TokenStream {
    let variant = Ident::new(time.variant(), proc_macro2::Span::call_site());
    quote!(#krate::entity::TimeStorage::#variant)
}

/// `const _: () = assert_deserialize::<T>();`, spanned on the type's name so the message points at it.
fn assert_deserialize(ident: &Ident, krate: &TokenStream) -> TokenStream {
    let private = crate::model::support_path(krate);
    quote_spanned! {ident.span()=>
        const _: () = #private::assert_deserialize::<#ident>();
    }
}

/// `impl Debug` that names the struct and nothing else: the handles are many and say little printed.
fn debug_impl(fields_ident: &Ident, generics: &TokenStream, params: &TokenStream) -> TokenStream {
    let name = fields_ident.to_string();
    quote! {
        #[automatically_derived]
        impl #generics ::core::fmt::Debug for #fields_ident #params {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name).finish_non_exhaustive()
            }
        }
    }
}
