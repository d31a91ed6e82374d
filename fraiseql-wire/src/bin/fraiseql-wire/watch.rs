//! `fraiseql-wire watch VIEW`: a live query's events as NDJSON, one line each, written as they happen.

use std::io::Write;

use futures_util::StreamExt;
use serde_json::value::RawValue;

use fraiseql_wire::Query;
use fraiseql_wire::watch::{Event, WatchOptions};

use super::{Failure, Selection};

#[derive(clap::Args)]
pub(crate) struct WatchArgs {
    // The view needs the triggers of `fraiseql_wire::watch::trigger_sql` on its tables.
    #[command(flatten)]
    selection: Selection,
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
    let client = args.selection.connect().await?;
    let query: Query<Box<RawValue>> = args.selection.query(&client);
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
