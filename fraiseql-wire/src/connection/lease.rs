//! Sessions lent to one query at a time: the [`Lease`] a query holds, the [`Home`] it gives the session back to,
//! and the [`SessionSlot`] that is a client's one home.
//!
//! Whatever state the query left the session in, dropping the lease gives it back: idle, it goes straight home;
//! broken, it is discarded and its home opens a new one when next asked; in the middle of a query, a background
//! task (bounded by `cancel_timeout`) cancels and drains it first, and only a session that drained in time goes
//! home. The slot stays locked meanwhile, so the next query starts on a clean session.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::session::Session;
use super::state::State;
use crate::config::Resolved;
use crate::error::Error;

/// What polls a query: a tokio task, or the thread of a `block_on` (which runs no task, and stays on its thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Poller {
    Task(tokio::task::Id),
    Thread(std::thread::ThreadId),
}

impl Poller {
    #[inline]
    pub(crate) fn current() -> Poller {
        thread_local! {
            static THREAD: std::thread::ThreadId = std::thread::current().id();
        }
        match tokio::task::try_id() {
            Some(task) => Poller::Task(task),
            None => Poller::Thread(THREAD.with(|id| *id)),
        }
    }
}

/// Where a lent session goes back to: a client's slot, or a pool.
pub(crate) trait Home: Send + 'static {
    /// Takes the session back, idle and reusable.
    fn keep(self: Box<Self>, session: Box<Session>);
    /// The session is unusable (broken, or it could not be drained): forget it.
    fn discard(self: Box<Self>);
    /// Records what polls the query now (`None` once it is given back), to refuse a second query that the same
    /// task could only wait for forever.
    fn held_by(&self, _poller: Option<Poller>) {}
}

/// A session lent to one query; dropping it gives the session back (see the module docs).
pub(crate) struct Lease {
    /// `None` only while `Drop` runs, or after a failed `reconnect` (the lease is then dropped).
    session: Option<Box<Session>>,
    home: Option<Box<dyn Home>>,
    settings: Arc<Resolved>,
    fresh: bool,
    /// What last polled the query, as recorded with [`Home::held_by`].
    poller: Poller,
}

impl Lease {
    pub(crate) fn new(session: Box<Session>, home: Box<dyn Home>, settings: Arc<Resolved>, fresh: bool) -> Lease {
        let poller = Poller::current();
        home.held_by(Some(poller));
        Lease { session: Some(session), home: Some(home), settings, fresh, poller }
    }

    /// The lent session.
    #[inline]
    pub(crate) fn session(&mut self) -> Result<&mut Session, Error> {
        self.session.as_deref_mut().ok_or_else(|| Error::protocol("the session was already given back"))
    }

    /// Whether the session was opened for this query (rather than reused after an earlier one).
    pub(crate) fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Notes what polls the query, when it changed (a stream moved to another task).
    #[inline]
    pub(crate) fn polled_here(&mut self) {
        let poller = Poller::current();
        if poller != self.poller {
            self.poller = poller;
            if let Some(home) = &self.home {
                home.held_by(Some(poller));
            }
        }
    }

    /// Replaces the session with a new connection (the old one turned out to be dead).
    pub(crate) async fn reconnect(&mut self) -> Result<(), Error> {
        self.session = None;
        self.session = Some(Session::connect(&self.settings).await?);
        self.fresh = true;
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(home) = self.home.take() else {
            return;
        };
        home.held_by(None);
        let Some(mut session) = self.session.take() else {
            return home.discard();
        };
        match session.state() {
            _ if session.is_idle() => home.keep(session),
            State::Broken => home.discard(),
            _ => {
                session.abandon();
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    // No runtime to drain on: closing the socket is the only clean option left.
                    return home.discard();
                };
                let timeout = self.settings.cancel_timeout;
                runtime.spawn(async move {
                    match tokio::time::timeout(timeout, session.drain()).await {
                        Ok(Ok(())) => home.keep(session),
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "closing the connection of an abandoned query");
                            home.discard();
                        }
                        Err(_) => {
                            tracing::warn!(
                                ?timeout,
                                "an abandoned query did not stop within cancel_timeout; closing its connection"
                            );
                            home.discard();
                        }
                    }
                });
            }
        }
    }
}

