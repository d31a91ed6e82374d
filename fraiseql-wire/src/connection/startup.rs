//! Opening a session: the first host that answers, then startup and authentication.

use postgres_protocol::message::backend::Message;

use super::cancel::CancelToken;
use super::transport::Transport;
use super::wire::Wire;
use crate::config::{Resolved, Target};
use crate::error::{DbError, Error};
use crate::protocol::auth::{self, AuthStep, Authenticator, StartupParams};

/// A connection that has authenticated and is ready for its first query.
pub(crate) struct Opened {
    pub(crate) wire: Wire,
    pub(crate) cancel: Option<CancelToken>,
}

/// Connects to the first target that answers, then authenticates.
pub(crate) async fn open(config: &Resolved) -> Result<Opened, Error> {
    let mut last_error = None;
    for target in &config.targets {
        let attempt = open_target(config, target);
        let result = match config.connect_timeout {
            Some(timeout) => tokio::time::timeout(timeout, attempt)
                .await
                .unwrap_or_else(|_| Err(Error::ConnectTimeout { target: target.to_string(), timeout })),
            None => attempt.await,
        };
        match result {
            Ok(opened) => return Ok(opened),
            // Like libpq, an unreachable host moves on to the next one; a refusal by a server that answered (bad
            // password, missing database, a server that fails to authenticate itself) would only repeat, so it is
            // returned at once.
            Err(error) if error.is_connection_error() => {
                tracing::debug!(%target, %error, "connection attempt failed");
                last_error = Some(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::config("no host to connect to")))
}

async fn open_target(config: &Resolved, target: &Target) -> Result<Opened, Error> {
    let io = Transport::open(target).await?;
    let mut wire = Wire::new(io, config.max_row_bytes);
    authenticate(&mut wire, config).await?;
    wire.authenticated();
    let mut cancel = None;
    loop {
        match wire.next_message().await? {
            Message::BackendKeyData(body) => {
                cancel = Some(CancelToken {
                    target: target.clone(),
                    process_id: body.process_id(),
                    secret_key: body.secret_key(),
                });
            }
            Message::ReadyForQuery(_) => return Ok(Opened { wire, cancel }),
            Message::ErrorResponse(body) => return Err(DbError::from_fields(body.fields())?.into()),
            _ => return Err(Error::protocol("unexpected message while the session was starting")),
        }
    }
}

async fn authenticate(wire: &mut Wire, config: &Resolved) -> Result<(), Error> {
    let params = StartupParams {
        user: &config.user,
        database: &config.dbname,
        application_name: &config.application_name,
        options: config.options.as_deref(),
    };
    auth::startup_message(&params, wire.write_buf())?;
    wire.flush().await?;
    let mut authenticator = Authenticator::new(&config.user, config.password.as_deref(), config.require_auth.clone());
    loop {
        match wire.next_message().await? {
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
                AuthStep::Done => return Ok(()),
            },
            _ => return Err(Error::protocol("unexpected message before authentication completed")),
        }
    }
}
