//! Timeouts and TCP keepalives: how long to wait for the server, and how soon a dead peer is noticed.
//!
//! The defaults suit a library inside a service: a dead or unreachable peer is noticed within about a minute
//! (keepalives after 30 s of silence, three probes 10 s apart; unacknowledged data given up after 60 s), a
//! server that accepts and never answers fails within the connect timeout (10 s), a stalled server or path fails
//! a waiting query after `read_timeout` (5 minutes), and a slow consumer is never timed out by the client.

use std::time::Duration;

use crate::error::Error;

/// Default `connect_timeout`, per address tried.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// libpq raises shorter connect timeouts to this.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
const DEFAULT_KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_KEEPALIVES_COUNT: u32 = 3;
const DEFAULT_TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `read_timeout`.
pub(crate) const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(300);

/// The settings as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LivenessOptions {
    pub(crate) keepalives: Option<bool>,
    pub(crate) keepalives_idle: Option<Duration>,
    pub(crate) keepalives_interval: Option<Duration>,
    pub(crate) keepalives_count: Option<u32>,
    /// `Some(ZERO)`: the operating system's default.
    pub(crate) tcp_user_timeout: Option<Duration>,
    pub(crate) statement_timeout: Option<Duration>,
    /// `Some(ZERO)`: no read timeout.
    pub(crate) read_timeout: Option<Duration>,
}

impl LivenessOptions {
    /// Applies one parameter of a connection string; `false` if `key` is not one of these.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<bool, Error> {
        match key {
            "keepalives" => self.keepalives = parse_keepalives(value)?,
            "keepalives_idle" => self.keepalives_idle = parse_duration(value, key, Unit::Seconds)?,
            "keepalives_interval" => self.keepalives_interval = parse_duration(value, key, Unit::Seconds)?,
            "keepalives_count" => {
                self.keepalives_count = match value.trim() {
                    "" => None,
                    v => Some(v.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| {
                        Error::config(
                            format!("invalid keepalives_count `{value}`"),
                            "give a number of probes, 1 or more",
                        )
                    })?),
                };
            }
            "tcp_user_timeout" => self.tcp_user_timeout = parse_duration(value, key, Unit::Milliseconds)?,
            "statement_timeout" => self.statement_timeout = parse_duration(value, key, Unit::Milliseconds)?,
            "read_timeout" => self.read_timeout = parse_duration(value, key, Unit::Seconds)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// TCP keepalive probing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Keepalive {
    pub(crate) idle: Duration,
    pub(crate) interval: Duration,
    pub(crate) count: u32,
}

/// The settings with defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Liveness {
    /// `None`: keepalives off.
    pub(crate) keepalive: Option<Keepalive>,
    /// `None`: the operating system's default.
    pub(crate) tcp_user_timeout: Option<Duration>,
    /// Sent to the server at startup; `None`: the server's own setting.
    pub(crate) statement_timeout: Option<Duration>,
    /// `None`: no read timeout.
    pub(crate) read_timeout: Option<Duration>,
}

impl Liveness {
    pub(crate) fn resolve(options: &LivenessOptions) -> Liveness {
        let keepalive = options.keepalives.unwrap_or(true).then(|| Keepalive {
            idle: options.keepalives_idle.filter(|d| !d.is_zero()).unwrap_or(DEFAULT_KEEPALIVES_IDLE),
            interval: options.keepalives_interval.filter(|d| !d.is_zero()).unwrap_or(DEFAULT_KEEPALIVES_INTERVAL),
            count: options.keepalives_count.unwrap_or(DEFAULT_KEEPALIVES_COUNT),
        });
        let zero_is_off = |d: Duration| (!d.is_zero()).then_some(d);
        Liveness {
            keepalive,
            tcp_user_timeout: options.tcp_user_timeout.map_or(Some(DEFAULT_TCP_USER_TIMEOUT), zero_is_off),
            statement_timeout: options.statement_timeout.and_then(zero_is_off),
            read_timeout: options.read_timeout.map_or(Some(DEFAULT_READ_TIMEOUT), zero_is_off),
        }
    }
}

/// The connect timeout in force: unset is the default, zero is none, and anything shorter than 2 s is 2 s (as
/// libpq does: a shorter one fails on an ordinary busy network).
pub(crate) fn connect_timeout(given: Option<Duration>) -> Option<Duration> {
    match given {
        None => Some(DEFAULT_CONNECT_TIMEOUT),
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d.max(MIN_CONNECT_TIMEOUT)),
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Milliseconds,
}

