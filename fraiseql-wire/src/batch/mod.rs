//! Pipelined batches: several queries, each with its own row type, written to the server at once and read back
//! in order, for the many small lookups an API layer makes per request.
//!
//! Each query ends with its own Sync, so the server answers each one on its own: an error ends only that query,
//! and the next runs. The answers arrive in the order the queries were pushed and are read from the socket as
//! they are consumed, like any [`RowStream`](crate::RowStream).

mod results;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::connection::Lease;
use crate::error::{Error, Result};
use crate::executor::LeaseSource;
use crate::query::Query;
use crate::sql::{Form, Param, Relation, Statement};
use crate::stream::decode::{self, Decoder};
use crate::stream::{Predicate, is_stale};

pub use results::{BatchResults, BatchRows};

/// Tells tickets of one batch from those of another.
static NEXT_BATCH: AtomicU64 = AtomicU64::new(1);

/// Queries to send together: one write, one round trip, then each query's rows in the order they were pushed.
///
/// From [`Client::batch`](crate::Client::batch), `Pool::batch` (feature `pool`) or
/// [`Snapshot::batch`](crate::Snapshot::batch). [`push`](Batch::push) a query (typed, an entity's or untyped) and
/// keep the [`Ticket`] it returns; [`send`](Batch::send) writes them all and hands back [`BatchResults`], from
/// which each ticket takes its own rows. The queries run one after another on one connection, as they would
/// alone, but without waiting a round trip for each:
///
/// ```no_run
/// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
/// #[derive(serde::Deserialize)]
/// struct Owner {
///     name: String,
/// }
///
/// let mut batch = client.batch();
/// let owners: Vec<_> = [3, 7, 12]
///     .iter()
///     .map(|id| batch.push(client.query_as::<Owner>("v_owner").where_sql("id = $1", &[id])))
///     .collect();
/// let counts = batch.push(client.query("v_project_count"));
/// let mut results = batch.send().await?;
/// for ticket in owners {
///     // An error in one query (a missing row here) leaves the others untouched.
///     match results.fetch_optional(ticket).await? {
///         Some(owner) => println!("{}", owner.name),
///         None => println!("no such owner"),
///     }
/// }
/// let counts: Vec<serde_json::Value> = results.fetch_all(counts).await?;
/// # Ok(()) }
/// ```
///
/// Each query keeps its own SQL, parameters, and Rust predicate ([`filter_rust`](Query::filter_rust)); the
/// executor the query was built with is ignored, the batch's runs it. Queries with the same SQL share one
/// prepared statement (parsed once, bound for each), and the statement cache serves them as it serves single
/// queries. A query that fails to build takes no part: its ticket yields the error.
#[must_use = "a batch does nothing until sent"]
pub struct Batch {
    source: Arc<dyn LeaseSource>,
    id: u64,
    queries: Vec<Planned>,
}

/// A pushed query: what it sends, or why it cannot be sent.
type Planned = std::result::Result<(Relation, Statement), Option<Error>>;

/// The claim on one query's rows in a [`BatchResults`], decoding them as `T`.
///
/// Tickets are taken in the order their queries were pushed; taking one skips the rows of every earlier query
/// not taken yet. A ticket taken after a later one, or from another batch, yields
/// [`Error::BatchOrder`].
#[must_use = "a ticket's rows are skipped unless it is taken"]
pub struct Ticket<T> {
    batch: u64,
    position: usize,
    decode: Decoder<T>,
    predicate: Option<Predicate<T>>,
}

impl<T> std::fmt::Debug for Ticket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("position", &self.position).finish_non_exhaustive()
    }
}

impl<T> Ticket<T> {
    /// The query's position in its batch, from 0 in the order of [`Batch::push`].
    pub fn position(&self) -> usize {
        self.position
    }
}

impl Batch {
    pub(crate) fn new(source: Arc<dyn LeaseSource>) -> Batch {
        Batch { source, id: NEXT_BATCH.fetch_add(1, Ordering::Relaxed), queries: Vec::new() }
    }

    /// Adds a query whose rows decode as `T`, as [`Query::stream`] decodes them.
    pub fn push<T: DeserializeOwned>(&mut self, query: Query<T>) -> Ticket<T> {
        let parts = query.into_parts();
        self.ticket(parts.select.map_err(Error::from), decode::json::<T>, parts.predicate)
    }

    /// Adds a query whose rows arrive as JSON text, as [`Query::stream_raw`] sends them.
    pub fn push_raw<T>(&mut self, query: Query<T>) -> Ticket<Bytes> {
        self.ticket(query.into_parts().select.map_err(Error::from), decode::raw, None)
    }

    fn ticket<T>(
        &mut self,
        select: Result<crate::sql::Select>,
        decode: Decoder<T>,
        predicate: Option<Predicate<T>>,
    ) -> Ticket<T> {
        let planned = select.and_then(|select| Ok((select.relation().clone(), select.render(Form::Rows)?)));
        self.queries.push(planned.map_err(Some));
        Ticket { batch: self.id, position: self.queries.len() - 1, decode, predicate }
    }

    /// How many queries were pushed.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether no query was pushed.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Takes a connection from the executor and writes every query to it at once; the answers are read as the
    /// tickets are taken.
    ///
    /// The connection is held until the [`BatchResults`] is dropped. Dropped before every answer is read, it
    /// cancels the query the server is running and skips the rest in the background (within `cancel_timeout`,
    /// like a dropped stream). Errors here are the connection's (none could be opened, or it broke while
    /// writing); a query's own error is its ticket's.
    pub async fn send(self) -> Result<BatchResults> {
        let mut lease = self.source.checkout().await?;
        let mut queries = self.queries;
        if let Err(error) = transmit(&mut lease, &mut queries).await {
            // The idle connection may have died quietly; nothing was read, so writing again is safe.
            if lease.is_fresh() || !is_stale(&error) {
                return Err(error);
            }
            lease.reconnect().await?;
            transmit(&mut lease, &mut queries).await?;
        }
        Ok(BatchResults::new(lease, self.id, queries))
    }
}

/// Queues every query that can be sent and sends them in one write. A query that cannot be encoded is left out,
/// with its error for its ticket.
async fn transmit(lease: &mut Lease, queries: &mut [Planned]) -> Result<()> {
    let session = lease.session()?;
    for planned in queries.iter_mut() {
        if let Ok((_, statement)) = planned {
            if let Err(error) = session.queue(&statement.sql, statement.params.iter().map(Param::as_bytes)) {
                *planned = Err(Some(error));
            }
        }
    }
    if session.queued_len() > 0 {
        session.send_queued().await?;
    }
    Ok(())
}
