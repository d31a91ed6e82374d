//! One moment of the database, read by several queries: a `REPEATABLE READ, READ ONLY` transaction on a
//! connection of its own, its snapshot exported so that other connections can adopt it.

use std::fmt;
use std::sync::Arc;

use crate::batch::Batch;
use crate::config::Resolved;
use crate::connection::{Session, SessionSlot};
use crate::error::Result;
use crate::executor::{Executor, sealed};
use crate::parallel::{BEGIN, snapshot_id};
use crate::query::Query;
use crate::sql::Relation;

/// Queries that all read the database as of one moment: rows written after the snapshot was taken are invisible
/// to every one of them, on whatever view.
///
/// From [`Client::snapshot`](crate::Client::snapshot) or `Pool::snapshot`: a connection of its own (never the
/// client's or a pooled one) in a `REPEATABLE READ, READ ONLY` transaction. A `Snapshot` is an
/// [`Executor`]: `Project::query(&snapshot)`, `snapshot.query("v_owner")`; its queries take turns on that
/// connection, like a client's. [`adopt`](Snapshot::adopt) opens another connection on the same moment, for
/// queries that run at the same time. Dropping the last clone closes its connection, which ends the
/// transaction.
///
/// The moment lasts as long as the transaction: if the connection breaks (or a server error aborts the
/// transaction), queries fail with [`Error::SnapshotEnded`](crate::Error::SnapshotEnded) or the server's
/// 25P02, never silently reading a newer state on a new connection. A long snapshot keeps the server from
/// vacuuming rows it may still need; keep snapshots short.
///
/// ```no_run
/// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
/// let snapshot = client.snapshot().await?;
/// let orders = snapshot.query("v_order").fetch_all().await?;
/// let lines = snapshot.query("v_order_line").fetch_all().await?; // the same moment as `orders`
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Snapshot {
    slot: Arc<SessionSlot>,
    id: Arc<str>,
}

impl Snapshot {
    /// Opens a connection with `settings`, begins the transaction and exports its snapshot.
    pub(crate) async fn open(settings: Arc<Resolved>) -> Result<Snapshot> {
        let mut session = Session::connect(&settings).await?;
        let exported = session.command(&format!("{BEGIN}; SELECT pg_catalog.pg_export_snapshot()")).await?;
        let id = snapshot_id(exported)?;
        Ok(Snapshot { slot: SessionSlot::pinned(settings, session), id: id.into() })
    }

    /// Another connection reading the same moment (`SET TRANSACTION SNAPSHOT`), for queries that run at the
    /// same time as this one's. The server lets a transaction adopt a snapshot only while the one that exported
    /// it is open: adopt before the first `Snapshot` is dropped (the adopted one then lives on its own).
    pub async fn adopt(&self) -> Result<Snapshot> {
        let settings = self.slot.shared_settings();
        let mut session = Session::connect(&settings).await?;
        session.command(&format!("{BEGIN}; SET TRANSACTION SNAPSHOT '{}'", self.id)).await?;
        Ok(Snapshot { slot: SessionSlot::pinned(settings, session), id: Arc::clone(&self.id) })
    }

    /// The server's name of the snapshot (`pg_export_snapshot()`), for another client's
    /// `SET TRANSACTION SNAPSHOT` while this one is open.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A [`Batch`] of queries on this snapshot's connection, written at once and read back in order.
    pub fn batch(&self) -> Batch {
        Batch::new(self.slot.clone())
    }

    /// A query on a view in this snapshot; rows decode as [`serde_json::Value`] (see
    /// [`Client::query`](crate::Client::query)).
    pub fn query(&self, relation: &str) -> Query {
        self.query_as(relation)
    }

    /// A query on a view in this snapshot, decoding each row into `T`.
    pub fn query_as<T>(&self, relation: &str) -> Query<T> {
        Query::new(Some(self.slot.clone()), Relation::parse(relation))
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").field("id", &self.id).finish_non_exhaustive()
    }
}

impl sealed::Sealed for Snapshot {}

impl Executor for Snapshot {
    fn lease_source(&self) -> sealed::Source {
        sealed::Source(self.slot.clone())
    }
}
