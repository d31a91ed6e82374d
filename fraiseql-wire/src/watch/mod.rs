//! Live queries: a query's rows now, then every change to them, as a [`Stream`](futures_core::Stream) of
//! [`Event`]s.
//!
//! ```no_run
//! # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
//! use std::collections::HashMap;
//! use futures_util::TryStreamExt;
//! use fraiseql_wire::watch::Event;
//!
//! let mut live = client.query("v_project").where_sql("data->>'status' = $1", &[&"active"]).watch();
//! let mut rows: HashMap<String, serde_json::Value> = HashMap::new();
//! while let Some(event) = live.try_next().await? {
//!     match event {
//!         Event::Snapshot { key, row } | Event::Upsert { key, row } => { rows.insert(key, row); }
//!         Event::Remove { key } => { rows.remove(&key); }
//!         Event::Ready => println!("{} active projects, live from now on", rows.len()),
//!         Event::Resync { reason } => { println!("reading afresh: {reason}"); rows.clear(); }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # How it works
//! - **The change source** is a set of statement-level triggers on the tables the view reads, installed with the
//!   SQL [`trigger_sql`] writes: each `INSERT`, `UPDATE` or `DELETE` statement sends the keys of the rows it
//!   changed with `pg_notify` on the view's channel, when it commits.
//! - **No gap:** the watch LISTENs on its own connection, and only once the server has confirmed the LISTEN does
//!   it read the snapshot (on a second connection of its own). A commit the snapshot does not show is therefore
//!   heard, and its keys are read again once the snapshot is complete.
//! - **Changes are read again through the query:** the changed keys are read in batches (`key = ANY($n)` under
//!   the query's own filters, then its [`filter_rust`](crate::Query::filter_rust) predicate). A row that comes
//!   back is an [`Event::Upsert`] (unless its document is byte for byte the one last sent); a key that does not,
//!   and was in the result, is an [`Event::Remove`]. So every event says what the query returns now.
//! - **Bounded memory:** a slow consumer does not queue events. Changed keys wait as a set (each key once, oldest
//!   first) of at most [`WatchOptions::max_pending_keys`]; beyond that, the keys are dropped and the consumer gets
//!   [`Event::Resync`] and a fresh snapshot. Besides, the watch keeps each current row's key and a 64-bit hash of
//!   its document, to tell changes from echoes and to send only the removals of rows that were there.
//! - **Faults:** when the listening connection fails (a restart, a cut network, a ping unanswered within the
//!   keepalive interval), changes may go unheard: the watch sends [`Event::Resync`], reconnects with a backoff,
//!   and reads a fresh snapshot. A read that fails with a retriable error does the same. A watch that cannot
//!   reconnect within [`WatchOptions::reconnect_timeout`], or meets an error that retrying cannot cure (a missing
//!   view), ends with that error. Nothing is lost silently.
//! - **Connections:** two of the client's or pool's settings, opened for the watch (never a pool's busy one) on
//!   a primary (LISTEN does not work on a standby, and a replica's lag would hide changes). Dropping the stream
//!   closes both, cancelling any read in flight.
mod inbox;
mod listener;
mod stream;
mod trigger;

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{BuildError, Error};
use crate::query::Query;
pub use stream::Watch;
pub use trigger::{remove_trigger_sql, trigger_sql};

/// One step of a live query.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<T> {
    /// A row of the snapshot: the query's rows when the watch started (or resynchronised).
    Snapshot {
        /// The row's key column, as text.
        key: String,
        /// The row.
        row: T,
    },
    /// The snapshot is complete; changes follow.
    Ready,
    /// A row entered the result or changed in it.
    Upsert {
        /// The row's key column, as text.
        key: String,
        /// The row as the query returns it now.
        row: T,
    },
    /// A row left the result (deleted, or no longer matching the filters).
    Remove {
        /// The key of the row that left.
        key: String,
    },
    /// Changes may have been missed: forget every row; a fresh snapshot follows, ended by [`Event::Ready`].
    Resync {
        /// Why.
        reason: ResyncReason,
    },
}

