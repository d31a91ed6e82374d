//! The row stream: a pull-driven state machine over one connection.
//!
//! Setup (lock the client's connection, reconnect if needed, send the query, check the row description) is one
//! boxed future. After that every `poll_next` reads at most what one row needs from the socket and decodes it
//! straight from the read buffer, so memory is bounded by the largest row and a slow consumer slows the server.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;
use postgres_protocol::message::backend::Message;
use serde::de::DeserializeOwned;
use tokio::sync::OwnedMutexGuard;

use crate::client::{Client, Shared};
use crate::config::Target;
use crate::connection::{self, BackendKey, Connection, Incoming};
use crate::error::{DbError, Error, Result};
use crate::protocol::{frame, query as wire};
use crate::query::{DATA_COLUMN_POSITION, Relation, Statement};

/// Turns the DataRow at the front of the read buffer into an item, consuming its `total` bytes.
pub(crate) type Decoder<T> = fn(&mut BytesMut, usize, Option<Range<usize>>, u64) -> Result<T>;

/// A Rust-side row filter (`Query::filter_rust`).
pub(crate) type Predicate<T> = Arc<dyn Fn(&T) -> bool + Send + Sync>;

/// JSON `null`, what a SQL `NULL` in `data` becomes.
const JSON_NULL: &[u8] = b"null";

pub(crate) fn decode_json<T: DeserializeOwned>(
    buf: &mut BytesMut,
    total: usize,
    value: Option<Range<usize>>,
    row: u64,
) -> Result<T> {
    let result = parse_json(value.map_or(JSON_NULL, |range| &buf[range]), row);
    buf.advance(total);
    result
}

fn parse_json<T: DeserializeOwned>(json: &[u8], row: u64) -> Result<T> {
    // The fast path skips path tracking; only a failing row pays for a second, tracked parse.
    serde_json::from_slice(json).or_else(|_| {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Ok(value) => {
                deserializer.end().map(|()| value).map_err(|source| Error::Decode { row, path: ".".to_owned(), source })
            }
            Err(e) => Err(Error::Decode { row, path: e.path().to_string(), source: e.into_inner() }),
        }
    })
}

pub(crate) fn decode_raw(buf: &mut BytesMut, total: usize, value: Option<Range<usize>>, row: u64) -> Result<Bytes> {
    let message = buf.split_to(total).freeze();
    match value {
        None => Ok(Bytes::from_static(JSON_NULL)),
        Some(range) => {
            std::str::from_utf8(&message[range.clone()]).map_err(|source| Error::InvalidUtf8 { row, source })?;
            Ok(message.slice(range))
        }
    }
}

/// The rows of a query, as a [`Stream`] of `Result<T>`.
///
/// Rows are read from the socket only as the stream is polled. A row that fails to decode is yielded as
/// [`Error::Decode`] and the stream goes on; a server error ends the stream after the rows that preceded it.
///
/// While it lives, the stream holds its client's connection: a second query on the same client (or a clone of
/// it) waits until this stream ends or is dropped. Dropping it before the end sends a cancel request and drains
/// the connection in the background (within `cancel_timeout`, else the connection is closed and replaced on next
/// use).
#[must_use = "streams do nothing unless polled"]
pub struct RowStream<T> {
    state: State,
    decode: Decoder<T>,
    predicate: Option<Predicate<T>>,
    row: u64,
    /// Set by the starting future once the query is on the wire: how to cancel it if the stream is dropped
    /// before the server has described its first row (a slow view).
    in_flight: InFlight,
}

type InFlight = Arc<std::sync::Mutex<Option<(Target, BackendKey)>>>;

type Starting = Pin<Box<dyn Future<Output = Result<Session>> + Send>>;

enum State {
    Failed(Error),
    Starting(Starting),
    Streaming(Session),
    /// The query is over on the server side; reading up to ReadyForQuery, then yielding `pending` if set.
    Finishing(Session, Option<Error>),
    Done,
}

