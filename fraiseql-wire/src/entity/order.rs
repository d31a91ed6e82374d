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
    nullable: bool,
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
            nullable: self.nullable,
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
    pub(crate) fn new(
        expr: String,
        cast: String,
        descending: bool,
        unique: bool,
        nullable: bool,
        value: KeyValue<E>,
    ) -> Self {
        OrderKey { expr, cast, descending, nulls_first: None, unique, nullable, value }
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
///
/// Nullable keys follow PostgreSQL's placement of NULLs (last for `ASC`, first for `DESC`, unless
/// `nulls_first`/`nulls_last` says otherwise): after a non-null value come the greater values and then the NULLs
/// when NULLs sort last; after a NULL come the non-null values when NULLs sort first, else nothing on that key.
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
    let mut params = Vec::new();
    // For each key: "equal to the row's value" and "strictly after it", as SQL (None: never true).
    let mut equal = Vec::with_capacity(keys.len());
    let mut after = Vec::with_capacity(keys.len());
    for key in keys {
        let nulls_first = key.nulls_first.unwrap_or(key.descending);
        match (key.value)(row) {
            value if value.as_str().is_some() => {
                params.push(value);
                let placeholder = format!("${}{}", params.len(), key.cast);
                let op = if key.descending { "<" } else { ">" };
                equal.push(Some(format!("{} = {placeholder}", key.expr)));
                let greater = format!("{} {op} {placeholder}", key.expr);
                after.push(Some(if key.nullable && !nulls_first {
                    format!("({greater} OR {} IS NULL)", key.expr)
                } else {
                    greater
                }));
            }
            _ => {
                equal.push(Some(format!("{} IS NULL", key.expr)));
                after.push(nulls_first.then(|| format!("{} IS NOT NULL", key.expr)));
            }
        }
    }
    let mut alternatives = Vec::with_capacity(keys.len());
    for (i, after_i) in after.iter().enumerate() {
        let Some(after_i) = after_i else { continue };
        let mut terms: Vec<&str> = equal[..i].iter().flatten().map(String::as_str).collect();
        terms.push(after_i);
        alternatives.push(if terms.len() == 1 { terms[0].to_owned() } else { format!("({})", terms.join(" AND ")) });
    }
    if alternatives.is_empty() {
        return Ok(("FALSE".to_owned(), params));
    }
    Ok((alternatives.join(" OR "), params))
}
