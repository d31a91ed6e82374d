//! The client handle: cheap to clone, one connection behind it.

use std::fmt;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::config::{Config, Resolved};
use crate::connection::Connection;
use crate::error::Result;
use crate::query::Query;

/// A connection to PostgreSQL that runs queries one after another.
///
/// `Client` is `Clone + Send + Sync`; clones share the same connection. Queries take turns: a query started
/// while a stream of the same client is still alive waits until that stream ends or is dropped. (So do not
/// start a second query on the same client from the task that is still polling the first stream: it would wait
/// for itself. Use two clients, or finish or drop the first stream.)
///
/// A connection that breaks (server restart, network failure) is replaced by a fresh one on the next query.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) config: Resolved,
    /// `None` when no connection is open: the next query connects.
    pub(crate) slot: Arc<Mutex<Option<Connection>>>,
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
    pub async fn connect_with(config: Config) -> Result<Client> {
        let config = config.resolve()?;
        let connection = Connection::connect(&config).await?;
        Ok(Client { shared: Arc::new(Shared { config, slot: Arc::new(Mutex::new(Some(connection))) }) })
    }

    /// A client that connects on its first query instead of now.
    ///
    /// The settings are checked at once (environment and password file included); connection errors surface
    /// from the first query. Useful when the application may start before its database.
    pub fn connect_lazy(config: Config) -> Result<Client> {
        let config = config.resolve()?;
        Ok(Client { shared: Arc::new(Shared { config, slot: Arc::new(Mutex::new(None)) }) })
    }

    /// Starts a query on a view (or table) exposing a `data` column of type `json` or `jsonb`.
    ///
    /// The name may be schema-qualified (`app.v_project`); it is validated and quoted as an identifier, so it
    /// can never change the statement.
    pub fn query(&self, relation: &str) -> Query {
        Query::new(self.clone(), relation)
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("config", &self.shared.config).finish_non_exhaustive()
    }
}
