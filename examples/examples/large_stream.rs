//! Streaming a large result with bounded memory: 200,000 documents of about 1 KB (200 MB of JSON) read as typed
//! rows one at a time; the process's peak memory stays near the size of the largest row, not the result.
//!
//! ```sh
//! cargo run --release -p examples --example large_stream                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run --release -p examples --example large_stream
//! ```

use std::time::Instant;

use fraiseql_wire::Client;
use futures_util::TryStreamExt;
use serde::Deserialize;

#[derive(Deserialize)]
struct Item {
    id: i64,
    price: f64,
    note: String,
}

const ROWS: u64 = 200_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(&examples::item_sql(ROWS, 900)).await?;
    let client = Client::connect(&url).await?;
    let before = examples::peak_rss_mib();

    let started = Instant::now();
    // Nothing is buffered ahead: the next row is read from the socket when the loop asks for it, so a slow
    // consumer makes the server wait instead of filling memory.
    let mut rows = client.query_as::<Item>("v_item").stream();
    let (mut count, mut bytes, mut total) = (0u64, 0usize, 0.0);
    let mut max_id = 0;
    while let Some(item) = rows.try_next().await? {
        count += 1;
        bytes += item.note.len();
        total += item.price;
        max_id = max_id.max(item.id);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} rows ({} MB of notes) in {secs:.2} s: {:.0} rows/s; sum of prices {total:.2}",
        bytes / 1_000_000,
        count as f64 / secs
    );
    assert!(count >= ROWS && max_id >= ROWS as i64);
    match (before, examples::peak_rss_mib()) {
        (Some(before), Some(after)) => {
            println!(
                "peak RSS: {after:.1} MiB (before the stream: {before:.1} MiB) for a {} MB result",
                count * 1_000 / 1_000_000
            );
        }
        _ => println!("peak RSS: not available on this platform"),
    }
    Ok(())
}
