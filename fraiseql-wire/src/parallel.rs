//! Parallel export: one query split over several connections of its own that read the same snapshot.
//!
//! The first connection opens a `REPEATABLE READ, READ ONLY` transaction and exports its snapshot
//! (`pg_export_snapshot()`); the others open the same kind of transaction and adopt it (`SET TRANSACTION
//! SNAPSHOT`) before any of them reads, so every slice sees the data as of one moment, as `pg_dump -j` does. Each
//! connection reads the rows whose key hashes to its slice, and the rows come back as one stream in no
//! particular order.
//!
//! By default a slice is chosen by a hash of the key, which works for any key but makes every connection scan the
//! whole view. [`ParallelQuery::by_range`] splits an integer key into equal ranges between its smallest and largest
//! value instead: with an index on the key, each connection reads only its own part.
//!
//! [`ParallelQuery::in_key_order`] returns the rows of a range split in ascending key order: each slice is
//! ordered on its server and the slices are read one after the other (all of them running from the start), so no
//! two rows are ever compared on the client.
//!
//! The connections are opened for the export and closed after it, never taken from a pool or a client: a session
//! left inside a transaction must not serve anyone else. Their transactions only read, so closing them loses
//! nothing. None is reconnected either: a new connection would not see the snapshot.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::future::try_join_all;
use futures_util::stream::{self, StreamExt};
use serde::de::DeserializeOwned;

use crate::config::Resolved;
use crate::connection::{Described, Home, Lease, Next, Session};
use crate::error::{BuildError, Error, Result};
use crate::executor::{Checkout, LeaseSource};
use crate::query::Query;
use crate::sql::{Form, Node, Param, Select, Statement, parse_fragment};
use crate::stream::decode::{self, Decoder};
use crate::stream::{Predicate, RowStream};

mod in_order;

/// Opens every export transaction; the first also exports the snapshot the others adopt.
pub(crate) const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// A query to be read over several connections of its own: built by [`Query::parallel`], run with
/// [`stream`](ParallelQuery::stream) or [`stream_raw`](ParallelQuery::stream_raw).
#[must_use = "a parallel query does nothing until it is streamed"]
pub struct ParallelQuery<T> {
    query: Query<T>,
    connections: usize,
    key: String,
    split: Split,
    order: Order,
}

/// In what order the rows of all the slices arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// As the slices deliver them, interleaved.
    Any,
    /// Ascending by the key, `NULL` keys last: each slice ordered by its server, then read in turn.
    Key,
}

/// How the rows are divided between the connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    /// `hashtext(key::text) % n`: any key type, each connection scans everything.
    Hash,
    /// Equal ranges of an integer key between its minimum and maximum in the snapshot.
    Range,
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
        ParallelQuery { query: self, connections, key: key.to_owned(), split: Split::Hash, order: Order::Any }
    }
}

impl<T> ParallelQuery<T> {
    /// Splits by equal ranges of the key instead of its hash: in the shared snapshot, the first connection reads
    /// the key's smallest and largest values, and slice `i` reads the `i`-th of `n` equal ranges between them
    /// (the first also the `NULL` keys). The key must be an integer expression (`smallint`, `integer` or
    /// `bigint`; [`Error::InvalidParallel`] otherwise).
    ///
    /// With a B-tree index on the key, the minimum and maximum cost nothing and each connection reads only its
    /// range, so the server does no work twice; without one, finding them scans the view once more. The slices
    /// are as even as the keys are: dense keys (a sequence) split well, clustered ones do not.
    pub fn by_range(mut self) -> Self {
        self.split = Split::Range;
        self
    }

    /// Splits by range, as [`by_range`](Self::by_range), and returns the rows in ascending order of the key,
    /// `NULL` keys last (as `ORDER BY key` would): each slice is ordered by its server, and the slices are read
    /// one after the other, so no two rows are compared on the client.
    ///
    /// Every slice starts at once, so the servers' backends scan and sort their ranges in parallel; a slice whose
    /// turn has not come holds one row in memory and then waits, with its server blocked on a full socket. The
    /// gain is in the server's work before the first row (a sort without an index, an expensive filter); the
    /// rows themselves arrive over one connection at a time.
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
    /// use futures_util::TryStreamExt;
    ///
    /// let rows = client.query("app.v_project").parallel(4, "(data->>'seq')::bigint").in_key_order().stream_raw();
    /// let rows: Vec<_> = rows.try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn in_key_order(mut self) -> Self {
        self.split = Split::Range;
        self.order = Order::Key;
        self
    }
}

