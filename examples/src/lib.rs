//! Runnable examples, each `cargo run -p examples --example NAME`: quickstart, typed_entity, read_models, filtering,
//! keyset_pagination, large_stream, error_handling, raw_passthrough, tls, pool, replicas, projection,
//! parallel_export, tuning, web_service and live_query. Each file starts with what it shows.
//!
//! This library holds what the examples share: finding a database to run against.

use fraiseql_wire_tests::{AuthUser, TestCluster};

/// A database for an example: the server at `DATABASE_URL`, or else a throwaway cluster started here, with
/// `setup_sql` already run on it.
///
/// Keep the returned cluster alive until the end of `main` (bind it to `_cluster`, not `_`): dropping it stops
/// the server and deletes its files.
pub async fn database(setup_sql: &str) -> Result<(String, Option<TestCluster>), Box<dyn std::error::Error>> {
    let (url, cluster) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            println!("DATABASE_URL is not set: starting a throwaway PostgreSQL cluster…");
            let cluster = TestCluster::start();
            (cluster.url(AuthUser::Superuser, "postgres"), Some(cluster))
        }
    };
    run_sql(&url, setup_sql).await?;
    Ok((url, cluster))
}

/// Runs `sql` (several statements) at `url`. fraiseql-wire only reads, so the schema is created with a
/// general-purpose client, without TLS.
pub async fn run_sql(url: &str, sql: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    admin.batch_execute(sql).await?;
    drop(admin);
    connection.await??;
    Ok(())
}

/// The peak resident memory of this process so far (`VmHWM`), in MiB; `None` where `/proc` has no such line.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The example table `item`: `rows` documents of about `pad` + 120 bytes, and the view `v_item(id, data)` over it.
/// Idempotent (a second run against the same `DATABASE_URL` keeps the rows it made).
pub fn item_sql(rows: u64, pad: usize) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS item (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO item SELECT i, jsonb_build_object('id', i, 'name', 'item ' || i,
             'category', (ARRAY['tools', 'books', 'garden', 'toys'])[1 + i % 4], 'price', round((i % 997) / 10.0, 2),
             'in_stock', i % 3 <> 0, 'tags', jsonb_build_array('t' || (i % 5), 't' || (i % 7)), 'note', repeat('x', {pad}))
         FROM generate_series(1, {rows}) AS i ON CONFLICT (id) DO NOTHING;
         CREATE OR REPLACE VIEW v_item AS SELECT id, data FROM item;"
    )
}
