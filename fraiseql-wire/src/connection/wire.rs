//! The framed byte stream of one connection: a transport, a read buffer and a write buffer.
//!
//! Reading is poll-based and pull-driven: bytes are read from the socket only when the layer above asks for the
//! next message, so a slow consumer leaves them in the kernel and TCP flow control makes the server wait.
//! Messages the server may send at any time (notices, parameter changes, notifications) are dealt with here.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use postgres_protocol::message::backend::Message;
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, Sleep};

use super::transport::Transport;
use crate::error::{DbError, Error};
use crate::protocol::auth;
use crate::protocol::frame::{self, DATA_ROW, Header};

/// The next thing the server sent, after notices and parameter changes have been dealt with.
pub(crate) enum Incoming {
    /// A complete DataRow of `total` bytes, checked to hold one column, sits at the front of the read buffer;
    /// `value` is where the column's value is in it (`None` for SQL NULL).
    Row { total: usize, value: Option<Range<usize>> },
    /// A DataRow whose value is above `max_row_bytes` (`size`); its bytes are discarded as they arrive.
    Oversized { size: usize },
    /// Any other message, already consumed from the buffer.
    Message(Message),
}

/// Bytes read from the socket at once when the buffer runs dry.
const READ_CHUNK: usize = 64 * 1024;

/// Below this much spare room the buffer is grown before reading, so reads stay large.
const MIN_READ: usize = 8 * 1024;

/// A read buffer grown above this (by a large row) is replaced by a small one as soon as the large message is
/// gone, so one outsized row does not stay resident for the connection's whole life.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Bytes of a one-column DataRow besides the value: tag, length, column count, value length.
pub(crate) const DATA_ROW_OVERHEAD: usize = 1 + 4 + 2 + 4;

/// A NotificationResponse, kept by a listening connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notification {
    pub(crate) channel: String,
    pub(crate) payload: String,
}

/// A message during startup.
pub(crate) enum StartupIncoming {
    Message(Message),
    /// The body of a BackendKeyData.
    BackendKey(Vec<u8>),
    /// The body of a NegotiateProtocolVersion.
    Negotiate(Vec<u8>),
}

pub(crate) struct Wire {
    io: Transport,
    pub(crate) read: BytesMut,
    write: BytesMut,
    /// Bytes of an oversized row still to discard.
    skip: usize,
    /// The largest message accepted; lower before authentication completes.
    max_message: usize,
    max_row_bytes: usize,
    /// How long a read may find nothing before the query fails (`read_timeout`); set once authenticated.
    read_timeout: Option<Duration>,
    /// When the current wait for the server's bytes began: set when a read finds nothing, cleared when bytes
    /// arrive, so only time spent waiting for the server counts.
    waiting_since: Option<Instant>,
    /// The timer behind `read_timeout`, kept from wait to wait: moving it only when it fires for a wait that has
    /// since ended costs nothing per read, where a timer per wait cost a tenth of a one-row query.
    read_deadline: Option<Pin<Box<Sleep>>>,
    /// A notice saying the server is ending the session (SQLSTATE class 57P or 08): an immediate shutdown sends
    /// only this WARNING before closing the socket, so it explains the EOF that follows.
    farewell: Option<Box<DbError>>,
    /// `in_hot_standby` and `default_transaction_read_only`, as the server last reported them (PostgreSQL 14 and
    /// later report both at startup and whenever they change).
    pub(crate) hot_standby: Option<bool>,
    pub(crate) read_only: Option<bool>,
    /// The `query` span of the query in flight, for the notices that arrive while its rows are read (outside the
    /// span's own polls); `Span::none()` between queries, so the span closes when its query ends.
    pub(crate) query_span: tracing::Span,
    /// The notifications received and not yet taken, on a connection that listens (`None` on the others, which
    /// log and drop them).
    notifications: Option<VecDeque<Notification>>,
}

