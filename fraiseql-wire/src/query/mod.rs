//! The query builder: which view, which rows, in which order.

pub(crate) mod fragment;
mod param;
mod relation;

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;

pub use param::{Param, ToParam};
pub(crate) use relation::{Relation, quote_identifier};

use crate::client::Client;
use crate::entity::{Entity, Filter, OrderKey, keyset_after};
use crate::error::{Error, Result};
use crate::stream::{self, Predicate, RowStream};

/// A statement and its bound parameters, as [`Query::to_sql`] returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statement {
    /// The SQL text, with `$n` placeholders.
    pub sql: String,
    /// The value bound to each placeholder, in order.
    pub params: Vec<Param>,
}

/// A query on one view, built step by step and run with [`stream`](Query::stream) or a `fetch_*` method.
///
/// `T` is what each row decodes into: [`serde_json::Value`] for [`Client::query`].
///
/// ```no_run
/// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
/// use futures_util::TryStreamExt;
///
/// let mut rows = client
///     .query("app.v_project")
///     .where_sql("data->>'status' = $1", &[&"active"])
///     .where_sql("(data->>'priority')::int >= $1", &[&3])
///     .order_by_sql("data->>'name'")
///     .limit(100)
///     .stream();
/// while let Some(project) = rows.try_next().await? {
///     println!("{project}");
/// }
/// # Ok(()) }
/// ```
///
/// Builder mistakes (an invalid relation name, a malformed fragment) are reported when the query runs, as the
/// first item of the stream or the error of a `fetch_*` method.
pub struct Query<T = serde_json::Value> {
    client: Client,
    parts: Result<Parts>,
    /// Typed sort keys, kept for keyset pagination.
    keys: Vec<OrderKey<T>>,
    predicate: Option<Predicate<T>>,
    row: PhantomData<fn() -> T>,
}

#[derive(Clone, Debug)]
struct Parts {
    relation: Relation,
    filters: Vec<String>,
    params: Vec<Param>,
    order: Vec<String>,
    limit: Option<u64>,
    offset: Option<u64>,
}

impl<T> Clone for Query<T> {
    fn clone(&self) -> Self {
        let parts = match &self.parts {
            Ok(parts) => Ok(parts.clone()),
            Err(e) => Err(e.clone_builder_error()),
        };
        Query {
            client: self.client.clone(),
            parts,
            keys: self.keys.clone(),
            predicate: self.predicate.clone(),
            row: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Query<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_sql() {
            Ok(statement) => f.debug_struct("Query").field("sql", &statement.sql).finish_non_exhaustive(),
            Err(error) => f.debug_struct("Query").field("error", &error.to_string()).finish_non_exhaustive(),
        }
    }
}

impl Query<serde_json::Value> {
    pub(crate) fn new(client: Client, relation: &str) -> Self {
        Query::with_relation(client, Relation::parse(relation))
    }
}

impl<T> Query<T> {
    fn with_relation(client: Client, relation: Result<Relation>) -> Self {
        let parts = relation.map(|relation| Parts {
            relation,
            filters: Vec::new(),
            params: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
        });
        Query { client, parts, keys: Vec::new(), predicate: None, row: PhantomData }
    }
}

impl<E: Entity> Query<E> {
    pub(crate) fn for_entity(client: Client) -> Self {
        Query::with_relation(client, Ok(Relation::from_parts(E::SCHEMA, E::VIEW)))
    }

    /// Adds a typed condition, built from the entity's field handles:
    /// `.filter(|p| p.status.eq("active").and(p.priority.gte(3)))`.
    ///
    /// Several calls combine with `AND`.
    pub fn filter(self, build: impl FnOnce(&E::Fields) -> Filter<E>) -> Self {
        let filter = build(&E::fields());
        self.filter_by(filter)
    }

    /// Adds a condition built elsewhere (see [`Entity::fields`]).
    pub fn filter_by(self, filter: Filter<E>) -> Self {
        self.map_parts(|parts| {
            let mut params = std::mem::take(&mut parts.params);
            let rendered = filter.node.render(&mut params);
            parts.params = params;
            parts.filters.push(rendered?);
            Ok(())
        })
    }

