//! The response body: rows framed as NDJSON, a JSON array or a page envelope, in chunks.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;

use super::error::error_response;
use crate::entity::Entity;
use crate::entity::Total;
use crate::error::{Error, Result};
use crate::query::Query;

/// How the rows are written; from a request as `ndjson`, `array` or `envelope`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// One document per line (`application/x-ndjson`).
    #[default]
    Ndjson,
    /// A JSON array of the documents (`application/json`).
    Array,
    /// `{"items": [...], "next": "…" | null, "total": N}` (`application/json`; `total` only when asked for).
    Envelope,
}

/// A chunk is sent once this many bytes of rows are ready, or when no more rows are ready yet.
const CHUNK: usize = 32 * 1024;

type Rows = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;
/// The cursor after a raw row (for the envelope's `next`).
type CursorOf = Box<dyn Fn(&[u8]) -> Result<String> + Send>;

/// What goes before, between and after the rows.
pub(super) struct Framing {
    content_type: &'static str,
    open: &'static [u8],
    separator: &'static [u8],
    /// Written after each row.
    terminator: &'static [u8],
    /// Written after the rows, unless `page` writes the end.
    close: &'static [u8],
    page: Option<EnvelopePage>,
}

/// The envelope of a page streamed as it is read: its rows are the first `limit` of `limit + 1`.
struct EnvelopePage {
    limit: u64,
    total: Option<u64>,
    /// The cursor after a row; `None` when `next` is already known (a page read before).
    cursor: Option<CursorOf>,
    next: Option<String>,
    last: Option<Bytes>,
}

impl Framing {
    pub(super) fn of(format: Format) -> Framing {
        match format {
            Format::Ndjson => Framing {
                content_type: "application/x-ndjson",
                open: b"",
                separator: b"",
                terminator: b"\n",
                close: b"",
                page: None,
            },
            Format::Array | Format::Envelope => Framing {
                content_type: "application/json",
                open: b"[",
                separator: b",",
                terminator: b"",
                close: b"]",
                page: None,
            },
        }
    }

    /// The envelope of rows already cut to a page, whose next cursor is `next`.
    pub(super) fn envelope_of(next: Option<String>, total: Option<u64>) -> Framing {
        let page = EnvelopePage { limit: u64::MAX, total, cursor: None, next, last: None };
        Framing { open: b"{\"items\":[", page: Some(page), ..Framing::of(Format::Array) }
    }
}

/// A streamed JSON response body: an [`http_body::Body`] of [`Bytes`] and a [`Stream`] of its chunks. Errors
/// end it (see the [module](super) for what a client sees).
pub struct JsonBody {
    rows: Option<Rows>,
    framing: Framing,
    buffer: BytesMut,
    /// Rows written so far.
    written: u64,
    opened: bool,
    /// A chunk read ahead by [`respond`], sent first.
    ready: Option<Bytes>,
    /// An error met after some bytes of the current chunk, returned after them.
    failed: Option<Error>,
}

impl std::fmt::Debug for JsonBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonBody").field("content_type", &self.framing.content_type).finish_non_exhaustive()
    }
}

impl JsonBody {
    pub(super) fn framed(rows: Rows, framing: Framing) -> JsonBody {
        JsonBody {
            rows: Some(rows),
            framing,
            buffer: BytesMut::new(),
            written: 0,
            opened: false,
            ready: None,
            failed: None,
        }
    }

    /// One document per line, from rows as received ([`Query::stream_raw`]).
    pub fn ndjson(rows: impl Stream<Item = Result<Bytes>> + Send + 'static) -> JsonBody {
        JsonBody::framed(Box::pin(rows), Framing::of(Format::Ndjson))
    }

    /// A JSON array, from rows as received ([`Query::stream_raw`]).
    pub fn array(rows: impl Stream<Item = Result<Bytes>> + Send + 'static) -> JsonBody {
        JsonBody::framed(Box::pin(rows), Framing::of(Format::Array))
    }

    /// Typed rows, each serialized again, in `format` (the envelope as an array inside `{"items": …}`).
    pub fn of<T: serde::Serialize>(format: Format, rows: impl Stream<Item = Result<T>> + Send + 'static) -> JsonBody {
        let rows = rows.map(|row| {
            let row = row?;
            serde_json::to_vec(&row)
                .map(Bytes::from)
                .map_err(|error| Error::protocol(format!("a row could not be serialized: {error}")))
        });
        let framing = match format {
            Format::Envelope => Framing::envelope_of(None, None),
            other => Framing::of(other),
        };
        JsonBody::framed(Box::pin(rows), framing)
    }

    /// A body of `bytes` alone (an error response's).
    pub(super) fn once(content_type: &'static str, bytes: Bytes) -> JsonBody {
        let framing = Framing { content_type, ..Framing::of(Format::Ndjson) };
        let mut body = JsonBody::framed(Box::pin(futures_util::stream::empty()), framing);
        body.ready = Some(bytes);
        body
    }

