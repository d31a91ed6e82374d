//! Every settings error gives advice that fits its cause: libpq's syntax for a malformed connection string, and
//! for anything else the fix for that setting. One case per place that makes an `Error::Config`, in the layers
//! up to this one; a count of those places keeps the table complete.

use std::path::PathBuf;

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;

use super::tls::TlsConnector;
use crate::config::{Config, Environment};
use crate::error::{CONNECTION_STRING_SYNTAX, Error};
use crate::protocol::auth::{AuthPolicy, Authenticator, Link};
use crate::protocol::startup::{ProtocolVersion, StartupParams, startup_message};

/// What the advice must be.
enum Advice {
    /// libpq's syntax: the string's form is wrong.
    Syntax,
    /// The fix for this setting: not the syntax, and naming each of these words.
    Fix(&'static [&'static str]),
}

use Advice::{Fix, Syntax};

/// How a case makes its error.
enum Trigger {
    /// Parsing a connection string.
    Parse(&'static str),
    /// Resolving a connection string in an environment without a home directory: (variable, value) pairs.
    Resolve(&'static str, &'static [(&'static str, &'static str)]),
    /// Building the TLS configuration from a connection string; `{certs}` stands for the test certificates'
    /// directory and `{tmp}` for a scratch directory holding `empty.pem` and `open.key` (mode 0644).
    Tls(&'static str),
    /// Anything else, run as is.
    Run(fn() -> Error),
    /// A place no unit test reaches, and why.
    Unreachable(&'static str),
}

use Trigger::{Parse, Resolve, Run, Tls, Unreachable};

struct Case {
    /// The file under `src/` that makes the error.
    site: &'static str,
    trigger: Trigger,
    advice: Advice,
}

const fn case(site: &'static str, trigger: Trigger, advice: Advice) -> Case {
    Case { site, trigger, advice }
}

const CASES: &[Case] = &[
    case("config/pairs.rs", Parse("=x"), Syntax),
    case("config/pairs.rs", Parse("password=two words"), Fix(&["quote", "password="])),
    case("config/pairs.rs", Parse("postgre://host/db"), Fix(&["postgresql://"])),
    case("config/pairs.rs", Parse("host=db user"), Syntax),
    case("config/pairs.rs", Parse("user='unterminated"), Fix(&["closing `'`"])),
    case("config/uri.rs", Parse("postgresql://h?user=a=b"), Fix(&["%3D"])),
    case("config/uri.rs", Parse("postgresql://h?zzz"), Fix(&["?key=value"])),
    case("config/uri.rs", Parse("postgresql://h?ssl=1"), Fix(&["true", "sslmode"])),
    case("config/uri.rs", Parse("postgresql://[::1/db"), Syntax),
    case("config/uri.rs", Parse("postgres://[]:5433/db"), Fix(&["brackets"])),
    case("config/uri.rs", Parse("postgresql://[::1]x/db"), Syntax),
    case("config/uri.rs", Parse("postgresql://h1,,h2/db"), Fix(&["every host"])),
    case("config/uri.rs", Parse("postgresql://h/a b"), Fix(&["%20"])),
    case("config/uri.rs", Parse("postgres://%2cexample"), Fix(&["plain `,`"])),
    case("config/uri.rs", Parse("postgresql://[%2Ftmp]/db"), Fix(&["%2Ftmp"])),
    case("config/uri.rs", Parse("postgresql://h/%zz"), Fix(&["%25"])),
    case("config/uri.rs", Parse("postgresql://h/a%00"), Fix(&["NUL"])),
    case("config/uri.rs", Parse("postgresql://h/%FF"), Fix(&["UTF-8"])),
    case("config/liveness.rs", Parse("keepalives_count=0"), Fix(&["probes"])),
    case("config/liveness.rs", Parse("keepalives_idle=soon"), Fix(&["seconds", "30s"])),
    case("config/liveness.rs", Parse("keepalives=on"), Fix(&["1", "0"])),
    case(
        "config/protocol.rs",
        Resolve("user=u min_protocol_version=3.2 max_protocol_version=3.0", &[]),
        Fix(&["min_protocol_version", "max_protocol_version"]),
    ),
    case("config/routing.rs", Parse("target_session_attrs=primaries"), Fix(&["read-write", "prefer-standby"])),
    case("config/routing.rs", Parse("load_balance_hosts=sometimes"), Fix(&["disable", "random"])),
    case("config/env.rs", Resolve("", &[]), Fix(&["PGUSER", "user="])),
    case("config/parse.rs", Parse("host=a\0b"), Fix(&["NUL"])),
    case("config/parse.rs", Parse("host=a,[]"), Fix(&["brackets"])),
    case("config/parse.rs", Parse("requiressl=2"), Fix(&["sslmode"])),
    case("config/parse.rs", Parse("statement_cache_capacity=many"), Fix(&["number of statements"])),
    case("config/parse.rs", Parse("gssencmode=sometimes"), Fix(&["disable", "prefer", "require"])),
    case("config/parse.rs", Parse("host=a,,b"), Fix(&["every host"])),
    case("config/parse.rs", Parse("hostaddr=db.example.com"), Fix(&["192.0.2.10", "host"])),
    case("config/parse.rs", Parse("port=0"), Fix(&["1 to 65535"])),
    case("config/parse.rs", Parse("connect_timeout=soon"), Fix(&["seconds"])),
    case("config/targets.rs", Resolve("user=u host=/tmp hostaddr=127.0.0.1", &[]), Fix(&["host", "hostaddr"])),
    case(
        "config/targets.rs",
        Resolve("user=u host=a,b hostaddr=127.0.0.1,127.0.0.2,127.0.0.3", &[]),
        Fix(&["one address per host"]),
    ),
    case("config/targets.rs", Resolve("user=u host=a,b,c port=1,2", &[]), Fix(&["one port"])),
    case("config/tls.rs", Parse("sslmode=sometimes"), Fix(&["verify-full"])),
    case("config/tls.rs", Parse("sslnegotiation=fast"), Fix(&["postgres", "direct"])),
    case("config/tls.rs", Parse("ssl_min_protocol_version=SSLv3"), Fix(&["TLSv1.2", "TLSv1.3"])),
    case("config/tls.rs", Parse("sslsni=yes"), Fix(&["1", "0"])),
    case("config/tls.rs", Resolve("user=u sslrootcert=system sslmode=require", &[]), Fix(&["verify-full"])),
    case("config/tls.rs", Resolve("user=u sslnegotiation=direct sslmode=prefer", &[]), Fix(&["sslmode=require"])),
    case("config/tls.rs", Resolve("user=u channel_binding=require sslmode=disable", &[]), Fix(&["sslmode=require"])),
    case(
        "config/tls.rs",
        Resolve("user=u ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2", &[]),
        Fix(&["ssl_min_protocol_version", "ssl_max_protocol_version"]),
    ),
    // A bad value in a variable: the same advice, and the variable named.
    case("config/tls.rs", Resolve("user=u", &[("PGSSLMODE", "sometimes")]), Fix(&["verify-full", "PGSSLMODE"])),
    case("protocol/require_auth.rs", Parse("require_auth=kerberos"), Fix(&["scram-sha-256"])),
    case("protocol/auth.rs", Run(password_with_nul), Fix(&["NUL", "password"])),
    case("protocol/channel_binding.rs", Parse("channel_binding=always"), Fix(&["disable", "prefer", "require"])),
    case("protocol/startup.rs", Parse("min_protocol_version=4"), Fix(&["3.0", "3.2"])),
    case("protocol/startup.rs", Run(options_with_nul), Fix(&["NUL", "options"])),
    case(
        "protocol/startup.rs",
        Unreachable("startup parameters over 2 GiB, which no test should allocate"),
        Fix(&["options"]),
    ),
    case("connection/startup.rs", Unreachable("resolution always yields at least one target"), Fix(&["host"])),
    case(
        "connection/tls.rs",
        Unreachable("rustls refuses no store with at least one parsable root"),
        Fix(&["sslrootcert"]),
    ),
    case(
        "connection/tls.rs",
        Unreachable("the TLS version range is checked non-empty when resolving"),
        Fix(&["ssl_min_protocol_version"]),
    ),
    case(
        "connection/tls.rs",
        Tls("sslmode=require sslcert={certs}/client.crt sslkey={certs}/server.key"),
        Fix(&["sslcert", "sslkey"]),
    ),
    case(
        "connection/tls.rs",
        Unreachable("needs a handshake: the host name is checked when connecting"),
        Fix(&["hostaddr"]),
    ),
    case(
        "connection/tls.rs",
        Unreachable("depends on the machine's CA store, which has certificates here"),
        Fix(&["ca-certificates"]),
    ),
    case("connection/tls.rs", Tls("sslmode=verify-ca sslrootcert={tmp}"), Fix(&["sslrootcert", "PEM"])),
    case("connection/tls.rs", Tls("sslmode=verify-ca sslrootcert={tmp}/empty.pem"), Fix(&["sslrootcert", "PEM"])),
    case(
        "connection/tls.rs",
        Tls("sslmode=verify-full sslrootcert={tmp}/missing.pem"),
        Fix(&["sslrootcert", "sslmode=require"]),
    ),
    case(
        "connection/tls.rs",
        Tls("sslmode=require sslcert={tmp}/missing.crt sslkey={certs}/client.key"),
        Fix(&["sslcert"]),
    ),
    case(
        "connection/tls.rs",
        Tls("sslmode=require sslcert={tmp}/empty.pem sslkey={certs}/client.key"),
        Fix(&["sslcert", "PEM"]),
    ),
    case(
        "connection/tls.rs",
        Tls("sslmode=require sslcert={certs}/client.crt sslkey={tmp}/garbage.key"),
        Fix(&["sslkey", "openssl pkey"]),
    ),
    case(
        "connection/tls.rs",
        Tls("sslmode=require sslcert={certs}/client.crt sslkey={tmp}/missing.key"),
        Fix(&["sslkey"]),
    ),
    case(
        "connection/tls.rs",
        Tls("sslmode=require sslcert={certs}/client.crt sslkey={tmp}/open.key"),
        Fix(&["chmod 600"]),
    ),
];

/// The library files that make settings errors, each with its source: every construction outside its tests must
/// have a case.
const SOURCES: &[(&str, &str)] = &[
    ("config/pairs.rs", include_str!("../config/pairs.rs")),
    ("config/uri.rs", include_str!("../config/uri.rs")),
    ("config/liveness.rs", include_str!("../config/liveness.rs")),
    ("config/protocol.rs", include_str!("../config/protocol.rs")),
    ("config/routing.rs", include_str!("../config/routing.rs")),
    ("config/env.rs", include_str!("../config/env.rs")),
    ("config/parse.rs", include_str!("../config/parse.rs")),
    ("config/targets.rs", include_str!("../config/targets.rs")),
    ("config/tls.rs", include_str!("../config/tls.rs")),
    ("config/mod.rs", include_str!("../config/mod.rs")),
    ("config/display.rs", include_str!("../config/display.rs")),
    ("config/pgpass.rs", include_str!("../config/pgpass.rs")),
    ("protocol/require_auth.rs", include_str!("../protocol/require_auth.rs")),
    ("protocol/auth.rs", include_str!("../protocol/auth.rs")),
    ("protocol/channel_binding.rs", include_str!("../protocol/channel_binding.rs")),
    ("protocol/startup.rs", include_str!("../protocol/startup.rs")),
    ("connection/startup.rs", include_str!("startup.rs")),
    ("connection/tls.rs", include_str!("tls.rs")),
    ("connection/session.rs", include_str!("session.rs")),
    ("connection/transport.rs", include_str!("transport.rs")),
];

fn password_with_nul() -> Error {
    let mut auth = Authenticator::new("user", Some("pass\0word"), AuthPolicy::default(), Link::plain(true));
    let mut raw = BytesMut::from(&b"R\0\0\0\x08\0\0\0\x03"[..]);
    let message = Message::parse(&mut raw).ok().flatten().expect("an AuthenticationCleartextPassword message");
    match auth.on_message(&message, &mut BytesMut::new()) {
        Err(error) => error,
        Ok(_) => panic!("a password with a NUL was sent"),
    }
}

fn options_with_nul() -> Error {
    let params = StartupParams {
        user: "u",
        database: "d",
        application_name: "a",
        options: Some("-c x=\0"),
        statement_timeout: None,
        version: ProtocolVersion::V3_0,
    };
    startup_message(&params, &mut BytesMut::new()).expect_err("the NUL is refused")
}

/// A scratch directory with the files the TLS cases name.
fn scratch() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("fraiseql-wire-advice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    std::fs::write(dir.join("empty.pem"), "").expect("empty.pem");
    std::fs::write(dir.join("garbage.key"), "not a key").expect("garbage.key");
    std::fs::set_permissions(dir.join("garbage.key"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let client_key = std::fs::read(&fraiseql_wire_tests::TestCerts::get().client.key).expect("the client key");
    std::fs::write(dir.join("open.key"), client_key).expect("open.key");
    std::fs::set_permissions(dir.join("open.key"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    dir
}

fn run(trigger: &Trigger, tmp: &std::path::Path) -> Option<Error> {
    let env =
        |vars: &[(&str, &str)]| vars.iter().fold(Environment::empty(), |env, (name, value)| env.with_var(name, value));
    Some(match trigger {
        Parse(s) => s.parse::<Config>().expect_err(s),
        Resolve(s, vars) => {
            s.parse::<Config>().and_then(|config| config.resolve_in(&env(vars)).map(|_| ())).expect_err(s)
        }
        Tls(template) => {
            let certs = fraiseql_wire_tests::TestCerts::get();
            let s = template
                .replace("{certs}/client.crt", &certs.client.cert.display().to_string())
                .replace("{certs}/client.key", &certs.client.key.display().to_string())
                .replace("{certs}/server.key", &certs.server.key.display().to_string())
                .replace("{tmp}", &tmp.display().to_string());
            let resolved = format!("user=u {s}").parse::<Config>().and_then(|c| c.resolve_in(&env(&[]))).expect(&s);
            TlsConnector::new(&resolved.tls).expect_err(&s)
        }
        Run(make) => make(),
        Unreachable(why) => {
            assert!(!why.is_empty(), "say why no unit test reaches it");
            return None;
        }
    })
}

#[test]
fn every_settings_error_gives_advice_that_fits_its_cause() {
    let tmp = scratch();
    let mut wrong = Vec::new();
    for case in CASES {
        let Some(error) = run(&case.trigger, &tmp) else { continue };
        let (message, advice) = match &error {
            Error::Config { message, advice } => (message, advice),
            other => {
                wrong.push(format!("{}: {other:?} is not a settings error", case.site));
                continue;
            }
        };
        let text = error.to_string();
        assert!(text.ends_with(advice.as_ref()), "{text}");
        match case.advice {
            Syntax if advice != CONNECTION_STRING_SYNTAX => {
                wrong.push(format!("{}: `{message}` is a syntax error, but its advice is `{advice}`", case.site));
            }
            Fix(words) => {
                if advice == CONNECTION_STRING_SYNTAX {
                    wrong.push(format!("{}: `{message}` is not about syntax, but gets the syntax hint", case.site));
                }
                for word in words.iter().filter(|word| !text.contains(*word)) {
                    wrong.push(format!("{}: `{text}` does not mention `{word}`", case.site));
                }
            }
            Syntax => {}
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Each place that makes a settings error, outside the tests, has a case above.
#[test]
fn the_cases_cover_every_place_that_makes_a_settings_error() {
    for (site, source) in SOURCES {
        let code = source.split("\n#[cfg(test)]\nmod tests").next().unwrap_or(source);
        let made = code.matches("Error::config(").count() + code.matches("Error::config_syntax(").count();
        let cases = CASES.iter().filter(|case| case.site == *site).count();
        assert!(cases >= made, "{site} makes {made} settings errors and has {cases} cases here: add the new ones");
    }
    for case in CASES {
        assert!(SOURCES.iter().any(|(site, _)| *site == case.site), "{} is not in SOURCES", case.site);
    }
}

/// libpq's syntax is the advice of the two parsers' malformed strings only.
#[test]
fn only_the_parsers_give_the_syntax_hint() {
    for (site, source) in SOURCES {
        let code = source.split("\n#[cfg(test)]\nmod tests").next().unwrap_or(source);
        if !matches!(*site, "config/pairs.rs" | "config/uri.rs") {
            assert!(!code.contains("config_syntax(") && !code.contains("CONNECTION_STRING_SYNTAX"), "{site}");
        }
    }
}
