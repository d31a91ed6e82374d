//! Snapshots of the exact SQL and parameters the query builder produces, for every operator family, keyset
//! pagination and the untyped builder. No server is needed: the client is lazy and never connects.
//!
//! A change in generated SQL shows up as a snapshot diff (`cargo insta review`, or `INSTA_UPDATE=always` then
//! review the `.snap` files in `tests/snapshots/`). Each case is `## label`, the SQL on one line exactly as sent,
//! then one `$n = value` line per parameter (`NULL` or the text, SQL-quoted).

use fraiseql_wire::{Client, Config, Document, Entity, Filter, Query, Scalar};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, Scalar)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    OnHold,
}

#[derive(Debug, Clone, Deserialize, Serialize, Scalar)]
#[serde(transparent)]
struct Email(String);

#[derive(Debug, Deserialize, Document)]
struct Address {
    city: String,
}

#[derive(Debug, Deserialize, Document)]
struct Owner {
    team: String,
    lead: Option<String>,
    address: Address,
}

#[allow(dead_code)] // only the handles are used
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_project", schema = "app")]
#[serde(rename_all = "camelCase")]
struct Project {
    #[entity(column = "id")]
    id: i64,
    name: String,
    status: Status,
    priority: i32,
    score: Option<f64>,
    done: bool,
    tags: Vec<String>,
    labels: Option<Vec<String>>,
    owner: Owner,
    email: Option<Email>,
    #[entity(order_key)]
    slug: String,
    created_at: String,
}

fn client() -> Client {
    match Client::connect_lazy(Config::new().host("/nonexistent").user("u").dbname("d")) {
        Ok(client) => client,
        Err(e) => panic!("a lazy client needs no server: {e}"),
    }
}

