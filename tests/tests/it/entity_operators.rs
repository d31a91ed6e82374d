//! Every typed operator family of `#[derive(Entity)]` against a real PostgreSQL: each assertion compares the ids
//! the server returns with ids worked out by hand from the 20 documents of [`documents`].
//!
//! The data exercises the edges: missing keys and JSON `null` (both "null" to `is_null`), unicode (é, emoji, CJK),
//! `%`, `_` and `\` inside values (literal for `starts_with`/`ends_with`/`contains`, patterns for `like`/`ilike`),
//! negative and fractional numbers, a `#[derive(Scalar)]` enum and a `#[serde(transparent)]` newtype, lists of
//! every length, nested documents and a real column. The test cluster uses the C collation, so text orders
//! bytewise (uppercase before lowercase, ASCII before any non-ASCII character).

use fraiseql_wire::{Client, Error, Filter, Query};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use serde_json::{Value, json};

use serde::Serialize;

use crate::common::project::{self, Address, CITY, CREATED_AT, Email, Owner, Project, ProjectFields, Status};

/// The 20 documents. Columns, for working out expectations (`-` missing key, `null` JSON null):
///
/// ```text
/// id name        status  prio score  done tags              team lead                  email
///  1 Alpha       active     5  2.5   f    [rust,db]         core Ann                   a@x.io
///  2 alpha       on_hold    3 -0.25  t    [rust]            core -                     null
///  3 Beta        done      -5  -     f    []                web  null                  -
///  4 café        active     0  0.0   t    [é,db]            core Zoë                   zoë@café.fr
///  5 🚀 launch   active    10 99.75  f    [🚀]              ops  -                     r@x.io
///  6 数据库      on_hold    3  null  f    [数据,db]         数据 李                    null
///  7 50% off     active     1  1.5   t    [sale,%]          web  -                     s@x.io
///  8 500 off     active     1  1     f    [sale]            web  -                     -
///  9 a_b         done       2  2.5   f    [x_y]             core Ann                   -
/// 10 axb         done       2  2     t    [xzy]             core -                     -
/// 11 back\slash  active    -1 -3     f    [\]               ops  -                     b@x.io
/// 12 backslash   active    -1  -     t    []                ops  O'Brien "Bob", {jr}   -
/// 13 Gamma       active     4  -     t    [rust,web,db]     core Ann                   g@x.io
/// 14 delta       on_hold    4  4.25  f    [web]             web  -                     d@x.io
/// 15 Ωmega       done      -5 -0.25  t    [rust,🚀]         ops  -                     null
/// 16 zeta        active     7  null  f    [a,b,c,d]         core -                     -
/// 17 end%        active     2  -     f    []                web  -                     -
/// 18 100%        done       8  8.5   t    [sale]            ops  -                     -
/// 19 Ümlaut      on_hold    6  6     f    [ü]               core -                     u@x.io
/// 20 ALPHA       active     5  2.5   t    [RUST]            core -                     -
/// ```
fn documents() -> Vec<Value> {
    vec![
        json!({"id": 1, "name": "Alpha", "status": "active", "priority": 5, "score": 2.5, "done": false,
               "tags": ["rust", "db"], "owner": {"team": "core", "lead": "Ann"}, "email": "a@x.io"}),
        json!({"id": 2, "name": "alpha", "status": "on_hold", "priority": 3, "score": -0.25, "done": true,
               "tags": ["rust"], "owner": {"team": "core"}, "email": null}),
        json!({"id": 3, "name": "Beta", "status": "done", "priority": -5, "done": false,
               "tags": [], "owner": {"team": "web", "lead": null}}),
        json!({"id": 4, "name": "café", "status": "active", "priority": 0, "score": 0.0, "done": true,
               "tags": ["é", "db"], "owner": {"team": "core", "lead": "Zoë"}, "email": "zoë@café.fr"}),
        json!({"id": 5, "name": "🚀 launch", "status": "active", "priority": 10, "score": 99.75, "done": false,
               "tags": ["🚀"], "owner": {"team": "ops"}, "email": "r@x.io"}),
        json!({"id": 6, "name": "数据库", "status": "on_hold", "priority": 3, "score": null, "done": false,
               "tags": ["数据", "db"], "owner": {"team": "数据", "lead": "李"}, "email": null}),
        json!({"id": 7, "name": "50% off", "status": "active", "priority": 1, "score": 1.5, "done": true,
               "tags": ["sale", "%"], "owner": {"team": "web"}, "email": "s@x.io"}),
        json!({"id": 8, "name": "500 off", "status": "active", "priority": 1, "score": 1, "done": false,
               "tags": ["sale"], "owner": {"team": "web"}}),
        json!({"id": 9, "name": "a_b", "status": "done", "priority": 2, "score": 2.5, "done": false,
               "tags": ["x_y"], "owner": {"team": "core", "lead": "Ann"}}),
        json!({"id": 10, "name": "axb", "status": "done", "priority": 2, "score": 2, "done": true,
               "tags": ["xzy"], "owner": {"team": "core"}}),
        json!({"id": 11, "name": "back\\slash", "status": "active", "priority": -1, "score": -3, "done": false,
               "tags": ["\\"], "owner": {"team": "ops"}, "email": "b@x.io"}),
        json!({"id": 12, "name": "backslash", "status": "active", "priority": -1, "done": true,
               "tags": [], "owner": {"team": "ops", "lead": "O'Brien \"Bob\", {jr}"}}),
        json!({"id": 13, "name": "Gamma", "status": "active", "priority": 4, "done": true,
               "tags": ["rust", "web", "db"], "owner": {"team": "core", "lead": "Ann"}, "email": "g@x.io"}),
        json!({"id": 14, "name": "delta", "status": "on_hold", "priority": 4, "score": 4.25, "done": false,
               "tags": ["web"], "owner": {"team": "web"}, "email": "d@x.io"}),
        json!({"id": 15, "name": "Ωmega", "status": "done", "priority": -5, "score": -0.25, "done": true,
               "tags": ["rust", "🚀"], "owner": {"team": "ops"}, "email": null}),
        json!({"id": 16, "name": "zeta", "status": "active", "priority": 7, "score": null, "done": false,
               "tags": ["a", "b", "c", "d"], "owner": {"team": "core"}}),
        json!({"id": 17, "name": "end%", "status": "active", "priority": 2, "done": false,
               "tags": [], "owner": {"team": "web"}}),
        json!({"id": 18, "name": "100%", "status": "done", "priority": 8, "score": 8.5, "done": true,
               "tags": ["sale"], "owner": {"team": "ops"}}),
        json!({"id": 19, "name": "Ümlaut", "status": "on_hold", "priority": 6, "score": 6, "done": false,
               "tags": ["ü"], "owner": {"team": "core"}, "email": "u@x.io"}),
        json!({"id": 20, "name": "ALPHA", "status": "active", "priority": 5, "score": 2.5, "done": true,
               "tags": ["RUST"], "owner": {"team": "core"}}),
    ]
}

