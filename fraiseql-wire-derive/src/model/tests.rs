//! The model's validation: what each mistake reports, and the fallback kept despite it.

use super::*;

fn parse(tokens: TokenStream) -> DeriveInput {
    syn::parse2(tokens).expect("test input parses")
}

fn messages<T>(result: Result<T, Rejected<T>>) -> Vec<String> {
    match result {
        Ok(_) => Vec::new(),
        Err(rejected) => rejected.error.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn identifiers() {
    assert_eq!(identifier_problem("v_project"), None);
    assert_eq!(identifier_problem("_x$1"), None);
    assert_eq!(identifier_problem(&"a".repeat(63)), None);
    assert_eq!(identifier_problem(&"a".repeat(64)).as_deref(), Some("it is 64 bytes long"));
    assert_eq!(identifier_problem("").as_deref(), Some("it is empty"));
    assert_eq!(identifier_problem("1abc").as_deref(), Some("it starts with '1'"));
    assert_eq!(identifier_problem("app.v").as_deref(), Some("it contains '.'"));
    assert_eq!(identifier_problem("v-project").as_deref(), Some("it contains '-'"));
    assert_eq!(identifier_problem("vé").as_deref(), Some("it contains 'é'"));
}

#[test]
fn keys_follow_serde() {
    let input = parse(quote! {
        #[entity(view = "v_project", schema = "app")]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct Project {
            #[entity(column = "id")]
            pub id: i64,
            created_at: String,
            #[serde(rename = "Title")]
            title: String,
            #[serde(rename = "label")]
            #[entity(rename = "label")]
            label_text: String,
            #[entity(rename = "ownerName")]
            owner_name: String,
            r#type: String,
            #[entity(order_key)]
            slug: String,
            #[serde(skip)]
            cache: u8,
            #[entity(skip)]
            #[serde(flatten)]
            extra: Extra,
            parent: Option<Box<Self>>,
        }
    });
    let entity = entity(&input).unwrap_or_else(|rejected| panic!("{}", rejected.error));
    assert_eq!(entity.view, "v_project");
    assert_eq!(entity.schema.as_deref(), Some("app"));
    let targets: Vec<(String, Target)> =
        entity.container.fields.iter().map(|f| (f.ident.to_string(), f.target.clone())).collect();
    let key = |k: &str| Target::Key { key: k.to_owned(), unique: false };
    assert_eq!(
        targets,
        vec![
            ("id".to_owned(), Target::Column { name: "id".to_owned(), key: "id".to_owned() }),
            ("created_at".to_owned(), key("createdAt")),
            ("title".to_owned(), key("Title")),
            ("label_text".to_owned(), key("label")),
            ("owner_name".to_owned(), key("ownerName")),
            ("r#type".to_owned(), key("type")),
            ("slug".to_owned(), Target::Key { key: "slug".to_owned(), unique: true }),
            ("parent".to_owned(), key("parent")),
        ]
    );
    let parent = &entity.container.fields[7];
    assert_eq!(parent.ty.to_string(), "Option < Box < Project > >");
    assert_eq!(quote!(::fraiseql_wire).to_string(), entity.container.krate.to_string());
}

#[test]
fn entity_mistakes() {
    let input = parse(quote! {
        #[entity(schema = "my-app")]
        struct P<'a, T> {
            #[entity(rename = "a")]
            #[serde(rename = "b")]
            x: i32,
            #[serde(flatten)]
            y: T,
            #[entity(column = "1d")]
            z: i32,
            #[entity(skip, order_key)]
            w: i32,
            #[serde(rename = "k")]
            k1: i32,
            k: i32,
            __location: i32,
        }
    });
    let messages = messages(entity(&input));
    let expected = [
        "#[derive(Entity)] needs the view it reads",
        "\"my-app\" is not a valid schema name: it contains '-'; a name here must be an unquoted SQL identifier",
        "entities cannot be generic",
        "`#[entity(rename = \"a\")]` disagrees with `#[serde(rename = \"b\")]`",
        "flattened fields cannot be filtered",
        "\"1d\" is not a valid column name: it starts with '1'",
        "`order_key` has no effect on a skipped field",
        "fields `k1` and `k` both read the JSON key \"k\"",
        "the field name `__location` is reserved",
    ];
    assert_eq!(messages.len(), expected.len(), "{messages:#?}");
    for (message, expected) in messages.iter().zip(expected) {
        assert!(message.starts_with(expected), "{message:?} should start with {expected:?}");
    }
}

