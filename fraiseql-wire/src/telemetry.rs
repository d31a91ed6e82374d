//! What the client reports about its work: `tracing` spans and events, and (feature `metrics`) counters,
//! histograms and gauges through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! # Spans
//!
//! - `connect` (target `fraiseql_wire::connect`, level INFO): `user`, `database`; once connected, `host`,
//!   `port` (the host that answered), `tls` (`true`/`false`), `tls_version`, `auth` (the method the server asked
//!   for: `trust`, `password`, `md5`, `scram-sha-256`, `scram-sha-256-plus`) and `duration_ms`; on failure
//!   `error_kind`.
//! - `query` (target `fraiseql_wire::query`, level INFO): `relation`, `sql` (the statement's text, with `$n`
//!   placeholders: parameter values are never recorded), then when it ends `rows`, `bytes` (JSON text
//!   received), `ttfr_ms` (time to the first row), `duration_ms`, `outcome` (`completed`, `failed`, or
//!   `abandoned` when the stream was dropped before its end) and on failure `error_kind`.
//!
//! Server notices are events of target `fraiseql_wire::notice`, at a level following their severity:
//! `WARNING` at WARN, `NOTICE`, `INFO` and `LOG` at INFO, `DEBUG` at DEBUG. A notice raised while a query runs
//! is inside that query's `query` span, even when it arrives between two rows.
//!
//! Nothing secret is recorded at any level: not the password, nor TLS key material, nor parameter values, nor the
//! cancel key (a test captures every event at TRACE level and checks).
//!
//! # Metrics (feature `metrics`)
//!
//! Recorded through whichever `metrics` recorder the application installs (a Prometheus exporter, say); without
//! one they cost next to nothing. Counters end in `_total`; `kind` labels carry [`ErrorKind`] names
//! (`connect`, `timeout`, `db`, `decode`, …). Rows and bytes are added when a stream ends or is dropped. The pool
//! gauges follow the pool that changed last: a process with several pools sees them interleaved.
//!
//! | name | type | labels |
//! |---|---|---|
//! | [`CONNECTIONS_OPENED`] | counter | |
//! | [`CONNECTIONS_FAILED`] | counter | `kind` |
//! | [`QUERIES_STARTED`] | counter | |
//! | [`QUERIES_COMPLETED`] | counter | |
//! | [`QUERIES_FAILED`] | counter | `kind` |
//! | [`QUERIES_ABANDONED`] | counter | |
//! | [`ROWS`] | counter | |
//! | [`BYTES`] | counter | |
//! | [`DECODE_ERRORS`] | counter | |
//! | [`CANCELS_SENT`] | counter | |
//! | [`QUERY_DURATION`] | histogram, seconds | `outcome` |
//! | [`TIME_TO_FIRST_ROW`] | histogram, seconds | |
//! | [`POOL_CONNECTIONS`] | gauge | |
//! | [`POOL_IDLE`] | gauge | |
//! | [`POOL_WAITING`] | gauge | |

use crate::error::ErrorKind;