/// A connection checked out of its client for the duration of one query.
struct Session {
    slot: OwnedMutexGuard<Option<Connection>>,
    connection: Connection,
    shared: Arc<Shared>,
}

impl<T> RowStream<T> {
    pub(crate) fn start(client: Client, relation: Relation, statement: Statement, decode: Decoder<T>) -> Self {
        let shared = client.shared();
        let in_flight = InFlight::default();
        RowStream {
            state: State::Starting(Box::pin(start(shared, relation, statement, in_flight.clone()))),
            decode,
            predicate: None,
            row: 0,
            in_flight,
        }
    }

    pub(crate) fn failed(error: Error) -> Self {
        fn never<T>(_: &mut BytesMut, _: usize, _: Option<Range<usize>>, _: u64) -> Result<T> {
            Err(Error::protocol("a failed query produced a row"))
        }
        RowStream {
            state: State::Failed(error),
            decode: never::<T>,
            predicate: None,
            row: 0,
            in_flight: InFlight::default(),
        }
    }

    pub(crate) fn with_predicate(mut self, predicate: Option<Predicate<T>>) -> Self {
        self.predicate = predicate;
        self
    }

    /// How many rows this stream has produced so far (including rows that failed to decode).
    pub fn rows_read(&self) -> u64 {
        self.row
    }
}

impl<T> Stream for RowStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Failed(_) => {
                    if let State::Failed(error) = std::mem::replace(&mut this.state, State::Done) {
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                State::Starting(future) => match ready!(future.as_mut().poll(cx)) {
                    Ok(session) => this.state = State::Streaming(session),
                    Err(error) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(error)));
                    }
                },
                State::Streaming(session) => {
                    let incoming = ready!(session.connection.poll_incoming(cx));
                    match incoming {
                        Ok(Incoming::Row { total }) => {
                            this.row += 1;
                            let read = &mut session.connection.read;
                            let item = match frame::single_column(&read[..total]) {
                                Ok(value) => (this.decode)(read, total, value, this.row),
                                Err(error) => return Poll::Ready(Some(Err(this.fail(error)))),
                            };
                            match (&item, &this.predicate) {
                                (Ok(row), Some(predicate)) if !predicate(row) => continue,
                                _ => return Poll::Ready(Some(item)),
                            }
                        }
                        Ok(Incoming::Oversized { size }) => {
                            this.row += 1;
                            let limit = session.connection_limit();
                            if let State::Streaming(session) = std::mem::replace(&mut this.state, State::Done) {
                                session.abandon(true);
                            }
                            return Poll::Ready(Some(Err(Error::RowTooLarge { row: this.row, size, limit })));
                        }
                        Ok(Incoming::Message(
                            Message::CommandComplete(_) | Message::EmptyQueryResponse | Message::PortalSuspended,
                        )) => this.finish(None),
                        Ok(Incoming::Message(Message::ErrorResponse(body))) => {
                            let error = DbError::from_fields(body.fields()).map(Error::from);
                            match error {
                                Ok(error) => this.finish(Some(error)),
                                Err(error) => return Poll::Ready(Some(Err(this.fail(error)))),
                            }
                        }
                        Ok(Incoming::Message(_)) => {
                            let error = Error::protocol("unexpected message while streaming rows");
                            return Poll::Ready(Some(Err(this.fail(error))));
                        }
                        Err(error) => return Poll::Ready(Some(Err(this.fail(error)))),
                    }
                }
                State::Finishing(session, _) => match ready!(session.connection.poll_incoming(cx)) {
                    Ok(Incoming::Message(Message::ReadyForQuery(_))) => {
                        if let State::Finishing(session, pending) = std::mem::replace(&mut this.state, State::Done) {
                            session.release();
                            return Poll::Ready(pending.map(Err));
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        // A FATAL error (server shutdown) is followed by the socket closing: report the server's
                        // reason, not the closed socket.
                        let pending = match std::mem::replace(&mut this.state, State::Done) {
                            State::Finishing(_, pending) => pending,
                            _ => None,
                        };
                        return Poll::Ready(Some(Err(pending.unwrap_or(error))));
                    }
                },
            }
        }
    }
}