const ALL: [i64; 20] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];

/// Every id but `excluded`, ascending.
fn all_except(excluded: &[i64]) -> Vec<i64> {
    ALL.iter().copied().filter(|id| !excluded.contains(id)).collect()
}

/// A fresh database holding `app.project(id, data)` and `app.v_project`, the given documents, and a client on it.
struct Fixture {
    client: Client,
    _db: TestDatabase,
}

async fn fixture_with(docs: &[Value]) -> Fixture {
    let db = TestCluster::shared().database().await;
    project::create(&db, docs).await;
    let client = match Client::connect(&db.url(AuthUser::Superuser)).await {
        Ok(client) => client,
        Err(e) => panic!("connecting: {e}"),
    };
    Fixture { client, _db: db }
}

async fn fixture() -> Fixture {
    fixture_with(&documents()).await
}

/// The ids of the rows `query` returns, in order; on failure the panic shows the SQL.
async fn fetch_ids(query: Query<Project>) -> Vec<i64> {
    let shown = format!("{query:?}");
    match query.fetch_all().await {
        Ok(rows) => rows.iter().map(|p| p.id).collect(),
        Err(e) => panic!("query failed: {e}\n{shown}"),
    }
}

/// The ids (ascending) of the rows matching `filter`, compared with `expected`.
async fn check(client: &Client, filter: Filter<Project>, expected: &[i64]) {
    let shown = format!("{filter:?}");
    let got = fetch_ids(Project::query(client).filter_by(filter).order_by(|p| p.id.asc())).await;
    assert_eq!(got, expected, "{shown}");
}

#[tokio::test]
async fn text_comparisons_are_exact_and_bytewise() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    check(c, p.name.eq("alpha"), &[2]).await;
    check(c, p.name.eq("café"), &[4]).await;
    check(c, p.name.eq("🚀 launch"), &[5]).await;
    check(c, p.name.eq("数据库"), &[6]).await;
    check(c, p.name.eq("back\\slash"), &[11]).await;
    let owned = String::from("50% off");
    check(c, p.name.eq(&owned), &[7]).await;
    check(c, p.name.eq(owned), &[7]).await;
    check(c, p.name.eq("nope"), &[]).await;
    check(c, p.name.ne("alpha"), &all_except(&[2])).await;
    // C collation: digits < uppercase < `_` < lowercase < any non-ASCII character (by UTF-8 bytes).
    check(c, p.name.lt("Beta"), &[1, 7, 8, 18, 20]).await;
    check(c, p.name.lte("100%"), &[18]).await;
    check(c, p.name.gt("zeta"), &[5, 6, 15, 19]).await;
    check(c, p.name.gte("zeta"), &[5, 6, 15, 16, 19]).await;
    check(c, p.name.gte("back\\").and(p.name.lt("backt")), &[11, 12]).await;
    // Nested text.
    check(c, p.owner.team.eq("数据"), &[6]).await;
    check(c, p.owner.team.gt("ops"), &[3, 6, 7, 8, 14, 17]).await;
}

#[tokio::test]
async fn like_family_escapes_literals_and_keeps_patterns() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    // starts_with / ends_with / contains take their argument literally.
    check(c, p.name.starts_with("50%"), &[7]).await;
    check(c, p.name.starts_with("a_"), &[9]).await;
    check(c, p.name.starts_with("back\\"), &[11]).await;
    check(c, p.name.starts_with("数"), &[6]).await;
    check(c, p.name.starts_with("🚀"), &[5]).await;
    check(c, p.name.starts_with(""), &ALL).await;
    check(c, p.name.ends_with("%"), &[17, 18]).await;
    check(c, p.name.ends_with("h"), &[5, 11, 12]).await;
    check(c, p.name.ends_with("é"), &[4]).await;
    check(c, p.name.contains("%"), &[7, 17, 18]).await;
    check(c, p.name.contains("_"), &[9]).await;
    check(c, p.name.contains("\\"), &[11]).await;
    check(c, p.name.contains("é"), &[4]).await;
    check(c, p.name.contains("据"), &[6]).await;
    check(c, p.name.contains("0% o"), &[7]).await;
    check(c, p.name.contains(""), &ALL).await;
    // like / ilike take a pattern: `%` any run, `_` one character, `\` escapes the next one.
    check(c, p.name.like("50%"), &[7, 8]).await;
    check(c, p.name.like("a_b"), &[9, 10]).await;
    check(c, p.name.like("a\\_b"), &[9]).await;
    check(c, p.name.like("%\\%"), &[17, 18]).await;
    check(c, p.name.like("back\\\\slash"), &[11]).await;
    check(c, p.name.like("back\\slash"), &[12]).await;
    check(c, p.name.like("alpha"), &[2]).await;
    check(c, p.name.like("caf_"), &[4]).await;
    check(c, p.name.like("%"), &ALL).await;
    check(c, p.name.like(""), &[]).await;
    check(c, p.name.ilike("alpha"), &[1, 2, 20]).await;
    check(c, p.name.ilike("%ALPHA%"), &[1, 2, 20]).await;
    check(c, p.name.ilike("A_B"), &[9, 10]).await;
    check(c, p.name.ilike("%LAUNCH"), &[5]).await;
    // On a nested field and on an optional newtype.
    check(c, p.owner.team.like("c%"), &[1, 2, 4, 9, 10, 13, 16, 19, 20]).await;
    check(c, p.email.ends_with("@x.io"), &[1, 5, 7, 11, 13, 14, 19]).await;
    // `contains` on a text newtype takes the newtype (starts_with/ends_with take a `&str`).
    check(c, p.email.contains("é"), &[4]).await;
    check(c, p.owner.lead.contains("\"Bob\", {"), &[12]).await;
}

