//! Opening a session: the first host that answers, TLS as `sslmode` says, then startup and authentication.

use std::future::Future;
use std::sync::Arc;

use postgres_protocol::message::backend::Message;
use tokio::time::Instant;
use tracing::Instrument;

use super::cancel::{CancelTls, CancelToken};
use super::role;
use super::tls::{self, TlsConnector};
use super::transport::{self, Address, Transport};
use super::wire::{StartupIncoming, Wire};
use crate::config::{Host, LoadBalanceHosts, Resolved, SslMode, Target, TargetSessionAttrs};
use crate::error::{DbError, Error};
use crate::protocol::auth::{AuthPolicy, AuthStep, Authenticator, Link};
use crate::protocol::startup::{self, ProtocolVersion, StartupParams};
use crate::telemetry;

/// A connection that has authenticated and is ready for its first query.
pub(crate) struct Opened {
    pub(crate) wire: Wire,
    pub(crate) cancel: Option<CancelToken>,
    /// The authentication method the server asked for, for the connect span.
    auth: &'static str,
}

/// Connects to the first address of the first target that answers, authenticates and, when
/// `target_session_attrs` asks for a kind of server, checks that this one is of that kind; within a `connect`
/// span (see [`telemetry`](crate::telemetry)), counted as a connection opened or failed.
pub(crate) async fn open(config: &Resolved) -> Result<Opened, Error> {
    use tracing::field::Empty;
    let span = tracing::info_span!(
        target: "fraiseql_wire::connect",
        "connect",
        user = %config.user,
        database = %config.dbname,
        host = Empty,
        port = Empty,
        tls = Empty,
        tls_version = Empty,
        auth = Empty,
        duration_ms = Empty,
        error_kind = Empty,
    );
    let started = Instant::now();
    let result = open_first(config).instrument(span.clone()).await;
    span.record("duration_ms", started.elapsed().as_secs_f64() * 1e3);
    match result {
        Ok((opened, target)) => {
            let tls_version = opened.wire.tls_version();
            span.record("host", tracing::field::display(&target.host));
            span.record("port", target.port);
            span.record("tls", tls_version.is_some());
            if let Some(version) = tls_version {
                span.record("tls_version", version);
            }
            span.record("auth", opened.auth);
            telemetry::count(telemetry::CONNECTIONS_OPENED, 1);
            Ok(opened)
        }
        Err(error) => {
            span.record("error_kind", error.kind().as_str());
            telemetry::count_kind(telemetry::CONNECTIONS_FAILED, error.kind());
            Err(error)
        }
    }
}

