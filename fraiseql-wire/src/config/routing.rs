//! Which of several hosts a connection uses: libpq's `target_session_attrs` and `load_balance_hosts`.
//!
//! Only the settings and the rule that matches a server's role live here; learning the role is the connection
//! layer's work.

use std::str::FromStr;

use super::env::Environment;
use crate::error::Error;

/// The kind of server a connection must reach, as libpq's `target_session_attrs`.
///
/// Hosts are tried in order; a server of the wrong kind is left for the next host, and when no host fits the
/// connection fails with [`Error::NoSuitableHost`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetSessionAttrs {
    /// Any server (the default).
    #[default]
    Any,
    /// A server that accepts writes: a primary whose `default_transaction_read_only` is off.
    ReadWrite,
    /// A server that refuses writes: a standby, or a primary whose `default_transaction_read_only` is on.
    ReadOnly,
    /// A server that is not in hot standby.
    Primary,
    /// A server in hot standby (a streaming replica).
    Standby,
    /// A standby if any host is one, else any server.
    PreferStandby,
}

impl TargetSessionAttrs {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetSessionAttrs::Any => "any",
            TargetSessionAttrs::ReadWrite => "read-write",
            TargetSessionAttrs::ReadOnly => "read-only",
            TargetSessionAttrs::Primary => "primary",
            TargetSessionAttrs::Standby => "standby",
            TargetSessionAttrs::PreferStandby => "prefer-standby",
        }
    }

    /// What each pass over the hosts accepts: `prefer-standby` looks for a standby first, then takes any server.
    pub(crate) fn passes(self) -> &'static [TargetSessionAttrs] {
        match self {
            TargetSessionAttrs::Any => &[TargetSessionAttrs::Any],
            TargetSessionAttrs::ReadWrite => &[TargetSessionAttrs::ReadWrite],
            TargetSessionAttrs::ReadOnly => &[TargetSessionAttrs::ReadOnly],
            TargetSessionAttrs::Primary => &[TargetSessionAttrs::Primary],
            TargetSessionAttrs::Standby => &[TargetSessionAttrs::Standby],
            TargetSessionAttrs::PreferStandby => &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any],
        }
    }

    /// Whether a server in `role` fits (for one pass: `prefer-standby` is split by [`passes`](Self::passes)).
    pub(crate) fn accepts(self, role: ServerRole) -> bool {
        match self {
            TargetSessionAttrs::Any | TargetSessionAttrs::PreferStandby => true,
            TargetSessionAttrs::ReadWrite => !role.hot_standby && !role.read_only,
            TargetSessionAttrs::ReadOnly => role.hot_standby || role.read_only,
            TargetSessionAttrs::Primary => !role.hot_standby,
            TargetSessionAttrs::Standby => role.hot_standby,
        }
    }
}

impl FromStr for TargetSessionAttrs {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            "primary" => TargetSessionAttrs::Primary,
            "standby" => TargetSessionAttrs::Standby,
            "prefer-standby" => TargetSessionAttrs::PreferStandby,
            other => {
                return Err(Error::config(
                    format!("invalid target_session_attrs `{other}`"),
                    "use one of any, read-write, read-only, primary, standby, prefer-standby",
                ));
            }
        })
    }
}

/// The order hosts are tried in, as libpq's `load_balance_hosts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoadBalanceHosts {
    /// In the order given (the default): the first host takes every connection while it answers.
    #[default]
    Disable,
    /// In a random order for each connection, and each host's addresses too, spreading connections over the
    /// hosts.
    Random,
}

impl LoadBalanceHosts {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadBalanceHosts::Disable => "disable",
            LoadBalanceHosts::Random => "random",
        }
    }
}

impl FromStr for LoadBalanceHosts {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "disable" => Ok(LoadBalanceHosts::Disable),
            "random" => Ok(LoadBalanceHosts::Random),
            other => Err(Error::config(format!("invalid load_balance_hosts `{other}`"), "use one of disable, random")),
        }
    }
}

