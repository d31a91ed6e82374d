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

/// What a broken server sends in answer to a query, after ParseComplete and BindComplete.
async fn answer_query_with(bytes: Vec<u8>) -> Error {
    let server = FakeServer::start(move |mut socket| {
        let bytes = bytes.clone();
        async move {
            fake_server::read_startup(&mut socket).await;
            socket.write_all(&fake_server::ready_session()).await.expect("writing the session start");
            while fake_server::read_until(&mut socket, b'S').await.is_some() {
                let mut answer = fake_server::message(b'1', b"");
                answer.extend(fake_server::message(b'2', b""));
                answer.extend_from_slice(&bytes);
                if socket.write_all(&answer).await.is_err() {
                    return;
                }
            }
        }
    });
    let client = timeout(NO_HANG, Client::connect(&conninfo(&server))).await.expect("connect hung").expect("connect");
    let rows = timeout(NO_HANG, client.query("v").fetch_all()).await.expect("the query hung");
    rows.expect_err("a broken answer must be an error")
}

/// A RowDescription of one `json` column named `data`.
fn json_row_description() -> Vec<u8> {
    let mut body = 1i16.to_be_bytes().to_vec();
    body.extend_from_slice(b"data\0");
    body.extend_from_slice(&0i32.to_be_bytes()); // table
    body.extend_from_slice(&0i16.to_be_bytes()); // column
    body.extend_from_slice(&114i32.to_be_bytes()); // json
    body.extend_from_slice(&(-1i16).to_be_bytes());
    body.extend_from_slice(&(-1i32).to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    fake_server::message(b'T', &body)
}

/// A DataRow whose fields have these declared lengths and bytes.
fn data_row(fields: &[(i32, &[u8])]) -> Vec<u8> {
    let mut body = i16::try_from(fields.len()).expect("few fields").to_be_bytes().to_vec();
    for (length, bytes) in fields {
        body.extend_from_slice(&length.to_be_bytes());
        body.extend_from_slice(bytes);
    }
    fake_server::message(b'D', &body)
}

/// Broken answers to a query: each ends the query with a protocol error, at once.
#[tokio::test]
async fn broken_answers_to_a_query_are_protocol_errors() {
    let mut length_two_to_the_31 = vec![b'D'];
    length_two_to_the_31.extend_from_slice(&(1u32 << 31).to_be_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a DataRow with more fields than the RowDescription", {
            let mut bytes = json_row_description();
            bytes.extend(data_row(&[(2, b"{}"), (2, b"{}")]));
            bytes
        }),
        ("a negative field length other than -1", {
            let mut bytes = json_row_description();
            bytes.extend(data_row(&[(-2, b"")]));
            bytes
        }),
        ("a message length of 2^31", {
            let mut bytes = json_row_description();
            bytes.extend_from_slice(&length_two_to_the_31);
            bytes
        }),
        ("an unknown message tag", {
            let mut bytes = json_row_description();
            bytes.extend(fake_server::message(b'x', b"??"));
            bytes
        }),
        ("a DataRow before any RowDescription", data_row(&[(2, b"{}")])),
    ];
    for (case, bytes) in cases {
        let error = answer_query_with(bytes).await;
        assert!(matches!(error, Error::Protocol(_)), "{case}: {error:?}");
        assert!(error.is_connection_error(), "{case}: the connection must be dropped: {error:?}");
    }
}

/// Runs a SCRAM exchange against a server that answers the client's first message with what `server_first`
/// makes of the client's nonce, and the client's proof with `server_final`; returns the client's error.
async fn scram_against(server_first: fn(&str) -> String, server_final: &'static str) -> Error {
    let server = FakeServer::start(move |mut socket| async move {
        fake_server::read_startup(&mut socket).await;
        let mut sasl = 10u32.to_be_bytes().to_vec();
        sasl.extend_from_slice(b"SCRAM-SHA-256\0\0");
        socket.write_all(&fake_server::message(b'R', &sasl)).await.expect("writing the SASL request");
        let Some(initial) = fake_server::read_until(&mut socket, b'p').await else { return };
        let text = String::from_utf8_lossy(&initial).into_owned();
        // The nonce may itself contain `r=` (it is any printable character but `,`): take the attribute.
        let nonce = text.split_once(",r=").map(|(_, rest)| rest).unwrap_or_default();
        let nonce = nonce.split(',').next().unwrap_or_default().to_owned();
        let mut first = 11u32.to_be_bytes().to_vec();
        first.extend_from_slice(server_first(&nonce).as_bytes());
        socket.write_all(&fake_server::message(b'R', &first)).await.expect("writing server-first");
        if fake_server::read_until(&mut socket, b'p').await.is_none() {
            return;
        }
        let mut last = 12u32.to_be_bytes().to_vec();
        last.extend_from_slice(server_final.as_bytes());
        let _ = socket.write_all(&fake_server::message(b'R', &last)).await;
        let _ = fake_server::read_until(&mut socket, 0).await;
    });
    let conninfo = format!("{} password=secret", conninfo(&server));
    timeout(NO_HANG, Client::connect(&conninfo)).await.expect("connect hung").expect_err("a broken SCRAM exchange")
}

