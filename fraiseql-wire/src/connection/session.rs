//! One authenticated connection that runs one query at a time.
//!
//! The query's state and its transitions are in [`super::state`]; the methods here only move bytes and report
//! what the server sent as events. A session is reusable only when idle.
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll, ready};

use postgres_protocol::message::backend::Message;

use super::cancel::CancelToken;
use super::pipeline::Queued;
use super::row::RawRow;
use super::startup;
use super::state::{Event, State};
use super::statements::{Plan, StatementCache};
use super::wire::{Incoming, Wire};
use crate::config::Resolved;
use crate::error::{DbError, Error};
use crate::protocol::query::{self as wire_query, StatementUse};

/// How the server described a query's one column.
#[derive(Debug)]
pub(crate) enum Described {
    /// `json` or `jsonb`: rows follow.
    Json,
    /// Another type (named as the server names it, or by OID); the query runs on until abandoned.
    NotJson(String),
    /// The server refused the query; the session is idle again.
    Refused(Error),
}

/// What [`Session::poll_row`] found.
#[derive(Debug)]
pub(crate) enum Next<R> {
    /// A row, as the decoder made it.
    Row(R),
    /// A row above `max_row_bytes`: the query is abandoned (its bytes are skipped, never buffered).
    Oversized { size: usize, limit: usize },
    /// The query ended and the session is idle.
    End,
    /// The query ended with this error: the server's (the session is idle again) or the session's (it is broken).
    Failed(Error),
}

/// An authenticated connection that runs one query at a time.
pub(crate) struct Session {
    pub(super) wire: Wire,
    cancel: Option<CancelToken>,
    pub(super) state: State,
    pub(super) statements: StatementCache,
    /// The statement the query in flight prepares: cached once the server has parsed it and described a JSON
    /// column.
    pub(super) preparing: Option<Preparing>,
    /// Queries sent behind the one in flight (a pipelined batch), in the order the server answers them.
    pub(super) queued: VecDeque<Queued>,
    /// The errors of this batch's queries that prepared a statement and failed: a later query of the batch that
    /// binds the statement is told why it does not exist.
    pub(super) failed_prepares: Vec<(String, DbError)>,
}

/// A named statement on its way to the server.
pub(super) struct Preparing {
    pub(super) name: String,
    /// ParseComplete arrived: the server holds the statement.
    pub(super) parsed: bool,
}

impl Session {
    /// Connects to the first host that answers and authenticates.
    ///
    /// Boxed, because a session is a few hundred bytes and travels for every query (slot, lease, back to the
    /// slot): moving a pointer instead cut a twentieth of a one-row query's client work.
    pub(crate) async fn connect(config: &Resolved) -> Result<Box<Session>, Error> {
        // Boxed: the connect state machine (TLS, authentication, several hosts) is kilobytes, and every query's
        // future would otherwise carry it inline, to be copied on each move, for the rare query that reconnects.
        let opened = Box::pin(startup::open(config)).await?;
        let statements = StatementCache::new(config.statement_cache_capacity);
        Ok(Box::new(Session {
            wire: opened.wire,
            cancel: opened.cancel,
            state: State::Idle,
            statements,
            preparing: None,
            queued: VecDeque::new(),
            failed_prepares: Vec::new(),
        }))
    }