#[test]
fn shapes() {
    let cases = [
        (
            quote! { #[entity(view = "v")] enum E { A } },
            "#[derive(Entity)] applies to structs with named fields, not enums",
        ),
        (quote! { #[entity(view = "v")] struct T(i64); }, "#[derive(Entity)] needs a struct with named fields"),
        (quote! { #[entity(view = "v")] struct U; }, "#[derive(Entity)] needs a struct with named fields"),
        (
            quote! { #[entity(view = "v")] union N { a: u8 } },
            "#[derive(Entity)] applies to structs with named fields, not unions",
        ),
        (
            quote! { #[serde(transparent)] #[entity(view = "v")] struct W { a: u8 } },
            "`#[serde(transparent)]` is not supported",
        ),
    ];
    for (tokens, expected) in cases {
        let messages = messages(entity(&parse(tokens)));
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(messages[0].starts_with(expected), "{:?} should start with {expected:?}", messages[0]);
    }
}

#[test]
fn documents() {
    let input = parse(quote! {
        #[serde(rename_all = "SCREAMING-KEBAB-CASE")]
        #[entity(crate = "crate::wire")]
        pub(crate) struct Owner { team_name: String, #[entity(rename = "x")] other: E }
    });
    let owner = document(&input).unwrap_or_else(|rejected| panic!("{}", rejected.error));
    assert_eq!(owner.fields[0].target, Target::Key { key: "TEAM-NAME".to_owned(), unique: false });
    assert_eq!(owner.fields[1].target, Target::Key { key: "x".to_owned(), unique: false });
    assert_eq!(owner.krate.to_string(), "crate :: wire");
    assert_eq!(fresh_type_param(&owner), "E_");

    let input = parse(quote! {
        #[entity(rename_all = "camelCase")]
        #[serde(rename_all = "snake_case")]
        struct Owner { #[entity(column = "c")] a: i32 }
    });
    let messages = messages(document(&input));
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].starts_with("`#[entity(rename_all = \"camelCase\")]` disagrees"), "{messages:#?}");
    assert!(messages[1].starts_with("`column` applies to fields of an entity only"), "{messages:#?}");
}

#[test]
fn attribute_mistakes_keep_a_fallback_with_every_field() {
    let input = parse(quote! {
        #[entity(view = "v-project")]
        struct Project {
            #[entity(column = "1d")]
            id: i64,
            #[entity(rename = "a")]
            #[serde(rename = "b")]
            name: String,
            status: String,
        }
    });
    let rejected = match entity(&input) {
        Ok(_) => panic!("the view name and the column name are invalid"),
        Err(rejected) => rejected,
    };
    assert_eq!(rejected.error.into_iter().count(), 3);
    let fallback = rejected.fallback.expect("a struct with named fields keeps a fallback");
    let fields: Vec<String> = fallback.container.fields.iter().map(|f| f.ident.to_string()).collect();
    assert_eq!(fields, ["id", "name", "status"]);
}

#[test]
fn wrong_shapes_and_generics_have_no_fallback() {
    for tokens in [
        quote! { #[entity(view = "v")] enum E { A } },
        quote! { #[entity(view = "v")] struct T(i64); },
        quote! { #[entity(view = "v")] struct G<T> { t: T } },
    ] {
        match entity(&parse(tokens)) {
            Err(rejected) => assert!(rejected.fallback.is_none()),
            Ok(_) => panic!("invalid input accepted"),
        }
    }
}

#[test]
fn read_keys_are_what_serde_reads() {
    let input = parse(quote! {
        #[entity(view = "v_project", projection)]
        #[serde(rename_all = "camelCase")]
        struct Project {
            created_at: String,
            #[serde(rename(deserialize = "Title"), alias = "heading", alias = "headline")]
            title: String,
            #[entity(skip)]
            cache: Vec<u8>,
            #[serde(skip_deserializing)]
            local: bool,
            #[entity(rename = "ignored_by_serde")]
            #[serde(rename = "ignored_by_serde")]
            r#type: String,
        }
    });
    let entity = entity(&input).unwrap_or_else(|_| panic!("valid"));
    assert!(entity.projection);
    assert_eq!(
        entity.container.read_keys.as_deref(),
        Some(&["createdAt", "Title", "heading", "headline", "cache", "ignored_by_serde"].map(String::from)[..])
    );
}

#[test]
fn projection_refuses_a_flattened_field() {
    let flattened = |projection: TokenStream| {
        parse(quote! {
            #[entity(view = "v" #projection)]
            struct Project {
                name: String,
                #[entity(skip)]
                #[serde(flatten)]
                rest: std::collections::HashMap<String, String>,
            }
        })
    };
    let plain = entity(&flattened(quote!())).unwrap_or_else(|_| panic!("valid without projection"));
    assert_eq!(plain.container.read_keys, None);
    let messages = messages(entity(&flattened(quote!(, projection))));
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].starts_with("`projection` needs every key the struct reads"), "{}", messages[0]);
}
