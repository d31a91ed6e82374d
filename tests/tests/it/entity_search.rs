//! Full-text search against the server: `search` with `plain`, `phrase` and `websearch` on a text field and on
//! the whole document agrees with a Rust model of the `simple` configuration (lower-cased words, no stemming)
//! over fields that are text, missing, null or not strings; SQL snapshots of every form; GIN indexes on
//! `to_tsvector('english', data->>'body')` and `jsonb_to_tsvector('english', data, '["string"]')` serve the
//! searches; and keyset pagination over `rank desc, id` returns every row once, in the unpaged order, through
//! ties.

use fraiseql_wire::{Client, Document, Entity, Filter, Query, TextQuery, phrase, plain, websearch};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::case;
use crate::common::differential::Differential;
use crate::common::model::{self, Truth, insert_documents, maybe, put};
use crate::common::plan::explain;

#[derive(Debug, Clone, PartialEq, Deserialize, Document)]
struct Author {
    name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Entity)]
#[entity(view = "v_post")]
struct Post {
    #[entity(column = "id")]
    id: i64,
    title: Option<String>,
    body: Option<String>,
    author: Author,
}

/// The words documents and queries are made of: lower-case letters only, so the `simple` configuration keeps
/// each as one lexeme, and none of them is `or` (an operator in `websearch`).
const WORDS: [&str; 5] = ["cat", "dog", "fish", "rust", "async"];

fn word() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(&WORDS[..])
}

