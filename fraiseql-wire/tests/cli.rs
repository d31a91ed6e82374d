//! The `fraiseql-wire` binary (feature `cli`) against a throwaway cluster: NDJSON and JSON output with filters,
//! parameters, ordering and limits; parallel export; connection settings from PG* variables; an atomic --output
//! that an interrupt (SIGINT) leaves untouched while the server's query is cancelled; a reader that closes the
//! pipe early (`| head`); and the documented exit codes.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_fraiseql-wire");

/// `v_item`: 500 documents `{"id": i, "name": "item i", "even": i % 2 = 0}`; `v_endless`: rows without end
/// (the series in the select list, so that it streams instead of being materialized first).
async fn setup() -> TestDatabase {
    let db = TestCluster::shared().database().await;
    db.execute(
        "CREATE TABLE item (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO item SELECT i, jsonb_build_object('id', i, 'name', 'item ' || i, 'even', i % 2 = 0)
         FROM generate_series(1, 500) i;
         CREATE VIEW v_item AS SELECT id, data FROM item;
         CREATE VIEW v_endless AS SELECT jsonb_build_object('i', i, 'pad', repeat('x', 200)) AS data
         FROM (SELECT generate_series(1::bigint, 1000000000000::bigint) AS i) AS s;",
    )
    .await;
    db
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("the fraiseql-wire binary runs")
}

fn lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}")))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The server sessions of `app` that are running a query.
async fn active(db: &TestDatabase, app: &str) -> i64 {
    let row = db
        .admin()
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", &[&app])
        .await
        .expect("pg_stat_activity");
    row.get(0)
}

/// Waits (bounded) until `done` holds; false if it never did.
async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Reads the child's standard output until its first line, so the query is known to be streaming.
fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).expect("reading the child's output") == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).into_owned()
}