    /// Adds sort keys: `.order_by(|p| p.priority.desc())`, or several at once as a tuple or `Vec`.
    pub fn order_by<K: IntoOrderKeys<E>>(mut self, build: impl FnOnce(&E::Fields) -> K) -> Self {
        let keys = build(&E::fields()).into_order_keys();
        self = self.map_parts(|parts| {
            parts.order.extend(keys.iter().map(OrderKey::sql));
            Ok(())
        });
        self.keys.extend(keys);
        self
    }

    /// Keyset pagination: only the rows after `row` in the current `order_by` order.
    ///
    /// The order keys must end with a unique key (a `#[entity(column = …)]` field or one marked
    /// `#[entity(order_key)]`). The condition is the lexicographic expansion `a > $1 OR (a = $1 AND b > $2)`
    /// (never an `AND` of comparisons, which would skip rows); `Option` keys follow PostgreSQL's placement of
    /// NULLs, so rows with a null key are neither skipped nor repeated.
    pub fn after(self, row: &E) -> Self {
        let condition = keyset_after(&self.keys, row);
        self.map_parts(|parts| {
            let (sql, values) = condition?;
            let renumbered = fragment::renumber(&sql, parts.params.len(), values.len())?;
            parts.filters.push(renumbered);
            parts.params.extend(values);
            Ok(())
        })
    }

    /// Keeps only the decoded rows for which `predicate` is true, after any SQL filter, in Rust.
    ///
    /// This costs a full decode of every row the server sends; prefer [`filter`](Query::filter) where SQL can
    /// express the condition. `limit` and `offset` apply before this predicate.
    pub fn filter_rust(mut self, predicate: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.predicate = Some(match self.predicate.take() {
            Some(previous) => std::sync::Arc::new(move |row: &E| previous(row) && predicate(row)),
            None => std::sync::Arc::new(predicate),
        });
        self
    }
}

/// Sort keys given to [`Query::order_by`]: one key, a tuple of keys, or a `Vec`.
pub trait IntoOrderKeys<E> {
    /// The keys, most significant first.
    fn into_order_keys(self) -> Vec<OrderKey<E>>;
}

impl<E> IntoOrderKeys<E> for OrderKey<E> {
    fn into_order_keys(self) -> Vec<OrderKey<E>> {
        vec![self]
    }
}

impl<E> IntoOrderKeys<E> for Vec<OrderKey<E>> {
    fn into_order_keys(self) -> Vec<OrderKey<E>> {
        self
    }
}

impl<E, const N: usize> IntoOrderKeys<E> for [OrderKey<E>; N] {
    fn into_order_keys(self) -> Vec<OrderKey<E>> {
        self.into()
    }
}

macro_rules! tuple_order_keys {
    ($($name:ident),+) => {
        impl<E> IntoOrderKeys<E> for ($(tuple_order_keys!(@key $name),)+) {
            #[allow(non_snake_case)]
            fn into_order_keys(self) -> Vec<OrderKey<E>> {
                let ($($name,)+) = self;
                vec![$($name),+]
            }
        }
    };
    (@key $name:ident) => { OrderKey<E> };
}
tuple_order_keys!(A, B);
tuple_order_keys!(A, B, C);
tuple_order_keys!(A, B, C, D);

impl<T> Query<T> {
    fn map_parts(mut self, f: impl FnOnce(&mut Parts) -> Result<()>) -> Self {
        if let Ok(parts) = &mut self.parts {
            if let Err(error) = f(parts) {
                self.parts = Err(error);
            }
        }
        self
    }

