//! Projection: a struct reading 3 keys of wide documents, with and without `select_keys`, and a struct reading
//! every key of the `projects` documents (where a projection can only cost). See README.md, "Projection".
//!
//! `cargo bench -p benches --bench projection`; `PROJECTION_ROUNDS` (default 3).

use std::time::Instant;

use fraiseql_wire::{Client, Entity, Query};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use futures_util::TryStreamExt;
use serde::Deserialize;

use benches::{median, setup_sql};

/// The three keys a slim reader wants, from each view (an entity is bound to one view).
macro_rules! slim {
    ($name:ident, $view:literal) => {
        #[derive(Deserialize, fraiseql_wire::Entity)]
        #[entity(view = $view)]
        #[allow(dead_code)]
        struct $name {
            id: i64,
            name: String,
            status: String,
        }
    };
}
slim!(SlimWide, "v_wide");
slim!(SlimMid, "v_mid");
slim!(SlimProjects, "v_projects");

/// Every key of a `projects` document.
#[derive(Deserialize, fraiseql_wire::Entity)]
#[entity(view = "v_projects")]
#[allow(dead_code)]
struct FullProject {
    id: i64,
    name: String,
    status: String,
    description: String,
    category: String,
    priority: i32,
    budget: f64,
    progress: f64,
    archived: bool,
    created_at: String,
    updated_at: String,
    tags: Vec<String>,
    #[entity(skip)]
    owner: benches::Owner,
}

/// How a case asks for the documents.
#[derive(Clone, Copy)]
enum Ask {
    Whole,
    /// `projected()`: documents stored in at least 256 B per key read are projected, the others come whole.
    Projected,
    /// `select_keys(KEYS)`: every document projected.
    Exact,
}

impl Ask {
    fn apply<E: fraiseql_wire::Entity>(self, query: Query<E>) -> Query<E> {
        match self {
            Ask::Whole => query,
            Ask::Projected => query.projected(),
            Ask::Exact => query.select_keys(E::KEYS.unwrap_or_default().iter().copied()),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Ask::Whole => "whole documents",
            Ask::Projected => "`projected()`",
            Ask::Exact => "`select_keys` (every row)",
        }
    }
}

/// `wide`: 20,000 documents of about 96 KB (toasted); `mid`: 200,000 of about 1.9 KB (stored inline); each has
/// `id`, `name`, `status` and 50 or 25 padding keys of hex text.
const WIDE_SQL: &str = "
    CREATE TABLE wide AS SELECT i AS id,
        jsonb_build_object('id', i, 'name', 'n' || i, 'status', CASE WHEN i % 3 = 0 THEN 'active' ELSE 'done' END)
        || (SELECT jsonb_object_agg('k' || j, repeat(md5((i * 100 + j)::text), 60)) FROM generate_series(1, 50) j)
        AS data FROM generate_series(1, 20000) i;
    CREATE TABLE mid AS SELECT i AS id,
        jsonb_build_object('id', i, 'name', 'n' || i, 'status', CASE WHEN i % 3 = 0 THEN 'active' ELSE 'done' END)
        || (SELECT jsonb_object_agg('k' || j, md5((i * 100 + j)::text) || md5(j::text)) FROM generate_series(1, 25) j)
        AS data FROM generate_series(1, 200000) i;
    CREATE VIEW v_wide AS SELECT id, data FROM wide;
    CREATE VIEW v_mid AS SELECT id, data FROM mid;
    VACUUM ANALYZE wide;
    VACUUM ANALYZE mid;";

struct Run {
    secs: f64,
    wire_bytes: u64,
    rows: u64,
}

async fn run<E: Entity>(client: &Client, ask: Ask) -> Run {
    let query = ask.apply(E::query(client));
    let wire_bytes = wire_bytes(query.clone()).await;
    let started = Instant::now();
    let rows = query
        .stream()
        .try_fold(0u64, |n, row| {
            std::hint::black_box(row);
            async move { Ok(n + 1) }
        })
        .await
        .expect("bench query");
    Run { secs: started.elapsed().as_secs_f64(), wire_bytes, rows }
}

/// The bytes of the rows' messages on the wire: each document's text and the 11 bytes of its DataRow framing.
async fn wire_bytes<T>(query: fraiseql_wire::Query<T>) -> u64 {
    query
        .stream_raw()
        .try_fold(0u64, |n, row| async move { Ok(n + row.len() as u64 + 11) })
        .await
        .expect("bench query, raw")
}

fn main() {
    let rounds: usize = std::env::var("PROJECTION_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let cluster = TestCluster::start();
        let db = cluster.database().await;
        for statement in setup_sql(200_000) {
            db.execute(&statement).await;
        }
        // One statement at a time: `VACUUM` cannot share a query string.
        for statement in WIDE_SQL.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            db.execute(statement).await;
        }
        let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");

        let readers = [
            "wide (96 KB, toasted), 3 keys",
            "mid (1.9 KB, inline), 3 keys",
            "projects (423 B), 3 keys",
            "projects (423 B), every key",
        ];
        let asks = [Ask::Whole, Ask::Projected, Ask::Exact];
        let cases: Vec<(usize, Ask)> = (0..readers.len()).flat_map(|r| asks.map(|a| (r, a))).collect();
        let mut secs = vec![Vec::new(); cases.len()];
        let mut wire = vec![0u64; cases.len()];
        let mut rows = vec![0u64; cases.len()];
        for round in 0..=rounds {
            for (i, &(reader, ask)) in cases.iter().enumerate() {
                let outcome = match reader {
                    0 => run::<SlimWide>(&client, ask).await,
                    1 => run::<SlimMid>(&client, ask).await,
                    2 => run::<SlimProjects>(&client, ask).await,
                    _ => run::<FullProject>(&client, ask).await,
                };
                // Round 0 warms the caches and is not counted.
                if round > 0 {
                    secs[i].push(outcome.secs);
                }
                wire[i] = outcome.wire_bytes;
                rows[i] = outcome.rows;
            }
        }
        println!("| reader | asks for | rows | bytes on the wire | rows/s (median of {rounds}) | speed vs whole | bytes vs whole |");
        println!("|---|---|---:|---:|---:|---:|---:|");
        for (i, &(reader, ask)) in cases.iter().enumerate() {
            let rate = rows[i] as f64 / median(&secs[i]);
            let whole = i - i % asks.len();
            let ratio: Vec<f64> = secs[whole].iter().zip(&secs[i]).map(|(w, p)| w / p).collect();
            println!(
                "| {} | {} | {} | {:.1} MB | {:.0} | {:.2}× | 1/{:.1} |",
                readers[reader],
                ask.label(),
                rows[i],
                wire[i] as f64 / 1e6,
                rate,
                median(&ratio),
                wire[whole] as f64 / wire[i].max(1) as f64
            );
        }
    });
}
