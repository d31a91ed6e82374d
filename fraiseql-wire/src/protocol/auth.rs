//! Startup and authentication: the messages we send and how we answer each challenge.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{self, SCRAM_SHA_256, SCRAM_SHA_256_PLUS, ScramSha256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use zeroize::Zeroizing;

use super::channel_binding::{ChannelBinding, NoBinding};
use super::require_auth::{AuthMethod, RequireAuth};
use crate::error::Error;

/// The most PBKDF2 iterations a server may ask of us: 24 times PostgreSQL's default of 4096, and the most that
/// `postgres-protocol` itself accepts (checked here first, for a message that says what happened). A hostile or
/// misconfigured server could otherwise pin a core on every connect.
pub(crate) const MAX_SCRAM_ITERATIONS: u32 = 100_000;

/// The largest message accepted before authentication completes. Nothing legitimate comes close; the cap
/// keeps an unauthenticated peer from making us buffer gigabytes.
pub(crate) const MAX_STARTUP_MESSAGE: usize = 64 * 1024;

/// What authentication needs to know about the connection it runs on.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// The TLS certificate's channel-binding data (or why there is none); `None` without TLS.
    pub(crate) tls: Option<Result<Vec<u8>, NoBinding>>,
    /// A Unix socket or the loopback interface: nothing between client and server can read the bytes.
    pub(crate) local: bool,
}

impl Link {
    /// An unencrypted link.
    pub(crate) fn plain(local: bool) -> Link {
        Link { tls: None, local }
    }
}