/// Connections that authenticated and were ready for queries.
pub const CONNECTIONS_OPENED: &str = "fraiseql_wire_connections_opened_total";
/// Connection attempts that failed (after every host was tried), by error kind.
pub const CONNECTIONS_FAILED: &str = "fraiseql_wire_connections_failed_total";
/// Queries sent.
pub const QUERIES_STARTED: &str = "fraiseql_wire_queries_started_total";
/// Queries whose stream reached its end.
pub const QUERIES_COMPLETED: &str = "fraiseql_wire_queries_completed_total";
/// Queries that ended with an error, by error kind.
pub const QUERIES_FAILED: &str = "fraiseql_wire_queries_failed_total";
/// Queries whose stream was dropped before its end (their server work is cancelled).
pub const QUERIES_ABANDONED: &str = "fraiseql_wire_queries_abandoned_total";
/// Rows received.
pub const ROWS: &str = "fraiseql_wire_rows_total";
/// Bytes of JSON text received in rows.
pub const BYTES: &str = "fraiseql_wire_bytes_total";
/// Rows that could not be decoded as the requested type (or were not UTF-8).
pub const DECODE_ERRORS: &str = "fraiseql_wire_decode_errors_total";
/// Cancel requests sent to the server.
pub const CANCELS_SENT: &str = "fraiseql_wire_cancels_sent_total";
/// Time from starting a query to the end of its stream, in seconds, by outcome.
pub const QUERY_DURATION: &str = "fraiseql_wire_query_duration_seconds";
/// Time from starting a query to its first row, in seconds.
pub const TIME_TO_FIRST_ROW: &str = "fraiseql_wire_time_to_first_row_seconds";
/// Connections a pool holds, lent or idle.
pub const POOL_CONNECTIONS: &str = "fraiseql_wire_pool_connections";
/// Idle connections a pool holds.
pub const POOL_IDLE: &str = "fraiseql_wire_pool_idle_connections";
/// Tasks waiting for a pool's connection.
pub const POOL_WAITING: &str = "fraiseql_wire_pool_waiting";

/// Every metric name, for tests and for exporters that declare their series up front.
pub const ALL_METRICS: &[&str] = &[
    CONNECTIONS_OPENED,
    CONNECTIONS_FAILED,
    QUERIES_STARTED,
    QUERIES_COMPLETED,
    QUERIES_FAILED,
    QUERIES_ABANDONED,
    ROWS,
    BYTES,
    DECODE_ERRORS,
    CANCELS_SENT,
    QUERY_DURATION,
    TIME_TO_FIRST_ROW,
    POOL_CONNECTIONS,
    POOL_IDLE,
    POOL_WAITING,
];

/// Adds `value` to the counter `name`; a no-op without the `metrics` feature.
#[inline]
pub(crate) fn count(name: &'static str, value: u64) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(name).increment(value);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, value);
}

/// Adds one to the counter `name` for the error kind `kind`.
#[inline]
pub(crate) fn count_kind(name: &'static str, kind: ErrorKind) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(name, "kind" => kind.as_str()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, kind);
}

/// Records `seconds` in the histogram `name`, labelled with `outcome` when given.
#[inline]
pub(crate) fn observe(name: &'static str, seconds: f64, outcome: Option<&'static str>) {
    #[cfg(feature = "metrics")]
    match outcome {
        Some(outcome) => ::metrics::histogram!(name, "outcome" => outcome).record(seconds),
        None => ::metrics::histogram!(name).record(seconds),
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (name, seconds, outcome);
}

/// Sets the gauge `name`.
#[inline]
#[cfg_attr(not(feature = "pool"), allow(dead_code))]
pub(crate) fn gauge(name: &'static str, value: f64) {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!(name).set(value);
    #[cfg(not(feature = "metrics"))]
    let _ = (name, value);
}

/// Emits a server notice as an event at the level its severity calls for, inside `query` (the span of the query
/// it arrived during, if any) or else in the current context.
pub(crate) fn notice(notice: &crate::error::DbError, query: &tracing::Span) {
    // Outside a query (while connecting, say) the notice belongs to whatever span is current.
    let parent = if query.is_none() { tracing::Span::current() } else { query.clone() };
    macro_rules! emit {
        ($level:expr) => {
            tracing::event!(
                target: "fraiseql_wire::notice",
                parent: &parent,
                $level,
                severity = %notice.severity,
                code = %notice.code,
                detail = notice.detail.as_deref(),
                hint = notice.hint.as_deref(),
                "{}",
                notice.message
            )
        };
    }
    match notice.severity.as_str() {
        "WARNING" => emit!(tracing::Level::WARN),
        "DEBUG" => emit!(tracing::Level::DEBUG),
        _ => emit!(tracing::Level::INFO),
    }
}
