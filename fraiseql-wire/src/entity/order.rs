//! Sort keys, and keyset pagination over them.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::query::Param;

/// Reads a sort key's value out of a row, as a parameter.
type KeyValue<E> = Arc<dyn Fn(&E) -> Param + Send + Sync>;

/// One sort key of a query on entity `E`, from a field's [`asc`](super::Field::asc) or
/// [`desc`](super::Field::desc).
pub struct OrderKey<E> {
    expr: String,
    cast: String,
    descending: bool,
    nulls_first: Option<bool>,
    unique: bool,
    value: KeyValue<E>,
}

impl<E> Clone for OrderKey<E> {
    fn clone(&self) -> Self {
        OrderKey {
            expr: self.expr.clone(),
            cast: self.cast.clone(),
            descending: self.descending,
            nulls_first: self.nulls_first,
            unique: self.unique,
            value: self.value.clone(),
        }
    }
}

impl<E> fmt::Debug for OrderKey<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql())
    }
}

impl<E> OrderKey<E> {
    pub(crate) fn new(expr: String, cast: String, descending: bool, unique: bool, value: KeyValue<E>) -> Self {
        OrderKey { expr, cast, descending, nulls_first: None, unique, value }
    }

    /// Puts rows whose key is missing or null first.
    pub fn nulls_first(mut self) -> Self {
        self.nulls_first = Some(true);
        self
    }

    /// Puts rows whose key is missing or null last.
    pub fn nulls_last(mut self) -> Self {
        self.nulls_first = Some(false);
        self
    }

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
}

/// The keyset condition "after `row` in this order": `a > $1 OR (a = $1 AND b > $2) OR …`, with `<` for
/// descending keys. Returned as SQL with `$1..$n` placeholders local to it, and the values.
pub(crate) fn keyset_after<E>(keys: &[OrderKey<E>], row: &E) -> Result<(String, Vec<Param>), Error> {
    let invalid = |reason: &str| Error::InvalidFragment { fragment: "after()".to_owned(), reason: reason.to_owned() };
    if keys.is_empty() {
        return Err(invalid("keyset pagination needs order_by keys first"));
    }
    if !keys.last().is_some_and(|k| k.unique) {
        return Err(invalid(
            "the last order key must be unique (a `#[entity(column = …)]` field or one marked \
             `#[entity(order_key)]`), or rows sharing a key would be skipped or repeated",
        ));
    }
    let values: Vec<Param> = keys.iter().map(|k| (k.value)(row)).collect();
    if values.iter().any(|v| v.as_str().is_none()) {
        return Err(invalid("a sort key of the given row is null; keyset pagination needs non-null keys"));
    }
    let mut alternatives = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let mut terms: Vec<String> =
            keys[..i].iter().enumerate().map(|(j, k)| format!("{} = ${}{}", k.expr, j + 1, k.cast)).collect();
        let op = if key.descending { "<" } else { ">" };
        terms.push(format!("{} {op} ${}{}", key.expr, i + 1, key.cast));
        alternatives.push(if terms.len() == 1 { terms.remove(0) } else { format!("({})", terms.join(" AND ")) });
    }
    Ok((alternatives.join(" OR "), values))
}
