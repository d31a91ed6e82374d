//! `Debug` and `Display` of a [`Config`]: the `key=value` form, the password always redacted.

use std::fmt;

use super::pairs::is_space;
use super::{Config, Host, RootCert, SslNegotiation};

const REDACTED: &str = "<redacted>";

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("hosts", &self.hosts)
            .field("hostaddrs", &self.hostaddrs)
            .field("ports", &self.ports)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("dbname", &self.dbname)
            .field("application_name", &self.application_name)
            .field("fallback_application_name", &self.fallback_application_name)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field("tls", &self.tls)
            .field("liveness", &self.liveness)
            .field("require_auth", &self.require_auth)
            .field("protocol", &(self.min_protocol, self.max_protocol))
            .field("target_session_attrs", &self.target_session_attrs)
            .field("load_balance_hosts", &self.load_balance_hosts)
            .field("passfile", &self.passfile)
            .field("max_row_bytes", &self.max_row_bytes)
            .field("cancel_timeout", &self.cancel_timeout)
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .finish()
    }
}

/// The `key=value` form, which parses back to the same settings except the password (shown as `<redacted>`),
/// `max_row_bytes` (no connection parameter sets it) and durations finer than a millisecond (rounded up).
impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.hosts.is_empty() {
            let hosts: Vec<String> = self.hosts.iter().map(Host::to_string).collect();
            pairs.push(("host", hosts.join(",")));
        }
        if !self.hostaddrs.is_empty() {
            let addrs: Vec<String> = self.hostaddrs.iter().map(ToString::to_string).collect();
            pairs.push(("hostaddr", addrs.join(",")));
        }
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            pairs.push(("port", ports.join(",")));
        }
        let strings = [
            ("user", &self.user),
            ("dbname", &self.dbname),
            ("application_name", &self.application_name),
            ("fallback_application_name", &self.fallback_application_name),
            ("options", &self.options),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if self.password.is_some() {
            pairs.push(("password", REDACTED.to_owned()));
        }
        if let Some(timeout) = self.connect_timeout {
            let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
            pairs.push(("connect_timeout", secs.to_string()));
        }
        if let Some(methods) = &self.require_auth {
            pairs.push(("require_auth", methods.to_string()));
        }
        if let Some(mode) = self.ssl_mode {
            pairs.push(("sslmode", mode.as_str().to_owned()));
        }
        if let Some(attrs) = self.target_session_attrs {
            pairs.push(("target_session_attrs", attrs.as_str().to_owned()));
        }
        if let Some(balance) = self.load_balance_hosts {
            pairs.push(("load_balance_hosts", balance.as_str().to_owned()));
        }
        let tls = &self.tls;
        match &tls.root_cert {
            Some(RootCert::System) => pairs.push(("sslrootcert", "system".to_owned())),
            Some(RootCert::File(path)) => pairs.push(("sslrootcert", path.display().to_string())),
            None => {}
        }
        for (key, path) in [("sslcert", &tls.cert), ("sslkey", &tls.key)] {
            if let Some(path) = path {
                pairs.push((key, path.display().to_string()));
            }
        }
        if let Some(negotiation) = tls.negotiation {
            let value = if negotiation == SslNegotiation::Direct { "direct" } else { "postgres" };
            pairs.push(("sslnegotiation", value.to_owned()));
        }
        if let Some(sni) = tls.sni {
            pairs.push(("sslsni", if sni { "1" } else { "0" }.to_owned()));
        }
        if let Some(binding) = tls.channel_binding {
            pairs.push(("channel_binding", binding.as_str().to_owned()));
        }
        for (key, version) in
            [("ssl_min_protocol_version", tls.min_version), ("ssl_max_protocol_version", tls.max_version)]
        {
            if let Some(version) = version {
                pairs.push((key, version.as_str().to_owned()));
            }
        }
        for (key, version) in [("min_protocol_version", self.min_protocol), ("max_protocol_version", self.max_protocol)]
        {
            if let Some(version) = version {
                pairs.push((key, version.to_string()));
            }
        }
        if let Some(passfile) = &self.passfile {
            pairs.push(("passfile", passfile.display().to_string()));
        }
        let liveness = &self.liveness;
        if let Some(on) = liveness.keepalives {
            pairs.push(("keepalives", if on { "1" } else { "0" }.to_owned()));
        }
        for (key, duration) in [
            ("keepalives_idle", liveness.keepalives_idle),
            ("keepalives_interval", liveness.keepalives_interval),
            ("tcp_user_timeout", liveness.tcp_user_timeout),
            ("statement_timeout", liveness.statement_timeout),
            ("read_timeout", liveness.read_timeout),
        ] {
            if let Some(duration) = duration {
                pairs.push((key, duration_value(duration)));
            }
        }
        if let Some(count) = liveness.keepalives_count {
            pairs.push(("keepalives_count", count.to_string()));
        }
        let defaults = Config::new();
        if self.cancel_timeout != defaults.cancel_timeout {
            pairs.push(("cancel_timeout", duration_value(self.cancel_timeout)));
        }
        if self.statement_cache_capacity != defaults.statement_cache_capacity {
            pairs.push(("statement_cache_capacity", self.statement_cache_capacity.to_string()));
        }
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{key}=")?;
            write_value(f, value)?;
        }
        Ok(())
    }
}