    /// Adds a condition: a SQL boolean expression whose `$1..$n` placeholders take `params` in order.
    ///
    /// Each call's placeholders count from `$1`; several calls combine with `AND`, each wrapped in parentheses.
    /// The fragment must be one expression (no `;`, balanced parentheses and quotes). Values are always bound
    /// parameters, never pasted into the SQL.
    pub fn where_sql(self, fragment: &str, params: &[&dyn ToParam]) -> Self {
        self.map_parts(|parts| {
            let sql = fragment::renumber(fragment, parts.params.len(), params.len())?;
            parts.filters.push(sql);
            parts.params.extend(params.iter().map(|p| p.to_param()));
            Ok(())
        })
    }

    /// Adds a sort key: a SQL expression, optionally followed by `ASC`/`DESC` and `NULLS FIRST`/`NULLS LAST`.
    pub fn order_by_sql(self, fragment: &str) -> Self {
        self.map_parts(|parts| {
            parts.order.push(fragment::renumber(fragment, 0, 0)?);
            Ok(())
        })
    }

    /// Returns at most `n` rows.
    pub fn limit(self, n: u64) -> Self {
        self.map_parts(|parts| {
            parts.limit = Some(n);
            Ok(())
        })
    }

    /// Skips the first `n` rows.
    pub fn offset(self, n: u64) -> Self {
        self.map_parts(|parts| {
            parts.offset = Some(n);
            Ok(())
        })
    }

    /// The statement this query sends, with its parameters.
    pub fn to_sql(&self) -> Result<Statement> {
        let parts = self.parts.as_ref().map_err(Error::clone_builder_error)?;
        Ok(parts.statement())
    }

    fn into_statement(self) -> Result<(Client, Relation, Statement)> {
        let parts = self.parts?;
        let statement = parts.statement();
        Ok((self.client, parts.relation, statement))
    }

    /// Streams the rows decoded as `T`.
    ///
    /// Nothing happens until the stream is polled. The stream holds the client's connection until it ends or is
    /// dropped; dropping it early cancels the server's work.
    pub fn stream(mut self) -> RowStream<T>
    where
        T: DeserializeOwned,
    {
        let predicate = self.predicate.take();
        self.stream_as::<T>().with_predicate(predicate)
    }

    /// Streams the rows decoded as `U` instead of `T` (without any [`filter_rust`](Query::filter_rust)
    /// predicate, which applies to `T`).
    pub fn stream_as<U: DeserializeOwned>(self) -> RowStream<U> {
        match self.into_statement() {
            Ok((client, relation, statement)) => {
                RowStream::start(client, relation, statement, stream::decode_json::<U>)
            }
            Err(error) => RowStream::failed(error),
        }
    }

    /// Streams each row's JSON text as received, validated as UTF-8 but not parsed.
    ///
    /// A SQL `NULL` arrives as `null`.
    pub fn stream_raw(self) -> RowStream<Bytes> {
        match self.into_statement() {
            Ok((client, relation, statement)) => RowStream::start(client, relation, statement, stream::decode_raw),
            Err(error) => RowStream::failed(error),
        }
    }

    /// The number of rows the query matches (`SELECT count(*)`), honouring filters, `limit` and `offset`.
    ///
    /// With a [`filter_rust`](Query::filter_rust) predicate the rows are streamed and counted in Rust, since the
    /// server cannot apply it.
    pub async fn count(mut self) -> Result<u64>
    where
        T: DeserializeOwned,
    {
        if let Some(predicate) = self.predicate.take() {
            let rows = self.stream_as::<T>().with_predicate(Some(predicate));
            return rows.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await;
        }
        let (client, relation, statement) = match self.parts {
            Ok(parts) => {
                let statement = parts.count_statement();
                (self.client, parts.relation, statement)
            }
            Err(error) => return Err(error),
        };
        let mut rows: Vec<u64> =
            RowStream::start(client, relation, statement, stream::decode_json::<u64>).try_collect().await?;
        rows.pop().ok_or_else(|| Error::protocol("count(*) returned no row"))
    }

    /// All rows, or the first error (including a row that fails to decode).
    pub async fn fetch_all(self) -> Result<Vec<T>>
    where
        T: DeserializeOwned,
    {
        self.stream().try_collect().await
    }