#[tokio::test]
async fn numbers_compare_as_numeric() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    check(c, p.priority.eq(-5), &[3, 15]).await;
    check(c, p.priority.ne(3), &all_except(&[2, 6])).await;
    check(c, p.priority.gt(4), &[1, 5, 16, 18, 19, 20]).await;
    check(c, p.priority.gte(4), &[1, 5, 13, 14, 16, 18, 19, 20]).await;
    check(c, p.priority.lt(0), &[3, 11, 12, 15]).await;
    check(c, p.priority.lte(0), &[3, 4, 11, 12, 15]).await;
    // Numeric, not text: 10 > 8 (as text "10" < "8").
    check(c, p.priority.gt(8), &[5]).await;
    check(c, p.priority.between(-1, 2), &[4, 7, 8, 9, 10, 11, 12, 17]).await;
    check(c, p.priority.between(2, -1), &[]).await;
    check(c, p.priority.in_list([-5, 10, 42]), &[3, 5, 15]).await;
    check(c, p.priority.not_in([1, 2, 3]), &[1, 3, 4, 5, 11, 12, 13, 14, 15, 16, 18, 19, 20]).await;
    // Fractions and negative fractions; an integer in the document equals the same float.
    check(c, p.score.eq(2.5), &[1, 9, 20]).await;
    check(c, p.score.eq(-0.25), &[2, 15]).await;
    check(c, p.score.eq(1.0), &[8]).await;
    check(c, p.score.eq(0.0), &[4]).await;
    check(c, p.score.gt(2.0), &[1, 5, 9, 14, 18, 19, 20]).await;
    check(c, p.score.gte(2.0), &[1, 5, 9, 10, 14, 18, 19, 20]).await;
    check(c, p.score.lt(0.0), &[2, 11, 15]).await;
    check(c, p.score.lte(-0.25), &[2, 11, 15]).await;
    check(c, p.score.between(-0.25, 1.0), &[2, 4, 8, 15]).await;
    // A missing or null score matches neither a comparison nor its negation.
    check(c, p.score.ne(2.5), &[2, 4, 5, 7, 8, 10, 11, 14, 15, 18, 19]).await;
    check(c, p.score.gt(-0.5).not(), &[11]).await;
}

#[tokio::test]
async fn booleans() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    let done = [2, 4, 7, 10, 12, 13, 15, 18, 20];
    check(c, p.done.eq(true), &done).await;
    check(c, p.done.eq(false), &all_except(&done)).await;
    check(c, p.done.ne(true), &all_except(&done)).await;
    check(c, p.done.in_list([true]), &done).await;
    check(c, p.done.in_list([true, false]), &ALL).await;
    check(c, p.done.not_in([false]), &done).await;
}

#[tokio::test]
async fn scalar_enum_and_transparent_newtype() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    let on_hold = [2, 6, 14, 19];
    let not_active = [2, 3, 6, 9, 10, 14, 15, 18, 19];
    check(c, p.status.eq(Status::OnHold), &on_hold).await;
    check(c, p.status.eq(Status::Done), &[3, 9, 10, 15, 18]).await;
    check(c, p.status.ne(Status::Active), &not_active).await;
    check(c, p.status.in_list([Status::OnHold, Status::Done]), &not_active).await;
    check(c, p.status.not_in([Status::Active]), &not_active).await;
    // An enum is text: its snake_case string, `_` taken literally by starts_with.
    check(c, p.status.starts_with("on_"), &on_hold).await;
    check(c, p.status.like("on%"), &on_hold).await;
    // The newtype compares as its inner string.
    check(c, p.email.eq(Email("a@x.io".into())), &[1]).await;
    check(c, p.email.eq(Email("zoë@café.fr".into())), &[4]).await;
    check(c, p.email.ne(Email("a@x.io".into())), &[4, 5, 7, 11, 13, 14, 19]).await;
    check(c, p.email.in_list([Email("r@x.io".into()), Email("u@x.io".into())]), &[5, 19]).await;
    check(c, p.email.gt(Email("r@x.io".into())), &[4, 7, 19]).await;
}

#[tokio::test]
async fn options_are_null_when_missing_or_json_null() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    // score: missing on 3, 12, 13, 17; JSON null on 6, 16.
    check(c, p.score.is_null(), &[3, 6, 12, 13, 16, 17]).await;
    check(c, p.score.is_not_null(), &all_except(&[3, 6, 12, 13, 16, 17])).await;
    // email: JSON null on 2, 6, 15; missing on the rest without one.
    let no_email = [2, 3, 6, 8, 9, 10, 12, 15, 16, 17, 18, 20];
    check(c, p.email.is_null(), &no_email).await;
    check(c, p.email.is_not_null(), &all_except(&no_email)).await;
    // A nested option: lead is JSON null on 3, missing on most.
    let leads = [1, 4, 6, 9, 12, 13];
    check(c, p.owner.lead.is_null(), &all_except(&leads)).await;
    check(c, p.owner.lead.is_not_null(), &leads).await;
    check(c, p.owner.lead.eq("Zoë"), &[4]).await;
    check(c, p.owner.lead.in_list(["O'Brien \"Bob\", {jr}", "李"]), &[6, 12]).await;
    check(c, p.score.is_null().or(p.score.lt(0.0)), &[2, 3, 6, 11, 12, 13, 15, 16, 17]).await;
    check(c, p.score.is_null().not(), &all_except(&[3, 6, 12, 13, 16, 17])).await;
}

