//! The listener: a connection of its own that LISTENs on the watch's channel and turns notifications into
//! pending keys, pings the server when it has heard nothing for a while, and reconnects when it fails.
//!
//! It runs as a task so that notifications are read as they come, however slow the watch's consumer: the
//! server's queue is never held back by us, and what a slow consumer has not read yet is coalesced in the inbox.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::ResyncReason;
use super::inbox::Inbox;
use super::trigger::{Payload, parse_payload};
use crate::config::Resolved;
use crate::connection::Session;
use crate::error::Error;

/// The first pause before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) struct Listener {
    pub(super) settings: Arc<Resolved>,
    pub(super) channel: String,
    /// The `LISTEN` statement.
    pub(super) listen: String,
    pub(super) inbox: Arc<Inbox>,
    /// Silence after which the server is pinged, and the time a ping (or the LISTEN) may take.
    pub(super) keepalive: Duration,
    /// How long reconnecting may fail before the watch ends with the last error.
    pub(super) reconnect_timeout: Duration,
}

impl Listener {
    pub(super) async fn run(self) {
        let mut backoff = FIRST_BACKOFF;
        let mut failing_since: Option<Instant> = None;
        loop {
            // A connection that worked and broke is worth reconnecting; one refused at once may be refused for
            // good (a wrong password, a missing database).
            let (error, retriable) = match self.open().await {
                Ok(mut session) => {
                    backoff = FIRST_BACKOFF;
                    failing_since = None;
                    self.inbox.listening();
                    tracing::debug!(channel = %self.channel, "watch listening");
                    let error = self.hear(&mut session).await;
                    self.inbox.lost(&error);
                    tracing::warn!(channel = %self.channel, %error, "watch listener lost: reconnecting");
                    (error, true)
                }
                Err(error) => {
                    let retriable = error.is_retriable();
                    (error, retriable)
                }
            };
            let since = *failing_since.get_or_insert_with(Instant::now);
            if !retriable || since.elapsed() >= self.reconnect_timeout {
                self.inbox.failed(error);
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// A new connection with LISTEN in effect (the server has answered it).
    async fn open(&self) -> Result<Box<Session>, Error> {
        let mut session = Session::connect(&self.settings).await?;
        match timeout(self.keepalive, session.listen(&self.listen)).await {
            Ok(Ok(())) => Ok(session),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(Error::ReadTimeout { timeout: self.keepalive }),
        }
    }

    /// Hears notifications until the connection fails; returns why it did.
    async fn hear(&self, session: &mut Session) -> Error {
        loop {
            match timeout(self.keepalive, poll_fn(|cx| session.poll_notification(cx))).await {
                Ok(Ok(notification)) if notification.channel == self.channel => {
                    match parse_payload(&notification.payload) {
                        Payload::Keys(keys) => self.inbox.changed(keys),
                        Payload::Resync => self.inbox.resync(ResyncReason::Requested),
                    }
                }
                // Another channel's, LISTENed by no one here: nothing to do.
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return error,
                // Quiet is not an error: a ping tells a healthy server from a dead one or a broken path.
                Err(_) => match timeout(self.keepalive, session.ping()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => return error,
                    Err(_) => return Error::ReadTimeout { timeout: self.keepalive },
                },
            }
        }
    }
}
