//! A live query: a dashboard's "open tickets of high priority", first as they are, then every change, while
//! another task writes. The state folded from the events is checked against a fresh run of the query at the end.
//!
//! ```sh
//! cargo run -p examples --example live_query                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example live_query
//! ```
//!
//! The change source is the SQL `fraiseql_wire::watch::trigger_sql` writes: statement-level triggers on the
//! table that send the changed keys on the view's channel. Install it once, in a migration.

use std::collections::HashMap;
use std::time::Duration;

use fraiseql_wire::watch::{self, Event};
use fraiseql_wire::{Client, Entity};
use futures_util::TryStreamExt;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize, Entity)]
#[entity(view = "v_ticket")]
struct Ticket {
    #[entity(column = "id")]
    id: i64,
    title: String,
    open: bool,
    priority: i32,
}

const SETUP_SQL: &str = "
CREATE TABLE IF NOT EXISTS ticket (id bigint PRIMARY KEY, title text NOT NULL, open boolean NOT NULL,
                                   priority int NOT NULL);
INSERT INTO ticket SELECT i, 'ticket ' || i, i % 3 <> 0, 1 + i % 5 FROM generate_series(1, 1000) i
ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE VIEW v_ticket AS
SELECT id, jsonb_build_object('id', id, 'title', title, 'open', open, 'priority', priority) AS data FROM ticket;
";

fn urgent(client: &Client) -> fraiseql_wire::Query<Ticket> {
    Ticket::query(client).filter(|t| t.open.eq(true) & t.priority.gte(4))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let triggers = watch::trigger_sql("ticket", "id", "v_ticket")?;
    let (url, _cluster) = examples::database(&format!("{SETUP_SQL}{triggers}")).await?;
    let client = Client::connect(&url).await?;

    let mut live = urgent(&client).watch();
    let mut board: HashMap<String, Ticket> = HashMap::new();
    while let Some(event) = live.try_next().await? {
        match event {
            Event::Snapshot { key, row } => {
                board.insert(key, row);
            }
            Event::Ready => break,
            other => println!("before the snapshot ended: {other:?}"),
        }
    }
    println!("{} urgent tickets; watching", board.len());

    // A writer elsewhere closes, reopens, reprioritises and files tickets while the board follows.
    let mut counts = Counts::default();
    let (written, followed) = tokio::join!(write(&url), fold(&mut live, &mut board, &mut counts, None));
    written?;
    followed?;
    // Two marker rows, one after the other: the second arrives once the first's batch (and every change
    // committed before the first) has been read.
    for marker in [99_998, 99_999] {
        let sql = format!(
            "INSERT INTO ticket VALUES ({marker}, 'marker', true, 5) ON CONFLICT (id) DO UPDATE \
             SET title = 'marker ' || clock_timestamp(), open = true, priority = 5"
        );
        examples::run_sql(&url, &sql).await?;
        fold(&mut live, &mut board, &mut counts, Some(marker)).await?;
    }
    let fresh = urgent(&client).fetch_all().await?;
    println!("{} upserts and {} removals; {} urgent tickets now", counts.upserts, counts.removals, board.len());
    assert_eq!(board.len(), fresh.len(), "the live board and a fresh query disagree");
    assert!(fresh.iter().all(|t| board.get(&t.id.to_string()) == Some(t)));
    println!("the live board equals a fresh run of the query");
    Ok(())
}

async fn write(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    for round in 0..20 {
        let sql = format!(
            "UPDATE ticket SET open = NOT open WHERE id = {a};
             UPDATE ticket SET priority = 1 + (priority + 2) % 5 WHERE id BETWEEN {b} AND {b} + 30;
             INSERT INTO ticket VALUES ({new}, 'filed live', true, 5) ON CONFLICT (id) DO NOTHING;",
            a = 1 + round * 7,
            b = 100 + round * 40,
            new = 10_000 + round,
        );
        examples::run_sql(url, &sql).await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[derive(Default)]
struct Counts {
    upserts: u64,
    removals: u64,
}

/// Applies events to `board` until `until`'s upsert (or, with `None`, until half a second passes without one:
/// a demo's way to follow the writer while it runs).
async fn fold(
    live: &mut watch::Watch<Ticket>,
    board: &mut HashMap<String, Ticket>,
    counts: &mut Counts,
    until: Option<i64>,
) -> Result<(), Box<dyn std::error::Error>> {
    loop {
        let next = match until {
            Some(_) => live.try_next().await?,
            None => match tokio::time::timeout(Duration::from_millis(500), live.try_next()).await {
                Ok(next) => next?,
                Err(_) => return Ok(()),
            },
        };
        let Some(event) = next else {
            return Err("the watch ended".into());
        };
        match event {
            Event::Snapshot { key, row } => {
                board.insert(key, row);
            }
            Event::Upsert { key, row } => {
                counts.upserts += 1;
                let done = Some(row.id) == until;
                if counts.upserts <= 5 {
                    println!("upsert {key}: {row:?}");
                }
                board.insert(key, row);
                if done {
                    return Ok(());
                }
            }
            Event::Remove { key } => {
                counts.removals += 1;
                board.remove(&key);
            }
            Event::Resync { reason } => {
                println!("reading afresh: {reason}");
                board.clear();
            }
            _ => {}
        }
    }
}
