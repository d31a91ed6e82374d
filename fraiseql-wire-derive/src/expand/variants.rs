//! `#[derive(Document)]` on an enum with data: `…Variant` (the variants, for `is_variant`), the `…Fields<E>`
//! struct with `is_variant` and one method per variant with content (`card(|c| …)`), a `…<Variant>Fields<E>`
//! struct of handles per struct variant, `impl Document` and `impl FieldType`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::LitStr;

use crate::model::{self, EnumDocument, Tagging, Target, VariantShape};

pub(crate) fn enum_document(model: &EnumDocument) -> TokenStream {
    let EnumDocument { ident, vis, krate, serde, tagging, variants } = model;
    let private = model::support_path(krate);
    let fields_ident = format_ident!("{}Fields", ident, span = ident.span());
    let variant_enum = format_ident!("{}Variant", ident, span = ident.span());
    let types: Vec<TokenStream> = variants
        .iter()
        .flat_map(|v| match &v.shape {
            VariantShape::Newtype { ty, .. } => vec![ty.clone()],
            VariantShape::Struct { fields } => fields.iter().map(|f| f.ty.clone()).collect(),
            VariantShape::Unit | VariantShape::Tuple => Vec::new(),
        })
        .collect();
    let e = model::fresh_type_param_among(ident, types.iter());
    let entity = quote!(#e);
    let tagging_tokens = match tagging {
        Tagging::External => quote!(#private::Tagging::External),
        Tagging::Internal { tag } => quote!(#private::Tagging::Internal { tag: #tag }),
        Tagging::Adjacent { tag, content } => quote!(#private::Tagging::Adjacent { tag: #tag, content: #content }),
    };
    let name = model::unraw(ident);
    let variant_idents: Vec<_> = variants.iter().map(|v| &v.ident).collect();
    let first_names: Vec<&String> = variants.iter().map(|v| &v.names[0]).collect();
    let variant_docs: Vec<String> =
        variants.iter().map(|v| format!(" `{name}::{}`, written {:?}.", model::unraw(&v.ident), v.names[0])).collect();
    let variant_arms = variants.iter().map(|v| {
        let variant = &v.ident;
        let names = &v.names;
        quote!(#variant_enum::#variant => self.__location.variant_is(#tagging_tokens, &[#(#names),*]))
    });
    let location = syn::Ident::new("__location", Span::call_site());

    let mut items = TokenStream::new();
    let mut methods = TokenStream::new();
    for variant in variants {
        let variant_ident = &variant.ident;
        let method = &variant.method;
        let tag_name = &variant.names[0];
        let doc = format!(
            " The value is the variant `{name}::{variant_ident}` and `predicate`, on the variant's content, holds."
        );
        match &variant.shape {
            VariantShape::Struct { fields } => {
                let struct_ident = format_ident!("{}{}Fields", ident, variant_ident, span = variant_ident.span());
                let declarations = super::field_declarations(fields, &entity, krate);
                let initialisers: TokenStream = fields
                    .iter()
                    .map(|field| {
                        let member = &field.ident;
                        let key = match &field.target {
                            Target::Key { key, .. } => LitStr::new(key, member.span()),
                            // Documents have no columns: the model refused the attribute.
                            Target::Column { name, .. } => LitStr::new(name, member.span()),
                        };
                        let location = quote! {
                            #location.variant_key(#tagging_tokens, #tag_name, &[#key], |__value: &#ident| {
                                #[allow(unreachable_patterns)]
                                match __value {
                                    #ident::#variant_ident { #member, .. } => ::core::option::Option::Some(#member),
                                    _ => ::core::option::Option::None,
                                }
                            })
                        };
                        super::handle_initialiser(field, location, &entity, krate)
                    })
                    .collect();
                let struct_doc =
                    format!(" The typed handles of the fields of `{name}::{variant_ident}`, inside entity `{e}`.");
                let debug = super::debug_impl(&struct_ident, &quote!(<#e: 'static>), &quote!(<#e>));
                items.extend(quote! {
                    #[doc = #struct_doc]
                    #[allow(dead_code, non_snake_case)]
                    #vis struct #struct_ident<#e: 'static> {
                        #declarations
                    }

                    #debug
                });
                methods.extend(quote! {
                    #[doc = #doc]
                    #vis fn #method(&self, predicate: impl ::core::ops::FnOnce(&#struct_ident<#e>) -> #krate::Filter<#e>) -> #krate::Filter<#e> {
                        let #location = &self.__location;
                        let __fields = #struct_ident { #initialisers };
                        self.is_variant(#variant_enum::#variant_ident).and(predicate(&__fields))
                    }
                });
            }
            VariantShape::Newtype { ty, ty_span } => {
                let handle = quote_spanned!(*ty_span=> <#ty as #private::Handle<#e>>::Handle);
                methods.extend(quote! {
                    #[doc = #doc]
                    #vis fn #method(&self, predicate: impl ::core::ops::FnOnce(&#handle) -> #krate::Filter<#e>) -> #krate::Filter<#e> {
                        let __inner = self.__location.variant_key(#tagging_tokens, #tag_name, &[], |__value: &#ident| {
                            #[allow(unreachable_patterns)]
                            match __value {
                                #ident::#variant_ident(__inner) => ::core::option::Option::Some(__inner),
                                _ => ::core::option::Option::None,
                            }
                        });
                        let __handle = <#ty as #private::Handle<#e>>::handle(__inner);
                        self.is_variant(#variant_enum::#variant_ident).and(predicate(&__handle))
                    }
                });
            }
            VariantShape::Unit | VariantShape::Tuple => {}
        }
    }

    let variant_doc = format!(" The variants of [`{name}`], for `is_variant` (generated by `#[derive(Document)]`).");
    let fields_doc = format!(
        " The typed handles of [`{name}`] inside entity `{e}`, generated by `#[derive(Document)]`: `is_variant`, \
         and a method per variant with content taking a filter on it."
    );
    let whole_value = super::whole_value_methods(vis, krate, serde, &e);
    let all_names = variants.iter().map(|v| {
        let names = &v.names;
        quote!(&[#(#names),*])
    });
    let indices = 0..variants.len();
    // `is_variant` by name first, then the operators every document has.
    let is_variant = quote! {
        if __op == "is_variant" {
            let __index = #private::variant_named(__value, __parser, &[#(#all_names),*]);
            return ::core::option::Option::Some(__index.map(|__index| match __index {
                #(#indices => self.is_variant(#variant_enum::#variant_idents),)*
                _ => #krate::Filter::never(),
            }));
        }
    };
    let operation = super::document_operation(&e, &is_variant, &quote!(#private::VARIANT_OPERATIONS), krate);
    let dynamic =
        super::dynamic_fields(&[], &fields_ident, (&quote!(<#e: 'static>), &quote!(<#e>)), &entity, operation, krate);
    let dynamic_document = super::dynamic_document(&fields_ident, &e, krate);
    let debug = super::debug_impl(&fields_ident, &quote!(<#e: 'static>), &quote!(<#e>));
    let assert_deserialize = super::assert_deserialize(ident, krate);

    quote! {
        #assert_deserialize

        #[doc = #variant_doc]
        #[allow(dead_code)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis enum #variant_enum {
            #(
                #[doc = #variant_docs]
                #variant_idents,
            )*
        }

        #[automatically_derived]
        impl #krate::FieldType for #ident {
            type Kind = #krate::entity::kind::Object<#ident>;

            fn to_json(&self) -> #private::Value {
                #private::Value::Null
            }
        }

        #[doc = #fields_doc]
        #vis struct #fields_ident<#e: 'static> {
            #[doc(hidden)]
            __location: #private::Location<#e, #ident>,
        }

        #[automatically_derived]
        impl #krate::Document for #ident {
            type Fields<#e: 'static> = #fields_ident<#e>;
            const VARIANTS: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#first_names),*]);

            fn fields_at<#e: 'static>(#location: #private::Location<#e, Self>) -> #fields_ident<#e> {
                #fields_ident { #location }
            }
        }

        #items

        #[allow(dead_code)]
        impl<#e: 'static> #fields_ident<#e> {
            /// The value is `variant` (by the name serde reads, or one of its aliases).
            #vis fn is_variant(&self, variant: #variant_enum) -> #krate::Filter<#e> {
                match variant {
                    #(#variant_arms,)*
                }
            }

            #methods

            #whole_value
        }

        #[automatically_derived]
        impl<#e: 'static> ::core::clone::Clone for #fields_ident<#e> {
            fn clone(&self) -> Self {
                #fields_ident { __location: ::core::clone::Clone::clone(&self.__location) }
            }
        }

        #debug

        #dynamic

        #dynamic_document
    }
}
