//! CancelRequest: asks the server, over a separate connection, to stop a session's running query.

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::BackendKey;
use super::transport::Transport;
use crate::config::Target;
use crate::error::Error;

/// Sends a CancelRequest and waits until the server has taken it (it closes the connection when done).
///
/// Waiting for the close matters: once the postmaster has signalled the backend, a cancel can no longer land on
/// a query sent after this one.
pub(crate) async fn cancel(target: &Target, key: BackendKey) -> Result<(), Error> {
    let mut io = Transport::open(target).await?;
    let mut buf = BytesMut::with_capacity(16);
    frontend::cancel_request(key.process_id, key.secret_key, &mut buf);
    io.write_all(&buf).await.map_err(|source| Error::ConnectionLost { source })?;
    let mut sink = [0u8; 64];
    loop {
        match io.read(&mut sink).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(source) => return Err(Error::ConnectionLost { source }),
        }
    }
}
