//! Connections: the byte pipe, framing, startup and authentication, the session state machine, cancellation,
//! and the slot that lends a client's session to one query at a time.
//!
//! Everything that touches a socket lives here; the layers above see a [`Session`] that runs one query at a
//! time and hands out rows as [`RawRow`]s.

mod cancel;
#[cfg(test)]
mod config_advice;
mod lease;
mod listener;
mod pipeline;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod replay;
mod role;
mod row;
mod session;
mod state;
mod statements;
mod startup;
mod tls;
mod transport;
mod wire;

pub(crate) use lease::Home;
pub(crate) use lease::{Lease, SessionSlot};
pub(crate) use row::RawRow;
pub(crate) use session::{Described, Next, Session};
