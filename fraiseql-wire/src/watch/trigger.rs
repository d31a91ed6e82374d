//! The change source: statement-level triggers that NOTIFY the keys a statement changed, and the payloads they
//! send. Both sides of the payload format are here.

use super::invalid;
use crate::error::{Error, Result};
use crate::sql::{Relation, parse_fragment, quote_identifier, quote_literal};

/// PostgreSQL truncates longer channel names (identifiers), so LISTEN and `pg_notify` would disagree.
const MAX_CHANNEL_BYTES: usize = 63;

/// The payload that asks every watch of the channel to read its query afresh.
pub(super) const RESYNC_PAYLOAD: &str = "*";

/// The SQL that installs, on `table`, the triggers a [`watch`](crate::Query::watch) of a view over it needs:
/// after every `INSERT`, `UPDATE` and `DELETE` statement, the keys of the rows it changed are sent on `channel`
/// with `pg_notify`; after a `TRUNCATE`, a request to read everything again.
///
/// - `table` is a table the view reads (`project` or `app.project`); install the triggers on each one whose
///   changes can change the view's rows.
/// - `key_expr` is an SQL expression over a changed row of `table` (named `changed`) that gives the key the view
///   shows for it, as text equal to the view's key column cast to `text`: `id` when the view's `id` is the
///   table's, `changed.project_id` for a table of a project's children. It must be one expression, written by
///   you, never built from user input; the keys of one statement are sent once each.
/// - `channel` is the channel the watch listens on: by default the view's name as the query gives it
///   (`v_project`, see [`WatchOptions::channel`](super::WatchOptions::channel)).
///
/// The statements are idempotent (`CREATE OR REPLACE`, `DROP TRIGGER IF EXISTS`): run them in a migration. Keys
/// travel in batches under the 8,000-byte payload limit; a key longer than 900 bytes asks for a full read
/// instead. The function and triggers are named `fraiseql_watch_<hash of table and channel>`, the function in
/// the table's schema; [`remove_trigger_sql`] drops them.
///
/// ```
/// let sql = fraiseql_wire::watch::trigger_sql("app.project", "id", "app.v_project")?;
/// assert!(sql.contains("AFTER UPDATE ON \"app\".\"project\" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"));
/// # Ok::<(), fraiseql_wire::Error>(())
/// ```
pub fn trigger_sql(table: &str, key_expr: &str, channel: &str) -> Result<String> {
    let table = Relation::parse(table).map_err(Error::from)?;
    check_channel(channel)?;
    // One expression, as `where_sql` takes it: no statement can be smuggled into the function's body.
    parse_fragment(key_expr, 0).map_err(Error::from)?;
    if key_expr.contains("$fraiseql_watch$") {
        return Err(invalid("the key expression contains the function body's quote"));
    }
    let names = Names::new(&table, channel);
    let notify = |source: &str| {
        format!(
            "PERFORM pg_notify({channel}, CASE WHEN max(octet_length(piece)) > 900 THEN '{RESYNC_PAYLOAD}' \
             ELSE '[' || string_agg(piece, ',') || ']' END)\n      \
             FROM (SELECT piece, sum(octet_length(piece) + 1) OVER (ORDER BY piece) / 7000 AS chunk\n            \
             FROM (SELECT DISTINCT to_json(({key_expr})::text)::text AS piece FROM {source} AS changed) AS keys\n            \
             WHERE piece IS NOT NULL) AS chunks\n      \
             GROUP BY chunk;",
            channel = quote_literal(channel),
        )
    };
    let function = &names.function;
    let mut sql = format!(
        "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $fraiseql_watch$\n\
         BEGIN\n  \
           IF TG_OP = 'TRUNCATE' THEN\n    \
             PERFORM pg_notify({channel}, '{RESYNC_PAYLOAD}');\n  \
           ELSIF TG_OP = 'INSERT' THEN\n    {insert}\n  \
           ELSIF TG_OP = 'UPDATE' THEN\n    {update}\n  \
           ELSE\n    {delete}\n  \
           END IF;\n  \
           RETURN NULL;\n\
         END\n\
         $fraiseql_watch$;\n",
        channel = quote_literal(channel),
        insert = notify("new_rows"),
        // A key that changed is sent in both its forms: the row left under the old one.
        update = notify("(SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows)"),
        delete = notify("old_rows"),
    );
    let table = &table.quoted;
    for (event, referencing) in TRIGGERS {
        let trigger = names.trigger(event);
        let event = event.to_uppercase();
        sql.push_str(&format!(
            "DROP TRIGGER IF EXISTS {trigger} ON {table};\n\
             CREATE TRIGGER {trigger} AFTER {event} ON {table}{referencing} FOR EACH STATEMENT \
             EXECUTE FUNCTION {function}();\n"
        ));
    }
    Ok(sql)
}

