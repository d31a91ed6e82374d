//! Parallel export: one view read over several connections that see one snapshot of the data.
//!
//! ```sh
//! cargo run -p examples --example parallel_export                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example parallel_export
//! ```
//!
//! `parallel(n, key)` opens `n` connections of its own: the first exports its snapshot, the others adopt it, and
//! each reads the rows whose `key` hashes to its slice, or with `.by_range()` its share of the range of an integer
//! key (read through the key's index, so the server does no work twice). The rows arrive unordered; the count and an
//! order-independent checksum show they are the rows of one ordinary stream. The times printed mean little in a
//! debug build, where the client's own work is the bottleneck: `--release`, and a server with idle cores, show
//! what splitting gains (PERFORMANCE.md).

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::time::Instant;

use bytes::Bytes;
use fraiseql_wire::Client;
use futures_util::{Stream, TryStreamExt};

/// Idempotent, so re-running against the same `DATABASE_URL` works.
const SETUP_SQL: &str = "
CREATE TABLE IF NOT EXISTS export_item AS
SELECT i AS id, jsonb_build_object('id', i, 'sku', 'SKU-' || i, 'stock', i % 113, 'note', md5(i::text)) AS data
FROM generate_series(1, 200000) AS i;
CREATE INDEX IF NOT EXISTS export_item_id ON export_item (id);
CREATE OR REPLACE VIEW v_export_item AS SELECT id, data FROM export_item;
";

/// Rows, and the wrapping sum of each row's hash.
async fn tally(rows: impl Stream<Item = fraiseql_wire::Result<Bytes>>) -> fraiseql_wire::Result<(u64, u64)> {
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    rows.try_fold((0u64, 0u64), |(n, sum), row| {
        let hash = hasher.hash_one(&row[..]);
        async move { Ok((n + 1, sum.wrapping_add(hash))) }
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(SETUP_SQL).await?;
    let client = Client::connect(&url).await?;

    let started = Instant::now();
    let one = tally(client.query("v_export_item").stream_raw()).await?;
    println!("one stream:  {} rows, checksum {:016x}, {:.0} ms", one.0, one.1, started.elapsed().as_secs_f64() * 1e3);

    for connections in [2, 4] {
        for by_range in [false, true] {
            let started = Instant::now();
            let export = client.query("v_export_item").parallel(connections, "id");
            let export = if by_range { export.by_range() } else { export };
            let split = tally(export.stream_raw()).await?;
            println!(
                "parallel({connections}){}: {} rows, checksum {:016x}, {:.0} ms",
                if by_range { ".by_range()" } else { "" },
                split.0,
                split.1,
                started.elapsed().as_secs_f64() * 1e3
            );
            assert_eq!(split, one, "a parallel export returned other rows");
        }
    }

    // In key order: each slice ordered by its server, the slices read in turn; the same rows in the same order as
    // one `ORDER BY id` stream.
    let started = Instant::now();
    let ordered: Vec<_> = client.query("v_export_item").order_by_sql("id").stream_raw().try_collect().await?;
    let one_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let in_key_order: Vec<_> =
        client.query("v_export_item").parallel(2, "id").in_key_order().stream_raw().try_collect().await?;
    println!(
        "ordered by id: one stream {one_ms:.0} ms, parallel(2).in_key_order() {:.0} ms, {} rows in the same order",
        started.elapsed().as_secs_f64() * 1e3,
        in_key_order.len()
    );
    assert_eq!(in_key_order, ordered, "in_key_order() returned other rows or another order");
    Ok(())
}
