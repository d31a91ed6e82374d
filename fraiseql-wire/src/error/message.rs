//! What each error says: what happened and why (`describe`), and what to try (`advice`).

use std::fmt;

use super::Error;

impl Error {
    /// What to try, on its own (the message ends with it too), for programs that log it apart.
    pub fn advice(&self) -> Option<&str> {
        Some(match self {
            Error::Config { advice, .. } => advice,
            Error::UnknownParameter { .. } => {
                "check its spelling against libpq's list (host, port, user, password, dbname, application_name, \
                 connect_timeout, sslmode, options, passfile, …)"
            }
            Error::Unsupported { advice, .. } => advice,
            Error::Connect { advice, .. } => advice,
            Error::ConnectTimeout { .. } => "check it with `pg_isready -h <host> -p <port>` or raise connect_timeout",
            Error::NoSuitableHost { .. } => {
                "during a failover this passes once a standby is promoted (the error is retriable); otherwise check \
                 that the host list names the servers you meant, or relax target_session_attrs (prefer-standby \
                 falls back to any server)"
            }
            Error::PoolTimeout { .. } => {
                "a stream holds its connection until it ends or is dropped: finish or drop streams sooner, raise \
                 the pool's max_size (the sum of max_size over every process must stay below the server's \
                 max_connections minus superuser_reserved_connections), or raise its wait_timeout"
            }
            Error::PoolClosed => "create a new pool, or stop using this one once it is closed",
            Error::ConnectionBusy => {
                "finish or drop the first stream before starting another query on the same client, or use a Pool, \
                 which lends one connection to each concurrent query"
            }
            Error::Tls { failure, .. } => failure.advice(),
            Error::ReadTimeout { .. } => {
                "a stalled server or network path (a dead peer, a NAT or firewall that dropped the connection); the \
                 connection is reused if the cancel gets through within cancel_timeout, else the next query opens a \
                 new one; raise read_timeout if queries legitimately run that long before sending rows"
            }
            Error::TlsUnavailable { implicit: true, .. } => {
                "enable TLS on the server (`ssl = on` with a certificate), or, if the network to it is trusted, say \
                 so with sslmode=prefer (or disable) in the connection string or PGSSLMODE"
            }
            Error::TlsUnavailable { .. } => {
                "enable TLS on the server (`ssl = on` with a certificate), check that host and port point at it \
                 rather than at a proxy that strips TLS, or lower sslmode if the network is trusted"
            }
            Error::ChannelBindingRequired { .. } => {
                "connect with TLS to a server whose pg_hba.conf uses scram-sha-256 for this role and whose \
                 certificate is signed with RSA or ECDSA, or set channel_binding=prefer"
            }
            Error::CleartextPasswordRefused => {
                "use TLS (sslmode=require or stronger), switch the role to scram-sha-256 in pg_hba.conf, or accept \
                 the risk explicitly with require_auth=password"
            }
            Error::PasswordMissing { .. } => {
                "set it in the connection string, the PGPASSWORD environment variable or ~/.pgpass"
            }
            Error::AuthUnsupported { .. } => "use password, md5 or scram-sha-256 for this role in pg_hba.conf",
            Error::AuthMethodRefused { .. } => {
                "if the server is the one you meant, allow its method in require_auth or ask for the role's method in \
                 pg_hba.conf to change; otherwise this server is not to be trusted with the password"
            }
            Error::ServerAuthentication { .. } => {
                "check that host and port point at the intended server, and that nothing in between (a proxy, a \
                 load balancer) alters the authentication exchange; the connection was closed"
            }
            Error::Db(db) => return db.advice(),
            Error::ConnectionLost { .. } => "the next query opens a new connection",
            Error::Protocol(_) => {
                "check that host and port point at PostgreSQL itself; the connection was closed and the next query \
                 opens a new one"
            }
            Error::EncodingChanged(_) => {
                "remove any `SET client_encoding` from the view, the session or the role's settings"
            }
            Error::InvalidRelation { .. } => {
                "pass a view name such as `v_project` or `app.v_project` (quote unusual names with double quotes, \
                 as in SQL)"
            }
            Error::InvalidFragment { .. } => {
                "write one SQL expression (balanced parentheses, closed quotes and comments, no `;`) and pass values \
                 as $1, $2, … parameters"
            }
            Error::InvalidFilter { .. } => {
                "fix the value given to the operator: its Serialize implementation, or the text search configuration \
                 name"
            }
            Error::InvalidKeyset { .. } => {
                "end the order_by keys with a unique one (a `#[entity(column = …)]` field or one marked \
                 `#[entity(order_key)]`), then call after(&row)"
            }
            Error::InvalidParallel { .. } => {
                "export without order_by, limit and offset (the slices' rows interleave), with at least one \
                 connection and a key expression such as \"id\" (an integer one for by_range); or stream the query \
                 on one connection"
            }
            Error::InvalidWatch { .. } => {
                "watch a query without limit, offset or a cursor (its result must be a set of rows that a change of \
                 one row enters or leaves), keyed by a column of the view that identifies each row"
            }
            Error::Encode { .. } => "split the query, or remove the NUL byte",
            Error::NotBound => {
                "build it with `Entity::query(&client)` / `client.query(…)`, or bind it with `.on(&client)` before \
                 running it"
            }
            Error::NoDataColumn { .. } => {
                "fraiseql-wire reads views that expose one JSON document per row in a column named `data`"
            }
            Error::NotJson { .. } => {
                "define the view's column as `… AS data` with a jsonb expression, or cast it (`data::jsonb AS data`)"
            }
            Error::RowTooLarge { .. } => {
                "raise Config::max_row_bytes if such rows are expected, or select less into the view's `data`"
            }
            Error::Decode { .. } => {
                "the document does not fit the Rust type at that path: fix the view or the type (an `Option` or \
                 `#[serde(default)]` for a value that may be null or missing)"
            }
            Error::InvalidUtf8 { .. } => {
                "the server's data or encoding settings are broken; a view or role that switches client_encoding \
                 causes this (rows received before the EncodingChanged error that follows may be wrong too)"
            }
            Error::RowNotFound => "use fetch_optional if none is possible",
            Error::TooManyRows => "add a filter or limit(1), or use fetch_all",
            Error::Input(error) => error.advice(),
            Error::BatchOrder { .. } => {
                "take each ticket from the results of the batch that issued it, in the order the queries were \
                 pushed (a ticket not taken is skipped by taking a later one)"
            }
            Error::BatchAborted { .. } => {
                "the error of the query it broke at says why; the queries only read, so sending the batch again \
                 (or just the queries whose answers are missing) is safe"
            }
            Error::SnapshotEnded => {
                "open a new snapshot and read again from the start: rows read in the old one and in a new one are \
                 from different moments"
            }
        })
    }

