//! What `#[derive(Entity)]`, `#[derive(Document)]` and `#[derive(Scalar)]` generate, written by hand: the
//! contract between the derive crate and the runtime, checked without a server through `Query::to_sql`.

use fraiseql_wire::entity::__private::{Handle, Location};
use fraiseql_wire::{Document, Entity, Filter};

#[derive(Debug, serde::Deserialize, serde::Serialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    OnHold,
}

// #[derive(Scalar)] on a unit-variant enum:
impl fraiseql_wire::FieldType for Status {
    type Kind = fraiseql_wire::entity::kind::Text;
    fn to_json(&self) -> fraiseql_wire::entity::__private::Value {
        fraiseql_wire::entity::__private::to_json_value(self)
    }
}

#[derive(Debug, serde::Deserialize)]
struct Owner {
    team: String,
}

// #[derive(Document)]:
struct OwnerFields<E: 'static> {
    team: <String as Handle<E>>::Handle,
    __location: Location<E, Owner>,
}
impl Document for Owner {
    type Fields<E: 'static> = OwnerFields<E>;
    fn fields_at<E: 'static>(location: Location<E, Self>) -> OwnerFields<E> {
        OwnerFields {
            team: <String as Handle<E>>::handle(location.key("team", |d: &Owner| &d.team, false)),
            __location: location,
        }
    }
}
impl<E: 'static> Handle<E> for Owner {
    type Handle = OwnerFields<E>;
    fn handle(location: Location<E, Self>) -> OwnerFields<E> {
        <Owner as Document>::fields_at(location)
    }
}
impl<E: 'static> OwnerFields<E> {
    fn contains<P: serde::Serialize + ?Sized>(&self, partial: &P) -> Filter<E> {
        self.__location.contains_json(partial)
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
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

// #[derive(Entity)] with #[entity(view = "v_project", schema = "app")] and #[entity(column = "id")] on `id`:
struct ProjectFields {
    id: fraiseql_wire::Field<Project, i64>,
    name: <String as Handle<Project>>::Handle,
    status: <Status as Handle<Project>>::Handle,
    priority: <i32 as Handle<Project>>::Handle,
    score: <Option<f64> as Handle<Project>>::Handle,
    tags: <Vec<String> as Handle<Project>>::Handle,
    owner: <Owner as Handle<Project>>::Handle,
    #[allow(dead_code)]
    created_at: <String as Handle<Project>>::Handle,
    __location: Location<Project, Project>,
}
impl Entity for Project {
    type Fields = ProjectFields;
    const VIEW: &'static str = "v_project";
    const SCHEMA: Option<&'static str> = Some("app");
    fn fields() -> ProjectFields {
        let root = Location::<Project, Project>::root();
        ProjectFields {
            id: <i64 as Handle<Project>>::handle(root.column("id", |e: &Project| &e.id)),
            name: <String as Handle<Project>>::handle(root.key("name", |e: &Project| &e.name, false)),
            status: <Status as Handle<Project>>::handle(root.key("status", |e: &Project| &e.status, false)),
            priority: <i32 as Handle<Project>>::handle(root.key("priority", |e: &Project| &e.priority, false)),
            score: <Option<f64> as Handle<Project>>::handle(root.key("score", |e: &Project| &e.score, false)),
            tags: <Vec<String> as Handle<Project>>::handle(root.key("tags", |e: &Project| &e.tags, false)),
            owner: <Owner as Handle<Project>>::handle(root.key("owner", |e: &Project| &e.owner, false)),
            created_at: <String as Handle<Project>>::handle(root.key("createdAt", |e: &Project| &e.created_at, false)),
            __location: root,
        }
    }
}
impl ProjectFields {
    fn matches<P: serde::Serialize + ?Sized>(&self, partial: &P) -> Filter<Project> {
        self.__location.contains_json(partial)
    }
}

fn client() -> fraiseql_wire::Client {
    let config = fraiseql_wire::Config::new().host("/nonexistent").user("nobody").dbname("nowhere");
    fraiseql_wire::Client::connect_lazy(config).unwrap()
}

fn sql<E: Entity>(query: fraiseql_wire::Query<E>) -> (String, Vec<Option<String>>) {
    let statement = query.to_sql().unwrap();
    (statement.sql, statement.params.iter().map(|p| p.as_str().map(str::to_owned)).collect())
}

#[test]
fn filters_compile_to_bound_sql() {
    let query = Project::query(&client())
        .filter(|p| p.status.eq(Status::Active).and(p.priority.gte(3)).and(p.owner.team.eq("core")))
        .filter(|p| p.name.starts_with("50%_").or(p.tags.contains("rust").not()))
        .filter(|p| p.score.is_null().or(p.score.between(1.5, 2.5)))
        .filter(|p| p.owner.contains(&serde_json::json!({"team": "core"})))
        .filter(|p| p.id.in_list([1i64, 2, 3]))
        .filter(|p| p.matches(&serde_json::json!({"status": "active"})))
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
fn keyset_after_expands_lexicographically() {
    let last = Project {
        id: 42,
        name: "x".into(),
        status: Status::OnHold,
        priority: 2,
        score: None,
        tags: vec![],
        owner: Owner { team: "core".into() },
        created_at: "2026-01-01".into(),
    };
    let query = Project::query(&client()).order_by(|p| (p.priority.desc(), p.id.asc())).after(&last);
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
    let last = Project {
        id: 1,
        name: String::new(),
        status: Status::Active,
        priority: 1,
        score: None,
        tags: vec![],
        owner: Owner { team: String::new() },
        created_at: String::new(),
    };
    assert!(query.after(&last).to_sql().is_err());
}

#[test]
fn count_wraps_limited_queries() {
    let query = Project::query(&client()).filter(|p| p.tags.is_empty()).limit(5);
    let statement = query.to_sql().unwrap();
    assert!(statement.sql.contains("data->'tags' = '[]'::jsonb"), "{}", statement.sql);
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
