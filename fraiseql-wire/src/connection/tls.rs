//! TLS over a TCP connection: certificate loading, libpq's three levels of server verification, the SSLRequest
//! exchange and direct TLS.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::{ClientCert, RootCert, SslMode, SslNegotiation, TlsSettings, TlsVersion};
use crate::error::{Error, TlsFailure};
use crate::protocol::channel_binding::{self, NoBinding};

/// The protocol name direct TLS announces with ALPN; PostgreSQL 17+ refuses direct TLS without it.
const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// The SSLRequest message: length 8, then the magic code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// How much of the server's certificate is checked, as libpq decides it from `sslmode` and `sslrootcert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Encryption only: any certificate is accepted (`require`, `prefer` and `allow` without a root file).
    Nothing,
    /// The chain must lead to a trusted root; the name is not checked (`verify-ca`, or a weaker mode with a root
    /// certificate file present).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// Everything needed to run a TLS handshake with the user's settings; built once per connection attempt round
/// and shared with the cancel requests of the sessions it opens.
pub(crate) struct TlsConnector {
    config: Arc<ClientConfig>,
    negotiation: SslNegotiation,
    verification: Verification,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("negotiation", &self.negotiation)
            .field("verification", &self.verification)
            .finish_non_exhaustive()
    }
}

/// A TLS session and what authentication needs from it.
pub(crate) struct Established {
    pub(crate) stream: TlsStream<TcpStream>,
    /// The `tls-server-end-point` data of the server's certificate, or why there is none.
    pub(crate) binding: Result<Vec<u8>, NoBinding>,
}

impl TlsConnector {
    /// Reads the certificate files the settings name and builds the TLS configuration.
    pub(crate) fn new(settings: &TlsSettings) -> Result<TlsConnector, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = load_roots(settings)?;
        let verification = match (settings.mode, &roots) {
            (SslMode::VerifyFull, _) => Verification::Full,
            (SslMode::VerifyCa, _) | (_, Some(_)) => Verification::Chain,
            _ => Verification::Nothing,
        };
        let chain = match roots {
            None => None,
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider)).build().map_err(
                    |e| {
                        Error::config(
                            format!("the root certificates cannot be used: {e}"),
                            "name a file of PEM CA certificates in sslrootcert",
                        )
                    },
                )?,
            ),
        };
        let verifier = Arc::new(LibpqVerifier {
            chain,
            check_name: verification == Verification::Full,
            provider: Arc::clone(&provider),
        });
        let versions: Vec<&'static rustls::SupportedProtocolVersion> =
            [(TlsVersion::Tls12, &rustls::version::TLS12), (TlsVersion::Tls13, &rustls::version::TLS13)]
                .into_iter()
                .filter(|(v, _)| settings.min_version.is_none_or(|min| *v >= min))
                .filter(|(v, _)| settings.max_version.is_none_or(|max| *v <= max))
                .map(|(_, version)| version)
                .collect();
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| {
                Error::config(
                    format!("the TLS versions cannot be used: {e}"),
                    "widen ssl_min_protocol_version and ssl_max_protocol_version (TLSv1.2, TLSv1.3)",
                )
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &settings.client_cert {
            Some(client) => {
                let (chain, key) = load_client_cert(client)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    Error::config(
                        format!(
                            "the client certificate {} and key {} do not go together: {e}",
                            client.cert.display(),
                            client.key.display()
                        ),
                        "point sslcert and sslkey at a certificate and the private key it was issued for",
                    )
                })?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
        config.enable_sni = settings.sni;
        Ok(TlsConnector { config: Arc::new(config), negotiation: settings.negotiation, verification })
    }

    /// Starts TLS on a fresh TCP connection to `host`: asks with SSLRequest first, or starts at once with direct
    /// negotiation. `Ok(None)` means the server declined (it answered `N`); the stream is then still usable in
    /// plaintext.
    pub(crate) async fn start(
        &self,
        mut tcp: TcpStream,
        host: &str,
        target: &str,
    ) -> Result<Result<Established, TcpStream>, Error> {
        if self.negotiation == SslNegotiation::Postgres && !ssl_request(&mut tcp).await? {
            return Ok(Err(tcp));
        }
        self.handshake(tcp, host, target).await.map(Ok)
    }

    async fn handshake(&self, tcp: TcpStream, host: &str, target: &str) -> Result<Established, Error> {
        let name = ServerName::try_from(host.to_owned()).map_err(|_| {
            Error::config(
                format!("`{host}` is not a valid host name for TLS"),
                "name the server by a DNS name or an IP address, or give its address in hostaddr beside its name",
            )
        })?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
            .map_err(|e| handshake_error(target, e))?;
        let session = stream.get_ref().1;
        if self.negotiation == SslNegotiation::Direct && session.alpn_protocol() != Some(ALPN_POSTGRESQL) {
            return Err(Error::Tls {
                target: target.to_owned(),
                failure: TlsFailure::NoAlpn,
                reason: "the server did not agree to ALPN protocol `postgresql` for direct TLS".to_owned(),
            });
        }
        let binding = match session.peer_certificates().and_then(|chain| chain.first()) {
            Some(cert) => channel_binding::tls_server_end_point(cert.as_ref()),
            None => Err(NoBinding { algorithm: "none (the server sent no certificate)".to_owned() }),
        };
        Ok(Established { stream, binding })
    }
}

