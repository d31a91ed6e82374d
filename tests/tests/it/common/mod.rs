//! Helpers shared by the integration tests: connections, small views, waiting for what the server shows.

pub mod differential;
pub mod model;
pub mod plan;
pub mod project;
pub mod tls;

use std::future::Future;
use std::time::{Duration, Instant};

use fraiseql_wire::Client;
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};

/// How often a condition is re-checked while waiting for it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A database in the shared cluster of this test process.
pub async fn database() -> TestDatabase {
    TestCluster::shared().database().await
}

/// An `application_name` no other test (in any process) uses.
pub fn app_name(test: &str) -> String {
    format!("fw_{test}_{}", std::process::id())
}

/// The TCP URL of `user` on `db`, with our own `application_name` so pg_stat_activity can find the session.
pub fn url_with_app(db: &TestDatabase, user: AuthUser, app: &str) -> String {
    let url = db.url(user);
    assert!(!url.contains('?'), "the harness URL already has parameters: {url}");
    format!("{url}?application_name={app}")
}

/// Connects or panics with the library's message.
pub async fn connect(conninfo: &str) -> Client {
    match Client::connect(conninfo).await {
        Ok(client) => client,
        Err(e) => panic!("connecting with `{conninfo}` failed: {e}"),
    }
}

/// Creates `v_small`: five documents `{"id": n, "name": "project n"}`, in id order.
pub async fn create_small_view(db: &TestDatabase) {
    db.execute(
        "CREATE VIEW v_small AS SELECT jsonb_build_object('id', i, 'name', 'project ' || i) AS data \
         FROM generate_series(1, 5) AS i ORDER BY i",
    )
    .await;
}

/// The documents of `v_small`.
pub fn small_rows() -> Vec<serde_json::Value> {
    (1..=5).map(|i| serde_json::json!({"id": i, "name": format!("project {i}")})).collect()
}

/// Runs `v_small` on `client` and checks every row: proves the client (and its connection) is usable.
pub async fn assert_usable(client: &Client) {
    let rows = client
        .query("v_small")
        .fetch_all()
        .await
        .unwrap_or_else(|e| panic!("a good query after the previous one failed: {e}"));
    assert_eq!(rows, small_rows());
}

/// Creates `v_endless`, a view that produces rows `{"i": n}` for n = 1, 2, … practically forever, streaming
/// (the set-returning function sits in the select list, so rows come out as they are generated; in `FROM`, a
/// function scan would materialize all its rows before returning the first).
pub async fn create_endless_view(db: &TestDatabase, padding: usize) {
    db.execute(&format!(
        "CREATE VIEW v_endless AS SELECT jsonb_build_object('i', i, 'pad', repeat('x', {padding})) AS data \
         FROM (SELECT generate_series(1::bigint, 1000000000000::bigint) AS i) AS s"
    ))
    .await;
}

/// Backend pids and their state and wait event, for the sessions with this `application_name`.
pub async fn sessions(admin: &tokio_postgres::Client, app: &str) -> Vec<(i32, Option<String>, Option<String>)> {
    admin
        .query("SELECT pid, state, wait_event FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid", &[&app])
        .await
        .expect("reading pg_stat_activity")
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// The one backend pid of `app`, waiting (bounded) until there is exactly one.
pub async fn single_backend(admin: &tokio_postgres::Client, app: &str) -> i32 {
    let found = wait_for(Duration::from_secs(5), || async {
        let sessions = sessions(admin, app).await;
        (sessions.len() == 1).then(|| sessions[0].0)
    })
    .await;
    found.unwrap_or_else(|| panic!("expected exactly one session with application_name {app}, saw none or several"))
}

/// Polls `check` until it returns `Some`, for at most `limit`; `None` when the deadline passed.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Runs the test `name` (its full path, such as `memory::a_big_row_does_not_stay_resident`) alone in a child
/// process, with `CHILD_URL` set to `url`: for measurements of the whole process (resident memory, open files)
/// that the suite's other tests, running in parallel, would disturb. Prints the child's lines that start with
/// `figure:`.
pub fn run_alone_in_child(name: &str, url: &str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_URL, url)
        .output()
        .expect("running the measurement in a child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the measurement failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child did not run the measurement:\n{stdout}");
    for line in stdout.lines().filter_map(|line| line.find("figure:").map(|at| &line[at..])) {
        println!("{line}");
    }
}

/// Set in a child process started by [`run_alone_in_child`]: the URL of the database to measure against.
pub const CHILD_URL: &str = "FRAISEQL_WIRE_CHILD_URL";

/// `## label`, the SQL, its parameters; or the error `to_sql` reports.
pub fn case<T>(label: &str, query: &fraiseql_wire::Query<T>) -> String {
    let mut out = format!("## {label}\n");
    match query.to_sql() {
        Ok(statement) => {
            out.push_str(&statement.sql);
            out.push('\n');
            for (i, param) in statement.params.iter().enumerate() {
                out.push_str(&format!("${} = {param}\n", i + 1));
            }
        }
        Err(error) => out.push_str(&format!("error: {error}\n")),
    }
    out
}
