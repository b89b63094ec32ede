//! Certificate sign-in: the client assertion (RFC 7523) Entra ID takes instead of a secret, an
//! RS256 JWT signed with the certificate's private key and naming the certificate by its SHA-1
//! thumbprint (`x5t`). `azure_identity`'s own certificate credential needs OpenSSL, which the
//! engine does not link; its `ClientAssertionCredential` sends what [`CertificateAssertion`]
//! signs here with aws-lc (already linked for TLS).
//!
//! The host reads the certificate (a PFX, a PEM file, or the Windows certificate store) and hands
//! the engine the private key as base64 DER (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)
//! through the secret argument, and the thumbprint in the options. The key lives only in this
//! process's memory (aws-lc wipes it when freed).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;
use zeroize::Zeroizing;

use crate::error::{EngineError, ErrorKind};
use crate::secret::Secret;

/// How long an assertion is valid (MSAL uses the same ten minutes).
pub const ASSERTION_LIFETIME_SECS: u64 = 600;

pub struct CertificateAssertion {
    key: RsaKeyPair,
    /// base64url of the SHA-1 thumbprint.
    x5t: String,
    client_id: String,
    /// The token endpoint the assertion is for.
    audience: String,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("x5t", &self.x5t)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    pub fn new(
        private_key: &Secret,
        thumbprint_hex: &str,
        client_id: &str,
        audience: &str,
    ) -> Result<CertificateAssertion, EngineError> {
        Ok(CertificateAssertion {
            key: parse_private_key(private_key)?,
            x5t: x5t(thumbprint_hex)?,
            client_id: client_id.to_string(),
            audience: audience.to_string(),
        })
    }

    /// A signed assertion valid from `now` for ten minutes.
    pub fn sign_at(&self, now: SystemTime) -> Result<String, EngineError> {
        let now = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let header = json!({ "alg": "RS256", "typ": "JWT", "x5t": self.x5t });
        let claims = json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature).map_err(
            |_| {
                EngineError::new(
                    ErrorKind::SignInFailed,
                    "Could not sign the client assertion with the certificate's private key.",
                )
            },
        )?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _options: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.sign_at(SystemTime::now())
            .map_err(|e| azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, e.message))
    }
}

/// An RSA private key from base64 DER (PKCS#8 or PKCS#1), or from PEM text holding one.
pub fn parse_private_key(secret: &Secret) -> Result<RsaKeyPair, EngineError> {
    let invalid = |why: &str| {
        EngineError::new(
            ErrorKind::InvalidInput,
            format!("The certificate's private key could not be read: {why}. PerUserMfa needs an RSA key (PKCS#8 or PKCS#1)."),
        )
    };
    let text = secret.expose();
    let body: Zeroizing<String> = if text.contains("-----BEGIN") {
        let begin = text.find("-----BEGIN").unwrap();
        if text[begin..].starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(invalid("it is encrypted"));
        }
        let after = text[begin..].find("-----\n").or_else(|| text[begin..].find("-----\r\n")).map(|i| begin + i + 5);
        let end = text.find("-----END");
        match (after, end) {
            (Some(start), Some(end)) if start < end => {
                Zeroizing::new(text[start..end].chars().filter(|c| !c.is_whitespace()).collect())
            }
            _ => return Err(invalid("the PEM block is incomplete")),
        }
    } else {
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect())
    };
    let der = Zeroizing::new(STANDARD.decode(body.as_bytes()).map_err(|_| invalid("it is not base64"))?);
    RsaKeyPair::from_pkcs8(&der).or_else(|_| RsaKeyPair::from_der(&der)).map_err(|_| {
        invalid("it is not an RSA private key (ECDSA certificates cannot sign Entra ID client assertions)")
    })
}

/// `x5t`: base64url of the SHA-1 thumbprint given as hex (spaces and colons allowed).
pub fn x5t(thumbprint_hex: &str) -> Result<String, EngineError> {
    let hex: String = thumbprint_hex.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let cleaned_len = thumbprint_hex.chars().filter(|c| !c.is_whitespace() && *c != ':').count();
    if hex.len() != 40 || cleaned_len != 40 {
        return Err(EngineError::invalid_input(format!(
            "'{thumbprint_hex}' is not a certificate thumbprint: expected 40 hexadecimal characters (SHA-1)."
        )));
    }
    let bytes: Vec<u8> = (0..20).map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap()).collect();
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
    use aws_lc_rs::signature::{KeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    fn key_secret() -> (RsaKeyPair, Secret) {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap();
        let secret = Secret::new(STANDARD.encode(der.as_ref()));
        (key, secret)
    }

    #[test]
    fn signs_an_rs256_assertion_the_public_key_verifies() {
        let (key, secret) = key_secret();
        let assertion = CertificateAssertion::new(
            &secret,
            "0123456789abcdef0123456789ABCDEF01234567",
            "app-1",
            "https://login/t/oauth2/v2.0/token",
        )
        .unwrap();
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let jwt = assertion.sign_at(now).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5t"],
            URL_SAFE_NO_PAD.encode([
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01,
                0x23, 0x45, 0x67
            ])
        );
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "app-1");
        assert_eq!(claims["sub"], "app-1");
        assert_eq!(claims["aud"], "https://login/t/oauth2/v2.0/token");
        assert_eq!(claims["exp"], 1_800_000_600u64);
        let public = key.public_key().as_ref().to_vec();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies");
        let _ = PublicKeyComponents::<Vec<u8>>::from(key.public_key());
    }

    #[test]
    fn reads_pem_and_refuses_what_it_cannot_use() {
        let (_, secret) = key_secret();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", secret.expose());
        assert!(parse_private_key(&Secret::new(pem)).is_ok());
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(parse_private_key(&Secret::new(encrypted.into())).unwrap_err().message.contains("encrypted"));
        assert!(parse_private_key(&Secret::new("not base64 !!".into())).is_err());
        assert!(parse_private_key(&Secret::new(STANDARD.encode(b"not a key"))).unwrap_err().message.contains("RSA"));
    }

    #[test]
    fn thumbprints_must_be_sha1_hex() {
        assert!(x5t("01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67").is_ok());
        assert!(x5t("0123").is_err());
        assert!(x5t("zz23456789abcdef0123456789ABCDEF01234567").is_err());
    }
}