/// Sends SSLRequest and reads the answer: `true` for `S`, `false` for `N`.
///
/// Exactly one byte is read. Bytes already waiting behind the `S` were sent before the handshake and may come
/// from someone in the middle: they are refused (CVE-2021-23222). An `E` (an error message, as servers before 7.0
/// sent) is never read or shown, since anyone on the path could have written it, and never leads to a plaintext
/// retry (CVE-2024-10977).
async fn ssl_request(tcp: &mut TcpStream) -> Result<bool, Error> {
    tcp.write_all(&SSL_REQUEST).await.map_err(Error::lost)?;
    let answer = tcp.read_u8().await.map_err(Error::lost)?;
    match answer {
        b'S' => {
            let mut extra = [0u8; 1];
            match tcp.try_read(&mut extra) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
                Ok(0) => Err(Error::lost(io::Error::from(io::ErrorKind::UnexpectedEof))),
                Ok(_) => Err(Error::protocol(
                    "the server sent data after agreeing to TLS and before the handshake; it may have been injected \
                     by someone on the network path (CVE-2021-23222), so the connection was closed",
                )),
                Err(e) => Err(Error::lost(e)),
            }
        }
        b'N' => Ok(false),
        b'E' => Err(Error::protocol(
            "the server answered the TLS request with an error message, which was not read: only servers older \
             than PostgreSQL 7.0 or an attacker on the network path answer this way (CVE-2024-10977)",
        )),
        other => Err(Error::protocol(format!(
            "the server answered the TLS request with byte {other:#04x} instead of `S` or `N`"
        ))),
    }
}

fn load_roots(settings: &TlsSettings) -> Result<Option<RootCertStore>, Error> {
    let mut store = RootCertStore::empty();
    match &settings.root_cert {
        Some(RootCert::System) => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(Error::config(
                    format!(
                        "sslrootcert=system found no usable root certificate in the operating system's store{}",
                        found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default()
                    ),
                    "install the CA certificates package (ca-certificates) or name a file in sslrootcert",
                ));
            }
            Ok(Some(store))
        }
        Some(RootCert::File(path)) if path.exists() => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    Error::config(
                        format!("could not read the root certificates in {}: {e}", path.display()),
                        "check that sslrootcert names a readable PEM file",
                    )
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::config(
                    format!("{} holds no usable PEM certificate", path.display()),
                    "sslrootcert must name the CA certificate(s) that signed the server's certificate, in PEM",
                ));
            }
            Ok(Some(store))
        }
        missing if matches!(settings.mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
            let file = match missing {
                Some(RootCert::File(path)) => format!("the root certificate file {} does not exist", path.display()),
                _ => {
                    "no root certificate file is set (sslrootcert) and ~/.postgresql/root.crt does not exist".to_owned()
                }
            };
            Err(Error::config(
                format!("sslmode={} checks the server's certificate, but {file}", settings.mode.as_str()),
                "name the CA certificate in sslrootcert, use the operating system's roots with sslrootcert=system, \
                 or use sslmode=require to encrypt without checking",
            ))
        }
        // libpq: without a root file, the weaker modes encrypt without checking.
        _ => Ok(None),
    }
}

