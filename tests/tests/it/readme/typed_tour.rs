use chrono::{DateTime, Utc};
use fraiseql_wire::{Client, Document, Entity, Scalar};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Scalar)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    Archived,
}

#[derive(Debug, Deserialize, Document)]
struct Owner {
    team: String,
}

#[derive(Debug, Deserialize, Document)]
struct Label {
    name: String,
    weight: i32,
}

#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_project", schema = "app")] // view required, schema optional
#[serde(rename_all = "camelCase")] // honoured: filters target the keys serde reads
struct Project {
    #[entity(column = "id")] // also a real column of the view: filters and keyset pagination use it
    id: i64,
    name: String,
    status: Status,
    priority: i32,
    score: Option<f64>,
    tags: Vec<String>,
    owner: Owner, // nested: filters reach into it
    labels: Vec<Label>, // an array of documents: any/all take a filter on one element
    created_at: DateTime<Utc>, // compared as the instant, whatever offset and precision the text has
}

async fn typed_tour(client: &Client) -> fraiseql_wire::Result<()> {
    let since: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("a valid date");
    let mut active = Project::query(client)
        .filter(|p| p.status.eq(Status::Active).and(p.priority.gte(3)).and(p.owner.team.eq("core")))
        .filter(|p| p.created_at.gte(since))
        .filter(|p| p.tags.contains("rust").or(p.score.is_null()))
        .filter(|p| p.labels.any(|l| l.name.eq("urgent").and(l.weight.gte(2))).or(p.labels.is_empty()))
        .order_by(|p| (p.priority.desc(), p.id.asc()))
        .limit(100)
        .stream(); // impl Stream<Item = fraiseql_wire::Result<Project>>
    let mut last = None;
    while let Some(project) = active.try_next().await? {
        println!("{} {:?} {}", project.name, project.status, project.priority);
        last = Some(project);
    }

    // Keyset pagination: the next page after the last row, by the same keys.
    if let Some(last) = last {
        let next: Vec<Project> = Project::query(client)
            .order_by(|p| (p.priority.desc(), p.id.asc()))
            .after(&last)
            .limit(100)
            .fetch_all()
            .await?;
        println!("{} more", next.len());
    }

    // Filters are values: build them elsewhere, combine them, inspect the SQL.
    let f = Project::fields();
    let urgent = f.priority.gte(8) | f.name.starts_with("hotfix");
    let query = Project::query(client).filter_by(urgent);
    println!("{:?}", query.to_sql()?); // SELECT "data" FROM "app"."v_project" WHERE ((data->>'priority')::numeric >= $1::numeric) OR …
    println!("{} urgent", query.count().await?);
    Ok(())
}
