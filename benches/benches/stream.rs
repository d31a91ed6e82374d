//! fraiseql-wire against tokio-postgres, streaming the same view: rows/s and peak RSS per configuration.
//!
//! ```sh
//! cargo bench -p benches --bench stream                      # 1,000,000 rows, 3 rounds
//! BENCH_ROWS=100000 BENCH_ROUNDS=5 cargo bench -p benches --bench stream
//! BENCH_CALLGRIND=20000 cargo bench -p benches --bench stream # also client instructions per row (valgrind)
//! BENCH_CALLGRIND_JSON=out.json …                              # and those figures as JSON, for CI's series
//! ```
//!
//! The parent starts a throwaway cluster, loads `projects` and the view `v_projects`, then re-runs this binary
//! once per configuration and round (`--child NAME URL LIMIT`), so each child's peak RSS (`VmHWM`) belongs to
//! that configuration alone. Each child connects, then times from sending the query to the end of the last row,
//! and prints one `RESULT …` line. Rounds alternate: every configuration once per round, each fraiseql-wire form
//! right next to the tokio-postgres form of the same kind (which one goes first alternates), and the summary
//! compares medians and paired per-round ratios.
//!
//! Runtime: current-thread tokio in every child (`BENCH_FLAVOR=multi_thread` for the multi-thread runtime).

use std::error::Error;
use std::hint::black_box;
use std::pin::pin;
use std::process::Command;
use std::time::{Duration, Instant};

use benches::{
    LargeDoc, Measurement, NestedDoc, Project, RawJson, Shape, StagingProject, VIEW, median, peak_rss_kib, thousands,
};
use fraiseql_wire_tests::{AuthUser, TestCluster};
use futures_util::{Stream, TryStreamExt};
use tokio_postgres::types::Json;

type BoxError = Box<dyn Error + Send + Sync>;

/// How the documents are consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// The JSON text of each row, not parsed (only its length is counted).
    Raw,
    /// Parsed into `serde_json::Value`.
    Value,
    /// Parsed into [`Project`].
    Typed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    FraiseqlWire,
    TokioPostgres,
    Sqlx,
}

impl Driver {
    const ALL: [Driver; 3] = [Driver::FraiseqlWire, Driver::TokioPostgres, Driver::Sqlx];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Config {
    driver: Driver,
    form: Form,
}

impl Config {
    const FORMS: [Form; 3] = [Form::Raw, Form::Value, Form::Typed];

    fn name(self) -> &'static str {
        match (self.driver, self.form) {
            (Driver::FraiseqlWire, Form::Raw) => "fraiseql-raw",
            (Driver::FraiseqlWire, Form::Value) => "fraiseql-value",
            (Driver::FraiseqlWire, Form::Typed) => "fraiseql-typed",
            (Driver::TokioPostgres, Form::Raw) => "tokio-postgres-raw",
            (Driver::TokioPostgres, Form::Value) => "tokio-postgres-value",
            (Driver::TokioPostgres, Form::Typed) => "tokio-postgres-typed",
            (Driver::Sqlx, Form::Raw) => "sqlx-raw",
            (Driver::Sqlx, Form::Value) => "sqlx-value",
            (Driver::Sqlx, Form::Typed) => "sqlx-typed",
        }
    }

    /// What the table calls it.
    fn label(self) -> &'static str {
        match (self.driver, self.form) {
            (Driver::FraiseqlWire, Form::Raw) => "fraiseql-wire `stream_raw()`",
            (Driver::FraiseqlWire, Form::Value) => "fraiseql-wire `stream()` (Value)",
            (Driver::FraiseqlWire, Form::Typed) => "fraiseql-wire `stream_as::<Project>()`",
            (Driver::TokioPostgres, Form::Raw) => "tokio-postgres `query_raw`, bytes only",
            (Driver::TokioPostgres, Form::Value) => "tokio-postgres `query_raw`, `serde_json::Value`",
            (Driver::TokioPostgres, Form::Typed) => "tokio-postgres `query_raw`, `Json<Project>`",
            (Driver::Sqlx, Form::Raw) => "sqlx 0.8 `fetch`, bytes only",
            (Driver::Sqlx, Form::Value) => "sqlx 0.8 `fetch`, `Json<Value>`",
            (Driver::Sqlx, Form::Typed) => "sqlx 0.8 `fetch`, `Json<Project>`",
        }
    }

    fn all() -> impl Iterator<Item = Config> {
        Self::FORMS.into_iter().flat_map(|form| Driver::ALL.map(|driver| Config { driver, form }))
    }

    fn parse(name: &str) -> Option<Config> {
        Config::all().find(|c| c.name() == name)
    }
}

