//! The SQL of entities built by the real derives, checked against what the hand-written expansion in
//! `fraiseql-wire/tests/hand_expanded.rs` compiles to: the derives generate that contract.

use fraiseql_wire::{Document, Entity, Filter, Scalar};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Scalar)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    OnHold,
}

#[derive(Debug, Deserialize, Document)]
struct Owner {
    team: String,
}

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
    tags: Vec<String>,
    owner: Owner,
    #[allow(dead_code)] // decoded, never filtered on here
    created_at: String,
}

/// Partial documents for `matches` and `contains`.
#[derive(Serialize)]
struct TeamOnly {
    team: &'static str,
}

#[derive(Serialize)]
struct StatusOnly {
    status: Status,
}

fn client() -> fraiseql_wire::Client {
    let config = fraiseql_wire::Config::new().host("/nonexistent").user("u").dbname("d");
    match fraiseql_wire::Client::connect_lazy(config) {
        Ok(client) => client,
        Err(error) => panic!("a lazy client needs no server: {error}"),
    }
}

fn sql<E: Entity>(query: fraiseql_wire::Query<E>) -> (String, Vec<Option<String>>) {
    let statement = query.to_sql().unwrap_or_else(|error| panic!("{error}"));
    (statement.sql, statement.params.iter().map(|p| p.as_str().map(str::to_owned)).collect())
}

fn project(id: i64, priority: i32) -> Project {
    Project {
        id,
        name: "x".into(),
        status: Status::OnHold,
        priority,
        score: None,
        tags: vec![],
        owner: Owner { team: "core".into() },
        created_at: "2026-01-01".into(),
    }
}

#[test]
fn filters_compile_to_bound_sql() {
    let query = Project::query(&client())
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
         AND ((data->>'score' IS NULL) OR ((data->>'score')::numeric BETWEEN $6::numeric AND $7::numeric)) \
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
    let (sql, _) = sql(Project::query(&client()).filter(|p| p.created_at.gte("2026")).order_by(|p| p.created_at.asc()));
    assert!(sql.ends_with("WHERE (data->>'createdAt' >= $1) ORDER BY data->>'createdAt' ASC"), "{sql}");
}

#[test]
fn keyset_after_expands_lexicographically() {
    let query = Project::query(&client()).order_by(|p| (p.priority.desc(), p.id.asc())).after(&project(42, 2));
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
    let query = Project::query(&client()).order_by(|p| p.priority.desc());
    assert!(query.after(&project(1, 1)).to_sql().is_err());
}

#[test]
fn count_wraps_limited_queries() {
    let query = Project::query(&client()).filter(|p| p.tags.is_empty()).limit(5);
    let (sql, _) = sql(query);
    assert!(sql.contains("data->'tags' = '[]'::jsonb"), "{sql}");
}

#[test]
fn filters_combine_with_all_and_any() {
    let f = Project::fields();
    let none: Vec<Filter<Project>> = Vec::new();
    let query = Project::query(&client())
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
