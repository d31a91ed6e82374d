//! Sort keys, and the keyset condition "after this row in this order".

use super::{Expr, Node, Param};
use crate::error::BuildError;

/// One `ORDER BY` key, with what keyset pagination needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SortKey {
    /// The SQL expression, as filters write it (one expression index serves both).
    pub(crate) expr: String,
    /// The cast written after a value compared with `expr` (`::numeric`), or nothing.
    pub(crate) cast: String,
    pub(crate) descending: bool,
    /// `NULLS FIRST` (`Some(true)`), `NULLS LAST` (`Some(false)`), or PostgreSQL's default for the direction.
    pub(crate) nulls_first: Option<bool>,
    /// The key identifies a row, so it can end a keyset order.
    pub(crate) unique: bool,
    /// The key may be missing or null in a row.
    pub(crate) nullable: bool,
}

impl SortKey {
    /// The `ORDER BY` item.
    pub(crate) fn sql(&self) -> String {
        let mut sql = format!("{} {}", self.expr, if self.descending { "DESC" } else { "ASC" });
        match self.nulls_first {
            Some(true) => sql.push_str(" NULLS FIRST"),
            Some(false) => sql.push_str(" NULLS LAST"),
            None => {}
        }
        sql
    }

    /// Where NULLs sort: PostgreSQL puts them last for `ASC` and first for `DESC` unless told otherwise.
    fn nulls_come_first(&self) -> bool {
        self.nulls_first.unwrap_or(self.descending)
    }
}

/// The condition "after the row whose key values are `values`" for `keys`: `a > $1 OR (a = $1 AND b > $2) OR …`,
/// with `<` for descending keys (never an `AND` of comparisons, which would skip rows).
///
/// Nullable keys follow PostgreSQL's placement of NULLs: after a non-null value come the greater values and then
/// the NULLs when NULLs sort last; after a NULL come the non-null values when NULLs sort first, else nothing on
/// that key.
pub(crate) fn after(keys: &[SortKey], values: Vec<Param>) -> Result<Node, BuildError> {
    let invalid = |reason: &str| BuildError::Keyset { reason: reason.to_owned() };
    if keys.is_empty() {
        return Err(invalid("keyset pagination needs order_by keys first"));
    }
    if !keys.last().is_some_and(|k| k.unique) {
        return Err(invalid(
            "the last order key must be unique, or rows sharing its value would be skipped or repeated",
        ));
    }
    if keys.len() != values.len() {
        return Err(invalid("the row gave a different number of key values than there are keys"));
    }
    let mut condition = Expr::new();
    // Each non-null value is bound once and referred to by every term that compares with it.
    let bound: Vec<Option<usize>> = values
        .into_iter()
        .map(|value| if value.as_str().is_some() { Some(condition.bind(value)) } else { None })
        .collect();
    let mut alternatives = 0;
    for (i, key) in keys.iter().enumerate() {
        if bound[i].is_none() && !key.nulls_come_first() {
            // After a NULL that sorts last, nothing follows on this key.
            continue;
        }
        if alternatives > 0 {
            condition.push_text(" OR ");
        }
        alternatives += 1;
        if i > 0 {
            condition.push_text("(");
        }
        for (equal_key, equal_value) in keys[..i].iter().zip(&bound) {
            write_equal(&mut condition, equal_key, *equal_value);
            condition.push_text(" AND ");
        }
        write_after(&mut condition, key, bound[i]);
        if i > 0 {
            condition.push_text(")");
        }
    }
    if alternatives == 0 {
        return Ok(Node::Const(false));
    }
    Ok(Node::Expr(condition))
}

/// "The key equals the row's value".
fn write_equal(condition: &mut Expr, key: &SortKey, value: Option<usize>) {
    match value {
        Some(index) => {
            condition.push_text(&format!("{} = ", key.expr));
            condition.push_value_ref(index);
            condition.push_text(&key.cast);
        }
        None => condition.push_text(&format!("{} IS NULL", key.expr)),
    }
}

/// "The key comes strictly after the row's value".
fn write_after(condition: &mut Expr, key: &SortKey, value: Option<usize>) {
    match value {
        Some(index) => {
            let nulls_follow = key.nullable && !key.nulls_come_first();
            if nulls_follow {
                condition.push_text("(");
            }
            condition.push_text(&format!("{} {} ", key.expr, if key.descending { "<" } else { ">" }));
            condition.push_value_ref(index);
            condition.push_text(&key.cast);
            if nulls_follow {
                condition.push_text(&format!(" OR {} IS NULL)", key.expr));
            }
        }
        None => condition.push_text(&format!("{} IS NOT NULL", key.expr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expr: &str, descending: bool, nullable: bool, unique: bool) -> SortKey {
        SortKey {
            expr: expr.to_owned(),
            cast: if expr.starts_with('(') { "::numeric".to_owned() } else { String::new() },
            descending,
            nulls_first: None,
            unique,
            nullable,
        }
    }

    fn sql(keys: &[SortKey], values: &[Option<&str>]) -> String {
        let values = values.iter().map(|v| v.map_or(Param::NULL, Param::text)).collect();
        let node = after(keys, values).unwrap();
        node.render(&mut Vec::new()).unwrap()
    }

    #[test]
    fn lexicographic_expansion_shares_each_value() {
        let keys = [key("(p)", true, false, false), key("\"id\"", false, false, true)];
        assert_eq!(sql(&keys, &[Some("2"), Some("42")]), "(p) < $1::numeric OR ((p) = $1::numeric AND \"id\" > $2)");
    }

    #[test]
    fn nullable_keys_follow_postgresql_null_placement() {
        let keys = [key("s", false, true, false), key("id", false, false, true)];
        assert_eq!(sql(&keys, &[Some("1"), Some("7")]), "(s > $1 OR s IS NULL) OR (s = $1 AND id > $2)");
        // A NULL sorts last with ASC: only the rows with the same NULL and a greater id follow.
        assert_eq!(sql(&keys, &[None, Some("7")]), "(s IS NULL AND id > $1)");
        let descending = [key("s", true, true, false), key("id", false, false, true)];
        assert_eq!(sql(&descending, &[None, Some("7")]), "s IS NOT NULL OR (s IS NULL AND id > $1)");
    }

    #[test]
    fn keys_must_end_with_a_unique_one() {
        assert!(after(&[], Vec::new()).is_err());
        assert!(after(&[key("a", false, false, false)], vec![Param::text("1")]).is_err());
        assert!(after(&[key("a", false, false, true)], Vec::new()).is_err());
    }
}
