//! SQL fragments supplied by the caller (`where_sql`, `order_by_sql`).
//!
//! A fragment is trusted SQL text, like the query string of any client library, but it is embedded inside our
//! statement, so it must be one self-contained expression: balanced parentheses, closed quotes and comments,
//! no `;`. It is lexed once, here: its `$1..$n` placeholders become references to its own parameters, which get
//! their final numbers when the whole statement is rendered.

use super::Expr;
use crate::error::BuildError;

/// Checks `fragment` and turns it into an expression whose placeholder `$k` refers to its parameter `k`. Every
/// placeholder must be in `1..=param_count`, and every parameter must be used.
pub(crate) fn parse(fragment: &str, param_count: usize) -> Result<Expr, BuildError> {
    let invalid = |reason: String| BuildError::Fragment { fragment: fragment.to_owned(), reason };
    if fragment.trim().is_empty() {
        return Err(invalid("the fragment is empty".to_owned()));
    }
    let bytes = fragment.as_bytes();
    let mut out = Expr::new();
    let mut used = vec![false; param_count];
    let mut depth = 0usize;
    let mut i = 0;
    let mut copied = 0;
    let mut ends_in_line_comment = false;
    while i < bytes.len() {
        ends_in_line_comment = false;
        match bytes[i] {
            b'\'' => {
                let escapes = i > 0 && matches!(bytes[i - 1], b'e' | b'E') && !is_ident_byte_before(bytes, i - 1);
                i = skip_string(bytes, i + 1, escapes)
                    .ok_or_else(|| invalid("a string literal is not closed".into()))?;
            }
            b'"' => {
                i = skip_quoted_identifier(bytes, i + 1)
                    .ok_or_else(|| invalid("a quoted identifier is not closed".into()))?;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| i + p);
                ends_in_line_comment = i == bytes.len();
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i + 2).ok_or_else(|| invalid("a /* comment */ is not closed".into()))?;
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i + 1;
                let end = start + bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
                let n: usize = fragment[start..end].parse().unwrap_or(usize::MAX);
                if n == 0 || n > param_count {
                    return Err(invalid(format!(
                        "placeholder ${} has no parameter ({param_count} given; placeholders count from $1)",
                        &fragment[start..end]
                    )));
                }
                used[n - 1] = true;
                out.push_text(&fragment[copied..i]);
                out.push_value_ref(n - 1);
                copied = end;
                i = end;
            }
            b'$' if !is_ident_byte_before(bytes, i) => {
                i = match dollar_tag(bytes, i) {
                    Some(tag) => {
                        let body = i + tag.len();
                        find(bytes, body, tag).ok_or_else(|| invalid("a $$-quoted string is not closed".into()))?
                            + tag.len()
                    }
                    None => i + 1,
                };
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.checked_sub(1).ok_or_else(|| invalid("`)` without a matching `(`".into()))?;
                i += 1;
            }
            b';' => return Err(invalid("`;` is not allowed: a fragment is one expression, not a statement".into())),
            b'\0' => return Err(invalid("NUL bytes are not allowed".into())),
            _ => i += 1,
        }
    }
    if depth != 0 {
        return Err(invalid("`(` without a matching `)`".into()));
    }
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(invalid(format!("parameter ${} is never used", unused + 1)));
    }
    out.push_text(&fragment[copied..]);
    if ends_in_line_comment {
        // Whatever we append after the fragment must not end up inside its comment.
        out.push_text("\n");
    }
    Ok(out)
}

/// Whether the byte before `i` continues an identifier (so `$` or `E` there is part of a name).
fn is_ident_byte_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] >= 0x80)
}

