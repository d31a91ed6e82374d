//! Servers that misbehave in ways no real server does, played by the harness's scripted fake server: each must
//! end in a typed error, with no hang and no panic.

use std::time::Duration;

use fraiseql_wire::{Client, Error};
use fraiseql_wire_tests::fake_server::{self, FakeServer};
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

/// Bound for anything that must not hang.
const NO_HANG: Duration = Duration::from_secs(10);

fn conninfo(server: &FakeServer) -> String {
    format!("host=127.0.0.1 port={} user=u dbname=d sslmode=disable connect_timeout=5", server.port())
}

/// A FATAL error in answer to a query, after which the server keeps the socket open: the error is the query's
/// result at once (no ReadyForQuery follows a FATAL), instead of a wait for an EOF that never comes.
#[tokio::test]
async fn a_fatal_error_on_an_open_socket_ends_the_query_at_once() {
    let server = FakeServer::start(|mut socket| async move {
        fake_server::read_startup(&mut socket).await;
        socket.write_all(&fake_server::ready_session()).await.expect("writing the session start");
        if fake_server::read_until(&mut socket, b'S').await.is_some() {
            let fatal =
                fake_server::error_response("FATAL", "57P01", "terminating connection due to administrator command");
            socket.write_all(&fatal).await.expect("writing the error");
        }
        // The socket stays open until the client closes it.
        let _ = fake_server::read_until(&mut socket, 0).await;
    });
    let client = timeout(NO_HANG, Client::connect(&conninfo(&server))).await.expect("connect hung").expect("connect");
    let result = timeout(NO_HANG, client.query("v").fetch_all()).await.expect("the query waited for an EOF");
    let error = result.expect_err("the server answered with FATAL");
    assert_eq!(error.code(), Some("57P01"), "{error:?}");
    assert!(error.is_connection_error(), "{error:?}");
}

/// A server that begins SCRAM and then asks for the password in clear gets nothing.
#[tokio::test]
async fn a_switch_from_scram_to_cleartext_sends_no_password() {
    // Every password message the server receives, then `None` once the client has closed the connection.
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<Option<Vec<u8>>>();
    let server = FakeServer::start(move |mut socket| {
        let seen = seen_tx.clone();
        async move {
            fake_server::read_startup(&mut socket).await;
            let mut sasl = 10u32.to_be_bytes().to_vec();
            sasl.extend_from_slice(b"SCRAM-SHA-256\0\0");
            socket.write_all(&fake_server::message(b'R', &sasl)).await.expect("writing the SASL request");
            if let Some(initial) = fake_server::read_until(&mut socket, b'p').await {
                let _ = seen.send(Some(initial));
                let cleartext = fake_server::message(b'R', &3u32.to_be_bytes());
                socket.write_all(&cleartext).await.expect("writing the request");
                // Whatever the client sends now is what a hostile server would have harvested.
                while let Some(sent) = fake_server::read_until(&mut socket, b'p').await {
                    let _ = seen.send(Some(sent));
                }
            }
            let _ = seen.send(None);
        }
    });
    let conninfo = format!("{} password=hunter2", conninfo(&server));
    let error = timeout(NO_HANG, Client::connect(&conninfo)).await.expect("connect hung").expect_err("refused");
    assert!(matches!(&error, Error::ServerAuthentication { reason } if reason.contains("cleartext")), "{error:?}");
    let mut sent = Vec::new();
    while let Some(message) = timeout(NO_HANG, seen_rx.recv()).await.expect("the client never closed").flatten() {
        sent.push(message);
    }
    assert_eq!(sent.len(), 1, "only the SCRAM initial response was sent: {sent:?}");
    assert!(!sent.iter().any(|m| m.windows(7).any(|w| w == b"hunter2")), "the password was sent: {sent:?}");
}
