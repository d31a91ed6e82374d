//! Tracing and metrics against real servers: the `connect` and `query` spans carry the documented fields, notices
//! become events at their severity's level, nothing secret is ever recorded (at TRACE level, with passwords of
//! every method, client-certificate TLS, parameter values and a cancel request), and every documented metric name
//! is recorded.
//!
//! This file is its own test process with a single `#[test]`: the subscriber and the metrics recorder are
//! process-wide (so are tracing's per-callsite caches), and another test's thread reaching a callsite first would
//! make the capture miss events.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use metrics::{SharedString, Unit};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

use fraiseql_wire::{Client, Config, Pool, telemetry};
use fraiseql_wire_tests::{AuthUser, CERT_USER, Proxy, TestCerts};

#[allow(dead_code)]
#[path = "it/common/mod.rs"]
mod common;

use common::tls::{Kind, cluster, conninfo, ssl_database};
use common::{create_endless_view, database, wait_for};

/// Everything a subscriber formats, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// What was captured since the last call.
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// The process's subscriber: every event and every closed span with its fields, at TRACE.
fn capture() -> Captured {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test process");
    captured
}

#[test]
fn spans_secrets_and_metrics() {
    let captured = capture();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the only metrics recorder of this test process");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        spans_carry_their_fields_and_notices_their_level(&captured).await;
        nothing_secret_is_ever_recorded(&captured).await;
        every_documented_metric_is_recorded(&snapshotter).await;
    });
}

/// The closed spans named `name`, one line each.
fn spans<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("{name}{{");
    text.lines().filter(|line| line.contains(&open) && line.contains("close")).collect()
}

