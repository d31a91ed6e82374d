//! Startup and authentication: the messages we send and how we answer each challenge.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use zeroize::Zeroizing;

use super::require_auth::{AuthMethod, RequireAuth};
use crate::error::Error;

/// The most PBKDF2 iterations a server may ask of us: 24 times PostgreSQL's default of 4096, and the most that
/// `postgres-protocol` itself accepts (checked here first, for a message that says what happened). A hostile or
/// misconfigured server could otherwise pin a core on every connect.
pub(crate) const MAX_SCRAM_ITERATIONS: u32 = 100_000;

/// The largest message accepted before authentication completes. Nothing legitimate comes close; the cap
/// keeps an unauthenticated peer from making us buffer gigabytes.
pub(crate) const MAX_STARTUP_MESSAGE: usize = 64 * 1024;

/// Startup parameters sent to the server.
pub(crate) struct StartupParams<'a> {
    pub(crate) user: &'a str,
    pub(crate) database: &'a str,
    pub(crate) application_name: &'a str,
    pub(crate) options: Option<&'a str>,
}

/// Writes the StartupMessage. We always ask for UTF8 so that every value we hand out is valid UTF-8 JSON.
pub(crate) fn startup_message(params: &StartupParams<'_>, out: &mut BytesMut) -> Result<(), Error> {
    let mut pairs = vec![
        ("user", params.user),
        ("database", params.database),
        ("application_name", params.application_name),
        ("client_encoding", "UTF8"),
    ];
    if let Some(options) = params.options {
        pairs.push(("options", options));
    }
    frontend::startup_message(pairs, out).map_err(|e| Error::config(format!("invalid startup parameter: {e}")))
}

/// Answers the server's authentication requests until it says `AuthenticationOk`.
pub(crate) struct Authenticator {
    user: String,
    /// Zeroed when the authenticator is dropped. (SCRAM's own derived state lives inside `postgres-protocol`,
    /// which does not zero it.)
    password: Option<Zeroizing<String>>,
    scram: Option<ScramSha256>,
    /// Set once SCRAM has begun, and never cleared: from then on no other method may be asked for.
    scram_started: bool,
    /// The methods the user lets the server use.
    require_auth: Option<RequireAuth>,
    /// Whether the server has asked for any authentication yet.
    challenged: bool,
}

/// What to do after an authentication message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AuthStep {
    /// A response was written to the output buffer: send it and wait for the next message.
    Respond,
    /// The server sent something that needs no answer (SASL final): wait for the next message.
    Wait,
    /// Authentication succeeded.
    Done,
}

impl Authenticator {
    pub(crate) fn new(user: &str, password: Option<&str>, require_auth: Option<RequireAuth>) -> Self {
        Authenticator {
            user: user.to_owned(),
            password: password.map(|p| Zeroizing::new(p.to_owned())),
            scram: None,
            scram_started: false,
            require_auth,
            challenged: false,
        }
    }

    /// Refuses `method` if `require_auth` does not allow it; `what` names it in the error.
    fn check_allowed(&self, method: AuthMethod, what: &str) -> Result<(), Error> {
        match &self.require_auth {
            Some(allowed) if !allowed.allows(method) => {
                Err(Error::AuthMethodRefused { method: what.to_owned(), require_auth: allowed.to_string() })
            }
            _ => Ok(()),
        }
    }

    /// The `require_auth` method a request is, and how to name it; `None` for what is not a request.
    fn requested(message: &Message) -> Option<(AuthMethod, &'static str)> {
        Some(match message {
            Message::AuthenticationCleartextPassword => (AuthMethod::Password, "a cleartext password"),
            Message::AuthenticationMd5Password(_) => (AuthMethod::Md5, "an MD5 password"),
            Message::AuthenticationSasl(_) => (AuthMethod::ScramSha256, "SASL (SCRAM) authentication"),
            Message::AuthenticationGss | Message::AuthenticationGssContinue(_) => (AuthMethod::Gss, "GSSAPI"),
            Message::AuthenticationSspi => (AuthMethod::Sspi, "SSPI"),
            _ => return None,
        })
    }

