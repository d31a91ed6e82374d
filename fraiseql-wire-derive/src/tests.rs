//! Snapshots of the formatted expansions, reviewed by hand: a change to what the derives generate shows up as a
//! diff of readable code.

use quote::quote;

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("the expansion does not parse: {error}\n{tokens}"),
    }
}

fn derive(expand: fn(&syn::DeriveInput) -> proc_macro2::TokenStream, input: proc_macro2::TokenStream) -> String {
    let input: syn::DeriveInput = syn::parse2(input).expect("test input parses");
    pretty(expand(&input))
}

#[test]
fn entity_expansion() {
    insta::assert_snapshot!(derive(
        super::expand_entity,
        quote! {
            #[derive(Debug, serde::Deserialize)]
            #[entity(view = "v_project", schema = "app")]
            #[serde(rename_all = "camelCase")]
            pub struct Project {
                #[entity(column = "id")]
                pub id: i64,
                pub name: String,
                pub(crate) status: Status,
                #[serde(rename = "prio")]
                priority: i32,
                pub score: Option<f64>,
                pub tags: Vec<String>,
                pub owner: Owner,
                pub created_at: String,
                #[entity(order_key)]
                pub slug: String,
                pub r#type: String,
                #[entity(skip)]
                pub cache: std::collections::HashMap<String, String>,
                #[serde(skip)]
                pub local: bool,
            }
        }
    ));
}

#[test]
fn document_expansion() {
    insta::assert_snapshot!(derive(
        super::expand_document,
        quote! {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "kebab-case")]
            pub struct Owner {
                pub team_name: String,
                pub members: Vec<Member>,
            }
        }
    ));
}

#[test]
fn scalar_expansions() {
    let status = derive(
        super::expand_scalar,
        quote! {
            #[derive(serde::Serialize)]
            enum Status { Active, OnHold }
        },
    );
    let email = derive(super::expand_scalar, quote! { struct Email(String); });
    let wrapper = derive(super::expand_scalar, quote! { struct Wrapper<T>(T) where T: Copy; });
    insta::assert_snapshot!(format!("{status}\n{email}\n{wrapper}"));
}

#[test]
fn crate_override() {
    let expanded = derive(
        super::expand_entity,
        quote! {
            #[entity(view = "v", crate = "crate::wire")]
            #[serde(crate = "crate::serde")]
            struct P { a: i32 }
        },
    );
    assert!(!expanded.contains("::fraiseql_wire"), "{expanded}");
    assert!(expanded.contains("crate::wire::__private_0_1::Handle<P>"), "{expanded}");
    // Serialize bounds use the runtime's re-export, whatever `#[serde(crate)]` says.
    assert!(expanded.contains("P: crate::wire::__private_0_1::Serialize"), "{expanded}");
}

#[test]
fn errors_become_compile_errors() {
    let input: syn::DeriveInput = syn::parse2(quote! { struct P { a: i32 } }).expect("test input parses");
    let expanded = super::expand_entity(&input).to_string();
    assert!(expanded.starts_with(":: core :: compile_error !"), "{expanded}");
    assert!(expanded.contains("needs the view it reads"), "{expanded}");
    // The fallback: the struct's items exist, so its uses compile and the one mistake is reported once.
    assert!(expanded.contains("impl :: fraiseql_wire :: Entity for P"), "{expanded}");
}

#[test]
fn scalar_mistakes() {
    let cases = [
        (quote! { enum E<T> { A } }, "a Scalar enum cannot be generic"),
        (quote! { struct Pair(i64, i64); }, "#[derive(Scalar)] supports an enum whose variants are all unit variants"),
        (quote! { struct Unit; }, "#[derive(Scalar)] supports"),
        (
            quote! { #[entity(view = "v")] struct Email(String); },
            "unknown key `view` in `#[entity(...)]` of #[derive(Scalar)]: expected `crate`",
        ),
        (
            quote! { struct Email(#[entity(skip)] String); },
            "#[derive(Scalar)] takes no `#[entity(...)]` attributes on fields",
        ),
        (quote! { #[serde(untagged)] enum E { A } }, "`#[serde(untagged)]` makes the variants serialize as `null`"),
    ];
    for (tokens, expected) in cases {
        let input: syn::DeriveInput = syn::parse2(tokens).expect("test input parses");
        let messages: Vec<String> = match super::model::scalar(&input) {
            Ok(_) => panic!("expected an error for {}", input.ident),
            Err(rejected) => rejected.error.into_iter().map(|e| e.to_string()).collect(),
        };
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(messages[0].starts_with(expected), "{:?} should start with {expected:?}", messages[0]);
    }
}

#[test]
fn enum_document_expansion() {
    insta::assert_snapshot!(derive(
        super::expand_document,
        quote! {
            #[derive(serde::Deserialize)]
            #[serde(tag = "type", rename_all = "snake_case")]
            pub enum Event {
                Moved { to: i64 },
                Linked(Bank),
                #[serde(alias = "shut")]
                Closed,
                Pair(i64, i64),
            }
        }
    ));
}
