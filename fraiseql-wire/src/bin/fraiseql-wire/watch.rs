//! `fraiseql-wire watch VIEW`: a live query's events as NDJSON, one line each, written as they happen.

use std::io::Write;

use futures_util::StreamExt;
use serde_json::value::RawValue;

use fraiseql_wire::watch::{Event, WatchOptions};
use fraiseql_wire::{Client, Config, Query, ToParam};

use super::Failure;

#[derive(clap::Args)]
pub(crate) struct WatchArgs {
    /// The view to watch: `view` or `schema.view`, with the triggers of `fraiseql_wire::watch::trigger_sql` on
    /// its tables.
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
    /// The view's column that identifies a row.
    #[arg(long, default_value = "id", value_name = "COLUMN")]
    key_column: String,
    /// The channel the triggers notify (by default the view's name as given).
    #[arg(long)]
    channel: Option<String>,
}

/// Writes every event until interrupted (Ctrl-C ends it normally), the reader closes the pipe, or the watch
/// fails.
pub(crate) async fn run(args: WatchArgs) -> Result<(), Failure> {
    let config: Config = match &args.url {
        Some(url) => url.parse().map_err(Failure::Query)?,
        None => Config::new(),
    };
    let client =
        Client::connect_with(config.fallback_application_name("fraiseql-wire")).await.map_err(Failure::Query)?;
    let mut query: Query<Box<RawValue>> = client.query_as(&args.relation);
    if let Some(condition) = &args.where_sql {
        let params: Vec<&dyn ToParam> = args.params.iter().map(|p| p as &dyn ToParam).collect();
        query = query.where_sql(condition, &params);
    }
    let mut options = WatchOptions::new().key_column(&args.key_column);
    if let Some(channel) = &args.channel {
        options = options.channel(channel);
    }
    let mut events = query.watch_with(options);
    let mut out = std::io::stdout().lock();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let event = tokio::select! {
            biased;
            _ = &mut ctrl_c => return Ok(()),
            event = events.next() => event,
        };
        let line = match event {
            Some(Ok(event)) => line(&event),
            Some(Err(error)) => return Err(Failure::Query(error)),
            None => return Ok(()),
        };
        // Each line goes out at once: a live consumer must not wait for a buffer to fill.
        match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(Failure::Output(e, "writing to standard output".to_owned())),
        }
    }
}

/// One event as a JSON line; the row is the server's text, unparsed.
fn line(event: &Event<Box<RawValue>>) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    match event {
        Event::Snapshot { key, row } => {
            format!("{{\"event\":\"snapshot\",\"key\":{},\"row\":{}}}\n", text(key), row.get())
        }
        Event::Ready => "{\"event\":\"ready\"}\n".to_owned(),
        Event::Upsert { key, row } => format!("{{\"event\":\"upsert\",\"key\":{},\"row\":{}}}\n", text(key), row.get()),
        Event::Remove { key } => format!("{{\"event\":\"remove\",\"key\":{}}}\n", text(key)),
        Event::Resync { reason } => format!("{{\"event\":\"resync\",\"reason\":{}}}\n", text(&reason.to_string())),
        // A kind of event newer than this tool: said so rather than dropped.
        _ => "{\"event\":\"unknown\"}\n".to_owned(),
    }
}
