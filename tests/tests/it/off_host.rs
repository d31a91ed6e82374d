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
                fake_server::read_untagged(&mut socket).await;
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
