//! The extended-protocol exchange of one query, and checks on what the server describes.

use bytes::{BufMut, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::IsNull;
use postgres_protocol::message::backend::RowDescriptionBody;
use postgres_protocol::message::frontend;

use super::{JSON_OID, JSONB_OID, builtin_type_name};
use crate::error::Error;

/// Format code of PostgreSQL's text format.
const TEXT_FORMAT: i16 = 0;

/// Which statement a query runs, and what to send for it first.
pub(crate) struct StatementUse<'a> {
    /// The statement's name (`""`: the unnamed one).
    pub(crate) name: &'a str,
    /// Whether to send a Parse first (a statement not prepared yet, or the unnamed one).
    pub(crate) parse: bool,
    /// Statements to close first, to keep a bounded cache bounded.
    pub(crate) close: &'a [String],
    /// Whether to ask for the row description. A statement bound again was described when it was prepared, and a
    /// view whose result type changed since then fails the Bind (0A000) rather than describing itself otherwise.
    pub(crate) describe: bool,
}

#[cfg(test)]
impl StatementUse<'_> {
    /// The unnamed statement, parsed with the query.
    pub(crate) const UNNAMED: StatementUse<'static> =
        StatementUse { name: "", parse: true, close: &[], describe: true };
}

/// Writes (Close,) (Parse,) Bind, (Describe,) Execute and Sync, for the unnamed portal.
///
/// All go out in one write: the server answers with the row description and then the rows without waiting for
/// another round trip. Parameters use the text format with unspecified types, so the server infers each one from
/// the SQL around it (a fragment casts where it needs to: `$1::int`).
pub(crate) fn encode<'a>(
    sql: &str,
    statement: StatementUse<'_>,
    params: impl ExactSizeIterator<Item = Option<&'a [u8]>>,
    out: &mut BytesMut,
) -> Result<(), Error> {
    if params.len() > usize::from(u16::MAX) {
        return Err(Error::Encode {
            reason: format!("{} parameters, and PostgreSQL accepts at most 65,535 in one statement", params.len()),
        });
    }
    for old in statement.close {
        frontend::close(b'S', old, out).map_err(|e| encode_error("close", e))?;
    }
    if statement.parse {
        frontend::parse(statement.name, sql, std::iter::empty(), out).map_err(|e| encode_error("statement", e))?;
    }
    frontend::bind(
        "",
        statement.name,
        std::iter::once(TEXT_FORMAT),
        params,
        |value, buf| match value {
            Some(bytes) => {
                buf.put_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        },
        std::iter::once(TEXT_FORMAT),
        out,
    )
    .map_err(|e| match e {
        frontend::BindError::Conversion(e) => Error::Encode { reason: format!("a parameter cannot be encoded: {e}") },
        frontend::BindError::Serialization(e) => encode_error("parameters", e),
    })?;
    if statement.describe {
        frontend::describe(b'P', "", out).map_err(|e| encode_error("describe", e))?;
    }
    frontend::execute("", 0, out).map_err(|e| encode_error("execute", e))?;
    frontend::sync(out);
    Ok(())
}

fn encode_error(what: &str, e: std::io::Error) -> Error {
    // The only failures postgres-protocol reports here are an interior NUL and an oversized message.
    Error::Encode { reason: format!("the {what} cannot be encoded: {e} (SQL text cannot contain NUL bytes)") }
}

/// The type of the one column a query returns, checked to be json or jsonb.
///
/// Returns `Err(type name)` for any other type, for the caller to turn into [`Error::NotJson`].
pub(crate) fn check_json_column(description: &RowDescriptionBody) -> Result<Result<(), String>, Error> {
    let fields: Vec<_> = description
        .fields()
        .map(|f| Ok((f.name().to_owned(), f.type_oid())))
        .collect()
        .map_err(|e| Error::protocol(format!("malformed RowDescription: {e}")))?;
    match fields.as_slice() {
        [(_, oid)] if *oid == JSON_OID || *oid == JSONB_OID => Ok(Ok(())),
        [(_, oid)] => Ok(Err(builtin_type_name(*oid).map_or_else(|| format!("OID {oid}"), str::to_owned))),
        _ => Err(Error::protocol(format!("expected one column, the server described {}", fields.len()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_five_messages_in_order() {
        let mut out = BytesMut::new();
        let params: [Option<&[u8]>; 2] = [Some(b"x"), None];
        encode("SELECT $1, $2", StatementUse::UNNAMED, params.into_iter(), &mut out).unwrap();
        let mut tags = Vec::new();
        let mut rest = &out[..];
        while !rest.is_empty() {
            tags.push(rest[0]);
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            rest = &rest[1 + len..];
        }
        assert_eq!(tags, b"PBDES");
    }

    #[test]
    fn nul_in_sql_is_a_clear_error() {
        let mut out = BytesMut::new();
        let err = encode("SELECT 1\0", StatementUse::UNNAMED, std::iter::empty(), &mut out).unwrap_err();
        assert!(matches!(err, Error::Encode { .. }), "{err:?}");
        assert!(err.to_string().contains("NUL"), "{err}");
    }

    #[test]
    fn more_parameters_than_the_protocol_carries_are_refused() {
        let mut out = BytesMut::new();
        let params = vec![None; 65_536];
        let err = encode("SELECT 1", StatementUse::UNNAMED, params.into_iter(), &mut out).unwrap_err();
        assert!(matches!(err, Error::Encode { ref reason } if reason.contains("65,535")), "{err:?}");
    }
}
