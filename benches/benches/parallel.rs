//! Parallel export with one snapshot: rows/s of `parallel(N, "id")` for N = 1, 2, 4 (hash split) and of
//! `parallel(N, "id").by_range()` for N = 2, 4 (range split; `id` has an index) against one stream of the same
//! view, raw and typed, after checking that every form returns the same rows (count and checksum); then rows in
//! key order, one `ORDER BY key` stream against `parallel(2, key).in_key_order()`. See README.md, "Parallel
//! export".
//!
//! `cargo bench -p benches --bench parallel`; `BENCH_ROWS` (default 1,000,000), `PARALLEL_ROUNDS` (default 3),
//! `BENCH_FLAVOR` (`current_thread`, the default, or `multi_thread`), `PARALLEL_ORDERED_ONLY=1` (only the
//! key-order table).

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::time::Instant;

use bytes::Bytes;
use fraiseql_wire::{Client, Result};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use futures_util::{Stream, TryStreamExt};

use benches::{Project, median, setup_sql};

/// The bench view with its key column (the stream benchmark's view has `data` only).
const VIEW: &str = "v_projects_id";

/// What one configuration reads.
#[derive(Clone, Copy)]
struct Case {
    typed: bool,
    /// `None`: one ordinary stream.
    connections: Option<usize>,
    by_range: bool,
}

impl Case {
    fn label(self) -> String {
        let form = if self.typed { "typed `Project`" } else { "raw" };
        match (self.connections, self.by_range) {
            (None, _) => format!("{form}, one stream"),
            (Some(n), false) => format!("{form}, parallel({n})"),
            (Some(n), true) => format!("{form}, parallel({n}).by_range()"),
        }
    }
}

async fn count<T>(rows: impl Stream<Item = Result<T>>) -> u64 {
    rows.try_fold(0u64, |n, row| {
        std::hint::black_box(row);
        async move { Ok(n + 1) }
    })
    .await
    .expect("bench query")
}

async fn run(client: &Client, case: Case) -> (u64, f64) {
    let split = |n| {
        let parallel = client.query_as::<Project>(VIEW).parallel(n, "id");
        if case.by_range { parallel.by_range() } else { parallel }
    };
    let started = Instant::now();
    let rows = match (case.typed, case.connections) {
        (false, None) => count(client.query(VIEW).stream_raw()).await,
        (false, Some(n)) => count(split(n).stream_raw()).await,
        (true, None) => count(client.query(VIEW).stream_as::<Project>()).await,
        (true, Some(n)) => count(split(n).stream()).await,
    };
    (rows, started.elapsed().as_secs_f64())
}

/// Row count and an order-independent checksum (the wrapping sum of each row's hash).
async fn checksum(rows: impl Stream<Item = Result<Bytes>>) -> (u64, u64) {
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    rows.try_fold((0u64, 0u64), |(n, sum), row| {
        let hash = hasher.hash_one(&row[..]);
        async move { Ok((n + 1, sum.wrapping_add(hash))) }
    })
    .await
    .expect("checksum query")
}

