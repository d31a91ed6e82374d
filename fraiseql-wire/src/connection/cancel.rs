//! CancelRequest: asks the server, over a separate connection, to stop a session's running query.

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::transport::Transport;
use crate::config::Target;
use crate::error::Error;

/// What the server gave a session to cancel its running query, and where to send it.
#[derive(Clone)]
pub(crate) struct CancelToken {
    pub(crate) target: Target,
    pub(crate) process_id: i32,
    pub(crate) secret_key: i32,
}

impl CancelToken {
    /// Sends the CancelRequest and waits until the server has taken it (it closes the connection when done).
    ///
    /// Waiting for the close matters: once the postmaster has signalled the backend, a cancel can no longer land
    /// on a query sent after this one. This waits as long as the server lets it: callers bound it.
    pub(crate) async fn send(&self) -> Result<(), Error> {
        let mut io = Transport::open(&self.target).await?;
        let mut buf = BytesMut::with_capacity(16);
        frontend::cancel_request(self.process_id, self.secret_key, &mut buf);
        io.write_all(&buf).await.map_err(Error::lost)?;
        let mut sink = [0u8; 64];
        loop {
            match io.read(&mut sink).await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(source) => return Err(Error::lost(source)),
            }
        }
    }
}

impl std::fmt::Debug for CancelToken {
    // The secret key stays out of logs: it is all it takes to cancel the session's queries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("target", &self.target).field("process_id", &self.process_id).finish()
    }
}