impl<T: Send + 'static> ParallelQuery<T> {
    /// Streams the rows decoded as `T` (after any [`filter_rust`](Query::filter_rust) predicate).
    pub fn stream(self) -> ParallelStream<T>
    where
        T: DeserializeOwned,
    {
        let ParallelQuery { query, connections, key, split, order } = self;
        let parts = query.into_parts();
        let plan = plan(parts.source, parts.select, connections, key, split).map(|plan| Plan { order, ..plan });
        ParallelStream::new(plan, parts.predicate, decode::json::<T>)
    }

    /// Streams each row's JSON text as received, validated as UTF-8 but not parsed.
    pub fn stream_raw(self) -> ParallelStream<Bytes> {
        self.run_as(decode::raw)
    }

    fn run_as<U: Send + 'static>(self, decode: Decoder<U>) -> ParallelStream<U> {
        let ParallelQuery { query, connections, key, split, order } = self;
        let parts = query.into_parts();
        let plan = plan(parts.source, parts.select, connections, key, split).map(|plan| Plan { order, ..plan });
        ParallelStream::new(plan, None, decode)
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
    fn new(plan: Result<Plan>, predicate: Option<Predicate<T>>, decode: Decoder<T>) -> Self {
        let inner = stream::once(async move {
            match plan {
                Ok(plan) => open(plan, predicate, decode).await,
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

/// What an export needs once its query is known to be splittable.
struct Plan {
    settings: Arc<Resolved>,
    select: Select,
    connections: usize,
    key: String,
    split: Split,
    order: Order,
}

/// Checks that the query can be split, before any connection opens.
fn plan(
    source: Option<Arc<dyn LeaseSource>>,
    select: Result<Select, BuildError>,
    connections: usize,
    key: String,
    split: Split,
) -> Result<Plan> {
    let select = select?;
    let refuse = |reason: String| Error::from(BuildError::Parallel { reason });
    if connections == 0 {
        return Err(refuse("it needs at least one connection".to_owned()));
    }
    if let Some(what) = select.order_or_window() {
        return Err(refuse(format!(
            "the query has `{what}`, but the slices' rows arrive interleaved; for rows in the order of the split key, \
             use in_key_order() instead of order_by"
        )));
    }
    // The key is checked as one expression of its own before it is embedded.
    parse_fragment(&key, 0)?;
    let source = source.ok_or(Error::NotBound)?;
    Ok(Plan { settings: source.settings(), select, connections, key, split, order: Order::Any })
}

impl Plan {
    /// One statement per slice; `bounds` are the key's minimum and maximum for a range split.
    fn statements(&self, bounds: Option<(i64, i64)>) -> Result<Vec<Statement>> {
        let n = self.connections;
        let key = &self.key;
        // In key order the `NULL` keys come last, as in `ORDER BY key`, so the last slice takes them.
        let null_slice = if self.order == Order::Key { n - 1 } else { 0 };
        (0..n)
            .map(|slice| {
                let condition = match self.split {
                    Split::Hash => format!("COALESCE(abs(hashtext(({key})::text) % {n}), 0) = {slice}"),
                    Split::Range => range_condition(key, bounds, slice, n, null_slice),
                };
                let mut sliced = self.select.clone();
                sliced.filter(Node::Expr(parse_fragment(&condition, 0)?));
                if self.order == Order::Key {
                    sliced.order_by(parse_fragment(&format!("({key})"), 0)?);
                }
                Ok(sliced.render(Form::Rows)?)
            })
            .collect()
    }

    /// The statement that reads the key's type, minimum and maximum over the rows the query selects, as a
    /// JSON array, for a range split.
    fn bounds_statement(&self) -> Result<Statement> {
        let key = &self.key;
        let columns = format!("json_build_array(pg_typeof(min(({key})))::text, min(({key})), max(({key})))");
        Ok(self.select.render_aggregate(&columns)?)
    }
}

/// Slice `slice` of `n` equal ranges of `[min, max]`; slice `null_slice` takes the `NULL` keys too, and the first
/// and last are open-ended so that no row is left out whatever the bounds. Without bounds (no row has a key),
/// everything goes to the first slice.
fn range_condition(key: &str, bounds: Option<(i64, i64)>, slice: usize, n: usize, null_slice: usize) -> String {
    let Some((min, max)) = bounds else {
        return if slice == 0 { "true".to_owned() } else { "false".to_owned() };
    };
    // i128: the width of [i64::MIN, i64::MAX] does not fit an i64.
    let start = |i: usize| i128::from(min) + (i128::from(max) - i128::from(min) + 1) * i as i128 / n as i128;
    let lower = (slice > 0).then(|| format!("({key}) >= {}", start(slice)));
    let upper = (slice + 1 < n).then(|| format!("({key}) < {}", start(slice + 1)));
    let range = match (lower, upper) {
        (None, None) => return "true".to_owned(),
        (None, Some(upper)) => upper,
        (Some(lower), None) => lower,
        (Some(lower), Some(upper)) => format!("{lower} AND {upper}"),
    };
    if slice == null_slice { format!("{range} OR ({key}) IS NULL") } else { range }
}

/// Reads the key's minimum and maximum in the session's snapshot; `None` when no row has a key.
async fn read_bounds(session: &mut Session, statement: &Statement, key: &str) -> Result<Option<(i64, i64)>> {
    match session.start(&statement.sql, statement.params.iter().map(Param::as_bytes)).await? {
        Described::Json => {}
        Described::Refused(error) => return Err(error),
        Described::NotJson(_) => return Err(Error::protocol("the key's bounds query did not return JSON")),
    }
    let mut answer = None;
    loop {
        match poll_fn(|cx| session.poll_row(cx, |row| serde_json::from_slice::<Bounds>(row.json()))).await {
            Next::Row(row) => answer = row.ok(),
            Next::End => break,
            Next::Failed(error) => return Err(error),
            Next::Oversized { .. } => return Err(Error::protocol("the key's bounds query returned a huge row")),
        }
    }
    let Some(Bounds(ty, min, max)) = answer else {
        return Err(Error::protocol("the key's bounds query returned no readable row"));
    };
    if !matches!(ty.as_deref(), Some("smallint" | "integer" | "bigint")) {
        let ty = ty.unwrap_or_else(|| "unknown".to_owned());
        let reason = format!("by_range needs an integer key, but `{key}` is {ty}; drop by_range to split by hash");
        return Err(BuildError::Parallel { reason }.into());
    }
    match (&min, &max) {
        (serde_json::Value::Null, serde_json::Value::Null) => Ok(None),
        _ => match (min.as_i64(), max.as_i64()) {
            (Some(min), Some(max)) if min <= max => Ok(Some((min, max))),
            _ => Err(Error::protocol(format!("the key's bounds query returned {min} and {max}"))),
        },
    }
}

/// The bounds query's row: the key's type name, minimum and maximum (`null` without any key). The bounds are
/// read as they come, to name the key's type when it is not an integer.
#[derive(serde::Deserialize)]
struct Bounds(Option<String>, serde_json::Value, serde_json::Value);

/// Connects every slice, shares one snapshot, and starts each slice's query.
async fn open<T: Send + 'static>(plan: Plan, predicate: Option<Predicate<T>>, decode: Decoder<T>) -> Result<Slices<T>> {
    // Statements that cannot be built fail here, before any connection opens.
    let mut statements = plan.statements(Some((0, 0)))?;
    let settings = &plan.settings;
    let mut sessions = try_join_all((0..plan.connections).map(|_| Session::connect(settings))).await?;
    let (first, others) = sessions.split_first_mut().ok_or_else(|| Error::protocol("no export connection"))?;
    let exported = first.command(&format!("{BEGIN}; SELECT pg_catalog.pg_export_snapshot()")).await?;
    let snapshot = snapshot_id(exported)?;
    let adopt = format!("{BEGIN}; SET TRANSACTION SNAPSHOT '{snapshot}'");
    try_join_all(others.iter_mut().map(|session| session.command(&adopt))).await?;
    if plan.split == Split::Range {
        // Read in the snapshot, so the ranges cover exactly the rows the slices will see.
        let bounds = read_bounds(first, &plan.bounds_statement()?, &plan.key).await?;
        statements = plan.statements(bounds)?;
    }
    let relation = plan.select.relation().clone();
    let slices = sessions.into_iter().zip(statements).map(|(session, statement)| {
        let source: Arc<dyn LeaseSource> =
            Arc::new(ExportSession { session: Mutex::new(Some(session)), settings: Arc::clone(settings) });
        RowStream::start(source, relation.clone(), statement, decode).with_predicate(predicate.clone())
    });
    Ok(match plan.order {
        Order::Any => Box::pin(stream::select_all(slices)),
        Order::Key => Box::pin(in_order::InOrder::new(slices)),
    })
}

/// The rows of every slice, merged as the export's order says.
type Slices<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

/// The snapshot's name as the server gave it; checked before it goes into SQL, whatever the server sent.
pub(crate) fn snapshot_id(exported: Option<Vec<u8>>) -> Result<String> {
    let id = exported.ok_or_else(|| Error::protocol("pg_export_snapshot() returned no row"))?;
    let valid = !id.is_empty() && id.len() <= 64 && id.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-');
    match String::from_utf8(id) {
        Ok(id) if valid => Ok(id),
        _ => Err(Error::protocol("pg_export_snapshot() returned a malformed snapshot name")),
    }
}

/// Lends one export connection, once; the session is closed when its slice gives it back.
struct ExportSession {
    session: Mutex<Option<Box<Session>>>,
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
    fn keep(self: Box<Self>, session: Box<Session>) {
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

    fn settings() -> Option<Arc<dyn LeaseSource>> {
        Some(Arc::new(ExportSession {
            session: Mutex::new(None),
            settings: Arc::new("host=/tmp".parse::<crate::config::Config>().unwrap().resolve().unwrap()),
        }))
    }

    fn view() -> Select {
        Select::new(crate::sql::Relation::parse("v").unwrap())
    }

    #[test]
    fn hash_slices_cover_every_row_once() {
        let plan = plan(settings(), Ok(view()), 3, "id".to_owned(), Split::Hash).unwrap();
        let statements = plan.statements(None).unwrap();
        let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(sql[0], "SELECT \"data\" FROM \"v\" WHERE (COALESCE(abs(hashtext((id)::text) % 3), 0) = 0)");
        assert!(sql[2].ends_with("% 3), 0) = 2)"));
    }

    #[test]
    fn range_slices_are_contiguous_and_open_ended() {
        assert_eq!(range_condition("id", Some((1, 10)), 0, 3, 0), "(id) < 4 OR (id) IS NULL");
        assert_eq!(range_condition("id", Some((1, 10)), 1, 3, 0), "(id) >= 4 AND (id) < 7");
        assert_eq!(range_condition("id", Some((1, 10)), 2, 3, 0), "(id) >= 7");
        assert_eq!(range_condition("id", Some((5, 5)), 0, 1, 0), "true");
        // More slices than keys: the empty ranges select nothing, the last takes the rest.
        assert_eq!(range_condition("id", Some((5, 5)), 1, 4, 0), "(id) >= 5 AND (id) < 5");
        assert_eq!(range_condition("id", Some((5, 5)), 3, 4, 0), "(id) >= 5");
        // The whole i64 range does not overflow.
        assert_eq!(range_condition("k", Some((i64::MIN, i64::MAX)), 1, 2, 0), "(k) >= 0");
        assert_eq!(range_condition("id", None, 0, 2, 0), "true");
        assert_eq!(range_condition("id", None, 1, 2, 0), "false");
        // In key order the last slice takes the `NULL` keys.
        assert_eq!(range_condition("id", Some((1, 10)), 0, 3, 2), "(id) < 4");
        assert_eq!(range_condition("id", Some((1, 10)), 1, 3, 2), "(id) >= 4 AND (id) < 7");
        assert_eq!(range_condition("id", Some((1, 10)), 2, 3, 2), "(id) >= 7 OR (id) IS NULL");
        let plan = plan(settings(), Ok(view()), 2, "data->>'n'".to_owned(), Split::Range).unwrap();
        assert_eq!(
            plan.bounds_statement().unwrap().sql,
            "SELECT json_build_array(pg_typeof(min((data->>'n')))::text, min((data->>'n')), max((data->>'n'))) \
             FROM \"v\""
        );
    }

    #[test]
    fn key_order_orders_each_slice_by_the_key() {
        let plan = plan(settings(), Ok(view()), 2, "id".to_owned(), Split::Range).unwrap();
        let plan = Plan { order: Order::Key, ..plan };
        let sql: Vec<String> = plan.statements(Some((1, 10))).unwrap().into_iter().map(|s| s.sql).collect();
        assert_eq!(sql[0], "SELECT \"data\" FROM \"v\" WHERE ((id) < 6) ORDER BY (id)");
        assert_eq!(sql[1], "SELECT \"data\" FROM \"v\" WHERE ((id) >= 6 OR (id) IS NULL) ORDER BY (id)");
    }

    #[test]
    fn unsplittable_queries_are_refused_before_connecting() {
        let mut limited = view();
        limited.set_limit(1);
        let refused = |select, n, key: &str| plan(None, Ok(select), n, key.to_owned(), Split::Hash).err();
        assert!(matches!(refused(limited, 2, "id"), Some(Error::InvalidParallel { .. })));
        assert!(matches!(refused(view(), 0, "id"), Some(Error::InvalidParallel { .. })));
        assert!(matches!(refused(view(), 2, "id) OR (true"), Some(Error::InvalidFragment { .. })));
        assert!(matches!(refused(view(), 2, "id"), Some(Error::NotBound)));
    }
}