impl Wire {
    /// The TLS version of the connection, `None` without TLS.
    pub(crate) fn tls_version(&self) -> Option<&'static str> {
        self.io.tls_version()
    }

    pub(crate) fn new(io: Transport, max_row_bytes: usize) -> Wire {
        Wire {
            io,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(1024),
            skip: 0,
            max_message: auth::MAX_STARTUP_MESSAGE,
            max_row_bytes,
            read_timeout: None,
            waiting_since: None,
            read_deadline: None,
            farewell: None,
            query_span: tracing::Span::none(),
            hot_standby: None,
            read_only: None,
            notifications: None,
        }
    }

    /// From now on notifications are kept for [`Wire::poll_notification`], and reads wait for the server as long
    /// as it takes: a listener is quiet for hours, and its owner proves the server alive with pings of its own.
    pub(crate) fn listen(&mut self) {
        self.notifications.get_or_insert_with(VecDeque::new);
        self.read_timeout = None;
    }

    /// Between queries, on a listening connection: the next notification. A server error sent unasked (a FATAL
    /// before the server ends the session) fails it, as does any other message.
    pub(crate) fn poll_notification(&mut self, cx: &mut Context<'_>) -> Poll<Result<Notification, Error>> {
        loop {
            if let Some(notification) = self.notifications.as_mut().and_then(VecDeque::pop_front) {
                return Poll::Ready(Ok(notification));
            }
            let header = ready!(self.poll_whole_frame(cx))?;
            match self.parse_buffered(header.tag)? {
                None => continue,
                Some(Message::ErrorResponse(body)) => {
                    return Poll::Ready(Err(Error::Db(Box::new(DbError::from_fields(body.fields())?))));
                }
                Some(_) => {
                    return Poll::Ready(Err(Error::protocol(format!(
                        "unexpected message `{}` while listening for notifications",
                        header.tag.escape_ascii()
                    ))));
                }
            }
        }
    }

    /// Authentication is over: from now on messages may be as large as a row, and reads wait at most
    /// `read_timeout` for the server (the connect timeout bounds them until now).
    pub(crate) fn authenticated(&mut self, read_timeout: Option<Duration>) {
        self.max_message = self.max_row_bytes.saturating_add(DATA_ROW_OVERHEAD).max(auth::MAX_STARTUP_MESSAGE);
        self.read_timeout = read_timeout;
    }

    pub(crate) fn max_row_bytes(&self) -> usize {
        self.max_row_bytes
    }

    /// Whether nothing is waiting to be read: no buffered bytes, and a socket that is open with nothing pending.
    /// Asks the socket without waiting.
    #[cfg_attr(not(feature = "pool"), allow(dead_code))]
    pub(crate) fn is_quiet(&self) -> bool {
        self.read.is_empty() && self.skip == 0 && self.io.is_quiet()
    }

    /// The buffer queries are encoded into; [`Wire::flush`] sends it.
    pub(crate) fn write_buf(&mut self) -> &mut BytesMut {
        &mut self.write
    }

    /// Sends everything in the write buffer.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        let result = self.io.write_all(&self.write).await;
        self.write.clear();
        result.map_err(Error::lost)
    }

    /// During startup: the next message, with BackendKeyData and NegotiateProtocolVersion handed over raw (their
    /// protocol 3.2 forms are beyond `postgres-protocol`).
    pub(crate) async fn next_startup_message(&mut self) -> Result<StartupIncoming, Error> {
        loop {
            let header = poll_fn(|cx| self.poll_whole_frame(cx)).await?;
            if let b'K' | b'v' = header.tag {
                let frame = self.read.split_to(header.total);
                let body = frame[frame::HEADER_LEN..].to_vec();
                return Ok(if header.tag == b'K' {
                    StartupIncoming::BackendKey(body)
                } else {
                    StartupIncoming::Negotiate(body)
                });
            }
            if let Some(message) = self.parse_buffered(header.tag)? {
                return Ok(StartupIncoming::Message(message));
            }
        }
    }

    /// Parses the whole message at the start of the buffer; `None` if it was one handled here (a notice, a
    /// parameter status).
    fn parse_buffered(&mut self, tag: u8) -> Result<Option<Message>, Error> {
        let message = Message::parse(&mut self.read)
            .map_err(|e| Error::protocol(format!("malformed `{}` message: {e}", tag.escape_ascii())))?
            .ok_or_else(|| Error::protocol("message vanished from the buffer"))?;
        self.handle_async(message)
    }

    /// Waits until a whole message is buffered and returns its header.
    fn poll_whole_frame(&mut self, cx: &mut Context<'_>) -> Poll<Result<Header, Error>> {
        loop {
            match frame::header(&self.read)? {
                Some(header) if header.total > self.max_message => {
                    return Poll::Ready(Err(Error::protocol(format!(
                        "message `{}` of {} bytes exceeds the {} byte limit",
                        header.tag.escape_ascii(),
                        header.total,
                        self.max_message
                    ))));
                }
                Some(header) if self.read.len() >= header.total => return Poll::Ready(Ok(header)),
                Some(header) => ready!(self.poll_fill(cx, header.total - self.read.len()))?,
                None => ready!(self.poll_fill(cx, frame::HEADER_LEN))?,
            }
        }
    }

    /// Reads until the next message that the query layer must see.
    pub(crate) fn poll_incoming(&mut self, cx: &mut Context<'_>) -> Poll<Result<Incoming, Error>> {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(self.read.len());
                self.read.advance(n);
                self.skip -= n;
                if self.skip > 0 {
                    ready!(self.poll_fill(cx, self.skip.min(READ_CHUNK)))?;
                }
                continue;
            }
            if let Some(Header { tag, total }) = frame::header(&self.read)? {
                if tag == DATA_ROW && total.saturating_sub(DATA_ROW_OVERHEAD) > self.max_row_bytes {
                    self.skip = total;
                    return Poll::Ready(Ok(Incoming::Oversized { size: total - DATA_ROW_OVERHEAD }));
                }
                if total > self.max_message {
                    return Poll::Ready(Err(Error::protocol(format!(
                        "message `{}` of {total} bytes exceeds the {} byte limit",
                        tag.escape_ascii(),
                        self.max_message
                    ))));
                }
                if self.read.len() >= total {
                    if tag == DATA_ROW {
                        let value = frame::single_column(&self.read[..total])?;
                        return Poll::Ready(Ok(Incoming::Row { total, value }));
                    }
                    if let Some(message) = self.parse_buffered(tag)? {
                        return Poll::Ready(Ok(Incoming::Message(message)));
                    }
                    continue;
                }
                let missing = total - self.read.len();
                ready!(self.poll_fill(cx, missing))?;
            } else {
                ready!(self.poll_fill(cx, frame::HEADER_LEN))?;
            }
        }
    }

    /// Messages the server may send at any time; returns the message if it is not one of them.
    fn handle_async(&mut self, message: Message) -> Result<Option<Message>, Error> {
        match message {
            Message::NoticeResponse(body) => {
                let notice = DbError::from_fields(body.fields())?;
                crate::telemetry::notice(&notice, &self.query_span);
                if notice.sql_state().ends_session() {
                    self.farewell = Some(Box::new(notice));
                }
                Ok(None)
            }
            Message::ParameterStatus(body) => {
                let name = body.name().map_err(|e| Error::protocol(format!("malformed ParameterStatus: {e}")))?;
                let value = body.value().map_err(|e| Error::protocol(format!("malformed ParameterStatus: {e}")))?;
                match name {
                    "client_encoding" if !value.eq_ignore_ascii_case("UTF8") => {
                        return Err(Error::EncodingChanged(value.to_owned()));
                    }
                    "in_hot_standby" => self.hot_standby = Some(value == "on"),
                    "default_transaction_read_only" => self.read_only = Some(value == "on"),
                    _ => {}
                }
                tracing::trace!(name, value, "server parameter");
                Ok(None)
            }
            Message::NotificationResponse(body) if self.notifications.is_some() => {
                let text = |part: std::io::Result<&str>| {
                    part.map(str::to_owned).map_err(|e| Error::protocol(format!("malformed NotificationResponse: {e}")))
                };
                let notification = Notification { channel: text(body.channel())?, payload: text(body.message())? };
                if let Some(queue) = &mut self.notifications {
                    queue.push_back(notification);
                }
                Ok(None)
            }
            Message::NotificationResponse(body) => {
                tracing::debug!(
                    channel = body.channel().unwrap_or("<invalid>"),
                    process_id = body.process_id(),
                    "notification ignored by a streaming connection"
                );
                Ok(None)
            }
            other => Ok(Some(other)),
        }
    }

    /// Reads at least once from the socket, growing the buffer so that `wanted` more bytes fit.
    fn poll_fill(&mut self, cx: &mut Context<'_>, wanted: usize) -> Poll<Result<(), Error>> {
        if wanted < READ_CHUNK {
            self.shrink_if_large();
        }
        // Grow only when the spare room is short: reserving on every read would move the unread tail (or, while
        // raw rows still share the buffer, allocate a new one) far more often than needed.
        let spare = self.read.capacity() - self.read.len();
        if spare < wanted.max(MIN_READ) {
            self.read.reserve(wanted.max(READ_CHUNK));
        }
        let n = match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read) {
            Poll::Ready(Ok(n)) => {
                self.waiting_since = None;
                n
            }
            Poll::Ready(Err(error)) => return Poll::Ready(Err(self.lost(error))),
            Poll::Pending => return self.poll_read_deadline(cx),
        };
        if n == 0 {
            let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection");
            return Poll::Ready(Err(self.lost(eof)));
        }
        Poll::Ready(Ok(()))
    }

    /// The connection is gone: the server's farewell notice says why better than the I/O error, if it sent one.
    fn lost(&mut self, error: std::io::Error) -> Error {
        match self.farewell.take() {
            Some(notice) => Error::Db(notice),
            None => Error::lost(error),
        }
    }

    /// Nothing to read: fails once this wait has lasted `read_timeout`, else makes sure the timer wakes the task by
    /// then.
    fn poll_read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(timeout) = self.read_timeout else {
            return Poll::Pending;
        };
        let due = *self.waiting_since.get_or_insert_with(Instant::now) + timeout;
        let timer = self.read_deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        loop {
            ready!(timer.as_mut().poll(cx));
            if Instant::now() >= due {
                self.waiting_since = None;
                return Poll::Ready(Err(Error::ReadTimeout { timeout }));
            }
            // It fired for an earlier wait, which bytes ended: it now runs for this one.
            timer.as_mut().reset(due);
        }
    }

    /// Replaces a read buffer grown by a large message with a small one once what is left in it is small: the
    /// few bytes move, the large allocation goes (once raw rows that still share it are dropped).
    pub(crate) fn shrink_if_large(&mut self) {
        if self.read.capacity() > SHRINK_ABOVE && self.read.len() < READ_CHUNK {
            let mut small = BytesMut::with_capacity(READ_CHUNK);
            small.extend_from_slice(&self.read);
            self.read = small;
        }
    }
}
