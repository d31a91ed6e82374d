//! Typed entities: `#[derive(Entity)]` turns a struct into typed filters, sort keys and keyset pagination.
//!
//! ```sh
//! cargo run -p examples --example typed_entity                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example typed_entity
//! ```
//!
//! Without `DATABASE_URL` this starts a private PostgreSQL cluster (removed on exit). Either way it creates a
//! `typed_project` table and a `v_typed_project(id, data jsonb)` view, then reads the view with typed queries:
//! every filter below is checked by the compiler (a typo in a field name, or `gt` on a boolean, does not
//! build), and compiles to SQL with bound parameters.

use std::time::Instant;

use fraiseql_wire::{Document, Entity, Scalar};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

/// A unit-variant enum stored as a snake_case string (`"on_hold"`); `Scalar` makes it comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Scalar)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    OnHold,
    Done,
}

/// An object nested in the document: its fields get handles too (`p.owner.team`).
#[derive(Debug, Deserialize, Document)]
struct Owner {
    name: String,
    team: String,
}

/// One document of `v_typed_project.data`. Fields are matched by name; extra JSON keys are ignored.
#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_typed_project")]
struct Project {
    /// Filtered and sorted on the view's `id` column (and its index); decoded from the document's `id` key.
    /// Being unique, it can end a keyset `order_by`.
    #[entity(column = "id")]
    id: i64,
    name: String,
    status: Status,
    priority: i32,
    /// Missing or `null` in some documents.
    score: Option<f64>,
    tags: Vec<String>,
    owner: Owner,
}

/// Idempotent, so re-running against the same `DATABASE_URL` works.
const SETUP_SQL: &str = "
CREATE TABLE IF NOT EXISTS typed_project (
    id   bigint PRIMARY KEY,
    data jsonb NOT NULL
);
INSERT INTO typed_project
SELECT i, jsonb_strip_nulls(jsonb_build_object(
           'id', i,
           'name', 'Project ' || i,
           'status', (ARRAY['active', 'on_hold', 'done'])[1 + i % 3],
           'priority', 1 + i % 5,
           'score', CASE WHEN i % 4 <> 0 THEN round((i % 97) / 10.0, 1) END,
           'tags', jsonb_build_array('q' || (1 + i % 4), CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END),
           'owner', jsonb_build_object('name', 'Owner ' || (i % 50), 'team', (ARRAY['core', 'web', 'ops'])[1 + i % 7 % 3])
       ))
FROM generate_series(1, 5000) AS i
ON CONFLICT (id) DO NOTHING;
-- The shape fraiseql-wire reads: one JSON document per row, in a column named `data`.
CREATE OR REPLACE VIEW v_typed_project AS SELECT id, data FROM typed_project;
";

/// Rows per page.
const PAGE: u64 = 5;

// fraiseql-wire works on any tokio runtime; a single-threaded one is all a sequential reader needs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server at DATABASE_URL, or a throwaway cluster kept alive by `_cluster` until the end of `main`.
    let (url, _cluster) = examples::database(SETUP_SQL).await?;

    let client = fraiseql_wire::Client::connect(&url).await?;

    // The closures receive the entity's field handles; each operator is typed by the field (`Status` for
    // `status`, a number for `priority`, text for `owner.team`).
    let active_core = Project::query(&client)
        .filter(|p| p.status.eq(Status::Active).and(p.priority.gte(3)).and(p.owner.team.eq("core")));
    // `SELECT count(*)` with the same filter.
    let total = active_core.clone().count().await?;
    let query = active_core.order_by(|p| (p.priority.desc(), p.id.asc()));
    // The statement sent: keys are SQL literals from the struct, values are `$n` parameters.
    let statement = query.to_sql()?;
    println!("SQL: {}", statement.sql);
    println!("parameters: {:?}", statement.params.iter().map(|p| p.as_str()).collect::<Vec<_>>());

    let started = Instant::now();
    // Nothing is sent until the stream is first polled; rows are decoded into `Project` one at a time.
    let mut rows = query.clone().limit(20).stream();
    let (mut shown, mut scored, mut score_sum) = (0usize, 0usize, 0.0);
    let mut last = None;
    while let Some(project) = rows.try_next().await? {
        if shown < PAGE as usize {
            let score = project.score.map_or("no score".to_owned(), |s| format!("score {s:.1}"));
            println!(
                "#{:<5} {:<13} {:?} p{} {score:<10} {:?} ({} / {})",
                project.id,
                project.name,
                project.status,
                project.priority,
                project.tags,
                project.owner.name,
                project.owner.team
            );
        }
        shown += 1;
        if let Some(score) = project.score {
            scored += 1;
            score_sum += score;
        }
        last = Some(project);
    }
    let elapsed = started.elapsed();
    if shown > PAGE as usize {
        println!("… and {} more", shown - PAGE as usize);
    }
    println!("{shown} of the {total} active core projects with priority >= 3 (limit 20)");
    if scored > 0 {
        println!("average score of the {scored} scored ones: {:.2}", score_sum / scored as f64);
    }
    println!("streamed in {:.1} ms", elapsed.as_secs_f64() * 1e3);

    // Keyset pagination: the next page starts after the last row read, in the same order. Unlike OFFSET, the
    // server does not read and skip the earlier rows, and rows inserted meanwhile do not shift the pages.
    if let Some(last) = last {
        println!("next {PAGE} after #{} (priority {}):", last.id, last.priority);
        let page = query.after(&last).limit(PAGE).fetch_all().await?;
        for project in &page {
            println!("#{:<5} {:<13} p{}", project.id, project.name, project.priority);
        }
    }
    Ok(())
}
