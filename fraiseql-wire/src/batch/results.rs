//! Reading a sent batch back: each ticket's rows in turn, straight from the socket.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_util::TryStreamExt;

use super::{Planned, Ticket, transmit};
use crate::connection::{Described, Lease, Next};
use crate::error::{Error, Result};
use crate::stream::decode::Decoder;
use crate::stream::{Predicate, is_stale};

/// The answers of a sent [`Batch`](super::Batch), taken ticket by ticket in the order the queries were pushed.
///
/// Holds the batch's connection until dropped. [`rows`](BatchResults::rows) streams one query's rows;
/// [`fetch_all`](BatchResults::fetch_all), [`fetch_one`](BatchResults::fetch_one) and
/// [`fetch_optional`](BatchResults::fetch_optional) collect them. A query's error (the server's, a row that
/// fails to decode) is that ticket's alone. If the connection itself breaks, that query gets the error and every
/// later one [`Error::BatchAborted`].
#[must_use = "dropping the results skips every answer not read yet"]
pub struct BatchResults {
    /// `None` once the connection broke.
    lease: Option<Box<Lease>>,
    id: u64,
    queries: Vec<Planned>,
    /// The position of the next query whose answer has not been started.
    next: usize,
    /// Where the connection broke, if it did.
    broken: Option<usize>,
    /// An answer has been read: from then on the batch is never written again on a new connection.
    started: bool,
}

impl std::fmt::Debug for BatchResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchResults")
            .field("queries", &self.queries.len())
            .field("next", &self.next)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// What taking a ticket found.
enum Opening {
    /// The query's rows follow.
    Rows,
    /// The query yields this error alone.
    Failed(Error),
}

impl BatchResults {
    pub(super) fn new(lease: Lease, id: u64, queries: Vec<Planned>) -> BatchResults {
        BatchResults { lease: Some(Box::new(lease)), id, queries, next: 0, broken: None, started: false }
    }

    /// How many queries' answers are still to be taken.
    pub fn remaining(&self) -> usize {
        self.queries.len() - self.next
    }

    /// The rows of `ticket`'s query, as a [`Stream`]; the rows of earlier queries not taken are skipped first.
    ///
    /// Dropping the stream before its end skips the rest of that query's rows when the next ticket is taken
    /// (without cancelling it: a cancel could land on a later query of the batch).
    pub fn rows<T>(&mut self, ticket: Ticket<T>) -> BatchRows<'_, T> {
        let Ticket { batch, position, decode, predicate } = ticket;
        let opening = Box::pin(async move {
            let opening = self.open(batch, position).await;
            (self, opening)
        });
        BatchRows { state: RowsState::Opening(opening), decode, predicate, rows: 0 }
    }

    /// All of the ticket's rows, or its first error.
    pub async fn fetch_all<T>(&mut self, ticket: Ticket<T>) -> Result<Vec<T>> {
        self.rows(ticket).try_collect().await
    }

    /// Exactly one row: [`Error::RowNotFound`] if there is none, [`Error::TooManyRows`] if there are more.
    pub async fn fetch_one<T>(&mut self, ticket: Ticket<T>) -> Result<T> {
        self.fetch_optional(ticket).await?.ok_or(Error::RowNotFound)
    }

    /// At most one row: [`Error::TooManyRows`] if there are more (the query's remaining rows are skipped).
    pub async fn fetch_optional<T>(&mut self, ticket: Ticket<T>) -> Result<Option<T>> {
        let mut rows = self.rows(ticket);
        let Some(first) = rows.try_next().await? else {
            return Ok(None);
        };
        match rows.try_next().await? {
            None => Ok(Some(first)),
            Some(_) => Err(Error::TooManyRows),
        }
    }

    /// Moves to the query at `position`: what is left of the one being read and every query before `position`
    /// are skipped, then its answer is read up to its rows.
    async fn open(&mut self, batch: u64, position: usize) -> Opening {
        if batch != self.id {
            return Opening::Failed(Error::BatchOrder { reason: "the ticket belongs to another batch".to_owned() });
        }
        if position < self.next {
            let reason = format!(
                "query {position} was taken after query {}: take tickets in the order their queries were pushed",
                self.next - 1
            );
            return Opening::Failed(Error::BatchOrder { reason });
        }
        if let Err(error) = self.finish_current().await {
            let current = self.next.saturating_sub(1);
            tracing::debug!(%error, position = current, "skipping the rest of a batch's query broke its connection");
            self.break_at(current);
        }
        while self.next < position {
            let skipped = self.next;
            self.next += 1;
            if let Err(error) = self.skip(skipped).await {
                tracing::debug!(%error, position = skipped, "a skipped query of the batch broke its connection");
                self.break_at(skipped);
            }
        }
        self.next = position + 1;
        if let Some(query) = self.broken {
            return Opening::Failed(Error::BatchAborted { query });
        }
        let relation = match &mut self.queries[position] {
            Ok((relation, _)) => relation.given.clone(),
            Err(error) => {
                return Opening::Failed(error.take().unwrap_or_else(|| Error::BatchOrder {
                    reason: "the ticket's query was already taken".to_owned(),
                }));
            }
        };
        match self.start_next().await {
            Ok(Described::Json) => Opening::Rows,
            Ok(Described::Refused(error)) => Opening::Failed(error),
            Ok(Described::NotJson(type_name)) => {
                if self.finish_current().await.is_err() {
                    self.break_at(position);
                }
                Opening::Failed(Error::NotJson { relation, type_name })
            }
            Err(error) => {
                self.break_at(position);
                Opening::Failed(error)
            }
        }
    }

    /// Skips the whole answer of the query at `position`, whose ticket was never taken.
    async fn skip(&mut self, position: usize) -> Result<()> {
        if self.broken.is_some() || self.queries[position].is_err() {
            return Ok(());
        }
        match self.start_next().await? {
            Described::Json | Described::NotJson(_) => self.finish_current().await,
            Described::Refused(_) => Ok(()),
        }
    }

    /// Skips what is left of the query being read, if any.
    async fn finish_current(&mut self) -> Result<()> {
        let Some(lease) = &mut self.lease else {
            return Ok(());
        };
        let session = lease.session()?;
        if session.is_between_queries() { Ok(()) } else { session.skip_current().await }
    }

    /// Reads the next queued answer up to its rows. The first one may find that the connection died while idle
    /// before the batch was written: then the batch is written again on a new connection (nothing was read yet,
    /// and the queries only read).
    async fn start_next(&mut self) -> Result<Described> {
        let lease = self.lease.as_mut().ok_or(Error::BatchAborted { query: self.next.saturating_sub(1) })?;
        let first = !self.started;
        self.started = true;
        let described = match lease.session()?.next_queued().await {
            Err(error) if first && !lease.is_fresh() && is_stale(&error) => {
                tracing::debug!(%error, "reconnecting: the idle connection was gone");
                lease.reconnect().await?;
                transmit(lease, &mut self.queries).await?;
                lease.session()?.next_queued().await
            }
            described => described,
        };
        described?.ok_or_else(|| Error::protocol("the batch has fewer answers than queries"))
    }

    /// The connection broke at `position`: it is closed, and every later query is aborted.
    fn break_at(&mut self, position: usize) {
        self.broken.get_or_insert(position);
        self.lease = None;
    }
}