#[tokio::test]
async fn list_containment_and_length() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    check(c, p.tags.contains("rust"), &[1, 2, 13, 15]).await;
    check(c, p.tags.contains("RUST"), &[20]).await;
    check(c, p.tags.contains("ru"), &[]).await;
    check(c, p.tags.contains("🚀"), &[5, 15]).await;
    check(c, p.tags.contains("数据"), &[6]).await;
    check(c, p.tags.contains("é"), &[4]).await;
    check(c, p.tags.contains("\\"), &[11]).await;
    check(c, p.tags.contains("%"), &[7]).await;
    check(c, p.tags.contains("x_y"), &[9]).await;
    check(c, p.tags.contains_all(["rust", "db"]), &[1, 13]).await;
    check(c, p.tags.contains_all(["rust", "nope"]), &[]).await;
    check(c, p.tags.contains_all(["a", "d", "c"]), &[16]).await;
    check(c, p.tags.contains_all(Vec::<&str>::new()), &ALL).await;
    check(c, p.tags.contains_any(["db", "sale"]), &[1, 4, 6, 7, 8, 13, 18]).await;
    check(c, p.tags.contains_any(["nope"]), &[]).await;
    check(c, p.tags.contains_any(Vec::<&str>::new()), &[]).await;
    check(c, p.tags.contains_any(["rust"]).not(), &all_except(&[1, 2, 13, 15])).await;
    check(c, p.tags.is_empty(), &[3, 12, 17]).await;
    check(c, p.tags.is_empty().not(), &all_except(&[3, 12, 17])).await;
    check(c, p.tags.len_eq(0), &[3, 12, 17]).await;
    check(c, p.tags.len_eq(1), &[2, 5, 8, 9, 10, 11, 14, 18, 19, 20]).await;
    check(c, p.tags.len_eq(4), &[16]).await;
    check(c, p.tags.len_gt(1), &[1, 4, 6, 7, 13, 15, 16]).await;
    check(c, p.tags.len_gte(2), &[1, 4, 6, 7, 13, 15, 16]).await;
    check(c, p.tags.len_gte(3), &[13, 16]).await;
    check(c, p.tags.len_lt(1), &[3, 12, 17]).await;
    check(c, p.tags.len_lte(1), &[2, 3, 5, 8, 9, 10, 11, 12, 14, 17, 18, 19, 20]).await;
    check(c, p.tags.len_gt(4), &[]).await;
}

#[tokio::test]
async fn nested_documents_and_matches() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    let core = [1, 2, 4, 9, 10, 13, 16, 19, 20];
    check(c, p.owner.team.eq("core"), &core).await;
    check(c, p.owner.team.ne("core"), &all_except(&core)).await;
    check(c, p.owner.team.in_list(["web", "ops"]), &[3, 5, 7, 8, 11, 12, 14, 15, 17, 18]).await;
    check(c, p.owner.contains(&json!({"team": "core", "lead": "Ann"})), &[1, 9, 13]).await;
    check(c, p.owner.contains(&json!({"team": "数据"})), &[6]).await;
    // Containment tells JSON null from a missing key.
    check(c, p.owner.contains(&json!({"lead": null})), &[3]).await;
    check(c, p.owner.contains(&json!({})), &ALL).await;
    check(c, Project::fields().matches(&json!({"status": "active", "owner": {"team": "ops"}})), &[5, 11, 12]).await;
    check(c, p.matches(&json!({"tags": ["db"], "done": true})), &[4, 13]).await;
    check(c, p.matches(&json!({"name": "café"})), &[4]).await;
    check(c, p.matches(&json!({"name": "back\\slash", "tags": ["\\"]})), &[11]).await;
    check(c, p.matches(&json!({"score": 2.5})), &[1, 9, 20]).await;
    check(c, p.matches(&json!({"email": null})), &[2, 6, 15]).await;
    check(c, p.matches(&json!({})), &ALL).await;
    // A serializable struct works as well as `json!`.
    #[derive(Serialize)]
    struct Partial {
        status: Status,
        done: bool,
    }
    check(c, p.matches(&Partial { status: Status::Done, done: true }), &[10, 15, 18]).await;
}

#[tokio::test]
async fn column_fields_use_the_column() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    assert_eq!(p.id.sql(), "\"id\"");
    check(c, p.id.eq(7), &[7]).await;
    check(c, p.id.ne(7), &all_except(&[7])).await;
    check(c, p.id.gt(17), &[18, 19, 20]).await;
    check(c, p.id.lte(2), &[1, 2]).await;
    check(c, p.id.between(5, 7), &[5, 6, 7]).await;
    check(c, p.id.in_list([3i64, 5, 99]), &[3, 5]).await;
    check(c, p.id.in_list(Vec::<i64>::new()), &[]).await;
    check(c, p.id.not_in([1i64, 2, 3]), &all_except(&[1, 2, 3])).await;
    check(c, p.id.not_in(Vec::<i64>::new()), &ALL).await;
}

#[tokio::test]
async fn in_list_and_not_in_with_awkward_values() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    // Array-literal metacharacters (`"`, `\`, `,`, `{`) and unicode inside the values.
    check(c, p.name.in_list(["back\\slash", "50% off", "数据库", "nope"]), &[6, 7, 11]).await;
    check(c, p.name.in_list(["Alpha", "café"]), &[1, 4]).await;
    check(c, p.name.in_list(Vec::<&str>::new()), &[]).await;
    check(c, p.name.not_in(["Alpha", "alpha"]), &all_except(&[1, 2])).await;
    check(c, p.name.not_in(Vec::<&str>::new()), &ALL).await;
    check(c, p.owner.lead.in_list(["O'Brien \"Bob\", {jr}"]), &[12]).await;
    // A null or missing value is in no list and, for a non-empty list, not "not in" it either.
    check(c, p.email.in_list([Email("a@x.io".into())]), &[1]).await;
    check(c, p.email.not_in([Email("a@x.io".into())]), &[4, 5, 7, 11, 13, 14, 19]).await;
    // `x <> ALL('{}')` is true even for a null `x`.
    check(c, p.email.not_in(Vec::<Email>::new()), &ALL).await;
    check(c, p.score.in_list([2.5, -3.0]), &[1, 9, 11, 20]).await;
    check(c, p.score.not_in([2.5, -3.0]), &[2, 4, 5, 7, 8, 10, 14, 15, 18, 19]).await;
}

