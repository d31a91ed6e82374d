//! `tls-server-end-point` channel binding (RFC 5929): the hash of the server's certificate that SCRAM-SHA-256-PLUS
//! mixes into its proof, so that a relay holding another certificate cannot pass the exchange on.
//!
//! The hash function is the one the certificate's own signature uses, upgraded to SHA-256 for MD5 and SHA-1.
//! Signatures without such a hash (Ed25519, Ed448, RSASSA-PSS, whose hash hides in parameters) have no binding:
//! the caller decides whether that is fatal (`channel_binding=require`) or means binding is not used.

use std::str::FromStr;

use ring::digest;

use crate::error::Error;

/// Whether SCRAM authentication binds itself to the TLS channel (`SCRAM-SHA-256-PLUS`), as libpq's
/// `channel_binding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    /// Never bind.
    Disable,
    /// Bind when the connection is encrypted and the server offers it (the default).
    #[default]
    Prefer,
    /// Authenticate only with SCRAM-SHA-256-PLUS over TLS: every other method, and no authentication at all, is
    /// refused. Proves that no one relays the session between client and server.
    Require,
}

impl ChannelBinding {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelBinding::Disable => "disable",
            ChannelBinding::Prefer => "prefer",
            ChannelBinding::Require => "require",
        }
    }
}

impl FromStr for ChannelBinding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "disable" => Ok(ChannelBinding::Disable),
            "prefer" => Ok(ChannelBinding::Prefer),
            "require" => Ok(ChannelBinding::Require),
            other => Err(Error::config(format!("invalid channel_binding `{other}`"), "use disable, prefer or require")),
        }
    }
}

/// Why a certificate gives no channel-binding data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NoBinding {
    /// The certificate's signature algorithm, as far as it could be read.
    pub(crate) algorithm: String,
}

/// The `tls-server-end-point` data for a DER certificate.
pub(crate) fn tls_server_end_point(cert_der: &[u8]) -> Result<Vec<u8>, NoBinding> {
    let oid = signature_algorithm(cert_der)
        .ok_or_else(|| NoBinding { algorithm: "unreadable (the certificate is not valid DER)".to_owned() })?;
    let algorithm = match Algorithm::from_oid(oid) {
        Some(algorithm) => algorithm,
        None => return Err(NoBinding { algorithm: format!("unknown (OID {})", dotted(oid)) }),
    };
    let hash = match algorithm.hash {
        Some(hash) => hash,
        None => return Err(NoBinding { algorithm: algorithm.name.to_owned() }),
    };
    Ok(digest::digest(hash, cert_der).as_ref().to_vec())
}

struct Algorithm {
    name: &'static str,
    hash: Option<&'static digest::Algorithm>,
}

impl Algorithm {
    fn from_oid(oid: &[u8]) -> Option<Algorithm> {
        const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
        const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
        const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
        let (name, hash) = match oid {
            [prefix @ .., last] if prefix == RSA => match last {
                0x04 => ("md5WithRSAEncryption", Some(&digest::SHA256)),
                0x05 => ("sha1WithRSAEncryption", Some(&digest::SHA256)),
                0x0b => ("sha256WithRSAEncryption", Some(&digest::SHA256)),
                0x0c => ("sha384WithRSAEncryption", Some(&digest::SHA384)),
                0x0d => ("sha512WithRSAEncryption", Some(&digest::SHA512)),
                0x0a => ("RSASSA-PSS", None),
                0x0e => ("sha224WithRSAEncryption", None),
                _ => return None,
            },
            [prefix @ .., last] if prefix == ECDSA_SHA2 => match last {
                0x02 => ("ecdsa-with-SHA256", Some(&digest::SHA256)),
                0x03 => ("ecdsa-with-SHA384", Some(&digest::SHA384)),
                0x04 => ("ecdsa-with-SHA512", Some(&digest::SHA512)),
                0x01 => ("ecdsa-with-SHA224", None),
                _ => return None,
            },
            _ if oid == ECDSA_SHA1 => ("ecdsa-with-SHA1", Some(&digest::SHA256)),
            [0x2b, 0x65, 0x70] => ("Ed25519", None),
            [0x2b, 0x65, 0x71] => ("Ed448", None),
            _ => return None,
        };
        Some(Algorithm { name, hash })
    }
}

/// The OID of `Certificate.signatureAlgorithm`: `SEQUENCE { tbsCertificate, SEQUENCE { OID, … }, BIT STRING }`.
fn signature_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = element(der, SEQUENCE)?;
    let (_tbs, rest) = any_element(certificate)?;
    let (algorithm, _) = element(rest, SEQUENCE)?;
    let (oid, _) = element(algorithm, OID)?;
    Some(oid)
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;

/// The contents of the element at the start of `der` if its tag is `tag`, and what follows it.
fn element(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *der.first()? != tag {
        return None;
    }
    any_element(der)
}

/// The contents of the element at the start of `der`, whatever its tag, and what follows it (DER lengths: short
/// form, or long form of up to four bytes).
fn any_element(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = *der.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = der.get(2..2 + count)?;
        (bytes.iter().fold(0usize, |len, &b| (len << 8) | usize::from(b)), 2 + count)
    };
    let end = header.checked_add(len)?;
    Some((der.get(header..end)?, der.get(end..)?))
}

fn dotted(oid: &[u8]) -> String {
    oid.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A minimal certificate-shaped DER value with the given signature algorithm OID.
    fn cert_with(oid: &[u8]) -> Vec<u8> {
        let tbs = [0x30, 0x03, 0x02, 0x01, 0x01];
        let mut algorithm = vec![0x06, oid.len() as u8];
        algorithm.extend_from_slice(oid);
        let mut body = tbs.to_vec();
        body.push(0x30);
        body.push(algorithm.len() as u8);
        body.extend_from_slice(&algorithm);
        body.extend_from_slice(&[0x03, 0x02, 0x00, 0xff]);
        let mut der = vec![0x30, 0x81, body.len() as u8];
        der.extend_from_slice(&body);
        der
    }

    #[test]
    fn hash_follows_the_signature_algorithm() {
        let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        let sha384_ecdsa = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
        let sha1_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
        for (oid, len) in [(&sha256_rsa[..], 32), (&sha384_ecdsa[..], 48), (&sha1_rsa[..], 32)] {
            let der = cert_with(oid);
            let hash = tls_server_end_point(&der).unwrap();
            assert_eq!(hash.len(), len);
            let expected = if len == 48 { &digest::SHA384 } else { &digest::SHA256 };
            assert_eq!(hash, digest::digest(expected, &der).as_ref());
        }
    }

    #[test]
    fn signatures_without_a_hash_have_no_binding() {
        assert_eq!(tls_server_end_point(&cert_with(&[0x2b, 0x65, 0x70])).unwrap_err().algorithm, "Ed25519");
        assert!(tls_server_end_point(&cert_with(&[0x2b, 0x06, 0x01])).unwrap_err().algorithm.contains("unknown"));
        assert!(tls_server_end_point(b"\x30\x85garbage").is_err());
        assert!(tls_server_end_point(b"").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = tls_server_end_point(&bytes);
        }
    }
}
