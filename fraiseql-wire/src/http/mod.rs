//! HTTP responses streamed from queries (feature `http`; `axum` adds axum's `IntoResponse` for errors): NDJSON,
//! a JSON array, or a page envelope `{"items": […], "next": "…", "total": N}`, written from each row's JSON as
//! received (no decode) or from typed rows, in chunks of the rows ready at once.
//!
//! [`JsonBody`] implements [`http_body::Body`], so it serves as the body of an [`http::Response`] with hyper,
//! axum (`axum::body::Body::new(body)`, or return the response itself) or any framework on the `http` crates.
//! [`respond`] waits for the first chunk before answering, so an error before any byte (a down database, a
//! refused cursor, a bad filter) is a proper status code with a JSON error body ([`error_response`]); after the
//! first byte a status can no longer change, and an error ends the body early: the body returns the error,
//! hyper then drops the connection without the chunked encoding's last chunk, and every HTTP client reports
//! the response as incomplete (curl exits with 18, hyper's client returns an error from the body), so a
//! truncated result is never mistaken for a whole one. Dropping the body (a client that disconnects drops its
//! response) drops the query's stream, which cancels the server's query.
//!
//! ```no_run
//! # #[derive(serde::Deserialize, fraiseql_wire::Entity)]
//! # #[entity(view = "v_item")]
//! # struct Item { #[entity(column = "id")] id: i64 }
//! # async fn demo(client: fraiseql_wire::Client) {
//! use fraiseql_wire::Entity;
//! use fraiseql_wire::http::{JsonBody, respond};
//!
//! let rows = Item::query(&client).order_by(|i| i.id.asc()).stream_raw();
//! let response: http::Response<JsonBody> = respond(JsonBody::ndjson(rows)).await;
//! # }
//! ```

mod body;
mod error;

pub use body::{Format, JsonBody, respond};
pub use error::{ErrorResponse, error_response, status_for};

use bytes::Bytes;

use crate::entity::Entity;
use crate::entity::{Filter, Page, Total};
use crate::error::Result;
use crate::query::Query;

/// A response streaming a [`JsonBody`] (an [`http::Response`]: hyper serves it, axum handlers return it).
pub type JsonResponse = http::Response<JsonBody>;

/// The header holding a page's next cursor, when the body cannot (NDJSON, an array).
pub const NEXT_CURSOR: &str = "x-next-cursor";
/// The header holding a page's total.
pub const TOTAL_COUNT: &str = "x-total-count";

/// A response of one page of `query`'s raw rows in `format`, streamed as the rows arrive: for the envelope,
/// with `next` and `total` in the body; for NDJSON and arrays, the page is read first (at most `limit` rows, so
/// memory stays bounded) and `next` and `total` go in the [`NEXT_CURSOR`] and [`TOTAL_COUNT`] headers.
pub async fn page<E: Entity>(query: Query<E>, limit: u64, total: Total, format: Format) -> http::Response<JsonBody> {
    match format {
        Format::Envelope => respond(body::envelope(query, limit, total).await).await,
        Format::Ndjson | Format::Array => match query.fetch_page_raw(limit, total).await {
            Ok(page) => page_response(page, format),
            Err(error) => error_response(&error),
        },
    }
}

/// A response of a page already read, its cursor and total in headers (or in the body for the envelope).
pub fn page_response(page: Page<Bytes>, format: Format) -> http::Response<JsonBody> {
    let (items, next, total) = page.into_parts();
    let rows = futures_util::stream::iter(items.into_iter().map(Ok::<Bytes, crate::Error>));
    let body = match format {
        Format::Envelope => JsonBody::framed(Box::pin(rows), body::Framing::envelope_of(next.clone(), total)),
        other => JsonBody::framed(Box::pin(rows), body::Framing::of(other)),
    };
    let mut response = body::ok(body);
    let headers = response.headers_mut();
    if let Some(value) = next.and_then(|next| http::HeaderValue::from_str(&next).ok()) {
        headers.insert(NEXT_CURSOR, value);
    }
    if let Some(total) = total {
        headers.insert(TOTAL_COUNT, http::HeaderValue::from(total));
    }
    response
}

/// The page request an API reads from its query string: `filter` (JSON text in the shape
/// [`Entity::filter_from_json`] reads), `sort` (comma-separated keys, `-` for descending), `cursor`, `limit`,
/// `format` (`ndjson`, `array`, `envelope`) and `total` (`none`, `exact`, `estimate`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct PageRequest {
    /// The filter, as JSON text.
    pub filter: Option<String>,
    /// The sort keys, comma-separated (`-priority,id`).
    pub sort: Option<String>,
    /// A cursor from a previous page.
    pub cursor: Option<String>,
    /// The page size.
    pub limit: Option<u64>,
    /// The body's format (NDJSON unless asked).
    pub format: Format,
    /// The total to report (none unless asked).
    pub total: Total,
}

impl PageRequest {
    /// `base` with this request's filter, sort and cursor applied, every part checked against `E` (see
    /// [`apply_input`]).
    pub fn apply<E: Entity>(&self, base: Query<E>, default_sort: &[&str]) -> Result<Query<E>> {
        let filter = self.filter.as_deref().map(E::filter_from_str).transpose()?;
        let sort: Vec<&str> =
            self.sort.as_deref().map(|sort| sort.split(',').map(str::trim).collect()).unwrap_or_default();
        apply_input(base, filter, &sort, self.cursor.as_deref(), default_sort)
    }
}

/// `base` with a request's `filter`, `sort` and `cursor` applied. An empty `sort` means `default_sort`; a sort
/// given ends with `default_sort`'s last key (a unique key, which keyset pages need) unless it names that field
/// already. The sort keys are checked against `E` ([`Entity::order_by_from`]).
pub fn apply_input<E: Entity, S: AsRef<str>>(
    base: Query<E>,
    filter: Option<Filter<E>>,
    sort: &[S],
    cursor: Option<&str>,
    default_sort: &[&str],
) -> Result<Query<E>> {
    let mut query = base;
    if let Some(filter) = filter {
        query = query.filter_by(filter);
    }
    let mut keys: Vec<&str> = sort.iter().map(AsRef::as_ref).collect();
    if keys.is_empty() {
        keys = default_sort.to_vec();
    }
    if let Some(unique) = default_sort.last() {
        let field = |key: &str| key.trim_start_matches(['-', '+']).to_owned();
        if !keys.iter().any(|key| field(key) == field(unique)) {
            keys.push(unique);
        }
    }
    let keys = E::order_by_from(&keys)?;
    query = query.order_by(|_| keys);
    if let Some(cursor) = cursor {
        query = query.after_cursor(cursor);
    }
    Ok(query)
}