/// A duration with its unit, which every duration setting reads whatever its default unit: whole seconds when it
/// is, else milliseconds, rounded up.
fn duration_value(duration: std::time::Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_nanos().div_ceil(1_000_000))
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    let needs_quotes = value.is_empty() || value.chars().any(|c| is_space(c) || c == '\'' || c == '\\');
    if !needs_quotes {
        return f.write_str(value);
    }
    f.write_str("'")?;
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("'")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::parse::parse;
    use super::*;
    use crate::config::SslMode;

    #[test]
    fn debug_and_display_redact_the_password() {
        let c = parse("postgresql://app:hunter2@db/shop").unwrap();
        let debug = format!("{c:?}");
        let display = c.to_string();
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!display.contains("hunter2"), "{display}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(display.contains("password=<redacted>"), "{display}");
        let alternate = format!("{c:#?}");
        assert!(!alternate.contains("hunter2"));

        let no_password = Config::new().user("u");
        assert!(!no_password.to_string().contains("password"));
        assert!(format!("{no_password:?}").contains("password: None"));
    }

    #[test]
    fn display_round_trips() {
        let c = Config::new()
            .host("db1")
            .host("/run/my sockets")
            .host("::1")
            .port(5433)
            .port(5434)
            .port(5435)
            .user("o'brien")
            .dbname("back\\slash db")
            .application_name("")
            .options("-c search_path=app")
            .connect_timeout(Duration::from_secs(7))
            .ssl_mode(SslMode::Allow)
            .ssl_root_cert(RootCert::File("/etc/ca dir/root.crt".into()))
            .ssl_client_cert("/c.crt", "/c.key")
            .ssl_negotiation(SslNegotiation::Postgres)
            .ssl_sni(false)
            .ssl_protocol_versions(Some(crate::config::TlsVersion::Tls13), None)
            .channel_binding(crate::config::ChannelBinding::Disable)
            .protocol_versions(None, Some(crate::config::ProtocolVersion::V3_2))
            .passfile("/etc/pg pass");
        let mut with_empty_app = c.clone();
        with_empty_app.application_name = None; // an empty value parses back as unset
        let display = c.to_string();
        let reparsed = parse(&display).unwrap();
        assert!(reparsed == with_empty_app, "{display}\n{reparsed:?}");

        let uri = parse("postgresql://u@[::1]:6000,h2:6001/db?application_name=x&connect_timeout=0").unwrap();
        assert!(parse(&uri.to_string()).unwrap() == uri, "{uri}");

        assert_eq!(Config::new().to_string(), "");
        // Found by the connection_string fuzz target: the liveness settings, cancel_timeout and the statement cache
        // were left out.
        let liveness = parse(
            "keepalives=0 keepalives_idle=30 keepalives_interval=1500ms keepalives_count=3 tcp_user_timeout=60000 \
             statement_timeout=5min read_timeout=0 cancel_timeout=2 statement_cache_capacity=0",
        )
        .unwrap();
        assert!(parse(&liveness.to_string()).unwrap() == liveness, "{liveness}");
        assert!(format!("{liveness:?}").contains("keepalives_count: Some(3)"), "{liveness:?}");
        let huge = parse("keepalives_idle=18446744073709551615h").unwrap();
        assert!(parse(&huge.to_string()).unwrap() == huge, "{huge}");

        // The password comes back as the placeholder, never the secret.
        let reparsed = parse(&Config::new().password("pw").to_string()).unwrap();
        assert_eq!(reparsed.password.as_deref(), Some("<redacted>"));
    }
}
