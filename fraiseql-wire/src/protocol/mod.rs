//! The PostgreSQL wire protocol as plain functions over byte buffers: no sockets, no async.
//!
//! The async layer (`connection`) moves bytes; everything that interprets them lives here so it can be
//! unit-tested and fuzzed on its own. Message encoding and SCRAM come from `postgres-protocol`.

pub(crate) mod auth;
pub(crate) mod channel_binding;
pub(crate) mod frame;
pub(crate) mod query;
pub(crate) mod require_auth;
pub(crate) mod startup;

/// OID of the `json` type.
pub(crate) const JSON_OID: u32 = 114;
/// OID of the `jsonb` type.
pub(crate) const JSONB_OID: u32 = 3802;

/// Names of common built-in types, for error messages about a `data` column of the wrong type.
pub(crate) fn builtin_type_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        16 => "boolean",
        17 => "bytea",
        18 => "\"char\"",
        19 => "name",
        20 => "bigint",
        21 => "smallint",
        23 => "integer",
        25 => "text",
        26 => "oid",
        114 => "json",
        142 => "xml",
        700 => "real",
        701 => "double precision",
        1042 => "character",
        1043 => "character varying",
        1082 => "date",
        1083 => "time without time zone",
        1114 => "timestamp without time zone",
        1184 => "timestamp with time zone",
        1700 => "numeric",
        2249 => "record",
        2950 => "uuid",
        3802 => "jsonb",
        4072 => "jsonpath",
        199 => "json[]",
        3807 => "jsonb[]",
        1009 => "text[]",
        _ => return None,
    })
}