fn main() {
    // `cargo bench` passes `--bench`; only `--child` matters.
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => child(&args[1..]),
        _ => parent(),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value.replace('_', "").parse().unwrap_or_else(|e| panic!("{name}={value}: {e}")),
        Err(_) => default,
    }
}

fn multi_thread() -> bool {
    match std::env::var("BENCH_FLAVOR").as_deref() {
        Ok("multi_thread") => true,
        Ok("current_thread") | Err(_) => false,
        Ok(other) => panic!("BENCH_FLAVOR={other}: expected current_thread or multi_thread"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    let mut builder = if multi_thread() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().expect("tokio runtime")
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one configuration, one measurement.

fn child(args: &[String]) {
    let [name, url, limit] = args else {
        panic!("usage: stream --child CONFIG URL LIMIT|all");
    };
    let config = Config::parse(name).unwrap_or_else(|| panic!("unknown configuration {name}"));
    let limit = (limit != "all").then(|| limit.parse::<u64>().expect("LIMIT is a number or `all`"));
    let outcome = runtime().block_on(async {
        match config.driver {
            Driver::FraiseqlWire => fraiseql(config.form, url, limit).await,
            Driver::TokioPostgres => tokio_postgres(config.form, url, limit).await,
            Driver::Sqlx => sqlx_fetch(config.form, url, limit).await,
        }
    });
    match outcome {
        Ok((rows, bytes, secs, ttfr)) => {
            let config = match limit {
                Some(n) => format!("{name}@{n}"),
                None => name.clone(),
            };
            let hwm_kib = peak_rss_kib().unwrap_or(0);
            println!("{}", Measurement { config, rows, bytes, secs, ttfr_ms: ttfr * 1e3, hwm_kib });
        }
        Err(error) => {
            eprintln!("{name}: {error}");
            std::process::exit(1);
        }
    }
}

/// (rows, bytes, seconds, seconds to the first row)
type Outcome = Result<(u64, u64, f64, f64), BoxError>;

/// Reads a stream to its end, handing each item to `consume` (which returns the JSON bytes it saw, if known).
async fn drain<T, E: Into<BoxError>>(
    started: Instant,
    stream: impl Stream<Item = Result<T, E>>,
    mut consume: impl FnMut(T) -> Result<usize, BoxError>,
) -> Outcome {
    let mut stream = pin!(stream);
    let (mut rows, mut bytes, mut first) = (0u64, 0u64, None);
    while let Some(item) = stream.try_next().await.map_err(Into::into)? {
        first.get_or_insert_with(|| started.elapsed());
        rows += 1;
        bytes += consume(item)? as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((rows, bytes, secs, first.unwrap_or_default().as_secs_f64()))
}

/// Keeps a decoded row from being optimised away, then drops it; parsed forms do not count bytes.
fn unknown_size<T>(row: T) -> usize {
    black_box(row);
    0
}

async fn fraiseql(form: Form, url: &str, limit: Option<u64>) -> Outcome {
    let client = fraiseql_wire::Client::connect(url).await?;
    let mut query = client.query(VIEW);
    if let Some(n) = limit {
        query = query.limit(n);
    }
    // The query is sent when the stream is first polled, inside `drain`.
    let started = Instant::now();
    match form {
        Form::Raw => drain(started, query.stream_raw(), |json| Ok(black_box(json).len())).await,
        Form::Value => drain(started, query.stream(), |value| Ok(unknown_size(value))).await,
        Form::Typed => match Shape::from_env() {
            Shape::Projects => drain(started, query.stream_as::<Project>(), |row| Ok(unknown_size(row))).await,
            Shape::Nested => drain(started, query.stream_as::<NestedDoc>(), |row| Ok(unknown_size(row))).await,
            Shape::Large => drain(started, query.stream_as::<LargeDoc>(), |row| Ok(unknown_size(row))).await,
            Shape::Staging => drain(started, query.stream_as::<StagingProject>(), |row| Ok(unknown_size(row))).await,
        },
    }
}

async fn tokio_postgres(form: Form, url: &str, limit: Option<u64>) -> Outcome {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    let sql = match limit {
        Some(n) => format!("SELECT data FROM {VIEW} LIMIT {n}"),
        None => format!("SELECT data FROM {VIEW}"),
    };
    let started = Instant::now();
    let rows = client.query_raw(sql.as_str(), std::iter::empty::<i32>()).await?;
    let outcome = match form {
        Form::Raw => drain(started, rows, |row| Ok(black_box(row.try_get::<_, RawJson>(0)?.0).len())).await,
        Form::Value => drain(started, rows, |row| Ok(unknown_size(row.try_get::<_, serde_json::Value>(0)?))).await,
        Form::Typed => match Shape::from_env() {
            Shape::Projects => {
                drain(started, rows, |row| Ok(unknown_size(row.try_get::<_, Json<Project>>(0)?.0))).await
            }
            Shape::Nested => {
                drain(started, rows, |row| Ok(unknown_size(row.try_get::<_, Json<NestedDoc>>(0)?.0))).await
            }
            Shape::Large => drain(started, rows, |row| Ok(unknown_size(row.try_get::<_, Json<LargeDoc>>(0)?.0))).await,
            Shape::Staging => {
                drain(started, rows, |row| Ok(unknown_size(row.try_get::<_, Json<StagingProject>>(0)?.0))).await
            }
        },
    };
    drop(client);
    connection.await??;
    outcome
}

/// sqlx decodes jsonb itself (`Json<T>` skips the version byte); bytes only reads the raw value, version byte
/// included.
async fn sqlx_fetch(form: Form, url: &str, limit: Option<u64>) -> Outcome {
    use sqlx::{Connection, Row, types::Json};
    let mut connection = sqlx::PgConnection::connect(url).await?;
    let sql = match limit {
        Some(n) => format!("SELECT data FROM {VIEW} LIMIT {n}"),
        None => format!("SELECT data FROM {VIEW}"),
    };
    let started = Instant::now();
    let rows = sqlx::query(&sql).fetch(&mut connection);
    match form {
        Form::Raw => {
            drain(started, rows, |row| Ok(black_box(row.try_get_raw(0)?.as_bytes().map_or(0, <[u8]>::len)))).await
        }
        Form::Value => {
            drain(started, rows, |row| Ok(unknown_size(row.try_get::<Json<serde_json::Value>, _>(0)?))).await
        }
        Form::Typed => match Shape::from_env() {
            Shape::Projects => drain(started, rows, |row| Ok(unknown_size(row.try_get::<Json<Project>, _>(0)?))).await,
            Shape::Nested => drain(started, rows, |row| Ok(unknown_size(row.try_get::<Json<NestedDoc>, _>(0)?))).await,
            Shape::Large => drain(started, rows, |row| Ok(unknown_size(row.try_get::<Json<LargeDoc>, _>(0)?))).await,
            Shape::Staging => {
                drain(started, rows, |row| Ok(unknown_size(row.try_get::<Json<StagingProject>, _>(0)?))).await
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: cluster, data, rounds, summary.

struct Setup {
    url: String,
    rows: i64,
    avg_bytes: f64,
    median_bytes: f64,
    total_bytes: i64,
    table_bytes: i64,
    load: Duration,
}

async fn load(cluster: &TestCluster, rows: u64) -> Setup {
    let db = cluster.database().await;
    let started = Instant::now();
    for statement in Shape::from_env().setup_sql(rows) {
        db.execute(&statement).await;
    }
    let load = started.elapsed();
    let table = Shape::from_env().table(rows);
    let stats = db
        .admin()
        .query_one(
            &format!(
                "SELECT count(*), avg(length(data::text))::float8, \
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY length(data::text)), sum(length(data::text))::int8, \
                 pg_total_relation_size('{table}') FROM {table}"
            ),
            &[],
        )
        .await
        .expect("statistics query");
    Setup {
        url: db.url(AuthUser::Superuser),
        rows: stats.get(0),
        avg_bytes: stats.get(1),
        median_bytes: stats.get(2),
        total_bytes: stats.get(3),
        table_bytes: stats.get(4),
        load,
    }
}

/// Runs one measurement in a fresh process, under the command in `BENCH_WRAP` if set (e.g. `strace -c -f`).
fn run_child(config: Config, url: &str, limit: Option<u64>) -> Measurement {
    let exe = std::env::current_exe().expect("path of this benchmark binary");
    let limit = limit.map_or_else(|| "all".to_owned(), |n| n.to_string());
    let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(exe);
            command
        }
        None => Command::new(exe),
    };
    let output = command.args(["--child", config.name(), url, &limit]).output().expect("spawn a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        panic!(
            "child {} failed ({}):\n{stdout}{}",
            config.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = stdout.lines().find(|l| l.starts_with(Measurement::PREFIX)).expect("a RESULT line");
    line.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Instructions the child executes (valgrind's "Collected" count), for `limit` rows.
///
/// With `BENCH_CALLGRIND_DIR` set, the profiles of runs that read rows are kept there as
/// `callgrind.<config>.out` (for `callgrind_annotate`).
fn instructions(config: Config, url: &str, limit: u64) -> u64 {
    let exe = std::env::current_exe().expect("path of this benchmark binary");
    let out_file = match std::env::var_os("BENCH_CALLGRIND_DIR") {
        Some(dir) if limit > 0 => std::path::Path::new(&dir).join(format!("callgrind.{}.out", config.name())),
        _ => "/dev/null".into(),
    };
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .args(["--child", config.name(), url, &limit.to_string()])
        .output()
        .expect("run valgrind (is it installed?)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!("valgrind {} failed ({}):\n{stderr}", config.name(), output.status);
    }
    stderr
        .lines()
        .find_map(|l| l.split_once("Collected :").map(|(_, n)| n.trim().parse::<u64>()))
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no `Collected :` line in valgrind's output:\n{stderr}"))
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn parent() {
    let shape = Shape::from_env();
    let rows = env_u64("BENCH_ROWS", shape.default_rows());
    let rounds = env_u64("BENCH_ROUNDS", 3);
    let small = env_u64("BENCH_SMALL_ROWS", rows / 10);
    let callgrind = env_u64("BENCH_CALLGRIND", 0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let flavor = if multi_thread() { "multi-thread" } else { "current-thread" };
    println!("stream benchmark: {shape:?}, {rows} rows, {rounds} rounds, {flavor} tokio runtime, {cores} cores");

    let cluster = TestCluster::start();
    let setup_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let setup = setup_runtime.block_on(load(&cluster, rows));
    drop(setup_runtime);
    println!(
        "loaded {} rows in {:.1} s: JSON text avg {:.1} B, median {:.0} B, {:.0} MB in all; table {:.0} MB",
        setup.rows,
        setup.load.as_secs_f64(),
        setup.avg_bytes,
        setup.median_bytes,
        setup.total_bytes as f64 / 1e6,
        setup.table_bytes as f64 / 1e6
    );
    let url = setup.url.as_str();

    if rounds > 0 {
        timed_rounds(url, &setup, rounds, small, flavor);
    }
    if callgrind > 0 {
        println!();
        println!(
            "Client instructions per row (valgrind callgrind, user space, ({callgrind} rows − 0 rows) ÷ {callgrind}):"
        );
        println!();
        println!("| configuration | instructions/row |");
        println!("|---|---:|");
        let mut series = Vec::new();
        for config in Config::all() {
            let full = instructions(config, url, callgrind);
            let empty = instructions(config, url, 0);
            let per_row = full.saturating_sub(empty) as f64 / callgrind as f64;
            println!("| {} | {} |", config.label(), thousands(per_row));
            series.push(serde_json::json!({"name": config.label(), "unit": "instructions/row", "value": per_row}));
        }
        // For the regression workflow (github-action-benchmark's `customSmallerIsBetter` format).
        if let Some(path) = std::env::var_os("BENCH_CALLGRIND_JSON") {
            let json = serde_json::to_string_pretty(&series).expect("a JSON array");
            std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {}: {e}", path.to_string_lossy()));
        }
    }
    drop(cluster);
}

/// Runs every configuration once per round and prints the summary tables.
fn timed_rounds(url: &str, setup: &Setup, rounds: u64, small: u64, flavor: &str) {
    // Warm the page cache and both code paths; not recorded.
    for driver in [Driver::TokioPostgres, Driver::Sqlx, Driver::FraiseqlWire] {
        let m = run_child(Config { driver, form: Form::Raw }, url, None);
        println!("warm-up  {m}");
    }

    let mut results: Vec<Measurement> = Vec::new();
    for round in 0..rounds {
        for form in Config::FORMS {
            // The order rotates every round, so no client always follows the same one.
            let mut pair = Driver::ALL;
            pair.rotate_left(round as usize % Driver::ALL.len());
            let limits: &[Option<u64>] = if form == Form::Raw { &[None, Some(small)] } else { &[None] };
            for &limit in limits {
                for driver in pair {
                    let m = run_child(Config { driver, form }, url, limit);
                    println!("round {}  {m}", round + 1);
                    results.push(m);
                }
            }
        }
    }

    let of = |name: &str| -> Vec<&Measurement> { results.iter().filter(|m| m.config == name).collect() };
    let rate = |ms: &[&Measurement]| median(&ms.iter().map(|m| m.rows_per_sec()).collect::<Vec<_>>());
    let hwm = |ms: &[&Measurement]| median(&ms.iter().map(|m| m.hwm_kib as f64).collect::<Vec<_>>());

    println!();
    println!(
        "{} rows of ~{:.0} B, medians of {rounds} rounds, {flavor} runtime; ratio = fraiseql-wire rows/s ÷ \
         tokio-postgres rows/s of the same form, median of the per-round ratios",
        thousands(setup.rows as f64),
        setup.avg_bytes
    );
    println!();
    println!("| configuration | rows/s (median) | min – max | peak RSS (median) | first row | vs tokio-postgres |");
    println!("|---|---:|---:|---:|---:|---:|");
    for form in Config::FORMS {
        let tp = of(Config { driver: Driver::TokioPostgres, form }.name());
        for driver in Driver::ALL {
            let config = Config { driver, form };
            let ms = &of(config.name());
            let ratios: Vec<f64> = ms.iter().zip(&tp).map(|(f, t)| f.rows_per_sec() / t.rows_per_sec()).collect();
            let rates: Vec<f64> = ms.iter().map(|m| m.rows_per_sec()).collect();
            let (lo, hi) = rates.iter().fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
            let ttfr = median(&ms.iter().map(|m| m.ttfr_ms).collect::<Vec<_>>());
            let ratio = if config.driver != Driver::TokioPostgres {
                let (lo, hi) = ratios.iter().fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
                format!("**{:.2}×** ({lo:.2}–{hi:.2})", median(&ratios))
            } else {
                "1".to_owned()
            };
            println!(
                "| {} | {} | {} – {} | {} | {ttfr:.1} ms | {ratio} |",
                config.label(),
                thousands(rate(ms)),
                thousands(lo),
                thousands(hi),
                mib(hwm(ms))
            );
        }
    }

    println!();
    println!("Peak RSS of the raw forms by row count (medians):");
    println!();
    println!("| configuration | {} rows | {} rows |", thousands(small as f64), thousands(setup.rows as f64));
    println!("|---|---:|---:|");
    for driver in Driver::ALL {
        let config = Config { driver, form: Form::Raw };
        let at_small = of(&format!("{}@{small}", config.name()));
        println!("| {} | {} | {} |", config.label(), mib(hwm(&at_small)), mib(hwm(&of(config.name()))));
    }
}
