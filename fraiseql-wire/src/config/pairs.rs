//! libpq's `key=value` form: pairs separated by spaces, values quoted with `'` when they hold spaces.

use super::parse::Parsed;
use crate::error::Error;

/// libpq's `isspace`: ASCII whitespace, vertical tab included.
pub(super) fn is_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

pub(super) fn parse_pairs(s: &str, parsed: &mut Parsed) -> Result<(), Error> {
    let mut rest = s;
    let mut previous_key: Option<String> = None;
    loop {
        rest = rest.trim_start_matches(is_space);
        if rest.is_empty() {
            return Ok(());
        }
        let key_end = rest.find(|c: char| c == '=' || is_space(c)).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start_matches(is_space);
        let Some(after_eq) = rest.strip_prefix('=') else {
            return Err(missing_equals(key, previous_key.as_deref()));
        };
        if key.is_empty() {
            return Err(Error::config_syntax("missing parameter name before `=` in the connection string"));
        }
        let (value, remaining) = read_value(after_eq.trim_start_matches(is_space), key)?;
        parsed.set(key, &value)?;
        previous_key = Some(key.to_owned());
        rest = remaining;
    }
}

fn missing_equals(token: &str, previous_key: Option<&str>) -> Error {
    if previous_key == Some("password") {
        // The stray token is most likely the rest of an unquoted password: do not echo it.
        Error::config(
            "missing `=` after the value of `password` in the connection string",
            "quote values that contain spaces, as in password='a b'",
        )
    } else if let Some((scheme, _)) = token.split_once("://") {
        Error::config(
            format!(
                "missing `=` after `{token}` in the connection string: `{scheme}://` is not a URI scheme libpq \
                 knows, so this was read as key=value pairs"
            ),
            "start a URI with postgresql:// or postgres://",
        )
    } else {
        Error::config_syntax(format!("missing `=` after `{token}` in the connection string"))
    }
}

/// Reads one value, quoted or not, returning it unescaped and what follows it.
fn read_value<'a>(s: &'a str, key: &str) -> Result<(String, &'a str), Error> {
    let mut value = String::new();
    if let Some(quoted) = s.strip_prefix('\'') {
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                '\'' => return Ok((value, &quoted[i + 1..])),
                _ => value.push(c),
            }
        }
        Err(Error::config(format!("unterminated quoted value for `{key}`"), "add the closing `'`"))
    } else {
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if is_space(c) => return Ok((value, &s[i..])),
                // A backslash escapes the next character; a trailing one is dropped, as libpq does.
                '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
                _ => value.push(c),
            }
        }
        Ok((value, ""))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::super::parse::test_helpers::{config_err, tcp, unix};
    use crate::config::Config;

    #[test]
    fn key_value_basic() {
        let c = parse("host=db port=5433 user=app password=pw dbname=shop application_name=api").unwrap();
        assert_eq!(c.hosts, vec![tcp("db")]);
        assert_eq!(c.ports, vec![5433]);
        assert_eq!(c.user.as_deref(), Some("app"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.dbname.as_deref(), Some("shop"));
        assert_eq!(c.application_name.as_deref(), Some("api"));

        assert!(parse("").unwrap() == Config::new());
        assert!(parse("   \t\n ").unwrap() == Config::new());
    }

    #[test]
    fn key_value_spaces_quotes_and_escapes() {
        let c = parse("  host = /run/postgresql\tuser= 'a b'  password ='it\\'s \\\\ \"x\"' dbname=d\\ b  ").unwrap();
        assert_eq!(c.hosts, vec![unix("/run/postgresql")]);
        assert_eq!(c.user.as_deref(), Some("a b"));
        assert_eq!(c.password.as_deref(), Some("it's \\ \"x\""));
        assert_eq!(c.dbname.as_deref(), Some("d b"));

        let c = parse("options='-c search_path=app,public -c statement_timeout=5s' dbname=''").unwrap();
        assert_eq!(c.options.as_deref(), Some("-c search_path=app,public -c statement_timeout=5s"));
        assert_eq!(c.dbname, None);

        // A value may contain `=`.
        let c = parse("options=-csearch_path=app").unwrap();
        assert_eq!(c.options.as_deref(), Some("-csearch_path=app"));
        // Later values win.
        let c = parse("user=a user=b").unwrap();
        assert_eq!(c.user.as_deref(), Some("b"));
    }

    #[test]
    fn key_value_lists() {
        let c = parse("host=h1,h2,/tmp port=1,,3").unwrap();
        assert_eq!(c.hosts, vec![tcp("h1"), tcp("h2"), unix("/tmp")]);
        assert_eq!(c.ports, vec![1, 5432, 3]);
        let c = parse("host=::1").unwrap();
        assert_eq!(c.hosts, vec![tcp("::1")]);
        let c = parse("host=[::1]").unwrap();
        assert_eq!(c.hosts, vec![tcp("::1")]);
        assert!(config_err("host=a,,b").contains("empty entry"));
        // Found by the connection_string fuzz target: `[]` was read as an empty host name.
        assert!(config_err("host=a,[]").contains("empty IPv6 address"));
        assert!(config_err("host=[]").contains("empty IPv6 address"));
        // One pair of brackets is dropped, never two, so the name prints back as it reads.
        assert_eq!(parse("host=[[::1]]").unwrap().hosts, vec![tcp("[[::1]]")]);
        assert_eq!(parse("host=[/tmp]").unwrap().hosts, vec![tcp("[/tmp]")]);
    }

    /// Found by the connection_string fuzz target: a NUL was kept in a value (libpq's strings end there).
    #[test]
    fn a_nul_character_is_refused() {
        for s in ["host=a\0b", "user=\0", "postgresql://h/d\0b", "dbname='a\0'"] {
            assert!(config_err(s).contains("NUL"), "{s:?}");
        }
    }

    #[test]
    fn key_value_malformed() {
        let msg = config_err("host=db user");
        assert!(msg.contains("missing `=`") && msg.contains("`user`"), "{msg}");
        let msg = config_err("password=two words");
        assert!(msg.contains("password") && !msg.contains("words"), "{msg}");
        assert!(config_err("=x").contains("parameter name"));
        let msg = config_err("user='unterminated");
        assert!(msg.contains("unterminated") && msg.contains("`user`"), "{msg}");
        assert!(config_err("user='ends with backslash\\").contains("unterminated"));
        assert!(config_err("port=70000").contains("70000"));
        assert!(config_err("port=0").contains("1 to 65535"));
        assert!(config_err("port=5432x").contains("5432x"));
        assert!(config_err("connect_timeout=soon").contains("connect_timeout"));
        assert!(config_err("sslmode=sometimes").contains("sslmode"));
        assert!(config_err("hostaddr=db.example.com").contains("numeric IP"));
        let msg = config_err("postgre://host/db");
        assert!(msg.contains("`postgre://` is not a URI scheme") && msg.contains("postgresql://"), "{msg}");
    }

    #[test]
    fn key_value_whitespace_and_backslashes_as_libpq() {
        // libpq's isspace: a vertical tab separates pairs too.
        let c = parse("host=db\x0buser=app").unwrap();
        assert_eq!((c.hosts, c.user.as_deref()), (vec![tcp("db")], Some("app")));
        // A trailing backslash in an unquoted value escapes nothing and is dropped.
        assert_eq!(parse("dbname=db\\").unwrap().dbname.as_deref(), Some("db"));
    }
}
