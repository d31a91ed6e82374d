//! A TCP proxy on loopback between a client and a cluster, for tests that need the path to the server to
//! misbehave in a way no real server does on its own.
//!
//! It runs on a thread of its own with its own runtime, so a test's runtime counts only the client's tasks.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::WHO;

/// The code of a CancelRequest, after its length (16).
const CANCEL_REQUEST_CODE: u32 = 80_877_102;
/// The code of an SSLRequest, after its length (8).
const SSL_REQUEST_CODE: u32 = 80_877_103;

/// A proxy in front of `127.0.0.1:<upstream port>`.
///
/// Ordinary connections are forwarded both ways. A connection that opens with a CancelRequest is accepted and
/// read, and never answered nor closed: a cancel target that hangs, as a stalled network or a wedged server
/// looks to the client. Dropping the proxy closes everything.
pub struct Proxy {
    port: u16,
    counts: Arc<Counts>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    cancel_requests: AtomicUsize,
    /// The secret keys of the CancelRequests that arrived, for the tests that check no log shows them.
    cancel_keys: std::sync::Mutex<Vec<Vec<u8>>>,
    cancels_closed_by_client: AtomicUsize,
    ssl_requests: AtomicUsize,
}

impl Proxy {
    /// Starts a proxy to `upstream_port` that swallows cancel requests.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub fn swallowing_cancels(upstream_port: u16) -> Proxy {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("{WHO}: cannot bind a loopback port for the proxy: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{WHO}: proxy port: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{WHO}: proxy socket: {e}"));
        let counts = Arc::new(Counts::default());
        let (shutdown, stop) = oneshot::channel();
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port));
        let thread_counts = counts.clone();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => panic!("{WHO}: proxy runtime: {e}"),
            };
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => panic!("{WHO}: proxy listener: {e}"),
                };
                tokio::select! {
                    _ = stop => {}
                    () = serve(listener, upstream, thread_counts) => {}
                }
            });
        });
        Proxy { port, counts, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// The port the proxy listens on, on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many CancelRequests arrived.
    pub fn cancel_requests(&self) -> usize {
        self.counts.cancel_requests.load(Ordering::SeqCst)
    }

    /// The secret key of each CancelRequest that arrived (after the process id), in order.
    pub fn cancel_keys(&self) -> Vec<Vec<u8>> {
        self.counts.cancel_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// How many connections opened with an SSLRequest (they are forwarded like any other).
    pub fn ssl_requests(&self) -> usize {
        self.counts.ssl_requests.load(Ordering::SeqCst)
    }

    /// How many of the swallowed CancelRequest connections the client closed (gave up on).
    pub fn cancels_closed_by_client(&self) -> usize {
        self.counts.cancels_closed_by_client.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: TcpListener, upstream: SocketAddr, counts: Arc<Counts>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        tokio::spawn(handle(client, upstream, counts.clone()));
    }
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, counts: Arc<Counts>) {
    let mut head = [0u8; 8];
    if client.read_exact(&mut head).await.is_err() {
        return;
    }
    let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    // 16 bytes with protocol 3.0's 4-byte key; protocol 3.2 allows keys of up to 256 bytes.
    if (16..=8 + 4 + 256).contains(&length) && code == CANCEL_REQUEST_CODE {
        let mut body = vec![0u8; length as usize - 8];
        if client.read_exact(&mut body).await.is_err() {
            return;
        }
        counts.cancel_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(body.split_off(4));
        counts.cancel_requests.fetch_add(1, Ordering::SeqCst);
        // Read whatever comes, answer nothing, close nothing: only the client can end this.
        let mut sink = [0u8; 64];
        while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        counts.cancels_closed_by_client.fetch_add(1, Ordering::SeqCst);
        return;
    }
    if length == 8 && code == SSL_REQUEST_CODE {
        counts.ssl_requests.fetch_add(1, Ordering::SeqCst);
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    if server.write_all(&head).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
