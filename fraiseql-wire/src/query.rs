//! The query builder: which view, which rows, in which order, and where it runs.
//!
//! A `Query` is a value: building one needs no connection, and [`Query::to_sql`] renders it anywhere. Running it
//! needs an [`Executor`], given when the query is created (`client.query(…)`, `Project::query(&client)`) or later
//! with [`Query::on`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;

use crate::error::{BuildError, Error, Result};
use crate::executor::{Executor, LeaseSource};
use crate::sql::{Form, Node, Param, Projection, Relation, Select, SortKey, Statement, ToParam, parse_fragment};
use crate::stream::decode::{self, Decoder};
use crate::stream::{Predicate, RowStream};

/// Reads a sort key's value out of a row, as a parameter (for keyset pagination).
pub(crate) type KeyValue<T> = Arc<dyn Fn(&T) -> Param + Send + Sync>;

/// Reads a sort key's value out of a row's JSON document, as a parameter (for a cursor from raw rows).
pub(crate) type DocumentValue = Arc<dyn Fn(&serde_json::Value) -> Param + Send + Sync>;

/// A typed sort key: its SQL, and how to read its value from a decoded row and from a raw document.
pub(crate) struct Key<T> {
    pub(crate) sort: SortKey,
    pub(crate) value: KeyValue<T>,
    pub(crate) document: DocumentValue,
    /// Whether a value's text fits the key's type (for a cursor's values).
    pub(crate) check: fn(&str) -> bool,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        Key { sort: self.sort.clone(), value: self.value.clone(), document: self.document.clone(), check: self.check }
    }
}

/// A filter or sort key after `after_cursor`, which checked the cursor against the query as it was.
fn after_cursor_last() -> BuildError {
    BuildError::Keyset {
        reason: "call after_cursor after every filter and order_by: the cursor is checked against them".to_owned(),
    }
}

/// A query taken apart: where it runs, what it selects, its Rust predicate.
pub(crate) struct QueryParts<T> {
    pub(crate) source: Option<Arc<dyn LeaseSource>>,
    pub(crate) select: Result<Select, BuildError>,
    pub(crate) predicate: Option<Predicate<T>>,
}

/// A query on one view, built step by step and run with [`stream`](Query::stream) or a `fetch_*` method.
///
/// `T` is what each row decodes into: [`serde_json::Value`] for [`Client::query`](crate::Client::query), the
/// entity for `Project::query(&client)`, any `T: Deserialize` for
/// [`Client::query_as`](crate::Client::query_as).
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
/// first item of the stream or the error of a `fetch_*` method, and by [`to_sql`](Query::to_sql).
pub struct Query<T = serde_json::Value> {
    source: Option<Arc<dyn LeaseSource>>,
    select: Result<Select, BuildError>,
    /// Typed sort keys, kept for keyset pagination.
    keys: Vec<Key<T>>,
    /// After a cursor: the query without its keyset condition (what a page's total counts and its cursors are
    /// bound to).
    unpaged: Option<Box<Select>>,
    predicate: Option<Predicate<T>>,
    row: PhantomData<fn() -> T>,
}

impl<T> Clone for Query<T> {
    fn clone(&self) -> Self {
        Query {
            source: self.source.clone(),
            select: self.select.clone(),
            keys: self.keys.clone(),
            unpaged: self.unpaged.clone(),
            predicate: self.predicate.clone(),
            row: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Query<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Query");
        match self.to_sql() {
            Ok(statement) => debug.field("sql", &statement.sql),
            Err(error) => debug.field("error", &error.to_string()),
        };
        debug.field("bound", &self.source.is_some()).finish_non_exhaustive()
    }
}

impl Query<serde_json::Value> {
    /// A query on `relation` bound to no client yet: to render with [`to_sql`](Query::to_sql), or to run after
    /// [`on`](Query::on).
    ///
    /// ```
    /// let query = fraiseql_wire::Query::view("app.v_project").where_sql("data->>'status' = $1", &[&"active"]);
    /// let statement = query.to_sql()?;
    /// assert_eq!(statement.sql, r#"SELECT "data" FROM "app"."v_project" WHERE (data->>'status' = $1)"#);
    /// # Ok::<(), fraiseql_wire::Error>(())
    /// ```
    pub fn view(relation: &str) -> Self {
        Query::new(None, Relation::parse(relation))
    }
}

impl<T> Query<T> {
    pub(crate) fn new(source: Option<Arc<dyn LeaseSource>>, relation: Result<Relation, BuildError>) -> Self {
        Query {
            source,
            select: relation.map(Select::new),
            keys: Vec::new(),
            unpaged: None,
            predicate: None,
            row: PhantomData,
        }
    }

