//! Relation names: parsed like SQL identifiers, then always quoted, so no name can change the statement.

use std::borrow::Cow;

use crate::error::BuildError;

/// PostgreSQL silently truncates longer identifiers; we refuse them instead.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// A validated `[schema.]relation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Relation {
    /// The name as the caller wrote it, for messages.
    pub(crate) given: String,
    /// The quoted form embedded in SQL: `"app"."v_project"`.
    pub(crate) quoted: String,
}

impl Relation {
    /// A relation named by a derive: the names are taken as they are (no case folding) and quoted.
    pub(crate) fn from_parts(schema: Option<&str>, name: &str) -> Relation {
        let given = schema.map_or_else(|| name.to_owned(), |schema| format!("{schema}.{name}"));
        let quoted = match schema {
            Some(schema) => format!("{}.{}", quote_identifier(schema), quote_identifier(name)),
            None => quote_identifier(name),
        };
        Relation { given, quoted }
    }

    /// Parses `name`, `schema.name`, or either with double-quoted parts (`"Weird Name"`).
    ///
    /// Unquoted parts fold to lower case as PostgreSQL folds them (ASCII letters only) and must look like
    /// identifiers.
    pub(crate) fn parse(name: &str) -> Result<Relation, BuildError> {
        let invalid = |reason: &str| BuildError::Relation { name: name.to_owned(), reason: reason.to_owned() };
        // The quoted form is written as the parts are read: this runs for every query, so no part is kept.
        let mut quoted = String::with_capacity(name.len() + 4);
        let mut parts = 0;
        let mut rest = name;
        loop {
            let (part, after) = if let Some(inside) = rest.strip_prefix('"') {
                let (part, after) =
                    parse_quoted(inside).ok_or_else(|| invalid("a double-quoted part is not closed"))?;
                (Cow::Owned(part), after)
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                let (raw, after) = rest.split_at(end);
                (parse_unquoted(raw).map_err(|reason| invalid(&reason))?, after)
            };
            if part.is_empty() {
                return Err(invalid("a part of the name is empty"));
            }
            if part.contains('\0') {
                return Err(invalid("names cannot contain NUL"));
            }
            if part.len() > MAX_IDENTIFIER_BYTES {
                return Err(invalid("a part is longer than PostgreSQL's 63-byte identifier limit"));
            }
            if parts > 0 {
                quoted.push('.');
            }
            push_quoted_identifier(&mut quoted, &part);
            parts += 1;
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.is_empty() => break,
                None => return Err(invalid("unexpected text after a quoted part")),
            }
        }
        if parts > 2 {
            return Err(invalid("expected `relation` or `schema.relation`"));
        }
        Ok(Relation { given: name.to_owned(), quoted })
    }

    /// The quoted schema with its dot (`"app".`), empty when the name has no schema: to create objects beside
    /// the relation.
    pub(crate) fn schema_prefix(&self) -> &str {
        // The quoted form doubles inner quotes, so the first lone closing quote ends the first part.
        let bytes = self.quoted.as_bytes();
        let mut i = 1;
        while i < bytes.len() {
            if bytes[i] == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                return if bytes.get(i + 1) == Some(&b'.') { &self.quoted[..i + 2] } else { "" };
            }
            i += 1;
        }
        ""
    }
}

/// The text of a quoted part (after its opening quote) and what follows its closing quote.
fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if s[i + 1..].starts_with('"') {
                out.push('"');
                chars.next();
            } else {
                return Some((out, &s[i + 1..]));
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn parse_unquoted(raw: &str) -> Result<Cow<'_, str>, String> {
    // PostgreSQL's lexer: an identifier starts with a letter, `_` or any non-ASCII character, and goes on with
    // those, digits and `$`.
    let mut chars = raw.chars();
    match chars.next() {
        None => return Ok(Cow::Borrowed("")),
        Some(c) if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() => {}
        Some(c) => return Err(format!("`{c}` cannot start an unquoted name")),
    }
    if let Some(c) = chars.find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii())) {
        return Err(format!("`{c}` is not allowed in an unquoted name"));
    }
    // Only ASCII letters fold: in a UTF8 database the server leaves `Ü` as it is, so `Übersicht` names
    // "Übersicht", not "übersicht".
    if raw.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(Cow::Owned(raw.to_ascii_lowercase()))
    } else {
        Ok(Cow::Borrowed(raw))
    }
}