    /// A session reading `io` (recorded bytes), in `state`, for the property tests of the read path.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn replaying(io: super::transport::Transport, max_row_bytes: usize, state: State) -> Session {
        let mut wire = Wire::new(io, max_row_bytes);
        wire.authenticated(None);
        Session {
            wire,
            cancel: None,
            state,
            statements: StatementCache::new(0),
            preparing: None,
            queued: VecDeque::new(),
            failed_prepares: Vec::new(),
        }
    }

    /// How many bytes the read buffer holds room for.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn read_capacity(&self) -> usize {
        self.wire.read.capacity()
    }

    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    /// Whether a query may be sent: nothing in flight, nothing queued behind it.
    pub(crate) fn is_idle(&self) -> bool {
        self.is_between_queries() && self.queued.is_empty()
    }

    /// Whether the query in flight has ended (its ReadyForQuery read), so that the next queued one can be read.
    pub(crate) fn is_between_queries(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// The statement this query prepared goes into the cache when `keep`, else (if the server parsed it) is closed
    /// with the next query.
    pub(super) fn settle_statement(&mut self, sql: &str, keep: bool) {
        match self.preparing.take() {
            Some(Preparing { name, parsed: true }) if keep => self.statements.prepared(sql, name),
            Some(Preparing { name, parsed: true }) => self.statements.discard(name),
            _ => {}
        }
    }

    /// After the server refused a query: whether it refused a cached statement that no longer exists on the server
    /// connection (26000, as behind a transaction pooler) or no longer fits the view (0A000, "cached plan must not
    /// change result type"). The statement is forgotten either way; `true` means the query, prepared again, may
    /// well succeed.
    pub(crate) fn statement_went_stale(&mut self, sql: &str, error: &Error) -> bool {
        match error.code() {
            Some("26000" | "0A000") => self.statements.forget(sql),
            // The relation is gone: a later query prepares afresh, whatever it finds then.
            Some("42P01") => {
                self.statements.forget(sql);
                false
            }
            _ => false,
        }
    }

    /// Whether the session can take a query without a round trip to find out: idle, nothing unread, and the
    /// socket neither closed by the server nor holding bytes it sent unasked (a server that shuts down sends a
    /// FATAL error before closing).
    #[cfg_attr(not(feature = "pool"), allow(dead_code))]
    pub(crate) fn is_reusable(&self) -> bool {
        self.is_idle() && self.wire.is_quiet()
    }

    /// One round trip (a lone Sync, answered by ReadyForQuery): proves that the server still answers.
    pub(crate) async fn ping(&mut self) -> Result<(), Error> {
        if !self.is_idle() {
            return Err(Error::protocol(format!("a ping was sent while the session was {}", self.state)));
        }
        postgres_protocol::message::frontend::sync(self.wire.write_buf());
        self.report(Event::PingSent)?;
        if let Err(error) = self.wire.flush().await {
            return Err(self.fail(error));
        }
        match self.next_message().await? {
            Message::ReadyForQuery(_) => self.report(Event::Ready),
            Message::ErrorResponse(body) => {
                let error = self.db_error(&body)?;
                Err(self.fail(error))
            }
            _ => Err(self.fail(Error::protocol("unexpected answer to a Sync"))),
        }
    }

    /// Runs `sql` (statements without parameters) in the simple protocol, for transaction control; returns the
    /// text of the last row's first column, if any row came. Waits as long as the server takes: callers bound it.
    pub(crate) async fn command(&mut self, sql: &str) -> Result<Option<Vec<u8>>, Error> {
        if !self.is_idle() {
            return Err(Error::protocol(format!("a command was sent while the session was {}", self.state)));
        }
        postgres_protocol::message::frontend::query(sql, self.wire.write_buf())
            .map_err(|e| Error::protocol(format!("encoding a command: {e}")))?;
        self.report(Event::CommandSent)?;
        if let Err(error) = self.wire.flush().await {
            return Err(self.fail(error));
        }
        let mut last = None;
        while !self.is_idle() {
            match poll_fn(|cx| self.wire.poll_incoming(cx)).await {
                Ok(Incoming::Row { total, value }) => {
                    let row = RawRow::new(&mut self.wire.read, total, value);
                    last = Some(row.json().to_vec());
                    drop(row);
                    self.report(Event::Row)?;
                }
                Ok(Incoming::Oversized { .. }) => self.report(Event::Row)?,
                Ok(Incoming::Message(Message::ReadyForQuery(_))) => self.report(Event::Ready)?,
                Ok(Incoming::Message(message)) => self.on_message(message)?,
                Err(error) => return Err(self.read_failed(error)),
            }
        }
        Ok(last)
    }

    /// Records an event that came from outside the session's own reads (a timeout, a cancel that failed).
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        self.wire.query_span = tracing::Span::none();
        self.state.advance(Event::Failed(error)).unwrap_or_else(|| Error::protocol("the session failed"))
    }

    /// Sends a query and reads up to its row description.
    ///
    /// Parameters are in the text format with unspecified types; the server infers them.
    pub(crate) async fn start<'p>(
        &mut self,
        sql: &str,
        params: impl ExactSizeIterator<Item = Option<&'p [u8]>>,
    ) -> Result<Described, Error> {
        if !self.is_idle() {
            return Err(Error::protocol(format!("a query was started while the session was {}", self.state)));
        }
        // A statement an abandoned query was preparing is not kept (nothing checked its column).
        self.settle_statement(sql, false);
        let plan = self.statements.plan(sql);
        let bound_again = matches!(plan, Plan::Cached(_));
        let close = self.statements.take_to_close();
        let statement = StatementUse { name: plan.name(), parse: !bound_again, close: &close, describe: !bound_again };
        if let Err(error) = wire_query::encode(sql, statement, params, self.wire.write_buf()) {
            // Nothing was sent: the session stays idle, and the statements still to close wait for the next query.
            self.wire.write_buf().clear();
            close.into_iter().for_each(|name| self.statements.discard(name));
            return Err(error);
        }
        self.preparing = match plan {
            Plan::Prepare(name) => Some(Preparing { name, parsed: false }),
            _ => None,
        };
        self.report(Event::QuerySent)?;
        // The caller's span is the query's (its start runs inside it): notices read later, while the rows are
        // polled outside it, are still attached to it.
        self.wire.query_span = tracing::Span::current();
        if let Err(error) = self.wire.flush().await {
            return Err(self.fail(error));
        }
        self.read_description(sql, bound_again).await
    }

    /// Reads the answer of the query just sent (or next in a pipeline) up to its row description, or to the
    /// ReadyForQuery that ends a refused one. `bound_again`: the statement was not described, its rows follow
    /// the BindComplete.
    pub(super) async fn read_description(&mut self, sql: &str, bound_again: bool) -> Result<Described, Error> {
        loop {
            match self.next_message().await? {
                Message::ParseComplete => {
                    if let Some(preparing) = &mut self.preparing {
                        preparing.parsed = true;
                    }
                    self.report(Event::Acknowledged)?;
                }
                // A statement bound again is not described: its rows follow the BindComplete.
                Message::BindComplete if bound_again => {
                    self.report(Event::Acknowledged)?;
                    self.report(Event::Described)?;
                    return Ok(Described::Json);
                }
                Message::BindComplete | Message::CloseComplete => self.report(Event::Acknowledged)?,
                Message::RowDescription(body) => {
                    self.report(Event::Described)?;
                    let described = wire_query::check_json_column(&body);
                    // Only a statement whose column is JSON is bound again without a description.
                    self.settle_statement(sql, matches!(described, Ok(Ok(()))));
                    return match described {
                        Ok(Ok(())) => Ok(Described::Json),
                        Ok(Err(type_name)) => Ok(Described::NotJson(type_name)),
                        Err(error) => Err(self.fail(error)),
                    };
                }
                Message::ErrorResponse(body) => {
                    let error = self.db_error(&body)?;
                    self.report(Event::ServerError(error))?;
                }
                Message::ReadyForQuery(_) => {
                    self.settle_statement(sql, false);
                    self.wire.query_span = tracing::Span::none();
                    // The error this answers (`Ending`) is handed back; any other state is a violation.
                    return match self.state.advance(Event::Ready) {
                        Some(error) if self.is_between_queries() => Ok(Described::Refused(error)),
                        Some(error) => Err(error),
                        None => Err(self.fail(Error::protocol("ReadyForQuery without a row description"))),
                    };
                }
                _ => return Err(self.fail(Error::protocol("unexpected message before the row description"))),
            }
        }
    }

    /// The next row of the running query, decoded by `decode` straight from the read buffer.
    ///
    /// Reads from the socket only what the next row needs. Server errors end the query: they are returned once
    /// the session is idle again.
    #[inline]
    pub(crate) fn poll_row<R>(&mut self, cx: &mut Context<'_>, decode: impl FnOnce(RawRow<'_>) -> R) -> Poll<Next<R>> {
        loop {
            match ready!(self.wire.poll_incoming(cx)) {
                // `Rows` takes a row and stays `Rows` (see `State::advance`): the hot path needs no transition.
                Ok(Incoming::Row { total, value }) if matches!(self.state, State::Rows) => {
                    return Poll::Ready(Next::Row(decode(RawRow::new(&mut self.wire.read, total, value))));
                }
                Ok(incoming) => {
                    if let Some(end) = self.on_incoming(incoming) {
                        return Poll::Ready(end);
                    }
                }
                Err(error) => return Poll::Ready(Next::Failed(self.read_failed(error))),
            }
        }
    }

    /// A read of a running query failed. After a read timeout the server may be alive but stalled (or the path
    /// to it): the query is abandoned, so the lease cancels and drains it within `cancel_timeout`; any other
    /// failure breaks the session.
    fn read_failed(&mut self, error: Error) -> Error {
        if let Error::ReadTimeout { .. } = error {
            self.abandon();
            return error;
        }
        self.fail(error)
    }

    /// What `poll_row` does with anything but a row to hand out; `Some` ends the query for the caller.
    fn on_incoming<R>(&mut self, incoming: Incoming) -> Option<Next<R>> {
        let outcome = match incoming {
            Incoming::Row { total, value } => {
                // Draining skips the row; any other state is a violation.
                drop(RawRow::new(&mut self.wire.read, total, value));
                self.report(Event::Row)
            }
            Incoming::Oversized { size } if matches!(self.state, State::Rows) => {
                return Some(match self.report(Event::Abandoned) {
                    Ok(()) => Next::Oversized { size, limit: self.wire.max_row_bytes() },
                    Err(error) => Next::Failed(error),
                });
            }
            Incoming::Oversized { .. } => self.report(Event::Row),
            Incoming::Message(Message::ReadyForQuery(_)) => {
                self.wire.query_span = tracing::Span::none();
                return Some(match self.report(Event::Ready) {
                    Ok(()) => {
                        self.wire.shrink_if_large();
                        Next::End
                    }
                    Err(error) => Next::Failed(error),
                });
            }
            Incoming::Message(message) => self.on_message(message),
        };
        outcome.err().map(Next::Failed)
    }

    /// Gives up on the running query, if any: the rest is skipped by [`drain`](Self::drain).
    pub(crate) fn abandon(&mut self) {
        self.state.advance(Event::Abandoned);
    }

    /// Finishes an abandoned query: cancels it if the server may still be producing rows, then reads up to
    /// ReadyForQuery. Waits as long as the server takes: callers bound it.
    pub(crate) async fn drain(&mut self) -> Result<(), Error> {
        self.abandon();
        let mut first = true;
        loop {
            if let State::Draining { cancel: true } = self.state {
                // A query queued behind the first whose answer is already buffered has finished: no cancel for it
                // (a pipeline of small lookups drains without a connection per query).
                if first || self.wire.read.is_empty() {
                    if let Some(token) = &self.cancel {
                        if let Err(error) = token.send().await {
                            return Err(self.fail(error));
                        }
                        crate::telemetry::count(crate::telemetry::CANCELS_SENT, 1);
                    }
                }
                self.report(Event::CancelSent)?;
            }
            self.read_to_ready().await?;
            if !self.skip_queued()? {
                break;
            }
            first = false;
        }
        self.wire.query_span = tracing::Span::none();
        self.wire.shrink_if_large();
        Ok(())
    }

    /// Reads and skips whatever the query in flight still sends, up to its ReadyForQuery.
    pub(super) async fn read_to_ready(&mut self) -> Result<(), Error> {
        while !self.is_between_queries() {
            match poll_fn(|cx| self.wire.poll_incoming(cx)).await {
                Ok(Incoming::Row { total, value }) => {
                    drop(RawRow::new(&mut self.wire.read, total, value));
                    self.report(Event::Row)?;
                }
                Ok(Incoming::Oversized { .. }) => self.report(Event::Row)?,
                Ok(Incoming::Message(Message::ReadyForQuery(_))) => self.report(Event::Ready)?,
                Ok(Incoming::Message(message)) => self.on_message(message)?,
                Err(error) => return Err(self.fail(error)),
            }
        }
        Ok(())
    }

    /// Messages of a running query other than rows and ReadyForQuery.
    fn on_message(&mut self, message: Message) -> Result<(), Error> {
        match message {
            Message::CommandComplete(_) | Message::EmptyQueryResponse | Message::PortalSuspended => {
                self.report(Event::Completed)
            }
            Message::ErrorResponse(body) => {
                let error = self.db_error(&body)?;
                self.report(Event::ServerError(error))
            }
            Message::RowDescription(_) => self.report(Event::Described),
            Message::ParseComplete => {
                if let Some(preparing) = &mut self.preparing {
                    preparing.parsed = true;
                }
                self.report(Event::Acknowledged)
            }
            Message::BindComplete | Message::CloseComplete => self.report(Event::Acknowledged),
            _ => Err(self.fail(Error::protocol(format!("unexpected message while the session was {}", self.state)))),
        }
    }

    pub(super) fn db_error(
        &mut self,
        body: &postgres_protocol::message::backend::ErrorResponseBody,
    ) -> Result<Error, Error> {
        match DbError::from_fields(body.fields()) {
            Ok(db) => Ok(db.into()),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Applies an event; what it reports ends the caller's operation.
    pub(super) fn report(&mut self, event: Event) -> Result<(), Error> {
        match self.state.advance(event) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    async fn next_message(&mut self) -> Result<Message, Error> {
        match poll_fn(|cx| self.wire.poll_incoming(cx)).await {
            Ok(Incoming::Message(message)) => Ok(message),
            Ok(Incoming::Row { .. } | Incoming::Oversized { .. }) => {
                Err(self.fail(Error::protocol("a DataRow arrived before the row description")))
            }
            Err(error) => Err(self.read_failed(error)),
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("state", &self.state).field("cancel", &self.cancel).finish_non_exhaustive()
    }
}
