//! `fraiseql-wire stream`: a view's `data` column to standard output (or a file) as NDJSON or a JSON array, at
//! wire speed with memory bounded by the largest row. Built with the `cli` feature:
//!
//! ```sh
//! cargo install fraiseql-wire --features cli
//! fraiseql-wire stream app.v_project --where "data->>'status' = \$1" --param active --limit 1000
//! fraiseql-wire watch app.v_project --where "data->>'status' = \$1" --param active
//! ```

mod watch;

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use fraiseql_wire::{Client, Config, Error, ErrorKind, Query, ToParam};

const EXIT_CODES: &str = "\
Exit codes:
  0    every row was written (or the reader of standard output closed it early, as `head` does)
  1    the server refused the query or failed during it (SQL error, missing view, a row that is not JSON, …)
  2    the command line is wrong
  3    no connection: the server is unreachable, refused the login, or TLS failed
  4    the output could not be written (a full disk, no permission)
  130  interrupted (Ctrl-C): the server's query was cancelled and no output file was left behind

Connection settings come from --url, else from libpq's usual sources: PGHOST, PGPORT, PGUSER, PGDATABASE,
PGPASSWORD and the other PG* variables, and the password file (~/.pgpass).";

/// Streams PostgreSQL views of JSON documents.
#[derive(Parser)]
#[command(name = "fraiseql-wire", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the `data` column of every row of a view, one JSON document per line (or as a JSON array).
    #[command(after_help = EXIT_CODES)]
    Stream(StreamArgs),
    /// Prints a live query's events as NDJSON: `snapshot` lines, `ready`, then `upsert`, `remove` and `resync`
    /// lines as the rows change, until interrupted (Ctrl-C ends it with status 0).
    #[command(after_help = EXIT_CODES)]
    Watch(watch::WatchArgs),
}

/// What both commands read: which view, where, and which of its rows.
#[derive(clap::Args)]
struct Selection {
    /// The view (or table): `view` or `schema.view`.
    relation: String,
    /// A libpq connection string (`postgres://user@host/db` or `host=… dbname=…`); PG* variables fill the rest.
    #[arg(long)]
    url: Option<String>,
    /// A SQL condition on the rows, with `$1`, `$2`, … for the --param values.
    #[arg(long = "where", value_name = "SQL")]
    where_sql: Option<String>,
    /// A value for the next placeholder of --where, sent as a bound parameter (repeatable).
    #[arg(long = "param", value_name = "VALUE")]
    params: Vec<String>,
}

impl Selection {
    /// A client with the settings of --url, else of libpq's usual sources.
    async fn connect(&self) -> Result<Client, Failure> {
        let config: Config = match &self.url {
            Some(url) => url.parse().map_err(Failure::Query)?,
            None => Config::new(),
        };
        Client::connect_with(config.fallback_application_name("fraiseql-wire")).await.map_err(Failure::Query)
    }

    /// The view's query, with --where and its --param values.
    fn query<T>(&self, client: &Client) -> Query<T> {
        let query = client.query_as(&self.relation);
        match &self.where_sql {
            Some(condition) => {
                let params: Vec<&dyn ToParam> = self.params.iter().map(|p| p as &dyn ToParam).collect();
                query.where_sql(condition, &params)
            }
            None => query,
        }
    }
}

#[derive(clap::Args)]
struct StreamArgs {
    #[command(flatten)]
    selection: Selection,
    /// A SQL sort key, such as "data->>'name'" or "id DESC" (repeatable).
    #[arg(long, value_name = "SQL")]
    order_by: Vec<String>,
    /// At most this many rows.
    #[arg(long)]
    limit: Option<u64>,
    /// Skip this many rows first.
    #[arg(long)]
    offset: Option<u64>,
    /// NDJSON (one document per line) or one JSON array.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    format: Format,
    /// Write to this file instead of standard output: written to a temporary file beside it and renamed when
    /// complete, so an interrupted export never leaves a truncated file.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Read over this many connections sharing one snapshot (unordered unless --in-key-order; no --order-by,
    /// --limit, --offset).
    #[arg(long, value_name = "N")]
    parallel: Option<usize>,
    /// With --parallel: the key that divides the rows between the connections.
    #[arg(long, default_value = "id", value_name = "SQL")]
    key: String,
    /// With --parallel: divide by ranges of an integer key (read through its index) instead of by hash.
    #[arg(long)]
    by_range: bool,
    /// With --parallel: divide by ranges of an integer key and write the rows in ascending key order (NULL keys
    /// last), as `--order-by KEY` on one connection would.
    #[arg(long)]
    in_key_order: bool,
    /// No progress line, even on a terminal.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Ndjson,
    Json,
}