fn load_client_cert(client: &ClientCert) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let chain = CertificateDer::pem_file_iter(&client.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::config(
                format!("could not read the client certificate {}: {e}", client.cert.display()),
                "check that sslcert names a readable PEM file, or remove sslcert",
            )
        })?;
    if chain.is_empty() {
        return Err(Error::config(
            format!("{} holds no PEM certificate (sslcert)", client.cert.display()),
            "point sslcert at the client certificate, in PEM",
        ));
    }
    check_key_permissions(&client.key)?;
    let key = PrivateKeyDer::from_pem_file(&client.key).map_err(|e| {
        Error::config(
            format!("could not read the private key {} (sslkey): {e}", client.key.display()),
            "sslkey must name an unencrypted PEM key (PKCS#8, PKCS#1 or SEC1); decrypt one with \
             `openssl pkey -in key.enc -out key.pem`",
        )
    })?;
    Ok((chain, key))
}

/// libpq's rule: a private key readable by group or others is refused (0640 is tolerated for root-owned keys).
#[cfg(unix)]
fn check_key_permissions(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::config(
            format!("could not read the private key {} (sslkey): {e}", path.display()),
            "check that sslkey names a file this process can read",
        )
    })?;
    let mode = meta.mode() & 0o777;
    let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
    if mode & !allowed != 0 {
        return Err(Error::config(
            format!("the private key {} has permissions {mode:03o}", path.display()),
            "a private key must be readable by its owner only: chmod 600 it (0640 is allowed for a key root owns)",
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_permissions(_: &Path) -> Result<(), Error> {
    Ok(())
}

/// Maps a failed handshake to an error that names the cause.
pub(crate) fn handshake_error(target: &str, error: io::Error) -> Error {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => tls_error(target, tls),
        None => Error::Tls {
            target: target.to_owned(),
            failure: TlsFailure::Handshake,
            reason: format!("the connection failed during the handshake: {error}"),
        },
    }
}

/// Names the cause of a TLS failure.
pub(crate) fn tls_error(target: &str, error: &rustls::Error) -> Error {
    use rustls::AlertDescription as Alert;
    let failure = match error {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => TlsFailure::HostnameMismatch,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        ) => TlsFailure::ExpiredCertificate,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => TlsFailure::UntrustedCertificate,
        rustls::Error::InvalidCertificate(_) => TlsFailure::InvalidCertificate,
        rustls::Error::AlertReceived(
            Alert::UnknownCA
            | Alert::BadCertificate
            | Alert::CertificateExpired
            | Alert::CertificateRequired
            | Alert::CertificateUnknown
            | Alert::CertificateRevoked
            | Alert::UnsupportedCertificate,
        ) => TlsFailure::ClientCertificateRefused,
        rustls::Error::AlertReceived(Alert::NoApplicationProtocol) => TlsFailure::NoAlpn,
        _ => TlsFailure::Handshake,
    };
    Error::Tls { target: target.to_owned(), failure, reason: error.to_string() }
}

/// libpq's three verification levels in one verifier: no check of the certificate (`require` without a root
/// file), the chain only (`verify-ca`), or the chain and the name (`verify-full`). The handshake's signatures are
/// checked in every case, so the session is bound to the certificate presented.
#[derive(Debug)]
struct LibpqVerifier {
    /// The WebPKI verifier over the trusted roots; `None` when nothing is checked.
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // WebPKI checks the chain before the name, so a name error means the chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