/// What [`open`] does: the connection, and the target that gave it.
async fn open_first(config: &Resolved) -> Result<(Opened, &Target), Error> {
    let any_tcp = config.targets.iter().any(|t| matches!(t.host, Host::Tcp(_)));
    let tls = if config.tls.mode != SslMode::Disable && any_tcp {
        Some(Arc::new(TlsConnector::new(&config.tls)?))
    } else {
        None
    };
    let random = config.routing.load_balance_hosts == LoadBalanceHosts::Random;
    let mut targets: Vec<&Target> = config.targets.iter().collect();
    if random {
        shuffle(&mut targets);
    }
    let mut last_error = None;
    // The servers that answered but were of the wrong kind, for the error when none fits.
    let mut misfits = Vec::new();
    for &wanted in config.routing.target_session_attrs.passes() {
        for &target in &targets {
            let mut addresses = match within(config, target, Address::of(target)).await {
                Ok(addresses) => addresses,
                Err(error) if error.is_connection_error() => {
                    last_error = Some(error);
                    continue;
                }
                Err(error) => return Err(error),
            };
            if random {
                shuffle(&mut addresses);
            }
            for address in &addresses {
                let attempt = async {
                    let mut opened = open_address(config, tls.as_ref(), target, address).await?;
                    let role = match wanted {
                        TargetSessionAttrs::Any => None,
                        _ => Some(role::server_role(&mut opened.wire).await?),
                    };
                    Ok((opened, role))
                };
                match within(config, target, attempt).await {
                    Ok((opened, None)) => return Ok((opened, target)),
                    Ok((opened, Some(role))) if wanted.accepts(role) => return Ok((opened, target)),
                    Ok((_, Some(role))) => {
                        tracing::debug!(%target, %role, wanted = wanted.as_str(), "server of the wrong kind");
                        misfits.push(format!("{target} ({role})"));
                        // Another address of the same name reaches the same server.
                        break;
                    }
                    // Like libpq, an unreachable address moves on to the next one; a refusal by a server that
                    // answered (bad password, missing database, a server that fails to authenticate itself) would
                    // only repeat, so it is returned at once.
                    Err(error) if error.is_connection_error() => {
                        tracing::debug!(%target, ?address, %error, "connection attempt failed");
                        last_error = Some(error);
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }
    if !misfits.is_empty() {
        return Err(Error::NoSuitableHost {
            target_session_attrs: config.routing.target_session_attrs.as_str(),
            tried: misfits,
        });
    }
    // Resolution always yields at least one target (the default host when none is named).
    Err(last_error.unwrap_or_else(|| {
        Error::config("no host to connect to", "name a host in the connection string (host=…) or PGHOST")
    }))
}

/// Runs one step of connecting to `target` within `connect_timeout`.
async fn within<T>(
    config: &Resolved,
    target: &Target,
    step: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match config.connect_timeout {
        Some(timeout) => tokio::time::timeout(timeout, step)
            .await
            .unwrap_or_else(|_| Err(Error::ConnectTimeout { target: target.to_string(), timeout })),
        None => step.await,
    }
}

/// Puts `items` in a random order (Fisher-Yates), for `load_balance_hosts=random`. The standard library's
/// randomly keyed hasher is random enough to spread connections, and saves a dependency.
fn shuffle<T>(items: &mut [T]) {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    for i in (1..items.len()).rev() {
        hasher.write_usize(i);
        let j = (hasher.finish() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// How one connection attempt uses TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encryption {
    Plain,
    /// TLS if the server agrees, else plaintext on the same connection.
    IfOffered,
    Required,
}

/// A failed attempt, and whether it failed with TLS in use (or in its handshake).
struct Failure {
    error: Error,
    encrypted: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure { error, encrypted: false }
    }
}

/// libpq's sslmode rules for one host. One difference, to keep passwords off the wire: after a TLS attempt,
/// `prefer` retries in plaintext only when the server rejected the connection because of `pg_hba.conf` (SQLSTATE
/// 28000), not after a wrong password; and `allow` retries with TLS on the same condition.
async fn open_address(
    config: &Resolved,
    tls: Option<&Arc<TlsConnector>>,
    target: &Target,
    address: &Address,
) -> Result<Opened, Error> {
    let to = To { target, address };
    let tls = match (tls, &target.host) {
        (Some(tls), Host::Tcp(_)) => tls,
        // A Unix socket never uses TLS, whatever sslmode says, as in libpq.
        _ => return attempt(config, None, to, Encryption::Plain).await.map_err(|f| f.error),
    };
    match config.tls.mode {
        SslMode::Disable => attempt(config, None, to, Encryption::Plain).await.map_err(|f| f.error),
        SslMode::Allow => match attempt(config, None, to, Encryption::Plain).await {
            Err(first) if rejected_by_hba(&first.error) => {
                match attempt(config, Some(tls), to, Encryption::Required).await {
                    Err(Failure { error: Error::TlsUnavailable { .. }, .. }) => Err(first.error),
                    result => result.map_err(|f| f.error),
                }
            }
            result => result.map_err(|f| f.error),
        },
        SslMode::Prefer => match attempt(config, Some(tls), to, Encryption::IfOffered).await {
            Err(first)
                if first.encrypted && (matches!(first.error, Error::Tls { .. }) || rejected_by_hba(&first.error)) =>
            {
                tracing::debug!(%target, error = %first.error, "TLS attempt failed; retrying without TLS (sslmode=prefer)");
                attempt(config, None, to, Encryption::Plain).await.map_err(|_| first.error)
            }
            result => result.map_err(|f| f.error),
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            attempt(config, Some(tls), to, Encryption::Required).await.map_err(|f| f.error)
        }
    }
}

fn rejected_by_hba(error: &Error) -> bool {
    error.code() == Some("28000")
}

/// One connection: TCP or socket, TLS as asked, then startup and authentication.
/// Where one attempt goes: a target and one of its addresses.
#[derive(Clone, Copy)]
struct To<'a> {
    target: &'a Target,
    address: &'a Address,
}

async fn attempt(
    config: &Resolved,
    tls: Option<&Arc<TlsConnector>>,
    to: To<'_>,
    encryption: Encryption,
) -> Result<Opened, Failure> {
    let target = to.target;
    let name = target.to_string();
    let (io, link, cancel_tls) = match (&target.host, to.address, tls) {
        (Host::Tcp(host), &Address::Tcp(address), Some(tls)) if encryption != Encryption::Plain => {
            let tcp = transport::connect_tcp(address, target, &config.liveness).await?;
            match tls.start(tcp, host, &name).await {
                Ok(Ok(established)) => {
                    let link = Link { tls: Some(established.binding), local: false };
                    let cancel = CancelTls { connector: Arc::clone(tls), host: host.clone() };
                    (Transport::Tls(Box::new(established.stream)), link, Some(cancel))
                }
                Ok(Err(tcp)) if encryption == Encryption::IfOffered => {
                    let local = plaintext_allowed(config, &tcp, &name)?;
                    (Transport::Tcp(tcp), Link::plain(local), None)
                }
                Ok(Err(_)) => {
                    return Err(Error::TlsUnavailable {
                        target: name,
                        sslmode: config.tls.mode.as_str(),
                        implicit: false,
                    }
                    .into());
                }
                Err(error @ Error::Tls { .. }) => return Err(Failure { error, encrypted: true }),
                Err(error) => return Err(error.into()),
            }
        }
        (Host::Tcp(_), &Address::Tcp(address), _) => {
            let tcp = transport::connect_tcp(address, target, &config.liveness).await?;
            let local = plaintext_allowed(config, &tcp, &name)?;
            (Transport::Tcp(tcp), Link::plain(local), None)
        }
        (_, address, _) => (Transport::open(address, target, &config.liveness).await?, Link::plain(true), None),
    };
    let encrypted = link.tls.is_some();
    start_session(config, to, io, link, cancel_tls)
        .await
        .map_err(|error| Failure { error: surface_tls_error(error, &name), encrypted })
}

/// Without an explicit sslmode, plaintext is accepted only on the loopback interface. Returns whether the peer
/// is local.
fn plaintext_allowed(config: &Resolved, tcp: &tokio::net::TcpStream, target: &str) -> Result<bool, Error> {
    let local = transport::is_loopback(tcp);
    if !local && !config.tls.mode_explicit {
        return Err(Error::TlsUnavailable {
            target: target.to_owned(),
            sslmode: config.tls.mode.as_str(),
            implicit: true,
        });
    }
    Ok(local)
}

/// A TLS alert that arrives after the handshake (a refused client certificate, under TLS 1.3) surfaces as an I/O
/// error on the first read: name it as the TLS failure it is.
fn surface_tls_error(error: Error, target: &str) -> Error {
    match &error {
        Error::ConnectionLost { source } => {
            match source.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls_error) => tls::tls_error(target, tls_error),
                None => error,
            }
        }
        _ => error,
    }
}

async fn start_session(
    config: &Resolved,
    to: To<'_>,
    io: Transport,
    link: Link,
    cancel_tls: Option<CancelTls>,
) -> Result<Opened, Error> {
    let mut wire = Wire::new(io, config.max_row_bytes);
    let (version, auth) = authenticate(&mut wire, config, link).await?;
    wire.authenticated(config.liveness.read_timeout);
    let mut cancel = None;
    loop {
        match wire.next_startup_message().await? {
            StartupIncoming::BackendKey(body) => {
                let key = startup::backend_key(&body, version)?;
                cancel = Some(CancelToken {
                    target: to.target.clone(),
                    address: to.address.clone(),
                    tls: cancel_tls.clone(),
                    key,
                    liveness: config.liveness,
                });
            }
            StartupIncoming::Message(Message::ReadyForQuery(_)) => return Ok(Opened { wire, cancel, auth }),
            StartupIncoming::Message(Message::ErrorResponse(body)) => {
                return Err(DbError::from_fields(body.fields())?.into());
            }
            _ => return Err(Error::protocol("unexpected message while the session was starting")),
        }
    }
}

/// Sends the StartupMessage and answers the server until it accepts us; returns the protocol version in use and
/// the authentication method the server asked for.
async fn authenticate(
    wire: &mut Wire,
    config: &Resolved,
    link: Link,
) -> Result<(ProtocolVersion, &'static str), Error> {
    let (min, max) = config.protocol;
    let params = StartupParams {
        user: &config.user,
        database: &config.dbname,
        application_name: &config.application_name,
        options: config.options.as_deref(),
        statement_timeout: config.liveness.statement_timeout,
        version: max,
    };
    let mut version = max;
    startup::startup_message(&params, wire.write_buf())?;
    wire.flush().await?;
    let policy = AuthPolicy { require_auth: config.require_auth.clone(), channel_binding: config.tls.channel_binding };
    let mut authenticator = Authenticator::new(&config.user, config.password.as_deref(), policy, link);
    loop {
        let message = match wire.next_startup_message().await? {
            StartupIncoming::Message(message) => message,
            StartupIncoming::Negotiate(body) => {
                version = startup::negotiated_version(&body, max, min)?;
                continue;
            }
            StartupIncoming::BackendKey(_) => {
                return Err(Error::protocol("BackendKeyData before authentication completed"));
            }
        };
        match message {
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
            | Message::AuthenticationScmCredential) => match authenticator.on_message(&message, wire.write_buf())? {
                AuthStep::Respond => wire.flush().await?,
                AuthStep::Wait => {}
                AuthStep::Done => return Ok((version, authenticator.method())),
            },
            _ => return Err(Error::protocol("unexpected message before authentication completed")),
        }
    }
}