/// A client's one session, kept between queries.
pub(crate) struct SessionSlot {
    settings: Arc<Resolved>,
    session: Arc<AsyncMutex<Option<Box<Session>>>>,
    /// What polls the query holding the session, if any.
    holder: Arc<Mutex<Option<Poller>>>,
    /// The session holds state no new one would have (a snapshot's transaction): never replaced, and a query
    /// never retried on a fresh one.
    pinned: bool,
}

impl SessionSlot {
    pub(crate) fn new(settings: Resolved, session: Option<Box<Session>>) -> Arc<SessionSlot> {
        Arc::new(SessionSlot {
            settings: Arc::new(settings),
            session: Arc::new(AsyncMutex::new(session)),
            holder: Arc::new(Mutex::new(None)),
            pinned: false,
        })
    }

    /// A slot whose `session` is never replaced: once it is gone, every query fails with
    /// [`Error::SnapshotEnded`].
    pub(crate) fn pinned(settings: Arc<Resolved>, session: Box<Session>) -> Arc<SessionSlot> {
        Arc::new(SessionSlot {
            settings,
            session: Arc::new(AsyncMutex::new(Some(session))),
            holder: Arc::new(Mutex::new(None)),
            pinned: true,
        })
    }

    pub(crate) fn settings(&self) -> &Resolved {
        &self.settings
    }

    pub(crate) fn shared_settings(&self) -> Arc<Resolved> {
        Arc::clone(&self.settings)
    }

    /// Waits until no other query holds the session, then lends it (connecting first if there is none).
    ///
    /// A query of the task that holds the session itself is refused with [`Error::ConnectionBusy`]: that task
    /// cannot end its own stream while it waits here.
    pub(crate) async fn checkout(self: Arc<Self>) -> Result<Lease, Error> {
        let mut guard = match Arc::clone(&self.session).try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                if *self.holder.lock().unwrap_or_else(PoisonError::into_inner) == Some(Poller::current()) {
                    return Err(Error::ConnectionBusy);
                }
                Arc::clone(&self.session).lock_owned().await
            }
        };
        if self.pinned {
            let session = match guard.take() {
                Some(session) if session.is_idle() => session,
                _ => return Err(Error::SnapshotEnded),
            };
            let home = SlotHome { guard, holder: Arc::clone(&self.holder) };
            // `fresh`: a failed query is never retried on a new session, which would not share the state.
            return Ok(Lease::new(session, Box::new(home), Arc::clone(&self.settings), true));
        }
        let (session, fresh) = match guard.take() {
            // No check here: a peek costs a system call per query, and a session that died while idle fails its
            // first send, which the query layer retries once on a fresh session (a pool does check: it may hold
            // sessions idle for long).
            Some(session) if session.is_idle() => (session, false),
            _ => (Session::connect(&self.settings).await?, true),
        };
        let home = SlotHome { guard, holder: Arc::clone(&self.holder) };
        Ok(Lease::new(session, Box::new(home), Arc::clone(&self.settings), fresh))
    }
}

/// A slot, locked for the query that holds its session.
struct SlotHome {
    guard: OwnedMutexGuard<Option<Box<Session>>>,
    holder: Arc<Mutex<Option<Poller>>>,
}

impl Home for SlotHome {
    fn keep(mut self: Box<Self>, session: Box<Session>) {
        *self.guard = Some(session);
    }

    fn discard(self: Box<Self>) {}

    fn held_by(&self, poller: Option<Poller>) {
        *self.holder.lock().unwrap_or_else(PoisonError::into_inner) = poller;
    }
}
