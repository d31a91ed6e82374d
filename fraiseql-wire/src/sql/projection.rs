//! Projection: the server sends only the top-level keys a row type reads, not the whole document.
//!
//! The projected document is exact: a key the document lacks stays absent (it does not become `null`, which
//! `#[serde(default)]` fields and `Value` fields tell apart), a `null` key stays `null`, nested values are
//! untouched, and a document that is not an object (or a SQL `NULL`) passes through unchanged, so it fails to
//! decode exactly as it would unprojected.
//!
//! The document is detoasted once, in a `LATERAL` subquery that the planner keeps (`OFFSET 0`): every `->`
//! on a toasted column would otherwise decompress the whole document again, which for three keys of a 100 KB
//! document costs more than sending it. `#> '{}'` is the identity that detoasts any JSON value, scalars
//! included.

use super::quote_literal;
use crate::error::BuildError;

/// The name the detoasted document goes by in the statement; unusual enough that no view column shadows it,
/// and no caller fragment resolves to it by accident.
const DOCUMENT: &str = "__fraiseql_doc";

/// PostgreSQL functions take at most 100 arguments: `jsonb_build_object` builds 50 keys at a time.
const KEYS_PER_OBJECT: usize = 50;

/// Stored bytes per projected key below which an adaptive projection sends the whole document. Building the
/// smaller document costs the server about a microsecond per key, so for small documents that the reader mostly
/// reads it costs more than it saves: 3 keys of 423-byte documents (141 B per key) were 0.86× as fast projected,
/// 3 keys of 1.9 KB ones (640 B per key) 2.2× as fast (benches/README.md, "Projection").
const ADAPTIVE_BYTES_PER_KEY: usize = 256;

/// The top-level keys to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Projection {
    keys: Vec<String>,
    /// Documents stored in fewer bytes than this (`pg_column_size`, before detoasting) are sent whole; `None`
    /// projects every document.
    min_stored_bytes: Option<usize>,
}

impl Projection {
    /// Keeps `keys` (duplicates once); a key PostgreSQL text cannot hold is a build error.
    pub(crate) fn new(keys: impl IntoIterator<Item = String>) -> Result<Projection, BuildError> {
        let mut kept: Vec<String> = Vec::new();
        for key in keys {
            if key.contains('\0') {
                return Err(BuildError::Filter {
                    reason: format!(
                        "the projected key {key:?} contains a NUL character, which no JSON key in jsonb can"
                    ),
                });
            }
            if !kept.contains(&key) {
                kept.push(key);
            }
        }
        Ok(Projection { keys: kept, min_stored_bytes: None })
    }

    /// Projects only documents large enough for it to pay; the others are sent whole. For a typed reader, which
    /// ignores keys it does not read, the rows decode the same either way.
    pub(crate) fn adaptive(mut self) -> Projection {
        self.min_stored_bytes = Some(ADAPTIVE_BYTES_PER_KEY * self.keys.len().max(1));
        self
    }

