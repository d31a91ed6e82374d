//! Full-text search: [`websearch`], [`plain`] and [`phrase`] queries matched against a text field
//! (`p.body.search(q)`) or the whole document (`p.search(q)`), and their [`Rank`] as a sort key.
//!
//! | operator | SQL | index that serves it |
//! |---|---|---|
//! | `p.body.search(websearch("rust async"))` | `to_tsvector('english'::regconfig, data->>'body') @@ websearch_to_tsquery('english'::regconfig, $1)` | `CREATE INDEX … USING gin (to_tsvector('english', data->>'body'))` |
//! | `plain(q)`, `phrase(q)` | `plainto_tsquery(…, $1)`, `phraseto_tsquery(…, $1)` | the same |
//! | `p.search(q)` (the whole document) | `jsonb_to_tsvector('english'::regconfig, data, '["string"]'::jsonb) @@ …` | `CREATE INDEX … USING gin (jsonb_to_tsvector('english', data, '["string"]'))` |
//! | `p.body.rank(q).desc()`, `p.rank(q).desc()` | `ORDER BY COALESCE(ts_rank(<the vector>, <the query>), 0) DESC` | – |
//!
//! The query text is always a bound parameter. The configuration is part of the SQL text, as a literal
//! (`'english'::regconfig`), because an expression index is matched by its expression: the server serves
//! `to_tsvector('english'::regconfig, data->>'body')` from an index created with the two-argument form
//! `to_tsvector('english', data->>'body')` (the literal is resolved to the same configuration either way), and
//! from nothing else. The one-argument `to_tsvector(text)` reads the session's `default_text_search_config`, so
//! it cannot be indexed; fraiseql-wire never writes it.
//!
//! The configuration is [`TextQuery::DEFAULT_CONFIG`], `english` (stemming, so "running" finds "runs", and
//! English stop words), unless the query says otherwise with [`config`](TextQuery::config): `simple` for
//! codes and names (lower-cased words, no stemming), or any configuration the server has (`\dF` in psql). The
//! index must name the same configuration as the queries it serves.
//!
//! A missing or JSON `null` field has no words: `search` is unknown on it (neither `search` nor its `not`
//! matches), and its rank is 0. Like every text operator, `search` reads a field's `->>` text, so a number or an
//! object is searched as its JSON text.
//!
//! A rank ends with a unique key for keyset pagination (`order_by(|p| (p.body.rank(&q).desc(), p.id.asc()))`):
//! the row given to [`after`](crate::Query::after) does not hold its rank, so the condition recomputes it on the
//! server from that row's unique key, `(SELECT <rank> FROM <view> WHERE <unique key> = $n)`. That row must
//! still be in the view when the next page is read: if it was deleted, the next page is empty.

use std::marker::PhantomData;
use std::sync::Arc;

use super::field::Field;
use super::filter::Filter;
use super::kind::{FieldType, Text, Textual};
use super::location::Location;
use super::order::OrderKey;
use crate::error::BuildError;
use crate::sql::{Expr, Param, SortKey};

/// How a [`TextQuery`]'s text is read: which `…to_tsquery` function parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Web,
    Plain,
    Phrase,
}

impl Syntax {
    fn function(self) -> &'static str {
        match self {
            Syntax::Web => "websearch_to_tsquery",
            Syntax::Plain => "plainto_tsquery",
            Syntax::Phrase => "phraseto_tsquery",
        }
    }
}

/// A full-text query: its text (always a bound parameter), how the text is read, and the text search
/// configuration that turns it and the searched text into words. Built by [`websearch`], [`plain`] or
/// [`phrase`]; matched with [`Field::search`] or an entity's `search`, ranked with [`Field::rank`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextQuery {
    syntax: Syntax,
    text: String,
    config: String,
}

/// A query in the syntax of web search boxes (`websearch_to_tsquery`): words all must appear, `"quoted words"`
/// must appear in that order, `-word` must not appear, `or` between two terms accepts either. Never a syntax
/// error: anything a user types is a query.
pub fn websearch(text: impl Into<String>) -> TextQuery {
    TextQuery::new(Syntax::Web, text.into())
}

/// Every word of `text` must appear, anywhere (`plainto_tsquery`); punctuation and operators in `text` are
/// ignored.
pub fn plain(text: impl Into<String>) -> TextQuery {
    TextQuery::new(Syntax::Plain, text.into())
}

/// The words of `text` must appear next to each other, in that order (`phraseto_tsquery`).
pub fn phrase(text: impl Into<String>) -> TextQuery {
    TextQuery::new(Syntax::Phrase, text.into())
}

impl TextQuery {
    /// The text search configuration a query uses unless it names one: `english`.
    pub const DEFAULT_CONFIG: &'static str = "english";

