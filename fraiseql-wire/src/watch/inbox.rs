//! What the listener hands to the watch: the keys that changed (each once, oldest first, at most
//! `max_pending_keys`), whether everything must be read again and why, and the listener's health.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use super::ResyncReason;
use crate::error::Error;

/// Shared by the listener task and the watch stream.
pub(super) struct Inbox {
    inner: Mutex<Pending>,
}

struct Pending {
    /// Keys in the order they first changed, so that a flood of new changes cannot starve an old one.
    order: VecDeque<String>,
    queued: HashSet<String>,
    max_keys: usize,
    /// Set when what is pending no longer describes every change: the watch reads everything again.
    resync: Option<ResyncReason>,
    listener: Listener,
    waker: Option<Waker>,
}

/// The listener's health, as the watch sees it.
#[derive(Debug)]
pub(super) enum Listener {
    /// Connecting (or reconnecting): no change is heard.
    Down,
    /// LISTEN is in effect: every commit from now on is heard.
    Up,
    /// It gave up: the error ends the watch.
    Failed(Option<Error>),
}

impl Inbox {
    pub(super) fn new(max_keys: usize) -> Inbox {
        Inbox {
            inner: Mutex::new(Pending {
                order: VecDeque::new(),
                queued: HashSet::new(),
                max_keys,
                resync: None,
                listener: Listener::Down,
                waker: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing here panics while holding the lock; a poisoned one still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keys a notification named.
    pub(super) fn changed(&self, keys: Vec<String>) {
        let mut pending = self.lock();
        // A read of everything is due: it covers these changes.
        if pending.resync.is_some() {
            return;
        }
        for key in keys {
            if pending.queued.contains(&key) {
                continue;
            }
            if pending.order.len() >= pending.max_keys {
                pending.overflow(ResyncReason::Overflow);
                break;
            }
            pending.queued.insert(key.clone());
            pending.order.push_back(key);
        }
        pending.wake();
    }

    /// Everything must be read again, for `reason`.
    pub(super) fn resync(&self, reason: ResyncReason) {
        let mut pending = self.lock();
        pending.overflow(reason);
        pending.wake();
    }

    /// LISTEN is in effect again.
    pub(super) fn listening(&self) {
        let mut pending = self.lock();
        pending.listener = Listener::Up;
        pending.wake();
    }

    /// The listening connection failed: changes go unheard until it is back.
    pub(super) fn lost(&self, cause: &Error) {
        let mut pending = self.lock();
        pending.listener = Listener::Down;
        pending.overflow(ResyncReason::ListenerLost { cause: cause.to_string() });
        pending.wake();
    }

    /// The listener gave up with `error`.
    pub(super) fn failed(&self, error: Error) {
        let mut pending = self.lock();
        pending.listener = Listener::Failed(Some(error));
        pending.wake();
    }

    /// Before a snapshot: whether the listener is up (else `waker` is woken when that changes, or the listener's
    /// error if it gave up). When it is, what is pending is dropped, since the snapshot, read from now on, covers
    /// it.
    pub(super) fn begin_snapshot(&self, waker: &Waker) -> Result<bool, Error> {
        let mut pending = self.lock();
        match &mut pending.listener {
            Listener::Up => {
                pending.order.clear();
                pending.queued.clear();
                pending.resync = None;
                Ok(true)
            }
            Listener::Down => {
                pending.waker = Some(waker.clone());
                Ok(false)
            }
            Listener::Failed(error) => Err(error.take().unwrap_or(Error::protocol("the watch's listener ended"))),
        }
    }

    /// Why everything must be read again, if it must.
    pub(super) fn resync_due(&self) -> Option<ResyncReason> {
        self.lock().resync.clone()
    }

    /// Up to `n` keys to read again, oldest first; none means `waker` is woken when that changes.
    pub(super) fn take(&self, n: usize, waker: &Waker) -> Result<Vec<String>, ResyncReason> {
        let mut pending = self.lock();
        if let Some(reason) = &pending.resync {
            return Err(reason.clone());
        }
        let n = n.min(pending.order.len());
        let keys: Vec<String> = pending.order.drain(..n).collect();
        for key in &keys {
            pending.queued.remove(key);
        }
        if keys.is_empty() {
            pending.waker = Some(waker.clone());
        }
        Ok(keys)
    }

    /// How many keys wait to be read again.
    pub(super) fn pending_keys(&self) -> usize {
        self.lock().order.len()
    }
}

impl Pending {
    fn overflow(&mut self, reason: ResyncReason) {
        self.order = VecDeque::new();
        self.queued = HashSet::new();
        self.resync.get_or_insert(reason);
    }

    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}