/// The SQL that drops what [`trigger_sql`] with the same `table` and `channel` installed.
pub fn remove_trigger_sql(table: &str, channel: &str) -> Result<String> {
    let table = Relation::parse(table).map_err(Error::from)?;
    check_channel(channel)?;
    let names = Names::new(&table, channel);
    let mut sql = String::new();
    for (event, _) in TRIGGERS {
        sql.push_str(&format!("DROP TRIGGER IF EXISTS {} ON {};\n", names.trigger(event), table.quoted));
    }
    sql.push_str(&format!("DROP FUNCTION IF EXISTS {}();\n", names.function));
    Ok(sql)
}

/// Each trigger's event and the transition tables it reads.
const TRIGGERS: [(&str, &str); 4] = [
    ("insert", " REFERENCING NEW TABLE AS new_rows"),
    ("update", " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", " REFERENCING OLD TABLE AS old_rows"),
    ("truncate", ""),
];

/// The names of one table's and channel's function and triggers.
struct Names {
    stem: String,
    function: String,
}

impl Names {
    fn new(table: &Relation, channel: &str) -> Names {
        // Named by a hash: the table's and channel's names together exceed the identifier limit, and two views on
        // one table need triggers of their own.
        let stem = format!("fraiseql_watch_{:016x}", fnv1a(&[table.quoted.as_bytes(), b"\0", channel.as_bytes()]));
        let function = format!("{}{}", table.schema_prefix(), quote_identifier(&stem));
        Names { stem, function }
    }

    fn trigger(&self, event: &str) -> String {
        quote_identifier(&format!("{}_{event}", self.stem))
    }
}

/// FNV-1a, 64 bits: stable across versions and platforms, so the names a migration created are found again.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

pub(super) fn check_channel(channel: &str) -> Result<()> {
    let reason = if channel.is_empty() {
        "the channel name is empty"
    } else if channel.len() > MAX_CHANNEL_BYTES {
        "the channel name is longer than PostgreSQL's 63-byte identifier limit"
    } else if channel.contains('\0') {
        "the channel name contains NUL"
    } else {
        return Ok(());
    };
    Err(invalid(format!("{reason}: `{channel}`")))
}

/// What one notification says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Payload {
    /// These rows may have changed.
    Keys(Vec<String>),
    /// Anything may have changed: a TRUNCATE, a key too long to send, or a payload this version cannot read.
    Resync,
}

pub(super) fn parse_payload(payload: &str) -> Payload {
    if payload == RESYNC_PAYLOAD {
        return Payload::Resync;
    }
    match serde_json::from_str::<Vec<String>>(payload) {
        Ok(keys) => Payload::Keys(keys),
        Err(error) => {
            tracing::warn!(%error, payload_bytes = payload.len(), "unreadable watch notification: reading afresh");
            Payload::Resync
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_keys_or_a_request_to_read_afresh() {
        assert_eq!(parse_payload(r#"["1","a\"b"]"#), Payload::Keys(vec!["1".into(), "a\"b".into()]));
        assert_eq!(parse_payload("*"), Payload::Resync);
        for foreign in ["", "hello", "[1,2]", "{\"id\":1}"] {
            assert_eq!(parse_payload(foreign), Payload::Resync, "{foreign}");
        }
    }

    #[test]
    fn names_are_stable_and_sit_beside_the_table() {
        let sql = trigger_sql("app.project", "id", "app.v_project").unwrap();
        assert!(sql.starts_with("CREATE OR REPLACE FUNCTION \"app\".\"fraiseql_watch_"), "{sql}");
        assert_eq!(sql, trigger_sql("app.project", "id", "app.v_project").unwrap());
        assert_ne!(sql, trigger_sql("app.project", "id", "other").unwrap());
        let removal = remove_trigger_sql("app.project", "app.v_project").unwrap();
        let stem = &sql["CREATE OR REPLACE FUNCTION \"app\".\"".len()..][..31];
        assert!(removal.contains(stem), "{removal}");
        assert!(trigger_sql("project", "id", "v").unwrap().starts_with("CREATE OR REPLACE FUNCTION \"fraiseql_watch_"));
    }

    #[test]
    fn only_one_key_expression_and_a_valid_channel_are_taken() {
        assert!(matches!(trigger_sql("t", "id); DROP TABLE t; --", "c"), Err(Error::InvalidFragment { .. })));
        assert!(matches!(trigger_sql("t", "id", ""), Err(Error::InvalidWatch { .. })));
        assert!(matches!(trigger_sql("t", "id", &"c".repeat(64)), Err(Error::InvalidWatch { .. })));
        assert!(matches!(trigger_sql("t;", "id", "c"), Err(Error::InvalidRelation { .. })));
    }
}
