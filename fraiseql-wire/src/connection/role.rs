//! What kind of server a new session reached (primary or standby, read-only or not), for `target_session_attrs`.

use postgres_protocol::message::backend::{DataRowBody, Message};
use postgres_protocol::message::frontend;

use super::wire::{StartupIncoming, Wire};
use crate::config::ServerRole;
use crate::error::{DbError, Error};

/// Asked of servers that do not report `in_hot_standby` and `default_transaction_read_only` (before PostgreSQL
/// 14, or behind a pooler that does not pass them on). A fresh session's `transaction_read_only` is its default.
const ROLE_QUERY: &str = "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.current_setting('transaction_read_only')";

/// The server's role: from what it reported at startup, else by asking (one round trip).
pub(crate) async fn server_role(wire: &mut Wire) -> Result<ServerRole, Error> {
    if let (Some(hot_standby), Some(read_only)) = (wire.hot_standby, wire.read_only) {
        return Ok(ServerRole { hot_standby, read_only });
    }
    frontend::query(ROLE_QUERY, wire.write_buf()).map_err(|e| Error::protocol(format!("encoding a query: {e}")))?;
    wire.flush().await?;
    let mut role = None;
    let mut refused = None;
    loop {
        match wire.next_startup_message().await? {
            StartupIncoming::Message(Message::RowDescription(_) | Message::CommandComplete(_)) => {}
            StartupIncoming::Message(Message::DataRow(row)) => role = Some(parse_row(&row)?),
            StartupIncoming::Message(Message::ErrorResponse(body)) => {
                refused = Some(Error::from(DbError::from_fields(body.fields())?));
            }
            StartupIncoming::Message(Message::ReadyForQuery(_)) => break,
            _ => return Err(Error::protocol("unexpected message in answer to the server role query")),
        }
    }
    match (role, refused) {
        (_, Some(error)) => Err(error),
        (Some(role), None) => Ok(role),
        (None, None) => Err(Error::protocol("the server role query returned no row")),
    }
}

/// `t`/`f` and `on`/`off`, in the text format.
fn parse_row(row: &DataRowBody) -> Result<ServerRole, Error> {
    let malformed = || Error::protocol("malformed answer to the server role query");
    let buffer = row.buffer();
    let mut values = Vec::with_capacity(2);
    let mut ranges = row.ranges();
    while let Some(range) = fallible_iterator::FallibleIterator::next(&mut ranges).map_err(|_| malformed())? {
        values.push(range.and_then(|r| buffer.get(r)).ok_or_else(malformed)?);
    }
    match values.as_slice() {
        [recovery, read_only] => Ok(ServerRole { hot_standby: *recovery == b"t", read_only: *read_only == b"on" }),
        _ => Err(malformed()),
    }
}