/// Index just past the closing quote of a string literal starting at `i` (after its opening quote).
fn skip_string(bytes: &[u8], mut i: usize, backslash_escapes: bool) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn skip_quoted_identifier(bytes: &[u8], mut i: usize) -> Option<usize> {
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// Block comments nest in PostgreSQL.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 1;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The `$tag$` opening a dollar-quoted string at `i`, if there is one.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<&[u8]> {
    let rest = &bytes[i + 1..];
    let len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b >= 0x80).count();
    if rest.get(len) == Some(&b'$') && rest.first().is_none_or(|b| !b.is_ascii_digit()) {
        Some(&bytes[i..i + len + 2])
    } else {
        None
    }
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sql::Param;

    /// The fragment as it reads after `offset` parameters of other conditions.
    fn renumber(fragment: &str, offset: usize, param_count: usize) -> Result<String, BuildError> {
        let expr = parse(fragment, param_count)?.with_params(vec![Param::NULL; param_count]);
        let mut out = String::new();
        expr.write(&mut out, &mut vec![Param::NULL; offset]);
        Ok(out)
    }

    #[test]
    fn placeholders_are_shifted() {
        assert_eq!(renumber("a = $1 AND b = $2", 3, 2).unwrap(), "a = $4 AND b = $5");
        assert_eq!(renumber("a = $1 OR a = $1", 0, 1).unwrap(), "a = $1 OR a = $1");
    }

    #[test]
    fn placeholders_inside_quotes_and_comments_are_left_alone() {
        let sql = r#"x = '$1' AND "$1" = $1 /* $1 */ AND y = $$ $1 $$ AND z = $t$ $1 $t$ -- $1"#;
        assert_eq!(
            renumber(sql, 1, 1).unwrap(),
            "x = '$1' AND \"$1\" = $2 /* $1 */ AND y = $$ $1 $$ AND z = $t$ $1 $t$ -- $1\n"
        );
    }

    #[test]
    fn semicolons_and_unbalanced_parentheses_are_refused() {
        assert!(renumber("true; DROP TABLE canary", 0, 0).is_err());
        assert!(renumber("true) OR (true", 0, 0).is_err());
        assert!(renumber("(true", 0, 0).is_err());
        assert!(renumber("x = 'open", 0, 0).is_err());
        assert!(renumber("x /* open", 0, 0).is_err());
        assert!(renumber("x = $$ open", 0, 0).is_err());
        assert!(renumber("   ", 0, 0).is_err());
    }

    #[test]
    fn semicolons_inside_literals_are_fine() {
        assert!(renumber("x = ';' AND y = E'\\';'", 0, 0).is_ok());
    }

    #[test]
    fn placeholder_counts_are_checked() {
        assert!(renumber("a = $2", 0, 1).is_err());
        assert!(renumber("a = $0", 0, 1).is_err());
        assert!(renumber("a = 1", 0, 1).is_err());
        assert!(renumber("a = $99999999999999999999999", 0, 1).is_err());
    }

    #[test]
    fn dollar_in_identifiers_is_not_a_quote() {
        assert_eq!(renumber("a$b = $1", 0, 1).unwrap(), "a$b = $1");
    }

    /// SQL-ish text: quotes, dollars, comments, parentheses and semicolons appear often.
    fn sqlish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("'".to_owned()),
                Just("\"".to_owned()),
                Just("$".to_owned()),
                Just("$1".to_owned()),
                Just("$$".to_owned()),
                Just("$t$".to_owned()),
                Just("--".to_owned()),
                Just("/*".to_owned()),
                Just("*/".to_owned()),
                Just("(".to_owned()),
                Just(")".to_owned()),
                Just(";".to_owned()),
                Just("\n".to_owned()),
                Just("E'".to_owned()),
                Just("\\".to_owned()),
                "[a-z ]{0,3}",
                any::<char>().prop_map(String::from),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn fragments_never_panic_and_accepted_ones_stay_one_expression(fragment in sqlish(), params in 0usize..3) {
            if let Ok(sql) = renumber(&fragment, 5, params) {
                // Wrapped as the builder wraps it, the result must still be one balanced, semicolon-free
                // expression.
                let wrapped = format!("({sql})");
                prop_assert!(renumber(&wrapped, 0, 0).is_ok() || params > 0, "{wrapped}");
            }
        }
    }
}
