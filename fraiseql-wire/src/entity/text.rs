//! Text fields (`String`, text newtypes, unit-variant `Scalar` enums): the pattern operators, compared on the
//! `->>` text of the value. Their equality and ordering are the shared comparisons of [`Field`].
//!
//! | operator | SQL | index that serves it |
//! |---|---|---|
//! | `starts_with` | `data->>'name' LIKE $1` (`$1 = 'abc%'`, escaped) | btree with `text_pattern_ops` on `(data->>'name')` |
//! | `ends_with`, `contains`, `like`, `ilike` | `LIKE`/`ILIKE $1` | trigram GIN (`pg_trgm`, `gin_trgm_ops`) on `(data->>'name')` |
//! | `matches_regex`, `matches_regex_ci` | `~ $1`, `~* $1` | the same trigram index |

use super::field::Field;
use super::filter::Filter;
use super::kind::{FieldType, Textual};
use crate::sql::{Expr, Param};

impl<E: 'static, T: FieldType + 'static> Field<E, T> {
    pub(super) fn like_filter(&self, op: &str, pattern: String) -> Filter<E> {
        Filter::expr(Expr::compare(format!("{} {op} ", self.location.target.text_expr()), Param::text(pattern), ""))
    }

    /// Starts with `prefix` (taken literally: `%`, `_` and `\` in it are escaped).
    pub fn starts_with(&self, prefix: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("LIKE", format!("{}%", escape_like(prefix)))
    }

    /// Ends with `suffix` (taken literally).
    pub fn ends_with(&self, suffix: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("LIKE", format!("%{}", escape_like(suffix)))
    }

    /// SQL `LIKE` with `pattern` as written (`%` any run, `_` one character, `\` escapes).
    pub fn like(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("LIKE", pattern.to_owned())
    }

    /// SQL `ILIKE`: `like`, ignoring case.
    pub fn ilike(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("ILIKE", pattern.to_owned())
    }

    /// Matches the POSIX regular expression `pattern` (`~`, a bound parameter; an invalid pattern is the
    /// server's error 2201B). A trigram GIN index (`pg_trgm`) on the expression can serve it.
    pub fn matches_regex(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("~", pattern.to_owned())
    }

    /// `matches_regex`, ignoring case (`~*`).
    pub fn matches_regex_ci(&self, pattern: &str) -> Filter<E>
    where
        T::Kind: Textual<T>,
    {
        self.like_filter("~*", pattern.to_owned())
    }
}

/// Escapes `%`, `_` and `\` so a string matches itself in a `LIKE` pattern.
pub(super) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
