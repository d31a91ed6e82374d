//! Derive macros for [fraiseql-wire](https://docs.rs/fraiseql-wire).
//!
//! Use them through the `fraiseql_wire` crate (feature `derive`, on by default) rather than depending on this
//! crate directly.
#![deny(missing_docs)]

use proc_macro::TokenStream;

/// Binds a struct to a PostgreSQL view that exposes one JSON document per row.
///
/// The typed field handles arrive with the typed-entity work; today the derive only checks that it is applied to
/// a struct with named fields.
#[proc_macro_derive(Entity, attributes(entity))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    match &input.data {
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Named(_), .. }) => TokenStream::new(),
        _ => syn::Error::new_spanned(&input.ident, "#[derive(Entity)] needs a struct with named fields")
            .to_compile_error()
            .into(),
    }
}

/// Binds a struct nested inside an entity's document.
#[proc_macro_derive(Document, attributes(entity))]
pub fn derive_document(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Makes an enum of unit variants or a newtype usable as an entity field.
#[proc_macro_derive(Scalar)]
pub fn derive_scalar(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