fn project(id: i64, priority: i32, score: Option<f64>) -> Project {
    Project {
        id,
        name: "it's \\ 50%".into(),
        status: Status::OnHold,
        priority,
        score,
        done: false,
        tags: vec![],
        labels: None,
        owner: Owner { team: "core".into(), lead: None, address: Address { city: "Zürich".into() } },
        email: None,
        slug: "hello-wörld".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// `## label`, the SQL, its parameters; or the error `to_sql` reports.
fn case<T>(label: &str, query: &Query<T>) -> String {
    let mut out = format!("## {label}\n");
    match query.to_sql() {
        Ok(statement) => {
            out.push_str(&statement.sql);
            out.push('\n');
            for (i, param) in statement.params.iter().enumerate() {
                out.push_str(&format!("${} = {param}\n", i + 1));
            }
        }
        Err(error) => out.push_str(&format!("error: {error}\n")),
    }
    out
}

/// One query per filter, on `app.v_project`.
fn filters(cases: Vec<(&str, Filter<Project>)>) -> String {
    let client = client();
    cases.into_iter().map(|(label, filter)| case(label, &Project::query(&client).filter_by(filter))).collect()
}

#[test]
fn text() {
    let p = Project::fields();
    let owned = String::from("owned");
    let snapshot = filters(vec![
        ("eq", p.name.eq("alpha")),
        ("eq with a quote and a backslash (values are parameters)", p.name.eq("it's \\ fine")),
        ("eq with a &String", p.name.eq(&owned)),
        ("eq with a String", p.name.eq(owned.clone())),
        ("ne", p.name.ne("alpha")),
        ("lt", p.name.lt("m")),
        ("lte", p.name.lte("m")),
        ("gt", p.name.gt("m")),
        ("gte", p.name.gte("m")),
        ("camelCase key from serde", p.created_at.gte("2026-01-01")),
        ("order_key field", p.slug.eq("hello")),
        ("unicode", p.name.eq("数据库 🚀 café")),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn number() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("eq", p.priority.eq(3)),
        ("ne", p.priority.ne(-5)),
        ("lt", p.priority.lt(0)),
        ("lte", p.priority.lte(0)),
        ("gt", p.priority.gt(4)),
        ("gte", p.priority.gte(4)),
        ("between", p.priority.between(-1, 2)),
        ("float eq", p.score.eq(2.5)),
        ("negative float gt", p.score.gt(-0.25)),
        ("float between", p.score.between(-0.25, 1e-7)),
        ("NaN has no JSON form: NULL", p.score.eq(f64::NAN)),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn boolean() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("eq true", p.done.eq(true)),
        ("eq false", p.done.eq(false)),
        ("ne", p.done.ne(true)),
        ("in_list", p.done.in_list([true])),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn scalar_enum_and_newtype() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("enum eq (snake_case)", p.status.eq(Status::OnHold)),
        ("enum ne", p.status.ne(Status::Active)),
        ("enum in_list", p.status.in_list([Status::Active, Status::OnHold])),
        ("enum starts_with", p.status.starts_with("on_")),
        ("newtype eq", p.email.eq(Email("a@x.io".into()))),
        ("newtype ends_with", p.email.ends_with("@x.io")),
        ("newtype contains", p.email.contains("x_y")),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn option_and_null() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("is_null", p.score.is_null()),
        ("is_not_null", p.score.is_not_null()),
        ("newtype is_null", p.email.is_null()),
        ("nested is_null", p.owner.lead.is_null()),
        ("nested is_not_null", p.owner.lead.is_not_null()),
        ("optional list is_null", p.labels.is_null()),
        ("optional eq takes the inner type", p.score.eq(2.5)),
        ("optional text eq", p.owner.lead.eq("Ann")),
        ("null or negative", p.score.is_null().or(p.score.lt(0.0))),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn list() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("contains", p.tags.contains("rust")),
        ("contains with JSON metacharacters", p.tags.contains("a\"b\\c")),
        ("contains_all", p.tags.contains_all(["rust", "db"])),
        ("contains_all of nothing: TRUE", p.tags.contains_all(Vec::<&str>::new())),
        ("contains_any", p.tags.contains_any(["rust", "db"])),
        ("contains_any of one", p.tags.contains_any(["rust"])),
        ("contains_any of nothing: FALSE", p.tags.contains_any(Vec::<&str>::new())),
        ("is_empty", p.tags.is_empty()),
        ("len_eq", p.tags.len_eq(2)),
        ("len_gt", p.tags.len_gt(1)),
        ("len_gte", p.tags.len_gte(1)),
        ("len_lt", p.tags.len_lt(3)),
        ("len_lte", p.tags.len_lte(3)),
        ("optional list contains", p.labels.contains("x")),
        ("optional list len_gt", p.labels.len_gt(0)),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn nested_document() {
    let p = Project::fields();
    #[derive(Serialize)]
    struct Partial {
        status: Status,
        done: bool,
    }
    let snapshot = filters(vec![
        ("nested eq", p.owner.team.eq("core")),
        ("two levels", p.owner.address.city.eq("Zürich")),
        ("nested starts_with", p.owner.address.city.starts_with("Z")),
        ("nested in_list", p.owner.team.in_list(["core", "web"])),
        ("document contains", p.owner.contains(&json!({"team": "core", "lead": "Ann"}))),
        ("nested document contains", p.owner.address.contains(&json!({"city": "Zürich"}))),
        ("document contains null", p.owner.contains(&json!({"lead": null}))),
        ("matches json", Project::fields().matches(&json!({"status": "active", "owner": {"team": "ops"}}))),
        ("matches struct", p.matches(&Partial { status: Status::Active, done: true })),
        ("matches empty", p.matches(&json!({}))),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn column() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("eq", p.id.eq(7)),
        ("gt", p.id.gt(17)),
        ("between", p.id.between(5, 7)),
        ("in_list (the server infers the array type)", p.id.in_list([3i64, 5, 99])),
        ("in_list of nothing", p.id.in_list(Vec::<i64>::new())),
        ("not_in", p.id.not_in([1i64, 2])),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn in_list_and_not_in() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("text in_list", p.name.in_list(["a", "b"])),
        (
            "array-literal metacharacters are quoted",
            p.name.in_list(["a,b", "q\"uote", "back\\slash", "{brace}", "NULL", ""]),
        ),
        ("text in_list of nothing", p.name.in_list(Vec::<&str>::new())),
        ("text not_in", p.name.not_in(["a", "b"])),
        ("text not_in of nothing", p.name.not_in(Vec::<&str>::new())),
        ("number in_list", p.priority.in_list([-5, 10])),
        ("float not_in", p.score.not_in([2.5, -3.0])),
        ("newtype in_list", p.email.in_list([Email("a@x.io".into())])),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn like_family() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("starts_with escapes % _ and \\", p.name.starts_with("50%_\\")),
        ("ends_with", p.name.ends_with("%")),
        ("text contains", p.name.contains("a_b")),
        ("like is a pattern", p.name.like("a_b%")),
        ("like with an escape", p.name.like("a\\_b")),
        ("ilike", p.name.ilike("%ALPHA%")),
        ("starts_with unicode", p.name.starts_with("数据")),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn combinators() {
    let p = Project::fields();
    let none: Vec<Filter<Project>> = Vec::new();
    let snapshot = filters(vec![
        ("and", p.status.eq(Status::Active).and(p.priority.gte(5))),
        ("and flattens", p.priority.gt(0).and(p.priority.lt(5)).and(p.done.eq(false))),
        ("or", p.owner.team.eq("ops").or(p.tags.contains("sale"))),
        ("or inside and", p.owner.team.eq("ops").or(p.tags.contains("sale")).and(p.done.eq(true))),
        ("and inside or", p.owner.team.eq("ops").or(p.tags.contains("sale").and(p.done.eq(true)))),
        ("not", p.done.eq(true).not()),
        ("not not", p.done.eq(true).not().not()),
        ("operators & | !", (p.priority.gt(1) & p.priority.lt(9)) | !p.done.eq(true)),
        ("all", Filter::all([p.priority.gt(0), p.priority.lt(5), p.done.eq(false)])),
        ("all of one", Filter::all([p.priority.gt(0)])),
        ("all of nothing", Filter::all(none.clone())),
        ("any over an iterator", Filter::any(["core", "ops"].into_iter().map(|t| p.owner.team.eq(t)))),
        ("any of nothing", Filter::any(none)),
        ("always dropped from all", Filter::all([Filter::always(), p.id.eq(4)])),
        ("never dropped from any", Filter::any([Filter::never(), p.id.eq(4)])),
        ("never kept in all", Filter::all([Filter::never(), p.id.eq(4)])),
        ("always", Filter::always()),
        ("never", Filter::never()),
        ("not never", Filter::never().not()),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn several_filter_calls_number_parameters_in_order() {
    let client = client();
    let query = Project::query(&client)
        .filter(|p| p.owner.team.eq("core"))
        .filter(|p| p.tags.contains("rust").or(p.name.ilike("%alpha%")))
        .filter(|p| p.priority.between(3, 5))
        .filter(|_| Filter::always());
    let snapshot = case("three filters and an always", &query);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn order_by_keys() {
    let client = client();
    let q = || Project::query(&client);
    let snapshot = [
        case("asc", &q().order_by(|p| p.priority.asc())),
        case("desc", &q().order_by(|p| p.priority.desc())),
        case("text", &q().order_by(|p| p.name.asc())),
        case("enum", &q().order_by(|p| p.status.asc().nulls_first())),
        case("nulls_first", &q().order_by(|p| p.score.asc().nulls_first())),
        case("nulls_last", &q().order_by(|p| p.score.desc().nulls_last())),
        case("nested", &q().order_by(|p| p.owner.address.city.desc())),
        case("column", &q().order_by(|p| p.id.desc())),
        case("tuple of two", &q().order_by(|p| (p.priority.desc(), p.id.asc()))),
        case("tuple of four", &q().order_by(|p| (p.status.asc(), p.score.desc(), p.name.asc(), p.id.asc()))),
        case("array", &q().order_by(|p| [p.priority.desc(), p.id.asc()])),
        case("vec", &q().order_by(|p| vec![p.priority.desc(), p.slug.asc()])),
        case("appended", &q().order_by(|p| p.status.asc()).order_by(|p| p.id.desc())),
        case("filter, order, limit", &q().filter(|p| p.done.eq(true)).order_by(|p| p.priority.desc()).limit(10)),
    ]
    .concat();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn limit_and_offset() {
    let client = client();
    let q = || Project::query(&client).order_by(|p| p.id.asc());
    let snapshot = [
        case("limit", &q().limit(10)),
        case("offset", &q().offset(20)),
        case("limit and offset", &q().limit(10).offset(20)),
        case("offset then limit", &q().offset(20).limit(10)),
        case("limit 0", &q().limit(0)),
        case("last limit wins", &q().limit(1).limit(2)),
        case("filter parameters come first", &q().filter(|p| p.name.eq("a")).limit(5).offset(5)),
    ]
    .concat();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn keyset_after() {
    let client = client();
    let q = || Project::query(&client);
    let row = project(42, 2, Some(-0.25));
    let snapshot = [
        case("desc then unique column", &q().order_by(|p| (p.priority.desc(), p.id.asc())).after(&row).limit(7)),
        case("asc then descending column", &q().order_by(|p| (p.priority.asc(), p.id.desc())).after(&row)),
        case("unique column alone", &q().order_by(|p| p.id.asc()).after(&row)),
        case("order_key field last", &q().order_by(|p| (p.created_at.desc(), p.slug.asc())).after(&row)),
        case("three keys", &q().order_by(|p| (p.status.asc(), p.score.desc(), p.name.asc(), p.id.asc())).after(&row)),
        case(
            "filter parameters first, then the keyset's",
            &q().filter(|p| p.owner.team.eq("core").and(p.tags.contains("x")))
                .order_by(|p| (p.priority.desc(), p.id.asc()))
                .after(&row)
                .limit(7),
        ),
        case(
            "a filter after `after` numbers on",
            &q().order_by(|p| (p.priority.desc(), p.id.asc())).after(&row).filter(|p| p.done.eq(false)),
        ),
        case("nested key", &q().order_by(|p| (p.owner.address.city.asc(), p.id.asc())).after(&row).offset(3)),
    ]
    .concat();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn keyset_errors() {
    let client = client();
    let q = || Project::query(&client);
    let row = project(42, 2, None);
    let snapshot = [
        case("no order_by", &q().after(&row)),
        case("last key not unique", &q().order_by(|p| p.priority.desc()).after(&row)),
        case("unique key not last", &q().order_by(|p| (p.id.asc(), p.priority.desc())).after(&row)),
        case(
            "null key value in the row: not an error, the rows after it",
            &q().order_by(|p| (p.score.asc(), p.id.asc())).after(&row),
        ),
        case("the error sticks through later calls", &q().after(&row).filter(|p| p.id.eq(1)).limit(3)),
    ]
    .concat();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn untyped_builder() {
    let client = client();
    let tags: Vec<&str> = vec!["a,b", "c\"d"];
    let none: Option<i32> = None;
    let document = json!({"team": "core"});
    let snapshot = [
        case("bare", &client.query("app.v_x")),
        case(
            "where, order, limit, offset",
            &client
                .query("app.v_x")
                .where_sql("data->>'status' = $1", &[&"active"])
                .where_sql("(data->>'priority')::int BETWEEN $1 AND $2", &[&1, &5])
                .order_by_sql("(data->>'priority')::int DESC NULLS LAST")
                .order_by_sql("data->>'name'")
                .limit(10)
                .offset(20),
        ),
        case(
            "parameter types",
            &client
                .query("v_x")
                .where_sql("data->>'a' = $1 AND data->>'b' = $2", &[&"it's", &true])
                .where_sql("(data->>'c')::float8 > $1", &[&-0.25f64])
                .where_sql("data->>'d' IS NOT DISTINCT FROM $1", &[&none])
                .where_sql("data->>'e' = ANY($1::text[])", &[&tags])
                .where_sql("data->'owner' @> $1::jsonb", &[&document])
                .where_sql("data->>'f' = $1 OR data->>'g' = $1", &[&'x']),
        ),
        case("quoted relation", &client.query("\"My Schema\".\"v x\"")),
        case("invalid relation", &client.query("v_x; DROP TABLE t")),
        case("fragment with a semicolon", &client.query("v_x").where_sql("true; DROP TABLE t", &[])),
        case("too few parameters", &client.query("v_x").where_sql("data->>'a' = $2", &[&"x"])),
    ]
    .concat();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn to_sql_reports_builder_errors_unchanged() {
    let client = client();
    let error = client.query("v_x; DROP TABLE t").to_sql().expect_err("an invalid relation");
    assert!(matches!(error, fraiseql_wire::Error::InvalidRelation { .. }), "{error:?}");
    let error = Project::query(&client)
        .order_by(|p| p.priority.desc())
        .after(&project(1, 1, None))
        .to_sql()
        .expect_err("a non-unique last key");
    assert!(error.to_string().starts_with("invalid SQL fragment `after()`"), "{error}");
}
