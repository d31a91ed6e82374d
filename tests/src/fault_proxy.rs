//! A TCP proxy on loopback that injects network faults between a client and a server, switchable while
//! connections run: pass, delay, throttle, stall, close (FIN), reset (RST), or cut the next server message in half.
//!
//! It runs on a thread of its own with its own runtime, like the fake server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::WHO;

/// What the proxy does to the bytes it forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward at once.
    Pass,
    /// Hold every chunk this long before forwarding it.
    Delay(Duration),
    /// Hold every chunk for the first duration plus a varying part of up to the second (deterministic, so runs
    /// repeat).
    Jitter(Duration, Duration),
    /// Forward at most this many bytes per second (in both directions, each).
    Throttle(u64),
    /// Stop forwarding; keep both sockets open (a dead peer, a dropped NAT entry, a wedged middlebox).
    Stall,
    /// Close both sides with FIN.
    Close,
    /// Reset the client's side (RST) and close the server's.
    Reset,
    /// Forward the first half of the next chunk from the server, then close both sides.
    Cut,
}

/// A fault-injecting proxy in front of `127.0.0.1:<upstream port>`. Dropping it closes everything.
pub struct FaultProxy {
    port: u16,
    fault: watch::Sender<Fault>,
    connections: Arc<AtomicUsize>,
    from_server: Arc<Mutex<Vec<u8>>>,
    client_reads: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream_port` that passes everything.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub fn start(upstream_port: u16) -> FaultProxy {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("{WHO}: cannot bind a loopback port for the fault proxy: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{WHO}: proxy port: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{WHO}: proxy socket: {e}"));
        let (fault, watcher) = watch::channel(Fault::Pass);
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let from_server = Arc::new(Mutex::new(Vec::new()));
        let recorder = Arc::clone(&from_server);
        let client_reads = Arc::new(AtomicUsize::new(0));
        let reads = Arc::clone(&client_reads);
        let (shutdown, stop) = oneshot::channel();
        let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream_port));
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => panic!("{WHO}: fault proxy runtime: {e}"),
            };
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => panic!("{WHO}: fault proxy listener: {e}"),
                };
                let accept = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else { continue };
                        counter.fetch_add(1, Ordering::SeqCst);
                        let counts = (Arc::clone(&recorder), Arc::clone(&reads));
                        tokio::spawn(relay(client, upstream, watcher.clone(), counts));
                    }
                };
                tokio::select! {
                    _ = stop => {}
                    () = accept => {}
                }
            });
        });
        FaultProxy {
            port,
            fault,
            connections,
            from_server,
            client_reads,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The port it listens on, on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Switches every connection, present and future, to `fault`.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// How many connections the proxy has accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// How many reads from clients returned bytes, over all connections: a client that writes several messages
    /// at once (a pipeline) costs one, where one that waits for each answer costs one per message.
    pub fn client_reads(&self) -> usize {
        self.client_reads.load(Ordering::SeqCst)
    }

    /// The last bytes (up to [`RECORDED_TAIL`]) the server sent through the proxy, over all connections: what
    /// the server really said before a connection ended, whatever the client made of it.
    pub fn server_tail(&self) -> Vec<u8> {
        self.from_server.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// How many of the server's last bytes [`FaultProxy::server_tail`] keeps.
pub const RECORDED_TAIL: usize = 64 * 1024;

fn record(tail: &Mutex<Vec<u8>>, chunk: &[u8]) {
    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
    tail.extend_from_slice(chunk);
    let excess = tail.len().saturating_sub(RECORDED_TAIL);
    tail.drain(..excess);
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Forwards one connection both ways, as the fault in force says, until either side closes or a fault ends it.
async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut fault: watch::Receiver<Fault>,
    (from_server_tail, client_reads): (Arc<Mutex<Vec<u8>>>, Arc<AtomicUsize>),
) {
    let initial = *fault.borrow();
    let mut server = match initial {
        Fault::Close | Fault::Reset => return end(client, initial),
        _ => match TcpStream::connect(upstream).await {
            Ok(server) => server,
            Err(_) => return,
        },
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut from_server) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let (mut client_open, mut server_open) = (true, true);
    let mut chunks = 0u64;
    loop {
        chunks += 1;
        let current = *fault.borrow_and_update();
        match current {
            Fault::Close | Fault::Reset => return end(client, current),
            Fault::Stall => {
                // Nothing is read, so nothing moves: both sides see a silent peer with an open socket.
                if fault.changed().await.is_err() {
                    return;
                }
                continue;
            }
            _ => {}
        }
        tokio::select! {
            read = client.read(&mut from_client), if client_open => match read {
                Ok(0) | Err(_) => {
                    client_open = false;
                    let _ = server.shutdown().await;
                }
                Ok(n) => {
                    client_reads.fetch_add(1, Ordering::SeqCst);
                    if forward(&mut server, &from_client[..n], current, chunks).await.is_err() {
                        return;
                    }
                }
            },
            read = server.read(&mut from_server), if server_open => match read {
                Ok(0) | Err(_) => {
                    server_open = false;
                    let _ = client.shutdown().await;
                }
                Ok(n) if current == Fault::Cut => {
                    // Half a chunk reaches the client, then the connection ends: a message cut in the middle.
                    record(&from_server_tail, &from_server[..n / 2]);
                    let _ = client.write_all(&from_server[..n / 2]).await;
                    return end(client, Fault::Close);
                }
                Ok(n) => {
                    record(&from_server_tail, &from_server[..n]);
                    if forward(&mut client, &from_server[..n], current, chunks).await.is_err() {
                        return;
                    }
                }
            },
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        if !client_open && !server_open {
            return;
        }
    }
}

/// `sequence` numbers the chunk, to vary the jitter without randomness.
async fn forward(to: &mut TcpStream, chunk: &[u8], fault: Fault, sequence: u64) -> std::io::Result<()> {
    match fault {
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            to.write_all(chunk).await
        }
        Fault::Jitter(base, spread) => {
            // A multiplicative hash of the chunk number spreads the delays evenly over 0..spread.
            let fraction = (sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
            tokio::time::sleep(base + spread.mul_f64(fraction)).await;
            to.write_all(chunk).await
        }
        Fault::Throttle(bytes_per_second) => throttled(to, chunk, bytes_per_second).await,
        _ => to.write_all(chunk).await,
    }
}

/// Ends a connection towards the client: FIN for `Close`, RST for `Reset`. The server's side is closed when
/// its stream is dropped.
fn end(client: TcpStream, fault: Fault) {
    if fault == Fault::Reset {
        // A zero linger time makes close send RST instead of FIN.
        let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
    }
    drop(client);
}

async fn throttled(to: &mut TcpStream, chunk: &[u8], bytes_per_second: u64) -> std::io::Result<()> {
    // Slices of a tenth of a second's worth.
    let slice = usize::try_from((bytes_per_second / 10).max(1)).unwrap_or(usize::MAX);
    for piece in chunk.chunks(slice) {
        to.write_all(piece).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