    fn password(&self) -> Result<&[u8], Error> {
        self.password.as_deref().map(String::as_bytes).ok_or_else(|| Error::PasswordMissing { user: self.user.clone() })
    }

    /// Handles one authentication message; anything else is the caller's business.
    pub(crate) fn on_message(&mut self, message: &Message, out: &mut BytesMut) -> Result<AuthStep, Error> {
        // A server that begins SCRAM and then asks for the password itself (in clear or MD5-hashed), or starts over,
        // is fishing for it: refused before anything is written.
        if self.scram_started {
            let other = match message {
                Message::AuthenticationCleartextPassword => Some("a cleartext password"),
                Message::AuthenticationMd5Password(_) => Some("an MD5 password"),
                Message::AuthenticationSasl(_) => Some("a new SASL exchange"),
                Message::AuthenticationGss | Message::AuthenticationGssContinue(_) => Some("GSSAPI"),
                Message::AuthenticationSspi => Some("SSPI"),
                Message::AuthenticationKerberosV5 => Some("Kerberos V5"),
                Message::AuthenticationScmCredential => Some("SCM credentials"),
                _ => None,
            };
            if let Some(other) = other {
                return Err(server_authentication(&format!(
                    "it began SCRAM authentication, then asked for {other}; nothing was sent"
                )));
            }
        }
        if let Some((method, what)) = Self::requested(message) {
            // Continuations of an exchange the server was allowed to begin are not checked again.
            if !self.challenged || !matches!(message, Message::AuthenticationGssContinue(_)) {
                self.check_allowed(method, what)?;
            }
            self.challenged = true;
        }
        match message {
            Message::AuthenticationOk => {
                if !self.challenged {
                    self.check_allowed(AuthMethod::None, "no authentication at all")?;
                }
                if self.scram.is_some() {
                    return Err(server_authentication("it ended SCRAM authentication without proving itself"));
                }
                Ok(AuthStep::Done)
            }
            Message::AuthenticationCleartextPassword => {
                frontend::password_message(self.password()?, out).map_err(password_error)?;
                Ok(AuthStep::Respond)
            }
            Message::AuthenticationMd5Password(body) => {
                let hash = md5_hash(self.user.as_bytes(), self.password()?, body.salt());
                frontend::password_message(hash.as_bytes(), out).map_err(password_error)?;
                Ok(AuthStep::Respond)
            }
            Message::AuthenticationSasl(body) => {
                let mut mechanisms = body.mechanisms();
                let mut offered = Vec::new();
                while let Some(mechanism) = mechanisms.next().map_err(|e| malformed("SASL mechanism list", e))? {
                    offered.push(mechanism.to_owned());
                }
                if !offered.iter().any(|m| m == SCRAM_SHA_256) {
                    return Err(Error::AuthUnsupported { method: format!("SASL ({})", offered.join(", ")) });
                }
                // Without TLS there is no channel to bind to; "unsupported" tells the server so honestly.
                let scram = ScramSha256::new(self.password()?, ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, scram.message(), out).map_err(password_error)?;
                self.scram = Some(scram);
                self.scram_started = true;
                Ok(AuthStep::Respond)
            }
            Message::AuthenticationSaslContinue(body) => {
                let scram = self.scram.as_mut().ok_or_else(|| Error::protocol("SASL continue without SASL start"))?;
                let iterations = scram_iterations(body.data())?;
                if !(1..=MAX_SCRAM_ITERATIONS).contains(&iterations) {
                    return Err(server_authentication(&format!(
                        "it asked for {iterations} SCRAM iterations, outside 1 to {MAX_SCRAM_ITERATIONS}"
                    )));
                }
                scram.update(body.data()).map_err(|e| malformed("SCRAM server-first message", e))?;
                frontend::sasl_response(scram.message(), out).map_err(password_error)?;
                Ok(AuthStep::Respond)
            }
            Message::AuthenticationSaslFinal(body) => {
                let mut scram = self.scram.take().ok_or_else(|| Error::protocol("SASL final without SASL start"))?;
                scram
                    .finish(body.data())
                    .map_err(|e| server_authentication(&format!("its SCRAM proof does not verify ({e})")))?;
                Ok(AuthStep::Wait)
            }
            Message::AuthenticationGss | Message::AuthenticationGssContinue(_) => unsupported("GSSAPI"),
            Message::AuthenticationSspi => unsupported("SSPI"),
            Message::AuthenticationKerberosV5 => unsupported("Kerberos V5"),
            Message::AuthenticationScmCredential => unsupported("SCM credential"),
            _ => Err(Error::protocol("unexpected message during authentication")),
        }
    }
}