#[tokio::test]
async fn streams_filtered_ordered_rows_as_ndjson_and_json() {
    let db = setup().await;
    let url = db.url(AuthUser::Scram);
    let output = run(&[
        "stream",
        "v_item",
        "--url",
        &url,
        "--where",
        "(data->>'even')::boolean = $1 AND id > $2",
        "--param",
        "true",
        "--param",
        "400",
        "--order-by",
        "id DESC",
        "--limit",
        "3",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let ids: Vec<i64> = lines(&output).iter().map(|row| row["id"].as_i64().expect("an id")).collect();
    assert_eq!(ids, [500, 498, 496]);
    assert!(stderr(&output).is_empty(), "no progress line when stderr is not a terminal: {}", stderr(&output));

    let output = run(&["stream", "v_item", "--url", &url, "--format", "json", "--order-by", "id", "--offset", "10"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let array: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("one JSON array");
    assert_eq!(array.len(), 490);
    assert_eq!(array[0], serde_json::json!({"id": 11, "name": "item 11", "even": false}));
    let empty = run(&["stream", "v_item", "--url", &url, "--format", "json", "--where", "false"]);
    assert_eq!(
        serde_json::from_slice::<Vec<serde_json::Value>>(&empty.stdout).expect("[]"),
        Vec::<serde_json::Value>::new()
    );

    // Parallel export: the same rows, in any order.
    for extra in [&["--parallel", "2"][..], &["--parallel", "3", "--by-range"]] {
        let output = run(&[&["stream", "v_item", "--url", &url][..], extra].concat());
        assert!(output.status.success(), "{}", stderr(&output));
        let mut ids: Vec<i64> = lines(&output).iter().map(|row| row["id"].as_i64().expect("an id")).collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=500).collect::<Vec<_>>(), "{extra:?}");
    }
    // In key order: the rows of `--order-by id`, in that order.
    let output = run(&["stream", "v_item", "--url", &url, "--parallel", "3", "--in-key-order"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let ids: Vec<i64> = lines(&output).iter().map(|row| row["id"].as_i64().expect("an id")).collect();
    assert_eq!(ids, (1..=500).collect::<Vec<_>>());
}

#[tokio::test]
async fn connection_settings_come_from_pg_variables() {
    let db = setup().await;
    let user = AuthUser::Scram;
    let output = Command::new(BIN)
        .args(["stream", "v_item", "--limit", "2"])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", db.port().to_string())
        .env("PGUSER", user.name())
        .env("PGPASSWORD", user.password().expect("a password"))
        .env("PGDATABASE", db.name())
        .env("PGPASSFILE", "/nonexistent")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(lines(&output).len(), 2);
}

#[tokio::test]
async fn exit_codes_say_what_failed() {
    let db = setup().await;
    let url = db.url(AuthUser::Scram);

    let missing = run(&["stream", "v_missing", "--url", &url]);
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("\"v_missing\" does not exist"), "{}", stderr(&missing));

    let refused = run(&["stream", "v_item", "--url", "postgres://nobody@127.0.0.1:1/x?connect_timeout=5"]);
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    let login = run(&["stream", "v_item", "--url", &db.url(AuthUser::Reject)]);
    assert_eq!(login.status.code(), Some(3), "{}", stderr(&login));

    let usage = run(&["stream"]);
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    let help = run(&["stream", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes"));

    let unwritable = run(&["stream", "v_item", "--url", &url, "--output", "/nonexistent-dir/out.ndjson"]);
    assert_eq!(unwritable.status.code(), Some(4), "{}", stderr(&unwritable));
}

#[tokio::test]
async fn output_files_are_written_whole_or_not_at_all() {
    let db = setup().await;
    let dir = tempdir();
    let out = dir.join("items.ndjson");
    let output =
        run(&["stream", "v_item", "--url", &db.url(AuthUser::Scram), "--output", out.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).expect("the export").lines().count(), 500);
    assert_eq!(entries(&dir), ["items.ndjson"], "no temporary file is left");

    // Interrupted halfway through an endless export: the previous file stays as it was, nothing else is left, and
    // the server's query stops.
    let app = format!("cli_interrupt_{}", std::process::id());
    let url = format!("{}?application_name={app}", db.url(AuthUser::Scram));
    let before = std::fs::read(&out).expect("the first export");
    let mut child = Command::new(BIN)
        .args(["stream", "v_endless", "--url", &url, "--output", out.to_str().expect("utf-8")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let partial = dir.join(format!(".items.ndjson.{}.partial", child.id()));
    let growing = eventually(async || std::fs::metadata(&partial).is_ok_and(|m| m.len() > 1_000_000)).await;
    assert!(growing, "the export never got going");
    assert_eq!(active(&db, &app).await, 1);
    // SAFETY: kill(2) on the child's pid, which has not been waited for, so it names our child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let status = child.wait().expect("the child exits");
    let mut message = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut message).expect("stderr");
    assert_eq!(status.code(), Some(130), "{message}");
    assert!(message.contains("interrupted"), "{message}");
    assert_eq!(std::fs::read(&out).expect("still there"), before, "the previous export was kept whole");
    assert_eq!(entries(&dir), ["items.ndjson"], "the partial file was removed");
    assert!(eventually(async || active(&db, &app).await == 0).await, "the server still runs the query");
}

#[tokio::test]
async fn a_reader_that_stops_early_ends_the_export_quietly() {
    let db = setup().await;
    let app = format!("cli_pipe_{}", std::process::id());
    let url = format!("{}?application_name={app}", db.url(AuthUser::Scram));
    let mut child = Command::new(BIN)
        .args(["stream", "v_endless", "--url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let first: serde_json::Value = serde_json::from_str(&first_line(&mut child)).expect("a JSON line");
    assert_eq!(first["i"], 1);
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    for _ in 0..4 {
        line.clear();
        reader.read_line(&mut line).expect("a line");
    }
    // Like `head -n 5`: the reader goes away.
    drop(reader);
    let status = child.wait().expect("the child exits");
    let mut message = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut message).expect("stderr");
    assert_eq!(status.code(), Some(0), "{message}");
    assert!(message.is_empty(), "{message}");
    assert!(eventually(async || active(&db, &app).await == 0).await, "the server still runs the query");
}

/// A directory of the test's own, removed with everything in it when the test ends (passing or not).
struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("fraiseql-wire-cli-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    TempDir(dir)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn watch_prints_the_snapshot_then_each_change_as_ndjson_events() {
    let db = TestCluster::shared().database().await;
    let triggers = fraiseql_wire::watch::trigger_sql("cli_watched", "id", "v_cli_watched").expect("trigger SQL");
    db.execute(&format!(
        "CREATE TABLE cli_watched (id bigint PRIMARY KEY, data jsonb NOT NULL);
         INSERT INTO cli_watched SELECT i, jsonb_build_object('id', i, 'open', true) FROM generate_series(1, 3) i;
         CREATE VIEW v_cli_watched AS SELECT id, data FROM cli_watched;
         {triggers}"
    ))
    .await;
    let url = db.url(AuthUser::Scram);
    let mut child = Command::new(BIN)
        .args(["watch", "v_cli_watched", "--url", &url, "--where", "(data->>'open')::boolean = $1", "--param", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fraiseql-wire binary runs");
    let event = |child: &mut Child| -> serde_json::Value {
        let line = first_line(child);
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
    };
    for id in 1..=3 {
        assert_eq!(
            event(&mut child),
            serde_json::json!({"event": "snapshot", "key": id.to_string(), "row": {"id": id, "open": true}})
        );
    }
    assert_eq!(event(&mut child), serde_json::json!({"event": "ready"}));
    db.execute("UPDATE cli_watched SET data = jsonb_set(data, '{open}', 'false') WHERE id = 2").await;
    assert_eq!(event(&mut child), serde_json::json!({"event": "remove", "key": "2"}));
    db.execute("INSERT INTO cli_watched VALUES (4, '{\"id\": 4, \"open\": true}')").await;
    assert_eq!(event(&mut child), serde_json::json!({"event": "upsert", "key": "4", "row": {"id": 4, "open": true}}));
    // SAFETY: kill(2) on the child's pid, which has not been waited for, so it names our child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let status = child.wait().expect("the child exits");
    assert_eq!(status.code(), Some(0), "Ctrl-C is how a watch ends");
}
