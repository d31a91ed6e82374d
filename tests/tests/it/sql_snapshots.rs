//! Snapshots of the exact SQL and parameters the query builder produces, for every operator family, keyset
//! pagination and the untyped builder, and the SQL of the derived handles. No server and no client: queries are
//! built unbound (`Project::select()`, `Query::view(…)`), as `to_sql` allows.
//!
//! A change in generated SQL shows up as a snapshot diff (`cargo insta review`, or `INSTA_UPDATE=always` then
//! review the `.snap` files in `tests/snapshots/`). Each case is `## label`, the SQL on one line exactly as sent,
//! then one `$n = value` line per parameter (`NULL` or the text, SQL-quoted).

use fraiseql_wire::{Entity, Filter, Query};
use serde::Serialize;
use serde_json::json;

use crate::common::case;
use crate::common::project::{Email, Project, Status, sample as project};

/// One query per filter, on `app.v_project`.
fn filters(cases: Vec<(&str, Filter<Project>)>) -> String {
    cases.into_iter().map(|(label, filter)| case(label, &Project::select().filter_by(filter))).collect()
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
    let query = Project::select()
        .filter(|p| p.owner.team.eq("core"))
        .filter(|p| p.tags.contains("rust").or(p.name.ilike("%alpha%")))
        .filter(|p| p.priority.between(3, 5))
        .filter(|_| Filter::always());
    let snapshot = case("three filters and an always", &query);
    insta::assert_snapshot!(snapshot);
}

