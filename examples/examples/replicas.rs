//! Replicas: one pool for writes and fresh reads (`target_session_attrs=read-write`), one for reads that may lag
//! (`prefer-standby`), over the same host list; then a failover.
//!
//! ```sh
//! cargo run -p examples --example replicas
//! ```
//!
//! It starts a throwaway primary and a streaming replica of it (`pg_basebackup -R`), removed on exit. With your
//! own servers, the connection strings are the same, with your hosts:
//! `host=db1,db2 target_session_attrs=prefer-standby load_balance_hosts=random`.

use std::time::Duration;

use fraiseql_wire::{Error, Pool};
use fraiseql_wire_tests::{AuthUser, ClusterOptions, StopMode, TestCluster};
use serde::Deserialize;

/// Which server answered a query.
#[derive(Debug, Deserialize)]
struct Server {
    port: u16,
    standby: bool,
}

const SETUP_SQL: &str = "
CREATE VIEW v_server AS
SELECT jsonb_build_object('port', current_setting('port')::int, 'standby', pg_is_in_recovery()) AS data;
";

async fn which(pool: &Pool) -> Result<String, Error> {
    let server = pool.query_as::<Server>("v_server").fetch_one().await?;
    Ok(format!("port {} ({})", server.port, if server.standby { "standby" } else { "primary" }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("starting a primary and a streaming replica…");
    let primary = TestCluster::start_with(ClusterOptions::primary());
    let replica = primary.start_replica();
    let db = primary.database().await;
    db.execute(SETUP_SQL).await;
    primary.wait_for_replica(&replica).await;

    // Both pools list both hosts; the setting, not the order, decides where each lands.
    let password = AuthUser::Scram.password().unwrap_or_default();
    let hosts = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=scram_user password={password} dbname={} sslmode=disable \
         connect_timeout=2",
        primary.port(),
        replica.port(),
        db.name()
    );
    let writes = Pool::builder(format!("{hosts} target_session_attrs=read-write").parse()?).max_size(2).build()?;
    let reads = Pool::builder(format!("{hosts} target_session_attrs=prefer-standby").parse()?).max_size(2).build()?;
    println!("read-write pool     -> {}", which(&writes).await?);
    println!("prefer-standby pool -> {}", which(&reads).await?);

    println!("stopping the primary…");
    primary.stop(StopMode::Fast);
    // No primary for now: the error says so, and is retriable.
    match which(&writes).await {
        Err(error) => println!("read-write pool     -> {error} (retriable: {})", error.is_retriable()),
        Ok(server) => println!("read-write pool     -> {server}?"),
    }
    println!("prefer-standby pool -> {}", which(&reads).await?);

    println!("promoting the replica…");
    replica.promote();
    // The pool's next query connects to the new primary; retry briefly, as a service would.
    let mut attempts = 0;
    let landed = loop {
        attempts += 1;
        match which(&writes).await {
            Ok(server) => break server,
            Err(error) if error.is_retriable() && attempts < 10 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error.into()),
        }
    };
    println!("read-write pool     -> {landed} after {attempts} attempt(s)");
    Ok(())
}
