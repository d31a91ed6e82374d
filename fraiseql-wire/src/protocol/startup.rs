//! The messages around authentication that depend on the protocol version: StartupMessage,
//! NegotiateProtocolVersion, BackendKeyData (whose secret grew from 4 bytes to up to 256 in protocol 3.2) and
//! CancelRequest.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};
use zeroize::Zeroizing;

use crate::error::Error;

/// A version of the frontend/backend protocol this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ProtocolVersion {
    /// 3.0: every PostgreSQL since 7.4.
    #[default]
    V3_0,
    /// 3.2: PostgreSQL 18 and later; longer cancel keys.
    V3_2,
}

impl ProtocolVersion {
    /// The newest version this crate speaks (what libpq calls `latest`).
    pub const LATEST: ProtocolVersion = ProtocolVersion::V3_2;

    fn minor(self) -> u16 {
        match self {
            ProtocolVersion::V3_0 => 0,
            ProtocolVersion::V3_2 => 2,
        }
    }

    /// The version number a StartupMessage carries.
    fn code(self) -> i32 {
        (3 << 16) | i32::from(self.minor())
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "3.{}", self.minor())
    }
}

impl FromStr for ProtocolVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "3.0" => Ok(ProtocolVersion::V3_0),
            "3.2" | "latest" => Ok(ProtocolVersion::V3_2),
            other => Err(Error::config(format!("invalid protocol version `{other}`"), "use 3.0, 3.2 or latest")),
        }
    }
}

/// Startup parameters sent to the server.
pub(crate) struct StartupParams<'a> {
    pub(crate) user: &'a str,
    pub(crate) database: &'a str,
    pub(crate) application_name: &'a str,
    pub(crate) options: Option<&'a str>,
    /// Sent as the `statement_timeout` setting, so that the server enforces it.
    pub(crate) statement_timeout: Option<std::time::Duration>,
    pub(crate) version: ProtocolVersion,
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
    let statement_timeout = params.statement_timeout.map(|t| format!("{}ms", t.as_millis()));
    if let Some(timeout) = &statement_timeout {
        pairs.push(("statement_timeout", timeout));
    }
    let start = out.len();
    out.put_i32(0);
    out.put_i32(params.version.code());
    for (name, value) in pairs {
        for text in [name, value] {
            if text.contains('\0') {
                return Err(Error::config(
                    format!("invalid startup parameter `{name}`: it contains a NUL byte"),
                    format!("remove the NUL character from {name}"),
                ));
            }
            out.put_slice(text.as_bytes());
            out.put_u8(0);
        }
    }
    out.put_u8(0);
    let len = i32::try_from(out.len() - start).map_err(|_| {
        Error::config("the startup parameters are too long to send", "shorten options and application_name")
    })?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// The longest cancel key protocol 3.2 allows.
const MAX_CANCEL_KEY: usize = 256;

/// What the server gives a session to cancel its queries: its process id and a secret (4 bytes in protocol 3.0,
/// up to 256 in 3.2).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BackendKey {
    pub(crate) process_id: i32,
    pub(crate) secret: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for BackendKey {
    // The secret is all it takes to cancel the session's queries: it stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendKey")
            .field("process_id", &self.process_id)
            .field("secret_len", &self.secret.len())
            .finish()
    }
}

/// Parses a BackendKeyData body (after the tag and length).
pub(crate) fn backend_key(body: &[u8], version: ProtocolVersion) -> Result<BackendKey, Error> {
    let (pid, secret) = body.split_at_checked(4).ok_or_else(|| Error::protocol("truncated BackendKeyData"))?;
    let valid = match version {
        ProtocolVersion::V3_0 => secret.len() == 4,
        ProtocolVersion::V3_2 => (4..=MAX_CANCEL_KEY).contains(&secret.len()),
    };
    if !valid {
        return Err(Error::protocol(format!(
            "BackendKeyData has a {}-byte key, which protocol {version} does not allow",
            secret.len()
        )));
    }
    let process_id = i32::from_be_bytes([pid[0], pid[1], pid[2], pid[3]]);
    Ok(BackendKey { process_id, secret: Zeroizing::new(secret.to_vec()) })
}

/// Writes a CancelRequest for `key`.
pub(crate) fn cancel_request(key: &BackendKey, out: &mut BytesMut) {
    const CANCEL_REQUEST_CODE: i32 = 80_877_102;
    // At most 12 + 256 bytes, so the length always fits.
    out.put_i32((12 + key.secret.len()) as i32);
    out.put_i32(CANCEL_REQUEST_CODE);
    out.put_i32(key.process_id);
    out.put_slice(&key.secret);
}