#[test]
fn order_by_keys() {
    let q = Project::select;
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
    let q = || Project::select().order_by(|p| p.id.asc());
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
    let q = Project::select;
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
    let q = Project::select;
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
    let tags: Vec<&str> = vec!["a,b", "c\"d"];
    let none: Option<i32> = None;
    let document = json!({"team": "core"});
    let snapshot = [
        case("bare", &Query::view("app.v_x")),
        case(
            "where, order, limit, offset",
            &Query::view("app.v_x")
                .where_sql("data->>'status' = $1", &[&"active"])
                .where_sql("(data->>'priority')::int BETWEEN $1 AND $2", &[&1, &5])
                .order_by_sql("(data->>'priority')::int DESC NULLS LAST")
                .order_by_sql("data->>'name'")
                .limit(10)
                .offset(20),
        ),
        case(
            "parameter types",
            &Query::view("v_x")
                .where_sql("data->>'a' = $1 AND data->>'b' = $2", &[&"it's", &true])
                .where_sql("(data->>'c')::float8 > $1", &[&-0.25f64])
                .where_sql("data->>'d' IS NOT DISTINCT FROM $1", &[&none])
                .where_sql("data->>'e' = ANY($1::text[])", &[&tags])
                .where_sql("data->'owner' @> $1::jsonb", &[&document])
                .where_sql("data->>'f' = $1 OR data->>'g' = $1", &[&'x']),
        ),
        case("quoted relation", &Query::view("\"My Schema\".\"v x\"")),
        case("invalid relation", &Query::view("v_x; DROP TABLE t")),
        case("fragment with a semicolon", &Query::view("v_x").where_sql("true; DROP TABLE t", &[])),
        case("too few parameters", &Query::view("v_x").where_sql("data->>'a' = $2", &[&"x"])),
    ]
    .concat();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn to_sql_reports_builder_errors_unchanged() {
    let error = Query::view("v_x; DROP TABLE t").to_sql().expect_err("an invalid relation");
    assert!(matches!(error, fraiseql_wire::Error::InvalidRelation { .. }), "{error:?}");
    let error = Project::select()
        .order_by(|p| p.priority.desc())
        .after(&project(1, 1, None))
        .to_sql()
        .expect_err("a non-unique last key");
    assert!(matches!(error, fraiseql_wire::Error::InvalidKeyset { .. }), "{error:?}");
    assert!(error.to_string().starts_with("invalid keyset pagination (`after`)"), "{error}");
}

// The SQL of the derived handles, spelled out.

/// Partial documents for `matches` and `contains`.
#[derive(Serialize)]
struct TeamOnly {
    team: &'static str,
}

#[derive(Serialize)]
struct StatusOnly {
    status: Status,
}

fn sql<E: Entity>(query: Query<E>) -> (String, Vec<Option<String>>) {
    let statement = query.to_sql().unwrap_or_else(|error| panic!("{error}"));
    (statement.sql, statement.params.iter().map(|p| p.as_str().map(str::to_owned)).collect())
}

#[test]
fn filters_compile_to_bound_sql() {
    let query = Project::select()
        .filter(|p| p.status.eq(Status::Active).and(p.priority.gte(3)).and(p.owner.team.eq("core")))
        .filter(|p| p.name.starts_with("50%_").or(p.tags.contains("rust").not()))
        .filter(|p| p.score.is_null().or(p.score.between(1.5, 2.5)))
        .filter(|p| p.owner.contains(&TeamOnly { team: "core" }))
        .filter(|p| p.id.in_list([1i64, 2, 3]))
        .filter(|p| p.matches(&StatusOnly { status: Status::Active }))
        .order_by(|p| (p.priority.desc(), p.id.asc()))
        .limit(10);
    let (sql, params) = sql(query);
    assert_eq!(
        sql,
        "SELECT \"data\" FROM \"app\".\"v_project\" \
         WHERE ((data->>'status' = $1) AND ((data->>'priority')::numeric >= $2::numeric) AND (data->'owner'->>'team' = $3)) \
         AND ((data->>'name' LIKE $4) OR (NOT (data @> $5::jsonb))) \
         AND ((data->>'score' IS NULL) OR ((data->>'score')::float8 BETWEEN $6::float8 AND $7::float8)) \
         AND (data @> $8::jsonb) \
         AND (\"id\" = ANY($9)) \
         AND (data @> $10::jsonb) \
         ORDER BY (data->>'priority')::numeric DESC, \"id\" ASC LIMIT $11"
    );
    let expected: Vec<Option<&str>> = vec![
        Some("active"),
        Some("3"),
        Some("core"),
        Some(r"50\%\_%"),
        Some(r#"{"tags":["rust"]}"#),
        Some("1.5"),
        Some("2.5"),
        Some(r#"{"owner":{"team":"core"}}"#),
        Some(r#"{"1","2","3"}"#),
        Some(r#"{"status":"active"}"#),
        Some("10"),
    ];
    assert_eq!(params.iter().map(Option::as_deref).collect::<Vec<_>>(), expected);
}

#[test]
fn keys_follow_serde_renames() {
    let (sql, _) = sql(Project::select().filter(|p| p.created_at.gte("2026")).order_by(|p| p.created_at.asc()));
    assert!(sql.ends_with("WHERE (data->>'createdAt' >= $1) ORDER BY data->>'createdAt' ASC"), "{sql}");
}

#[test]
fn keyset_after_expands_lexicographically() {
    let query = Project::select().order_by(|p| (p.priority.desc(), p.id.asc())).after(&project(42, 2, None));
    let (sql, params) = sql(query);
    assert!(
        sql.ends_with(
            "WHERE ((data->>'priority')::numeric < $1::numeric OR ((data->>'priority')::numeric = $1::numeric AND \"id\" > $2)) \
             ORDER BY (data->>'priority')::numeric DESC, \"id\" ASC"
        ),
        "{sql}"
    );
    assert_eq!(params, vec![Some("2".to_owned()), Some("42".to_owned())]);
}

#[test]
fn keyset_needs_a_unique_last_key() {
    let query = Project::select().order_by(|p| p.priority.desc());
    assert!(query.after(&project(1, 1, None)).to_sql().is_err());
}

#[test]
fn list_is_empty_compares_with_an_empty_array() {
    let query = Project::select().filter(|p| p.tags.is_empty()).limit(5);
    let (sql, _) = sql(query);
    assert!(sql.contains("data->'tags' = '[]'::jsonb"), "{sql}");
}

#[test]
fn filters_combine_with_all_and_any() {
    let f = Project::fields();
    let none: Vec<Filter<Project>> = Vec::new();
    let query = Project::select()
        .filter_by(Filter::all(none))
        .filter_by(Filter::any([f.priority.eq(1), f.priority.eq(2)]) & !f.name.eq("x"));
    let (sql, _) = sql(query);
    assert!(sql.contains("WHERE (TRUE) AND"), "{sql}");
}

#[test]
fn handles_clone_and_debug() {
    let f = Project::fields().clone();
    assert_eq!(format!("{f:?}"), "ProjectFields { .. }");
    assert_eq!(format!("{:?}", f.owner), "OwnerFields { .. }");
    assert_eq!(f.owner.team.sql(), "data->'owner'->>'team'");
    assert_eq!(f.owner.clone().team.sql(), "data->'owner'->>'team'");
    assert_eq!(f.id.sql(), "\"id\"");
    assert_eq!(<Project as Entity>::VIEW, "v_project");
    assert_eq!(<Project as Entity>::SCHEMA, Some("app"));
}

/// A date in each storage: the default cast, `rfc3339` (on the entity), epoch seconds and milliseconds, a naive
/// date and date-time, and a real column.
#[allow(dead_code)] // only the handles are used
#[derive(serde::Deserialize, Entity)]
#[entity(view = "v_deadline", time = "rfc3339")]
struct Deadline {
    #[entity(column = "id")]
    id: i64,
    #[entity(time = "cast")]
    due: chrono::DateTime<chrono::Utc>,
    at: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[entity(time = "epoch")]
    #[serde(with = "chrono::serde::ts_seconds")]
    ts: chrono::DateTime<chrono::Utc>,
    #[entity(time = "epoch_ms")]
    #[serde(with = "chrono::serde::ts_milliseconds")]
    ms: chrono::DateTime<chrono::Utc>,
    day: chrono::NaiveDate,
    local: chrono::NaiveDateTime,
    #[entity(column = "logged")]
    logged: chrono::DateTime<chrono::Utc>,
}

#[test]
fn dates_and_times() {
    use chrono::TimeZone;
    let d = Deadline::fields();
    let noon = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().expect("a valid instant");
    let later = noon + chrono::Duration::microseconds(1_500_250);
    let east = noon.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).expect("an offset"));
    let day = noon.date_naive();
    let cases: Vec<(&str, Filter<Deadline>)> = vec![
        ("cast: gt", d.due.gt(noon)),
        ("cast: between, a fraction", d.due.between(noon, later)),
        ("rfc3339: eq, an operand with an offset (sent in UTC)", d.at.eq(east)),
        ("rfc3339: in_list", d.at.in_list([east, later.fixed_offset()])),
        ("rfc3339: is_null", d.at.is_null()),
        ("epoch seconds: lt, a fraction", d.ts.lt(later)),
        ("epoch seconds: not_in", d.ts.not_in([noon, later])),
        ("epoch milliseconds: gte", d.ms.gte(later)),
        ("naive date: eq", d.day.eq(day)),
        ("naive date-time: lte", d.local.lte(later.naive_utc())),
        ("column: gte", d.logged.gte(noon)),
    ];
    let mut snapshot: String =
        cases.into_iter().map(|(label, filter)| case(label, &Deadline::select().filter_by(filter))).collect();
    let row = Deadline {
        id: 7,
        due: noon,
        at: Some(east),
        ts: noon,
        ms: later,
        day,
        local: later.naive_utc(),
        logged: later,
    };
    let keyset = Deadline::select().order_by(|d| (d.at.desc(), d.ts.asc(), d.day.asc(), d.id.asc())).after(&row);
    snapshot.push_str(&case("keyset after a row, mixed storages", &keyset.limit(10)));
    insta::assert_snapshot!(snapshot);
}

#[allow(dead_code)] // only the handles are used
#[derive(serde::Deserialize, fraiseql_wire::Document)]
struct LineItem {
    sku: String,
    qty: i64,
    price: f64,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, Entity)]
#[entity(view = "v_order")]
struct Order {
    #[entity(column = "id")]
    id: i64,
    items: Vec<LineItem>,
    shipments: Option<Vec<Shipment>>,
    delivery: Option<Shipment>,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, fraiseql_wire::Document)]
struct Shipment {
    carrier: String,
    items: Vec<LineItem>,
}

#[test]
fn arrays_of_documents() {
    let o = Order::fields();
    let cases: Vec<(&str, Filter<Order>)> = vec![
        ("any: an equality, also a @> pre-filter", o.items.any(|i| i.sku.eq("A-1"))),
        (
            "any: equalities and a range (only the equalities pre-filter)",
            o.items.any(|i| i.sku.eq("A-1") & i.qty.eq(2) & i.price.gt(9.5)),
        ),
        ("any: a float equality is not exact as JSON, so no pre-filter", o.items.any(|i| i.price.eq(9.5))),
        ("any: or and not leave nothing to pre-filter", o.items.any(|i| i.sku.eq("A") | !i.qty.eq(1))),
        (
            "any: nested, the inner equality in the outer pre-filter",
            o.shipments.any(|s| s.carrier.eq("ups") & s.items.any(|i| i.sku.eq("B"))),
        ),
        ("all", o.items.all(|i| i.qty.gte(1))),
        ("all: nested any", o.shipments.all(|s| s.items.any(|i| i.qty.gt(3)))),
        ("contains", o.items.contains(&json!({"sku": "A-1", "qty": 2}))),
        ("is_empty and len_gte", o.items.is_empty() | o.shipments.len_gte(2)),
        ("at: an element's key by position, never a pre-filter", o.items.at(0).sku.eq("A-1")),
        ("at: a list inside an element", o.shipments.at(1).items.at(0).qty.gt(2)),
        ("at: containment by position needs the value there", o.shipments.at(0).items.contains(&json!({"sku": "A"}))),
        ("Option<D>: the document's keys", o.delivery.carrier.eq("ups")),
        (
            "Option<D>: is_null, is_missing, is_json_null",
            o.delivery.is_null() | o.delivery.is_missing() | o.delivery.is_json_null(),
        ),
        ("contained_by on a document", o.delivery.contained_by(&json!({"carrier": "ups", "items": []}))),
    ];
    let snapshot: String =
        cases.into_iter().map(|(label, filter)| case(label, &Order::select().filter_by(filter))).collect();
    insta::assert_snapshot!(snapshot);
}

#[test]
fn presence_and_regular_expressions() {
    let p = Project::fields();
    let snapshot = filters(vec![
        ("is_missing: the key is absent", p.score.is_missing()),
        ("is_json_null: present and null, never unknown", p.score.is_json_null()),
        ("is_missing on a nested key", p.owner.lead.is_missing()),
        ("matches_regex", p.name.matches_regex("^p[0-9]+$")),
        ("matches_regex_ci", p.name.matches_regex_ci("hotfix")),
        ("contained_by on a list", p.tags.contained_by(["rust", "sql"])),
        ("at on a list of values", p.tags.at(0).eq("rust")),
    ]);
    insta::assert_snapshot!(snapshot);
}

#[allow(dead_code)] // only the handles are used
#[derive(serde::Deserialize, fraiseql_wire::Document)]
struct Translation {
    common: String,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, Entity)]
