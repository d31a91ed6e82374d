//! One session with the server: a transport, a read buffer and a write buffer.
//!
//! Reading is poll-based and pull-driven: bytes are read from the socket only when the stream above asks for
//! the next message, so a slow consumer leaves them in the kernel and TCP flow control makes the server wait.

mod cancel;
mod transport;

use std::future::poll_fn;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use postgres_protocol::message::backend::Message;
use tokio::io::AsyncWriteExt;

use crate::config::{Resolved, Target};
use crate::error::{DbError, Error};
use crate::protocol::auth::{self, AuthStep, Authenticator, StartupParams};
use crate::protocol::frame::{self, DATA_ROW, Header};
use transport::Transport;

/// What the server gave us to cancel this session's running query.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BackendKey {
    pub(crate) process_id: i32,
    pub(crate) secret_key: i32,
}

/// The next thing the server sent, after notices and parameter changes have been dealt with.
pub(crate) enum Incoming {
    /// A complete DataRow of `total` bytes sits at the front of the read buffer; the caller consumes it.
    Row { total: usize },
    /// A DataRow whose value is above `max_row_bytes` (`size`); its bytes are discarded as they arrive.
    Oversized { size: usize },
    /// Any other message, already consumed from the buffer.
    Message(Message),
}

/// Bytes read from the socket at once when the buffer runs dry.
const READ_CHUNK: usize = 64 * 1024;

/// Below this much spare room the buffer is grown before reading, so reads stay large.
const MIN_READ: usize = 8 * 1024;

pub(crate) struct Connection {
    io: Transport,
    pub(crate) read: BytesMut,
    write: BytesMut,
    target: Target,
    key: Option<BackendKey>,
    /// Bytes of an oversized row still to discard.
    skip: usize,
    /// The largest message accepted; lower before authentication completes.
    max_message: usize,
    max_row_bytes: usize,
    /// True between sending a query and reading its ReadyForQuery: the session is not reusable as it is.
    pub(crate) busy: bool,
}

impl Connection {
    /// Connects to the first target that answers, then authenticates.
    pub(crate) async fn connect(config: &Resolved) -> Result<Connection, Error> {
        let mut last_error = None;
        for target in &config.targets {
            let attempt = Connection::connect_to(config, target);
            let result = match config.connect_timeout {
                Some(timeout) => tokio::time::timeout(timeout, attempt)
                    .await
                    .unwrap_or_else(|_| Err(Error::ConnectTimeout { target: target.to_string(), timeout })),
                None => attempt.await,
            };
            match result {
                Ok(connection) => return Ok(connection),
                // Like libpq, an unreachable host moves on to the next one; a refusal by a server that answered
                // (bad password, missing database) would only repeat, so it is returned at once.
                Err(error) if error.is_connection_error() => {
                    tracing::debug!(%target, %error, "connection attempt failed");
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::config("no host to connect to")))
    }

    async fn connect_to(config: &Resolved, target: &Target) -> Result<Connection, Error> {
        let io = Transport::open(target).await?;
        let mut connection = Connection {
            io,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(1024),
            target: target.clone(),
            key: None,
            skip: 0,
            max_message: auth::MAX_STARTUP_MESSAGE,
            max_row_bytes: config.max_row_bytes,
            busy: true,
        };
        connection.startup(config).await?;
        Ok(connection)
    }

    async fn startup(&mut self, config: &Resolved) -> Result<(), Error> {
        let params = StartupParams {
            user: &config.user,
            database: &config.dbname,
            application_name: &config.application_name,
            options: config.options.as_deref(),
        };
        auth::startup_message(&params, &mut self.write)?;
        self.flush().await?;
        let mut authenticator = Authenticator::new(&config.user, config.password.as_deref());
        loop {
            match self.next_message().await? {
                Message::ErrorResponse(body) => return Err(DbError::from_fields(body.fields())?.into()),
                message @ (Message::AuthenticationOk
                | Message::AuthenticationCleartextPassword
                | Message::AuthenticationMd5Password(_)
                | Message::AuthenticationSasl(_)
                | Message::AuthenticationSaslContinue(_)
                | Message::AuthenticationSaslFinal(_)
                | Message::AuthenticationGss
                | Message::AuthenticationGssContinue(_)
                | Message::AuthenticationSspi
                | Message::AuthenticationKerberosV5
                | Message::AuthenticationScmCredential) => {
                    match authenticator.on_message(&message, &mut self.write)? {
                        AuthStep::Respond => self.flush().await?,
                        AuthStep::Wait => {}
                        AuthStep::Done => break,
                    }
                }
                _ => return Err(Error::protocol("unexpected message before authentication completed")),
            }
        }
        self.max_message = self.max_row_bytes.saturating_add(DATA_ROW_OVERHEAD).max(auth::MAX_STARTUP_MESSAGE);
        loop {
            match self.next_message().await? {
                Message::BackendKeyData(body) => {
                    self.key = Some(BackendKey { process_id: body.process_id(), secret_key: body.secret_key() });
                }
                Message::ReadyForQuery(_) => {
                    self.busy = false;
                    return Ok(());
                }
                Message::ErrorResponse(body) => return Err(DbError::from_fields(body.fields())?.into()),
                _ => return Err(Error::protocol("unexpected message while the session was starting")),
            }
        }
    }

    /// The buffer queries are encoded into; [`Connection::flush`] sends it.
    pub(crate) fn write_buf(&mut self) -> &mut BytesMut {
        &mut self.write
    }

    /// Sends everything in the write buffer.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        let result = self.io.write_all(&self.write).await;
        self.write.clear();
        result.map_err(lost)
    }

