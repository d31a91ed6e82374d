//! Runnable examples: `cargo run -p examples --example quickstart`, `--example typed_entity`, `--example pool`,
//! `--example replicas`.
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
    // fraiseql-wire only reads, so the schema is created with a general-purpose client.
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    admin.batch_execute(setup_sql).await?;
    drop(admin);
    connection.await??;
    Ok((url, cluster))
}
