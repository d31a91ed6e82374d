//! Code generation from the validated model. Everything generated names the runtime by absolute path (`::fraiseql_wire`
//! unless `#[entity(crate = "…")]`), and locals start with `__` so they cannot meet the user's names.

mod document;
mod entity;
mod scalar;
mod variants;

pub(crate) use document::document;
pub(crate) use entity::entity;
pub(crate) use scalar::scalar;
pub(crate) use variants::enum_document;

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::LitStr;

use crate::attr::TimeStorage;
use crate::model::{FieldModel, Target};

/// The documentation of a field's handle.
fn field_doc(field: &FieldModel) -> String {
    let name = crate::model::unraw(&field.ident);
    match &field.target {
        Target::Column { name: column, .. } => format!(" Handle on `{name}`: the view's column `{column}`."),
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
                Target::Column { .. } => quote_spanned!(*ty_span=> #krate::Field<#entity, #ty>),
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
    fields
        .iter()
        .map(|field| {
            let FieldModel { ident, target, .. } = field;
            let location = match target {
                Target::Column { name, key } => {
                    let column = LitStr::new(name, ident.span());
                    let key = LitStr::new(key, ident.span());
                    quote!(#parent.column(#column, #key, |__value: &#container| &__value.#ident))
                }
                Target::Key { key, unique } => {
                    let key = LitStr::new(key, ident.span());
                    quote!(#parent.key(#key, |__value: &#container| &__value.#ident, #unique))
                }
            };
            handle_initialiser(field, location, entity, krate)
        })
        .collect()
}

/// `name: <handle of the field's type at location>,`, with the field's time storage if it has one.
fn handle_initialiser(
    field: &FieldModel,
    location: TokenStream,
    entity: &TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let private = crate::model::support_path(krate);
    let FieldModel { ident, ty, ty_span, time, .. } = field;
    let location = match time {
        Some(time) => {
            let storage = time_storage(*time, krate);
            quote_spanned!(*ty_span=> #location.stored_as(#storage))
        }
        None => location,
    };
    // The field name is given the type's span too: an error about the type is then the same diagnostic as the
    // one at the struct's declaration, and rustc reports it once.
    let mut name = ident.clone();
    name.set_span(*ty_span);
    quote_spanned! {*ty_span=>
        #name: <#ty as #private::Handle<#entity>>::handle(#location),
    }
}

/// Calls adding each of `fields` to the schema `__out`, under the path `prefix` (an expression of type
/// `&[String]`, or `None` at the entity's root) and nullable if `nullable` (an expression of type `bool`) is.
fn field_descriptions(
    fields: &[FieldModel],
    entity: &TokenStream,
    prefix: Option<&TokenStream>,
    nullable: &TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let private = crate::model::support_path(krate);
    fields
        .iter()
        .map(|field| {
            let FieldModel { ty, ty_span, target, .. } = field;
            let (name, column) = match target {
                Target::Key { key, .. } => (key.clone(), quote!(::core::option::Option::None)),
                Target::Column { name, .. } => (name.clone(), quote!(::core::option::Option::Some(#name))),
            };
            let path = match prefix {
                Some(prefix) => quote! {
                    #prefix.iter().cloned().chain([::std::string::String::from(#name)]).collect()
                },
                None => quote!(::std::vec![::std::string::String::from(#name)]),
            };
            // The same obligation, at the same span, as the handle's: an invalid type is one diagnostic.
            quote_spanned! {*ty_span=>
                <#ty as #private::Handle<#entity>>::describe(#path, #column, #nullable, __out);
            }
        })
        .collect()
}

/// `impl DynamicFields<entity> for fields_ident`: the handles of `fields` by JSON key (a column by its name),
/// and `operation`, the body of the value's own operators by name (empty for an entity).
fn dynamic_fields(
    fields: &[FieldModel],
    fields_ident: &Ident,
    (generics, params): (&TokenStream, &TokenStream),
    entity: &TokenStream,
    operation: TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let private = crate::model::support_path(krate);
    let keys: Vec<&String> = fields
        .iter()
        .map(|field| match &field.target {
            Target::Key { key, .. } => key,
            Target::Column { name, .. } => name,
        })
        .collect();
    let arms = fields.iter().zip(&keys).map(|(field, key)| {
        let FieldModel { ident, ty, ty_span, .. } = field;
        // `self` keeps the call site's hygiene (a type's span may come from a `macro_rules!`).
        let handle = quote!(&self.#ident);
        // The same obligation, at the same span, as the handle's: an invalid type is one diagnostic.
        let dynamic = quote_spanned!(*ty_span=> <#ty as #private::Handle<#entity>>::dynamic(#handle));
        quote! {
            #key => ::core::option::Option::Some(#dynamic),
        }
    });
    // The header spanned like `#fields_ident`, so an invalid field type here is the diagnostic already given for
    // it; the body at the call site, so its `self` is the methods' own.
    let header = quote_spanned! {fields_ident.span()=>
        impl #generics #private::DynamicFields<#entity> for #fields_ident #params
    };
    quote! {
        #[automatically_derived]
        #header {
            fn field(&self, __key: &str) -> ::core::option::Option<#private::DynField<#entity>> {
                match __key {
                    #(#arms)*
                    _ => ::core::option::Option::None,
                }
            }

            fn keys(&self) -> &'static [&'static str] {
                &[#(#keys),*]
            }

            #operation
        }
    }
}

/// `DynamicFields::operation` and `operations` for a document's handles: `first` (statements that may return
/// early), then the operators every document has; `operations` names them all.
fn document_operation(e: &Ident, first: &TokenStream, operations: &TokenStream, krate: &TokenStream) -> TokenStream {
    let private = crate::model::support_path(krate);
    quote! {
        fn operation(
            &self,
            __op: &str,
            __value: &#private::Value,
            __parser: &mut #private::Parser,
        ) -> ::core::option::Option<::core::result::Result<#krate::Filter<#e>, #private::InputError>> {
            #first
            #private::document_operation(&self.__location, __op, __value, __parser)
        }

        fn operations(&self) -> &'static [&'static str] {
            #operations
        }
    }
}

/// `impl Dynamic<E>` for a document's handles: a nested document looked up by name.
fn dynamic_document(fields_ident: &Ident, e: &Ident, krate: &TokenStream) -> TokenStream {
    let private = crate::model::support_path(krate);
    let header = quote_spanned!(fields_ident.span()=> impl<#e: 'static> #private::Dynamic<#e> for #fields_ident<#e>);
    let document = quote_spanned!(fields_ident.span()=> #private::DynField::document);
    quote! {
        #[automatically_derived]
        #header {
            fn dynamic(&self) -> #private::DynField<#e> {
                #document(::core::clone::Clone::clone(self), &self.__location)
            }
        }
    }
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

/// The methods on a nested document's or enum's handles that test the value as a whole: containment both
/// ways and presence.
fn whole_value_methods(vis: &syn::Visibility, krate: &TokenStream, serde: &TokenStream, e: &Ident) -> TokenStream {
    quote! {
        /// The value contains `partial` (JSON containment `@>`, served by a GIN index on `data`): `partial` is any
        /// serializable value shaped like part of it.
        #vis fn contains<P: #serde::Serialize + ?::core::marker::Sized>(&self, partial: &P) -> #krate::Filter<#e> {
            self.__location.contains_json(partial)
        }

        /// The value is contained in `whole` (`<@`): every key it has, `whole` has with the same value (objects
        /// compared key by key, arrays as sets). No index serves it.
        #vis fn contained_by<P: #serde::Serialize + ?::core::marker::Sized>(&self, whole: &P) -> #krate::Filter<#e> {
            self.__location.contained_by_json(whole)
        }

        /// The value is missing or JSON `null` (for an `Option` of it; `is_missing` and `is_json_null` tell the
        /// two apart).
        #vis fn is_null(&self) -> #krate::Filter<#e> {
            self.__location.is_null()
        }

        /// The value is present and not JSON `null`.
        #vis fn is_not_null(&self) -> #krate::Filter<#e> {
            self.__location.is_not_null()
        }

        /// The value's key is absent.
        #vis fn is_missing(&self) -> #krate::Filter<#e> {
            self.__location.is_missing()
        }

        /// The value's key is present with the value JSON `null`.
        #vis fn is_json_null(&self) -> #krate::Filter<#e> {
            self.__location.is_json_null()
        }
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
