//! The state of the query on a session, and every transition between states.
//!
//! ```text
//!            send             RowDescription           CommandComplete
//!   Idle ───────────▶ Describing ───────────▶ Rows ──────────────────▶ Ending ──ReadyForQuery──▶ Idle
//!    ▲                    │        ErrorResponse│ ◀─┐ DataRow              ▲
//!    │                    └─────────────────────┼───┴──────────────────────┘
//!    │                                          │
//!    │   ReadyForQuery      abandon (drop): Describing, Rows ─▶ Draining { cancel: true }
//!    └──────────────── Draining ◀─────────────  Ending          ─▶ Draining { cancel: false }
//!
//!   Idle ── ping (a lone Sync, for a pool's health check) ──▶ Ending
//!   Idle ── command (simple protocol) ──▶ Command ── rows, CommandComplete ──▶ Command ──ReadyForQuery──▶ Idle
//!   any state ── I/O error, protocol violation, FATAL then EOF ──▶ Broken (closed, never reused)
//! ```
//!
//! Every transition happens in [`State::advance`]; a session only moves bytes and reports what the server sent
//! as [`Event`]s.

use std::fmt;

use crate::error::{DbError, Error};

/// Where a session stands with the server.
#[derive(Debug)]
pub(crate) enum State {
    /// ReadyForQuery read: a query may be sent.
    Idle,
    /// A query was sent; its RowDescription has not arrived.
    Describing,
    /// A command was sent in the simple protocol (transaction control): whatever rows and completions it
    /// produces are read until ReadyForQuery.
    Command,
    /// The query's rows are arriving.
    Rows,
    /// The query ended (CommandComplete, or the server's error kept here until ReadyForQuery, so the session is
    /// idle again by the time the caller sees it).
    Ending(Option<Error>),
    /// The caller gave up on the query: everything up to ReadyForQuery is skipped. `cancel`: the server may still
    /// be producing rows, so a CancelRequest is due first.
    Draining { cancel: bool },
    /// Out of step with the server or disconnected: never reused.
    Broken,
}

/// What happened, as far as the state machine is concerned.
#[derive(Debug)]
pub(crate) enum Event {
    /// The client sent a query (Parse, Bind, Describe, Execute, Sync).
    QuerySent,
    /// The client sent a command in the simple protocol (a Query message).
    CommandSent,
    /// The client sent a lone Sync, which the server answers with ReadyForQuery alone.
    #[cfg_attr(not(feature = "pool"), allow(dead_code))]
    PingSent,
    /// ParseComplete or BindComplete: the server took the statement and its parameters.
    Acknowledged,
    /// RowDescription.
    Described,
    /// A DataRow.
    Row,
    /// CommandComplete, EmptyQueryResponse or PortalSuspended.
    Completed,
    /// An ErrorResponse during a query.
    ServerError(Error),
    /// ReadyForQuery.
    Ready,
    /// The caller stopped reading the query's results (a dropped stream, an oversized row).
    Abandoned,
    /// The CancelRequest of a draining query was delivered.
    CancelSent,
    /// An I/O error, a protocol violation or a timeout: the session cannot go on.
    Failed(Error),
}

