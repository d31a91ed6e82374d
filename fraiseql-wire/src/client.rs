//! The client handle: cheap to clone, one connection behind it.

use std::fmt;
use std::sync::Arc;

use crate::batch::Batch;
use crate::config::Config;
use crate::connection::{Session, SessionSlot};
use crate::error::Result;
use crate::executor::{Executor, sealed};
use crate::query::Query;
use crate::snapshot::Snapshot;
use crate::sql::Relation;

/// A connection to PostgreSQL that runs queries one after another.
///
/// `Client` is `Clone + Send + Sync`; clones share the same connection. Queries take turns: a query started
/// from another task while a stream of the same client is alive waits until that stream ends or is dropped. A
/// query started from the task that polls that stream could only wait for itself, so it fails at once with
/// [`Error::ConnectionBusy`](crate::Error::ConnectionBusy) instead: finish or drop the first stream, or use a
/// pool.
///
/// A client stays one connection on purpose: its queries run in order on one server session, it costs the
/// server one backend, and it is what one task that reads one stream at a time needs. For queries that run at
/// the same time, `Pool` (feature `pool`) lends a connection to each and runs the same queries.
///
/// A connection that breaks (server restart, network failure) is replaced by a fresh one on the next query.
#[derive(Clone)]
pub struct Client {
    slot: Arc<SessionSlot>,
}

impl Client {
    /// Connects using a libpq connection string (URI or `key=value`), completed from the environment.
    ///
    /// ```no_run
    /// # async fn demo() -> fraiseql_wire::Result<()> {
    /// let client = fraiseql_wire::Client::connect("postgres://app@localhost/shop").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(conninfo: &str) -> Result<Client> {
        Client::connect_with(conninfo.parse()?).await
    }

    /// Connects using a [`Config`].
    ///
    /// ```no_run
    /// # async fn demo() -> fraiseql_wire::Result<()> {
    /// let config = fraiseql_wire::Config::new().host("db.internal").user("app").dbname("shop").password("secret");
    /// let client = fraiseql_wire::Client::connect_with(config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(config: Config) -> Result<Client> {
        let settings = config.resolve()?;
        let session = Session::connect(&settings).await?;
        Ok(Client { slot: SessionSlot::new(settings, Some(session)) })
    }

    /// A client that connects on its first query instead of now.
    ///
    /// The settings are checked at once (environment and password file included); connection errors surface
    /// from the first query. Useful when the application may start before its database.
    pub fn connect_lazy(config: Config) -> Result<Client> {
        Ok(Client { slot: SessionSlot::new(config.resolve()?, None) })
    }

    /// Starts a query on a view (or table) exposing a `data` column of type `json` or `jsonb`; rows decode as
    /// [`serde_json::Value`].
    ///
    /// The name may be schema-qualified (`app.v_project`); it is validated and quoted as an identifier, so it
    /// can never change the statement.
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
    /// let project: serde_json::Value =
    ///     client.query("app.v_project").where_sql("id = $1", &[&42]).fetch_one().await?;
    /// println!("{}", project["name"]);
    /// # Ok(()) }
    /// ```
    pub fn query(&self, relation: &str) -> Query {
        self.query_as(relation)
    }

    /// [`query`](Client::query), with rows decoded as `T`: `client.query_as::<Project>("v_project").fetch_all()`.
    pub fn query_as<T>(&self, relation: &str) -> Query<T> {
        Query::new(Some(self.slot.clone()), Relation::parse(relation))
    }

    /// A [`Batch`]: queries written to this client's connection at once and read back in order, for many small
    /// lookups in one round trip.
    pub fn batch(&self) -> Batch {
        Batch::new(self.slot.clone())
    }

    /// A [`Snapshot`]: a connection of its own, with this client's settings, whose queries all read the
    /// database as of now.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        Snapshot::open(self.slot.shared_settings()).await
    }
}

impl sealed::Sealed for Client {}

impl Executor for Client {
    fn lease_source(&self) -> sealed::Source {
        sealed::Source(self.slot.clone())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("config", self.slot.settings()).finish_non_exhaustive()
    }
}
