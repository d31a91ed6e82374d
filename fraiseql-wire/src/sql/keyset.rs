//! Sort keys, and the keyset condition "after this row in this order".

use super::{Expr, Node, Param, Relation};
use crate::error::BuildError;

/// One `ORDER BY` key, with what keyset pagination needs to know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SortKey {
    /// The SQL expression, as filters write it (one expression index serves both), with its own values (the
    /// text of a search whose rank this is).
    pub(crate) expr: Expr,
    /// The cast written after a value compared with `expr` (`::numeric`), or nothing.
    pub(crate) cast: String,
    pub(crate) descending: bool,
    /// `NULLS FIRST` (`Some(true)`), `NULLS LAST` (`Some(false)`), or PostgreSQL's default for the direction.
    pub(crate) nulls_first: Option<bool>,
    /// The key identifies a row, so it can end a keyset order.
    pub(crate) unique: bool,
    /// The key may be missing or null in a row.
    pub(crate) nullable: bool,
    /// The row as decoded does not hold this key's value (a text search rank, computed by the server): the keyset
    /// condition recomputes it from the row's unique key, the last key. Such a key is never null.
    pub(crate) recomputed: bool,
}

impl SortKey {
    /// The `ORDER BY` item.
    pub(crate) fn order_item(&self) -> Expr {
        let mut item = self.expr.clone();
        item.push_text(if self.descending { " DESC" } else { " ASC" });
        match self.nulls_first {
            Some(true) => item.push_text(" NULLS FIRST"),
            Some(false) => item.push_text(" NULLS LAST"),
            None => {}
        }
        item
    }

    /// The `ORDER BY` item's SQL, its values numbered from `$1` (for `Debug`).
    pub(crate) fn sql(&self) -> String {
        let mut sql = String::new();
        self.order_item().write(&mut sql, &mut Vec::new());
        sql
    }

    /// Where NULLs sort: PostgreSQL puts them last for `ASC` and first for `DESC` unless told otherwise.
    fn nulls_come_first(&self) -> bool {
        self.nulls_first.unwrap_or(self.descending)
    }
}

/// What the row gave for one key.
#[derive(Clone, Copy)]
enum Position {
    /// A value, bound at this index.
    Value(usize),
    Null,
    /// Not in the row: the server recomputes it ([`SortKey::recomputed`]).
    Recomputed,
}

/// The condition "after the row whose key values are `values`" for `keys` on `relation`:
/// `a > $1 OR (a = $1 AND b > $2) OR …`, with `<` for descending keys (never an `AND` of comparisons, which would
/// skip rows).
///
/// Nullable keys follow PostgreSQL's placement of NULLs: after a non-null value come the greater values and then
/// the NULLs when NULLs sort last; after a NULL come the non-null values when NULLs sort first, else nothing on
/// that key. A recomputed key's value is a scalar subquery on `relation` by the row's unique key (the last key),
/// `(SELECT <key> FROM <relation> WHERE <unique key> = $n)`: the same expression on the same document, so it
/// equals the row's own value exactly and ties are broken by the keys after it.
pub(crate) fn after(relation: &Relation, keys: &[SortKey], values: Vec<Param>) -> Result<Node, BuildError> {
    let invalid = |reason: &str| BuildError::Keyset { reason: reason.to_owned() };
    let Some(last) = keys.last() else {
        return Err(invalid("keyset pagination needs order_by keys first"));
    };
    if !last.unique {
        return Err(invalid(
            "the last order key must be unique, or rows sharing its value would be skipped or repeated",
        ));
    }
    if keys.len() != values.len() {
        return Err(invalid("the row gave a different number of key values than there are keys"));
    }
    let mut condition = Expr::new();
    // Each key's own values (a search text) and each non-null row value are bound once, and referred to by every
    // term that uses them.
    let bases: Vec<usize> = keys.iter().map(|key| condition.bind_expr(&key.expr)).collect();
    let positions: Vec<Position> = keys
        .iter()
        .zip(values)
        .map(|(key, value)| match value.as_str() {
            _ if key.recomputed => Position::Recomputed,
            Some(_) => Position::Value(condition.bind(value)),
            None => Position::Null,
        })
        .collect();
    let unique = match positions.last() {
        Some(Position::Value(index)) => Some(*index),
        _ => None,
    };
    if unique.is_none() && keys.iter().any(|key| key.recomputed) {
        return Err(invalid(
            "a rank key is recomputed from the row's unique key, the last order key, but the row's value of it is null",
        ));
    }
    let keyset = Keyset { relation, keys, bases, positions, unique };
    let mut alternatives = 0;
    for (i, key) in keys.iter().enumerate() {
        if matches!(keyset.positions[i], Position::Null) && !key.nulls_come_first() {
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
        for equal in 0..i {
            keyset.write_equal(&mut condition, equal);
            condition.push_text(" AND ");
        }
        keyset.write_after(&mut condition, i);
        if i > 0 {
            condition.push_text(")");
        }
    }
    if alternatives == 0 {
        return Ok(Node::Const(false));
    }
    Ok(Node::Expr(condition))
}

/// What the terms of one keyset condition refer to.
struct Keyset<'a> {
    relation: &'a Relation,
    keys: &'a [SortKey],
    /// Where each key's own values are bound.
    bases: Vec<usize>,
    positions: Vec<Position>,
    /// Where the row's value of the unique (last) key is bound, if it is not null.
    unique: Option<usize>,
}