/// Why the command failed, which decides the exit code.
enum Failure {
    Query(Error),
    Output(std::io::Error, String),
    Interrupted,
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fraiseql-wire: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = match command {
        Command::Stream(args) => runtime.block_on(stream(args)),
        Command::Watch(args) => runtime.block_on(watch::run(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Query(error)) => {
            // The message says what happened, the likely cause and what to try.
            eprintln!("fraiseql-wire: {error}");
            let connecting = matches!(error.kind(), ErrorKind::Connect | ErrorKind::Tls | ErrorKind::Auth);
            ExitCode::from(if connecting { 3 } else { 1 })
        }
        Err(Failure::Output(error, what)) => {
            eprintln!("fraiseql-wire: {what}: {error}");
            ExitCode::from(4)
        }
        Err(Failure::Interrupted) => {
            eprintln!("fraiseql-wire: interrupted; the server's query was cancelled and nothing was kept");
            ExitCode::from(130)
        }
    }
}

async fn stream(args: StreamArgs) -> Result<(), Failure> {
    let client = args.selection.connect().await?;
    let mut sink = Sink::open(args.output.as_deref(), args.format)?;
    let mut rows = rows(&client, &args);
    let mut progress = Progress::new(!args.quiet && std::io::stderr().is_terminal());
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut ctrl_c => {
                drop(rows);
                progress.finish();
                sink.discard();
                // The next query waits for the connection, so it returns once the cancelled query is drained.
                let settle = client.query(&args.selection.relation).limit(0).fetch_all();
                let _ = tokio::time::timeout(Duration::from_secs(5), settle).await;
                return Err(Failure::Interrupted);
            }
            next = rows.next() => next,
        };
        match next {
            Some(Ok(row)) => match sink.write(&row) {
                Ok(()) => progress.row(row.len()),
                // The reader is gone (`| head`): stop the server's work and end quietly.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    progress.finish();
                    return Ok(());
                }
                Err(e) => {
                    sink.discard();
                    return Err(Failure::Output(e, sink.name()));
                }
            },
            Some(Err(error)) => {
                progress.finish();
                sink.discard();
                return Err(Failure::Query(error));
            }
            None => break,
        }
    }
    progress.finish();
    sink.finish()
}

/// The rows of the query the arguments describe, as raw JSON text.
fn rows(client: &Client, args: &StreamArgs) -> Pin<Box<dyn Stream<Item = fraiseql_wire::Result<Bytes>>>> {
    let mut query: Query = args.selection.query(client);
    for key in &args.order_by {
        query = query.order_by_sql(key);
    }
    if let Some(n) = args.limit {
        query = query.limit(n);
    }
    if let Some(n) = args.offset {
        query = query.offset(n);
    }
    match args.parallel {
        Some(n) if args.in_key_order => Box::pin(query.parallel(n, &args.key).in_key_order().stream_raw()),
        Some(n) if args.by_range => Box::pin(query.parallel(n, &args.key).by_range().stream_raw()),
        Some(n) => Box::pin(query.parallel(n, &args.key).stream_raw()),
        None => Box::pin(query.stream_raw()),
    }
}

/// Where the rows go: standard output, or a temporary file renamed over the destination at the end.
struct Sink {
    out: BufWriter<Box<dyn Write>>,
    format: Format,
    rows: u64,
    file: Option<(PathBuf, PathBuf)>,
}

impl Sink {
    fn open(output: Option<&Path>, format: Format) -> Result<Sink, Failure> {
        let (out, file): (Box<dyn Write>, _) = match output {
            None => (Box::new(std::io::stdout()), None),
            Some(dest) => {
                let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let temp = dest.with_file_name(format!(".{name}.{}.partial", std::process::id()));
                let file =
                    File::create(&temp).map_err(|e| Failure::Output(e, format!("cannot create {}", temp.display())))?;
                (Box::new(file), Some((temp, dest.to_owned())))
            }
        };
        let mut sink = Sink { out: BufWriter::with_capacity(256 * 1024, out), format, rows: 0, file };
        if let Format::Json = format {
            sink.out.write_all(b"[").map_err(|e| Failure::Output(e, sink.name()))?;
        }
        Ok(sink)
    }

    fn name(&self) -> String {
        match &self.file {
            Some((temp, _)) => format!("writing {}", temp.display()),
            None => "writing to standard output".to_owned(),
        }
    }

    fn write(&mut self, row: &[u8]) -> std::io::Result<()> {
        match self.format {
            Format::Ndjson => {
                self.out.write_all(row)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out.write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
                self.out.write_all(row)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Completes the output: the closing bracket, the flush, and for a file its data on disk before the rename.
    fn finish(mut self) -> Result<(), Failure> {
        let close: &[u8] = if self.rows == 0 { b"]\n" } else { b"\n]\n" };
        let result = match self.format {
            Format::Json => self.out.write_all(close),
            Format::Ndjson => Ok(()),
        }
        .and_then(|()| self.out.flush());
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && self.file.is_none() => return Ok(()),
            Err(e) => {
                let name = self.name();
                self.discard();
                return Err(Failure::Output(e, name));
            }
            Ok(()) => {}
        }
        if let Some((temp, dest)) = self.file.take() {
            // The file is complete on disk before it takes the destination's name.
            let synced = File::open(&temp).and_then(|f| f.sync_all());
            if let Err(e) = synced.and_then(|()| std::fs::rename(&temp, &dest)) {
                let _ = std::fs::remove_file(&temp);
                return Err(Failure::Output(e, format!("cannot move the export to {}", dest.display())));
            }
        }
        Ok(())
    }

    /// Gives up: a temporary file is removed, the destination is left as it was.
    fn discard(&mut self) {
        if let Some((temp, _)) = self.file.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.discard();
    }
}

/// A progress line on standard error (rows, bytes, rows/s) when it is a terminal.
struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    rows: u64,
    bytes: u64,
}

impl Progress {
    fn new(shown: bool) -> Progress {
        let bar = shown.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, started: Instant::now(), rows: 0, bytes: 0 }
    }

    #[inline]
    fn row(&mut self, bytes: usize) {
        self.rows += 1;
        self.bytes += bytes as u64;
        // Formatting the line costs more than a row: often enough for a 4 Hz display.
        if self.rows % 4096 == 0 {
            self.draw();
        }
    }

    fn draw(&self) {
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            let rate = self.rows as f64 / secs;
            bar.set_message(format!("{} rows, {} MB, {rate:.0} rows/s", self.rows, self.bytes / 1_000_000));
            bar.tick();
        }
    }

    fn finish(&self) {
        self.draw();
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