    /// Writes the select-list expression that builds the projected document.
    pub(crate) fn write_select(&self, sql: &mut String) {
        sql.push_str("CASE ");
        if self.min_stored_bytes.is_some() {
            // Left undetoasted by the join: too small to project.
            sql.push_str("WHEN ");
            sql.push_str(DOCUMENT);
            sql.push_str(" IS NULL THEN \"data\" ");
        }
        sql.push_str("WHEN jsonb_typeof(");
        sql.push_str(DOCUMENT);
        sql.push_str(") = 'object' THEN ");
        if self.keys.is_empty() {
            sql.push_str("'{}'::jsonb");
        } else {
            for (i, chunk) in self.keys.chunks(KEYS_PER_OBJECT).enumerate() {
                sql.push_str(if i == 0 { "(" } else { " || " });
                sql.push_str("jsonb_build_object(");
                for (j, key) in chunk.iter().enumerate() {
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    let literal = quote_literal(key);
                    sql.push_str(&literal);
                    sql.push_str(", ");
                    sql.push_str(DOCUMENT);
                    sql.push_str("->");
                    sql.push_str(&literal);
                }
                sql.push(')');
            }
            // A missing key was built as `null`; deleting it again keeps "absent" and "null" apart. The
            // array's NULLs (keys that are present) delete nothing.
            sql.push_str(") - ARRAY[");
            for (i, key) in self.keys.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let literal = quote_literal(key);
                sql.push_str("CASE WHEN ");
                sql.push_str(DOCUMENT);
                sql.push_str(" ? ");
                sql.push_str(&literal);
                sql.push_str(" THEN NULL ELSE ");
                sql.push_str(&literal);
                sql.push_str(" END");
            }
            sql.push_str("]::text[]");
        }
        sql.push_str(" ELSE ");
        sql.push_str(DOCUMENT);
        sql.push_str(" END");
    }

    /// Writes the `LATERAL` join that detoasts the document once; returns the 1-based character position of its
    /// `"data"`.
    pub(crate) fn write_lateral(&self, sql: &mut String) -> usize {
        sql.push_str(", LATERAL (SELECT ");
        if let Some(bytes) = self.min_stored_bytes {
            sql.push_str("CASE WHEN pg_column_size(");
            let data_column = sql.chars().count() + 1;
            sql.push_str("\"data\") >= ");
            sql.push_str(&bytes.to_string());
            sql.push_str(" THEN \"data\"::jsonb #> '{}' END");
            Self::finish_lateral(sql);
            data_column
        } else {
            let data_column = sql.chars().count() + 1;
            sql.push_str("\"data\"::jsonb #> '{}'");
            Self::finish_lateral(sql);
            data_column
        }
    }

    fn finish_lateral(sql: &mut String) {
        sql.push_str(" AS ");
        sql.push_str(DOCUMENT);
        sql.push_str(" OFFSET 0) AS __fraiseql");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(keys: &[&str]) -> String {
        let mut sql = String::new();
        Projection::new(keys.iter().map(|k| k.to_string())).unwrap().write_select(&mut sql);
        sql
    }

    #[test]
    fn keys_are_built_then_absent_ones_deleted() {
        assert_eq!(
            select(&["id", "it's"]),
            "CASE WHEN jsonb_typeof(__fraiseql_doc) = 'object' THEN (jsonb_build_object('id', __fraiseql_doc->'id', \
             'it''s', __fraiseql_doc->'it''s')) - ARRAY[CASE WHEN __fraiseql_doc ? 'id' THEN NULL ELSE 'id' END, \
             CASE WHEN __fraiseql_doc ? 'it''s' THEN NULL ELSE 'it''s' END]::text[] ELSE __fraiseql_doc END"
        );
    }

    #[test]
    fn no_keys_is_an_empty_object() {
        assert_eq!(
            select(&[]),
            "CASE WHEN jsonb_typeof(__fraiseql_doc) = 'object' THEN '{}'::jsonb ELSE __fraiseql_doc END"
        );
    }

    #[test]
    fn many_keys_are_built_fifty_at_a_time() {
        let keys: Vec<String> = (0..120).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let sql = select(&refs);
        assert_eq!(sql.matches("jsonb_build_object(").count(), 3);
        assert_eq!(sql.matches(" || ").count(), 2);
        assert_eq!(sql.matches(" THEN NULL ELSE ").count(), 120);
    }

    #[test]
    fn an_adaptive_projection_sends_small_documents_whole() {
        let projection = Projection::new(["a".to_owned(), "b".to_owned()]).unwrap().adaptive();
        let mut sql = String::new();
        projection.write_select(&mut sql);
        assert!(sql.starts_with("CASE WHEN __fraiseql_doc IS NULL THEN \"data\" WHEN jsonb_typeof("), "{sql}");
        let mut lateral = String::from("SELECT x FROM v");
        let position = projection.write_lateral(&mut lateral);
        assert_eq!(
            lateral,
            "SELECT x FROM v, LATERAL (SELECT CASE WHEN pg_column_size(\"data\") >= 512 THEN \"data\"::jsonb #> '{}' \
             END AS __fraiseql_doc OFFSET 0) AS __fraiseql"
        );
        assert_eq!(&lateral[position - 1..][..6], "\"data\"");
    }

    #[test]
    fn duplicates_are_kept_once_and_nul_is_refused() {
        assert_eq!(select(&["a", "a", "b"]).matches("jsonb_build_object(").count(), 1);
        assert_eq!(select(&["a", "a"]).matches(" THEN NULL ELSE ").count(), 1);
        assert!(Projection::new(["a\0b".to_owned()]).is_err());
    }
}
