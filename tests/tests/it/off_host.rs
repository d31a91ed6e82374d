//! A server outside the loopback interface, played by the fake server in a private network namespace: without an
//! explicit sslmode there is no plaintext fallback, and a cleartext password never crosses an unencrypted link
//! unless `require_auth` names it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fraiseql_wire::{Client, Error};
use fraiseql_wire_tests::fake_server::{self, FakeServer};
use fraiseql_wire_tests::netns::{OFF_LOOPBACK, in_private_network};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

const NO_HANG: Duration = Duration::from_secs(10);

/// What the fake server saw: whether the client asked for TLS first, and the password messages it got.
#[derive(Default)]
struct Seen {
    ssl_requests: usize,
    passwords: Vec<Vec<u8>>,
}

/// A server without TLS that asks for a cleartext password, then lets the client in.
fn cleartext_server(seen: Arc<Mutex<Seen>>) -> FakeServer {
    FakeServer::start_on(OFF_LOOPBACK, move |mut socket| {
        let seen = Arc::clone(&seen);
        async move {
            let first = fake_server::read_untagged(&mut socket).await;
            if fake_server::is_ssl_request(&first) {
                seen.lock().map(|mut s| s.ssl_requests += 1).ok();
                socket.write_all(b"N").await.expect("declining TLS");
                // Without an explicit sslmode the client leaves here.
                if fake_server::try_read_untagged(&mut socket).await.is_none() {
                    return;
                }
            }
            let cleartext = fake_server::message(b'R', &3u32.to_be_bytes());
            socket.write_all(&cleartext).await.expect("asking for the password");
            if let Some(password) = fake_server::read_until(&mut socket, b'p').await {
                seen.lock().map(|mut s| s.passwords.push(password)).ok();
                socket.write_all(&fake_server::ready_session()).await.expect("letting the client in");
            }
            let _ = fake_server::read_until(&mut socket, 0).await;
        }
    })
}

fn run(test: impl AsyncFnOnce() + Send) {
    in_private_network(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(test());
    });
}

#[test]
fn no_plaintext_fallback_off_loopback_unless_sslmode_says_so() {
    run(async || {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let server = cleartext_server(Arc::clone(&seen));
        let base = format!("host={OFF_LOOPBACK} port={} user=u dbname=d password=pw connect_timeout=5", server.port());

        let unset = timeout(NO_HANG, Client::connect(&base)).await.expect("hung");
        match &unset {
            Err(e @ Error::TlsUnavailable { implicit: true, .. }) => {
                assert!(e.to_string().contains("sslmode=prefer"), "{e}");
            }
            other => panic!("expected no plaintext fallback, got {other:?}"),
        }
        let asked = seen.lock().map(|s| (s.ssl_requests, s.passwords.len())).unwrap_or_default();
        assert_eq!(asked, (1, 0), "TLS was asked for and nothing else happened");

        // Saying prefer accepts plaintext; the cleartext password is still refused off loopback.
        let prefer = timeout(NO_HANG, Client::connect(&format!("{base} sslmode=prefer"))).await.expect("hung");
        assert!(matches!(prefer, Err(Error::CleartextPasswordRefused)), "{prefer:?}");
        assert!(seen.lock().map(|s| s.passwords.is_empty()).unwrap_or(false), "a password went out");

        // Naming `password` in require_auth is consent.
        let consent = format!("{base} sslmode=prefer require_auth=password");
        timeout(NO_HANG, Client::connect(&consent)).await.expect("hung").expect("connects with consent");
        let passwords = seen.lock().map(|s| s.passwords.clone()).unwrap_or_default();
        assert_eq!(passwords, vec![b"pw\0".to_vec()]);
    });
}

/// A dead path with no read timeout: TCP keepalives alone notice it within the configured time. A relay inside
/// the namespace forwards one connection to the real server outside it; then every packet inside the namespace
/// is dropped (no reset, no close), and the stream, which waits for rows that never come, fails once the
/// keepalive probes go unanswered.
#[test]
fn keepalives_notice_a_dead_path_without_a_read_timeout() {
    use fraiseql_wire_tests::netns::{SECOND_ADDRESS, cut_off};
    use fraiseql_wire_tests::{AuthUser, TestCluster};
    use futures_util::StreamExt;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let db = runtime.block_on(async {
        let db = TestCluster::shared().database().await;
        crate::common::create_endless_view(&db, 0).await;
        db
    });
    // Connected from outside the namespace, where the server is.
    let upstream = std::net::TcpStream::connect(("127.0.0.1", db.port())).expect("connect to the server");
    let dbname = db.name().to_owned();
    in_private_network(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind((SECOND_ADDRESS, 0)).await.expect("bind in the namespace");
            let port = listener.local_addr().expect("the relay's port").port();
            upstream.set_nonblocking(true).expect("nonblocking");
            let upstream = tokio::net::TcpStream::from_std(upstream).expect("the upstream socket");
            let relay = tokio::spawn(async move {
                let (mut client, _) = listener.accept().await.expect("the client connects");
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
            let conninfo = format!(
                "host={SECOND_ADDRESS} port={port} dbname={dbname} user={} password={} sslmode=disable \
                 read_timeout=0 tcp_user_timeout=0 keepalives_idle=1 keepalives_interval=1 keepalives_count=2",
                AuthUser::Scram.name(),
                AuthUser::Scram.password().unwrap_or_default()
            );
            let client = Client::connect(&conninfo).await.expect("connect through the relay");
            let mut rows = client.query("v_endless").stream();
            rows.next().await.expect("a row").expect("a good row");
            cut_off();
            let started = std::time::Instant::now();
            let error = timeout(Duration::from_secs(60), async {
                loop {
                    match rows.next().await {
                        Some(Ok(_)) => {}
                        Some(Err(error)) => return error,
                        None => panic!("the stream ended without an error"),
                    }
                }
            })
            .await
            .expect("keepalives did not notice the dead path within a minute");
            let took = started.elapsed();
            assert!(matches!(error, Error::ConnectionLost { .. }), "{error:?}");
            assert!(error.is_retriable());
            // Buffered rows drain first; then 1 s of silence and two probes 1 s apart.
            assert!(took < Duration::from_secs(20), "noticed after {took:?}");
            println!("figure: keepalives noticed the dead path after {took:.2?}");
            relay.abort();
        });
    });
    drop(db);
}
