//! A scripted server on loopback that speaks just enough of PostgreSQL's protocol to reach what no real server
//! does: hostile or broken byte sequences. Everything that a real server can do is tested against a real one.
//!
//! It listens on loopback unless told otherwise, and runs on a thread of its own with its own runtime; every connection it accepts is handed to the script.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::{CertFiles, WHO};

type Script = Arc<dyn Fn(TcpStream) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A listener on `127.0.0.1` that runs `script` on every connection. Dropping it closes everything.
pub struct FakeServer {
    port: u16,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts the server.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub fn start<F, Fut>(script: F) -> FakeServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        FakeServer::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), script)
    }

    /// Starts the server on another local address (inside a private network namespace, say).
    ///
    /// # Panics
    ///
    /// If no port can be bound on `address`.
    pub fn start_on<F, Fut>(address: IpAddr, script: F) -> FakeServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: Script = Arc::new(move |socket| Box::pin(script(socket)));
        let listener = std::net::TcpListener::bind((address, 0))
            .unwrap_or_else(|e| panic!("{WHO}: cannot bind a loopback port for the fake server: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{WHO}: fake server: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{WHO}: fake server socket: {e}"));
        let (shutdown, stop) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => panic!("{WHO}: fake server runtime: {e}"),
            };
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => panic!("{WHO}: fake server listener: {e}"),
                };
                let accept = async {
                    loop {
                        let Ok((socket, _)) = listener.accept().await else { continue };
                        tokio::spawn(script(socket));
                    }
                };
                tokio::select! {
                    _ = stop => {}
                    () = accept => {}
                }
            });
        });
        FakeServer { port, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// The port it listens on, on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The request codes of SSLRequest and GSSENCRequest, which come before a StartupMessage.
const ENCRYPTION_REQUESTS: [[u8; 4]; 2] = [[0x04, 0xd2, 0x16, 0x2f], [0x04, 0xd2, 0x16, 0x30]];

/// Reads the client's StartupMessage (length-prefixed, no tag) and returns its body. A request for TLS or GSSAPI
/// encryption before it is declined with `N`, as a server without TLS does.
///
/// # Panics
///
/// If the client closes the connection first.
pub async fn read_startup<S: AsyncRead + AsyncWrite + Unpin>(socket: &mut S) -> Vec<u8> {
    loop {
        let body = read_untagged(socket).await;
        if body.len() == 4 && ENCRYPTION_REQUESTS.iter().any(|code| body[..] == code[..]) {
            socket.write_all(b"N").await.unwrap_or_else(|e| panic!("{WHO}: declining encryption: {e}"));
            continue;
        }
        return body;
    }
}

/// Reads the client's first packet (length-prefixed, no tag) as it is: an SSLRequest or a StartupMessage.
///
/// # Panics
///
/// If the client closes the connection first.
pub async fn read_untagged<S: AsyncRead + Unpin>(socket: &mut S) -> Vec<u8> {
    match try_read_untagged(socket).await {
        Some(body) => body,
        None => panic!("{WHO}: the client closed the connection before its startup packet"),
    }
}

/// Like [`read_untagged`], but `None` when the client closes the connection first.
pub async fn try_read_untagged<S: AsyncRead + Unpin>(socket: &mut S) -> Option<Vec<u8>> {
    let mut length = [0u8; 4];
    socket.read_exact(&mut length).await.ok()?;
    let mut body = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
    socket.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// Whether a packet read with [`read_untagged`] is an SSLRequest.
pub fn is_ssl_request(body: &[u8]) -> bool {
    body == ENCRYPTION_REQUESTS[0]
}

/// Reads tagged messages until one with `tag` (and returns it), or until the client closes.
pub async fn read_until<S: AsyncRead + Unpin>(socket: &mut S, tag: u8) -> Option<Vec<u8>> {
    loop {
        let mut header = [0u8; 5];
        socket.read_exact(&mut header).await.ok()?;
        let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let mut body = vec![0u8; length.saturating_sub(4)];
        socket.read_exact(&mut body).await.ok()?;
        if header[0] == tag {
            return Some(body);
        }
    }
}

/// A backend message: `tag`, its length, `body`.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// AuthenticationOk, BackendKeyData and ReadyForQuery: a session that is ready at once.
pub fn ready_session() -> Vec<u8> {
    let mut out = message(b'R', &0u32.to_be_bytes());
    out.extend(message(b'K', &[0, 0, 0, 42, 0, 0, 0, 7]));
    out.extend(message(b'Z', b"I"));
    out
}

/// An ErrorResponse with `severity`, `code` and `text`.
pub fn error_response(severity: &str, code: &str, text: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [(b'S', severity), (b'V', severity), (b'C', code), (b'M', text)] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    message(b'E', &body)
}

/// Plays the server's side of a TLS handshake with `cert` (after the `S` in answer to SSLRequest) and returns the
/// encrypted stream and the host name the client sent in its handshake (SNI), if any.
///
/// # Panics
///
/// If the certificate files cannot be read or the handshake fails.
pub async fn accept_tls(
    socket: TcpStream,
    cert: &CertFiles,
) -> (tokio_rustls::server::TlsStream<TcpStream>, Option<String>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(&cert.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("{WHO}: reading {}: {e}", cert.cert.display()));
    let key = PrivateKeyDer::from_pem_file(&cert.key)
        .unwrap_or_else(|e| panic!("{WHO}: reading {}: {e}", cert.key.display()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .unwrap_or_else(|e| panic!("{WHO}: fake server TLS configuration: {e}"));
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), socket)
        .await
        .unwrap_or_else(|e| panic!("{WHO}: fake server: reading the ClientHello: {e}"));
    let sni = start.client_hello().server_name().map(str::to_owned);
    let stream =
        start.into_stream(Arc::new(config)).await.unwrap_or_else(|e| panic!("{WHO}: fake server: TLS handshake: {e}"));
    (stream, sni)
}