/// A duration in seconds (or with a unit), for settings of this crate such as `cancel_timeout`.
pub(super) fn parse_seconds(value: &str, key: &str) -> Result<Option<Duration>, Error> {
    parse_duration(value, key, Unit::Seconds)
}

/// A duration: a whole number in the parameter's unit (as libpq), or with a unit (`500ms`, `30s`, `5min`, `1h`).
/// Zero is kept (it means "off" or "the system default"); empty is unset.
fn parse_duration(value: &str, key: &str, unit: Unit) -> Result<Option<Duration>, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let invalid = || {
        let unit_name = match unit {
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
        };
        Error::config(
            format!("invalid {key} `{value}`"),
            format!("give a whole number of {unit_name}, or one with a unit (500ms, 30s, 5min, 1h)"),
        )
    };
    let n: u64 = number.parse().map_err(|_| invalid())?;
    let duration = match (suffix.trim(), unit) {
        ("", Unit::Seconds) | ("s", _) => Duration::from_secs(n),
        ("", Unit::Milliseconds) | ("ms", _) => Duration::from_millis(n),
        ("min", _) => Duration::from_secs(n.saturating_mul(60)),
        ("h", _) => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(invalid()),
    };
    Ok(Some(duration))
}

fn parse_keepalives(value: &str) -> Result<Option<bool>, Error> {
    match value.trim() {
        "" => Ok(None),
        v => match v.parse::<i64>() {
            Ok(0) => Ok(Some(false)),
            Ok(_) => Ok(Some(true)),
            Err(_) => Err(Error::config(format!("invalid keepalives `{value}`"), "use 1 (on) or 0 (off)")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Result<LivenessOptions, Error> {
        let mut options = LivenessOptions::default();
        for (key, value) in pairs {
            assert!(options.set(key, value)?, "{key}");
        }
        Ok(options)
    }

    #[test]
    fn defaults_notice_a_dead_peer_within_a_minute() {
        let l = Liveness::resolve(&LivenessOptions::default());
        let k = l.keepalive.expect("keepalives on by default");
        assert_eq!(k.idle + k.interval * k.count, Duration::from_secs(60));
        assert_eq!(l.tcp_user_timeout, Some(Duration::from_secs(60)));
        assert_eq!(l.read_timeout, Some(DEFAULT_READ_TIMEOUT));
        assert_eq!(l.statement_timeout, None);
    }

    #[test]
    fn settings_and_their_units() {
        let o = options(&[
            ("keepalives_idle", "5"),
            ("keepalives_interval", "2s"),
            ("keepalives_count", "4"),
            ("tcp_user_timeout", "1500"),
            ("statement_timeout", "2min"),
            ("read_timeout", "0"),
        ])
        .unwrap();
        let l = Liveness::resolve(&o);
        assert_eq!(
            l.keepalive,
            Some(Keepalive { idle: Duration::from_secs(5), interval: Duration::from_secs(2), count: 4 })
        );
        assert_eq!(l.tcp_user_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(l.statement_timeout, Some(Duration::from_secs(120)));
        assert_eq!(l.read_timeout, None, "0 turns the read timeout off");
        let off = Liveness::resolve(&options(&[("keepalives", "0"), ("tcp_user_timeout", "0")]).unwrap());
        assert_eq!((off.keepalive, off.tcp_user_timeout), (None, None));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (key, value) in [
            ("keepalives", "on"),
            ("keepalives_count", "0"),
            ("keepalives_idle", "-1"),
            ("statement_timeout", "5 parsecs"),
            ("read_timeout", "1.5"),
        ] {
            match options(&[(key, value)]) {
                Err(e @ Error::Config { .. }) => assert!(e.to_string().contains(key), "{e}"),
                other => panic!("{key}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn connect_timeout_default_floor_and_off() {
        assert_eq!(connect_timeout(None), Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(connect_timeout(Some(Duration::ZERO)), None);
        assert_eq!(connect_timeout(Some(Duration::from_secs(1))), Some(Duration::from_secs(2)));
        assert_eq!(connect_timeout(Some(Duration::from_secs(7))), Some(Duration::from_secs(7)));
    }
}
