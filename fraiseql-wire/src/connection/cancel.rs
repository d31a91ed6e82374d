//! CancelRequest: asks the server, over a separate connection, to stop a session's running query.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::tls::TlsConnector;
use super::transport::{self, Address, Transport};
use crate::config::{Liveness, Target};
use crate::error::Error;
use crate::protocol::startup::{self, BackendKey};

/// The TLS settings of the session a cancel request is for: the request travels the same way, so that its secret
/// key is never exposed on a network the session itself was protected from.
#[derive(Clone)]
pub(crate) struct CancelTls {
    pub(crate) connector: Arc<TlsConnector>,
    pub(crate) host: String,
}

/// What the server gave a session to cancel its running query, and where to send it.
#[derive(Clone)]
pub(crate) struct CancelToken {
    pub(crate) target: Target,
    /// The address the session connected to: the request must reach the same server, not another address of
    /// the same name.
    pub(crate) address: Address,
    /// Set when the session runs over TLS.
    pub(crate) tls: Option<CancelTls>,
    pub(crate) key: BackendKey,
    pub(crate) liveness: Liveness,
}

impl CancelToken {
    /// Sends the CancelRequest and waits until the server has taken it (it closes the connection when done).
    ///
    /// Waiting for the close matters: once the postmaster has signalled the backend, a cancel can no longer land
    /// on a query sent after this one. This waits as long as the server lets it: callers bound it.
    pub(crate) async fn send(&self) -> Result<(), Error> {
        let mut buf = BytesMut::with_capacity(16);
        startup::cancel_request(&self.key, &mut buf);
        match &self.tls {
            None => deliver(Transport::open(&self.address, &self.target, &self.liveness).await?, &buf).await,
            Some(tls) => {
                let target = self.target.to_string();
                let Address::Tcp(address) = self.address else {
                    return Err(Error::protocol("a TLS session over a Unix socket"));
                };
                let tcp = transport::connect_tcp(address, &self.target, &self.liveness).await?;
                match tls.connector.start(tcp, &tls.host, &target).await? {
                    Ok(established) => deliver(established.stream, &buf).await,
                    // The session used TLS; a server that now refuses it is not sent the key in clear.
                    Err(_) => Err(Error::TlsUnavailable { target, sslmode: "require", implicit: false }),
                }
            }
        }
    }
}

async fn deliver<S: AsyncRead + AsyncWrite + Unpin>(mut io: S, request: &[u8]) -> Result<(), Error> {
    io.write_all(request).await.map_err(Error::lost)?;
    io.flush().await.map_err(Error::lost)?;
    let mut sink = [0u8; 64];
    loop {
        match io.read(&mut sink).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(source) => return Err(Error::lost(source)),
        }
    }
}

impl std::fmt::Debug for CancelToken {
    // The secret key stays out of logs: it is all it takes to cancel the session's queries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("target", &self.target)
            .field("tls", &self.tls.is_some())
            .field("key", &self.key)
            .finish()
    }
}
