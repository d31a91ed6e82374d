//! The row stream: a thin [`Stream`] over a session lent to one query.
//!
//! Starting (a session from the executor, the statement sent, its description checked) is one boxed future;
//! after that every `poll_next` asks the session for one row, decoded straight from the read buffer, so memory is
//! bounded by the largest row and a slow consumer slows the server. Whatever state the stream is dropped in, the
//! lease it holds gives the session back (cancelling and draining the query first when needed).

pub(crate) mod decode;
mod report;
mod start;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use tracing::Instrument;

use crate::connection::{Lease, Next};
use crate::error::{Error, Result};
use crate::executor::LeaseSource;
use crate::sql::{Relation, Statement};
use decode::Decoder;
use report::QueryReport;
pub(crate) use start::is_stale;

/// A Rust-side row filter (`Query::filter_rust`).
pub(crate) type Predicate<T> = Arc<dyn Fn(&T) -> bool + Send + Sync>;

/// The rows of a query, as a [`Stream`] of `Result<T>`.
///
/// Rows are read from the socket only as the stream is polled. A row that fails to decode is yielded as
/// [`Error::Decode`] and the stream goes on; a server error ends the stream after the rows that preceded it.
///
/// While it lives, the stream holds its connection: on a [`Client`](crate::Client), a query from another task
/// waits until this stream ends or is dropped, and one from the task polling this stream is refused with
/// [`Error::ConnectionBusy`]; from a pool, the connection goes back when the stream ends or is dropped. Dropping it
/// before the end sends a cancel request and drains the connection in the background (within `cancel_timeout`;
/// a connection that does not drain in time is closed, never reused).
#[must_use = "streams do nothing unless polled"]
pub struct RowStream<T> {
    state: State,
    decode: Decoder<T>,
    predicate: Option<Predicate<T>>,
    rows: u64,
    report: QueryReport,
}

type Starting = Pin<Box<dyn Future<Output = Result<Lease>> + Send>>;

enum State {
    /// The query could not be built; the error is the stream's only item.
    Failed(Error),
    Starting(Starting),
    /// Boxed: the session is large, the other states small.
    Streaming(Box<Lease>),
    Done,
}

impl<T> RowStream<T> {
    pub(crate) fn start(
        source: Arc<dyn LeaseSource>,
        relation: Relation,
        statement: Statement,
        decode: Decoder<T>,
    ) -> Self {
        let report = QueryReport::new(&relation, &statement);
        let starting = Box::pin(start::start(source, statement, relation).instrument(report.span().clone()));
        RowStream { state: State::Starting(starting), decode, predicate: None, rows: 0, report }
    }

    pub(crate) fn failed(error: Error, decode: Decoder<T>) -> Self {
        RowStream { state: State::Failed(error), decode, predicate: None, rows: 0, report: QueryReport::none() }
    }

    pub(crate) fn with_predicate(mut self, predicate: Option<Predicate<T>>) -> Self {
        self.predicate = predicate;
        self
    }

    /// How many rows this stream has produced so far (including rows that failed to decode).
    pub fn rows_read(&self) -> u64 {
        self.rows
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
                State::Starting(starting) => {
                    this.report.starting();
                    match ready!(starting.as_mut().poll(cx)) {
                        Ok(lease) => this.state = State::Streaming(Box::new(lease)),
                        Err(error) => return this.end_with(error),
                    }
                }
                State::Streaming(lease) => {
                    lease.polled_here();
                    let number = this.rows + 1;
                    let decode = this.decode;
                    let next = match lease.session() {
                        Ok(session) => ready!(session.poll_row(cx, |row| {
                            let bytes = row.json().len();
                            (decode(row, number), bytes)
                        })),
                        Err(error) => Next::Failed(error),
                    };
                    match next {
                        Next::Row((item, bytes)) => {
                            this.rows = number;
                            this.report.row(bytes);
                            if item.is_err() {
                                this.report.decode_error();
                            }
                            match (&item, &this.predicate) {
                                (Ok(row), Some(predicate)) if !predicate(row) => continue,
                                _ => return Poll::Ready(Some(item)),
                            }
                        }
                        Next::Oversized { size, limit } => {
                            this.rows = number;
                            return this.end_with(Error::RowTooLarge { row: number, size, limit });
                        }
                        // Dropping the lease hands the idle session back before the caller sees the end.
                        Next::End => {
                            this.state = State::Done;
                            this.report.completed();
                        }
                        Next::Failed(error) => return this.end_with(error),
                    }
                }
            }
        }
    }
}

impl<T> RowStream<T> {
    /// Ends the stream with `error`: the lease, dropped first, gives the session back (stopping the query if it
    /// still runs, closing the connection if it broke).
    fn end_with(&mut self, error: Error) -> Poll<Option<Result<T>>> {
        self.state = State::Done;
        self.report.failed(&error);
        Poll::Ready(Some(Err(error)))
    }
}

impl<T> Drop for RowStream<T> {
    fn drop(&mut self) {
        self.report.abandoned();
    }
}

impl<T> std::fmt::Debug for RowStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Failed(_) => "failed",
            State::Starting(_) => "starting",
            State::Streaming(_) => "streaming",
            State::Done => "done",
        };
        f.debug_struct("RowStream").field("state", &state).field("rows_read", &self.rows).finish()
    }
}
