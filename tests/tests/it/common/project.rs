//! The `Project` entity most typed tests share: every operator family, nested documents, a real column, an
//! `order_key`, serde renames, on `app.v_project`.

use fraiseql_wire::{Document, Entity, Scalar};
use fraiseql_wire_tests::TestDatabase;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Scalar)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    OnHold,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Scalar)]
#[serde(transparent)]
pub struct Email(pub String);

#[derive(Debug, Clone, PartialEq, Deserialize, Document)]
pub struct Address {
    pub city: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Document)]
pub struct Owner {
    pub team: String,
    pub lead: Option<String>,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Entity)]
#[entity(view = "v_project", schema = "app")]
#[serde(rename_all = "camelCase")]
pub struct Project {
    #[entity(column = "id")]
    pub id: i64,
    pub name: String,
    pub status: Status,
    pub priority: i64,
    pub score: Option<f64>,
    pub done: bool,
    pub tags: Vec<String>,
    pub labels: Option<Vec<String>>,
    pub owner: Owner,
    pub email: Option<Email>,
    #[entity(order_key)]
    pub slug: String,
    pub created_at: String,
}

/// The city of every document that does not name one.
pub const CITY: &str = "Zürich";

/// The creation date of every document that does not give one.
pub const CREATED_AT: &str = "2026-01-01T00:00:00Z";

/// `doc` with what a test's data leaves out filled in: `slug` (`p<id>`), `createdAt`, `owner.address`.
pub fn complete(mut doc: Value) -> Value {
    let id = doc["id"].as_i64().unwrap_or_default();
    if let Value::Object(map) = &mut doc {
        map.entry("slug").or_insert_with(|| json!(format!("p{id}")));
        map.entry("createdAt").or_insert_with(|| json!(CREATED_AT));
        if let Some(Value::Object(owner)) = map.get_mut("owner") {
            owner.entry("address").or_insert_with(|| json!({"city": CITY}));
        }
    }
    doc
}

/// A project with the given key values, as a row `after()` pages from.
pub fn sample(id: i64, priority: i64, score: Option<f64>) -> Project {
    Project {
        id,
        name: "it's \\ 50%".into(),
        status: Status::OnHold,
        priority,
        score,
        done: false,
        tags: vec![],
        labels: None,
        owner: Owner { team: "core".into(), lead: None, address: Address { city: CITY.into() } },
        email: None,
        slug: "hello-wörld".into(),
        created_at: CREATED_AT.into(),
    }
}

/// Creates `app.project (id, data)` holding `docs` (completed) and `app.v_project` over it.
pub async fn create(db: &TestDatabase, docs: &[Value]) {
    create_table(db).await;
    let docs: Vec<Value> = docs.iter().cloned().map(complete).collect();
    db.admin()
        .execute(
            "INSERT INTO app.project SELECT (d->>'id')::bigint, d FROM jsonb_array_elements($1::text::jsonb) AS d",
            &[&Value::Array(docs).to_string()],
        )
        .await
        .expect("inserting the documents");
}

/// Creates `app.project (id, data)` and `app.v_project` over it, filled by `select` (which yields `id, data`
/// with every key of a [`Project`]): for data only SQL can make, such as numerics with more digits than a float.
pub async fn create_from_select(db: &TestDatabase, select: &str) {
    create_table(db).await;
    db.execute(&format!("INSERT INTO app.project (id, data) {select}")).await;
}

async fn create_table(db: &TestDatabase) {
    db.execute(
        "CREATE SCHEMA app; \
         CREATE TABLE app.project (id bigint PRIMARY KEY, data jsonb NOT NULL); \
         CREATE VIEW app.v_project AS SELECT id, data FROM app.project; \
         GRANT USAGE ON SCHEMA app TO readers; \
         GRANT SELECT ON ALL TABLES IN SCHEMA app TO readers",
    )
    .await;
}