impl State {
    /// Applies `event`; returns the error the caller must see now, if any: a server error kept until
    /// ReadyForQuery, the error that broke the session, or the protocol violation that `event` is in this state.
    pub(crate) fn advance(&mut self, event: Event) -> Option<Error> {
        use State::*;
        let previous = std::mem::replace(self, Broken);
        let (next, report) = match (previous, event) {
            // An error followed by the socket closing: its message says why, the EOF does not.
            (Ending(Some(pending)), Event::Failed(_)) => (Broken, Some(pending)),
            (_, Event::Failed(error)) => (Broken, Some(error)),
            // FATAL (or PANIC) ends the session at once: no ReadyForQuery follows, and a server that keeps the socket
            // open must not keep the caller waiting for the EOF.
            (_, Event::ServerError(error)) if error.as_db_error().is_some_and(DbError::is_fatal) => {
                (Broken, Some(error))
            }

            (Idle, Event::QuerySent) => (Describing, None),
            (Idle, Event::PingSent) => (Ending(None), None),
            (Idle, Event::CommandSent) => (Command, None),
            (Command, Event::Described | Event::Row | Event::Completed) => (Command, None),
            (Command, Event::ServerError(error)) => (Ending(Some(error)), None),
            (Command, Event::Ready) => (Idle, None),
            (Describing, Event::Acknowledged) => (Describing, None),
            (Describing, Event::Described) => (Rows, None),
            (Rows, Event::Row) => (Rows, None),
            (Rows, Event::Completed) => (Ending(None), None),
            (Describing | Rows, Event::ServerError(error)) => (Ending(Some(error)), None),
            (Ending(pending), Event::ServerError(error)) => (Ending(pending.or(Some(error))), None),
            (Ending(pending), Event::Ready) => (Idle, pending),

            (Idle, Event::Abandoned) => (Idle, None),
            (Describing | Rows | Command, Event::Abandoned) => (Draining { cancel: true }, None),
            (Ending(_), Event::Abandoned) => (Draining { cancel: false }, None),
            (Draining { .. }, Event::CancelSent) => (Draining { cancel: false }, None),
            (Draining { .. }, Event::Ready) => (Idle, None),
            // What the abandoned query still sends, its cancellation error included, is skipped.
            (
                Draining { cancel },
                Event::Abandoned
                | Event::Acknowledged
                | Event::Described
                | Event::Row
                | Event::Completed
                | Event::ServerError(_),
            ) => (Draining { cancel }, None),
            (Broken, Event::Abandoned) => (Broken, None),

            (state, event) => {
                let violation = Error::protocol(format!("{} while the session was {}", event.name(), state.name()));
                (Broken, Some(violation))
            }
        };
        *self = next;
        report
    }

