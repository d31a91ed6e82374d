//! The byte pipe under a connection: TCP, TLS over TCP or, on Unix, a Unix-domain socket.
//!
//! Elsewhere a Unix socket directory in the settings is refused with [`Error::Unsupported`] when connecting.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use crate::config::{Host, Liveness, Target};
use crate::error::Error;

pub(crate) enum Transport {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    #[cfg(unix)]
    Unix(UnixStream),
    /// Recorded server bytes, for the property tests and fuzz targets of the read path.
    #[cfg(any(test, feature = "fuzzing"))]
    Replay(super::replay::Replay),
}

/// One address of a target: what a connection attempt dials. A host name may have several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Address {
    Tcp(SocketAddr),
    /// A Unix socket directory (the port names the socket file in it).
    Unix(PathBuf),
}

impl Address {
    /// The target's addresses, in the order the resolver gives them (a host name is looked up; a `hostaddr`, an IP
    /// address or a socket directory is its own only address).
    pub(crate) async fn of(target: &Target) -> Result<Vec<Address>, Error> {
        let host = match (&target.host, target.addr) {
            (_, Some(addr)) => return Ok(vec![Address::Tcp(SocketAddr::new(addr, target.port))]),
            (Host::Tcp(host), None) => host,
            (Host::Unix(dir), None) => return Ok(vec![Address::Unix(dir.clone())]),
        };
        let found = tokio::net::lookup_host((host.as_str(), target.port)).await.map_err(|source| Error::Connect {
            target: target.to_string(),
            advice: "the host name could not be resolved: check its spelling and the DNS configuration",
            source,
        })?;
        let addresses: Vec<Address> = found.map(Address::Tcp).collect();
        if addresses.is_empty() {
            return Err(Error::Connect {
                target: target.to_string(),
                advice: "the host name resolved to no address: check the DNS configuration",
                source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
            });
        }
        Ok(addresses)
    }
}

/// Opens a TCP connection with the liveness settings, mapping the OS error to one that says what to check.
pub(crate) async fn connect_tcp(address: SocketAddr, target: &Target, liveness: &Liveness) -> Result<TcpStream, Error> {
    let result = TcpStream::connect(address).await.and_then(|stream| {
        // Requests are single small writes; Nagle would only delay them.
        stream.set_nodelay(true)?;
        apply_liveness(&stream, liveness)?;
        Ok(stream)
    });
    result.map_err(|source| Error::Connect { target: target.to_string(), advice: advice(target, &source), source })
}

/// TCP keepalives, so that a dead peer is noticed on an idle connection, and TCP_USER_TIMEOUT, so that data the
/// peer never acknowledges is given up on.
fn apply_liveness(stream: &TcpStream, liveness: &Liveness) -> std::io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    match liveness.keepalive {
        Some(keepalive) => {
            let probing = socket2::TcpKeepalive::new().with_time(keepalive.idle).with_interval(keepalive.interval);
            #[cfg(not(any(target_os = "openbsd", target_os = "redox", target_os = "solaris", target_os = "windows")))]
            let probing = probing.with_retries(keepalive.count);
            socket.set_tcp_keepalive(&probing)?;
        }
        None => socket.set_keepalive(false)?,
    }
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    if let Some(timeout) = liveness.tcp_user_timeout {
        socket.set_tcp_user_timeout(Some(timeout))?;
    }
    Ok(())
}

/// Whether the peer is on the loopback interface, where no one else can read the bytes.
pub(crate) fn is_loopback(stream: &TcpStream) -> bool {
    stream.peer_addr().is_ok_and(|addr| match addr.ip() {
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        ip => ip.is_loopback(),
    })
}

impl Transport {
    /// The TLS version in use (`TLSv1.3`), `None` without TLS.
    pub(crate) fn tls_version(&self) -> Option<&'static str> {
        match self {
            Transport::Tls(stream) => Some(match stream.get_ref().1.protocol_version()? {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
                rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
                _ => "other",
            }),
            _ => None,
        }
    }

    /// Whether the socket is open with nothing to read, found without waiting: a peek that would block. Data the
    /// server sent unasked, an EOF or an error all say the connection is not fit for a new query.
    #[cfg_attr(not(feature = "pool"), allow(dead_code))]
    pub(crate) fn is_quiet(&self) -> bool {
        let socket = match self {
            Transport::Tcp(s) => socket2::SockRef::from(s),
            Transport::Tls(s) => socket2::SockRef::from(s.get_ref().0),
            #[cfg(unix)]
            Transport::Unix(s) => socket2::SockRef::from(s),
            #[cfg(any(test, feature = "fuzzing"))]
            Transport::Replay(_) => return true,
        };
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        // Tokio's sockets are non-blocking, so the peek returns at once.
        matches!(socket.peek(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Opens a plaintext pipe to one of `target`'s addresses, mapping the OS error to one that says what to check.
    pub(crate) async fn open(address: &Address, target: &Target, liveness: &Liveness) -> Result<Transport, Error> {
        let result = match address {
            Address::Tcp(address) => return connect_tcp(*address, target, liveness).await.map(Transport::Tcp),
            #[cfg(unix)]
            Address::Unix(dir) => {
                UnixStream::connect(dir.join(format!(".s.PGSQL.{}", target.port))).await.map(Transport::Unix)
            }
            #[cfg(not(unix))]
            Address::Unix(dir) => {
                return Err(Error::unsupported(
                    format!("the Unix-domain socket directory {}", dir.display()),
                    "this platform has no Unix-domain sockets; connect over TCP (host=localhost)",
                ));
            }
        };
        result.map_err(|source| Error::Connect { target: target.to_string(), advice: advice(target, &source), source })
    }
}

fn advice(target: &Target, error: &io::Error) -> &'static str {
    match (&target.host, error.kind()) {
        (Host::Tcp(_), io::ErrorKind::ConnectionRefused) => {
            "is the server running and accepting TCP connections on that host and port? \
             Check with `pg_isready -h <host> -p <port>` and the server's listen_addresses and port settings"
        }
        (Host::Unix(_), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) => {
            "no server is listening on that socket: is the server running, and does its unix_socket_directories \
             include this directory? Check with `pg_isready -h <dir> -p <port>`"
        }
        (_, io::ErrorKind::PermissionDenied) => {
            "the operating system denied access: check the socket directory's permissions or firewall rules"
        }
        (_, io::ErrorKind::TimedOut) => "the host did not answer: check the address, routing and firewall",
        _ => "check the host name, the port and the network path to the server",
    }
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            #[cfg(unix)]
            Transport::Unix(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(any(test, feature = "fuzzing"))]
            Transport::Replay(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            #[cfg(unix)]
            Transport::Unix(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(any(test, feature = "fuzzing"))]
            Transport::Replay(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(unix)]
            Transport::Unix(s) => Pin::new(s).poll_flush(cx),
            #[cfg(any(test, feature = "fuzzing"))]
            Transport::Replay(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            #[cfg(unix)]
            Transport::Unix(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(any(test, feature = "fuzzing"))]
            Transport::Replay(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
