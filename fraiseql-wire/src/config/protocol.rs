//! Which protocol versions to accept: `min_protocol_version` and `max_protocol_version`, or their `PG*` variables.

use super::ProtocolVersion;
use super::env::Environment;
use crate::error::Error;

/// The oldest and newest versions to accept. The default is 3.0 to 3.0, as libpq 18: 3.2 is opt-in, since poolers
/// in front of a server may not know it.
pub(super) fn resolve(
    min: Option<ProtocolVersion>,
    max: Option<ProtocolVersion>,
    env: &Environment,
) -> Result<(ProtocolVersion, ProtocolVersion), Error> {
    let from = |given: Option<ProtocolVersion>, var: &str| -> Result<Option<ProtocolVersion>, Error> {
        match (given, env.var(var)) {
            (Some(version), _) => Ok(Some(version)),
            (None, Some(value)) => value.parse().map(Some).map_err(|e: Error| e.in_variable(var)),
            (None, None) => Ok(None),
        }
    };
    let min = from(min, "PGMINPROTOCOLVERSION")?.unwrap_or_default();
    let max = from(max, "PGMAXPROTOCOLVERSION")?.unwrap_or(min);
    if min > max {
        return Err(Error::config(
            format!("min_protocol_version {min} is above max_protocol_version {max}"),
            "lower min_protocol_version or raise max_protocol_version (3.0, 3.2 or latest), in the connection \
             string or PGMINPROTOCOLVERSION / PGMAXPROTOCOLVERSION",
        ));
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn resolve_str(config: &str, env: &Environment) -> Result<crate::config::Resolved, Error> {
        config.parse::<Config>()?.resolve_in(env)
    }

    fn env() -> Environment {
        Environment::empty().with_os_user("osuser")
    }

    #[test]
    fn protocol_versions_default_to_3_0_and_max_follows_min() {
        let r = resolve_str("", &env()).unwrap();
        assert_eq!(r.protocol, (ProtocolVersion::V3_0, ProtocolVersion::V3_0));
        let r = resolve_str("max_protocol_version=latest", &env()).unwrap();
        assert_eq!(r.protocol, (ProtocolVersion::V3_0, ProtocolVersion::V3_2));
        let r = resolve_str("min_protocol_version=3.2", &env()).unwrap();
        assert_eq!(r.protocol, (ProtocolVersion::V3_2, ProtocolVersion::V3_2));
        let r = resolve_str("", &env().with_var("PGMAXPROTOCOLVERSION", "3.2")).unwrap();
        assert_eq!(r.protocol.1, ProtocolVersion::V3_2);
        assert!(resolve_str("min_protocol_version=3.2 max_protocol_version=3.0", &env()).is_err());
        assert!(resolve_str("max_protocol_version=4.0", &env()).is_err());
    }
}
