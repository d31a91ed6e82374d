//! What a live query costs: the writers' overhead of the `watch::trigger_sql` triggers (the same statements on a
//! table without and with them, while a watch follows the watched one), and the memory a slow consumer costs
//! (a watch that reads nothing while 200,000 rows change), on one throwaway cluster in one run.
//!
//! ```sh
//! cargo bench -p benches --bench watch                       # 5 rounds
//! WATCH_ROUNDS=9 WATCH_STATEMENTS=4000 cargo bench -p benches --bench watch
//! ```
//!
//! Each round runs every workload on both tables (which one first alternates); the table shows the median
//! time of each and the median of the per-round ratios.

use std::time::{Duration, Instant};

use benches::{env_u64, median, peak_rss_kib};
use fraiseql_wire::Client;
use fraiseql_wire::watch::{self, Event, WatchOptions};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use futures_util::TryStreamExt;

const ROWS: u64 = 200_000;

fn setup_sql() -> String {
    let mut sql = String::new();
    for table in ["plain", "watched"] {
        sql.push_str(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, status text NOT NULL, score bigint NOT NULL);
             INSERT INTO {table} SELECT i, 'open', i FROM generate_series(1, {ROWS}) i;
             CREATE VIEW v_{table} AS
               SELECT id, jsonb_build_object('id', id, 'status', status, 'score', score) AS data FROM {table};
             ANALYZE {table};"
        ));
    }
    sql.push_str(&watch::trigger_sql("watched", "id", "v_watched").expect("trigger SQL"));
    sql
}

/// One workload on `table`: its statements, each in its own transaction (autocommit).
fn statements(workload: &str, table: &str, n: u64, round: u64) -> Vec<String> {
    match workload {
        "single-row UPDATE" => (0..n)
            .map(|i| format!("UPDATE {table} SET score = score + 1 WHERE id = {}", 1 + (i * 7919 + round) % ROWS))
            .collect(),
        "single-row INSERT" => (0..n)
            .map(|i| format!("INSERT INTO {table} VALUES ({}, 'new', 0)", 10_000_000 + round * 1_000_000 + i))
            .collect(),
        "UPDATE of 10,000 rows" => (0..5)
            .map(|i| {
                format!("UPDATE {table} SET score = score + 1 WHERE id BETWEEN {0} AND {0} + 9999", 1 + i * 20_000)
            })
            .collect(),
        _ => unreachable!(),
    }
}

fn main() {
    let rounds = env_u64("WATCH_ROUNDS", 5);
    let n = env_u64("WATCH_STATEMENTS", 2000);
    let cluster = TestCluster::start();
    let url = cluster.url(AuthUser::Superuser, "postgres");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    runtime.block_on(async {
        let (writer, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        writer.batch_execute(&setup_sql()).await.expect("setup");
        let client = Client::connect(&url).await.expect("connect");

        // A watch of the whole view follows the writes, as in production.
        let mut live = client.query("v_watched").watch();
        while live.try_next().await.expect("snapshot") != Some(Event::Ready) {}
        let follower = tokio::spawn(async move {
            let mut events = 0u64;
            while let Some(_event) = live.try_next().await.expect("the watch") {
                events += 1;
            }
            events
        });

        println!("Writers' overhead of the watch triggers ({rounds} rounds, one statement per transaction)\n");
        println!("| workload | without triggers | with triggers, one watch following | ratio |");
        println!("|---|---:|---:|---:|");
        for workload in ["single-row UPDATE", "single-row INSERT", "UPDATE of 10,000 rows"] {
            let (mut plain, mut watched, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds {
                let mut times = [0.0; 2];
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for which in order {
                    let table = ["plain", "watched"][which];
                    let sql = statements(workload, table, n, round);
                    let started = Instant::now();
                    for statement in &sql {
                        writer.batch_execute(statement).await.expect("a write");
                    }
                    times[which] = started.elapsed().as_secs_f64() / sql.len() as f64;
                }
                plain.push(times[0]);
                watched.push(times[1]);
                ratios.push(times[1] / times[0]);
            }
            println!(
                "| {workload} | {:.1} µs | {:.1} µs | {:.2}× |",
                median(&plain) * 1e6,
                median(&watched) * 1e6,
                median(&ratios)
            );
        }
        follower.abort();

        println!("\nA slow consumer: a watch that reads nothing while every row of {ROWS} changes\n");
        println!("| max_pending_keys | keys pending after | peak RSS growth |");
        println!("|---:|---:|---:|");
        for cap in [10_000usize, 1_000_000] {
            let mut slow = client.query("v_watched").watch_with(WatchOptions::new().max_pending_keys(cap));
            while slow.try_next().await.expect("snapshot") != Some(Event::Ready) {}
            let before = peak_rss_kib().unwrap_or(0);
            writer.batch_execute("UPDATE watched SET score = score + 1").await.expect("the update");
            // The listener has read every notification once the server's queue is empty again.
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let row = writer.query_one("SELECT pg_notification_queue_usage()", &[]).await.expect("usage");
                if row.get::<_, f64>(0) == 0.0 || Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let grown = peak_rss_kib().unwrap_or(0).saturating_sub(before);
            println!("| {cap} | {} | {:.1} MiB |", slow.pending_keys(), grown as f64 / 1024.0);
        }
    });
}