/// The user's rules for authentication.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthPolicy {
    /// The methods the server may use.
    pub(crate) require_auth: Option<RequireAuth>,
    /// Whether SCRAM must, may or must not bind to the TLS channel.
    pub(crate) channel_binding: ChannelBinding,
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
    /// The user's rules.
    policy: AuthPolicy,
    /// The connection underneath.
    link: Link,
    /// Whether the server has asked for any authentication yet.
    challenged: bool,
    /// The method the server asked for, as libpq's `require_auth` names it (for the connect span).
    method: &'static str,
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
    pub(crate) fn new(user: &str, password: Option<&str>, policy: AuthPolicy, link: Link) -> Self {
        Authenticator {
            user: user.to_owned(),
            password: password.map(|p| Zeroizing::new(p.to_owned())),
            scram: None,
            scram_started: false,
            policy,
            link,
            challenged: false,
            method: "none",
        }
    }

    /// The method the server asked for: `none` (trust), `password`, `md5`, `scram-sha-256`,
    /// `scram-sha-256-plus`, `gss` or `sspi`.
    pub(crate) fn method(&self) -> &'static str {
        self.method
    }

    /// Refuses `method` if `require_auth` or `channel_binding=require` does not allow it; `what` names it in the
    /// error.
    fn check_allowed(&self, method: AuthMethod, what: &str) -> Result<(), Error> {
        if self.policy.channel_binding == ChannelBinding::Require && method != AuthMethod::ScramSha256 {
            return Err(Error::ChannelBindingRequired {
                reason: if method == AuthMethod::None {
                    "the server accepted the connection without any authentication".to_owned()
                } else {
                    format!("the server asked for {what} instead of SCRAM-SHA-256-PLUS")
                },
            });
        }
        match &self.policy.require_auth {
            Some(allowed) if !allowed.allows(method) => {
                Err(Error::AuthMethodRefused { method: what.to_owned(), require_auth: allowed.to_string() })
            }
            _ => Ok(()),
        }
    }

    /// A cleartext password may cross only an encrypted or local link, unless the user named `password` in
    /// `require_auth`.
    fn check_cleartext(&self) -> Result<(), Error> {
        let named = self.policy.require_auth.as_ref().is_some_and(|r| r.names(AuthMethod::Password));
        if self.link.tls.is_none() && !self.link.local && !named {
            return Err(Error::CleartextPasswordRefused);
        }
        Ok(())
    }

    /// The SASL mechanism and channel binding to use, from what the server offers and the link.
    fn choose_scram(&self, offered: &[String]) -> Result<(&'static str, sasl::ChannelBinding), Error> {
        let plus_offered = offered.iter().any(|m| m == SCRAM_SHA_256_PLUS);
        let plain_offered = offered.iter().any(|m| m == SCRAM_SHA_256);
        let require = self.policy.channel_binding == ChannelBinding::Require;
        let refuse = |reason: String| Err(Error::ChannelBindingRequired { reason });
        let unsupported = || Err(Error::AuthUnsupported { method: format!("SASL ({})", offered.join(", ")) });
        let tls = match (&self.link.tls, self.policy.channel_binding) {
            (Some(tls), ChannelBinding::Prefer | ChannelBinding::Require) => tls,
            (None, ChannelBinding::Require) => {
                return refuse("the connection is not encrypted, so there is no TLS channel to bind to".to_owned());
            }
            // No TLS, or binding turned off: `n` says the client does not bind.
            _ if plain_offered => return Ok((SCRAM_SHA_256, sasl::ChannelBinding::unsupported())),
            _ => return unsupported(),
        };
        match tls {
            Ok(hash) if plus_offered => {
                Ok((SCRAM_SHA_256_PLUS, sasl::ChannelBinding::tls_server_end_point(hash.clone())))
            }
            Ok(_) if require => refuse(
                "the server did not offer SCRAM-SHA-256-PLUS (PostgreSQL 11 and later built with TLS offer it)"
                    .to_owned(),
            ),
            // The client could bind but the server did not offer to: `y` tells a server that did offer it (and had
            // its offer stripped by someone in between) to fail the exchange.
            Ok(_) if plain_offered => Ok((SCRAM_SHA_256, sasl::ChannelBinding::unrequested())),
            Err(no_binding) if require => refuse(format!(
                "the server's certificate is signed with {}, which has no hash for tls-server-end-point binding; \
                 the server needs an RSA or ECDSA certificate",
                no_binding.algorithm
            )),
            Err(no_binding) if plain_offered => {
                tracing::warn!(
                    algorithm = %no_binding.algorithm,
                    "the server's certificate allows no channel binding; SCRAM runs without it"
                );
                Ok((SCRAM_SHA_256, sasl::ChannelBinding::unsupported()))
            }
            _ => unsupported(),
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
            self.method = match message {
                Message::AuthenticationCleartextPassword => "password",
                Message::AuthenticationMd5Password(_) => "md5",
                Message::AuthenticationSasl(_) => "scram-sha-256",
                Message::AuthenticationSspi => "sspi",
                _ => "gss",
            };
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
                self.check_cleartext()?;
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
                let (mechanism, binding) = self.choose_scram(&offered)?;
                if mechanism == SCRAM_SHA_256_PLUS {
                    self.method = "scram-sha-256-plus";
                }
                let scram = ScramSha256::new(self.password()?, binding);
                frontend::sasl_initial_response(mechanism, scram.message(), out).map_err(password_error)?;
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
    Error::config(
        format!("the password or user name cannot be sent: {e}"),
        "remove NUL characters from the password and the user name",
    )
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

    fn require(methods: &RequireAuth) -> AuthPolicy {
        AuthPolicy { require_auth: Some(methods.clone()), ..AuthPolicy::default() }
    }

    fn binding_required() -> AuthPolicy {
        AuthPolicy { channel_binding: ChannelBinding::Require, ..AuthPolicy::default() }
    }

    fn tls_link(binding: Result<Vec<u8>, NoBinding>) -> Link {
        Link { tls: Some(binding), local: false }
    }

    /// The mechanism name and GS2 header of the SASLInitialResponse written to `out`.
    fn initial_response(out: &[u8]) -> (String, String) {
        let body = &out[5..];
        let nul = body.iter().position(|&b| b == 0).unwrap();
        let mechanism = String::from_utf8_lossy(&body[..nul]).into_owned();
        let data = String::from_utf8_lossy(&body[nul + 5..]).into_owned();
        let header = data.splitn(3, ',').take(2).collect::<Vec<_>>().join(",");
        (mechanism, header)
    }

    #[test]
    fn scram_plus_is_chosen_when_both_sides_can_bind() {
        let both = auth_message(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
        let plain_only = auth_message(10, b"SCRAM-SHA-256\0\0");
        let ed25519 = || Err(NoBinding { algorithm: "Ed25519".to_owned() });
        let cases = [
            (AuthPolicy::default(), tls_link(Ok(vec![1; 32])), &both, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,"),
            (AuthPolicy::default(), tls_link(Ok(vec![1; 32])), &plain_only, "SCRAM-SHA-256", "y,"),
            (AuthPolicy::default(), tls_link(ed25519()), &both, "SCRAM-SHA-256", "n,"),
            (AuthPolicy::default(), Link::plain(false), &both, "SCRAM-SHA-256", "n,"),
            (binding_required(), tls_link(Ok(vec![1; 32])), &both, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,"),
            (
                AuthPolicy { channel_binding: ChannelBinding::Disable, ..AuthPolicy::default() },
                tls_link(Ok(vec![1; 32])),
                &both,
                "SCRAM-SHA-256",
                "n,",
            ),
        ];
        for (policy, link, request, mechanism, header) in cases {
            let mut auth = Authenticator::new("alice", Some("secret"), policy, link);
            let mut out = BytesMut::new();
            assert_eq!(auth.on_message(request, &mut out).unwrap(), AuthStep::Respond);
            assert_eq!(initial_response(&out), (mechanism.to_owned(), header.to_owned()));
        }
    }

    #[test]
    fn channel_binding_require_refuses_everything_else() {
        let both = auth_message(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
        let plain_only = auth_message(10, b"SCRAM-SHA-256\0\0");
        let cases: [(Link, Message, &str); 6] = [
            (tls_link(Ok(vec![1; 32])), auth_message(3, &[]), "cleartext"),
            (tls_link(Ok(vec![1; 32])), auth_message(5, b"salt"), "MD5"),
            (tls_link(Ok(vec![1; 32])), Message::AuthenticationOk, "without any authentication"),
            (tls_link(Ok(vec![1; 32])), plain_only, "did not offer SCRAM-SHA-256-PLUS"),
            (
                tls_link(Err(NoBinding { algorithm: "Ed25519".to_owned() })),
                auth_message(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"),
                "Ed25519",
            ),
            (Link::plain(true), both, "not encrypted"),
        ];
        for (link, request, expected) in cases {
            let mut auth = Authenticator::new("alice", Some("secret"), binding_required(), link);
            let mut out = BytesMut::new();
            match auth.on_message(&request, &mut out) {
                Err(Error::ChannelBindingRequired { reason }) => assert!(reason.contains(expected), "{reason}"),
                other => panic!("{expected}: {other:?}"),
            }
            assert!(out.is_empty(), "{expected}: something was sent");
        }
    }

    #[test]
    fn cleartext_needs_an_encrypted_or_local_link_or_explicit_consent() {
        let request = Message::AuthenticationCleartextPassword;
        let remote = |policy| Authenticator::new("alice", Some("secret"), policy, Link::plain(false));
        let mut out = BytesMut::new();
        assert!(matches!(
            remote(AuthPolicy::default()).on_message(&request, &mut out),
            Err(Error::CleartextPasswordRefused)
        ));
        assert!(out.is_empty());
        let negated = require(&"!md5".parse().unwrap());
        assert!(matches!(remote(negated).on_message(&request, &mut out), Err(Error::CleartextPasswordRefused)));
        let named = require(&"password,scram-sha-256".parse().unwrap());
        assert_eq!(remote(named).on_message(&request, &mut out).unwrap(), AuthStep::Respond);
        let mut over_tls = Authenticator::new("alice", Some("secret"), AuthPolicy::default(), tls_link(Ok(vec![])));
        assert_eq!(over_tls.on_message(&request, &mut BytesMut::new()).unwrap(), AuthStep::Respond);
    }

    /// An authenticator that has started SCRAM.
    fn scram_started() -> Authenticator {
        let mut auth = Authenticator::new("alice", Some("secret"), AuthPolicy::default(), Link::plain(true));
        let start = auth_message(10, b"SCRAM-SHA-256\0\0");
        assert_eq!(auth.on_message(&start, &mut BytesMut::new()).unwrap(), AuthStep::Respond);
        auth
    }

    #[test]
    fn require_auth_refuses_before_answering() {
        let scram_only: RequireAuth = "scram-sha-256".parse().unwrap();
        for (kind, payload) in [(3, Vec::new()), (5, b"salt".to_vec())] {
            let mut auth = Authenticator::new("alice", Some("secret"), require(&scram_only), Link::plain(true));
            let mut out = BytesMut::new();
            let result = auth.on_message(&auth_message(kind, &payload), &mut out);
            assert!(matches!(result, Err(Error::AuthMethodRefused { .. })), "request {kind}: {result:?}");
            assert!(out.is_empty(), "request {kind}: the password went out");
        }
        let mut trusted = Authenticator::new("alice", None, require(&scram_only), Link::plain(true));
        let ok = trusted.on_message(&Message::AuthenticationOk, &mut BytesMut::new());
        assert!(matches!(ok, Err(Error::AuthMethodRefused { ref method, .. }) if method.contains("no authentication")));
        let mut anything_but_cleartext =
            Authenticator::new("alice", None, require(&"!password".parse().unwrap()), Link::plain(true));
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
                // The nonce may itself contain `r=`: take the attribute, which follows a comma.
                Some(scram) => {
                    let message = String::from_utf8_lossy(scram.message()).into_owned();
                    message.split_once(",r=").map(|(_, nonce)| nonce.to_owned()).unwrap_or_default()
                }
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
                let mut fresh = Authenticator::new("user", Some("password"), AuthPolicy::default(), Link::plain(false));
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
        let mut auth = Authenticator::new("alice", None, AuthPolicy::default(), Link::plain(true));
        let mut out = BytesMut::new();
        let err = auth.on_message(&Message::AuthenticationCleartextPassword, &mut out).unwrap_err();
        assert!(matches!(err, Error::PasswordMissing { ref user } if user == "alice"));
    }

    #[test]
    fn cleartext_sends_the_password() {
        let mut auth = Authenticator::new("alice", Some("secret"), AuthPolicy::default(), Link::plain(true));
        let mut out = BytesMut::new();
        assert_eq!(auth.on_message(&Message::AuthenticationCleartextPassword, &mut out).unwrap(), AuthStep::Respond);
        assert_eq!(&out[..], b"p\0\0\0\x0bsecret\0");
    }

    #[test]
    fn ok_without_scram_proof_is_refused() {
        let mut auth = Authenticator::new("alice", Some("secret"), AuthPolicy::default(), Link::plain(true));
        auth.scram = Some(ScramSha256::new(b"secret", sasl::ChannelBinding::unsupported()));
        assert!(auth.on_message(&Message::AuthenticationOk, &mut BytesMut::new()).is_err());
    }
}
