//! Error handling: every error has a kind (`connect`, `auth`, `db`, `timeout`, `decode`, …), says whether a retry
//! may help, keeps the server's SQLSTATE and fields, and its message says what to try. This example meets one of
//! each common kind and retries only the retriable ones, with backoff.
//!
//! ```sh
//! cargo run -p examples --example error_handling                            # throwaway cluster
//! DATABASE_URL=postgres://me@localhost/mydb cargo run -p examples --example error_handling
//! ```

use std::future::Future;
use std::time::Duration;

use fraiseql_wire::{Client, Config, Error, ErrorKind, SqlState};
use futures_util::StreamExt;
use serde::Deserialize;

const SETUP_SQL: &str = "
CREATE OR REPLACE VIEW v_mixed AS
SELECT CASE WHEN i = 3 THEN jsonb_build_object('id', 'three') ELSE jsonb_build_object('id', i) END AS data
FROM generate_series(1, 5) AS i;
CREATE OR REPLACE VIEW v_slow AS SELECT jsonb_build_object('slept', pg_sleep(2) IS NULL) AS data;
";

#[derive(Debug, Deserialize)]
struct Row {
    #[allow(dead_code)]
    id: i64,
}

/// Runs `attempt` until it succeeds, it fails with an error a retry cannot fix, or `tries` are spent.
async fn with_retries<T, F, Fut>(tries: u32, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut delay = Duration::from_millis(50);
    for n in 1.. {
        match attempt().await {
            Err(error) if error.is_retriable() && n < tries => {
                println!("  attempt {n} failed ({:?}, retriable): {error}; retrying in {delay:?}", error.kind());
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            result => return result,
        }
    }
    unreachable!("the loop returns")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _cluster) = examples::database(SETUP_SQL).await?;
    let client = Client::connect(&url).await?;

    // A server error: kind `db`, with its SQLSTATE, kept whole; not retriable (the view will still be missing).
    let error = client.query("v_does_not_exist").fetch_all().await.expect_err("no such view");
    println!("{:?} / SQLSTATE {:?} / retriable {}: {error}", error.kind(), error.code(), error.is_retriable());
    assert_eq!(error.kind(), ErrorKind::Db);
    assert_eq!(error.sql_state(), Some(SqlState::UNDEFINED_TABLE));

    // A row that does not decode is an item of the stream: the others still arrive.
    let rows: Vec<_> = client.query_as::<Row>("v_mixed").stream().collect().await;
    for result in &rows {
        if let Err(error) = result {
            println!("{:?}: {error}", error.kind());
            assert_eq!(error.kind(), ErrorKind::Decode);
        }
    }
    println!("{} of {} rows decoded", rows.iter().filter(|r| r.is_ok()).count(), rows.len());

    // A statement timeout: kind `timeout`, SQLSTATE 57014 (query_canceled); not retriable, since the same query would
    // time out again, so `with_retries` gives up at once.
    let config: Config = url.parse()?;
    let impatient = Client::connect_with(config.statement_timeout(Duration::from_millis(200))).await?;
    let outcome = with_retries(3, || impatient.query("v_slow").fetch_all()).await;
    let error = outcome.expect_err("always slower than 200 ms");
    println!("gave up: {:?}, SQLSTATE {:?}: {error}", error.kind(), error.code());

    // Nothing listens: kind `connect`, retriable; the message names the address and what to check.
    let error = with_retries(2, || Client::connect("host=127.0.0.1 port=1 user=nobody connect_timeout=5")).await;
    let error = error.expect_err("nothing listens on port 1");
    println!("{:?}, retriable {}: {error}", error.kind(), error.is_retriable());
    assert_eq!(error.kind(), ErrorKind::Connect);

    // Usage mistakes are found before anything is sent, and are never retriable.
    let error = client.query("not a valid name!").fetch_all().await.expect_err("invalid relation");
    println!("{:?}, retriable {}: {error}", error.kind(), error.is_retriable());
    assert!(!error.is_retriable());
    Ok(())
}
