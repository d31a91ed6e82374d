//! Many one-row lookups per request (the N+1 shape): fraiseql-wire's pipelined `Batch` against its own queries
//! one after another and against tokio-postgres pipelining the same lookups as concurrent queries on one
//! connection (`try_join_all` of `query_one` with a prepared statement), on one throwaway cluster in one run.
//!
//! ```sh
//! cargo bench -p benches --bench batch                       # 7 rounds, 10 and 100 lookups per request
//! BATCH_ROUNDS=9 BATCH_REQUESTS=400 cargo bench -p benches --bench batch
//! ```
//!
//! Each round runs every configuration once per size (the order rotated every round) and records its mean time
//! per request; the table shows the medians over the rounds, and each ratio is the median of the per-round
//! ratios. Every lookup decodes its row into `serde_json::Value`, in both clients.

use std::time::Instant;

use benches::{env_u64, median};
use fraiseql_wire::Client;
use fraiseql_wire_tests::{AuthUser, TestCluster};
use futures_util::future::try_join_all;

const SETUP_SQL: &str = "CREATE TABLE lookup (id bigint PRIMARY KEY, data jsonb NOT NULL);
     INSERT INTO lookup SELECT i, jsonb_build_object('id', i, 'name', 'owner ' || i, 'team', 'team ' || (i % 17))
       FROM generate_series(1, 10000) i;
     CREATE VIEW v_lookup AS SELECT id, data FROM lookup;
     ANALYZE lookup;";
const LOOKUP: &str = "SELECT data FROM v_lookup WHERE id = $1";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    Batch,
    Sequential,
    TokioPipelined,
    TokioSequential,
}

impl Setup {
    const ALL: [Setup; 4] = [Setup::Batch, Setup::Sequential, Setup::TokioPipelined, Setup::TokioSequential];

    fn label(self) -> &'static str {
        match self {
            Setup::Batch => "fraiseql-wire `Batch` (one write, one Sync per query)",
            Setup::Sequential => "fraiseql-wire `fetch_one`, one query after another",
            Setup::TokioPipelined => "tokio-postgres `try_join_all` of `query_one` (pipelined), prepared",
            Setup::TokioSequential => "tokio-postgres `query_one`, one after another, prepared",
        }
    }
}

fn main() {
    let rounds = env_u64("BATCH_ROUNDS", 7) as usize;
    let requests = env_u64("BATCH_REQUESTS", 200);
    let cluster = TestCluster::start();
    let url = cluster.url(AuthUser::Superuser, "postgres");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let (tokio_client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        tokio_client.batch_execute(SETUP_SQL).await.expect("the view");
        let prepared = tokio_client.prepare(LOOKUP).await.expect("prepare");
        let client = Client::connect(&url).await.expect("connect");

        println!("One-row lookups per request on an open connection, {rounds} rounds, current-thread runtime:");
        println!();
        println!(
            "| lookups per request | configuration | µs per request (median) | ratio to our batch | ratio to tokio-postgres pipelined |"
        );
        println!("|---:|---|---:|---:|---:|");
        for size in [10i64, 100] {
            let per_size = (requests * 10 / size as u64).max(10);
            let mut micros: Vec<Vec<f64>> = vec![Vec::new(); Setup::ALL.len()];
            for round in 0..=rounds {
                for i in 0..Setup::ALL.len() {
                    let index = (i + round) % Setup::ALL.len();
                    let started = Instant::now();
                    for request in 0..per_size as i64 {
                        let ids = (0..size).map(|k| 1 + (request * size + k) % 10_000);
                        let rows: Vec<serde_json::Value> = match Setup::ALL[index] {
                            Setup::Batch => {
                                let mut batch = client.batch();
                                let tickets: Vec<_> = ids
                                    .map(|id| batch.push(client.query("v_lookup").where_sql("id = $1", &[&id])))
                                    .collect();
                                let mut results = batch.send().await.expect("sent");
                                let mut rows = Vec::with_capacity(tickets.len());
                                for ticket in tickets {
                                    rows.push(results.fetch_one(ticket).await.expect("a lookup"));
                                }
                                rows
                            }
                            Setup::Sequential => {
                                let mut rows = Vec::new();
                                for id in ids {
                                    rows.push(
                                        client.query("v_lookup").where_sql("id = $1", &[&id]).fetch_one().await.expect("one"),
                                    );
                                }
                                rows
                            }
                            Setup::TokioPipelined => {
                                let ids: Vec<i64> = ids.collect();
                                let (peer, statement) = (&tokio_client, &prepared);
                                let lookups = ids.iter().map(|id| async move { peer.query_one(statement, &[id]).await });
                                try_join_all(lookups).await.expect("pipelined").iter().map(|row| row.get(0)).collect()
                            }
                            Setup::TokioSequential => {
                                let mut rows = Vec::new();
                                for id in ids {
                                    rows.push(tokio_client.query_one(&prepared, &[&id]).await.expect("one").get(0));
                                }
                                rows
                            }
                        };
                        assert_eq!(rows.len(), size as usize);
                        std::hint::black_box(rows);
                    }
                    // Round 0 only warms up.
                    if round > 0 {
                        micros[index].push(started.elapsed().as_secs_f64() * 1e6 / per_size as f64);
                    }
                }
            }
            let ratio = |index: usize, reference: usize| {
                let ratios: Vec<f64> = micros[index].iter().zip(&micros[reference]).map(|(a, b)| a / b).collect();
                median(&ratios)
            };
            let ours = Setup::ALL.iter().position(|s| *s == Setup::Batch).unwrap_or(0);
            let theirs = Setup::ALL.iter().position(|s| *s == Setup::TokioPipelined).unwrap_or(2);
            for (index, setup) in Setup::ALL.iter().enumerate() {
                println!(
                    "| {size} | {} | {:.0} | {:.2} | {:.2} |",
                    setup.label(),
                    median(&micros[index]),
                    ratio(index, ours),
                    ratio(index, theirs)
                );
            }
        }
        println!();
        println!("A ratio is this configuration's time over the reference's: above 1, slower than the reference.");
    });
    drop(cluster);
}
