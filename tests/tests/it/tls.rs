//! TLS against real servers (PostgreSQL 15 and 18): the sslmode matrix of `docs/TLS.md`, client certificates,
//! SCRAM channel binding, direct TLS, expired certificates, cancel requests and reconnects over TLS.

use std::time::Duration;

use fraiseql_wire::{Client, Config, Error, TlsFailure};
use fraiseql_wire_tests::{AuthUser, CERT_USER, Proxy, TestCerts, TestCluster};

use crate::common::tls::{
    Kind, MATRIX_ROLES, cluster, connect_and_check, conninfo, conninfo_as, options, server_sees_tls, ssl_database,
};
use crate::common::{create_endless_view, wait_for};

/// One row of the documented matrix.
#[derive(Debug)]
struct Cell {
    ssl: bool,
    hba: String,
    mode: String,
    root: String,
    host: String,
    outcome: String,
}

fn documented_matrix() -> Vec<Cell> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/TLS.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
            match cells.as_slice() {
                [ssl @ ("on" | "off"), hba, mode, root, host, outcome] => Some(Cell {
                    ssl: *ssl == "on",
                    hba: (*hba).to_owned(),
                    mode: (*mode).to_owned(),
                    root: (*root).to_owned(),
                    host: (*host).to_owned(),
                    outcome: (*outcome).to_owned(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The matrix's name for what happened.
fn outcome(result: Result<bool, Error>) -> String {
    match result {
        Ok(true) => "TLS".to_owned(),
        Ok(false) => "plain".to_owned(),
        Err(Error::TlsUnavailable { .. }) => "no TLS server".to_owned(),
        Err(Error::Tls { failure: TlsFailure::UntrustedCertificate, .. }) => "untrusted".to_owned(),
        Err(Error::Tls { failure: TlsFailure::HostnameMismatch, .. }) => "name mismatch".to_owned(),
        Err(Error::Config { message, .. }) if message.contains("root certificate") => "no root cert".to_owned(),
        Err(e) if e.code() == Some("28000") => "hba".to_owned(),
        Err(e) => format!("unexpected error: {e}"),
    }
}

async fn check_matrix(on: Kind, off: Kind) {
    let certs = TestCerts::get();
    let matrix = documented_matrix();
    assert_eq!(matrix.len(), 216, "docs/TLS.md must list every cell");
    let missing = certs.dir().join("no-such-root.crt");
    let mut wrong = Vec::new();
    for ssl in [true, false] {
        let db = ssl_database(cluster(if ssl { on } else { off })).await;
        for cell in matrix.iter().filter(|cell| cell.ssl == ssl) {
            let role = MATRIX_ROLES.iter().find(|(line, _)| *line == cell.hba).map(|(_, role)| *role);
            let role = role.unwrap_or_else(|| panic!("unknown hba type in docs/TLS.md: {cell:?}"));
            let root = match cell.root.as_str() {
                "none" => &missing,
                "right" => &certs.ca,
                "wrong" => &certs.other_ca,
                other => panic!("unknown root in docs/TLS.md: {other}"),
            };
            let extra = format!("sslmode={} sslrootcert={}", cell.mode, root.display());
            let got = outcome(connect_and_check(&conninfo(&db, &cell.host, role, &extra)).await);
            if got != cell.outcome {
                wrong.push(format!("{cell:?}: got `{got}`"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells differ from docs/TLS.md:\n{}", wrong.len(), wrong.join("\n"));
}

#[tokio::test]
async fn sslmode_matrix_matches_the_documented_table_on_postgres_15() {
    check_matrix(Kind::Pg15Tls, Kind::Pg15Plain).await;
}

#[tokio::test]
async fn sslmode_matrix_matches_the_documented_table_on_postgres_18() {
    check_matrix(Kind::Pg18Tls, Kind::Pg18Plain).await;
}

/// `cert clientcert=verify-full`: the right certificate (with a PKCS#8 or a PKCS#1 key) gets in; none, one from
/// another CA, or an expired one is refused with an error that says so.
#[tokio::test]
async fn client_certificate_authentication_on_both_versions() {
    for kind in [Kind::Pg15Tls, Kind::Pg18Tls] {
        client_certificate_authentication(kind).await;
    }
}

async fn client_certificate_authentication(kind: Kind) {
    let certs = TestCerts::get();
    let db = ssl_database(cluster(kind)).await;
    let base = format!("sslmode=verify-full sslrootcert={}", certs.ca.display());
    for pair in [&certs.client, &certs.client_pkcs1] {
        let extra = format!("{base} sslcert={} sslkey={}", pair.cert.display(), pair.key.display());
        let client = Client::connect(&conninfo(&db, "localhost", CERT_USER, &extra))
            .await
            .unwrap_or_else(|e| panic!("{kind:?} {}: {e}", pair.key.display()));
        let row = client.query("v_ssl").fetch_one().await.expect("v_ssl");
        assert_eq!((row["ssl"].as_bool(), row["user"].as_str()), (Some(true), Some(CERT_USER)));
    }

    let without = Client::connect(&conninfo(&db, "localhost", CERT_USER, &base)).await.expect_err("no certificate");
    assert_eq!(without.code(), Some("28000"), "{without}");
    assert!(without.to_string().contains("certificate"), "{without}");

    for pair in [&certs.client_other_ca, &certs.client_expired] {
        let extra = format!("{base} sslcert={} sslkey={}", pair.cert.display(), pair.key.display());
        match Client::connect(&conninfo(&db, "localhost", CERT_USER, &extra)).await {
            Err(e @ Error::Tls { failure: TlsFailure::ClientCertificateRefused, .. }) => {
                assert!(e.to_string().contains("sslcert"), "{e}");
            }
            other => {
                panic!("{kind:?} {}: expected the server to refuse the certificate, got {other:?}", pair.cert.display())
            }
        }
    }
}

/// A private key that others can read is refused before connecting, as libpq does.
#[tokio::test]
async fn a_private_key_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let certs = TestCerts::get();
    let db = ssl_database(cluster(Kind::Pg15Tls)).await;
    let open_key = certs.dir().join("client-open.key");
    std::fs::copy(&certs.client.key, &open_key).expect("copy the key");
    std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let extra = format!("sslmode=require sslcert={} sslkey={}", certs.client.cert.display(), open_key.display());
    match Client::connect(&conninfo(&db, "localhost", CERT_USER, &extra)).await {
        Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("chmod 600"), "{e}"),
        other => panic!("expected a settings error, got {other:?}"),
    }
}

/// Over TLS, SCRAM binds to the server's certificate. `channel_binding=require` accepts nothing but
/// SCRAM-SHA-256-PLUS, and the server completes that exchange only after checking the binding data against its
/// own certificate: a successful connection is the server's confirmation.
#[tokio::test]
async fn scram_plus_is_negotiated_over_tls_on_both_versions() {
    let certs = TestCerts::get();
    for kind in [Kind::Pg15Tls, Kind::Pg18Tls] {
        let db = ssl_database(cluster(kind)).await;
        let extra = format!("sslmode=verify-full sslrootcert={} channel_binding=require", certs.ca.display());
        let tls = connect_and_check(&conninfo_as(&db, "localhost", AuthUser::Scram, &extra)).await;
        assert!(tls.unwrap_or_else(|e| panic!("{kind:?}: {e}")), "{kind:?}: not encrypted");
    }
}

fn binding_refusal(result: Result<bool, Error>) -> String {
    match result {
        Err(e @ Error::ChannelBindingRequired { .. }) => e.to_string(),
        other => panic!("expected channel_binding=require to refuse, got {other:?}"),
    }
}

/// `channel_binding=require` refuses MD5, cleartext, trust, a connection without TLS and a certificate without
/// a binding hash, each naming why.
#[tokio::test]
async fn channel_binding_require_refuses_every_other_way_in() {
    for (tls, plain) in [(Kind::Pg15Tls, Kind::Pg15Plain), (Kind::Pg18Tls, Kind::Pg18Plain)] {
        channel_binding_refusals(tls, plain).await;
    }

    // An Ed25519 certificate has no hash to bind with: refused under require, SCRAM without binding under prefer.
    let require = "sslmode=require channel_binding=require";
    let ed = ssl_database(cluster(Kind::Ed25519)).await;
    let message = binding_refusal(connect_and_check(&conninfo_as(&ed, "localhost", AuthUser::Scram, require)).await);
    assert!(message.contains("Ed25519"), "{message}");
    let preferred = conninfo_as(&ed, "localhost", AuthUser::Scram, "sslmode=require channel_binding=prefer");
    assert!(connect_and_check(&preferred).await.expect("prefer falls back to SCRAM without binding"));
}

async fn channel_binding_refusals(tls: Kind, plain: Kind) {
    let db = ssl_database(cluster(tls)).await;
    let require = "sslmode=require channel_binding=require";
    for (user, reason) in
        [(AuthUser::Md5, "MD5"), (AuthUser::Password, "cleartext"), (AuthUser::Trust, "without any authentication")]
    {
        let message = binding_refusal(connect_and_check(&conninfo_as(&db, "localhost", user, require)).await);
        assert!(message.contains(reason), "{}: {message}", user.name());
    }

    // Without TLS: a Unix socket, and a server that has no TLS.
    let socket = format!("{} channel_binding=require", db.socket_conninfo(AuthUser::Scram));
    assert!(binding_refusal(connect_and_check(&socket).await).contains("not encrypted"));
    let plain = ssl_database(cluster(plain)).await;
    let prefer = "sslmode=prefer channel_binding=require";
    let message = binding_refusal(connect_and_check(&conninfo_as(&plain, "localhost", AuthUser::Scram, prefer)).await);
    assert!(message.contains("not encrypted"), "{message}");
}

/// Direct TLS (PostgreSQL 17+): encrypted from the first byte, with every verification level; refused with a
/// mode that would fall back; against PostgreSQL 15, a TLS error rather than a hang.
#[tokio::test]
async fn direct_tls_against_postgres_18() {
    let certs = TestCerts::get();
    let db = ssl_database(cluster(Kind::Pg18Tls)).await;
    let root = format!("sslrootcert={}", certs.ca.display());
    for mode in ["require", "verify-ca", "verify-full"] {
        let extra = format!("sslmode={mode} {root} sslnegotiation=direct");
        let tls = connect_and_check(&conninfo_as(&db, "localhost", AuthUser::Scram, &extra)).await;
        assert!(tls.unwrap_or_else(|e| panic!("{mode}: {e}")), "{mode}: not encrypted");
    }
    let prefer = format!("sslmode=prefer {root} sslnegotiation=direct");
    match connect_and_check(&conninfo_as(&db, "localhost", AuthUser::Scram, &prefer)).await {
        Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("sslnegotiation=direct"), "{e}"),
        other => panic!("expected direct with prefer to be refused, got {other:?}"),
    }

    let old = ssl_database(cluster(Kind::Pg15Tls)).await;
    let direct = format!("sslmode=require {root} sslnegotiation=direct");
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        connect_and_check(&conninfo_as(&old, "localhost", AuthUser::Scram, &direct)),
    )
    .await
    .expect("direct TLS against PostgreSQL 15 hung");
    assert!(matches!(result, Err(Error::Tls { .. })), "{result:?}");
}

/// `sslrootcert=system` trusts the operating system's roots only, so the test CA's server is not trusted, and it
/// implies `verify-full` when no sslmode is given.
#[tokio::test]
async fn system_roots_do_not_trust_a_private_ca() {
    let db = ssl_database(cluster(Kind::Pg15Tls)).await;
    let result = connect_and_check(&conninfo_as(&db, "localhost", AuthUser::Scram, "sslrootcert=system")).await;
    assert!(matches!(result, Err(Error::Tls { failure: TlsFailure::UntrustedCertificate, .. })), "{result:?}");
    let weak = conninfo_as(&db, "localhost", AuthUser::Scram, "sslrootcert=system sslmode=require");
    assert!(matches!(connect_and_check(&weak).await, Err(Error::Config { .. })));
}

/// An expired server certificate fails verification, naming the expiry; `require` without a root file does not
/// check certificates at all (libpq's rule), so it connects.
#[tokio::test]
async fn an_expired_server_certificate_fails_verification() {
    let certs = TestCerts::get();
    let db = ssl_database(cluster(Kind::Expired)).await;
    for mode in ["verify-ca", "verify-full"] {
        let extra = format!("sslmode={mode} sslrootcert={}", certs.ca.display());
        match connect_and_check(&conninfo_as(&db, "localhost", AuthUser::Scram, &extra)).await {
            Err(e @ Error::Tls { failure: TlsFailure::ExpiredCertificate, .. }) => {
                assert!(e.to_string().contains("renew"), "{e}");
            }
            other => panic!("{mode}: expected an expired-certificate error, got {other:?}"),
        }
    }
    let unchecked = format!("sslmode=require sslrootcert={}", certs.dir().join("absent.crt").display());
    assert_eq!(connect_and_check(&conninfo_as(&db, "localhost", AuthUser::Scram, &unchecked)).await.ok(), Some(true));
}

/// A session over TLS sends its cancel request over TLS too (an SSLRequest opens the cancel connection, and no
/// plaintext CancelRequest is ever seen), and the cancel works.
#[tokio::test]
async fn cancel_requests_use_the_sessions_tls() {
    let certs = TestCerts::get();
    let db = ssl_database(cluster(Kind::Pg15Tls)).await;
    create_endless_view(&db, 0).await;
    let proxy = Proxy::swallowing_cancels(db.port());
    let app = format!("fw_tls_cancel_{}", std::process::id());
    let url = format!(
        "host=localhost port={} dbname={} user=scram_user password=scram_secret sslmode=verify-full sslrootcert={} \
         application_name={app}",
        proxy.port(),
        db.name(),
        certs.ca.display()
    );
    let client = Client::connect(&url).await.expect("connect through the proxy");
    assert_eq!(server_sees_tls(&client).await.ok(), Some(true));
    assert_eq!(proxy.ssl_requests(), 1);

    let mut rows = client.query("v_endless").stream();
    use futures_util::StreamExt;
    for _ in 0..10 {
        rows.next().await.expect("a row").expect("a good row");
    }
    drop(rows);
    let running = || async {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'";
        let active: i64 = db.admin().query_one(sql, &[&app]).await.ok()?.get(0);
        (active == 0).then_some(())
    };
    assert!(wait_for(Duration::from_secs(20), running).await.is_some(), "the query was not cancelled");
    assert_eq!(proxy.ssl_requests(), 2, "the cancel request opened its connection with an SSLRequest");
    assert_eq!(proxy.cancel_requests(), 0, "a plaintext CancelRequest went out");
    assert_eq!(server_sees_tls(&client).await.ok(), Some(true), "the session is still usable");
}

/// After a restart the client reconnects with the same settings: over TLS, checked the same way; and once the
/// server stops offering TLS, the reconnect fails instead of going plaintext (CVE-2020-25694).
#[tokio::test]
async fn reconnects_keep_every_security_setting() {
    let certs = TestCerts::get();
    let own = TestCluster::start_with(options(Kind::Pg15Tls));
    let db = ssl_database(&own).await;
    let extra = format!("sslmode=verify-full sslrootcert={} channel_binding=require", certs.ca.display());
    let config: Config = conninfo_as(&db, "localhost", AuthUser::Scram, &extra).parse().expect("settings");
    let client = Client::connect_with(config).await.expect("connect");
    assert_eq!(server_sees_tls(&client).await.ok(), Some(true));

    own.restart();
    // The first query may meet the dead connection; the client reconnects, over TLS again.
    let after_restart = match server_sees_tls(&client).await {
        Err(e) if e.is_connection_error() => server_sees_tls(&client).await,
        other => other,
    };
    assert_eq!(after_restart.ok(), Some(true));

    own.admin("postgres").await.batch_execute("ALTER SYSTEM SET ssl = off").await.expect("turn ssl off");
    own.restart();
    let refused = match server_sees_tls(&client).await {
        Err(e) if !matches!(e, Error::TlsUnavailable { .. }) && e.is_connection_error() => {
            server_sees_tls(&client).await
        }
        other => other,
    };
    assert!(matches!(refused, Err(Error::TlsUnavailable { implicit: false, .. })), "{refused:?}");
}

/// What the client shows a TLS-speaking server, seen from the server's side (the scripted fake server): the host
/// name in the handshake (SNI) for a name but not for an IP address nor with `sslsni=0`, and SCRAM-SHA-256-PLUS
/// with `tls-server-end-point` binding when the server offers it.
#[tokio::test]
async fn sni_and_scram_plus_as_the_server_sees_them() {
    use std::sync::{Arc, Mutex};

    use fraiseql_wire_tests::fake_server::{self, FakeServer};
    use tokio::io::AsyncWriteExt;

    /// SNI, SASL mechanism and GS2 header of a connection.
    type Seen = (Option<String>, String, String);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = Arc::clone(&seen);
    let server = FakeServer::start(move |mut socket| {
        let record = Arc::clone(&record);
        async move {
            if !fake_server::is_ssl_request(&fake_server::read_untagged(&mut socket).await) {
                return;
            }
            socket.write_all(b"S").await.expect("accepting TLS");
            let (mut tls, sni) = fake_server::accept_tls(socket, &TestCerts::get().server).await;
            fake_server::read_startup(&mut tls).await;
            let mut sasl = 10u32.to_be_bytes().to_vec();
            sasl.extend_from_slice(b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
            tls.write_all(&fake_server::message(b'R', &sasl)).await.expect("offering SASL");
            if let Some(initial) = fake_server::read_until(&mut tls, b'p').await {
                let nul = initial.iter().position(|&b| b == 0).unwrap_or(initial.len());
                let mechanism = String::from_utf8_lossy(&initial[..nul]).into_owned();
                let data = String::from_utf8_lossy(initial.get(nul + 5..).unwrap_or_default()).into_owned();
                let header = data.split(',').next().unwrap_or_default().to_owned();
                record.lock().map(|mut seen| seen.push((sni, mechanism, header))).ok();
            }
        }
    });
    for (host, extra, sni) in
        [("localhost", "", Some("localhost")), ("localhost", "sslsni=0", None), ("127.0.0.1", "", None)]
    {
        let conninfo = format!(
            "host={host} port={} user=u password=pw dbname=d sslmode=require connect_timeout=10 {extra}",
            server.port()
        );
        // The fake server stops after the first SASL message: the connection itself fails.
        let _ = Client::connect(&conninfo).await;
        let last = seen.lock().ok().and_then(|mut seen| seen.pop());
        let expected = (sni.map(str::to_owned), "SCRAM-SHA-256-PLUS".to_owned(), "p=tls-server-end-point".to_owned());
        assert_eq!(last, Some(expected), "{host} {extra}");
    }
}