    /// Where the session lives and how to cancel its query.
    pub(crate) fn cancel_handle(&self) -> Option<(Target, BackendKey)> {
        self.key.map(|key| (self.target.clone(), key))
    }

    /// The next message other than a DataRow, waiting for it.
    pub(crate) async fn next_message(&mut self) -> Result<Message, Error> {
        loop {
            match poll_fn(|cx| self.poll_incoming(cx)).await? {
                Incoming::Message(message) => return Ok(message),
                Incoming::Row { total } => self.read.advance(total),
                Incoming::Oversized { .. } => {}
            }
        }
    }

    /// The next row or message, waiting for it.
    pub(crate) async fn next_message_or_row(&mut self) -> Result<Incoming, Error> {
        poll_fn(|cx| self.poll_incoming(cx)).await
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
                        return Poll::Ready(Ok(Incoming::Row { total }));
                    }
                    let message = Message::parse(&mut self.read)
                        .map_err(|e| Error::protocol(format!("malformed `{}` message: {e}", tag.escape_ascii())))?
                        .ok_or_else(|| Error::protocol("message vanished from the buffer"))?;
                    if let Some(message) = self.handle_async(message)? {
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
                tracing::info!(
                    target: "fraiseql_wire::notice",
                    severity = %notice.severity,
                    code = %notice.code,
                    detail = notice.detail.as_deref(),
                    hint = notice.hint.as_deref(),
                    "{}",
                    notice.message
                );
                Ok(None)
            }
            Message::ParameterStatus(body) => {
                let name = body.name().map_err(|e| Error::protocol(format!("malformed ParameterStatus: {e}")))?;
                let value = body.value().map_err(|e| Error::protocol(format!("malformed ParameterStatus: {e}")))?;
                if name == "client_encoding" && !value.eq_ignore_ascii_case("UTF8") {
                    return Err(Error::EncodingChanged(value.to_owned()));
                }
                tracing::trace!(name, value, "server parameter");
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
        // Grow only when the spare room is short: reserving on every read would move the unread tail (or, while
        // raw rows still share the buffer, allocate a new one) far more often than needed.
        let spare = self.read.capacity() - self.read.len();
        if spare < wanted.max(MIN_READ) {
            self.read.reserve(wanted.max(READ_CHUNK));
        }
        let n = ready!(tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut self.io), cx, &mut self.read))
            .map_err(lost)?;
        if n == 0 {
            return Poll::Ready(Err(lost(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ))));
        }
        Poll::Ready(Ok(()))
    }

    /// Reads and discards messages until ReadyForQuery, leaving the session reusable.
    ///
    /// Returns the first server error seen on the way, if any.
    pub(crate) async fn drain(&mut self) -> Result<Option<DbError>, Error> {
        let mut first_error = None;
        loop {
            match self.next_message().await? {
                Message::ReadyForQuery(_) => {
                    self.busy = false;
                    return Ok(first_error);
                }
                Message::ErrorResponse(body) => {
                    let error = DbError::from_fields(body.fields())?;
                    first_error.get_or_insert(error);
                }
                _ => {}
            }
        }
    }
}

fn lost(source: std::io::Error) -> Error {
    Error::ConnectionLost { source }
}

pub(crate) use cancel::cancel;

/// Bytes of a one-column DataRow besides the value: tag, length, column count, value length.
const DATA_ROW_OVERHEAD: usize = 1 + 4 + 2 + 4;