/// One query's rows out of a [`BatchResults`], as a [`Stream`] of `Result<T>`; see [`BatchResults::rows`].
#[must_use = "streams do nothing unless polled"]
pub struct BatchRows<'a, T> {
    state: RowsState<'a>,
    decode: Decoder<T>,
    predicate: Option<Predicate<T>>,
    rows: u64,
}

type Opened<'a> = Pin<Box<dyn Future<Output = (&'a mut BatchResults, Opening)> + Send + 'a>>;

enum RowsState<'a> {
    Opening(Opened<'a>),
    Rows(&'a mut BatchResults),
    Done,
}

impl<T> std::fmt::Debug for BatchRows<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            RowsState::Opening(_) => "opening",
            RowsState::Rows(_) => "rows",
            RowsState::Done => "done",
        };
        f.debug_struct("BatchRows").field("state", &state).field("rows_read", &self.rows).finish()
    }
}

impl<T> Unpin for BatchRows<'_, T> {}

impl<T> Stream for BatchRows<'_, T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                RowsState::Done => return Poll::Ready(None),
                RowsState::Opening(opening) => {
                    let (results, opening) = ready!(opening.as_mut().poll(cx));
                    match opening {
                        Opening::Rows => this.state = RowsState::Rows(results),
                        Opening::Failed(error) => {
                            this.state = RowsState::Done;
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                }
                RowsState::Rows(results) => {
                    let Some(lease) = results.lease.as_mut() else {
                        this.state = RowsState::Done;
                        return Poll::Ready(None);
                    };
                    lease.polled_here();
                    let number = this.rows + 1;
                    let decode = this.decode;
                    let next = match lease.session() {
                        Ok(session) => ready!(session.poll_row(cx, |row| decode(row, number))),
                        Err(error) => Next::Failed(error),
                    };
                    match next {
                        Next::Row(item) => {
                            this.rows = number;
                            match (&item, &this.predicate) {
                                (Ok(row), Some(predicate)) if !predicate(row) => continue,
                                _ => return Poll::Ready(Some(item)),
                            }
                        }
                        Next::End => this.state = RowsState::Done,
                        Next::Oversized { size, limit } => {
                            // The rest of the query is skipped when the next ticket is taken.
                            this.state = RowsState::Done;
                            return Poll::Ready(Some(Err(Error::RowTooLarge { row: number, size, limit })));
                        }
                        Next::Failed(error) => {
                            let position = results.next - 1;
                            if !lease.session().is_ok_and(|session| session.is_between_queries()) {
                                results.break_at(position);
                            }
                            this.state = RowsState::Done;
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                }
            }
        }
    }
}