/// Reads a NegotiateProtocolVersion body: the version the server offers instead of the one asked for. We never
/// send `_pq_` options, so a server that lists any as unrecognized is not answering us.
pub(crate) fn negotiated_version(
    body: &[u8],
    asked: ProtocolVersion,
    min: ProtocolVersion,
) -> Result<ProtocolVersion, Error> {
    let field = |range: std::ops::Range<usize>| body.get(range).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (Some(newest), Some(unrecognized)) = (field(0..4), field(4..8)) else {
        return Err(Error::protocol("truncated NegotiateProtocolVersion"));
    };
    if asked == ProtocolVersion::V3_0 || unrecognized != 0 {
        return Err(Error::protocol(format!(
            "the server sent NegotiateProtocolVersion (newest minor version {newest}, {unrecognized} unrecognized \
             options) although protocol 3.0 with no options was asked for"
        )));
    }
    // The server sends the whole version number (3 << 16 | minor); the documentation says the minor alone.
    let newest = if newest >> 16 == 3 { newest & 0xffff } else { newest };
    let offered = match newest {
        0 => ProtocolVersion::V3_0,
        2 => ProtocolVersion::V3_2,
        other => {
            return Err(Error::protocol(format!(
                "the server offered protocol 3.{other}, newer than the 3.2 asked for"
            )));
        }
    };
    if offered < min {
        return Err(Error::unsupported(
            format!("protocol {min} on this server (it offers 3.{newest})"),
            "lower min_protocol_version, or connect to PostgreSQL 18 or later",
        ));
    }
    Ok(offered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_message_asks_for_utf8_and_the_version() {
        for (version, code) in [(ProtocolVersion::V3_0, [0, 3, 0, 0]), (ProtocolVersion::V3_2, [0, 3, 0, 2])] {
            let mut out = BytesMut::new();
            let params = StartupParams {
                user: "u",
                database: "d",
                application_name: "app",
                options: None,
                statement_timeout: Some(std::time::Duration::from_secs(3)),
                version,
            };
            startup_message(&params, &mut out).unwrap();
            assert_eq!(&out[..4], &(out.len() as i32).to_be_bytes());
            assert_eq!(&out[4..8], &code);
            let text = String::from_utf8_lossy(&out);
            assert!(text.contains("client_encoding\0UTF8\0"), "{text:?}");
            assert!(text.contains("application_name\0app\0"), "{text:?}");
            assert!(text.contains("statement_timeout\u{0}3000ms\u{0}"), "{text:?}");
            assert!(out.ends_with(b"\0\0"));
        }
        let mut out = BytesMut::new();
        let bad = StartupParams {
            user: "u\0x",
            database: "d",
            application_name: "a",
            options: None,
            statement_timeout: None,
            version: ProtocolVersion::V3_0,
        };
        assert!(startup_message(&bad, &mut out).is_err());
    }

    #[test]
    fn backend_keys_by_version() {
        let mut body = 7i32.to_be_bytes().to_vec();
        body.extend_from_slice(&[1, 2, 3, 4]);
        let key = backend_key(&body, ProtocolVersion::V3_0).unwrap();
        assert_eq!((key.process_id, &key.secret[..]), (7, &[1u8, 2, 3, 4][..]));
        let mut long = 7i32.to_be_bytes().to_vec();
        long.extend_from_slice(&[9; 32]);
        assert!(backend_key(&long, ProtocolVersion::V3_0).is_err(), "3.0 keys are 4 bytes");
        assert_eq!(backend_key(&long, ProtocolVersion::V3_2).unwrap().secret.len(), 32);
        let mut too_long = 7i32.to_be_bytes().to_vec();
        too_long.extend_from_slice(&[9; 257]);
        assert!(backend_key(&too_long, ProtocolVersion::V3_2).is_err());
        assert!(backend_key(&[0, 0], ProtocolVersion::V3_2).is_err());
        assert!(!format!("{key:?}").contains("[1, 2, 3, 4]"), "the secret stays out of Debug");
    }

    #[test]
    fn cancel_request_carries_the_whole_key() {
        let key = BackendKey { process_id: 5, secret: Zeroizing::new(vec![0xab; 32]) };
        let mut out = BytesMut::new();
        cancel_request(&key, &mut out);
        assert_eq!(&out[..4], &44i32.to_be_bytes());
        assert_eq!(&out[4..8], &80_877_102i32.to_be_bytes());
        assert_eq!(&out[8..12], &5i32.to_be_bytes());
        assert_eq!(&out[12..], &[0xab; 32][..]);
    }

    #[test]
    fn negotiation_accepts_an_older_minor_above_the_minimum() {
        let body = |minor: i32, options: i32| [minor.to_be_bytes(), options.to_be_bytes()].concat();
        let (v30, v32) = (ProtocolVersion::V3_0, ProtocolVersion::V3_2);
        assert_eq!(negotiated_version(&body(0, 0), v32, v30).unwrap(), v30);
        assert_eq!(negotiated_version(&body(3 << 16, 0), v32, v30).unwrap(), v30, "as PostgreSQL sends it");
        assert!(matches!(negotiated_version(&body(0, 0), v32, v32), Err(Error::Unsupported { .. })));
        assert!(matches!(negotiated_version(&body(0, 0), v30, v30), Err(Error::Protocol(_))));
        assert!(matches!(negotiated_version(&body(0, 1), v32, v30), Err(Error::Protocol(_))));
        assert!(matches!(negotiated_version(&body(3, 0), v32, v30), Err(Error::Protocol(_))));
        assert!(matches!(negotiated_version(&body(1, 0), v32, v30), Err(Error::Protocol(_))));
        assert!(negotiated_version(&[0; 3], v32, v30).is_err());
        assert_eq!("latest".parse::<ProtocolVersion>().unwrap(), v32);
        assert!("3.1".parse::<ProtocolVersion>().is_err());
    }
}
