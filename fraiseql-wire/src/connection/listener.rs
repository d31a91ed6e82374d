//! A session that listens: LISTEN, then notifications as they come, between pings of its owner.

use std::task::{Context, Poll, ready};

use super::session::Session;
use super::wire::Notification;
use crate::error::Error;

impl Session {
    /// Runs `listen` (a `LISTEN` statement) and keeps every notification from now on for
    /// [`poll_notification`](Self::poll_notification). Reads on this session no longer time out by themselves:
    /// a healthy listener may hear nothing for hours, so its owner pings it instead.
    pub(crate) async fn listen(&mut self, listen: &str) -> Result<(), Error> {
        self.wire.listen();
        self.command(listen).await.map(drop)
    }

    /// The next notification, read from the socket only when none is buffered. Any failure breaks the session.
    pub(crate) fn poll_notification(&mut self, cx: &mut Context<'_>) -> Poll<Result<Notification, Error>> {
        if !self.is_idle() {
            return Poll::Ready(Err(Error::protocol(format!(
                "notifications were awaited while the session was {}",
                self.state()
            ))));
        }
        match ready!(self.wire.poll_notification(cx)) {
            Ok(notification) => Poll::Ready(Ok(notification)),
            Err(error) => Poll::Ready(Err(self.fail(error))),
        }
    }
}
