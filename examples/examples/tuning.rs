//! Tuning: the same read on a current-thread and a multi-thread runtime, raw and typed, then many one-row queries
//! with the statement cache on (the default, 64 statements per connection) and off; prints rows/s, time per
//! query and peak RSS. Figures from a debug build mean little: use `--release`. PERFORMANCE.md explains each
//! setting.
//!
//! ```sh
//! cargo run --release -p examples --example tuning                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run --release -p examples --example tuning
//! ```

use std::time::Instant;

use fraiseql_wire::{Client, Config};
use futures_util::TryStreamExt;
use serde::Deserialize;

const ROWS: u64 = 100_000;
const QUERIES: u32 = 1_000;

#[derive(Deserialize)]
struct Item {
    id: i64,
    price: f64,
}

/// Rows/s of one raw and one typed read of the whole view.
async fn reads(url: &str) -> Result<(f64, f64), fraiseql_wire::Error> {
    let client = Client::connect(url).await?;
    let started = Instant::now();
    let n = client.query("v_item").stream_raw().try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?;
    let raw = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let n = client
        .query_as::<Item>("v_item")
        .stream()
        .try_fold(0u64, |n, item| async move { Ok(n + u64::from(item.id > 0 && item.price >= 0.0)) })
        .await?;
    let typed = n as f64 / started.elapsed().as_secs_f64();
    Ok((raw, typed))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setup = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (url, _cluster) = setup.block_on(examples::database(&examples::item_sql(ROWS, 200)))?;

    // Runtime flavour: one thread suits a sequential reader (no hand-off between threads); a service already on a
    // multi-thread runtime loses little.
    let (raw, typed) = setup.block_on(reads(&url))?;
    println!("current-thread runtime: raw {raw:>9.0} rows/s, typed {typed:>9.0} rows/s");
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (raw, typed) = multi.block_on(reads(&url))?;
    println!("multi-thread runtime:   raw {raw:>9.0} rows/s, typed {typed:>9.0} rows/s");

    // The statement cache: a repeated query is parsed and planned once per connection. Off (0) behind PgBouncer's
    // transaction pooling, where the next query may reach another server connection.
    setup.block_on(async {
        for capacity in [64, 0] {
            let config: Config = url.parse()?;
            let client = Client::connect_with(config.statement_cache_capacity(capacity)).await?;
            let started = Instant::now();
            for i in 0..QUERIES {
                let id = i64::from(i % 1000) + 1;
                client.query("v_item").where_sql("id = $1", &[&id]).fetch_one().await?;
            }
            let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(QUERIES);
            println!("statement_cache_capacity={capacity:<3} {micros:>6.0} µs per one-row query");
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;

    // Memory: bounded by the largest row (max_row_bytes, default 256 MiB, refuses a larger one), whatever the size
    // of the result.
    match examples::peak_rss_mib() {
        Some(mib) => println!("peak RSS after reading {} rows 4 times: {mib:.1} MiB", ROWS),
        None => println!("peak RSS: not available on this platform"),
    }
    Ok(())
}