/// A broken SCRAM case: its name, the server-first message made from the client's nonce, the server-final
/// message, and the error expected.
type ScramCase = (&'static str, fn(&str) -> String, &'static str, fn(&Error) -> bool);

/// Broken or hostile SCRAM exchanges: each is refused with a typed error, and none hangs.
#[tokio::test]
async fn broken_scram_exchanges_are_refused() {
    let good_first = |nonce: &str| format!("r={nonce}srv,s=c2FsdA==,i=4096");
    let cases: Vec<ScramCase> = vec![
        (
            "a nonce that does not extend the client's",
            |_| "r=other,s=c2FsdA==,i=4096".to_owned(),
            "v=AAAA",
            |e| matches!(e, Error::Protocol(_)),
        ),
        (
            "a salt that is not base64",
            |n| format!("r={n}srv,s=!!!,i=4096"),
            "v=AAAA",
            |e| matches!(e, Error::Protocol(_)),
        ),
        (
            "0 iterations",
            |n| format!("r={n}srv,s=c2FsdA==,i=0"),
            "v=AAAA",
            |e| matches!(e, Error::ServerAuthentication { .. }),
        ),
        (
            "2^32-1 iterations",
            |n| format!("r={n}srv,s=c2FsdA==,i=4294967295"),
            "v=AAAA",
            |e| matches!(e, Error::ServerAuthentication { .. }),
        ),
        ("no server signature", good_first, "x=unexpected", |e| matches!(e, Error::ServerAuthentication { .. })),
        ("a wrong server signature", good_first, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", |e| {
            matches!(e, Error::ServerAuthentication { .. })
        }),
    ];
    for (case, server_first, server_final, expected) in cases {
        let error = scram_against(server_first, server_final).await;
        assert!(expected(&error), "{case}: {error:?}");
        assert!(!error.to_string().contains("secret"), "{case}: the password leaked into the message: {error}");
    }
}

/// NegotiateProtocolVersion during startup (a server that does not speak what the client asked for) is a typed
/// error, not a hang.
#[tokio::test]
async fn negotiate_protocol_version_during_startup_is_an_error() {
    let server = FakeServer::start(|mut socket| async move {
        fake_server::read_startup(&mut socket).await;
        let mut body = 0i32.to_be_bytes().to_vec();
        body.extend_from_slice(&0i32.to_be_bytes());
        let _ = socket.write_all(&fake_server::message(b'v', &body)).await;
        let _ = fake_server::read_until(&mut socket, 0).await;
    });
    let error =
        timeout(NO_HANG, Client::connect(&conninfo(&server))).await.expect("connect hung").expect_err("refused");
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
}

/// A byte that arrives behind the server's `S` before the TLS handshake is refused: whoever wrote it may sit on the
/// network path, and libpq once read it as if it came over TLS (CVE-2021-23222).
#[tokio::test]
async fn bytes_behind_the_tls_acceptance_are_refused() {
    let server = FakeServer::start(|mut socket| async move {
        if fake_server::is_ssl_request(&fake_server::read_untagged(&mut socket).await) {
            // `S` and a forged session start in one write, as an attacker would have them buffered.
            let mut answer = b"S".to_vec();
            answer.extend(fake_server::ready_session());
            socket.write_all(&answer).await.expect("writing the answer");
        }
        let _ = fake_server::read_until(&mut socket, 0).await;
    });
    let conninfo = format!("host=127.0.0.1 port={} user=u dbname=d sslmode=require connect_timeout=5", server.port());
    let result = timeout(NO_HANG, Client::connect(&conninfo)).await.expect("connect hung");
    match result {
        Err(Error::Protocol(message)) => assert!(message.contains("CVE-2021-23222"), "{message}"),
        other => panic!("expected a protocol violation, got {other:?}"),
    }
}