    fn new(syntax: Syntax, text: String) -> Self {
        TextQuery { syntax, text, config: Self::DEFAULT_CONFIG.to_owned() }
    }

    /// Uses the text search configuration `name` (`"simple"`, `"german"`, `"app.my_config"`) for the query and
    /// for the searched text. A name that is not an identifier (ASCII letters, digits and `_`, or `schema.name`)
    /// makes the filter or sort key invalid: the query reports it when it runs.
    pub fn config(mut self, name: &str) -> Self {
        name.clone_into(&mut self.config);
        self
    }

    /// The configuration as a SQL literal (`'english'::regconfig`), checked to be a name.
    fn regconfig(&self) -> Result<String, BuildError> {
        match check_config(&self.config) {
            Ok(()) => Ok(format!("'{}'::regconfig", self.config)),
            Err(reason) => Err(BuildError::Filter {
                reason: format!("`{}` is not a text search configuration name: {reason}", self.config),
            }),
        }
    }

    /// `<vector> @@ <query>`, or with `rank`, `COALESCE(ts_rank(<vector>, <query>), 0)`; `vector` is a function
    /// of the configuration literal.
    fn expr(&self, vector: impl FnOnce(&str) -> String, rank: bool) -> Result<Expr, BuildError> {
        let config = self.regconfig()?;
        let vector = vector(&config);
        let function = self.syntax.function();
        Ok(if rank {
            Expr::compare(format!("COALESCE(ts_rank({vector}, {function}({config}, "), self.param(), ")), 0)")
        } else {
            Expr::compare(format!("{vector} @@ {function}({config}, "), self.param(), ")")
        })
    }

    fn param(&self) -> Param {
        Param::text(self.text.as_str())
    }
}

/// What a search or a rank takes: a [`TextQuery`], or a reference to one (to use one query for both).
#[diagnostic::on_unimplemented(
    message = "a full-text search takes a `TextQuery`, not a `{Self}`",
    label = "not a `TextQuery`",
    note = "build one with `websearch(\"…\")`, `plain(…)` or `phrase(…)` (in `fraiseql_wire`), and `.config(…)` for \
            another text search configuration than `english`"
)]
pub trait AsTextQuery {
    /// The query.
    fn as_text_query(&self) -> &TextQuery;
}

impl AsTextQuery for TextQuery {
    fn as_text_query(&self) -> &TextQuery {
        self
    }
}

impl<Q: AsTextQuery + ?Sized> AsTextQuery for &Q {
    fn as_text_query(&self) -> &TextQuery {
        (**self).as_text_query()
    }
}

/// Why `name` is not a configuration name: one or two dot-separated identifiers of ASCII letters, digits and
/// `_`, not starting with a digit, of at most 63 bytes each (what the server keeps of a name).
fn check_config(name: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 {
        return Err("expected `name` or `schema.name`");
    }
    for part in parts {
        let mut bytes = part.bytes();
        match bytes.next() {
            None => return Err("a part of the name is empty"),
            Some(b) if b.is_ascii_digit() => return Err("a part of the name starts with a digit"),
            Some(_) => {}
        }
        if !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err("only ASCII letters, digits and `_` are allowed (and one `.` after a schema)");
        }
        if part.len() > 63 {
            return Err("a part of the name is longer than 63 bytes");
        }
    }
    Ok(())
}

/// The filter `query` gives on `vector`, or the invalid filter its configuration makes.
fn search_filter<E>(query: &TextQuery, vector: impl FnOnce(&str) -> String) -> Filter<E> {
    match query.expr(vector, false) {
        Ok(expr) => Filter::expr(expr),
        Err(BuildError::Filter { reason }) => Filter::invalid(reason),
        Err(other) => Filter::invalid(crate::error::Error::from(other).to_string()),
    }
}

/// Kinds that full-text search applies to: text.
#[diagnostic::on_unimplemented(
    message = "full-text search needs a text field, but this field has type `{T}`",
    note = "search/rank apply to text fields (String, text newtypes, unit-variant enums); the entity's own \
            `search`/`rank` search every string in the document"
)]
pub trait Searchable<T: ?Sized>: Textual<T> {}
impl<T: ?Sized> Searchable<T> for Text {}

impl<E: 'static, T: FieldType + 'static> Field<E, T> {
    fn tsvector(&self, config: &str) -> String {
        format!("to_tsvector({config}, {})", self.location.target.text_expr())
    }

    /// Matches `query` (`to_tsvector('english'::regconfig, data->>'body') @@ websearch_to_tsquery(…, $1)`),
    /// served by a GIN index on `to_tsvector('english', data->>'body')` with the query's configuration. Unknown on
    /// a missing or null field.
    pub fn search(&self, query: impl AsTextQuery) -> Filter<E>
    where
        T::Kind: Searchable<T>,
    {
        search_filter(query.as_text_query(), |config| self.tsvector(config))
    }