#[entity(view = "v_country")]
struct Country {
    languages: std::collections::HashMap<String, String>,
    names: Option<std::collections::BTreeMap<String, Translation>>,
    population: std::collections::BTreeMap<String, i64>,
}

#[test]
fn maps() {
    let c = Country::fields();
    let cases: Vec<(&str, Filter<Country>)> = vec![
        ("has_key", c.languages.has_key("fra")),
        ("has_any_keys", c.languages.has_any_keys(["fra", "deu"])),
        ("has_all_keys", c.languages.has_all_keys(["fra", "it's"])),
        ("get: a scalar value", c.languages.get("fra").eq("French")),
        ("get: a document value", c.names.get("fra").common.starts_with("Fr")),
        ("get: a number, ordered", c.population.get("2020").gt(1_000_000)),
        ("any_value: scalars", c.population.any_value(|p| p.lt(10))),
        ("any_value: documents", c.names.any_value(|n| n.common.eq("Suisse"))),
    ];
    let mut snapshot: String =
        cases.into_iter().map(|(label, filter)| case(label, &Country::select().filter_by(filter))).collect();
    let ordered = Country::select().order_by(|c| c.population.get("2020").desc());
    snapshot.push_str(&case("order by a map value", &ordered));
    insta::assert_snapshot!(snapshot);
}