impl Keyset<'_> {
    fn write_key(&self, condition: &mut Expr, i: usize) {
        condition.push_bound_expr(&self.keys[i].expr, self.bases[i]);
    }

    /// The row's value of key `i` (a bound value, or the subquery that recomputes it), with its cast.
    fn write_value(&self, condition: &mut Expr, i: usize, index: Option<usize>) {
        match (index, self.unique, self.keys.last()) {
            (Some(index), ..) => {
                condition.push_value_ref(index);
                condition.push_text(&self.keys[i].cast);
            }
            (None, Some(unique), Some(unique_key)) => {
                condition.push_text("(SELECT ");
                self.write_key(condition, i);
                condition.push_text(&format!(" FROM {} WHERE ", self.relation.quoted));
                self.write_key(condition, self.keys.len() - 1);
                condition.push_text(" = ");
                condition.push_value_ref(unique);
                condition.push_text(&unique_key.cast);
                condition.push_text(")");
            }
            // `after` refuses a recomputed key without a unique value.
            (None, ..) => condition.push_text("NULL"),
        }
    }

    /// "Key `i` equals the row's value".
    fn write_equal(&self, condition: &mut Expr, i: usize) {
        self.write_key(condition, i);
        match self.positions[i] {
            Position::Value(index) => {
                condition.push_text(" = ");
                self.write_value(condition, i, Some(index));
            }
            Position::Recomputed => {
                condition.push_text(" = ");
                self.write_value(condition, i, None);
            }
            Position::Null => condition.push_text(" IS NULL"),
        }
    }

    /// "Key `i` comes strictly after the row's value".
    fn write_after(&self, condition: &mut Expr, i: usize) {
        let key = &self.keys[i];
        let index = match self.positions[i] {
            Position::Value(index) => Some(index),
            Position::Recomputed => None,
            Position::Null => {
                self.write_key(condition, i);
                condition.push_text(" IS NOT NULL");
                return;
            }
        };
        let nulls_follow = key.nullable && !key.nulls_come_first();
        if nulls_follow {
            condition.push_text("(");
        }
        self.write_key(condition, i);
        condition.push_text(if key.descending { " < " } else { " > " });
        self.write_value(condition, i, index);
        if nulls_follow {
            condition.push_text(" OR ");
            self.write_key(condition, i);
            condition.push_text(" IS NULL)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expr: &str, descending: bool, nullable: bool, unique: bool) -> SortKey {
        SortKey {
            expr: Expr::text(expr),
            cast: if expr.starts_with('(') { "::numeric".to_owned() } else { String::new() },
            descending,
            nulls_first: None,
            unique,
            nullable,
            recomputed: false,
        }
    }

    fn relation() -> Relation {
        Relation::parse("app.v").unwrap()
    }

    fn sql(keys: &[SortKey], values: &[Option<&str>]) -> String {
        let values = values.iter().map(|v| v.map_or(Param::NULL, Param::text)).collect();
        let node = after(&relation(), keys, values).unwrap();
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
        assert!(after(&relation(), &[], Vec::new()).is_err());
        assert!(after(&relation(), &[key("a", false, false, false)], vec![Param::text("1")]).is_err());
        assert!(after(&relation(), &[key("a", false, false, true)], Vec::new()).is_err());
    }

    #[test]
    fn a_recomputed_key_is_read_back_by_the_unique_key() {
        let rank = Expr::compare("rank(".into(), Param::text("q"), ")");
        let rank = SortKey { expr: rank, recomputed: true, ..key("", true, false, false) };
        let keys = [rank, key("(i)", false, false, true)];
        let values = vec![Param::NULL, Param::text("7")];
        let node = after(&relation(), &keys, values).unwrap();
        let mut params = Vec::new();
        assert_eq!(
            node.render(&mut params).unwrap(),
            "rank($1) < (SELECT rank($1) FROM \"app\".\"v\" WHERE (i) = $2::numeric) \
             OR (rank($1) = (SELECT rank($1) FROM \"app\".\"v\" WHERE (i) = $2::numeric) AND (i) > $2::numeric)"
        );
        assert_eq!(params, [Param::text("q"), Param::text("7")]);
        let null_unique = after(&relation(), &keys, vec![Param::NULL, Param::NULL]);
        assert!(null_unique.is_err());
    }
}