    /// How well the field matches `query` (`ts_rank`, 0 for no match or a missing field), to order by:
    /// `order_by(|p| (p.body.rank(&q).desc(), p.id.asc()))`.
    pub fn rank(&self, query: impl AsTextQuery) -> Rank<E>
    where
        T::Kind: Searchable<T>,
    {
        Rank::new(query.as_text_query().expr(|config| self.tsvector(config), true))
    }
}

impl<E: 'static> Location<E, E> {
    fn jsonb_tsvector(&self, config: &str) -> String {
        format!("jsonb_to_tsvector({config}, {}, '[\"string\"]'::jsonb)", self.target.json_expr())
    }

    /// The document matches `query` in any of its strings, at any depth (keys, numbers and booleans are not
    /// searched): `jsonb_to_tsvector('english'::regconfig, data, '["string"]'::jsonb) @@ …`, served by a GIN
    /// index on `jsonb_to_tsvector('english', data, '["string"]')`.
    pub fn search(&self, query: &TextQuery) -> Filter<E> {
        search_filter(query, |config| self.jsonb_tsvector(config))
    }

    /// How well the document's strings match `query` (`ts_rank`), to order by.
    pub fn rank(&self, query: &TextQuery) -> Rank<E> {
        Rank::new(query.expr(|config| self.jsonb_tsvector(config), true))
    }
}

/// How well a row matches a [`TextQuery`] (`ts_rank`, a `real`; 0 for no match), from [`Field::rank`] or an
/// entity's `rank`: sort by it with [`desc`](Rank::desc), best first.
///
/// In keyset pagination the row given to [`after`](crate::Query::after) does not hold its rank: the condition
/// recomputes it from that row's unique key (the last order key), so that row must still exist when the next
/// page is read.
pub struct Rank<E> {
    expr: Result<Expr, BuildError>,
    entity: PhantomData<fn(&E)>,
}

impl<E> Clone for Rank<E> {
    fn clone(&self) -> Self {
        Rank { expr: self.expr.clone(), entity: PhantomData }
    }
}

impl<E> std::fmt::Debug for Rank<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.expr {
            Ok(expr) => {
                let mut sql = String::new();
                expr.write(&mut sql, &mut Vec::new());
                f.debug_tuple("Rank").field(&sql).finish()
            }
            Err(error) => f.debug_tuple("Rank").field(&crate::error::Error::from(error.clone()).to_string()).finish(),
        }
    }
}

impl<E: 'static> Rank<E> {
    fn new(expr: Result<Expr, BuildError>) -> Self {
        Rank { expr, entity: PhantomData }
    }

    /// Best matches first.
    pub fn desc(self) -> OrderKey<E> {
        self.order_key(true)
    }

    /// Worst matches first.
    pub fn asc(self) -> OrderKey<E> {
        self.order_key(false)
    }

    fn order_key(self, descending: bool) -> OrderKey<E> {
        match self.expr {
            Ok(expr) => OrderKey::new(
                SortKey {
                    expr,
                    // The recomputed value is the same expression, of the same type.
                    cast: String::new(),
                    descending,
                    nulls_first: None,
                    unique: false,
                    // COALESCE: never null, which the recomputed keyset value relies on.
                    nullable: false,
                    recomputed: true,
                },
                // Never read: the keyset condition recomputes the value on the server.
                Arc::new(|_: &E| Param::NULL),
                Arc::new(|_: &serde_json::Value| Param::NULL),
                |_| true,
            ),
            Err(error) => OrderKey::invalid(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_names() {
        for good in ["english", "simple", "pg_catalog.english", "App.My_Config2", "_x"] {
            assert_eq!(check_config(good), Ok(()), "{good}");
        }
        for bad in ["", "a.b.c", ".x", "x.", "1abc", "eng lish", "english'", "e;", "é", "x--", "a.1b"] {
            assert!(check_config(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(check_config(&"a".repeat(64)).is_err());
        assert_eq!(check_config(&"a".repeat(63)), Ok(()));
    }

    #[test]
    fn the_text_is_a_parameter_and_the_configuration_a_literal() {
        let query = websearch("it's \"rust\" -async").config("simple");
        let expr = query.expr(|config| format!("to_tsvector({config}, x)"), false).unwrap();
        let mut sql = String::new();
        let mut params = Vec::new();
        expr.write(&mut sql, &mut params);
        assert_eq!(sql, "to_tsvector('simple'::regconfig, x) @@ websearch_to_tsquery('simple'::regconfig, $1)");
        assert_eq!(params, [Param::text("it's \"rust\" -async")]);
        assert!(plain("x").config("x'; DROP TABLE t; --").regconfig().is_err());
    }
}