impl<T> RowStream<T> {
    fn finish(&mut self, pending: Option<Error>) {
        if let State::Streaming(session) = std::mem::replace(&mut self.state, State::Done) {
            self.state = State::Finishing(session, pending);
        }
    }

    /// The connection is unusable: drop it so the next query opens a fresh one.
    fn fail(&mut self, error: Error) -> Error {
        self.state = State::Done;
        tracing::debug!(%error, "closing the connection after a stream error");
        error
    }
}

impl<T> Drop for RowStream<T> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Streaming(session) => session.abandon(true),
            State::Finishing(session, _) => session.abandon(false),
            State::Starting(_) => {
                // The starting future (and its connection) is gone; if the query was already sent, the server
                // may be busy with it until it first writes, so ask it to stop.
                let handle = self.in_flight.lock().ok().and_then(|mut guard| guard.take());
                if let (Some((target, key)), Ok(runtime)) = (handle, tokio::runtime::Handle::try_current()) {
                    runtime.spawn(async move {
                        if let Err(error) = connection::cancel(&target, key).await {
                            tracing::debug!(%error, "could not cancel a query dropped before its first row");
                        }
                    });
                }
            }
            State::Failed(_) | State::Done => {}
        }
    }
}

impl Session {
    fn connection_limit(&self) -> usize {
        self.shared.config.max_row_bytes
    }

    /// Hands the connection back to the client; called once ReadyForQuery has been read.
    fn release(mut self) {
        self.connection.busy = false;
        *self.slot = Some(self.connection);
    }

    /// Leaves a query before its end: cancel it (if the server may still be working), drain to ReadyForQuery and
    /// give the connection back, all in the background and within `cancel_timeout`. The client's lock stays held
    /// until then, so the next query starts on a clean session.
    fn abandon(self, cancel: bool) {
        let Session { mut slot, mut connection, shared } = self;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to drain on: closing the socket is the only clean option left.
            return;
        };
        runtime.spawn(async move {
            let work = async {
                if cancel {
                    if let Some((target, key)) = connection.cancel_handle() {
                        connection::cancel(&target, key).await?;
                    }
                }
                connection.drain().await
            };
            match tokio::time::timeout(shared.config.cancel_timeout, work).await {
                Ok(Ok(_)) => *slot = Some(connection),
                Ok(Err(error)) => tracing::warn!(%error, "closing the connection of an abandoned query"),
                Err(_) => tracing::warn!(
                    timeout = ?shared.config.cancel_timeout,
                    "an abandoned query did not stop in time; closing its connection"
                ),
            }
        });
    }
}

/// Checks out the client's connection (opening one if needed), sends the query and checks what it returns.
async fn start(shared: Arc<Shared>, relation: Relation, statement: Statement, in_flight: InFlight) -> Result<Session> {
    let mut slot = shared.slot.clone().lock_owned().await;
    let reused = slot.take().filter(|c| !c.busy);
    let fresh = reused.is_none();
    let mut connection = match reused {
        Some(connection) => connection,
        None => Connection::connect(&shared.config).await?,
    };
    let first = send_and_describe(&mut connection, &statement, &in_flight).await;
    let outcome = match first {
        // An idle connection may have died quietly (server restart, idle timeout). Nothing was read yet and the
        // statement only reads, so one retry on a fresh connection is safe.
        Err(error) if !fresh && is_stale(&error) => {
            tracing::debug!(%error, "reconnecting: the idle connection was gone");
            connection = Connection::connect(&shared.config).await?;
            send_and_describe(&mut connection, &statement, &in_flight).await
        }
        other => other,
    };
    match outcome {
        Ok(Described::Json) => Ok(Session { slot, connection, shared }),
        Ok(Described::NotJson(type_name)) => {
            stop_query(&mut connection, &shared).await;
            *slot = Some(connection);
            Err(Error::NotJson { relation: relation.given, type_name })
        }
        Ok(Described::Failed(db)) => {
            let error = if db.code == "42703" && db.position == Some(DATA_COLUMN_POSITION) {
                let columns = describe_columns(&mut connection, &relation).await;
                Error::NoDataColumn { relation: relation.given, columns }
            } else {
                Error::Db(db)
            };
            if !connection.busy {
                *slot = Some(connection);
            }
            Err(error)
        }
        Err(error) => Err(error),
    }
}

