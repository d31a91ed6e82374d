//! Where a query runs: the one trait that a [`Client`](crate::Client) and a pool implement, so that
//! `Project::query(&client)` and the `Query` it returns know nothing about what lends them a session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::Resolved;
use crate::connection::{Lease, SessionSlot};
use crate::error::Error;

/// A future that lends a session to one query.
pub(crate) type Checkout = Pin<Box<dyn Future<Output = Result<Lease, Error>> + Send>>;

/// What lends sessions to queries.
pub(crate) trait LeaseSource: Send + Sync + 'static {
    fn checkout(self: Arc<Self>) -> Checkout;

    /// The settings sessions are opened with (for a parallel export's own connections).
    fn settings(&self) -> Arc<Resolved>;
}

impl LeaseSource for SessionSlot {
    fn checkout(self: Arc<Self>) -> Checkout {
        Box::pin(SessionSlot::checkout(self))
    }

    fn settings(&self) -> Arc<Resolved> {
        self.shared_settings()
    }
}

/// Something queries run on: a [`Client`](crate::Client), or a `Pool` (feature `pool`).
///
/// Entity queries take any executor (`Project::query(&client)`), and a query built without one can be bound to
/// one later with [`Query::on`](crate::Query::on). The trait is sealed: fraiseql-wire implements it for its own
/// types only.
pub trait Executor: sealed::Sealed {
    #[doc(hidden)]
    fn lease_source(&self) -> sealed::Source;
}

pub(crate) mod sealed {
    use std::sync::Arc;

    use super::LeaseSource;

    /// Implemented by the crate's executors only.
    pub trait Sealed {}

    /// An executor's source of sessions; opaque outside the crate.
    #[derive(Clone)]
    pub struct Source(pub(crate) Arc<dyn LeaseSource>);
}
