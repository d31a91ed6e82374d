//! What a row stream reports when it ends: the fields of its `query` span and its metrics (see
//! [`telemetry`](crate::telemetry)). Rows and bytes are summed as they pass and reported once, so the hot path
//! costs two additions per row.

use tokio::time::Instant;
use tracing::Span;

use crate::error::Error;
use crate::sql::{Relation, Statement};
use crate::telemetry;

/// How a query ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Completed,
    Failed,
    /// Dropped before its end.
    Abandoned,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Abandoned => "abandoned",
        }
    }
}

/// One query's span and figures, from its first poll to its end.
pub(super) struct QueryReport {
    span: Span,
    started: Option<Instant>,
    first_row: Option<Instant>,
    rows: u64,
    bytes: u64,
    ended: bool,
}

impl QueryReport {
    /// The span of a query about to start; the SQL text is recorded with its placeholders, never the values.
    pub(super) fn new(relation: &Relation, statement: &Statement) -> QueryReport {
        use tracing::field::Empty;
        let span = tracing::info_span!(
            target: "fraiseql_wire::query",
            "query",
            relation = %relation.given,
            sql = %statement.sql,
            rows = Empty,
            bytes = Empty,
            ttfr_ms = Empty,
            duration_ms = Empty,
            outcome = Empty,
            error_kind = Empty,
        );
        QueryReport { span, started: None, first_row: None, rows: 0, bytes: 0, ended: false }
    }

    /// A query that never started (it could not be built): nothing to report.
    pub(super) fn none() -> QueryReport {
        QueryReport { span: Span::none(), started: None, first_row: None, rows: 0, bytes: 0, ended: true }
    }

    pub(super) fn span(&self) -> &Span {
        &self.span
    }

    /// The stream was polled for the first time: the query starts now.
    #[inline]
    pub(super) fn starting(&mut self) {
        if self.started.is_none() && !self.ended {
            self.started = Some(Instant::now());
            telemetry::count(telemetry::QUERIES_STARTED, 1);
        }
    }

    #[inline]
    pub(super) fn row(&mut self, bytes: usize) {
        if self.first_row.is_none() {
            self.first_row = Some(Instant::now());
        }
        self.rows += 1;
        self.bytes += bytes as u64;
    }

    pub(super) fn decode_error(&self) {
        telemetry::count(telemetry::DECODE_ERRORS, 1);
    }

    /// The stream reached its end.
    pub(super) fn completed(&mut self) {
        self.end(Outcome::Completed, None);
    }

    /// The stream ended with `error`.
    pub(super) fn failed(&mut self, error: &Error) {
        self.end(Outcome::Failed, Some(error));
    }

    /// The stream was dropped before its end (a no-op after the end).
    pub(super) fn abandoned(&mut self) {
        self.end(Outcome::Abandoned, None);
    }

    /// Records the end once: later calls (the drop after an end) do nothing.
    fn end(&mut self, outcome: Outcome, error: Option<&Error>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let Some(started) = self.started else { return };
        let duration = started.elapsed().as_secs_f64();
        let span = &self.span;
        // A span no subscriber wants records nothing, yet each `record` still costs a lookup: a tenth of the
        // client's work on a one-row query.
        let recording = !span.is_disabled();
        if recording {
            span.record("rows", self.rows);
            span.record("bytes", self.bytes);
            span.record("duration_ms", duration * 1e3);
            span.record("outcome", outcome.as_str());
        }
        if let Some(first) = self.first_row {
            let ttfr = first.duration_since(started).as_secs_f64();
            if recording {
                span.record("ttfr_ms", ttfr * 1e3);
            }
            telemetry::observe(telemetry::TIME_TO_FIRST_ROW, ttfr, None);
        }
        telemetry::count(telemetry::ROWS, self.rows);
        telemetry::count(telemetry::BYTES, self.bytes);
        telemetry::observe(telemetry::QUERY_DURATION, duration, Some(outcome.as_str()));
        match error {
            Some(error) => {
                if recording {
                    span.record("error_kind", error.kind().as_str());
                }
                telemetry::count_kind(telemetry::QUERIES_FAILED, error.kind());
            }
            None if outcome == Outcome::Completed => telemetry::count(telemetry::QUERIES_COMPLETED, 1),
            None => telemetry::count(telemetry::QUERIES_ABANDONED, 1),
        }
        // The span closes now, not when the stream is dropped.
        self.span = Span::none();
    }
}