    fn name(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Describing => "waiting for a row description",
            State::Command => "running a command",
            State::Rows => "reading rows",
            State::Ending(_) => "waiting for ReadyForQuery",
            State::Draining { .. } => "draining an abandoned query",
            State::Broken => "broken",
        }
    }
}

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::QuerySent => "a query was sent",
            Event::CommandSent => "a command was sent",
            Event::PingSent => "a ping was sent",
            Event::Acknowledged => "a ParseComplete or BindComplete arrived",
            Event::Described => "a RowDescription arrived",
            Event::Row => "a DataRow arrived",
            Event::Completed => "a CommandComplete arrived",
            Event::ServerError(_) => "an ErrorResponse arrived",
            Event::Ready => "a ReadyForQuery arrived",
            Event::Abandoned => "the query was abandoned",
            Event::CancelSent => "a cancel was sent",
            Event::Failed(_) => "the session failed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> Event {
        Event::ServerError(Error::protocol("stand-in for a server error"))
    }

    /// Runs `events` from `start`; returns the final state's name and what each event reported.
    fn run(start: State, events: Vec<Event>) -> (&'static str, Vec<bool>) {
        let mut state = start;
        let reports = events.into_iter().map(|event| state.advance(event).is_some()).collect();
        (state.name(), reports)
    }

    #[test]
    fn a_query_runs_from_idle_back_to_idle() {
        let events = vec![
            Event::QuerySent,
            Event::Acknowledged,
            Event::Acknowledged,
            Event::Described,
            Event::Row,
            Event::Row,
            Event::Completed,
            Event::Ready,
        ];
        assert_eq!(run(State::Idle, events), ("idle", vec![false; 8]));
    }

    #[test]
    fn a_ping_is_answered_by_ready_for_query_alone() {
        assert_eq!(run(State::Idle, vec![Event::PingSent, Event::Ready]), ("idle", vec![false; 2]));
        // Abandoned before the answer (a timed-out health check), it is drained like any query.
        let (end, _) = run(State::Idle, vec![Event::PingSent, Event::Abandoned]);
        assert_eq!(end, "draining an abandoned query");
        assert_eq!(run(State::Idle, vec![Event::PingSent, Event::Row]).0, "broken");
    }

    #[test]
    fn a_command_reads_anything_up_to_ready_for_query() {
        let events =
            vec![Event::CommandSent, Event::Completed, Event::Described, Event::Row, Event::Completed, Event::Ready];
        assert_eq!(run(State::Idle, events), ("idle", vec![false; 6]));
        let refused = vec![Event::CommandSent, server_error(), Event::Ready];
        assert_eq!(run(State::Idle, refused), ("idle", vec![false, false, true]));
        assert_eq!(run(State::Idle, vec![Event::CommandSent, Event::Acknowledged]).0, "broken");
        // The extended protocol stays strict: a completion before the description is a violation there.
        assert_eq!(run(State::Idle, vec![Event::QuerySent, Event::Completed]).0, "broken");
    }

    #[test]
    fn a_server_error_is_reported_at_ready_for_query() {
        let (end, reports) = run(State::Idle, vec![Event::QuerySent, Event::Described, server_error(), Event::Ready]);
        assert_eq!((end, reports), ("idle", vec![false, false, false, true]));
        let (end, reports) = run(State::Idle, vec![Event::QuerySent, server_error(), Event::Ready]);
        assert_eq!((end, reports), ("idle", vec![false, false, true]));
    }

    fn fatal() -> Error {
        let mut db = DbError::new_for_tests("57P01", "terminating connection due to administrator command");
        db.severity = "FATAL".into();
        db.into()
    }

    #[test]
    fn an_error_is_reported_instead_of_the_eof_that_follows() {
        let mut state = State::Describing;
        assert!(state.advance(Event::ServerError(Error::protocol("ERROR"))).is_none());
        let reported = state.advance(Event::Failed(Error::protocol("EOF")));
        assert!(matches!(reported, Some(Error::Protocol(m)) if m == "ERROR"));
        assert!(matches!(state, State::Broken));
    }

    #[test]
    fn a_fatal_error_breaks_the_session_at_once() {
        for start in [State::Describing, State::Rows, State::Ending(None), State::Draining { cancel: false }] {
            let before = start.name();
            let mut state = start;
            let reported = state.advance(Event::ServerError(fatal()));
            assert_eq!(reported.and_then(|e| e.code().map(str::to_owned)).as_deref(), Some("57P01"), "{before}");
            assert!(matches!(state, State::Broken), "{before}");
        }
    }

    #[test]
    fn abandoning_in_each_state() {
        let cases: Vec<(State, &str)> = vec![
            (State::Idle, "idle"),
            (State::Describing, "draining an abandoned query"),
            (State::Rows, "draining an abandoned query"),
            (State::Ending(None), "draining an abandoned query"),
            (State::Ending(Some(Error::protocol("kept"))), "draining an abandoned query"),
            (State::Draining { cancel: true }, "draining an abandoned query"),
            (State::Broken, "broken"),
        ];
        for (state, expected) in cases {
            let before = state.name();
            let mut state = state;
            let cancel_due = matches!(state, State::Describing | State::Rows);
            assert!(state.advance(Event::Abandoned).is_none(), "abandoning must not report ({before})");
            assert_eq!(state.name(), expected, "abandoned while {before}");
            if let State::Draining { cancel } = state {
                assert_eq!(cancel, cancel_due || before == "draining an abandoned query", "{before}");
            }
        }
    }

    #[test]
    fn a_drained_query_ends_idle_whatever_it_still_sends() {
        let events = vec![
            Event::CancelSent,
            Event::Acknowledged,
            Event::Acknowledged,
            Event::Described,
            Event::Row,
            server_error(),
            Event::Ready,
        ];
        assert_eq!(run(State::Draining { cancel: true }, events), ("idle", vec![false; 7]));
        let events = vec![Event::Row, Event::Completed, Event::Ready];
        assert_eq!(run(State::Draining { cancel: false }, events), ("idle", vec![false; 3]));
    }

    #[test]
    fn out_of_order_messages_break_the_session() {
        for (state, event) in [
            (State::Idle, Event::Row),
            (State::Idle, Event::Ready),
            (State::Describing, Event::Row),
            (State::Describing, Event::Ready),
            (State::Rows, Event::Described),
            (State::Ending(None), Event::Row),
            (State::Broken, Event::QuerySent),
        ] {
            let before = state.name();
            let (end, reports) = run(state, vec![event]);
            assert_eq!((end, reports), ("broken", vec![true]), "from {before}");
        }
    }

    #[test]
    fn failures_break_every_state() {
        for state in [State::Idle, State::Rows, State::Draining { cancel: false }, State::Broken] {
            assert_eq!(run(state, vec![Event::Failed(Error::protocol("io"))]), ("broken", vec![true]));
        }
    }
}