#[tokio::test]
async fn combinators() {
    let fx = fixture().await;
    let (c, p) = (&fx.client, Project::fields());
    check(c, p.status.eq(Status::Active).and(p.priority.gte(5)), &[1, 5, 16, 20]).await;
    check(c, p.owner.team.eq("ops").or(p.tags.contains("sale")), &[5, 7, 8, 11, 12, 15, 18]).await;
    check(c, p.owner.team.eq("ops") | p.tags.contains("sale"), &[5, 7, 8, 11, 12, 15, 18]).await;
    check(c, p.status.eq(Status::Active) & p.priority.gte(5), &[1, 5, 16, 20]).await;
    check(c, !p.done.eq(true), &all_except(&[2, 4, 7, 10, 12, 13, 15, 18, 20])).await;
    check(c, p.done.eq(true).not().not(), &[2, 4, 7, 10, 12, 13, 15, 18, 20]).await;
    // Precedence follows the method calls: (ops OR sale) AND done.
    check(c, p.owner.team.eq("ops").or(p.tags.contains("sale")).and(p.done.eq(true)), &[7, 12, 15, 18]).await;
    check(c, p.owner.team.eq("ops").or(p.tags.contains("sale").and(p.done.eq(true))), &[5, 7, 11, 12, 15, 18]).await;
    // all / any over iterators, including empty ones.
    check(c, Filter::all([p.priority.gt(0), p.priority.lt(5), p.done.eq(false)]), &[6, 8, 9, 14, 17]).await;
    check(c, Filter::all(Vec::new()), &ALL).await;
    check(c, Filter::any(Vec::new()), &[]).await;
    check(c, Filter::any(["core", "ops"].into_iter().map(|t| p.owner.team.eq(t))), &all_except(&[3, 6, 7, 8, 14, 17]))
        .await;
    check(c, Filter::any((1..=3).map(|i| p.id.eq(i))), &[1, 2, 3]).await;
    check(c, Filter::all((1..=3).map(|i| p.id.ne(i))), &all_except(&[1, 2, 3])).await;
    check(c, Filter::all([Filter::always(), p.id.eq(4)]), &[4]).await;
    check(c, Filter::any([Filter::never(), p.id.eq(4)]), &[4]).await;
    check(c, Filter::always(), &ALL).await;
    check(c, Filter::never(), &[]).await;
    check(c, Filter::never().not(), &ALL).await;
    check(c, Filter::all([Filter::never(), p.id.eq(4)]), &[]).await;
    check(c, Filter::any([Filter::always(), p.id.eq(4)]), &ALL).await;
    // Three-valued logic: NOT of a comparison with a missing value is not true either.
    check(c, p.score.gt(0.0).or(p.score.lte(0.0)), &all_except(&[3, 6, 12, 13, 16, 17])).await;
    check(c, p.score.gt(0.0).or(p.score.lte(0.0)).not(), &[]).await;
    // Several `filter` calls combine with AND; their parameters are numbered in order.
    let got = fetch_ids(
        Project::query(c)
            .filter(|p| p.owner.team.eq("core"))
            .filter(|p| p.tags.contains("rust").or(p.name.ilike("%alpha%")))
            .filter(|p| p.priority.between(3, 5))
            .order_by(|p| p.id.asc()),
    )
    .await;
    assert_eq!(got, [1, 2, 13, 20]);
}

#[tokio::test]
async fn order_by_option_with_nulls_first_and_last() {
    let fx = fixture().await;
    let c = &fx.client;
    let nulls = [3, 6, 12, 13, 16, 17];
    let ascending = [11, 2, 15, 4, 8, 7, 10, 1, 9, 20, 14, 19, 18, 5];
    let descending = [5, 18, 19, 14, 1, 9, 20, 10, 7, 8, 4, 2, 15, 11];
    let order = |keys: fn(&ProjectFields) -> Vec<fraiseql_wire::OrderKey<Project>>| {
        fetch_ids(Project::query(c).order_by(keys).order_by(|p| p.id.asc()))
    };
    let concat = |a: &[i64], b: &[i64]| [a, b].concat();
    // PostgreSQL's defaults: NULLS LAST for ASC, NULLS FIRST for DESC.
    assert_eq!(order(|p| vec![p.score.asc()]).await, concat(&ascending, &nulls));
    assert_eq!(order(|p| vec![p.score.desc()]).await, concat(&nulls, &descending));
    assert_eq!(order(|p| vec![p.score.asc().nulls_first()]).await, concat(&nulls, &ascending));
    assert_eq!(order(|p| vec![p.score.asc().nulls_last()]).await, concat(&ascending, &nulls));
    assert_eq!(order(|p| vec![p.score.desc().nulls_last()]).await, concat(&descending, &nulls));
    assert_eq!(order(|p| vec![p.score.desc().nulls_first()]).await, concat(&nulls, &descending));
    // A nested optional text key: lead present on 1 Ann, 4 Zoë, 6 李, 9 Ann, 12 O'Brien…, 13 Ann.
    assert_eq!(order(|p| vec![p.owner.lead.asc().nulls_first()]).await[14..], [1, 9, 13, 12, 4, 6]);
}

#[tokio::test]
async fn order_by_several_keys_limit_and_offset() {
    let fx = fixture().await;
    let c = &fx.client;
    let by_name = [18, 7, 8, 20, 1, 3, 13, 9, 2, 10, 11, 12, 4, 14, 17, 16, 19, 15, 6, 5];
    assert_eq!(fetch_ids(Project::query(c).order_by(|p| p.name.asc())).await, by_name);
    let reversed: Vec<i64> = by_name.iter().rev().copied().collect();
    assert_eq!(fetch_ids(Project::query(c).order_by(|p| p.name.desc())).await, reversed);
    assert_eq!(
        fetch_ids(Project::query(c).order_by(|p| (p.status.asc(), p.priority.desc(), p.id.asc()))).await,
        [5, 16, 1, 20, 13, 17, 7, 8, 4, 11, 12, 18, 9, 10, 3, 15, 19, 14, 2, 6]
    );
    // Successive `order_by` calls append keys; an array works like a tuple.
    assert_eq!(
        fetch_ids(Project::query(c).order_by(|p| p.status.asc()).order_by(|p| [p.priority.desc(), p.id.desc()])).await,
        [5, 16, 20, 1, 13, 17, 8, 7, 4, 12, 11, 18, 10, 9, 15, 3, 19, 14, 6, 2]
    );
    assert_eq!(
        fetch_ids(Project::query(c).order_by(|p| (p.owner.team.asc(), p.id.desc()))).await,
        [20, 19, 16, 13, 10, 9, 4, 2, 1, 18, 15, 12, 11, 5, 17, 14, 8, 7, 3, 6]
    );
    let by_id = || Project::query(c).order_by(|p| p.id.asc());
    assert_eq!(fetch_ids(by_id().limit(5).offset(3)).await, [4, 5, 6, 7, 8]);
    assert_eq!(fetch_ids(by_id().offset(3).limit(5)).await, [4, 5, 6, 7, 8]);
    assert_eq!(fetch_ids(by_id().limit(3)).await, [1, 2, 3]);
    assert_eq!(fetch_ids(by_id().limit(0)).await, Vec::<i64>::new());
    assert_eq!(fetch_ids(by_id().offset(18)).await, [19, 20]);
    assert_eq!(fetch_ids(by_id().offset(25)).await, Vec::<i64>::new());
    assert_eq!(fetch_ids(by_id().limit(100)).await, ALL);
    // The last call wins.
    assert_eq!(fetch_ids(by_id().limit(1).limit(2)).await, [1, 2]);
    assert_eq!(
        fetch_ids(
            Project::query(c)
                .filter(|p| p.tags.contains("rust"))
                .order_by(|p| (p.priority.desc(), p.id.asc()))
                .limit(2)
        )
        .await,
        [1, 13]
    );
}

