//! Parallel export: one query split over several connections of its own that read the same snapshot.
//!
//! The first connection opens a `REPEATABLE READ, READ ONLY` transaction and exports its snapshot
//! (`pg_export_snapshot()`); the others open the same kind of transaction and adopt it (`SET TRANSACTION
//! SNAPSHOT`) before any of them reads, so every slice sees the data as of one moment, as `pg_dump -j` does. Each
//! connection reads the rows whose key hashes to its slice, and the rows come back as one stream in no
//! particular order.
//!
//! The connections are opened for the export and closed after it, never taken from a pool or a client: a session
//! left inside a transaction must not serve anyone else. Their transactions only read, so closing them loses
//! nothing. None is reconnected either: a new connection would not see the snapshot.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::future::try_join_all;
use futures_util::stream::{self, SelectAll, StreamExt};
use serde::de::DeserializeOwned;

use crate::config::Resolved;
use crate::connection::{Home, Lease, Session};
use crate::error::{BuildError, Error, Result};
use crate::executor::{Checkout, LeaseSource};
use crate::query::Query;
use crate::sql::{Form, Node, Relation, Select, Statement, parse_fragment};
use crate::stream::decode::{self, Decoder};
use crate::stream::{Predicate, RowStream};

/// Opens every export transaction; the first also exports the snapshot the others adopt.
const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// A query to be read over several connections of its own: built by [`Query::parallel`], run with
/// [`stream`](ParallelQuery::stream) or [`stream_raw`](ParallelQuery::stream_raw).
#[must_use = "a parallel query does nothing until it is streamed"]
pub struct ParallelQuery<T> {
    query: Query<T>,
    connections: usize,
    key: String,
}

impl<T> Query<T> {
    /// Splits this query over `connections` connections of its own that all read one snapshot of the data, each
    /// the rows whose `key` (a SQL expression such as `id` or `data->>'id'`) hashes to its slice; rows with a
    /// `NULL` key go to the first slice. For exports and index rebuilds: with free cores on the server, the
    /// server's work (turning each document into text, about 60 % of a one-connection read) is shared.
    ///
    /// The rows arrive in no particular order, so the query must have no `order_by`, `limit` or `offset`
    /// ([`Error::InvalidParallel`] otherwise). The connections use the settings of the client or pool the query
    /// is bound to, but are the export's own: opened when the stream is first polled (each slice scans the whole
    /// view, keeping only its rows) and closed when it ends or is dropped (a drop cancels every slice).
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
    /// use futures_util::TryStreamExt;
    ///
    /// let mut rows = client.query("app.v_project").parallel(2, "id").stream_raw();
    /// let mut bytes = 0;
    /// while let Some(row) = rows.try_next().await? {
    ///     bytes += row.len();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn parallel(self, connections: usize, key: &str) -> ParallelQuery<T> {
        ParallelQuery { query: self, connections, key: key.to_owned() }
    }
}

impl<T: Send + 'static> ParallelQuery<T> {
    /// Streams the rows decoded as `T` (after any [`filter_rust`](Query::filter_rust) predicate).
    pub fn stream(self) -> ParallelStream<T>
    where
        T: DeserializeOwned,
    {
        let ParallelQuery { query, connections, key } = self;
        let parts = query.into_parts();
        ParallelStream::new(parts.source, parts.select, parts.predicate, connections, key, decode::json::<T>)
    }

    /// Streams each row's JSON text as received, validated as UTF-8 but not parsed.
    pub fn stream_raw(self) -> ParallelStream<Bytes> {
        self.run_as(decode::raw)
    }

    fn run_as<U: Send + 'static>(self, decode: Decoder<U>) -> ParallelStream<U> {
        let ParallelQuery { query, connections, key } = self;
        let parts = query.into_parts();
        ParallelStream::new(parts.source, parts.select, None, connections, key, decode)
    }
}

/// The rows of a [`ParallelQuery`], from all its connections, as one [`Stream`] of `Result<T>`.
///
/// A row that fails to decode is yielded as [`Error::Decode`] (or [`Error::InvalidUtf8`]) and the stream goes on; an error of a connection
/// ends the stream (the other slices are cancelled when it is dropped), since the export would be incomplete.
#[must_use = "streams do nothing unless polled"]
pub struct ParallelStream<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
    failed: bool,
}

impl<T: Send + 'static> ParallelStream<T> {
    fn new(
        source: Option<Arc<dyn LeaseSource>>,
        select: Result<Select, BuildError>,
        predicate: Option<Predicate<T>>,
        connections: usize,
        key: String,
        decode: Decoder<T>,
    ) -> Self {
        let plan = plan(source, select, connections, &key);
        let inner = stream::once(async move {
            match plan {
                Ok((settings, relation, statements)) => open(settings, relation, statements, predicate, decode).await,
                Err(error) => Err(error),
            }
        })
        .flat_map(|opened| match opened {
            Ok(slices) => slices.left_stream(),
            Err(error) => stream::iter([Err(error)]).right_stream(),
        });
        ParallelStream { inner: Box::pin(inner), failed: false }
    }
}

impl<T> Stream for ParallelStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Err(error))) = &next {
            // A row that did not decode is the caller's to judge; anything else leaves the export incomplete.
            if !matches!(error, Error::Decode { .. } | Error::InvalidUtf8 { .. }) {
                self.failed = true;
            }
        }
        next
    }
}

impl<T> std::fmt::Debug for ParallelStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelStream").field("failed", &self.failed).finish_non_exhaustive()
    }
}

