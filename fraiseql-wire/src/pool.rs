//! A pool of connections (feature `pool`, on by default), on `deadpool`: one connection per concurrent query.
//!
//! The pool lends a session to each query through the same [`Lease`] as a client's slot, so streams behave the
//! same on both: a stream holds its connection until it ends or is dropped, and a dropped stream's query is
//! cancelled and drained before the connection goes back (a connection that does not drain within
//! `cancel_timeout` leaves the pool for good).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleError, RecycleResult, TimeoutType};

use crate::batch::Batch;
use crate::config::{Config, Resolved};
use crate::connection::{Home, Lease, Session};
use crate::error::{Error, Result};
use crate::executor::{Checkout, Executor, LeaseSource, sealed};
use crate::query::Query;
use crate::snapshot::Snapshot;
use crate::sql::Relation;
use crate::telemetry;

/// A pool of connections to PostgreSQL, for queries that run at the same time.
///
/// Queries run on a pool exactly as on a [`Client`](crate::Client) (`pool.query("v_project")`,
/// `Project::query(&pool)`); each takes a connection of its own, opened on demand up to
/// [`max_size`](PoolBuilder::max_size), and gives it back when its stream ends or is dropped. When every
/// connection is in use, a query waits up to [`wait_timeout`](PoolBuilder::wait_timeout) and then fails with
/// [`Error::PoolTimeout`]. `Pool` is a cheap `Clone + Send + Sync` handle; clones share the connections.
///
/// ```no_run
/// use futures_util::TryStreamExt;
///
/// # async fn demo() -> fraiseql_wire::Result<()> {
/// let pool = fraiseql_wire::Pool::connect("postgres://app@localhost/shop").await?;
/// let mut rows = pool.query("v_project").stream();
/// while let Some(project) = rows.try_next().await? {
///     println!("{project}");
/// }
/// # Ok(()) }
/// ```
///
/// A connection goes back only idle: a broken one is closed, and one lent again is first checked without a
/// round trip (the socket is still open and the server sent nothing unasked, as a server that shuts down does),
/// or with one when [`test_before_acquire`](PoolBuilder::test_before_acquire) is on.
#[derive(Clone)]
pub struct Pool {
    source: Arc<PoolSource>,
}

/// Settings of a [`Pool`], from [`Pool::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` or `connect`"]
pub struct PoolBuilder {
    config: Config,
    max_size: usize,
    wait_timeout: Duration,
    create_timeout: Option<Duration>,
    recycle_timeout: Duration,
    test_before_acquire: bool,
}

/// A snapshot of a pool's connections, from [`Pool::status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max_size: usize,
    /// The connections open now, lent or idle.
    pub size: usize,
    /// The idle connections, ready for a query.
    pub available: usize,
    /// The queries waiting for a connection.
    pub waiting: usize,
}

impl Pool {
    /// How many connections a pool opens at most, unless told otherwise.
    pub const DEFAULT_MAX_SIZE: usize = 10;

    /// A pool with the default settings; connects once at once, so that wrong settings fail here rather than on
    /// the first query.
    ///
    /// The connection string is libpq's (URI or `key=value`), completed from the environment as for
    /// [`Client::connect`](crate::Client::connect).
    pub async fn connect(conninfo: &str) -> Result<Pool> {
        Pool::builder(conninfo.parse()?).connect().await
    }

    /// A builder for a pool with other settings than the defaults.
    ///
    /// ```no_run
    /// # async fn demo() -> fraiseql_wire::Result<()> {
    /// use std::time::Duration;
    ///
    /// let config: fraiseql_wire::Config = "postgres://app@db.internal/shop".parse()?;
    /// let pool = fraiseql_wire::Pool::builder(config)
    ///     .max_size(32)
    ///     .wait_timeout(Duration::from_secs(2))
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(config: Config) -> PoolBuilder {
        PoolBuilder {
            config,
            max_size: Pool::DEFAULT_MAX_SIZE,
            wait_timeout: Duration::from_secs(30),
            create_timeout: None,
            recycle_timeout: Duration::from_secs(5),
            test_before_acquire: false,
        }
    }