    /// The content type of the body (`application/x-ndjson` or `application/json`).
    pub fn content_type(&self) -> &'static str {
        self.framing.content_type
    }

    /// Writes one row; `false` when the page is full and the row is the one past it.
    fn write_row(&mut self, row: Bytes) -> Result<bool> {
        if let Some(page) = &mut self.framing.page {
            if self.written == page.limit {
                // The row past the page: there is a next page, after the page's last row.
                if let (Some(cursor), Some(last)) = (&page.cursor, &page.last) {
                    page.next = Some(cursor(last)?);
                }
                return Ok(false);
            }
            if page.cursor.is_some() {
                page.last = Some(row.clone());
            }
        }
        self.open();
        if self.written > 0 {
            self.buffer.put_slice(self.framing.separator);
        }
        self.buffer.put_slice(&row);
        self.buffer.put_slice(self.framing.terminator);
        self.written += 1;
        Ok(true)
    }

    /// Writes what comes before the rows, once: with the first row or the end, so that an error before either
    /// leaves the body without a byte (and the response can still be an error status).
    fn open(&mut self) {
        if !self.opened {
            self.opened = true;
            self.buffer.put_slice(self.framing.open);
        }
    }

    /// Writes what follows the rows.
    fn write_close(&mut self) {
        self.open();
        self.buffer.put_slice(self.framing.close);
        if let Some(page) = &self.framing.page {
            let next = page.next.as_ref().map_or_else(|| "null".to_owned(), |next| serde_json::json!(next).to_string());
            self.buffer.put_slice(format!(",\"next\":{next}").as_bytes());
            if let Some(total) = page.total {
                self.buffer.put_slice(format!(",\"total\":{total}").as_bytes());
            }
            self.buffer.put_u8(b'}');
        }
    }

    fn chunk(&mut self) -> Option<Bytes> {
        (!self.buffer.is_empty()).then(|| self.buffer.split().freeze())
    }
}

impl Stream for JsonBody {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        let this = &mut *self;
        if let Some(ready) = this.ready.take() {
            return Poll::Ready(Some(Ok(ready)));
        }
        if let Some(error) = this.failed.take() {
            return Poll::Ready(Some(Err(error)));
        }
        loop {
            let Some(rows) = &mut this.rows else {
                return Poll::Ready(this.chunk().map(Ok));
            };
            match rows.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => match this.write_row(row) {
                    Ok(true) if this.buffer.len() >= CHUNK => return Poll::Ready(this.chunk().map(Ok)),
                    Ok(true) => {}
                    Ok(false) => {
                        // Dropping the rows stops the query's last row from being read.
                        this.rows = None;
                        this.write_close();
                    }
                    Err(error) => {
                        this.rows = None;
                        return fail(this, error);
                    }
                },
                Poll::Ready(Some(Err(error))) => {
                    this.rows = None;
                    return fail(this, error);
                }
                Poll::Ready(None) => {
                    this.rows = None;
                    this.write_close();
                }
                Poll::Pending => {
                    return match this.chunk() {
                        Some(chunk) => Poll::Ready(Some(Ok(chunk))),
                        None => Poll::Pending,
                    };
                }
            }
        }
    }
}

/// Sends what is written before `error`, then `error`, which ends the body.
fn fail(body: &mut JsonBody, error: Error) -> Poll<Option<Result<Bytes>>> {
    match body.chunk() {
        Some(chunk) => {
            body.failed = Some(error);
            Poll::Ready(Some(Ok(chunk)))
        }
        None => Poll::Ready(Some(Err(error))),
    }
}

impl http_body::Body for JsonBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>>>> {
        self.poll_next(cx).map(|chunk| chunk.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}

/// A `200 OK` response of `body`.
pub(super) fn ok(body: JsonBody) -> http::Response<JsonBody> {
    let content_type = http::HeaderValue::from_static(body.content_type());
    let mut response = http::Response::new(body);
    response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
    response
}

/// A response of `body` once its first chunk is ready: `200 OK` streaming the rest, or, if the query failed
/// before any byte, the error's status code and JSON body ([`error_response`]).
pub async fn respond(mut body: JsonBody) -> http::Response<JsonBody> {
    match body.next().await {
        Some(Err(error)) => error_response(&error),
        first => {
            body.ready = first.and_then(Result::ok);
            ok(body)
        }
    }
}

/// The envelope of a page of `query`'s raw rows, streamed: `limit + 1` rows are asked for, the last only to learn
/// that a next page exists. The total, if asked for, is counted first; an error doing so is the body's first
/// item.
pub(super) async fn envelope<E: Entity>(query: Query<E>, limit: u64, total: Total) -> JsonBody {
    let total = match query.page_total(total).await {
        Ok(total) => total,
        Err(error) => {
            return JsonBody::framed(
                Box::pin(futures_util::stream::once(async { Err(error) })),
                Framing::of(Format::Array),
            );
        }
    };
    let cursors = query.clone();
    let cursor: CursorOf = Box::new(move |row| cursors.cursor_after_raw(row));
    let rows = query.limit(limit.saturating_add(1)).stream_raw();
    let page = EnvelopePage { limit, total, cursor: Some(cursor), next: None, last: None };
    JsonBody::framed(Box::pin(rows), Framing { open: b"{\"items\":[", page: Some(page), ..Framing::of(Format::Array) })
}
