//! `require_auth`: which authentication methods the client lets the server use, with libpq 16's syntax.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An authentication method a server may ask for, as `require_auth` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `password`: the password in clear.
    Password,
    /// `md5`: an MD5 hash of the password, salted by the server.
    Md5,
    /// `gss`: GSSAPI (not implemented by fraiseql-wire; listed so that libpq settings parse).
    Gss,
    /// `sspi`: SSPI (not implemented by fraiseql-wire; listed so that libpq settings parse).
    Sspi,
    /// `scram-sha-256`: SCRAM, which never reveals the password.
    ScramSha256,
    /// `none`: no authentication at all (a `trust` line in `pg_hba.conf`).
    None,
}

impl AuthMethod {
    const ALL: [AuthMethod; 6] = [
        AuthMethod::Password,
        AuthMethod::Md5,
        AuthMethod::Gss,
        AuthMethod::Sspi,
        AuthMethod::ScramSha256,
        AuthMethod::None,
    ];

    /// The name `require_auth` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Md5 => "md5",
            AuthMethod::Gss => "gss",
            AuthMethod::Sspi => "sspi",
            AuthMethod::ScramSha256 => "scram-sha-256",
            AuthMethod::None => "none",
        }
    }
}

/// The methods the server may use, as libpq's `require_auth` says it: a list the server must pick one from
/// (`scram-sha-256`, `md5,scram-sha-256`), or, with every entry negated, a list it must not use (`!password`).
/// `none` stands for no authentication: `require_auth=!none` demands some authentication, whatever it is.
///
/// ```
/// use fraiseql_wire::config::{AuthMethod, RequireAuth};
///
/// let scram_only: RequireAuth = "scram-sha-256".parse()?;
/// assert!(scram_only.allows(AuthMethod::ScramSha256));
/// assert!(!scram_only.allows(AuthMethod::None));
/// let no_cleartext: RequireAuth = "!password".parse()?;
/// assert!(no_cleartext.allows(AuthMethod::None) && !no_cleartext.allows(AuthMethod::Password));
/// # Ok::<(), fraiseql_wire::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequireAuth {
    negated: bool,
    methods: Vec<AuthMethod>,
}

impl RequireAuth {
    /// Whether the server may authenticate the client with `method`.
    pub fn allows(&self, method: AuthMethod) -> bool {
        self.methods.contains(&method) != self.negated
    }

    /// Whether `method` is named in a list of allowed methods (not merely left out of a negated one): the user
    /// asked for it explicitly.
    pub(crate) fn names(&self, method: AuthMethod) -> bool {
        !self.negated && self.methods.contains(&method)
    }
}

impl FromStr for RequireAuth {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid =
            |why: String, advice: &'static str| Error::config(format!("invalid require_auth `{s}`: {why}"), advice);
        let mut negated = None;
        let mut methods = Vec::new();
        for entry in s.split(',') {
            let (is_negated, name) = match entry.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, entry),
            };
            if negated.is_some_and(|previous| previous != is_negated) {
                return Err(invalid(
                    "negated (`!method`) and plain methods cannot be mixed".to_owned(),
                    "list the methods the server may use, or those it may not",
                ));
            }
            negated = Some(is_negated);
            let method = AuthMethod::ALL.into_iter().find(|m| m.as_str() == name).ok_or_else(|| {
                invalid(
                    format!("unknown method `{name}`"),
                    "use password, md5, gss, sspi, scram-sha-256 or none, each optionally negated with `!`",
                )
            })?;
            if methods.contains(&method) {
                return Err(invalid(format!("`{name}` is listed twice"), "name each method once"));
            }
            methods.push(method);
        }
        Ok(RequireAuth { negated: negated.unwrap_or(false), methods })
    }
}

impl fmt::Display for RequireAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, method) in self.methods.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if self.negated {
                f.write_str("!")?;
            }
            f.write_str(method.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_negated_lists() {
        let list: RequireAuth = "md5,scram-sha-256".parse().unwrap();
        assert!(list.allows(AuthMethod::Md5) && list.allows(AuthMethod::ScramSha256));
        assert!(!list.allows(AuthMethod::Password) && !list.allows(AuthMethod::None));
        let negated: RequireAuth = "!password,!md5".parse().unwrap();
        assert!(negated.allows(AuthMethod::ScramSha256) && negated.allows(AuthMethod::None));
        assert!(!negated.allows(AuthMethod::Password) && !negated.allows(AuthMethod::Md5));
        let some_auth: RequireAuth = "!none".parse().unwrap();
        assert!(!some_auth.allows(AuthMethod::None) && some_auth.allows(AuthMethod::Password));
        assert_eq!(negated.to_string(), "!password,!md5");
    }

    #[test]
    fn mistakes_are_refused() {
        for bad in ["password,!md5", "scram", "md5,md5", "", "!"] {
            assert!(bad.parse::<RequireAuth>().is_err(), "{bad}");
        }
    }
}