#[allow(dead_code)]
#[derive(serde::Deserialize, fraiseql_wire::Document)]
struct Bank {
    country: String,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, fraiseql_wire::Document)]
enum Method {
    Card { last4: String },
    Cash,
    Transfer(Bank),
}

#[allow(dead_code)]
#[derive(serde::Deserialize, fraiseql_wire::Document)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Moved {
        #[serde(alias = "dest")]
        to: i64,
    },
    #[serde(alias = "shut")]
    Closed,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, fraiseql_wire::Document)]
#[serde(tag = "t", content = "c")]
enum Shape {
    Circle { radius: i64 },
    Empty,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, Entity)]
#[entity(view = "v_payment")]
struct Payment {
    method: Method,
    events: Vec<Event>,
    shape: Option<Shape>,
}

#[test]
fn enums_with_data() {
    let p = Payment::fields();
    let cases: Vec<(&str, Filter<Payment>)> = vec![
        ("external: is_variant is a key test", p.method.is_variant(MethodVariant::Cash)),
        ("external: a struct variant's field under its name", p.method.card(|c| c.last4.eq("4242"))),
        ("external: a newtype variant's handles", p.method.transfer(|b| b.country.eq("fr"))),
        ("internal: is_variant is a containment, with an alias", p.events.any(|e| e.is_variant(EventVariant::Closed))),
        ("internal: fields beside the tag, the tag a pre-filter", p.events.any(|e| e.moved(|m| m.to.gt(3)))),
        ("adjacent: the content under its key", p.shape.circle(|c| c.radius.between(1, 5))),
    ];
    let snapshot: String =
        cases.into_iter().map(|(label, filter)| case(label, &Payment::select().filter_by(filter))).collect();
    insta::assert_snapshot!(snapshot);
}

#[allow(dead_code)]
#[derive(serde::Deserialize, Entity)]
#[entity(view = "v_post")]
struct Post {
    reactions: serde_json::Value,
    extra: Option<serde_json::Value>,
}

#[test]
fn free_json() {
    let p = Post::fields();
    let cases: Vec<(&str, Filter<Post>)> = vec![
        ("path: strict jsonpath and variables, both bound", p.reactions.path("+1").gt(3)),
        ("eq: also a @> beside the whole filter, for GIN", p.reactions.path("+1").eq(3)),
        ("eq under not: the @> stays outside it", !p.reactions.path("+1").eq(3)),
        ("nested keys and positions, quoted in the path", p.reactions.path("a\"b").at(0).path("c").lte("x")),
        ("exists: false when missing", p.extra.at_index(1).exists()),
        ("is_null on an Option<Value>", p.extra.is_null()),
    ];
    let snapshot: String =
        cases.into_iter().map(|(label, filter)| case(label, &Post::select().filter_by(filter))).collect();
    insta::assert_snapshot!(snapshot);
}
