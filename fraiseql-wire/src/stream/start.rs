//! Starting a query: a session from the executor, the statement sent, the description read and checked.

use std::future::poll_fn;
use std::sync::Arc;

use crate::connection::{Described, Lease, Next};
use crate::error::{Error, Result, SqlState};
use crate::executor::LeaseSource;
use crate::sql::{Param, Relation, Statement};

/// Runs `statement` up to its first row and returns the lease the rows are then read from.
///
/// Dropped before it completes, the lease it holds cancels and drains the query in the background.
pub(crate) async fn start(source: Arc<dyn LeaseSource>, statement: Statement, relation: Relation) -> Result<Lease> {
    let mut lease = source.checkout().await?;
    let mut described = send(&mut lease, &statement).await;
    if let Err(error) = &described {
        // An idle connection may have died quietly (server restart, idle timeout). Nothing was read yet and the
        // statement only reads, so one retry on a fresh connection is safe.
        if !lease.is_fresh() && is_stale(error) {
            tracing::debug!(%error, "reconnecting: the idle connection was gone");
            lease.reconnect().await?;
            described = send(&mut lease, &statement).await;
        }
    }
    if let Ok(Described::Refused(error)) = &described {
        // A cached statement the server lost or that no longer fits the view: prepared again, once. Nothing was
        // read yet, so nothing reaches the caller twice.
        if lease.session()?.statement_went_stale(&statement.sql, error) {
            tracing::debug!(%error, "preparing a cached statement again");
            described = send(&mut lease, &statement).await;
        }
    }
    match described? {
        Described::Json => Ok(lease),
        // The lease, dropped with the query running, stops it.
        Described::NotJson(type_name) => Err(Error::NotJson { relation: relation.given, type_name }),
        Described::Refused(error) => {
            let position = error.as_db_error().and_then(|db| db.position);
            let missing_data = error.sql_state() == Some(SqlState::UNDEFINED_COLUMN)
                && position.is_some()
                && position == statement.data_column;
            if missing_data {
                // Boxed, as this rare path would otherwise grow every query's start future.
                let columns = Box::pin(describe_columns(&mut lease, &relation)).await;
                return Err(Error::NoDataColumn { relation: relation.given, columns });
            }
            Err(error)
        }
    }
}

async fn send(lease: &mut Lease, statement: &Statement) -> Result<Described> {
    lease.session()?.start(&statement.sql, statement.params.iter().map(Param::as_bytes)).await
}

/// Whether `error`, met before anything was read on a reused connection, says the connection died while idle.
pub(crate) fn is_stale(error: &Error) -> bool {
    matches!(error, Error::ConnectionLost { .. })
        || error.sql_state().is_some_and(|state| {
            [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(&state)
        })
}

/// The relation's columns as `name type, …`, for the error about a missing `data` column.
async fn describe_columns(lease: &mut Lease, relation: &Relation) -> String {
    const SQL: &str = "SELECT to_json(coalesce(string_agg(quote_ident(attname) || ' ' || \
                       format_type(atttypid, atttypmod), ', ' ORDER BY attnum), '')) FROM pg_attribute \
                       WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped";
    let lookup = async {
        let session = lease.session()?;
        match session.start(SQL, std::iter::once(Some(relation.quoted.as_bytes()))).await? {
            Described::Json => {}
            Described::NotJson(type_name) => {
                return Err(Error::protocol(format!("column lookup returned {type_name}")));
            }
            Described::Refused(error) => return Err(error),
        }
        let mut columns = None;
        loop {
            match poll_fn(|cx| session.poll_row(cx, |row| super::decode::json::<String>(row, 1))).await {
                Next::Row(value) => columns = Some(value?),
                Next::End => return Ok::<_, Error>(columns),
                Next::Oversized { size, limit } => return Err(Error::RowTooLarge { row: 1, size, limit }),
                Next::Failed(error) => return Err(error),
            }
        }
    };
    match lookup.await {
        Ok(Some(columns)) if !columns.is_empty() => columns,
        Ok(_) => "none".to_owned(),
        Err(error) => format!("unknown: {error}"),
    }
}