fn is_stale(error: &Error) -> bool {
    matches!(error, Error::ConnectionLost { .. }) || matches!(error.code(), Some("57P01" | "57P02" | "57P03"))
}

enum Described {
    Json,
    NotJson(String),
    /// The server refused the statement; the connection has been drained and is idle.
    Failed(Box<DbError>),
}

async fn send_and_describe(
    connection: &mut Connection,
    statement: &Statement,
    in_flight: &InFlight,
) -> Result<Described> {
    wire::encode(&statement.sql, statement.params.iter().map(|p| p.as_bytes()), connection.write_buf())?;
    connection.busy = true;
    if let Ok(mut guard) = in_flight.lock() {
        *guard = connection.cancel_handle();
    }
    connection.flush().await?;
    loop {
        match connection.next_message().await? {
            Message::ParseComplete | Message::BindComplete => {}
            Message::RowDescription(body) => {
                return Ok(match wire::check_json_column(&body)? {
                    Ok(()) => Described::Json,
                    Err(type_name) => Described::NotJson(type_name),
                });
            }
            Message::ErrorResponse(body) => {
                let db = DbError::from_fields(body.fields())?;
                if db.severity == "FATAL" || db.severity == "PANIC" {
                    return Err(db.into());
                }
                connection.drain().await?;
                return Ok(Described::Failed(Box::new(db)));
            }
            _ => return Err(Error::protocol("unexpected message before the row description")),
        }
    }
}

/// Stops a query whose rows we will not read; the connection is idle afterwards, or marked busy if that failed.
async fn stop_query(connection: &mut Connection, shared: &Shared) {
    let work = async {
        if let Some((target, key)) = connection.cancel_handle() {
            connection::cancel(&target, key).await?;
        }
        connection.drain().await
    };
    if let Err(error) = tokio::time::timeout(shared.config.cancel_timeout, work)
        .await
        .unwrap_or_else(|_| Err(Error::protocol("timed out stopping the query")))
    {
        tracing::debug!(%error, "could not stop a query; the connection will be replaced");
        connection.busy = true;
    }
}

/// The relation's columns as `name type, …`, for the error about a missing `data` column.
async fn describe_columns(connection: &mut Connection, relation: &Relation) -> String {
    const SQL: &str = "SELECT to_json(coalesce(string_agg(quote_ident(attname) || ' ' || \
                       format_type(atttypid, atttypmod), ', ' ORDER BY attnum), '')) FROM pg_attribute \
                       WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped";
    let lookup = async {
        let relation_param = Some(relation.quoted.as_bytes());
        wire::encode(SQL, std::iter::once(relation_param), connection.write_buf())?;
        connection.busy = true;
        connection.flush().await?;
        let mut columns = None;
        loop {
            match connection.next_message_or_row().await? {
                Incoming::Row { total } => {
                    let read = &mut connection.read;
                    let value = frame::single_column(&read[..total])?;
                    columns = Some(decode_json::<String>(read, total, value, 1)?);
                }
                Incoming::Message(Message::ReadyForQuery(_)) => {
                    connection.busy = false;
                    return Ok::<_, Error>(columns);
                }
                _ => {}
            }
        }
    };
    match lookup.await {
        Ok(Some(columns)) if !columns.is_empty() => columns,
        Ok(_) => "none".to_owned(),
        Err(error) => format!("unknown: {error}"),
    }
}