async fn spans_carry_their_fields_and_notices_their_level(captured: &Captured) {
    let db = database().await;
    db.execute(
        "CREATE FUNCTION noisy() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE WARNING 'careful: %', 42; \
         RAISE NOTICE 'just so you know'; RETURN 1; END $$;
         CREATE VIEW v_noisy AS SELECT jsonb_build_object('n', noisy()) AS data;
         CREATE FUNCTION noisy_at(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         IF i = 2 THEN RAISE WARNING 'mid-stream %', i; END IF; RETURN i; END $$;
         CREATE VIEW v_noisy_rows AS SELECT jsonb_build_object('i', noisy_at(i)) AS data FROM generate_series(1, 3) i;
         CREATE VIEW v_three AS SELECT jsonb_build_object('i', i) AS data FROM generate_series(1, 3) i;
         CREATE VIEW v_broken AS SELECT jsonb_build_object('i', 1 / (i - 2)) AS data FROM generate_series(1, 3) i;",
    )
    .await;
    captured.take();
    let client = Client::connect(&db.url(AuthUser::Scram)).await.expect("connect");
    let rows: Vec<serde_json::Value> =
        client.query("v_three").where_sql("(data->>'i')::int >= $1", &[&2]).fetch_all().await.expect("rows");
    assert_eq!(rows.len(), 2);
    client.query("v_noisy").fetch_all().await.expect("notices");
    client.query("v_broken").fetch_all().await.expect_err("division by zero");
    // A notice between two rows, read while the stream is polled outside its span, is still inside it.
    assert_eq!(client.query("v_noisy_rows").fetch_all().await.expect("rows and a notice").len(), 3);
    let text = captured.take();

    let connect = spans(&text, "connect");
    assert_eq!(connect.len(), 1, "{text}");
    for field in ["user=scram_user", "host=127.0.0.1", "tls=false", "auth=\"scram-sha-256\"", "duration_ms="] {
        assert!(connect[0].contains(field), "no {field} in {}", connect[0]);
    }
    assert!(connect[0].contains(&format!("database={}", db.name())), "{}", connect[0]);
    assert!(connect[0].contains(&format!("port={}", db.port())), "{}", connect[0]);

    let queries = spans(&text, "query");
    assert_eq!(queries.len(), 4, "{text}");
    let first = queries[0];
    for field in ["relation=v_three", "$1", "rows=2", "bytes=16", "ttfr_ms=", "duration_ms=", "outcome=\"completed\""] {
        assert!(first.contains(field), "no {field} in {first}");
    }
    // A server error mid-stream: failed, with its kind.
    assert!(queries[2].contains("outcome=\"failed\"") && queries[2].contains("error_kind=\"db\""), "{}", queries[2]);

    let warning = text.lines().find(|l| l.contains("careful: 42")).unwrap_or_else(|| panic!("no warning: {text}"));
    assert!(warning.contains("WARN") && warning.contains("fraiseql_wire::notice"), "{warning}");
    assert!(warning.contains("query{relation=v_noisy "), "the notice is outside its query's span: {warning}");
    let mid =
        text.lines().find(|l| l.contains("mid-stream 2")).unwrap_or_else(|| panic!("no mid-stream notice: {text}"));
    assert!(mid.contains("query{relation=v_noisy_rows "), "the notice is outside its query's span: {mid}");
    let notice = text.lines().find(|l| l.contains("just so you know")).unwrap_or_else(|| panic!("no notice: {text}"));
    assert!(notice.contains(" INFO "), "{notice}");
}

async fn nothing_secret_is_ever_recorded(captured: &Captured) {
    let db = database().await;
    create_endless_view(&db, 10).await;
    db.execute("CREATE VIEW v_one AS SELECT '{\"a\": 1}'::jsonb AS data").await;
    let secret_param = "param-value-7f3a9c";
    captured.take();

    // A password of each method, over TCP on loopback.
    for user in [AuthUser::Password, AuthUser::Md5, AuthUser::Scram] {
        let client = Client::connect(&db.url(user)).await.unwrap_or_else(|e| panic!("{user:?}: {e}"));
        client.query("v_one").where_sql("$1::text IS NOT NULL", &[&secret_param]).fetch_all().await.expect("query");
    }
    // A failed login records its kind, not the password tried.
    Client::connect(&db.url(AuthUser::Reject)).await.expect_err("rejected");

    // A dropped stream sends a cancel request, whose secret key the proxy keeps for this check.
    let proxy = Proxy::swallowing_cancels(db.port());
    let config: Config = db.url_via(proxy.port(), AuthUser::Scram).parse().expect("url");
    let client = Client::connect_with(config.cancel_timeout(Duration::from_millis(300))).await.expect("connect");
    let mut rows = client.query("v_endless").stream_raw();
    rows.next().await.expect("a row").expect("a row");
    drop(rows);
    let cancelled = wait_for(Duration::from_secs(5), || async { (proxy.cancel_requests() == 1).then_some(()) });
    assert!(cancelled.await.is_some(), "no cancel request arrived");
    let keys = proxy.cancel_keys();

    // A client certificate and its key, over TLS.
    let certs = TestCerts::get();
    let tls_db = ssl_database(cluster(Kind::Pg15Tls)).await;
    let extra = format!(
        "sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
        certs.ca.display(),
        certs.client.cert.display(),
        certs.client.key.display()
    );
    let tls_client = Client::connect(&conninfo(&tls_db, "localhost", CERT_USER, &extra)).await.expect("TLS");
    tls_client.query("v_ssl").fetch_one().await.expect("v_ssl");
    drop(tls_client);

    let text = captured.take();
    let tls_connect = spans(&text, "connect").into_iter().find(|l| l.contains("tls=true")).unwrap_or_else(|| {
        panic!("no TLS connect span: {text}");
    });
    assert!(tls_connect.contains("tls_version=\"TLSv1.3\""), "{tls_connect}");
    assert!(text.contains("error_kind=\"auth\""), "the rejected login: {text}");

    let mut secrets: Vec<String> = [AuthUser::Password, AuthUser::Md5, AuthUser::Scram, AuthUser::Reject]
        .iter()
        .filter_map(|user| user.password().map(str::to_owned))
        .collect();
    secrets.push(secret_param.to_owned());
    for key in &keys {
        assert!(key.len() >= 4, "{key:?}");
        secrets.push(u32::from_be_bytes([key[0], key[1], key[2], key[3]]).to_string());
        secrets.push(i32::from_be_bytes([key[0], key[1], key[2], key[3]]).to_string());
        secrets.push(key.iter().map(|b| format!("{b:02x}")).collect());
        secrets.push(format!("{key:?}"));
    }
    // Every base64 line of the private key's PEM body.
    let pem = std::fs::read_to_string(&certs.client.key).expect("the client key");
    secrets.extend(pem.lines().filter(|l| !l.starts_with("-----") && l.len() > 16).map(str::to_owned));
    assert!(text.len() > 1000, "too little was captured to mean anything: {text}");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret:?} was recorded:\n{text}");
    }
}