/// An `E` in answer to SSLRequest is neither read nor shown (anyone on the path could have written it), and the
/// client does not retry in plaintext (CVE-2024-10977).
#[tokio::test]
async fn an_error_in_answer_to_the_tls_request_is_not_shown_nor_retried_in_plaintext() {
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&connections);
    let server = FakeServer::start(move |mut socket| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            fake_server::read_untagged(&mut socket).await;
            let forged = fake_server::error_response("FATAL", "28000", "FORGED: visit evil.example to log in");
            socket.write_all(&forged).await.expect("writing the error");
            let _ = fake_server::read_until(&mut socket, 0).await;
        }
    });
    for mode in ["prefer", "allow", "require"] {
        let before = connections.load(std::sync::atomic::Ordering::SeqCst);
        let conninfo =
            format!("host=127.0.0.1 port={} user=u dbname=d sslmode={mode} connect_timeout=5", server.port());
        let result = timeout(NO_HANG, Client::connect(&conninfo)).await.expect("connect hung");
        let error = result.expect_err("the server only ever answers with an error");
        let opened = connections.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(matches!(error, Error::Protocol(_)), "{mode}: {error:?}");
        assert!(!error.to_string().contains("FORGED"), "{mode}: the forged text was shown: {error}");
        // allow starts in plaintext, is rejected (28000), then asks for TLS once; the others ask for TLS first and
        // stop there.
        let expected = if mode == "allow" { 2 } else { 1 };
        assert_eq!(opened, expected, "{mode}: connections opened");
    }
}

/// A server that authenticates the client and then never sends ReadyForQuery is an error within the connect
/// timeout, which is finite by default.
#[tokio::test]
async fn a_server_that_never_becomes_ready_fails_within_the_connect_timeout() {
    let server = FakeServer::start(|mut socket| async move {
        fake_server::read_startup(&mut socket).await;
        socket.write_all(&fake_server::message(b'R', &0u32.to_be_bytes())).await.expect("AuthenticationOk");
        let _ = fake_server::read_until(&mut socket, 0).await;
    });
    let conninfo = format!("host=127.0.0.1 port={} user=u dbname=d sslmode=disable connect_timeout=2", server.port());
    let started = std::time::Instant::now();
    let error = timeout(NO_HANG, Client::connect(&conninfo)).await.expect("connect hung").expect_err("never ready");
    assert!(matches!(error, Error::ConnectTimeout { .. }), "{error:?}");
    assert!(started.elapsed() >= Duration::from_secs(2) && started.elapsed() < NO_HANG);
}

/// A server that reports neither `in_hot_standby` nor `default_transaction_read_only` (as before PostgreSQL 14)
/// is asked its role with one query; the answer decides, and a malformed answer is a protocol error, never a
/// guess. `row` is the DataRow the script answers with.
fn role_answering_server(row: Vec<u8>) -> FakeServer {
    FakeServer::start(move |mut socket| {
        let row = row.clone();
        async move {
            fake_server::read_startup(&mut socket).await;
            socket.write_all(&fake_server::ready_session()).await.expect("writing the session start");
            if fake_server::read_until(&mut socket, b'Q').await.is_some() {
                let mut answer = fake_server::message(b'T', &[0, 0]);
                answer.extend(row);
                answer.extend(fake_server::message(b'C', b"SELECT 1\0"));
                answer.extend(fake_server::message(b'Z', b"I"));
                socket.write_all(&answer).await.expect("writing the answer");
            }
            let _ = fake_server::read_until(&mut socket, 0).await;
        }
    })
}

#[tokio::test]
async fn a_server_that_does_not_report_its_role_is_asked() {
    let standby = role_answering_server(data_row(&[(1, b"t"), (2, b"on")]));
    let with = |attrs: &str| format!("{} target_session_attrs={attrs}", conninfo(&standby));
    timeout(NO_HANG, Client::connect(&with("standby"))).await.expect("hung").expect("a standby is a standby");
    let error = timeout(NO_HANG, Client::connect(&with("read-write"))).await.expect("hung").unwrap_err();
    assert!(error.to_string().contains("(standby)"), "{error}");

    let garbled = role_answering_server(data_row(&[(1, b"t")]));
    let error = timeout(NO_HANG, Client::connect(&format!("{} target_session_attrs=primary", conninfo(&garbled))))
        .await
        .expect("hung")
        .unwrap_err();
    assert!(matches!(error, fraiseql_wire::Error::Protocol(_)), "{error:?}");
}