#[tokio::test]
async fn count_honours_filters_limit_and_offset() {
    let fx = fixture().await;
    let c = &fx.client;
    let count = |q: Query<Project>| async move {
        let shown = format!("{q:?}");
        q.count().await.unwrap_or_else(|e| panic!("count failed: {e}\n{shown}"))
    };
    assert_eq!(count(Project::query(c)).await, 20);
    assert_eq!(count(Project::query(c).filter(|p| p.owner.team.eq("core"))).await, 9);
    assert_eq!(count(Project::query(c).filter(|p| p.score.is_null())).await, 6);
    assert_eq!(count(Project::query(c).filter(|_| Filter::never())).await, 0);
    assert_eq!(count(Project::query(c).limit(5)).await, 5);
    assert_eq!(count(Project::query(c).limit(0)).await, 0);
    assert_eq!(count(Project::query(c).offset(18)).await, 2);
    assert_eq!(count(Project::query(c).offset(30)).await, 0);
    assert_eq!(count(Project::query(c).filter(|p| p.owner.team.eq("core")).limit(100)).await, 9);
    assert_eq!(count(Project::query(c).filter(|p| p.owner.team.eq("core")).limit(5).offset(6)).await, 3);
    assert_eq!(count(Project::query(c).filter(|p| p.tags.contains_any(["db", "sale"]))).await, 7);
}

#[tokio::test]
async fn count_of_an_ordered_query() {
    let fx = fixture().await;
    let c = &fx.client;
    // The same query is often counted and then fetched; ordering does not change how many rows match.
    let ordered = Project::query(c).filter(|p| p.owner.team.eq("core")).order_by(|p| (p.priority.desc(), p.id.asc()));
    let shown = format!("{ordered:?}");
    assert_eq!(ordered.clone().count().await.unwrap_or_else(|e| panic!("count failed: {e}\n{shown}")), 9);
    assert_eq!(ordered.limit(4).count().await.unwrap_or_else(|e| panic!("count failed: {e}\n{shown}")), 4);
}

#[tokio::test]
async fn fetch_one_optional_and_all() {
    let fx = fixture().await;
    let c = &fx.client;
    let cafe = Project {
        id: 4,
        name: "café".into(),
        status: Status::Active,
        priority: 0,
        score: Some(0.0),
        done: true,
        tags: vec!["é".into(), "db".into()],
        labels: None,
        owner: Owner { team: "core".into(), lead: Some("Zoë".into()), address: Address { city: CITY.into() } },
        email: Some(Email("zoë@café.fr".into())),
        slug: "p4".into(),
        created_at: CREATED_AT.into(),
    };
    let one = Project::query(c).filter(|p| p.name.eq("café")).fetch_one().await.expect("fetch_one");
    assert_eq!(one, cafe);
    // Missing keys and JSON nulls both decode as `None`.
    let beta = Project::query(c).filter(|p| p.id.eq(3)).fetch_one().await.expect("fetch_one");
    assert_eq!(
        beta,
        Project {
            id: 3,
            name: "Beta".into(),
            status: Status::Done,
            priority: -5,
            score: None,
            done: false,
            tags: vec![],
            labels: None,
            owner: Owner { team: "web".into(), lead: None, address: Address { city: CITY.into() } },
            email: None,
            slug: "p3".into(),
            created_at: CREATED_AT.into(),
        }
    );
    let none = Project::query(c).filter(|p| p.name.eq("nope")).fetch_one().await;
    assert!(matches!(none, Err(Error::RowNotFound)), "{none:?}");
    let many = Project::query(c).filter(|p| p.owner.team.eq("core")).fetch_one().await;
    assert!(matches!(many, Err(Error::TooManyRows)), "{many:?}");

    let found = Project::query(c).filter(|p| p.tags.contains("数据")).fetch_optional().await.expect("optional");
    assert_eq!(found.map(|p| p.name), Some("数据库".to_owned()));
    let missing = Project::query(c).filter(|p| p.tags.contains("nope")).fetch_optional().await.expect("optional");
    assert_eq!(missing, None);
    let many = Project::query(c).filter(|p| p.tags.contains("rust")).fetch_optional().await;
    assert!(matches!(many, Err(Error::TooManyRows)), "{many:?}");
    // A limit of one makes "many" one.
    let limited =
        Project::query(c).filter(|p| p.tags.contains("rust")).order_by(|p| p.id.desc()).limit(1).fetch_optional();
    assert_eq!(limited.await.expect("optional").map(|p| p.id), Some(15));
    // An offset moves the single row.
    let offset = Project::query(c).order_by(|p| p.id.asc()).offset(19).fetch_one().await.expect("fetch_one");
    assert_eq!(offset.id, 20);

    let all = Project::query(c).order_by(|p| p.id.asc()).fetch_all().await.expect("fetch_all");
    assert_eq!(all.len(), 20);
    assert_eq!(all[3], cafe);
    assert_eq!(all[10].name, "back\\slash");
    assert_eq!(all[11].owner.lead.as_deref(), Some("O'Brien \"Bob\", {jr}"));
    assert_eq!(all[4].tags, ["🚀"]);
    assert_eq!(all[14].score, Some(-0.25));
}

#[tokio::test]
async fn filter_rust_runs_after_sql() {
    let fx = fixture().await;
    let c = &fx.client;
    let five_chars = Project::query(c)
        .filter(|p| p.owner.team.eq("core"))
        .filter_rust(|p| p.name.chars().count() == 5)
        .order_by(|p| p.id.asc());
    assert_eq!(fetch_ids(five_chars).await, [1, 2, 13, 20]);
    // Several predicates all apply.
    let both =
        Project::query(c).filter_rust(|p| p.tags.len() >= 2).filter_rust(|p| p.priority > 0).order_by(|p| p.id.asc());
    assert_eq!(fetch_ids(both).await, [1, 6, 7, 13, 16]);
    // `limit` applies before the predicate: rows 1, 2, 4 come back from SQL, only 1 has priority > 3.
    let limited = Project::query(c)
        .filter(|p| p.owner.team.eq("core"))
        .order_by(|p| p.id.asc())
        .limit(3)
        .filter_rust(|p| p.priority > 3);
    assert_eq!(fetch_ids(limited).await, [1]);
    // Unicode-aware predicates SQL could not express the same way.
    let upper = Project::query(c).filter_rust(|p| p.name.chars().next().is_some_and(char::is_uppercase));
    let mut got = fetch_ids(upper).await;
    got.sort_unstable();
    assert_eq!(got, [1, 3, 13, 15, 19, 20]);
}