    /// Runs this query on `executor` (instead of the one it was created with, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client, pool: fraiseql_wire::Pool) -> fraiseql_wire::Result<()> {
    /// // One query value, built once, run on a client and on a pool.
    /// let active = fraiseql_wire::Query::view("app.v_project").where_sql("data->>'status' = $1", &[&"active"]);
    /// let from_client = active.clone().on(&client).fetch_all().await?;
    /// let from_pool = active.on(&pool).fetch_all().await?;
    /// # Ok(()) }
    /// ```
    pub fn on<X: Executor>(mut self, executor: &X) -> Self {
        self.source = Some(executor.lease_source().0);
        self
    }

    /// Applies a change to the query, or keeps the first error.
    pub(crate) fn map_select(mut self, change: impl FnOnce(&mut Select) -> Result<(), BuildError>) -> Self {
        if let Ok(select) = &mut self.select {
            if let Err(error) = change(select) {
                self.select = Err(error);
            }
        }
        self
    }

    /// Adds a condition to the `WHERE` clause.
    pub(crate) fn push_filter(self, condition: Node) -> Self {
        if self.unpaged.is_some() {
            return self.map_select(|_| Err(after_cursor_last()));
        }
        self.map_select(|select| {
            select.filter(condition);
            Ok(())
        })
    }

    /// The query as it is before any cursor's keyset condition.
    pub(crate) fn unpaged(&self) -> Result<Select, BuildError> {
        match &self.unpaged {
            Some(unpaged) => Ok((**unpaged).clone()),
            None => self.select.clone(),
        }
    }

    /// Records `unpaged` as the query before a cursor's keyset condition.
    pub(crate) fn set_unpaged(mut self, unpaged: Select) -> Self {
        self.unpaged = Some(Box::new(unpaged));
        self
    }

    /// This query's source, keys and predicate with `select` instead (for a page's total).
    pub(crate) fn with_select(&self, select: Select) -> Self {
        Query {
            source: self.source.clone(),
            select: Ok(select),
            keys: Vec::new(),
            unpaged: None,
            predicate: self.predicate.clone(),
            row: PhantomData,
        }
    }

    /// Adds typed sort keys, for `ORDER BY` and keyset pagination.
    pub(crate) fn push_keys(mut self, keys: Vec<Key<T>>) -> Self {
        if self.unpaged.is_some() {
            return self.map_select(|_| Err(after_cursor_last()));
        }
        self = self.map_select(|select| {
            for key in &keys {
                select.order_by(key.sort.order_item());
            }
            Ok(())
        });
        self.keys.extend(keys);
        self
    }

    /// What the query is made of, for running it another way (a parallel export).
    /// Whether the query starts after a cursor (`after_cursor`, `after`).
    pub(crate) fn has_cursor(&self) -> bool {
        self.unpaged.is_some()
    }

    pub(crate) fn into_parts(self) -> QueryParts<T> {
        QueryParts { source: self.source, select: self.select, predicate: self.predicate }
    }

    /// The typed sort keys so far.
    pub(crate) fn keys(&self) -> &[Key<T>] {
        &self.keys
    }

    /// Adds a condition: a SQL boolean expression whose `$1..$n` placeholders take `params` in order.
    ///
    /// Each call's placeholders count from `$1`; several calls combine with `AND`, each wrapped in parentheses.
    /// The fragment must be one expression (no `;`, balanced parentheses and quotes). Values are always bound
    /// parameters, never pasted into the SQL.
    ///
    /// ```
    /// let query = fraiseql_wire::Query::view("v_project")
    ///     .where_sql("data->>'status' = $1", &[&"active"])
    ///     .where_sql("(data->>'priority')::int BETWEEN $1 AND $2", &[&2, &5]);
    /// let statement = query.to_sql()?;
    /// assert_eq!(
    ///     statement.sql,
    ///     r#"SELECT "data" FROM "v_project" WHERE (data->>'status' = $1) AND ((data->>'priority')::int BETWEEN $2 AND $3)"#
    /// );
    /// let params: Vec<_> = statement.params.iter().map(|p| p.as_str()).collect();
    /// assert_eq!(params, [Some("active"), Some("2"), Some("5")]);
    /// # Ok::<(), fraiseql_wire::Error>(())
    /// ```
    pub fn where_sql(self, fragment: &str, params: &[&dyn ToParam]) -> Self {
        match parse_fragment(fragment, params.len()) {
            Ok(expr) => self.push_filter(Node::Expr(expr.with_params(params.iter().map(|p| p.to_param()).collect()))),
            Err(error) => self.map_select(|_| Err(error)),
        }
    }

