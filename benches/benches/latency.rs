//! One-row queries on an open connection: fraiseql-wire with and without its statement cache against
//! tokio-postgres with a prepared statement and without one, on the same throwaway cluster in one run.
//!
//! ```sh
//! cargo bench -p benches --bench latency                 # 5 rounds of 2,000 queries each
//! LATENCY_ROUNDS=9 LATENCY_QUERIES=5000 cargo bench -p benches --bench latency
//! ```
//!
//! Each round runs every configuration once (the order rotated every round) and records its mean time per
//! query; the table shows the medians over the rounds, and the ratio of each to tokio-postgres prepared is the
//! median of the per-round ratios.

use std::time::Instant;

use benches::{env_u64, median};
use fraiseql_wire::{Client, Config};
use fraiseql_wire_tests::{AuthUser, TestCluster};

const VIEW_SQL: &str = "CREATE VIEW v_one AS SELECT jsonb_build_object('id', 1, 'name', 'one', 'tags', \
                        jsonb_build_array('a', 'b')) AS data";
const QUERY: &str = "SELECT \"data\" FROM \"v_one\"";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    Cached,
    CachedNoReadTimeout,
    Uncached,
    TokioPrepared,
    TokioUnprepared,
}

impl Setup {
    const ALL: [Setup; 5] =
        [Setup::Cached, Setup::CachedNoReadTimeout, Setup::Uncached, Setup::TokioPrepared, Setup::TokioUnprepared];

    fn label(self) -> &'static str {
        match self {
            Setup::Cached => "fraiseql-wire `fetch_one`, statement cache on (default)",
            Setup::CachedNoReadTimeout => "fraiseql-wire `fetch_one`, statement cache on, read_timeout=0",
            Setup::Uncached => "fraiseql-wire `fetch_one`, statement_cache_capacity=0",
            Setup::TokioPrepared => "tokio-postgres `query_one`, statement prepared once",
            Setup::TokioUnprepared => "tokio-postgres `query_one` with the SQL text (prepares every time)",
        }
    }
}

fn main() {
    let rounds = env_u64("LATENCY_ROUNDS", 5) as usize;
    let queries = env_u64("LATENCY_QUERIES", 2_000);
    let only = std::env::var("LATENCY_ONLY").ok().and_then(|v| v.parse::<usize>().ok());
    let cluster = TestCluster::start();
    let url = cluster.url(AuthUser::Superuser, "postgres");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let (tokio_client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        tokio_client.batch_execute(VIEW_SQL).await.expect("the view");
        let prepared = tokio_client.prepare(QUERY).await.expect("prepare");
        let config: Config = std::env::var("LATENCY_EXTRA")
            .map_or_else(|_| url.clone(), |extra| format!("{url}?{extra}"))
            .parse()
            .expect("url");
        let cached = Client::connect_with(config.clone()).await.expect("connect");
        let untimed =
            Client::connect_with(config.clone().read_timeout(std::time::Duration::ZERO)).await.expect("connect");
        let uncached = Client::connect_with(config.statement_cache_capacity(0)).await.expect("connect");

        let mut micros: Vec<Vec<f64>> = vec![Vec::new(); Setup::ALL.len()];
        for round in 0..=rounds {
            for i in 0..Setup::ALL.len() {
                let index = (i + round) % Setup::ALL.len();
                // LATENCY_ONLY=N runs the N-th configuration alone (0-based, in the table's order), for strace/perf.
                if only.is_some_and(|only| only != index) {
                    continue;
                }
                let started = Instant::now();
                for _ in 0..queries {
                    let value: serde_json::Value = match Setup::ALL[index] {
                        Setup::Cached => cached.query("v_one").fetch_one().await.expect("cached"),
                        Setup::CachedNoReadTimeout => untimed.query("v_one").fetch_one().await.expect("untimed"),
                        Setup::Uncached => uncached.query("v_one").fetch_one().await.expect("uncached"),
                        Setup::TokioPrepared => tokio_client.query_one(&prepared, &[]).await.expect("prepared").get(0),
                        Setup::TokioUnprepared => tokio_client.query_one(QUERY, &[]).await.expect("text").get(0),
                    };
                    std::hint::black_box(value);
                }
                // Round 0 only warms up.
                if round > 0 {
                    micros[index].push(started.elapsed().as_secs_f64() * 1e6 / queries as f64);
                }
            }
        }
        println!("1-row query on an open connection, {rounds} rounds of {queries} queries, current-thread runtime:");
        println!();
        println!("| configuration | µs per query (median) | ratio to tokio-postgres prepared |");
        println!("|---|---:|---:|");
        let reference = Setup::ALL.iter().position(|s| *s == Setup::TokioPrepared).unwrap_or(2);
        for (index, setup) in Setup::ALL.iter().enumerate() {
            if micros[index].is_empty() || micros[reference].is_empty() {
                continue;
            }
            let ratios: Vec<f64> = micros[index].iter().zip(&micros[reference]).map(|(a, b)| a / b).collect();
            println!("| {} | {:.1} | {:.2} |", setup.label(), median(&micros[index]), median(&ratios));
        }
    });
    drop(cluster);
}