#[tokio::test]
async fn fetch_one_and_optional_apply_filter_rust_to_every_row() {
    let fx = fixture().await;
    let c = &fx.client;
    // Exactly one row (id 4) passes the predicate, but it is not among the first two rows SQL returns.
    let one = Project::query(c).order_by(|p| p.id.asc()).filter_rust(|p| p.name == "café").fetch_one().await;
    assert_eq!(one.map(|p| p.id).map_err(|e| e.to_string()), Ok(4));
    let optional = Project::query(c).order_by(|p| p.id.asc()).filter_rust(|p| p.name == "café").fetch_optional().await;
    assert_eq!(optional.map(|p| p.map(|p| p.id)).map_err(|e| e.to_string()), Ok(Some(4)));
    // Two rows (ids 5 and 15) pass, neither among the first two.
    let many = Project::query(c).order_by(|p| p.id.asc()).filter_rust(|p| p.tags.iter().any(|t| t == "🚀"));
    assert!(matches!(many.fetch_optional().await, Err(Error::TooManyRows)));
}

/// Pages through `make()` with `limit(page)` and `after(last row)` until a page is empty.
async fn keyset_pages(make: impl Fn() -> Query<Project>, page: u64) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut last: Option<Project> = None;
    loop {
        let mut query = make().limit(page);
        if let Some(last) = &last {
            query = query.after(last);
        }
        let shown = format!("{query:?}");
        let rows = query.fetch_all().await.unwrap_or_else(|e| panic!("page failed: {e}\n{shown}"));
        assert!(rows.len() as u64 <= page, "a page is longer than the limit: {shown}");
        let Some(row) = rows.last().cloned() else { break };
        pages.push(rows.iter().map(|p| p.id).collect());
        last = Some(row);
        assert!(pages.len() <= 100, "pagination does not end: {shown}");
    }
    pages
}

/// 50 documents with many duplicate priorities and scores (so pages split runs of equal keys).
fn fifty_documents() -> Vec<Value> {
    (1..=50i64)
        .map(|i| {
            let status = ["active", "on_hold", "done"][(i % 3) as usize];
            let team = ["core", "web"][(i % 2) as usize];
            json!({
                "id": i,
                "name": format!("p{:02}", (i * 17) % 50),
                "status": status,
                "priority": (i * 37) % 11 - 5,
                "score": ((i % 5) as f64) * 0.5 - 1.0,
                "done": i % 2 == 0,
                "tags": [],
                "owner": {"team": team},
            })
        })
        .collect()
}

#[tokio::test]
async fn keyset_pagination_covers_every_row_once() {
    let docs = fifty_documents();
    let fx = fixture_with(&docs).await;
    let c = &fx.client;
    let id = |d: &Value| d["id"].as_i64().expect("id");

    // priority DESC, id ASC (the shape from the docs), page size 7: 50 rows = 7 full pages and one of 1.
    let mut keyed: Vec<(i64, i64)> = docs.iter().map(|d| (d["priority"].as_i64().expect("priority"), id(d))).collect();
    keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<i64> = keyed.iter().map(|k| k.1).collect();
    let priorities: std::collections::BTreeMap<i64, usize> = docs.iter().fold(Default::default(), |mut m, d| {
        *m.entry(d["priority"].as_i64().expect("priority")).or_default() += 1;
        m
    });
    assert!(priorities.values().all(|&n| n >= 4), "every priority is shared: {priorities:?}");
    let make = || Project::query(c).order_by(|p| (p.priority.desc(), p.id.asc()));
    let unpaged = fetch_ids(make()).await;
    assert_eq!(unpaged, expected);
    let pages = keyset_pages(make, 7).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7, 7, 7, 7, 7, 7, 7, 1]);
    assert_eq!(pages.concat(), expected);

    // The mirror order, with a descending unique key.
    let mut mirrored = expected.clone();
    mirrored.reverse();
    let pages = keyset_pages(|| Project::query(c).order_by(|p| (p.priority.asc(), p.id.desc())), 7).await;
    assert_eq!(pages.concat(), mirrored);

    // Three keys (text, number, column), page size 4, with a filter whose parameters come first.
    let mut expected: Vec<(String, i64, i64)> = docs
        .iter()
        .filter(|d| d["owner"]["team"] == "core")
        .map(|d| (d["status"].as_str().expect("status").to_owned(), d["priority"].as_i64().expect("priority"), id(d)))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let expected: Vec<i64> = expected.into_iter().map(|k| k.2).collect();
    assert_eq!(expected.len(), 25);
    let make = || {
        Project::query(c)
            .filter(|p| p.owner.team.eq("core"))
            .order_by(|p| (p.status.asc(), p.priority.desc(), p.id.asc()))
    };
    assert_eq!(fetch_ids(make()).await, expected);
    assert_eq!(keyset_pages(make, 4).await.concat(), expected);

    // A fractional key (score) with duplicates.
    let mut expected: Vec<(f64, i64)> = docs.iter().map(|d| (d["score"].as_f64().expect("score"), id(d))).collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let expected: Vec<i64> = expected.into_iter().map(|k| k.1).collect();
    let make = || Project::query(c).order_by(|p| (p.score.asc(), p.id.asc()));
    assert_eq!(keyset_pages(make, 6).await.concat(), expected);

    // Page sizes 1 and "everything".
    let make = || Project::query(c).order_by(|p| (p.name.desc(), p.id.asc()));
    let unpaged = fetch_ids(make()).await;
    assert_eq!(unpaged.len(), 50);
    assert_eq!(keyset_pages(make, 1).await.concat(), unpaged);
    assert_eq!(keyset_pages(make, 1000).await, [unpaged]);
}

