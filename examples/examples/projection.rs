//! Projection: a struct that reads three keys of large documents receives only those keys.
//!
//! ```sh
//! cargo run -p examples --example projection                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example projection
//! ```
//!
//! `#[entity(projection)]` makes the server build a document of the keys the struct reads (for documents large
//! enough for it to pay), so a listing of names over 100 KB documents does not ship or parse 100 KB per row.
//! Filters still see the whole document: here one on `category`, a key the struct does not read.

use std::time::Instant;

use fraiseql_wire::{Client, Entity};
use futures_util::TryStreamExt;
use serde::Deserialize;

/// Idempotent, so re-running against the same `DATABASE_URL` works: 500 stored documents of about 100 KB.
const SETUP_SQL: &str = "
CREATE TABLE IF NOT EXISTS report AS
SELECT i AS id, jsonb_build_object('id', i, 'title', 'Report ' || i, 'status', (ARRAY['draft', 'final'])[1 + i % 2],
    'category', (ARRAY['finance', 'ops', 'sales'])[1 + i % 3],
    'body', (SELECT string_agg(md5((i * 10000 + j)::text), ' ') FROM generate_series(1, 3000) AS j)) AS data
FROM generate_series(1, 500) AS i;
CREATE OR REPLACE VIEW v_report AS SELECT id, data FROM report;
";

#[derive(Debug, Deserialize, Entity)]
#[entity(view = "v_report", projection)]
struct ReportTitle {
    #[entity(column)]
    id: i64,
    title: String,
    status: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(SETUP_SQL).await?;
    let client = Client::connect(&url).await?;

    let query =
        ReportTitle::query(&client).where_sql("data->>'category' = $1", &[&"finance"]).filter(|r| r.status.eq("final"));
    println!("{}\n", query.to_sql()?.sql);

    for (label, query) in [("projected", query.clone()), ("whole documents", query.whole_documents())] {
        let started = Instant::now();
        let raw: Vec<bytes::Bytes> = query.clone().stream_raw().try_collect().await?;
        let bytes: usize = raw.iter().map(|row| row.len()).sum();
        let titles: Vec<ReportTitle> = query.fetch_all().await?;
        println!(
            "{label:<16} {} reports, {:>9} bytes of JSON, {:.1} ms for both reads; first: {:?}",
            titles.len(),
            bytes,
            started.elapsed().as_secs_f64() * 1e3,
            titles.first()
        );
    }
    Ok(())
}