    /// Starts a query on a view exposing a `data` column of type `json` or `jsonb`; rows decode as
    /// [`serde_json::Value`]. The same as [`Client::query`](crate::Client::query).
    pub fn query(&self, relation: &str) -> Query {
        self.query_as(relation)
    }

    /// [`query`](Pool::query), with rows decoded as `T`.
    pub fn query_as<T>(&self, relation: &str) -> Query<T> {
        Query::new(Some(self.source.clone()), Relation::parse(relation))
    }

    /// A [`Batch`]: queries written at once to one connection of the pool and read back in order. The
    /// connection is the batch's until its results are dropped.
    pub fn batch(&self) -> Batch {
        Batch::new(self.source.clone())
    }

    /// A [`Snapshot`]: a connection of its own with the pool's settings (not one of the pool's, and not
    /// counted in its size), whose queries all read the database as of now.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        Snapshot::open(self.source.settings.clone()).await
    }

    /// How many connections are open, idle and awaited.
    ///
    /// ```no_run
    /// # fn demo(pool: &fraiseql_wire::Pool) {
    /// let status = pool.status();
    /// if status.waiting > 0 && status.size == status.max_size {
    ///     eprintln!("pool saturated: {} queries wait for one of {} connections", status.waiting, status.max_size);
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> PoolStatus {
        let status = self.source.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// Closes the pool: idle connections are closed, lent ones when they come back, and every waiting or later
    /// query fails with [`Error::PoolClosed`].
    pub fn close(&self) {
        self.source.pool.close();
    }

    /// Whether [`close`](Pool::close) was called.
    pub fn is_closed(&self) -> bool {
        self.source.pool.is_closed()
    }
}

impl PoolBuilder {
    /// The most connections the pool opens (default 10). Keep the sum over every process that connects below
    /// the server's `max_connections` minus `superuser_reserved_connections`.
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// How long a query waits for a connection when all are in use (default 30 s); then it fails with
    /// [`Error::PoolTimeout`]. Zero fails at once.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// A bound on opening one connection, over every host and address tried (default: none beyond
    /// `connect_timeout`, which bounds each address).
    pub fn create_timeout(mut self, timeout: Duration) -> Self {
        self.create_timeout = Some(timeout);
        self
    }

    /// How long checking an idle connection may take before it is closed and another is used (default 5 s; it
    /// matters with [`test_before_acquire`](Self::test_before_acquire)).
    pub fn recycle_timeout(mut self, timeout: Duration) -> Self {
        self.recycle_timeout = timeout;
        self
    }

    /// Whether to make one round trip to the server before lending an idle connection (default off: the
    /// socket is checked without one). On, a connection the network silently dropped is never lent, at the cost
    /// of a round trip per query.
    pub fn test_before_acquire(mut self, on: bool) -> Self {
        self.test_before_acquire = on;
        self
    }