#[tokio::test]
async fn keyset_pagination_over_awkward_text_keys() {
    let fx = fixture().await;
    let c = &fx.client;
    // name ASC in the C collation, keys with `%`, `\`, unicode; page size 3.
    let by_name = [18, 7, 8, 20, 1, 3, 13, 9, 2, 10, 11, 12, 4, 14, 17, 16, 19, 15, 6, 5];
    let pages = keyset_pages(|| Project::query(c).order_by(|p| (p.name.asc(), p.id.asc())), 3).await;
    assert_eq!(pages.len(), 7);
    assert_eq!(pages.concat(), by_name);
    // Nested key with duplicates (team), descending id.
    let pages = keyset_pages(|| Project::query(c).order_by(|p| (p.owner.team.asc(), p.id.desc())), 4).await;
    assert_eq!(pages.concat(), [20, 19, 16, 13, 10, 9, 4, 2, 1, 18, 15, 12, 11, 5, 17, 14, 8, 7, 3, 6]);
}

#[tokio::test]
async fn keyset_after_needs_a_unique_last_key() {
    let fx = fixture().await;
    let c = &fx.client;
    let last = Project::query(c).filter(|p| p.id.eq(1)).fetch_one().await.expect("row 1");
    // No unique key last.
    let query = Project::query(c).order_by(|p| p.priority.desc()).after(&last);
    let error = query.to_sql().expect_err("to_sql must refuse");
    assert!(error.to_string().contains("the last order key must be unique"), "{error}");
    let error = query.fetch_all().await.expect_err("the query must fail");
    assert!(matches!(error, Error::InvalidKeyset { .. }), "{error:?}");
    assert!(error.to_string().contains("unique"), "{error}");
    // The unique key present but not last.
    let error = Project::query(c).order_by(|p| (p.id.asc(), p.priority.desc())).after(&last).fetch_all().await;
    assert!(error.is_err_and(|e| e.to_string().contains("unique")));
    // No order at all.
    let error = Project::query(c).after(&last).count().await.expect_err("no order keys");
    assert!(error.to_string().contains("order_by"), "{error}");
    // A null key value in the given row is a position like any other: the rows after it are the suffix.
    let beta = Project::query(c).filter(|p| p.id.eq(3)).fetch_one().await.expect("row 3");
    assert_eq!(beta.score, None, "the fixture's row 3 has no score");
    let ordered = || Project::query(c).order_by(|p| (p.score.asc(), p.id.asc()));
    let all = fetch_ids(ordered()).await;
    let position = all.iter().position(|&id| id == 3).expect("row 3 is in the order");
    assert_eq!(fetch_ids(ordered().after(&beta)).await, all[position + 1..]);
    // The client is still usable after the refused queries.
    assert_eq!(Project::query(c).count().await.expect("count"), 20);
}

#[tokio::test]
async fn keyset_over_an_optional_key_keeps_the_null_rows() {
    let fx = fixture().await;
    let c = &fx.client;
    // score ASC puts the six rows with no score last (NULLS LAST); DESC puts them first; nulls_first/nulls_last
    // override. Paging must give exactly the unpaged order each time: no null row lost or repeated.
    type MakeQuery<'a> = Box<dyn Fn() -> Query<Project> + 'a>;
    let orders: [(&str, MakeQuery<'_>); 4] = [
        ("asc", Box::new(|| Project::query(c).order_by(|p| (p.score.asc(), p.id.asc())))),
        ("desc", Box::new(|| Project::query(c).order_by(|p| (p.score.desc(), p.id.asc())))),
        ("asc nulls first", Box::new(|| Project::query(c).order_by(|p| (p.score.asc().nulls_first(), p.id.desc())))),
        ("desc nulls last", Box::new(|| Project::query(c).order_by(|p| (p.score.desc().nulls_last(), p.id.asc())))),
    ];
    for (name, make) in orders {
        let unpaged = fetch_ids(make()).await;
        assert_eq!(unpaged.len(), 20, "{name}");
        for page in [1, 3, 7] {
            assert_eq!(keyset_pages(&make, page).await.concat(), unpaged, "{name}, page size {page}");
        }
    }
}

/// Reported by a user: paging 2,000 rows of a view computing `(i % 50) / 3.0` (numeric, 20 digits) by
/// `(ratio, id)` returned 2,080 rows, 100 of them repeats, and missed 20. The page boundary was the decoded `f64`
/// compared with the numeric, so the boundary row no longer equalled its own key. Keys now compare in the type
/// they decode as, and decode exactly as the server converts.
#[tokio::test]
async fn keyset_over_a_float_key_whose_values_do_not_round_trip_through_f64() {
    let db = TestCluster::shared().database().await;
    project::create_from_select(
        &db,
        "SELECT i, jsonb_build_object('id', i, 'name', 'p' || i, 'status', 'active', 'priority', i % 7, \
         'score', (i % 50) / 3.0, 'done', false, 'tags', '[]'::jsonb, 'slug', 'p' || i, 'createdAt', '2026', \
         'owner', jsonb_build_object('team', 'core', 'address', jsonb_build_object('city', 'Bern'))) \
         FROM generate_series(1, 2000) AS i",
    )
    .await;
    let raw: Vec<bytes::Bytes> = {
        let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
        let rows = Project::query(&client).filter(|p| p.id.eq(1)).stream_raw();
        futures_util::TryStreamExt::try_collect(rows).await.expect("row 1")
    };
    let text = String::from_utf8_lossy(&raw[0]).into_owned();
    assert!(text.contains("\"score\": 0.33333333333333333333"), "the score must not round-trip: {text}");

    let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
    let c = &client;
    type MakeQuery<'a> = Box<dyn Fn() -> Query<Project> + 'a>;
    let orders: [(&str, MakeQuery<'_>); 2] = [
        ("asc", Box::new(|| Project::query(c).order_by(|p| (p.score.asc(), p.id.asc())))),
        ("desc", Box::new(|| Project::query(c).order_by(|p| (p.score.desc(), p.id.desc())))),
    ];
    for (name, make) in orders {
        let unpaged = fetch_ids(make()).await;
        assert_eq!(unpaged.len(), 2000, "{name}");
        let paged = keyset_pages(&make, 37).await.concat();
        let distinct: std::collections::BTreeSet<i64> = paged.iter().copied().collect();
        assert_eq!((paged.len(), distinct.len()), (2000, 2000), "{name}: repeated or skipped rows");
        assert_eq!(paged, unpaged, "{name}");
    }
}