/// One term of a `websearch` query.
#[derive(Clone, Debug)]
enum Term {
    Word(&'static str),
    Without(&'static str),
    Phrase(&'static str, &'static str),
}

#[derive(Clone, Debug)]
enum Expr {
    BodyPlain(Vec<&'static str>),
    BodyPhrase(Vec<&'static str>),
    BodyWeb(Vec<Term>),
    TitlePlain(&'static str),
    DocumentPlain(Vec<&'static str>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

model::boolean_tree!(Expr);

fn simple(query: TextQuery) -> TextQuery {
    query.config("simple")
}

fn web_text(terms: &[Term]) -> String {
    let terms: Vec<String> = terms
        .iter()
        .map(|term| match term {
            Term::Word(w) => (*w).to_owned(),
            Term::Without(w) => format!("-{w}"),
            Term::Phrase(a, b) => format!("\"{a} {b}\""),
        })
        .collect();
    terms.join(" ")
}

impl Expr {
    fn filter(&self) -> Filter<Post> {
        let p = Post::fields();
        match self {
            Expr::BodyPlain(words) => p.body.search(simple(plain(words.join(" ")))),
            Expr::BodyPhrase(words) => p.body.search(simple(phrase(words.join(" ")))),
            Expr::BodyWeb(terms) => p.body.search(simple(websearch(web_text(terms)))),
            Expr::TitlePlain(w) => p.title.search(simple(plain(*w))),
            Expr::DocumentPlain(words) => p.search(simple(plain(words.join(" ")))),
            Expr::And(a, b) => a.filter().and(b.filter()),
            Expr::Or(a, b) => a.filter().or(b.filter()),
            Expr::Not(a) => a.filter().not(),
        }
    }

    fn eval(&self, doc: &Value) -> Truth {
        match self {
            Expr::BodyPlain(words) => field_tokens(doc, "body").map(|t| !words.is_empty() && all_of(&t, words)),
            Expr::BodyPhrase(words) => field_tokens(doc, "body").map(|t| !words.is_empty() && adjacent(&t, words)),
            Expr::BodyWeb(terms) => field_tokens(doc, "body").map(|t| {
                !terms.is_empty()
                    && terms.iter().all(|term| match term {
                        Term::Word(w) => t.iter().any(|x| x == w),
                        Term::Without(w) => !t.iter().any(|x| x == w),
                        Term::Phrase(a, b) => adjacent(&t, &[a, b]),
                    })
            }),
            Expr::TitlePlain(w) => field_tokens(doc, "title").map(|t| t.iter().any(|x| x == w)),
            // The document is never null: every string in it, at any depth, keys excluded.
            Expr::DocumentPlain(words) => {
                let mut tokens = Vec::new();
                strings(doc, &mut tokens);
                Some(!words.is_empty() && all_of(&tokens, words))
            }
            Expr::And(a, b) => model::and(a.eval(doc), b.eval(doc)),
            Expr::Or(a, b) => model::or(a.eval(doc), b.eval(doc)),
            Expr::Not(a) => a.eval(doc).map(|t| !t),
        }
    }
}

/// The lexemes of `data->>key` under `simple`: NULL for a missing key or JSON null, else the words of its text
/// (a string's own text, any other value's JSON text), lower-cased, in order.
fn field_tokens(doc: &Value, key: &str) -> Option<Vec<String>> {
    let text = match doc.get(key)? {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(tokens(&text))
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_ascii_lowercase).collect()
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.extend(tokens(s)),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn all_of(tokens: &[String], words: &[&str]) -> bool {
    words.iter().all(|w| tokens.iter().any(|t| t == w))
}

fn adjacent(tokens: &[String], words: &[&str]) -> bool {
    tokens.windows(words.len()).any(|window| window.iter().zip(words).all(|(t, w)| t == w))
}

/// Words joined by separators the parser reads as blanks, some capitalised (which `simple` lower-cases).
fn text() -> impl Strategy<Value = String> {
    let token =
        (word(), any::<bool>()).prop_map(|(w, upper)| if upper { w.to_ascii_uppercase() } else { w.to_owned() });
    let separator = proptest::sample::select(&[" ", ", ", ". ", "; ", "\n", "  "][..]);
    proptest::collection::vec((token, separator), 0..6)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| format!("{t}{s}")).collect::<String>().trim_end().to_owned())
}

/// A text, or a value that is not a string (searched as its JSON text by `->>`; not at all by the document
/// search).
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => text().prop_map(Value::from),
        1 => (0i64..100).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => (word(), word()).prop_map(|(k, v)| json!({ k: v })),
        1 => proptest::collection::vec(prop_oneof![word().prop_map(Value::from), (0i64..9).prop_map(Value::from)], 0..4)
            .prop_map(Value::Array),
    ]
}

fn document() -> impl Strategy<Value = Map<String, Value>> {
    (maybe(text().prop_map(Value::from)), maybe(body()), maybe(text().prop_map(Value::from))).prop_map(
        |(title, body, author)| {
            let mut doc = Map::new();
            put(&mut doc, "title", title);
            put(&mut doc, "body", body);
            put(&mut doc, "author", author.map(|name| Some(json!({ "name": name }))));
            doc
        },
    )
}

fn term() -> impl Strategy<Value = Term> {
    prop_oneof![
        word().prop_map(Term::Word),
        word().prop_map(Term::Without),
        (word(), word()).prop_map(|(a, b)| Term::Phrase(a, b)),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let words = || proptest::collection::vec(word(), 0..3);
    let leaf = prop_oneof![
        words().prop_map(Expr::BodyPlain),
        words().prop_map(Expr::BodyPhrase),
        proptest::collection::vec(term(), 0..3).prop_map(Expr::BodyWeb),
        word().prop_map(Expr::TitlePlain),
        words().prop_map(Expr::DocumentPlain),
    ];
    model::tree(leaf, 6)
}

async fn post_table(db: &TestDatabase) {
    db.execute(
        "CREATE TABLE post (id bigint PRIMARY KEY, data jsonb NOT NULL);
         CREATE VIEW v_post AS SELECT id, data FROM post",
    )
    .await;
}

async fn connect(db: &TestDatabase) -> Client {
    crate::common::connect(&db.url(AuthUser::Superuser)).await
}

#[test]
fn search_agrees_with_a_rust_model() {
    let mut runner = TestRunner::new(ProptestConfig::default());
    let docs = proptest::collection::vec(document(), 300).new_tree(&mut runner).expect("documents").current();
    let server = Differential::load::<Post>("post", &docs);
    // As stored: `insert_documents` adds the id, a number, which no search reads.
    let docs: Vec<Value> = docs.into_iter().map(Value::Object).collect();
    let discriminating = server.agree(docs.len(), expr(), Expr::filter, |expr, i| expr.eval(&docs[i]));
    // The model must not be vacuous: many cases match some rows but not all.
    assert!(discriminating > 150, "only {discriminating} of 400 cases selected some rows but not all");
}

fn sample(id: i64) -> Post {
    Post { id, title: None, body: Some("rust".into()), author: Author { name: None } }
}

#[test]
fn sql_snapshots() {
    let q = websearch("rust async");
    let cases = [
        case("websearch on a text field, default config", &Post::select().filter(|p| p.body.search(&q))),
        case("plain, simple", &Post::select().filter(|p| p.body.search(plain("rust async").config("simple")))),
        case(
            "phrase, schema-qualified config",
            &Post::select().filter(|p| p.body.search(phrase("async rust").config("pg_catalog.english"))),
        ),
        case(
            "the text is a parameter, whatever it holds",
            &Post::select().filter(|p| p.title.search(websearch(r#"it's "a \ b" -c or d; DROP"#))),
        ),
        case("nested field", &Post::select().filter(|p| p.author.name.search(plain("ann")))),
        case("whole document", &Post::select().filter(|p| p.search(&q))),
        case("whole document, simple", &Post::select().filter(|p| p.search(plain("x").config("simple")))),
        case(
            "invalid config: an error, not SQL",
            &Post::select().filter(|p| p.body.search(plain("x").config("english'; DROP TABLE post; --"))),
        ),
        case(
            "search ordered by rank, then id",
            &Post::select().filter(|p| p.body.search(&q)).order_by(|p| (p.body.rank(&q).desc(), p.id.asc())).limit(10),
        ),
        case("document rank ascending", &Post::select().order_by(|p| (p.rank(&q).asc(), p.id.asc()))),
        case(
            "keyset after a row: its rank recomputed from its id",
            &Post::select()
                .filter(|p| p.body.search(&q))
                .order_by(|p| (p.body.rank(&q).desc(), p.id.asc()))
                .after(&sample(42))
                .limit(10),
        ),
        case(
            "invalid config in a rank",
            &Post::select().order_by(|p| (p.body.rank(plain("x").config("a.b.c")).desc(), p.id.asc())),
        ),
        case(
            "keyset over a rank that does not end with a unique key",
            &Post::select().order_by(|p| p.body.rank(&q).desc()).after(&sample(1)),
        ),
    ];
    insta::assert_snapshot!(cases.concat());
}

#[tokio::test]
async fn gin_indexes_serve_field_and_document_search() {
    let db = TestCluster::shared().database().await;
    post_table(&db).await;
    db.execute(
        "INSERT INTO post
         SELECT i, jsonb_build_object(
             'id', i,
             'title', 'post ' || i,
             'body', CASE WHEN i % 2000 = 0 THEN 'Writing async Rust services' ELSE 'plain words number ' || i END,
             'author', jsonb_build_object('name', CASE WHEN i % 5000 = 0 THEN 'Zeno Quill' ELSE 'author ' || i % 50 END))
         FROM generate_series(1, 20000) AS i;
         CREATE INDEX post_body_fts ON post USING gin (to_tsvector('english', data->>'body'));
         CREATE INDEX post_document_fts ON post USING gin (jsonb_to_tsvector('english', data, '[\"string\"]'));
         ANALYZE post;",
    )
    .await;
    let client = connect(&db).await;
    let ids = |rows: Vec<Post>| rows.into_iter().map(|p| p.id).collect::<Vec<_>>();

    // English stemming on both sides: "services" and "writing" are found by "service" and "write".
    let query = Post::query(&client).filter(|p| p.body.search(websearch("rust service write")));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("post_body_fts") && !plan.has("Seq Scan"), "{plan}");
    let expected: Vec<i64> = (1..=10).map(|n| n * 2000).collect();
    assert_eq!(ids(query.order_by(|p| p.id.asc()).fetch_all().await.expect("search")), expected);

    let query = Post::query(&client).filter(|p| p.body.search(phrase("async rust")));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("post_body_fts") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(ids(query.order_by(|p| p.id.asc()).fetch_all().await.expect("phrase")), expected);

    // The index's configuration is part of its expression: another configuration cannot use it.
    let query = Post::query(&client).filter(|p| p.body.search(websearch("rust").config("simple")));
    let plan = explain(&db, &query).await;
    assert!(!plan.uses_index("post_body_fts") && plan.has("Seq Scan"), "{plan}");

    let query = Post::query(&client).filter(|p| p.search(plain("zeno")));
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("post_document_fts") && !plan.has("Seq Scan"), "{plan}");
    assert_eq!(
        ids(query.order_by(|p| p.id.asc()).fetch_all().await.expect("document search")),
        [5000, 10000, 15000, 20000]
    );

    // Filter by the index, order the few matches by rank.
    let q = websearch("rust");
    let query =
        Post::query(&client).filter(|p| p.body.search(&q)).order_by(|p| (p.body.rank(&q).desc(), p.id.asc())).limit(3);
    let plan = explain(&db, &query).await;
    assert!(plan.uses_index("post_body_fts"), "{plan}");
    assert_eq!(ids(query.fetch_all().await.expect("ranked")), [2000, 4000, 6000]);
}

/// Pages of `size` rows after each page's last row, until an empty page.
async fn pages(query: &Query<Post>, size: u64) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut last: Option<Post> = None;
    loop {
        let page = match &last {
            Some(row) => query.clone().after(row),
            None => query.clone(),
        };
        let rows = page.limit(size).fetch_all().await.unwrap_or_else(|e| panic!("page: {e}"));
        let Some(end) = rows.last().cloned() else { return seen };
        seen.extend(rows.iter().map(|p| p.id));
        last = Some(end);
    }
}

#[tokio::test]
async fn keyset_pagination_over_rank_visits_every_row_once_in_order() {
    let db = TestCluster::shared().database().await;
    post_table(&db).await;
    // Few distinct bodies, so most ranks tie; some rows without a body or with a null one (rank 0).
    let bodies = [
        Some("rust"),
        Some("rust rust async"),
        Some("async"),
        Some("Rust is fast; rust is safe, rust"),
        Some("nothing here"),
        None,
        Some("rust and async rust"),
    ];
    let docs: Vec<Map<String, Value>> = (0..150)
        .map(|i| {
            let mut doc = Map::new();
            put(&mut doc, "author", Some(Some(json!({}))));
            match bodies[i % bodies.len()] {
                Some(body) => put(&mut doc, "body", Some(Some(Value::from(body)))),
                None if i % 2 == 0 => put(&mut doc, "body", Some(None)),
                None => {}
            }
            doc
        })
        .collect();
    insert_documents(&db, "post", &docs).await;
    let client = connect(&db).await;

    let q = websearch("rust async");
    let queries = [
        Post::query(&client).filter(|p| p.body.search(&q)).order_by(|p| (p.body.rank(&q).desc(), p.id.asc())),
        // Every row: the non-matching ones tie at rank 0.
        Post::query(&client).order_by(|p| (p.body.rank(plain("rust")).desc(), p.id.desc())),
        Post::query(&client).order_by(|p| (p.rank(plain("rust async")).asc(), p.id.asc())),
    ];
    for query in &queries {
        let all: Vec<i64> = query.clone().fetch_all().await.expect("unpaged").into_iter().map(|p| p.id).collect();
        assert!(all.len() > 20, "{} rows", all.len());
        for size in [1, 4, 7] {
            assert_eq!(pages(query, size).await, all, "pages of {size}: {:?}", query.to_sql().map(|s| s.sql));
        }
    }

    // The row a page continues after must still exist: if it is gone, its rank cannot be recomputed and the
    // next page is empty (documented).
    let query = &queries[1];
    let first = query.clone().limit(1).fetch_one().await.expect("first row");
    db.execute(&format!("DELETE FROM post WHERE id = {}", first.id)).await;
    let after_deleted = query.clone().after(&first).fetch_all().await.expect("after a deleted row");
    assert!(after_deleted.is_empty(), "{after_deleted:?}");
}
