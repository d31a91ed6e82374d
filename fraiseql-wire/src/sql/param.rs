//! Values bound to `$n` placeholders, in PostgreSQL's text format.

use std::fmt::Write;

/// A value bound to a `$n` placeholder: SQL `NULL` or its text form.
///
/// Values always travel in the Bind message, never inside the SQL text. The server parses the text according
/// to the type it infers for the placeholder; cast in the fragment when that is ambiguous (`$1::int`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param(Option<String>);

impl Param {
    /// SQL `NULL`.
    pub const NULL: Param = Param(None);

    /// A value in PostgreSQL's text input format for its type.
    pub fn text(value: impl Into<String>) -> Self {
        Param(Some(value.into()))
    }

    /// The text form, or `None` for `NULL`.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        self.0.as_deref().map(str::as_bytes)
    }
}

/// Conversion into a bound parameter.
///
/// Implemented for strings, integers, floats, `bool`, `char`, `serde_json::Value` (as JSON text), `Option<T>`
/// (`None` is `NULL`) and slices or `Vec`s of these (as a PostgreSQL array literal).
///
/// `Sync`, so that the `&[&dyn ToParam]` of a query built and awaited in one expression keeps the future `Send`
/// (for `tokio::spawn`).
pub trait ToParam: Sync {
    /// The parameter for this value.
    fn to_param(&self) -> Param;
}

impl ToParam for Param {
    fn to_param(&self) -> Param {
        self.clone()
    }
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Param {
        (**self).to_param()
    }
}

impl ToParam for str {
    fn to_param(&self) -> Param {
        Param::text(self)
    }
}

impl ToParam for String {
    fn to_param(&self) -> Param {
        Param::text(self.as_str())
    }
}

impl ToParam for char {
    fn to_param(&self) -> Param {
        Param::text(self.to_string())
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Param {
        Param::text(if *self { "true" } else { "false" })
    }
}

macro_rules! display_params {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Param {
                Param::text(self.to_string())
            }
        }
    )*};
}
display_params!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! float_params {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Param {
                // PostgreSQL spells the special values differently from Rust.
                Param::text(if self.is_nan() {
                    "NaN".to_owned()
                } else if self.is_infinite() {
                    if *self > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
                } else {
                    self.to_string()
                })
            }
        }
    )*};
}
float_params!(f32, f64);

impl ToParam for serde_json::Value {
    fn to_param(&self) -> Param {
        Param::text(self.to_string())
    }
}

#[cfg(feature = "uuid")]
impl ToParam for uuid::Uuid {
    fn to_param(&self) -> Param {
        Param::text(self.to_string())
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Param {
        self.as_ref().map_or(Param::NULL, ToParam::to_param)
    }
}

impl<T: ToParam> ToParam for [T] {
    fn to_param(&self) -> Param {
        let mut literal = String::from("{");
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            match item.to_param().0 {
                None => literal.push_str("NULL"),
                Some(text) => {
                    literal.push('"');
                    for c in text.chars() {
                        if c == '"' || c == '\\' {
                            literal.push('\\');
                        }
                        literal.push(c);
                    }
                    literal.push('"');
                }
            }
        }
        literal.push('}');
        Param::text(literal)
    }
}

impl<T: ToParam> ToParam for Vec<T> {
    fn to_param(&self) -> Param {
        self.as_slice().to_param()
    }
}

impl<T: ToParam, const N: usize> ToParam for [T; N] {
    fn to_param(&self) -> Param {
        self.as_slice().to_param()
    }
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("NULL"),
            Some(text) => {
                f.write_char('\'')?;
                f.write_str(&text.replace('\'', "''"))?;
                f.write_char('\'')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(42i32.to_param().as_str(), Some("42"));
        assert_eq!(true.to_param().as_str(), Some("true"));
        assert_eq!("x".to_param().as_str(), Some("x"));
        assert_eq!(None::<i32>.to_param(), Param::NULL);
        assert_eq!(f64::NAN.to_param().as_str(), Some("NaN"));
        assert_eq!(f64::NEG_INFINITY.to_param().as_str(), Some("-Infinity"));
        assert_eq!(1.5f64.to_param().as_str(), Some("1.5"));
    }

    #[test]
    fn arrays_quote_every_element() {
        let values = vec![Some("a,b"), None, Some(r#"q"\"#)];
        assert_eq!(values.to_param().as_str(), Some(r#"{"a,b",NULL,"q\"\\"}"#));
        assert_eq!(Vec::<i32>::new().to_param().as_str(), Some("{}"));
    }
}
