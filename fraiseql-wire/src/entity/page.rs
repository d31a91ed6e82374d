//! Pages of a typed query: the rows, an opaque cursor to the next page, and on request the total.

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::Entity;
use super::cursor;
use crate::error::{BuildError, Error, Result};
use crate::query::Query;
use crate::sql::{Param, Select, keyset_after};

/// Which total a page reports with its rows; from a request as `none`, `exact` or `estimate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Total {
    /// None: the cheapest.
    #[default]
    None,
    /// The exact number of rows the filter matches, from a `count(*)` of them before the page's rows (one more
    /// statement; as costly as reading every matching row's key, so it grows with the result).
    Exact,
    /// The planner's estimate (`EXPLAIN`), for huge results where an exact count costs too much: a statement
    /// that reads no rows, as good as the table's statistics.
    Estimate,
}

/// One page of a query: its rows, the cursor of the next page (if there are more rows), and the total asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
    total: Option<u64>,
}

impl<T> Page<T> {
    /// The page's rows, in the query's order.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The rows, owned.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// The opaque, URL-safe cursor of the next page, for [`Query::after_cursor`]: `None` on the last page.
    pub fn next_cursor(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// The total asked for ([`Total::Exact`] or [`Total::Estimate`]), of the whole filtered result, whatever page
    /// this is.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The rows, the next cursor and the total, taken apart.
    pub fn into_parts(self) -> (Vec<T>, Option<String>, Option<u64>) {
        (self.items, self.next, self.total)
    }
}

/// The fingerprint a cursor of `unpaged`'s rows carries.
fn fingerprint(unpaged: &Select) -> std::result::Result<u64, BuildError> {
    let statement = unpaged.identity()?;
    let mut parts: Vec<&[u8]> = vec![statement.sql.as_bytes()];
    for param in &statement.params {
        parts.push(param.as_bytes().unwrap_or(b"\0NULL"));
    }
    Ok(cursor::fnv1a(&parts))
}

impl<E: Entity> Query<E> {
    /// Continues after the position in `cursor` (from a [`Page::next_cursor`] of this same query): keyset
    /// pagination from request input. Call it after `filter` and `order_by`.
    ///
    /// A cursor of another query (another filter, order or view), a modified one, or one that is not a cursor is
    /// refused when the query runs, with [`Error::Input`] of kind
    /// [`Cursor`](crate::entity::InputErrorKind::Cursor): for an API, the client's mistake.
    pub fn after_cursor(self, cursor: &str) -> Self {
        let unpaged = match self.unpaged() {
            Ok(unpaged) => unpaged,
            Err(_) => return self,
        };
        let checks: Vec<(bool, cursor::Check)> =
            self.keys().iter().map(|key| (key.sort.nullable || key.sort.recomputed, key.check)).collect();
        let sort: Vec<_> = self.keys().iter().map(|key| key.sort.clone()).collect();
        let values = fingerprint(&unpaged)
            .and_then(|hash| cursor::decode(cursor, hash, &checks).map_err(|error| BuildError::Input(Box::new(error))));
        self.set_unpaged(unpaged).map_select(|select| {
            let condition = keyset_after(select.relation(), &sort, values?)?;
            select.filter(condition);
            Ok(())
        })
    }

    /// The cursor of the position after `row` (a row this query returned).
    pub fn cursor_after(&self, row: &E) -> Result<String> {
        self.cursor_from(|key| (key.value)(row))
    }

    /// The cursor of the position after `document`, a row this query returned by
    /// [`stream_raw`](Query::stream_raw): its keys are read from the JSON, not decoded into `E`.
    pub fn cursor_after_raw(&self, document: &[u8]) -> Result<String> {
        let document: serde_json::Value =
            serde_json::from_slice(document).map_err(|error| Error::protocol(format!("a row is not JSON: {error}")))?;
        self.cursor_from(|key| (key.document)(&document))
    }

    fn cursor_from(&self, value: impl Fn(&crate::query::Key<E>) -> Param) -> Result<String> {
        let keys = self.keys();
        if !keys.last().is_some_and(|key| key.sort.unique) {
            return Err(BuildError::Keyset {
                reason: "a cursor needs order_by keys that end with a unique one, or rows sharing its value would be \
                         skipped or repeated"
                    .to_owned(),
            }
            .into());
        }
        let values: Vec<Param> = keys.iter().map(value).collect();
        Ok(cursor::encode(fingerprint(&self.unpaged()?)?, &values))
    }

    pub(crate) async fn page_total(&self, total: Total) -> Result<Option<u64>> {
        let unpaged = self.unpaged()?;
        match total {
            Total::None => Ok(None),
            Total::Exact => self.with_select(unpaged).count().await.map(Some),
            Total::Estimate => self.with_select(unpaged).estimate().await.map(Some),
        }
    }

    /// The first `limit` rows, and the cursor after the last of them if more follow (one more row is read to
    /// know). The order must end with a unique key.
    pub async fn fetch_page(self, limit: u64) -> Result<Page<E>> {
        self.fetch_page_with(limit, Total::None).await
    }

    /// [`fetch_page`](Query::fetch_page), with the result's total.
    pub async fn fetch_page_with(self, limit: u64, total: Total) -> Result<Page<E>> {
        let total = self.page_total(total).await?;
        let rows: Vec<E> = self.clone().limit(limit.saturating_add(1)).stream().try_collect().await?;
        let (items, next) = split(rows, limit, |last| self.cursor_after(last))?;
        Ok(Page { items, next, total })
    }

    /// [`fetch_page_with`](Query::fetch_page_with) of each row's JSON text as received (no decode), the cursor
    /// read from the last row's JSON: for an endpoint that passes documents through.
    pub async fn fetch_page_raw(self, limit: u64, total: Total) -> Result<Page<Bytes>> {
        let total = self.page_total(total).await?;
        let rows: Vec<Bytes> = self.clone().limit(limit.saturating_add(1)).stream_raw().try_collect().await?;
        let (items, next) = split(rows, limit, |last| self.cursor_after_raw(last))?;
        Ok(Page { items, next, total })
    }
}

/// The first `limit` of `rows`, and the cursor after the last of them if `rows` has more.
fn split<T>(mut rows: Vec<T>, limit: u64, cursor: impl Fn(&T) -> Result<String>) -> Result<(Vec<T>, Option<String>)> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return Ok((rows, None));
    }
    rows.truncate(limit);
    let next = rows.last().map(cursor).transpose()?;
    Ok((rows, next))
}
