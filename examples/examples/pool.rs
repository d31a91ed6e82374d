//! Pool: many tasks stream at once from one `Pool`, each on a connection of its own.
//!
//! ```sh
//! cargo run -p examples --example pool                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example pool
//! ```
//!
//! Twenty tasks share a pool of four connections: four stream at a time, the others wait their turn (up to the
//! pool's wait timeout). A stream holds its connection until it ends or is dropped, so size the pool for the
//! streams that run at once (docs/SCALING.md).

use std::time::{Duration, Instant};

use fraiseql_wire::{Error, Pool};
use futures_util::TryStreamExt;

/// Idempotent, so re-running against the same `DATABASE_URL` works.
const SETUP_SQL: &str = "
CREATE OR REPLACE VIEW v_order AS
SELECT jsonb_build_object('id', i, 'customer', 'customer ' || (i % 100), 'total', (i % 997) * 1.5) AS data
FROM generate_series(1, 20000) AS i;
";

const TASKS: usize = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(SETUP_SQL).await?;

    let pool = Pool::builder(url.parse()?)
        .max_size(4)
        .wait_timeout(Duration::from_secs(30))
        .connect() // opens one connection now, so wrong settings fail here
        .await?;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let pool = pool.clone(); // a cheap handle: clones share the connections
        tasks.push(tokio::spawn(async move {
            // Each task reads one customer's orders; the stream holds a pooled connection until it ends.
            let customer = format!("customer {task}");
            let mut orders = pool.query("v_order").where_sql("data->>'customer' = $1", &[&customer]).stream();
            let (mut count, mut total) = (0u64, 0.0f64);
            while let Some(order) = orders.try_next().await? {
                count += 1;
                total += order["total"].as_f64().unwrap_or_default();
            }
            Ok::<_, Error>((customer, count, total))
        }));
    }
    for task in tasks {
        let (customer, count, total) = task.await??;
        println!("{customer:<12} {count:>4} orders, {total:>9.1} in total");
    }
    let status = pool.status();
    println!(
        "{TASKS} tasks in {:.1} ms on {} connections (max {})",
        started.elapsed().as_secs_f64() * 1e3,
        status.size,
        status.max_size
    );
    Ok(())
}
