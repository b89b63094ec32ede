//! Secrets (tokens, client secrets) kept in memory that is zeroed on drop and never printed.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::EngineError;

/// A credential. `Debug` and `Display` never show it; the bytes are wiped when dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn empty() -> Secret {
        Secret(Zeroizing::new(String::new()))
    }

    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }

    /// Decodes UTF-16 as handed over by .NET's `SecureStringToGlobalAllocUnicode`.
    pub fn from_utf16(units: &[u16]) -> Result<Secret, EngineError> {
        let mut text = Zeroizing::new(String::with_capacity(units.len()));
        for decoded in char::decode_utf16(units.iter().copied()) {
            match decoded {
                Ok(c) => text.push(c),
                Err(_) => return Err(EngineError::invalid_input("the secret is not valid UTF-16 text")),
            }
        }
        Ok(Secret(text))
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The secret itself, for building an `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        self.0.trim()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("eyJhbGciOi.secret-token".into());
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
    }

    #[test]
    fn decodes_utf16_including_surrogate_pairs() {
        let units: Vec<u16> = "tök€n😀".encode_utf16().collect();
        assert_eq!(Secret::from_utf16(&units).unwrap().expose(), "tök€n😀");
    }

    #[test]
    fn rejects_lone_surrogates() {
        assert!(Secret::from_utf16(&[0xD800, 0x41]).is_err());
    }
}