    /// Adds a sort key: a SQL expression, optionally followed by `ASC`/`DESC` and `NULLS FIRST`/`NULLS LAST`.
    ///
    /// ```
    /// let page = fraiseql_wire::Query::view("v_project")
    ///     .order_by_sql("data->>'name' DESC NULLS LAST")
    ///     .order_by_sql("id")
    ///     .limit(20)
    ///     .offset(40);
    /// assert_eq!(
    ///     page.to_sql()?.sql,
    ///     r#"SELECT "data" FROM "v_project" ORDER BY data->>'name' DESC NULLS LAST, id LIMIT $1 OFFSET $2"#
    /// );
    /// # Ok::<(), fraiseql_wire::Error>(())
    /// ```
    pub fn order_by_sql(self, fragment: &str) -> Self {
        self.map_select(|select| {
            select.order_by(parse_fragment(fragment, 0)?);
            Ok(())
        })
    }

    /// Returns at most `n` rows.
    pub fn limit(self, n: u64) -> Self {
        self.map_select(|select| {
            select.set_limit(n);
            Ok(())
        })
    }

    /// Skips the first `n` rows.
    pub fn offset(self, n: u64) -> Self {
        self.map_select(|select| {
            select.set_offset(n);
            Ok(())
        })
    }

    /// Asks the server for only these top-level keys of each document: it builds a smaller document of them,
    /// so the others are neither sent nor parsed.
    ///
    /// For typed entities [`projected`](Query::projected) lists the keys from the struct. The projection is
    /// exact: a key a document lacks stays absent (it does not become `null`), nested values are untouched, and
    /// a document that is not an object arrives as it is. Filters, sort keys and keyset pagination still see the
    /// whole document, so they may use keys outside the projection. It pays off when the documents are much
    /// larger than the keys read: 3 keys of 96 KB documents arrive 20× as fast, of 1.9 KB ones 2.2× as fast.
    /// Building the smaller document costs the server about a microsecond per key, so projecting small
    /// documents, or most of their keys, is slower than reading them whole (4× slower for every key of a 423-byte
    /// document); [`projected`](Query::projected) avoids that case by itself (benches/README.md, "Projection").
    ///
    /// ```
    /// let query = fraiseql_wire::Query::view("v_project").select_keys(["id", "name"]);
    /// assert!(query.to_sql()?.sql.contains("jsonb_build_object('id', __fraiseql_doc->'id', 'name'"));
    /// # Ok::<(), fraiseql_wire::Error>(())
    /// ```
    pub fn select_keys<I>(self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let projection = Projection::new(keys.into_iter().map(Into::into));
        self.map_select(|select| {
            select.set_projection(Some(projection?));
            Ok(())
        })
    }

    /// Asks for whole documents again, undoing [`select_keys`](Query::select_keys),
    /// [`projected`](Query::projected) and an entity's `#[entity(projection)]`.
    pub fn whole_documents(self) -> Self {
        self.map_select(|select| {
            select.set_projection(None);
            Ok(())
        })
    }

    /// Keeps only the decoded rows for which `predicate` is true, after any SQL filter, in Rust.
    ///
    /// This costs a full decode of every row the server sends; prefer a SQL condition where one can express it.
    /// `limit` and `offset` apply before this predicate.
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
    /// #[derive(serde::Deserialize)]
    /// struct Project {
    ///     name: String,
    /// }
    ///
    /// // A test SQL cannot express: names that read the same backwards.
    /// let palindromes = client
    ///     .query_as::<Project>("app.v_project")
    ///     .filter_rust(|p| p.name.chars().eq(p.name.chars().rev()))
    ///     .fetch_all()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn filter_rust(mut self, predicate: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self
    where
        T: 'static,
    {
        self.predicate = Some(match self.predicate.take() {
            Some(previous) => Arc::new(move |row: &T| previous(row) && predicate(row)),
            None => Arc::new(predicate),
        });
        self
    }

