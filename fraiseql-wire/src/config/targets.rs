//! The places to connect to, in order: hosts (or `PGHOST`), their `hostaddr` (or `PGHOSTADDR`) and ports (or
//! `PGPORT`), paired as libpq pairs them, else the default socket directory or `localhost`.

use std::path::PathBuf;

use super::env::Environment;
use super::parse::{DEFAULT_PORT, parse_host_list, parse_hostaddr_list, parse_port_list};
use super::{Config, Host, Target};
use crate::error::Error;

/// Where the server's Unix socket is looked for when no host is given, in order.
const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// The host used when no socket is found in [`DEFAULT_SOCKET_DIRS`].
const DEFAULT_TCP_HOST: &str = "localhost";

/// The hosts and ports to try, in order. `hostaddr` gives each host its address (the name is then not looked
/// up, but still names the server for TLS and `.pgpass`); given alone, the addresses are the hosts.
pub(super) fn resolve(config: &Config, env: &Environment) -> Result<Vec<Target>, Error> {
    let ports = match (config.ports.is_empty(), env.var("PGPORT")) {
        (false, _) => config.ports.clone(),
        (true, Some(value)) => parse_port_list(value, "PGPORT")?,
        (true, None) => Vec::new(),
    };
    let mut hosts = config.hosts.clone();
    if hosts.is_empty() {
        if let Some(value) = env.var("PGHOST") {
            hosts = parse_host_list(value, "PGHOST")?;
        }
    }
    let addrs = match (config.hostaddrs.is_empty(), env.var("PGHOSTADDR")) {
        (false, _) => config.hostaddrs.clone(),
        (true, Some(value)) => parse_hostaddr_list(value, "PGHOSTADDR")?,
        (true, None) => Vec::new(),
    };
    let places: Vec<(Host, Option<std::net::IpAddr>)> = if addrs.is_empty() {
        if hosts.is_empty() {
            let port = ports.first().copied().unwrap_or(DEFAULT_PORT);
            hosts.push(default_host(env, port));
        }
        hosts.into_iter().map(|host| (host, None)).collect()
    } else if hosts.is_empty() {
        addrs.into_iter().map(|addr| (Host::Tcp(addr.to_string()), Some(addr))).collect()
    } else if hosts.len() == addrs.len() {
        if let Some(Host::Unix(dir)) = hosts.iter().find(|host| matches!(host, Host::Unix(_))) {
            return Err(Error::config(
                format!(
                    "hostaddr pairs with the socket directory {}, but a hostaddr is reached over TCP",
                    dir.display()
                ),
                "name a host in that place of the host list (it is used for TLS verification and the password file), \
                 or remove the hostaddr",
            ));
        }
        hosts.into_iter().zip(addrs).map(|(host, addr)| (host, Some(addr))).collect()
    } else {
        return Err(Error::config(
            format!("{} hostaddr entries for {} hosts", addrs.len(), hosts.len()),
            "give one address per host, in the same order, or leave host out",
        ));
    };
    match ports.as_slice() {
        [] | [_] => {
            let port = ports.first().copied().unwrap_or(DEFAULT_PORT);
            Ok(places.into_iter().map(|(host, addr)| Target { host, port, addr }).collect())
        }
        _ if ports.len() == places.len() => {
            Ok(places.into_iter().zip(ports).map(|((host, addr), port)| Target { host, port, addr }).collect())
        }
        _ => Err(Error::config(
            format!("{} ports for {} hosts", ports.len(), places.len()),
            "give one port for all hosts or one per host, in the same order",
        )),
    }
}

/// The default socket directory whose `.s.PGSQL.<port>` exists, else TCP `localhost`.
fn default_host(env: &Environment, port: u16) -> Host {
    DEFAULT_SOCKET_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| (env.socket_exists)(&dir.join(format!(".s.PGSQL.{port}"))))
        .map_or_else(|| Host::Tcp(DEFAULT_TCP_HOST.to_owned()), Host::Unix)
}