    /// What happened and why, without the advice.
    pub(super) fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { message, .. } => write!(f, "invalid connection settings: {message}"),
            Error::UnknownParameter { name } => write!(f, "unknown connection parameter `{name}`"),
            Error::Unsupported { feature, .. } => write!(f, "{feature} is not supported yet by fraiseql-wire"),
            Error::Connect { target, source, .. } => write!(f, "could not connect to {target}: {source}"),
            Error::ConnectTimeout { target, timeout } => {
                write!(f, "timed out after {timeout:?} connecting to {target}: the server is unreachable or overloaded")
            }
            Error::NoSuitableHost { target_session_attrs, tried } => write!(
                f,
                "no host is in the role target_session_attrs={target_session_attrs} asks for (tried: {})",
                tried.join(", ")
            ),
            Error::PoolTimeout { waited, max_size } => write!(
                f,
                "timed out after {waited:?} waiting for a pooled connection: all {max_size} connections of the \
                 pool stayed in use"
            ),
            Error::PoolClosed => f.write_str("the pool is closed"),
            Error::ConnectionBusy => f.write_str(
                "this task already holds the client's connection in a stream that has not ended; a second query on \
                 the same client from the same task would wait for itself forever",
            ),
            Error::Tls { target, reason, .. } => write!(f, "TLS with {target} failed: {reason}"),
            Error::ReadTimeout { timeout } => write!(
                f,
                "the server sent nothing for {timeout:?} while the query waited for it (read_timeout); the query \
                 is being cancelled"
            ),
            Error::TlsUnavailable { target, sslmode, implicit: false } => {
                write!(f, "{target} does not accept TLS connections, and sslmode={sslmode} requires TLS")
            }
            Error::TlsUnavailable { target, implicit: true, .. } => write!(
                f,
                "{target} does not accept TLS connections, and without an explicit sslmode fraiseql-wire does not \
                 fall back to plaintext towards a host outside the loopback interface"
            ),
            Error::ChannelBindingRequired { reason } => {
                write!(f, "channel_binding=require cannot be met: {reason}; nothing was sent")
            }
            Error::CleartextPasswordRefused => f.write_str(
                "the server asked for the password in clear over an unencrypted connection to a host that is not \
                 local; nothing was sent",
            ),
            Error::PasswordMissing { user } => {
                write!(f, "the server asked for a password for user `{user}` and none was given")
            }
            Error::AuthUnsupported { method } => {
                write!(f, "the server asked for {method} authentication, which fraiseql-wire does not support")
            }
            Error::AuthMethodRefused { method, require_auth } => write!(
                f,
                "the server asked for {method}, which require_auth={require_auth} does not allow; nothing was sent"
            ),
            Error::ServerAuthentication { reason } => {
                write!(f, "the server did not authenticate itself: {reason}; it may not be the server you meant")
            }
            Error::Db(db) => write!(f, "{db}"),
            Error::ConnectionLost { source } => write!(
                f,
                "the connection to the server was lost: {source}; the server may have restarted or the network dropped"
            ),
            Error::Protocol(message) => write!(
                f,
                "protocol violation: {message}; the server (or a proxy in between) is not speaking PostgreSQL's \
                 protocol as expected"
            ),
            Error::EncodingChanged(encoding) => write!(
                f,
                "the server changed client_encoding to `{encoding}`; fraiseql-wire needs UTF8, so the connection was \
                 closed"
            ),
            Error::InvalidRelation { name, reason } => write!(f, "invalid relation name `{name}`: {reason}"),
            Error::InvalidFragment { fragment, reason } => write!(f, "invalid SQL fragment `{fragment}`: {reason}"),
            Error::InvalidFilter { reason } => write!(f, "invalid typed filter: {reason}"),
            Error::InvalidKeyset { reason } => write!(f, "invalid keyset pagination (`after`): {reason}"),
            Error::InvalidParallel { reason } => write!(f, "invalid parallel export: {reason}"),
            Error::InvalidWatch { reason } => write!(f, "invalid watch: {reason}"),
            Error::Encode { reason } => write!(f, "the query cannot be sent: {reason}"),
            Error::NotBound => f.write_str("this query is not bound to a client"),
            Error::NoDataColumn { relation, columns } => write!(
                f,
                "{relation} has no `data` column (its columns are: {columns}); define it, for example \
                 `CREATE VIEW {relation} AS SELECT id, jsonb_build_object('id', id, 'name', name) AS data FROM …`"
            ),
            Error::NotJson { relation, type_name } => {
                write!(f, "the `data` column of {relation} has type {type_name}, but fraiseql-wire needs json or jsonb")
            }
            Error::RowTooLarge { row, size, limit } => {
                write!(f, "row {row} is {size} bytes, above the max_row_bytes limit of {limit}; the query was stopped")
            }
            Error::Decode { row, path, source } => write!(f, "row {row}, at {path}: {source}"),
            Error::InvalidUtf8 { row, valid_up_to } => {
                write!(f, "row {row} is not valid UTF-8 (an invalid byte follows its first {valid_up_to} bytes)")
            }
            Error::RowNotFound => f.write_str("the query returned no row where exactly one was expected"),
            Error::TooManyRows => f.write_str("the query returned more than one row where at most one was expected"),
            Error::SnapshotEnded => f.write_str("the snapshot's connection closed, and its transaction with it"),
            Error::BatchOrder { reason } => write!(f, "misused batch ticket: {reason}"),
            Error::BatchAborted { query } => {
                write!(f, "the batch's connection broke at query {query}, before this query's answer arrived")
            }
            Error::Input(error) => {
                let at = if error.path().is_empty() { "the input" } else { error.path() };
                write!(f, "invalid request input ({}) at {at}: {}", error.kind(), error.message())
            }
        }
    }
}