    /// The pool, without connecting: connections open as queries need them.
    pub fn build(self) -> Result<Pool> {
        if self.max_size == 0 {
            return Err(Error::config("a pool's max_size is 0", "give max_size(n) a value of 1 or more"));
        }
        let settings = Arc::new(self.config.resolve()?);
        let connector = Connector { settings: Arc::clone(&settings), test_before_acquire: self.test_before_acquire };
        let pool = managed::Pool::builder(connector)
            .max_size(self.max_size)
            .wait_timeout(Some(self.wait_timeout))
            .create_timeout(self.create_timeout)
            .recycle_timeout(Some(self.recycle_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| {
                Error::config(
                    format!("the pool could not be built: {e}"),
                    "check the builder's sizes and timeouts (max_size of 1 or more)",
                )
            })?;
        let source = PoolSource {
            pool,
            settings,
            max_size: self.max_size,
            wait_timeout: self.wait_timeout,
            create_timeout: self.create_timeout,
        };
        Ok(Pool { source: Arc::new(source) })
    }

    /// The pool, with one connection opened at once to check the settings (host, password, database).
    pub async fn connect(self) -> Result<Pool> {
        let pool = self.build()?;
        let first = pool.source.pool.get().await.map_err(|e| pool.source.error(e))?;
        drop(first);
        Ok(pool)
    }
}

/// What the executor trait lends sessions from.
struct PoolSource {
    pool: managed::Pool<Connector>,
    settings: Arc<Resolved>,
    max_size: usize,
    wait_timeout: Duration,
    create_timeout: Option<Duration>,
}

impl PoolSource {
    fn error(&self, error: PoolError<Error>) -> Error {
        match error {
            PoolError::Backend(error) => error,
            PoolError::Timeout(TimeoutType::Wait) => {
                Error::PoolTimeout { waited: self.wait_timeout, max_size: self.max_size }
            }
            PoolError::Timeout(_) => Error::ConnectTimeout {
                target: self.settings.targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                timeout: self.create_timeout.unwrap_or_default(),
            },
            PoolError::Closed => Error::PoolClosed,
            PoolError::NoRuntimeSpecified | PoolError::PostCreateHook(_) => {
                // The builder always names the runtime and installs no hook.
                Error::config(
                    "the pool is misconfigured (no runtime, or a failed hook)",
                    "this is a bug in fraiseql-wire: please report it",
                )
            }
        }
    }
}

impl LeaseSource for PoolSource {
    fn checkout(self: Arc<Self>) -> Checkout {
        Box::pin(async move {
            let object = self.pool.get().await.map_err(|e| self.error(e));
            report_gauges(&self.pool);
            let mut object = object?;
            let fresh = Object::metrics(&object).recycle_count == 0;
            let session = object.0.take().ok_or_else(|| Error::protocol("a pooled connection was lent twice"))?;
            Ok(Lease::new(session, Box::new(PoolHome { object }), Arc::clone(&self.settings), fresh))
        })
    }

    fn settings(&self) -> Arc<Resolved> {
        Arc::clone(&self.settings)
    }
}

/// A pooled connection: `None` while lent to a query.
struct Pooled(Option<Box<Session>>);

/// Opens and checks the pool's connections.
struct Connector {
    settings: Arc<Resolved>,
    test_before_acquire: bool,
}

impl managed::Manager for Connector {
    type Type = Pooled;
    type Error = Error;

    async fn create(&self) -> Result<Pooled> {
        Ok(Pooled(Some(Session::connect(&self.settings).await?)))
    }

    async fn recycle(&self, pooled: &mut Pooled, _: &Metrics) -> RecycleResult<Error> {
        match &mut pooled.0 {
            Some(session) if session.is_reusable() => {
                if self.test_before_acquire {
                    session.ping().await?;
                }
                Ok(())
            }
            _ => Err(RecycleError::message("the connection was closed, or the server sent something unasked")),
        }
    }
}

/// Where a lent session goes back: its place in the pool.
struct PoolHome {
    object: Object<Connector>,
}

impl Home for PoolHome {
    fn keep(mut self: Box<Self>, session: Box<Session>) {
        self.object.0 = Some(session);
        let pool = Object::pool(&self.object);
        // Back in the pool once the object is dropped.
        drop(self);
        if let Some(pool) = pool {
            report_gauges(&pool);
        }
    }

    fn discard(self: Box<Self>) {
        let pool = Object::pool(&self.object);
        // Taken out of the pool for good, which frees its place for a new connection.
        drop(Object::take(self.object));
        if let Some(pool) = pool {
            report_gauges(&pool);
        }
    }
}

/// The pool gauges of [`telemetry`](crate::telemetry): connections, idle ones, waiting tasks.
fn report_gauges(pool: &managed::Pool<Connector>) {
    let status = pool.status();
    telemetry::gauge(telemetry::POOL_CONNECTIONS, status.size as f64);
    telemetry::gauge(telemetry::POOL_IDLE, status.available as f64);
    telemetry::gauge(telemetry::POOL_WAITING, status.waiting as f64);
}

impl sealed::Sealed for Pool {}

impl Executor for Pool {
    fn lease_source(&self) -> sealed::Source {
        sealed::Source(self.source.clone())
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.source.settings)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_of_no_connections_is_refused_with_the_fix() {
        let error = Pool::builder(Config::new().user("u").host("localhost")).max_size(0).build().err();
        match error {
            Some(Error::Config { message, advice }) => {
                assert!(message.contains("max_size") && advice.contains("max_size(n)"), "{message}; {advice}");
            }
            other => panic!("{other:?}"),
        }
    }
}