/// Quotes an identifier for SQL, doubling embedded quotes.
pub(crate) fn quote_identifier(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    push_quoted_identifier(&mut quoted, name);
    quoted
}

/// Appends `name` quoted for SQL, doubling embedded quotes.
fn push_quoted_identifier(out: &mut String, name: &str) {
    out.push('"');
    if name.contains('"') {
        out.push_str(&name.replace('"', "\"\""));
    } else {
        out.push_str(name);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn quoted(name: &str) -> String {
        Relation::parse(name).unwrap().quoted
    }

    #[test]
    fn plain_and_qualified_names() {
        assert_eq!(quoted("v_project"), r#""v_project""#);
        assert_eq!(quoted("app.v_project"), r#""app"."v_project""#);
        assert_eq!(quoted("App.V_Project"), r#""app"."v_project""#);
    }

    #[test]
    fn quoted_parts_keep_case_and_may_hold_anything() {
        assert_eq!(quoted(r#""App"."my view""#), r#""App"."my view""#);
        assert_eq!(quoted(r#""a""b".c"#), r#""a""b"."c""#);
        assert_eq!(quoted(r#""x.y""#), r#""x.y""#);
    }

    #[test]
    fn injection_attempts_are_refused() {
        for name in
            ["'; DROP TABLE canary; --", "v; DROP TABLE canary", "v--", "v (x)", "a.b.c", "", ".v", "v.", r#""v"x"#]
        {
            assert!(Relation::parse(name).is_err(), "{name} should be refused");
        }
    }

    #[test]
    fn quoted_injection_stays_one_identifier() {
        assert_eq!(quoted(r#""'; DROP TABLE canary; --""#), r#""'; DROP TABLE canary; --""#);
    }

    #[test]
    fn long_names_are_refused_not_truncated() {
        assert!(Relation::parse(&"a".repeat(63)).is_ok());
        assert!(Relation::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn only_ascii_letters_fold() {
        assert_eq!(quoted("Übersicht"), r#""Übersicht""#);
        assert_eq!(quoted("ÜBER_Sicht"), r#""Über_sicht""#);
        assert_eq!(quoted("données.Vue_é"), r#""données"."vue_é""#);
        assert!(Relation::parse("🚀").is_ok(), "non-ASCII characters are identifier characters");
        assert!(Relation::parse("1v").is_err());
    }

    /// The dot-separated parts of a quoted relation name (dots inside quotes do not separate).
    fn split_quoted(quoted: &str) -> Vec<&str> {
        let mut parts = Vec::new();
        let mut start = 0;
        let mut inside = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '"' => inside = !inside,
                '.' if !inside => {
                    parts.push(&quoted[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&quoted[start..]);
        parts
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn relation_names_never_panic_and_are_always_quoted(name in "\\PC{0,20}|[a-zA-Z_\\.\"' ;-]{0,20}") {
            if let Ok(relation) = Relation::parse(&name) {
                // Every part is a quoted identifier: the statement cannot be changed by the name.
                for part in split_quoted(&relation.quoted) {
                    prop_assert!(part.len() >= 2 && part.starts_with('"') && part.ends_with('"'), "{}", relation.quoted);
                    prop_assert!(!part[1..part.len() - 1].replace("\"\"", "").contains('"'), "{}", relation.quoted);
                }
            }
        }

        #[test]
        fn quoting_round_trips(name in "\\PC{1,20}") {
            prop_assume!(!name.contains('\0') && name.len() <= 63);
            let relation = Relation::parse(&quote_identifier(&name)).map(|r| r.quoted);
            prop_assert_eq!(relation.ok(), Some(quote_identifier(&name)));
        }
    }
}