    /// The statement this query sends, with its parameters. Needs no connection.
    pub fn to_sql(&self) -> Result<Statement> {
        self.render(Form::Rows)
    }

    fn render(&self, form: Form) -> Result<Statement> {
        match &self.select {
            Ok(select) => Ok(select.render(form)?),
            Err(error) => Err(error.clone().into()),
        }
    }

    /// Starts the query in `form`, each row decoded by `decode`.
    fn run<U>(self, form: Form, decode: Decoder<U>) -> RowStream<U> {
        let prepared = self.render(form).and_then(|statement| {
            let source = self.source.ok_or(Error::NotBound)?;
            let relation = self.select.map(|select| select.relation().clone()).map_err(Error::from)?;
            Ok((source, relation, statement))
        });
        match prepared {
            Ok((source, relation, statement)) => RowStream::start(source, relation, statement, decode),
            Err(error) => RowStream::failed(error, decode),
        }
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
        self.run(Form::Rows, decode::json::<T>).with_predicate(predicate)
    }

    /// Streams the rows decoded as `U` instead of `T` (without any [`filter_rust`](Query::filter_rust)
    /// predicate, which applies to `T`).
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
    /// use futures_util::TryStreamExt;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Name {
    ///     name: String,
    /// }
    ///
    /// let mut names = client.query("app.v_project").stream_as::<Name>();
    /// while let Some(Name { name }) = names.try_next().await? {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream_as<U: DeserializeOwned>(self) -> RowStream<U> {
        self.run(Form::Rows, decode::json::<U>)
    }

    /// Streams each row's JSON text as received, validated as UTF-8 but not parsed.
    ///
    /// A SQL `NULL` arrives as `null`.
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Write;
    /// use futures_util::TryStreamExt;
    ///
    /// // NDJSON to standard output, without parsing a single document.
    /// let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    /// let mut rows = client.query("app.v_project").stream_raw();
    /// while let Some(json) = rows.try_next().await? {
    ///     out.write_all(&json)?;
    ///     out.write_all(b"\n")?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream_raw(self) -> RowStream<Bytes> {
        self.run(Form::Rows, decode::raw)
    }

    /// The number of rows the query matches (`SELECT count(*)`), honouring filters, `limit` and `offset`.
    ///
    /// With a [`filter_rust`](Query::filter_rust) predicate the rows are streamed and counted in Rust, since the
    /// server cannot apply it.
    ///
    /// ```no_run
    /// # async fn demo(client: fraiseql_wire::Client) -> fraiseql_wire::Result<()> {
    /// let active = client.query("app.v_project").where_sql("data->>'status' = $1", &[&"active"]).count().await?;
    /// println!("{active} active projects");
    /// # Ok(()) }
    /// ```
    pub async fn count(mut self) -> Result<u64>
    where
        T: DeserializeOwned,
    {
        if let Some(predicate) = self.predicate.take() {
            let rows = self.run(Form::Rows, decode::json::<T>).with_predicate(Some(predicate));
            return rows.try_fold(0u64, |n, _| async move { Ok(n + 1) }).await;
        }
        let mut rows: Vec<u64> = self.run(Form::Count, decode::json::<u64>).try_collect().await?;
        rows.pop().ok_or_else(|| Error::protocol("count(*) returned no row"))
    }

    /// The planner's estimate of the rows the query matches (`EXPLAIN (FORMAT JSON)`, its top node's `Plan Rows`),
    /// without running it: cheap on any size, and as good as the table's statistics.
    pub(crate) async fn estimate(self) -> Result<u64> {
        let plans: Vec<serde_json::Value> =
            self.run(Form::Estimate, decode::json::<serde_json::Value>).try_collect().await?;
        let rows = plans.first().and_then(|plan| plan.get(0)).and_then(|plan| plan["Plan"]["Plan Rows"].as_f64());
        // A float from the planner, never negative; rounded to the count it stands for.
        rows.map(|rows| rows.max(0.0).round() as u64).ok_or_else(|| Error::protocol("EXPLAIN returned no plan rows"))
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
            self.map_select(|select| {
                select.set_limit(select.limit().map_or(2, |n| n.min(2)));
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