/// What a server said about itself: the `in_hot_standby` and `default_transaction_read_only` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ServerRole {
    pub(crate) hot_standby: bool,
    pub(crate) read_only: bool,
}

impl std::fmt::Display for ServerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.hot_standby, self.read_only) {
            (true, _) => "standby",
            (false, true) => "primary, read-only",
            (false, false) => "primary",
        })
    }
}

/// How hosts are chosen, once resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Routing {
    pub(crate) target_session_attrs: TargetSessionAttrs,
    pub(crate) load_balance_hosts: LoadBalanceHosts,
}

/// The settings, else `PGTARGETSESSIONATTRS` and `PGLOADBALANCEHOSTS`, else the defaults.
pub(super) fn resolve(
    attrs: Option<TargetSessionAttrs>,
    balance: Option<LoadBalanceHosts>,
    env: &Environment,
) -> Result<Routing, Error> {
    fn from_env<T: FromStr<Err = Error>>(var: &str, env: &Environment) -> Result<Option<T>, Error> {
        env.var(var)
            .filter(|value| !value.is_empty())
            .map(|value| value.parse().map_err(|e: Error| e.in_variable(var)))
            .transpose()
    }
    Ok(Routing {
        target_session_attrs: match attrs {
            Some(attrs) => attrs,
            None => from_env("PGTARGETSESSIONATTRS", env)?.unwrap_or_default(),
        },
        load_balance_hosts: match balance {
            Some(balance) => balance,
            None => from_env("PGLOADBALANCEHOSTS", env)?.unwrap_or_default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const PRIMARY: ServerRole = ServerRole { hot_standby: false, read_only: false };
    const READ_ONLY_PRIMARY: ServerRole = ServerRole { hot_standby: false, read_only: true };
    const STANDBY: ServerRole = ServerRole { hot_standby: true, read_only: true };

    #[test]
    fn each_setting_accepts_the_roles_libpq_does() {
        use TargetSessionAttrs::*;
        let table = [
            (Any, [true, true, true]),
            (ReadWrite, [true, false, false]),
            (ReadOnly, [false, true, true]),
            (Primary, [true, true, false]),
            (Standby, [false, false, true]),
        ];
        for (attrs, expected) in table {
            let got = [PRIMARY, READ_ONLY_PRIMARY, STANDBY].map(|role| attrs.accepts(role));
            assert_eq!(got, expected, "{}", attrs.as_str());
            assert_eq!(attrs.as_str().parse::<TargetSessionAttrs>().unwrap(), attrs);
        }
        assert_eq!(PreferStandby.passes(), [Standby, Any]);
        assert!("master".parse::<TargetSessionAttrs>().unwrap_err().to_string().contains("prefer-standby"));
    }

    #[test]
    fn settings_beat_the_environment() {
        let env = Environment::empty()
            .with_os_user("u")
            .with_var("PGTARGETSESSIONATTRS", "standby")
            .with_var("PGLOADBALANCEHOSTS", "random");
        let from_env = Config::new().resolve_in(&env).unwrap().routing;
        assert_eq!(from_env.target_session_attrs, TargetSessionAttrs::Standby);
        assert_eq!(from_env.load_balance_hosts, LoadBalanceHosts::Random);
        let given: Config = "target_session_attrs=read-write load_balance_hosts=disable".parse().unwrap();
        let routing = given.resolve_in(&env).unwrap().routing;
        assert_eq!(routing.target_session_attrs, TargetSessionAttrs::ReadWrite);
        assert_eq!(routing.load_balance_hosts, LoadBalanceHosts::Disable);
        let bad = Environment::empty().with_os_user("u").with_var("PGLOADBALANCEHOSTS", "round-robin");
        let message = Config::new().resolve_in(&bad).unwrap_err().to_string();
        assert!(message.contains("PGLOADBALANCEHOSTS"), "{message}");
    }
}