/// Why a watch reads everything again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResyncReason {
    /// The listening connection failed (a server restart, a broken network, a ping unanswered).
    ListenerLost {
        /// The error, as text.
        cause: String,
    },
    /// Reading the snapshot or changed rows failed with a retriable error.
    ReadFailed {
        /// The error, as text.
        cause: String,
    },
    /// More keys changed than [`WatchOptions::max_pending_keys`] while the consumer was busy.
    Overflow,
    /// The change source asked for it: a `TRUNCATE`, a key too long for a notification, or a payload this version
    /// cannot read.
    Requested,
}

impl fmt::Display for ResyncReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResyncReason::ListenerLost { cause } => write!(f, "the listening connection failed: {cause}"),
            ResyncReason::ReadFailed { cause } => write!(f, "a read failed: {cause}"),
            ResyncReason::Overflow => f.write_str("more changes were pending than max_pending_keys"),
            ResyncReason::Requested => f.write_str("the change source asked for a full read"),
        }
    }
}

/// How a watch listens and reads: [`Query::watch_with`].
#[derive(Clone, Debug)]
pub struct WatchOptions {
    pub(crate) key_column: String,
    pub(crate) channel: Option<String>,
    pub(crate) max_pending_keys: usize,
    pub(crate) batch_size: usize,
    pub(crate) keepalive: Duration,
    pub(crate) reconnect_timeout: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            key_column: "id".to_owned(),
            channel: None,
            max_pending_keys: 10_000,
            batch_size: 500,
            keepalive: Duration::from_secs(15),
            reconnect_timeout: Duration::from_secs(60),
        }
    }
}

impl WatchOptions {
    /// The defaults: key column `id`, the view's name as channel, 10,000 pending keys, batches of 500 keys, a
    /// ping after 15 s of silence, 60 s to reconnect.
    pub fn new() -> Self {
        WatchOptions::default()
    }

    /// The view's column that identifies a row (`id` by default); its text (`::text`) is the key in events and in
    /// notifications.
    pub fn key_column(mut self, column: &str) -> Self {
        column.clone_into(&mut self.key_column);
        self
    }

    /// The channel to LISTEN on; by default the view's name as the query gives it (`v_project`,
    /// `app.v_project`). [`trigger_sql`] must be given the same.
    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = Some(channel.to_owned());
        self
    }

    /// How many changed keys may wait for a slow consumer before the watch drops them and resynchronises
    /// (10,000 by default; at least 1).
    pub fn max_pending_keys(mut self, keys: usize) -> Self {
        self.max_pending_keys = keys.max(1);
        self
    }

    /// How many changed keys one read asks for (500 by default; at least 1).
    pub fn batch_size(mut self, keys: usize) -> Self {
        self.batch_size = keys.max(1);
        self
    }

    /// Silence on the listening connection after which the server is pinged; also how long the ping may take
    /// before the connection counts as lost (15 s by default). The connection's `read_timeout` does not apply to
    /// the listener, which may rightly hear nothing for hours.
    pub fn keepalive_interval(mut self, interval: Duration) -> Self {
        self.keepalive = interval.max(Duration::from_millis(1));
        self
    }

    /// How long reconnecting may keep failing before the watch ends with the last error (60 s by default).
    pub fn reconnect_timeout(mut self, timeout: Duration) -> Self {
        self.reconnect_timeout = timeout;
        self
    }
}

/// A query or setting a watch cannot work with, as [`Error::InvalidWatch`].
fn invalid(reason: impl Into<String>) -> Error {
    BuildError::Watch { reason: reason.into() }.into()
}

impl<T: DeserializeOwned> Query<T> {
    /// This query's rows, then every change to them, with the default [`WatchOptions`]: see [`watch`](self).
    ///
    /// The view needs a key column (`id` unless [`WatchOptions::key_column`] says otherwise) and the triggers of
    /// [`trigger_sql`] on the tables it reads. A query with `limit`, `offset` or a cursor is refused
    /// ([`Error::InvalidWatch`](crate::Error::InvalidWatch)), as its rows are not a set that a change of one row
    /// enters or leaves. Nothing happens until the stream is first polled.
    pub fn watch(self) -> Watch<T> {
        self.watch_with(WatchOptions::new())
    }

    /// [`watch`](Query::watch) with `options`.
    pub fn watch_with(self, options: WatchOptions) -> Watch<T> {
        Watch::new(self, options)
    }
}