/// The settings, the relation and one statement per slice, or why the query cannot be split.
fn plan(
    source: Option<Arc<dyn LeaseSource>>,
    select: Result<Select, BuildError>,
    connections: usize,
    key: &str,
) -> Result<(Arc<Resolved>, Relation, Vec<Statement>)> {
    let select = select?;
    let refuse = |reason: String| Error::from(BuildError::Parallel { reason });
    if connections == 0 {
        return Err(refuse("it needs at least one connection".to_owned()));
    }
    if let Some(what) = select.order_or_window() {
        return Err(refuse(format!("the query has `{what}`, but the slices' rows arrive interleaved")));
    }
    // The key is checked as one expression of its own before it is embedded.
    parse_fragment(key, 0)?;
    let statements = (0..connections)
        .map(|slice| {
            let mut sliced = select.clone();
            let condition = format!("COALESCE(abs(hashtext(({key})::text) % {connections}), 0) = {slice}");
            sliced.filter(Node::Expr(parse_fragment(&condition, 0)?));
            Ok(sliced.render(Form::Rows)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let source = source.ok_or(Error::NotBound)?;
    Ok((source.settings(), select.relation().clone(), statements))
}

/// Connects every slice, shares one snapshot, and starts each slice's query.
async fn open<T: Send + 'static>(
    settings: Arc<Resolved>,
    relation: Relation,
    statements: Vec<Statement>,
    predicate: Option<Predicate<T>>,
    decode: Decoder<T>,
) -> Result<SelectAll<RowStream<T>>> {
    let mut sessions = try_join_all(statements.iter().map(|_| Session::connect(&settings))).await?;
    let (first, others) = sessions.split_first_mut().ok_or_else(|| Error::protocol("no export connection"))?;
    let exported = first.command(&format!("{BEGIN}; SELECT pg_catalog.pg_export_snapshot()")).await?;
    let snapshot = snapshot_id(exported)?;
    let adopt = format!("{BEGIN}; SET TRANSACTION SNAPSHOT '{snapshot}'");
    try_join_all(others.iter_mut().map(|session| session.command(&adopt))).await?;
    let slices = sessions.into_iter().zip(statements).map(|(session, statement)| {
        let source: Arc<dyn LeaseSource> =
            Arc::new(ExportSession { session: Mutex::new(Some(session)), settings: Arc::clone(&settings) });
        RowStream::start(source, relation.clone(), statement, decode).with_predicate(predicate.clone())
    });
    Ok(stream::select_all(slices))
}

/// The snapshot's name as the server gave it; checked before it goes into SQL, whatever the server sent.
fn snapshot_id(exported: Option<Vec<u8>>) -> Result<String> {
    let id = exported.ok_or_else(|| Error::protocol("pg_export_snapshot() returned no row"))?;
    let valid = !id.is_empty() && id.len() <= 64 && id.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-');
    match String::from_utf8(id) {
        Ok(id) if valid => Ok(id),
        _ => Err(Error::protocol("pg_export_snapshot() returned a malformed snapshot name")),
    }
}

/// Lends one export connection, once; the session is closed when its slice gives it back.
struct ExportSession {
    session: Mutex<Option<Session>>,
    settings: Arc<Resolved>,
}

impl LeaseSource for ExportSession {
    fn checkout(self: Arc<Self>) -> Checkout {
        Box::pin(async move {
            let session = self.session.lock().unwrap_or_else(PoisonError::into_inner).take();
            let session = session.ok_or_else(|| Error::protocol("an export connection was lent twice"))?;
            // `fresh`: a failure is never retried on a new connection, which would not see the snapshot.
            Ok(Lease::new(session, Box::new(Closing), Arc::clone(&self.settings), true))
        })
    }

    fn settings(&self) -> Arc<Resolved> {
        Arc::clone(&self.settings)
    }
}

/// Where an export session goes when its slice is done: nowhere.
struct Closing;

impl Home for Closing {
    fn keep(self: Box<Self>, session: Session) {
        drop(session);
    }

    fn discard(self: Box<Self>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_are_checked() {
        assert_eq!(snapshot_id(Some(b"00000003-0000001B-1".to_vec())).unwrap(), "00000003-0000001B-1");
        for hostile in [&b"1'; DROP TABLE x; --"[..], b"", b"\xff", &[b'a'; 65]] {
            assert!(snapshot_id(Some(hostile.to_vec())).is_err(), "{hostile:?}");
        }
        assert!(snapshot_id(None).is_err());
    }

    #[test]
    fn slices_cover_every_row_once() {
        let select = Select::new(Relation::parse("v").unwrap());
        let source: Arc<dyn LeaseSource> = Arc::new(ExportSession {
            session: Mutex::new(None),
            settings: Arc::new("host=/tmp".parse::<crate::config::Config>().unwrap().resolve().unwrap()),
        });
        let (_, _, statements) = plan(Some(source), Ok(select.clone()), 3, "id").unwrap();
        let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(sql[0], "SELECT \"data\" FROM \"v\" WHERE (COALESCE(abs(hashtext((id)::text) % 3), 0) = 0)");
        assert!(sql[2].ends_with("% 3), 0) = 2)"));
        let mut limited = select.clone();
        limited.set_limit(1);
        assert!(matches!(plan(None, Ok(limited), 2, "id"), Err(Error::InvalidParallel { .. })));
        assert!(matches!(plan(None, Ok(select.clone()), 0, "id"), Err(Error::InvalidParallel { .. })));
        assert!(matches!(plan(None, Ok(select.clone()), 2, "id) OR (true"), Err(Error::InvalidFragment { .. })));
        assert!(matches!(plan(None, Ok(select), 2, "id"), Err(Error::NotBound)));
    }
}
