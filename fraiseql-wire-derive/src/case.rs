//! `rename_all` rules, applied to field names exactly as serde applies them, so the keys the derives compute are
//! the keys serde reads.

use std::fmt;

/// One of serde's `rename_all` rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `lowercase`
    Lower,
    /// `UPPERCASE`
    Upper,
    /// `PascalCase`
    Pascal,
    /// `camelCase`
    Camel,
    /// `snake_case`
    Snake,
    /// `SCREAMING_SNAKE_CASE`
    ScreamingSnake,
    /// `kebab-case`
    Kebab,
    /// `SCREAMING-KEBAB-CASE`
    ScreamingKebab,
}

/// Every rule with the name it is written as, in the order error messages list them.
const RULES: [(&str, RenameRule); 8] = [
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("PascalCase", RenameRule::Pascal),
    ("camelCase", RenameRule::Camel),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
];

impl RenameRule {
    /// The rule written as `name` (case-sensitive, as in serde).
    pub(crate) fn parse(name: &str) -> Option<RenameRule> {
        RULES.iter().find(|(n, _)| *n == name).map(|(_, rule)| *rule)
    }

    /// The rule's name as written in an attribute.
    pub(crate) fn name(self) -> &'static str {
        RULES.iter().find(|(_, rule)| *rule == self).map_or("", |(n, _)| n)
    }

    /// The valid names, for error messages: "`lowercase`, `UPPERCASE`, … or `SCREAMING-KEBAB-CASE`".
    pub(crate) fn valid_names() -> String {
        let names: Vec<String> = RULES.iter().map(|(n, _)| format!("`{n}`")).collect();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// The key of a field named `field` (a Rust field name, taken to be snake_case as serde assumes).
    pub(crate) fn apply_to_field(self, field: &str) -> String {
        match self {
            // Field names are snake_case already: serde leaves them as they are.
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => pascal(field),
            RenameRule::Camel => {
                let pascal = pascal(field);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

impl RenameRule {
    /// The name of a variant named `variant` (a Rust variant name, taken to be PascalCase as serde assumes).
    pub(crate) fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::Pascal => variant.to_owned(),
            RenameRule::Lower => variant.to_ascii_lowercase(),
            RenameRule::Upper => variant.to_ascii_uppercase(),
            RenameRule::Camel => {
                let mut chars = variant.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            }
            RenameRule::Snake => snake(variant),
            RenameRule::ScreamingSnake => snake(variant).to_ascii_uppercase(),
            RenameRule::Kebab => snake(variant).replace('_', "-"),
            RenameRule::ScreamingKebab => snake(variant).to_ascii_uppercase().replace('_', "-"),
        }
    }
}

/// `OnHold` as `on_hold`: an underscore before every uppercase letter but the first, all lowercased (serde's
/// rule, which splits `HTTPCode` into `h_t_t_p_code`).
pub(crate) fn snake(variant: &str) -> String {
    let mut out = String::with_capacity(variant.len() + 4);
    for (i, c) in variant.char_indices() {
        if i > 0 && c.is_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

impl fmt::Display for RenameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Drops every `_` and upper-cases the character after it (and the first one).
fn pascal(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper_next = true;
    for c in field.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            out.push(c.to_ascii_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::RenameRule::{self, *};

    #[track_caller]
    fn check(field: &str, expected: [&str; 8]) {
        let rules = [Lower, Upper, Pascal, Camel, Snake, ScreamingSnake, Kebab, ScreamingKebab];
        for (rule, expected) in rules.into_iter().zip(expected) {
            assert_eq!(rule.apply_to_field(field), expected, "{rule} of {field:?}");
        }
    }

    #[test]
    fn fields_convert_like_serde() {
        check("outcome", ["outcome", "OUTCOME", "Outcome", "outcome", "outcome", "OUTCOME", "outcome", "OUTCOME"]);
        check(
            "very_tasty",
            [
                "very_tasty",
                "VERY_TASTY",
                "VeryTasty",
                "veryTasty",
                "very_tasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ],
        );
        check("a", ["a", "A", "A", "a", "a", "A", "a", "A"]);
        check("z42", ["z42", "Z42", "Z42", "z42", "z42", "Z42", "z42", "Z42"]);
        check(
            "created_at_2",
            [
                "created_at_2",
                "CREATED_AT_2",
                "CreatedAt2",
                "createdAt2",
                "created_at_2",
                "CREATED_AT_2",
                "created-at-2",
                "CREATED-AT-2",
            ],
        );
    }

    #[test]
    fn odd_field_names() {
        // A leading underscore disappears in the capitalised cases, as in serde.
        assert_eq!(Camel.apply_to_field("_private"), "private");
        assert_eq!(Pascal.apply_to_field("_private"), "Private");
        assert_eq!(Pascal.apply_to_field("a__b"), "AB");
        // Names that are not snake_case are left alone by the cases that assume they are.
        assert_eq!(Lower.apply_to_field("fooBar"), "fooBar");
        assert_eq!(Camel.apply_to_field("fooBar"), "fooBar");
        // Non-ASCII letters are kept as they are; only ASCII changes case.
        assert_eq!(Camel.apply_to_field("été_chaud"), "étéChaud");
        assert_eq!(Upper.apply_to_field("été"), "éTé");
        assert_eq!(Camel.apply_to_field("__"), "");
    }

    #[test]
    fn names_round_trip() {
        for name in ["lowercase", "UPPERCASE", "PascalCase", "camelCase", "snake_case", "SCREAMING_SNAKE_CASE"] {
            assert_eq!(RenameRule::parse(name).map(RenameRule::name), Some(name));
        }
        assert_eq!(RenameRule::parse("kebab-case"), Some(Kebab));
        assert_eq!(RenameRule::parse("SCREAMING-KEBAB-CASE"), Some(ScreamingKebab));
        assert_eq!(RenameRule::parse("camelcase"), None);
        assert_eq!(RenameRule::parse(""), None);
        assert!(RenameRule::valid_names().starts_with("`lowercase`, `UPPERCASE`, "));
        assert!(RenameRule::valid_names().ends_with(" or `SCREAMING-KEBAB-CASE`"));
    }
}
