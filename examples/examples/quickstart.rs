//! Quickstart: stream a filtered, ordered view as typed structs.
//!
//! ```sh
//! cargo run -p examples --example quickstart                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example quickstart
//! ```
//!
//! Without `DATABASE_URL` this starts a private PostgreSQL cluster (removed on exit). Either way it creates a
//! `project` table and a `v_project(id, data jsonb)` view, then reads the view with fraiseql-wire.

use std::time::Instant;

use futures_util::TryStreamExt;
use serde::Deserialize;

/// One document of `v_project.data`. Fields are matched by name; extra JSON keys are ignored.
#[derive(Deserialize)]
struct Project {
    id: i64,
    name: String,
    status: String,
    priority: i32,
    tags: Vec<String>,
    owner: Owner,
    /// A `timestamptz` becomes an ISO 8601 string in JSON.
    created_at: String,
}

#[derive(Deserialize)]
struct Owner {
    name: String,
    email: Option<String>,
}

/// Idempotent, so re-running against the same `DATABASE_URL` works.
const SETUP_SQL: &str = "
CREATE TABLE IF NOT EXISTS project (
    id         bigint PRIMARY KEY,
    name       text NOT NULL,
    status     text NOT NULL,
    priority   int NOT NULL,
    tags       text[] NOT NULL,
    owner      text NOT NULL,
    email      text,
    created_at timestamptz NOT NULL
);
INSERT INTO project
SELECT i,
       'Project ' || i,
       (ARRAY['active', 'paused', 'done'])[1 + i % 3],
       1 + i % 5,
       ARRAY['team-' || (i % 4), 'q' || (1 + i % 4)],
       'Owner ' || (i % 50),
       CASE WHEN i % 10 <> 0 THEN 'owner' || (i % 50) || '@example.com' END,
       timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour'
FROM generate_series(1, 5000) AS i
ON CONFLICT (id) DO NOTHING;
-- The shape fraiseql-wire reads: one JSON document per row, in a column named `data`.
CREATE OR REPLACE VIEW v_project AS
SELECT id,
       jsonb_build_object(
           'id', id, 'name', name, 'status', status, 'priority', priority, 'tags', to_jsonb(tags),
           'owner', jsonb_build_object('name', owner, 'email', email),
           'created_at', created_at
       ) AS data
FROM project;
";

/// How many rows to print before only counting.
const SHOW: usize = 5;

// fraiseql-wire works on any tokio runtime; a single-threaded one is all a sequential reader needs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server at DATABASE_URL, or a throwaway cluster kept alive by `_cluster` until the end of `main`.
    let (url, _cluster) = examples::database(SETUP_SQL).await?;

    let client = fraiseql_wire::Client::connect(&url).await?;
    let started = Instant::now();
    // Values travel as bound parameters (`$1` in each fragment), never pasted into the SQL. Nothing is sent
    // until the stream is first polled; rows are then read from the socket one at a time as we ask for them.
    let mut projects = client
        .query("v_project")
        .where_sql("data->>'status' = $1", &[&"active"])
        .where_sql("(data->>'priority')::int >= $1", &[&3])
        .order_by_sql("(data->>'priority')::int DESC")
        .order_by_sql("(data->>'id')::bigint")
        .stream_as::<Project>();

    let mut rows = 0usize;
    // `try_next` stops at the first error: a server error, or a row that does not fit `Project` (which names
    // the row and the JSON path, e.g. `row 12, at owner.name: invalid type: null, expected a string`).
    while let Some(project) = projects.try_next().await? {
        if rows < SHOW {
            let Project { id, name, status, priority, tags, owner, created_at } = project;
            let email = owner.email.as_deref().unwrap_or("no email");
            println!("#{id:<5} {name:<13} {status} p{priority} {tags:?} {} <{email}> {created_at}", owner.name);
        }
        rows += 1;
    }
    let elapsed = started.elapsed();
    if rows > SHOW {
        println!("… and {} more", rows - SHOW);
    }
    println!(
        "{rows} active projects with priority >= 3 in {:.1} ms ({:.0} rows/s)",
        elapsed.as_secs_f64() * 1e3,
        rows as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