fn server_authentication(reason: &str) -> Error {
    Error::ServerAuthentication { reason: reason.to_owned() }
}

fn unsupported(method: &str) -> Result<AuthStep, Error> {
    Err(Error::AuthUnsupported { method: method.to_owned() })
}

fn password_error(e: std::io::Error) -> Error {
    Error::config(format!("the password or user name cannot be sent: {e}"))
}

fn malformed(what: &str, e: std::io::Error) -> Error {
    Error::protocol(format!("malformed {what}: {e}"))
}

/// The iteration count (`i=`) of a SCRAM server-first message.
fn scram_iterations(server_first: &[u8]) -> Result<u32, Error> {
    let text = std::str::from_utf8(server_first).map_err(|_| Error::protocol("SCRAM server-first is not UTF-8"))?;
    text.split(',')
        .find_map(|attr| attr.strip_prefix("i="))
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| Error::protocol("SCRAM server-first message has no valid iteration count"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// An authentication request as the server sends it: `R`, length, kind, payload.
    fn auth_message(kind: u32, payload: &[u8]) -> Message {
        let mut raw = BytesMut::new();
        raw.extend_from_slice(b"R");
        raw.extend_from_slice(&((payload.len() + 8) as u32).to_be_bytes());
        raw.extend_from_slice(&kind.to_be_bytes());
        raw.extend_from_slice(payload);
        match Message::parse(&mut raw) {
            Ok(Some(message)) => message,
            _ => panic!("not a message"),
        }
    }

    /// An authenticator that has started SCRAM.
    fn scram_started() -> Authenticator {
        let mut auth = Authenticator::new("alice", Some("secret"), None);
        let start = auth_message(10, b"SCRAM-SHA-256\0\0");
        assert_eq!(auth.on_message(&start, &mut BytesMut::new()).unwrap(), AuthStep::Respond);
        auth
    }

    #[test]
    fn require_auth_refuses_before_answering() {
        let scram_only: RequireAuth = "scram-sha-256".parse().unwrap();
        for (kind, payload) in [(3, Vec::new()), (5, b"salt".to_vec())] {
            let mut auth = Authenticator::new("alice", Some("secret"), Some(scram_only.clone()));
            let mut out = BytesMut::new();
            let result = auth.on_message(&auth_message(kind, &payload), &mut out);
            assert!(matches!(result, Err(Error::AuthMethodRefused { .. })), "request {kind}: {result:?}");
            assert!(out.is_empty(), "request {kind}: the password went out");
        }
        let mut trusted = Authenticator::new("alice", None, Some(scram_only));
        let ok = trusted.on_message(&Message::AuthenticationOk, &mut BytesMut::new());
        assert!(matches!(ok, Err(Error::AuthMethodRefused { ref method, .. }) if method.contains("no authentication")));
        let mut anything_but_cleartext = Authenticator::new("alice", None, Some("!password".parse().unwrap()));
        assert_eq!(
            anything_but_cleartext.on_message(&Message::AuthenticationOk, &mut BytesMut::new()).unwrap(),
            AuthStep::Done
        );
    }

    #[test]
    fn no_other_method_after_scram_has_begun() {
        let requests = [
            (3, Vec::new()),
            (5, b"salt".to_vec()),
            (10, b"SCRAM-SHA-256\0\0".to_vec()),
            (7, Vec::new()),
            (9, Vec::new()),
        ];
        for (kind, payload) in requests {
            let mut auth = scram_started();
            let mut out = BytesMut::new();
            match auth.on_message(&auth_message(kind, &payload), &mut out) {
                Err(Error::ServerAuthentication { reason }) => assert!(reason.contains("began SCRAM"), "{reason}"),
                other => panic!("request {kind} after SCRAM began: {other:?}"),
            }
            assert!(out.is_empty(), "request {kind}: something was written: {out:?}");
        }
    }

    #[test]
    fn scram_iteration_counts_outside_one_to_the_cap_are_refused() {
        for (iterations, refused) in [(0, true), (1, false), (4096, false), (100_001, true)] {
            let mut auth = scram_started();
            let nonce = match &auth.scram {
                Some(scram) => String::from_utf8_lossy(scram.message()).split("r=").nth(1).unwrap_or("").to_owned(),
                None => panic!("SCRAM started"),
            };
            let first = format!("r={nonce}server,s=c2FsdA==,i={iterations}");
            let result = auth.on_message(&auth_message(11, first.as_bytes()), &mut BytesMut::new());
            match result {
                Err(Error::ServerAuthentication { reason }) if refused => {
                    assert!(reason.contains(&iterations.to_string()), "{reason}");
                }
                Ok(AuthStep::Respond) if !refused => {}
                other => panic!("{iterations} iterations: {other:?}"),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn backend_messages_never_panic_the_authenticator(tag in prop_oneof![Just(b'R'), any::<u8>()],
                                                            kind in 0u32..12,
                                                            body in proptest::collection::vec(any::<u8>(), 0..48)) {
            // An authentication request of any kind with arbitrary payload, as a hostile server could send it.
            let mut raw = BytesMut::new();
            let mut payload = kind.to_be_bytes().to_vec();
            payload.extend_from_slice(&body);
            raw.extend_from_slice(&[tag]);
            raw.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
            raw.extend_from_slice(&payload);
            if let Ok(Some(message)) = Message::parse(&mut raw) {
                // Once fresh, and once after a SASL start, so SCRAM challenges reach the SCRAM parser.
                let mut fresh = Authenticator::new("user", Some("password"), None);
                let _ = fresh.on_message(&message, &mut BytesMut::new());
                let mut sasl = scram_started();
                let _ = sasl.on_message(&message, &mut BytesMut::new());
            }
        }
    }

    #[test]
    fn iterations_are_read_from_server_first() {
        assert_eq!(scram_iterations(b"r=abc,s=c2FsdA==,i=4096").unwrap(), 4096);
        assert!(scram_iterations(b"r=abc,s=c2FsdA==").is_err());
        assert!(scram_iterations(b"r=abc,s=c2FsdA==,i=-1").is_err());
    }

    #[test]
    fn password_is_required_for_cleartext() {
        let mut auth = Authenticator::new("alice", None, None);
        let mut out = BytesMut::new();
        let err = auth.on_message(&Message::AuthenticationCleartextPassword, &mut out).unwrap_err();
        assert!(matches!(err, Error::PasswordMissing { ref user } if user == "alice"));
    }

    #[test]
    fn cleartext_sends_the_password() {
        let mut auth = Authenticator::new("alice", Some("secret"), None);
        let mut out = BytesMut::new();
        assert_eq!(auth.on_message(&Message::AuthenticationCleartextPassword, &mut out).unwrap(), AuthStep::Respond);
        assert_eq!(&out[..], b"p\0\0\0\x0bsecret\0");
    }

    #[test]
    fn ok_without_scram_proof_is_refused() {
        let mut auth = Authenticator::new("alice", Some("secret"), None);
        auth.scram = Some(ScramSha256::new(b"secret", ChannelBinding::unsupported()));
        assert!(auth.on_message(&Message::AuthenticationOk, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn startup_message_asks_for_utf8() {
        let mut out = BytesMut::new();
        let params = StartupParams { user: "u", database: "d", application_name: "app", options: None };
        startup_message(&params, &mut out).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("client_encoding\0UTF8\0"), "{text:?}");
        assert!(text.contains("application_name\0app\0"), "{text:?}");
    }
}
