//! Pipelining: several queries written at once, each ending with its own Sync, whose answers are then read one
//! query after another.
//!
//! The server runs them in order and answers each with its own ReadyForQuery, so an error in one ends only that
//! one: the server skips to its Sync and runs the next. Between two answers the session's [`State`] is `Idle`
//! with queries still [`queued`](Session::queued); it is reusable only when none is left.

use super::session::{Described, Preparing, Session};
use super::state::{Event, State};
use super::statements::Plan;
use crate::error::{Error, SqlState};
use crate::protocol::query::{self as wire_query, StatementUse};

/// A query written to the server whose answer has not been read yet.
pub(crate) struct Queued {
    sql: String,
    /// Its statement was cached: it was not described, its rows follow the BindComplete.
    bound_again: bool,
    /// It prepares its statement under this name (the first query of the batch with this SQL).
    prepares: Option<String>,
    /// It binds the statement an earlier query of the same batch prepares under this name.
    shares: Option<String>,
}

impl Session {
    /// Writes a query into the send buffer, behind those queued already; [`send_queued`](Session::send_queued)
    /// sends them all.
    ///
    /// Queries of one batch with the same SQL share one statement: the first parses it (unless the cache holds
    /// it), the others only bind it. Nothing is queued if the query cannot be encoded.
    pub(crate) fn queue<'p>(
        &mut self,
        sql: &str,
        params: impl ExactSizeIterator<Item = Option<&'p [u8]>>,
    ) -> Result<(), Error> {
        if !self.is_between_queries() {
            return Err(Error::protocol(format!("a batch was queued while the session was {}", self.state)));
        }
        if self.queued.is_empty() {
            // A statement an abandoned query was preparing is not kept (nothing checked its column).
            self.settle_statement(sql, false);
            self.failed_prepares.clear();
        }
        let shared = self.queued.iter().find(|q| q.sql == sql).and_then(|q| q.prepares.clone().or(q.shares.clone()));
        let (plan, shares) = match shared {
            Some(name) => (None, Some(name)),
            None => (Some(self.statements.plan(sql)), None),
        };
        let bound_again = matches!(plan, Some(Plan::Cached(_)));
        let close = self.statements.take_to_close();
        let statement = match (&plan, &shares) {
            (_, Some(name)) => StatementUse { name, parse: false, close: &close, describe: true },
            (Some(plan), None) => {
                StatementUse { name: plan.name(), parse: !bound_again, close: &close, describe: !bound_again }
            }
            (None, None) => return Err(Error::protocol("a queued query has no statement")),
        };
        let mark = self.wire.write_buf().len();
        if let Err(error) = wire_query::encode(sql, statement, params, self.wire.write_buf()) {
            // This query is left out; those queued before it stay, and the statements to close wait.
            self.wire.write_buf().truncate(mark);
            close.into_iter().for_each(|name| self.statements.discard(name));
            return Err(error);
        }
        let prepares = match plan {
            Some(Plan::Prepare(name)) => Some(name),
            _ => None,
        };
        self.queued.push_back(Queued { sql: sql.to_owned(), bound_again, prepares, shares });
        Ok(())
    }

    /// Sends every queued query in one write.
    pub(crate) async fn send_queued(&mut self) -> Result<(), Error> {
        if let Err(error) = self.wire.flush().await {
            return Err(self.fail(error));
        }
        Ok(())
    }

    /// How many queries are queued behind the one being read.
    pub(crate) fn queued_len(&self) -> usize {
        self.queued.len()
    }

    /// Reads the next queued query's answer up to its row description; `None` when none is left.
    ///
    /// A refusal is told the way the query would have been told alone: a query that bound a statement an earlier
    /// query of the batch failed to prepare gets that query's error, not "prepared statement does not exist".
    pub(crate) async fn next_queued(&mut self) -> Result<Option<Described>, Error> {
        if !self.is_between_queries() {
            return Err(Error::protocol(format!("a queued query was read while the session was {}", self.state)));
        }
        let Some(next) = self.begin_queued()? else {
            return Ok(None);
        };
        self.wire.query_span = tracing::Span::current();
        let described = match self.read_description(&next.sql, next.bound_again).await? {
            Described::Refused(error) => Described::Refused(self.refused(&next, error)),
            described => described,
        };
        Ok(Some(described))
    }

    fn refused(&mut self, query: &Queued, error: Error) -> Error {
        if let (Some(name), Some(db)) = (&query.prepares, error.as_db_error()) {
            self.failed_prepares.push((name.clone(), db.clone()));
        }
        if query.bound_again {
            // Forgotten, so the next batch prepares it again; this one cannot retry without reordering answers.
            self.statement_went_stale(&query.sql, &error);
        }
        let missing = error.sql_state() == Some(SqlState::INVALID_SQL_STATEMENT_NAME);
        match &query.shares {
            Some(name) if missing => match self.failed_prepares.iter().find(|(failed, _)| failed == name) {
                Some((_, db)) => Error::Db(Box::new(db.clone())),
                None => error,
            },
            _ => error,
        }
    }

    /// Skips the rest of the query being read, without cancelling it: a cancel could land on the next query of
    /// the batch, whose answer is still wanted.
    pub(crate) async fn skip_current(&mut self) -> Result<(), Error> {
        self.abandon();
        if let State::Draining { cancel: true } = self.state {
            self.report(Event::CancelSent)?;
        }
        self.read_to_ready().await
    }

    /// While draining: moves on to the next queued query, abandoned before it is read; whether there was one.
    pub(super) fn skip_queued(&mut self) -> Result<bool, Error> {
        if self.begin_queued()?.is_none() {
            return Ok(false);
        }
        self.abandon();
        Ok(true)
    }

    /// Makes the next queued query the one in flight, as if it had just been sent; `None` when none is left.
    fn begin_queued(&mut self) -> Result<Option<Queued>, Error> {
        let Some(next) = self.queued.pop_front() else {
            return Ok(None);
        };
        self.settle_statement(&next.sql, false);
        self.preparing = next.prepares.clone().map(|name| Preparing { name, parsed: false });
        self.report(Event::QuerySent)?;
        Ok(Some(next))
    }
}