async fn every_documented_metric_is_recorded(snapshotter: &Snapshotter) {
    // A snapshot drains the counters it reports: every snapshot taken is kept.
    let mut seen = Vec::new();
    let db = database().await;
    create_endless_view(&db, 10).await;
    db.execute(
        "CREATE VIEW v_mixed AS SELECT CASE WHEN i = 2 THEN '\"text\"'::jsonb ELSE jsonb_build_object('i', i) END \
         AS data FROM generate_series(1, 3) i",
    )
    .await;
    let pool = Pool::connect(&db.url(AuthUser::Scram)).await.expect("pool");
    #[derive(serde::Deserialize)]
    struct Row {
        #[allow(dead_code)]
        i: i64,
    }
    // Two rows decode, one does not.
    let results: Vec<_> = pool.query_as::<Row>("v_mixed").stream().collect().await;
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    pool.query("v_missing").fetch_all().await.expect_err("no such view");
    let mut rows = pool.query("v_endless").stream_raw();
    rows.try_next().await.expect("a row");
    drop(rows);
    Client::connect("host=127.0.0.1 port=1 user=x dbname=x connect_timeout=5")
        .await
        .expect_err("nothing listens on port 1");
    // The pool's connection comes back once the dropped stream's query is drained.
    let idle = wait_for(Duration::from_secs(5), || async { (pool.status().available == 1).then_some(()) });
    assert!(idle.await.is_some());
    let cancelled = |seen: &[(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)]| {
        seen.iter()
            .any(|(key, .., value)| key.key().name() == telemetry::CANCELS_SENT && value != &DebugValue::Counter(0))
    };
    for _ in 0..500 {
        seen.extend(snapshotter.snapshot().into_vec());
        if cancelled(&seen) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(cancelled(&seen), "no cancel was counted");
    seen.extend(snapshotter.snapshot().into_vec());
    let recorded = |name: &str| seen.iter().filter(|(key, ..)| key.key().name() == name).collect::<Vec<_>>();
    for name in telemetry::ALL_METRICS {
        assert!(!recorded(name).is_empty(), "{name} was never recorded");
    }
    let counter = |name: &str, label: Option<(&str, &str)>| -> u64 {
        recorded(name)
            .iter()
            .filter(|(key, ..)| label.is_none_or(|(k, v)| key.key().labels().any(|l| l.key() == k && l.value() == v)))
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    };
    assert!(
        counter(telemetry::CONNECTIONS_FAILED, Some(("kind", "connect"))) >= 1,
        "{:?}",
        recorded(telemetry::CONNECTIONS_FAILED)
    );
    assert!(counter(telemetry::QUERIES_FAILED, Some(("kind", "db"))) >= 1);
    assert!(counter(telemetry::DECODE_ERRORS, None) >= 1);
    assert!(counter(telemetry::QUERIES_ABANDONED, None) >= 1);
    assert!(counter(telemetry::ROWS, None) >= 4);
    let durations = recorded(telemetry::QUERY_DURATION);
    for (key, ..) in &durations {
        assert!(key.key().labels().any(|l| l.key() == "outcome"), "{key:?}");
    }
    let observed = |outcome: &str| {
        durations.iter().any(|(key, .., value)| {
            key.key().labels().any(|l| l.value() == outcome)
                && matches!(value, DebugValue::Histogram(v) if !v.is_empty())
        })
    };
    assert!(observed("completed") && observed("failed") && observed("abandoned"), "{durations:?}");
    assert!(matches!(recorded(telemetry::POOL_CONNECTIONS)[0].3, DebugValue::Gauge(_)));
}