    /// Exactly one row: [`Error::RowNotFound`] if there is none, [`Error::TooManyRows`] if there are more.
    pub async fn fetch_one(self) -> Result<T>
    where
        T: DeserializeOwned,
    {
        self.fetch_optional().await?.ok_or(Error::RowNotFound)
    }

    /// At most one row: [`Error::TooManyRows`] if there are more.
    pub async fn fetch_optional(self) -> Result<Option<T>>
    where
        T: DeserializeOwned,
    {
        // Two rows are enough to tell "one" from "more". Without a Rust predicate the server can stop there
        // (`LIMIT 2`), so the stream ends by itself; with one, every row must be seen until two match.
        let query = if self.predicate.is_some() {
            self
        } else {
            self.map_parts(|parts| {
                parts.limit = Some(parts.limit.map_or(2, |n| n.min(2)));
                Ok(())
            })
        };
        let mut rows = query.stream();
        let Some(first) = rows.try_next().await? else {
            return Ok(None);
        };
        match rows.try_next().await? {
            None => Ok(Some(first)),
            Some(_) => Err(Error::TooManyRows),
        }
    }
}

impl Parts {
    fn count_statement(&self) -> Statement {
        if self.limit.is_some() || self.offset.is_some() {
            // The window depends on the order, so the ordered, limited query is counted as a subquery.
            let inner = self.statement();
            return Statement {
                sql: format!("SELECT to_json(count(*)) FROM ({}) AS counted", inner.sql),
                params: inner.params,
            };
        }
        // Without a window the order is irrelevant, and an aggregate cannot be ordered by a row's columns.
        let unordered = Parts { order: Vec::new(), ..self.clone() };
        let mut statement = unordered.statement();
        statement.sql = statement.sql.replacen("SELECT \"data\" FROM", "SELECT to_json(count(*)) FROM", 1);
        statement
    }

    fn statement(&self) -> Statement {
        let mut sql = format!("SELECT \"data\" FROM {}", self.relation.quoted);
        for (i, filter) in self.filters.iter().enumerate() {
            sql.push_str(if i == 0 { " WHERE (" } else { " AND (" });
            sql.push_str(filter);
            sql.push(')');
        }
        for (i, key) in self.order.iter().enumerate() {
            sql.push_str(if i == 0 { " ORDER BY " } else { ", " });
            sql.push_str(key);
        }
        let mut params = self.params.clone();
        for (keyword, value) in [(" LIMIT $", self.limit), (" OFFSET $", self.offset)] {
            if let Some(n) = value {
                params.push(n.to_param());
                sql.push_str(keyword);
                sql.push_str(&params.len().to_string());
            }
        }
        Statement { sql, params }
    }
}

/// Byte offset (1-based, as the server counts characters; the prefix is ASCII) of `"data"` in every statement:
/// a "column does not exist" error there means the relation has no `data` column.
pub(crate) const DATA_COLUMN_POSITION: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(relation: &str) -> Parts {
        Parts {
            relation: Relation::parse(relation).unwrap(),
            filters: Vec::new(),
            params: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
        }
    }

    #[test]
    fn data_column_position_matches_the_statement() {
        let sql = parts("v").statement().sql;
        assert_eq!(sql.find("\"data\"").map(|p| p as u32 + 1), Some(DATA_COLUMN_POSITION));
    }

    #[test]
    fn statement_with_everything() {
        let mut p = parts("app.v_project");
        p.filters.push("a = $1".into());
        p.filters.push("b = $2 OR c".into());
        p.params = vec![Param::text("x"), Param::text("y")];
        p.order.push("data->>'name' DESC".into());
        p.limit = Some(10);
        p.offset = Some(20);
        let statement = p.statement();
        assert_eq!(
            statement.sql,
            "SELECT \"data\" FROM \"app\".\"v_project\" WHERE (a = $1) AND (b = $2 OR c) \
             ORDER BY data->>'name' DESC LIMIT $3 OFFSET $4"
        );
        assert_eq!(statement.params.len(), 4);
        assert_eq!(statement.params[2].as_str(), Some("10"));
    }
}
