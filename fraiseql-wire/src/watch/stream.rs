//! The watch as a stream: wait for the listener, read the snapshot, then read the changed keys again, batch
//! after batch, as the consumer asks for events.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use super::inbox::Inbox;
use super::listener::Listener;
use super::trigger::check_channel;
use super::{Event, ResyncReason, WatchOptions, invalid};
use crate::config::TargetSessionAttrs;
use crate::connection::SessionSlot;
use crate::error::{Error, Result};
use crate::executor::LeaseSource;
use crate::query::Query;
use crate::sql::{Relation, Select, ToParam, quote_identifier};
use crate::stream::decode;
use crate::stream::{Predicate, RowStream};

const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// A live query: a [`Stream`] of `Result<Event<T>>`, from [`Query::watch`]; see [the module](super).
///
/// A row that fails to decode is yielded as an error and the watch goes on; any other error ends it.
#[must_use = "streams do nothing unless polled"]
pub struct Watch<T> {
    phase: Phase,
    /// Events already decided (the end of a snapshot, a resync, the removals of a batch): at most a batch's.
    outbox: VecDeque<Result<Event<T>>>,
    core: Option<Box<Core<T>>>,
}

enum Phase {
    /// Waiting for the listener, then reading the snapshot.
    Starting,
    /// After a failed read, before reading everything again.
    Pausing(Pin<Box<Sleep>>),
    Snapshot(RowStream<Bytes>),
    /// Waiting for changed keys.
    Live,
    /// Reading changed keys again; `asked` are those not seen yet.
    Rereading {
        rows: RowStream<Bytes>,
        asked: HashSet<String>,
    },
    Done,
}

/// What the watch knows, apart from where it is.
struct Core<T> {
    reader: Arc<dyn LeaseSource>,
    relation: Relation,
    select: Select,
    /// The quoted key column.
    key: String,
    predicate: Option<Predicate<T>>,
    inbox: Arc<Inbox>,
    /// Until the first poll: the listener, to spawn then.
    listener: Option<Listener>,
    task: Option<JoinHandle<()>>,
    /// The key of every row in the result, with a hash of its document.
    present: HashMap<String, u64>,
    hasher: RandomState,
    batch_size: usize,
    reconnect_timeout: Duration,
    rows_read: u64,
    /// Since when reads fail, and the pause before the next attempt.
    failing_since: Option<Instant>,
    pause: Duration,
}

// Nothing in a watch is pinned: its streams are polled through `Pin::new` and its timer is boxed.
impl<T> Unpin for Watch<T> {}

impl<T> Drop for Watch<T> {
    fn drop(&mut self) {
        if let Some(task) = self.core.as_mut().and_then(|core| core.task.take()) {
            task.abort();
        }
    }
}

impl<T: DeserializeOwned> Watch<T> {
    pub(super) fn new(query: Query<T>, options: WatchOptions) -> Watch<T> {
        match Core::new(query, options) {
            Ok(core) => Watch { phase: Phase::Starting, outbox: VecDeque::new(), core: Some(Box::new(core)) },
            Err(error) => Watch { phase: Phase::Done, outbox: VecDeque::from([Err(error)]), core: None },
        }
    }
}

impl<T> Watch<T> {
    /// How many changed keys wait to be read again (for metrics: a number that keeps growing means a consumer
    /// slower than the writers).
    pub fn pending_keys(&self) -> usize {
        self.core.as_ref().map_or(0, |core| core.inbox.pending_keys())
    }

    /// How many rows the watch holds as its result now.
    pub fn len(&self) -> usize {
        self.core.as_ref().map_or(0, |core| core.present.len())
    }

