//! A client's one session, lent to one query at a time.
//!
//! The slot holds the session only while it is idle. A query takes it out with [`SessionSlot::checkout`] and
//! the [`Lease`] brings it back when dropped, whatever state the query left it in: idle, it goes straight back;
//! broken, it is closed and the next query connects; in the middle of a query, a background task (bounded by
//! `cancel_timeout`) cancels and drains it first, keeping the slot locked so the next query starts on a clean
//! session.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

use super::session::{Session, State};
use crate::config::Resolved;
use crate::error::Error;

/// The place a client keeps its session between queries.
pub(crate) struct SessionSlot {
    settings: Resolved,
    session: Arc<Mutex<Option<Session>>>,
}

impl SessionSlot {
    pub(crate) fn new(settings: Resolved, session: Option<Session>) -> Arc<SessionSlot> {
        Arc::new(SessionSlot { settings, session: Arc::new(Mutex::new(session)) })
    }

    pub(crate) fn settings(&self) -> &Resolved {
        &self.settings
    }

    /// Waits until no other query holds the session, then lends it (connecting first if there is none).
    pub(crate) async fn checkout(self: Arc<Self>) -> Result<Lease, Error> {
        let mut guard = self.session.clone().lock_owned().await;
        let (session, fresh) = match guard.take() {
            Some(session) if session.is_idle() => (session, false),
            _ => (Session::connect(&self.settings).await?, true),
        };
        Ok(Lease { session: Some(session), guard: Some(guard), slot: self, fresh })
    }
}

/// A session lent to one query; dropping it gives the session back (see the module docs).
pub(crate) struct Lease {
    /// `None` only while `Drop` runs, or after a failed `reconnect` (the lease is then dropped).
    session: Option<Session>,
    guard: Option<OwnedMutexGuard<Option<Session>>>,
    slot: Arc<SessionSlot>,
    fresh: bool,
}

impl Lease {
    /// The lent session.
    #[inline]
    pub(crate) fn session(&mut self) -> Result<&mut Session, Error> {
        self.session.as_mut().ok_or_else(|| Error::protocol("the session was already given back"))
    }

    /// Whether the session was opened for this query (rather than reused after an earlier one).
    pub(crate) fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Replaces the session with a new connection (the old one turned out to be dead).
    pub(crate) async fn reconnect(&mut self) -> Result<(), Error> {
        self.session = None;
        self.session = Some(Session::connect(&self.slot.settings).await?);
        self.fresh = true;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (Some(mut session), Some(mut guard)) = (self.session.take(), self.guard.take()) else {
            return;
        };
        match session.state() {
            State::Idle => *guard = Some(session),
            // Closed as it is dropped; the slot stays empty, so the next query connects.
            State::Broken => {}
            _ => {
                session.abandon();
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    // No runtime to drain on: closing the socket is the only clean option left.
                    return;
                };
                let timeout = self.slot.settings.cancel_timeout;
                runtime.spawn(async move {
                    match tokio::time::timeout(timeout, session.drain()).await {
                        Ok(Ok(())) => *guard = Some(session),
                        Ok(Err(error)) => tracing::warn!(%error, "closing the connection of an abandoned query"),
                        Err(_) => tracing::warn!(
                            ?timeout,
                            "an abandoned query did not stop within cancel_timeout; closing its connection"
                        ),
                    }
                });
            }
        }
    }
}
