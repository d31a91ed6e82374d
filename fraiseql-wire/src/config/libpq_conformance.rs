//! libpq's own connection-string tests, run against [`Config`]'s parser.
//!
//! The cases are those of `src/interfaces/libpq/t/001_uri.pl` in the PostgreSQL repository (PostgreSQL 18); the
//! older `src/interfaces/libpq/test/regress.in` holds a subset of the same inputs. Each expected outcome is
//! written the way libpq's test program prints it: the settings that differ from the defaults, then `(local)` or
//! `(inet)`, or the error libpq gives. Where fraiseql-wire deliberately differs, the case is in [`DIFFERENCES`]
//! with the reason, and `docs/CONNECTION_STRINGS.md` says the same.

use super::parse::parse;
use super::tls::{TlsOptions, TlsSettings};
use super::{Config, Environment, Host};
use crate::error::Error;

/// What libpq does with an input.
enum Libpq {
    /// It accepts the input with these settings, printed as libpq's test program prints them.
    Settings(&'static str),
    /// It refuses the input with this message.
    Refuses(&'static str),
}

use Libpq::{Refuses, Settings};

/// One case: the input, the environment the case sets (`PGSSLROOTCERT` only), and libpq's outcome.
struct Case {
    input: &'static str,
    env: &'static [(&'static str, &'static str)],
    libpq: Libpq,
}

const fn case(input: &'static str, libpq: Libpq) -> Case {
    Case { input, env: &[], libpq }
}

const SYSTEM_ROOTS: &[(&str, &str)] = &[("PGSSLROOTCERT", "system")];

/// `001_uri.pl`, in its order.
const CASES: &[Case] = &[
    case(
        "postgresql://uri-user:secret@host:12345/db",
        Settings("user='uri-user' password='secret' dbname='db' host='host' port='12345' (inet)"),
    ),
    case(
        "postgresql://uri-user@host:12345/db",
        Settings("user='uri-user' dbname='db' host='host' port='12345' (inet)"),
    ),
    case("postgresql://uri-user@host/db", Settings("user='uri-user' dbname='db' host='host' (inet)")),
    case("postgresql://host:12345/db", Settings("dbname='db' host='host' port='12345' (inet)")),
    case("postgresql://host/db", Settings("dbname='db' host='host' (inet)")),
    case("postgresql://uri-user@host:12345/", Settings("user='uri-user' host='host' port='12345' (inet)")),
    case("postgresql://uri-user@host/", Settings("user='uri-user' host='host' (inet)")),
    case("postgresql://uri-user@", Settings("user='uri-user' (local)")),
    case("postgresql://host:12345/", Settings("host='host' port='12345' (inet)")),
    case("postgresql://host:12345", Settings("host='host' port='12345' (inet)")),
    case("postgresql://host/db", Settings("dbname='db' host='host' (inet)")),
    case("postgresql://host/", Settings("host='host' (inet)")),
    case("postgresql://host", Settings("host='host' (inet)")),
    case("postgresql://", Settings("(local)")),
    case("postgresql://?hostaddr=127.0.0.1", Settings("hostaddr='127.0.0.1' (inet)")),
    case("postgresql://example.com?hostaddr=63.1.2.4", Settings("host='example.com' hostaddr='63.1.2.4' (inet)")),
    case("postgresql://%68ost/", Settings("host='host' (inet)")),
    case("postgresql://host/db?user=uri-user", Settings("user='uri-user' dbname='db' host='host' (inet)")),
    case(
        "postgresql://host/db?user=uri-user&port=12345",
        Settings("user='uri-user' dbname='db' host='host' port='12345' (inet)"),
    ),
    case(
        "postgresql://host/db?u%73er=someotheruser&port=12345",
        Settings("user='someotheruser' dbname='db' host='host' port='12345' (inet)"),
    ),
    case("postgresql://host/db?u%7aer=someotheruser&port=12345", Refuses("invalid URI query parameter: \"uzer\"")),
    case("postgresql://host:12345?user=uri-user", Settings("user='uri-user' host='host' port='12345' (inet)")),
    case("postgresql://host?user=uri-user", Settings("user='uri-user' host='host' (inet)")),
    // Leading and trailing spaces around query keys and values are trimmed.
    case(
        "postgresql://host?  user = uri-user & port  = 12345 ",
        Settings("user='uri-user' host='host' port='12345' (inet)"),
    ),
    // Spaces inside a key or a value are refused.
    case(
        "postgresql://host?  user user  =  uri  & port = 12345 12 ",
        Refuses("unexpected spaces found in \"  user user  \", use percent-encoded spaces (%20) instead"),
    ),
    case(
        "postgresql://host?  user  =  uri-user  & port = 12345 12 ",
        Refuses("unexpected spaces found in \" 12345 12 \", use percent-encoded spaces (%20) instead"),
    ),
    case("postgresql://host?", Settings("host='host' (inet)")),
    case("postgresql://[::1]:12345/db", Settings("dbname='db' host='::1' port='12345' (inet)")),
    case("postgresql://[::1]/db", Settings("dbname='db' host='::1' (inet)")),
    case("postgresql://[2001:db8::1234]/", Settings("host='2001:db8::1234' (inet)")),
    case("postgresql://[200z:db8::1234]/", Settings("host='200z:db8::1234' (inet)")),
    case("postgresql://[::1]", Settings("host='::1' (inet)")),
    case("postgres://", Settings("(local)")),
    case("postgres:///", Settings("(local)")),
    case("postgres:///db", Settings("dbname='db' (local)")),
    case("postgres://uri-user@/db", Settings("user='uri-user' dbname='db' (local)")),
    case("postgres://?host=/path/to/socket/dir", Settings("host='/path/to/socket/dir' (local)")),
    case("postgresql://host?uzer=", Refuses("invalid URI query parameter: \"uzer\"")),
    case("postgre://", Refuses("missing \"=\" after \"postgre://\" in connection info string")),
    case(
        "postgres://[::1",
        Refuses(
            "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgres://[::1\"",
        ),
    ),
    case("postgres://[]", Refuses("IPv6 host address may not be empty in URI: \"postgres://[]\"")),
    case(
        "postgres://[::1]z",
        Refuses("unexpected character \"z\" at position 17 in URI (expected \":\" or \"/\"): \"postgres://[::1]z\""),
    ),
    case("postgresql://host?zzz", Refuses("missing key/value separator \"=\" in URI query parameter: \"zzz\"")),
    case(
        "postgresql://host?value1&value2",
        Refuses("missing key/value separator \"=\" in URI query parameter: \"value1\""),
    ),
    case("postgresql://host?key=key=value", Refuses("extra key/value separator \"=\" in URI query parameter: \"key\"")),
    case("postgres://host?dbname=%XXfoo", Refuses("invalid percent-encoded token: \"%XXfoo\"")),
    case("postgresql://a%00b", Refuses("forbidden value %00 in percent-encoded value: \"a%00b\"")),
    case("postgresql://%zz", Refuses("invalid percent-encoded token: \"%zz\"")),
    case("postgresql://%1", Refuses("invalid percent-encoded token: \"%1\"")),
    case("postgresql://%", Refuses("invalid percent-encoded token: \"%\"")),
    case("postgres://@host", Settings("host='host' (inet)")),
    case("postgres://host:/", Settings("host='host' (inet)")),
    case("postgres://:12345/", Settings("port='12345' (local)")),
    case(
        "postgres://otheruser@?host=/no/such/directory",
        Settings("user='otheruser' host='/no/such/directory' (local)"),
    ),
    case(
        "postgres://otheruser@/?host=/no/such/directory",
        Settings("user='otheruser' host='/no/such/directory' (local)"),
    ),
    case(
        "postgres://otheruser@:12345?host=/no/such/socket/path",
        Settings("user='otheruser' host='/no/such/socket/path' port='12345' (local)"),
    ),
    case(
        "postgres://otheruser@:12345/db?host=/path/to/socket",
        Settings("user='otheruser' dbname='db' host='/path/to/socket' port='12345' (local)"),
    ),
    case(
        "postgres://:12345/db?host=/path/to/socket",
        Settings("dbname='db' host='/path/to/socket' port='12345' (local)"),
    ),
    case("postgres://:12345?host=/path/to/socket", Settings("host='/path/to/socket' port='12345' (local)")),
    case("postgres://%2Fvar%2Flib%2Fpostgresql/dbname", Settings("dbname='dbname' host='/var/lib/postgresql' (local)")),
    // With the system's roots, the default sslmode is verify-full, so only another mode is printed.
    Case {
        input: "postgresql://host?sslmode=disable",
        env: SYSTEM_ROOTS,
        libpq: Settings("host='host' sslmode='disable' (inet)"),
    },
    Case {
        input: "postgresql://host?sslmode=prefer",
        env: SYSTEM_ROOTS,
        libpq: Settings("host='host' sslmode='prefer' (inet)"),
    },
    Case { input: "postgresql://host?sslmode=verify-full", env: SYSTEM_ROOTS, libpq: Settings("host='host' (inet)") },
];

/// Inputs the users reported, beyond libpq's file: each was handled differently from libpq before.
const REPORTED: &[Case] = &[
    case("postgres://[]:5433/db", Refuses("IPv6 host address may not be empty in URI: \"postgres://[]:5433/db\"")),
    case("postgresql://host?user=a=b", Refuses("extra key/value separator \"=\" in URI query parameter: \"user\"")),
    case(
        "postgresql://host/a b",
        Refuses("unexpected spaces found in \"a b\", use percent-encoded spaces (%20) instead"),
    ),
    case(
        "postgresql://host?dbname=a b",
        Refuses("unexpected spaces found in \"a b\", use percent-encoded spaces (%20) instead"),
    ),
    case(
        "postgresql://us er@host",
        Refuses("unexpected spaces found in \"us er\", use percent-encoded spaces (%20) instead"),
    ),
    case(
        "postgresql://h1, h2/db",
        Refuses("unexpected spaces found in \"h1, h2\", use percent-encoded spaces (%20) instead"),
    ),
    case("postgresql://host/a%20b", Settings("dbname='a b' host='host' (inet)")),
    case("postgresql://host/db ", Settings("dbname='db' host='host' (inet)")),
    case("postgresql://[::1],[::2]:5433/db", Settings("dbname='db' host='::1,::2' port=',5433' (inet)")),
    case("postgresql://[::1]?port=5433", Settings("host='::1' port='5433' (inet)")),
];

/// A deliberate difference: the input, what libpq does, what fraiseql-wire does, and why.
struct Difference {
    input: &'static str,
    libpq: Libpq,
    ours: Libpq,
    why: &'static str,
}

const DIFFERENCES: &[Difference] = &[
    Difference {
        input: "  postgresql://host/db",
        libpq: Refuses("missing \"=\" after \"postgresql://host/db\" in connection info string"),
        ours: Settings("dbname='db' host='host' (inet)"),
        why: "whitespace around the whole string (a URI pasted with a leading space, a variable read with its \
              newline) is dropped rather than turning the URI into a malformed key=value string",
    },
    Difference {
        input: "postgresql://me:a@b@host/db",
        libpq: Settings("user='me' password='a' dbname='db' host='b@host' (inet)"),
        ours: Settings("user='me' password='a@b' dbname='db' host='host' (inet)"),
        why: "the user information ends at the last `@` before the path, as in WHATWG URLs, so an unencoded `@` in \
              a password stays in the password instead of sending the rest of it to DNS as a host name",
    },
    Difference {
        input: "postgresql://host?user=me@example",
        libpq: Settings("user='host?user=me' host='example' (inet)"),
        ours: Settings("user='me@example' host='host' (inet)"),
        why: "the query string starts at the first `?`, so an `@` in a query value is part of that value; libpq \
              looks for the user information up to the first `/` and reads everything before the `@` as the user",
    },
];

/// Renders the settings as libpq's test program prints them: every setting that differs from the default, in
/// libpq's order, then `(inet)` if a host name, an IP address or a hostaddr is set, else `(local)`.
fn render(config: &Config, default_mode: super::SslMode) -> String {
    let mut out = String::new();
    let mut push = |key: &str, value: &str| out.push_str(&format!("{key}='{value}' "));
    if let Some(user) = &config.user {
        push("user", user);
    }
    if let Some(password) = &config.password {
        push("password", password);
    }
    if let Some(dbname) = &config.dbname {
        push("dbname", dbname);
    }
    if !config.hosts.is_empty() {
        push("host", &config.hosts.iter().map(Host::to_string).collect::<Vec<_>>().join(","));
    }
    if !config.hostaddrs.is_empty() {
        push("hostaddr", &config.hostaddrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    }
    if !config.ports.is_empty() {
        // libpq keeps the port list as written; an empty entry means the default port.
        let ports: Vec<String> =
            config.ports.iter().map(|&port| if port == 5432 { String::new() } else { port.to_string() }).collect();
        if ports.iter().any(|port| !port.is_empty()) {
            push("port", &ports.join(","));
        }
    }
    if let Some(mode) = config.ssl_mode.filter(|&mode| mode != default_mode) {
        push("sslmode", mode.as_str());
    }
    let inet = !config.hostaddrs.is_empty() || config.hosts.iter().any(|host| matches!(host, Host::Tcp(_)));
    out.push_str(if inet { "(inet)" } else { "(local)" });
    out
}

/// The settings a case may set; anything else set by the parser is a mismatch.
fn without_rendered_settings(config: &Config) -> Config {
    let mut rest = config.clone();
    rest.user = None;
    rest.password = None;
    rest.dbname = None;
    rest.hosts.clear();
    rest.hostaddrs.clear();
    rest.ports.clear();
    rest.ssl_mode = None;
    rest
}

/// Runs one input as libpq's test program would, and gives the same kind of outcome.
fn outcome(input: &str, env: &[(&str, &str)]) -> Result<String, Error> {
    let config = parse(input)?;
    let env = env.iter().fold(Environment::empty(), |env, (name, value)| env.with_var(name, value));
    let default_mode = TlsSettings::resolve(None, &TlsOptions::default(), &env).map(|tls| tls.mode)?;
    assert!(
        without_rendered_settings(&config) == Config::new(),
        "{input}: sets more than libpq's test prints: {config:?}"
    );
    Ok(render(&config, default_mode))
}

/// Checks an outcome against what libpq does.
fn check(input: &str, env: &[(&str, &str)], expected: &Libpq) -> Result<(), String> {
    match (outcome(input, env), expected) {
        (Ok(settings), Settings(want)) if settings == *want => Ok(()),
        (Ok(settings), Settings(want)) => Err(format!("{input:?}: settings {settings:?}, libpq: {want:?}")),
        (Ok(settings), Refuses(why)) => Err(format!("{input:?}: accepted as {settings:?}; libpq refuses it: {why}")),
        (Err(Error::Config { .. } | Error::UnknownParameter { .. }), Refuses(_)) => Ok(()),
        (Err(error), want) => Err(format!("{input:?}: {error:?}; libpq: {}", describe(want))),
    }
}

fn describe(libpq: &Libpq) -> String {
    match libpq {
        Settings(settings) => format!("accepts it as {settings:?}"),
        Refuses(why) => format!("refuses it ({why})"),
    }
}

#[test]
fn libpq_uri_cases() {
    let failures: Vec<String> =
        CASES.iter().filter_map(|case| check(case.input, case.env, &case.libpq).err()).collect();
    assert!(failures.is_empty(), "{} of {} libpq cases differ:\n{}", failures.len(), CASES.len(), failures.join("\n"));
    assert_eq!(CASES.len(), 63, "001_uri.pl has 63 cases");
}

#[test]
fn reported_cases_behave_as_libpq() {
    let failures: Vec<String> =
        REPORTED.iter().filter_map(|case| check(case.input, case.env, &case.libpq).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn deliberate_differences_stay_as_documented() {
    for difference in DIFFERENCES {
        assert!(!difference.why.is_empty());
        check(difference.input, &[], &difference.ours)
            .unwrap_or_else(|e| panic!("{e}\nwhy we differ: {}", difference.why));
        assert!(
            check(difference.input, &[], &difference.libpq).is_err(),
            "{}: now behaves as libpq; remove it from DIFFERENCES and the docs",
            difference.input
        );
    }
}

/// Refusals name what is wrong as libpq's do, without echoing a password.
#[test]
fn refusals_name_the_offending_piece() {
    for (input, names) in [
        ("postgres://[]", "empty"),
        ("postgresql://host?key=key=value", "extra `=`"),
        ("postgresql://host?zzz", "missing `=`"),
        ("postgresql://host/a b", "spaces"),
        ("postgresql://host?  user user  =  uri", "spaces"),
        ("postgresql://host/db?u%7aer=x", "uzer"),
        ("postgre://", "postgre://"),
    ] {
        let error = parse(input).expect_err(input).to_string();
        assert!(error.contains(names), "{input}: {error}");
    }
    let error = parse("postgresql://user:two words@host").expect_err("spaces").to_string();
    assert!(error.contains("password") && !error.contains("two") && !error.contains("words"), "{error}");
}
