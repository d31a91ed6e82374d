//! A password held by the settings: wiped from memory when dropped, never printed.

use std::fmt;
use std::ops::Deref;

use zeroize::Zeroizing;

/// A password. Its memory is zeroed when it is dropped; `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(Zeroizing<String>);

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }
}

impl Deref for Secret {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reads_as_its_text_and_prints_as_redacted() {
        let secret = Secret::from("hunter2".to_owned());
        assert_eq!(&*secret, "hunter2");
        assert_eq!(format!("{secret:?} {:?}", Some(&secret)), "<redacted> Some(<redacted>)");
    }
}