fn main() {
    let rows: u64 = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let rounds: usize = std::env::var("PARALLEL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let flavor = std::env::var("BENCH_FLAVOR").unwrap_or_else(|_| "current_thread".to_owned());
    let runtime = match flavor.as_str() {
        "multi_thread" => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
    .expect("runtime");
    runtime.block_on(async {
        let cluster = TestCluster::start();
        let db = cluster.database().await;
        for statement in setup_sql(rows) {
            db.execute(&statement).await;
        }
        db.execute(&format!("CREATE VIEW {VIEW} AS SELECT id, data FROM projects")).await;
        // What a range split reads its bounds and ranges with; the hash split and one stream scan the table.
        db.execute("CREATE INDEX projects_id ON projects (id)").await;
        let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");

        if std::env::var_os("PARALLEL_ORDERED_ONLY").is_some() {
            return ordered(&client, rounds, &flavor).await;
        }
        let single = checksum(client.query(VIEW).stream_raw()).await;
        for n in [1, 2, 4] {
            let split = checksum(client.query(VIEW).parallel(n, "id").stream_raw()).await;
            assert_eq!(split, single, "parallel({n}) returned other rows than one stream");
            let split = checksum(client.query(VIEW).parallel(n, "id").by_range().stream_raw()).await;
            assert_eq!(split, single, "parallel({n}).by_range() returned other rows than one stream");
        }
        println!(
            "same rows: {} rows, checksum {:016x}, for one stream and parallel(1, 2, 4), hash and range",
            single.0, single.1
        );

        let forms =
            [(None, false), (Some(1), false), (Some(2), false), (Some(4), false), (Some(2), true), (Some(4), true)];
        let mut cases = Vec::new();
        for typed in [false, true] {
            for (connections, by_range) in forms {
                cases.push(Case { typed, connections, by_range });
            }
        }
        let mut secs = vec![Vec::new(); cases.len()];
        for round in 0..=rounds {
            for (i, case) in cases.iter().enumerate() {
                let (read, elapsed) = run(&client, *case).await;
                assert_eq!(read, single.0, "{}", case.label());
                // Round 0 warms the caches and is not counted.
                if round > 0 {
                    secs[i].push(elapsed);
                }
            }
        }
        println!(
            "| reads ({flavor} runtime) | rows/s (median of {rounds}) | vs one stream (median ratio) | min – max |"
        );
        println!("|---|---:|---:|---:|");
        for (i, case) in cases.iter().enumerate() {
            let base = i - i % forms.len();
            let ratios: Vec<f64> = secs[base].iter().zip(&secs[i]).map(|(b, s)| b / s).collect();
            let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let high = ratios.iter().copied().fold(0.0, f64::max);
            println!(
                "| {} | {:.0} | {:.2}× | {low:.2} – {high:.2} |",
                case.label(),
                single.0 as f64 / median(&secs[i]),
                median(&ratios)
            );
        }
        ordered(&client, rounds, &flavor).await;
    });
}

/// Rows in key order: one `ORDER BY key` stream against `parallel(2, key).in_key_order()`, raw, for the indexed
/// `id` (an index scan) and for `id + 0`, which no index serves (a sort of every row, or of each slice's half).
async fn ordered(client: &Client, rounds: usize, flavor: &str) {
    let keys = ["id", "id + 0"];
    let one = |key| client.query(VIEW).order_by_sql(key).stream_raw();
    let split = |key| client.query(VIEW).parallel(2, key).in_key_order().stream_raw();
    for key in keys {
        let expected = sequence_checksum(one(key)).await;
        assert_eq!(sequence_checksum(split(key)).await, expected, "in_key_order() on `{key}`: other rows or order");
    }
    println!();
    println!("same rows in the same order for one `ORDER BY key` stream and parallel(2).in_key_order()");
    println!();
    println!(
        "| ordered by ({flavor} runtime) | one stream, s | parallel(2).in_key_order(), s | ratio (median) | min – max |"
    );
    println!("|---|---:|---:|---:|---:|");
    for key in keys {
        let (mut single, mut parallel) = (Vec::new(), Vec::new());
        for round in 0..=rounds {
            let started = Instant::now();
            count(one(key)).await;
            let one_secs = started.elapsed().as_secs_f64();
            let started = Instant::now();
            count(split(key)).await;
            if round > 0 {
                single.push(one_secs);
                parallel.push(started.elapsed().as_secs_f64());
            }
        }
        let ratios: Vec<f64> = single.iter().zip(&parallel).map(|(one, split)| one / split).collect();
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(0.0, f64::max);
        println!(
            "| `{key}` | {:.2} | {:.2} | {:.2}× | {low:.2} – {high:.2} |",
            median(&single),
            median(&parallel),
            median(&ratios)
        );
    }
}

/// Row count and an order-dependent checksum.
async fn sequence_checksum(rows: impl Stream<Item = Result<Bytes>>) -> (u64, u64) {
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    rows.try_fold((0u64, 0u64), |(n, sum), row| {
        let hash = hasher.hash_one(&row[..]);
        async move { Ok((n + 1, sum.rotate_left(5) ^ hash)) }
    })
    .await
    .expect("checksum query")
}