    /// Whether the result is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: DeserializeOwned> Core<T> {
    fn new(query: Query<T>, options: WatchOptions) -> Result<Core<T>> {
        if query.has_cursor() {
            return Err(invalid("the query starts after a cursor: watch the whole result instead"));
        }
        let parts = query.into_parts();
        let select = parts.select?;
        if select.is_windowed() {
            return Err(invalid("the query has a limit or an offset: watch the whole result instead"));
        }
        let source = parts.source.ok_or(Error::NotBound)?;
        let column = &options.key_column;
        if column.is_empty() || column.len() > 63 || column.contains('\0') {
            return Err(invalid(format!("`{column}` is not a column name")));
        }
        let relation = select.relation().clone();
        let channel = options.channel.clone().unwrap_or_else(|| relation.given.clone());
        check_channel(&channel)?;
        let mut settings = (*source.settings()).clone();
        settings.routing.target_session_attrs = TargetSessionAttrs::Primary;
        let settings = Arc::new(settings);
        let inbox = Arc::new(Inbox::new(options.max_pending_keys));
        let listener = Listener {
            settings: Arc::clone(&settings),
            listen: format!("LISTEN {}", quote_identifier(&channel)),
            channel,
            inbox: Arc::clone(&inbox),
            keepalive: options.keepalive,
            reconnect_timeout: options.reconnect_timeout,
        };
        Ok(Core {
            reader: SessionSlot::new((*settings).clone(), None),
            relation,
            select,
            key: quote_identifier(column),
            predicate: parts.predicate,
            inbox,
            listener: Some(listener),
            task: None,
            present: HashMap::new(),
            hasher: RandomState::new(),
            batch_size: options.batch_size,
            reconnect_timeout: options.reconnect_timeout,
            rows_read: 0,
            failing_since: None,
            pause: FIRST_PAUSE,
        })
    }
}

impl<T: DeserializeOwned> Core<T> {
    /// Starts the listener on the first poll, where a runtime is sure to be.
    fn spawn_listener(&mut self) -> Result<()> {
        let Some(listener) = self.listener.take() else {
            return Ok(());
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Unsupported {
            feature: "a watch polled outside a Tokio runtime".to_owned(),
            advice: "poll the watch from a task of a Tokio runtime: it runs a listener task of its own".to_owned(),
        })?;
        self.task = Some(runtime.spawn(listener.run()));
        Ok(())
    }

    /// The snapshot (`keys: None`) or the rows of `keys`.
    fn read(&self, keys: Option<&[String]>) -> RowStream<Bytes> {
        match self.select.render_keyed(&self.key, keys.map(|keys| keys.to_param())) {
            Ok(statement) => RowStream::start(Arc::clone(&self.reader), self.relation.clone(), statement, decode::raw),
            Err(error) => RowStream::failed(error.into(), decode::raw),
        }
    }

    /// A `[key, document]` row, parsed once: its key, its document, and the document's hash.
    fn split<'a>(&mut self, bytes: &'a [u8]) -> Result<(String, &'a RawValue, u64)> {
        self.rows_read += 1;
        let (key, document): (Option<String>, &RawValue) = serde_json::from_slice(bytes)
            .map_err(|e| Error::protocol(format!("a watch row is not a [key, document] pair: {e}")))?;
        let key = key.ok_or_else(|| {
            invalid(format!("row {} of {} has a NULL key column {}", self.rows_read, self.relation.given, self.key))
        })?;
        let hash = self.hasher.hash_one(document.get());
        Ok((key, document, hash))
    }

    /// The document decoded, `None` if the Rust predicate refuses it.
    fn keep(&self, document: &RawValue) -> Result<Option<T>> {
        let row: T = decode::parse(document.get().as_bytes(), self.rows_read)?;
        Ok(self.predicate.as_ref().is_none_or(|keep| keep(&row)).then_some(row))
    }

    fn snapshot_row(&mut self, bytes: &[u8]) -> Option<Result<Event<T>>> {
        let decoded = self.split(bytes).and_then(|(key, document, hash)| Ok((key, self.keep(document)?, hash)));
        match decoded {
            Ok((key, Some(row), hash)) => {
                self.present.insert(key.clone(), hash);
                Some(Ok(Event::Snapshot { key, row }))
            }
            Ok((_, None, _)) => None,
            Err(error) => Some(Err(error)),
        }
    }

    fn changed_row(&mut self, bytes: &[u8], asked: &mut HashSet<String>) -> Option<Result<Event<T>>> {
        let (key, document, hash) = match self.split(bytes) {
            Ok(split) => split,
            Err(error) => return Some(Err(error)),
        };
        // An echo (a change elsewhere in the tables, a duplicate notification) costs no decode and no event.
        if self.present.get(&key) == Some(&hash) {
            asked.remove(&key);
            return None;
        }
        match self.keep(document) {
            Ok(Some(row)) => {
                asked.remove(&key);
                self.present.insert(key.clone(), hash);
                Some(Ok(Event::Upsert { key, row }))
            }
            Ok(None) => {
                asked.remove(&key);
                self.present.remove(&key).map(|_| Ok(Event::Remove { key }))
            }
            Err(error) => Some(Err(error)),
        }
    }
}

impl<T: DeserializeOwned> Stream for Watch<T> {
    type Item = Result<Event<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.outbox.pop_front() {
                return Poll::Ready(Some(item));
            }
            let Some(core) = this.core.as_deref_mut() else {
                return Poll::Ready(None);
            };
            match &mut this.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::Starting => {
                    let started = core.spawn_listener().and_then(|()| core.inbox.begin_snapshot(cx.waker()));
                    match started {
                        Ok(true) => this.phase = Phase::Snapshot(core.read(None)),
                        Ok(false) => return Poll::Pending,
                        Err(error) => {
                            this.phase = Phase::Done;
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                }
                Phase::Pausing(pause) => {
                    ready!(pause.as_mut().poll(cx));
                    this.phase = Phase::Starting;
                }
                Phase::Snapshot(rows) => {
                    if let Some(reason) = core.inbox.resync_due() {
                        this.phase = resync(core, &mut this.outbox, reason);
                        continue;
                    }
                    match ready!(Pin::new(rows).poll_next(cx)) {
                        Some(Ok(bytes)) => {
                            if let Some(item) = core.snapshot_row(&bytes) {
                                return Poll::Ready(Some(item));
                            }
                        }
                        Some(Err(error)) => this.phase = read_failed(core, &mut this.outbox, error),
                        None => {
                            core.failing_since = None;
                            core.pause = FIRST_PAUSE;
                            this.phase = Phase::Live;
                            return Poll::Ready(Some(Ok(Event::Ready)));
                        }
                    }
                }
                Phase::Live => match core.inbox.take(core.batch_size, cx.waker()) {
                    Err(reason) => this.phase = resync(core, &mut this.outbox, reason),
                    Ok(keys) if keys.is_empty() => return Poll::Pending,
                    Ok(keys) => {
                        let rows = core.read(Some(&keys));
                        this.phase = Phase::Rereading { rows, asked: keys.into_iter().collect() };
                    }
                },
                Phase::Rereading { rows, asked } => {
                    if let Some(reason) = core.inbox.resync_due() {
                        this.phase = resync(core, &mut this.outbox, reason);
                        continue;
                    }
                    match ready!(Pin::new(rows).poll_next(cx)) {
                        Some(Ok(bytes)) => {
                            if let Some(item) = core.changed_row(&bytes, asked) {
                                return Poll::Ready(Some(item));
                            }
                        }
                        Some(Err(error)) => this.phase = read_failed(core, &mut this.outbox, error),
                        None => {
                            // Asked for and not returned: gone from the result, if they were in it.
                            for key in std::mem::take(asked) {
                                if core.present.remove(&key).is_some() {
                                    this.outbox.push_back(Ok(Event::Remove { key }));
                                }
                            }
                            core.failing_since = None;
                            this.phase = Phase::Live;
                        }
                    }
                }
            }
        }
    }
}

/// Forgets the result and announces a fresh snapshot.
fn resync<T>(core: &mut Core<T>, outbox: &mut VecDeque<Result<Event<T>>>, reason: ResyncReason) -> Phase {
    core.present.clear();
    outbox.push_back(Ok(Event::Resync { reason }));
    Phase::Starting
}

/// A read failed: a row that did not decode is the consumer's to see; a retriable failure resynchronises after
/// a pause (until `reconnect_timeout` has passed since reads began failing); any other ends the watch.
fn read_failed<T>(core: &mut Core<T>, outbox: &mut VecDeque<Result<Event<T>>>, error: Error) -> Phase {
    let since = *core.failing_since.get_or_insert_with(Instant::now);
    if !error.is_retriable() || since.elapsed() >= core.reconnect_timeout {
        outbox.push_back(Err(error));
        return Phase::Done;
    }
    tracing::warn!(relation = %core.relation.given, %error, "watch read failed: reading afresh");
    let pause = core.pause;
    core.pause = (pause * 2).min(MAX_PAUSE);
    resync(core, outbox, ResyncReason::ReadFailed { cause: error.to_string() });
    Phase::Pausing(Box::pin(tokio::time::sleep(pause)))
}
