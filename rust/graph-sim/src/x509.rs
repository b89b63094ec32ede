//! Just enough DER to use a certificate an app registration holds: its validity and its RSA
//! public key (to check a client assertion's RS256 signature), and its SHA-1/SHA-256
//! thumbprints (the assertion's `x5t` / `x5t#S256`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// PKCS#1 `RSAPublicKey` DER.
    pub rsa_public_key: Vec<u8>,
}

impl Certificate {
    /// From PEM (`-----BEGIN CERTIFICATE-----`) or base64 DER.
    pub fn parse(text: &str) -> Result<Certificate, String> {
        let body: String = match text.find("-----BEGIN CERTIFICATE-----") {
            Some(start) => {
                let rest = &text[start + "-----BEGIN CERTIFICATE-----".len()..];
                let end = rest.find("-----END CERTIFICATE-----").ok_or("the PEM certificate has no END line")?;
                rest[..end].chars().filter(|c| !c.is_whitespace()).collect()
            }
            None => text.chars().filter(|c| !c.is_whitespace()).collect(),
        };
        let der = STANDARD.decode(body).map_err(|_| "the certificate is neither PEM nor base64 DER".to_string())?;
        Certificate::from_der(der)
    }

    pub fn from_der(der: Vec<u8>) -> Result<Certificate, String> {
        let bad = || "the certificate is not a DER X.509 certificate".to_string();
        let (cert, _) = read(&der).ok_or_else(bad)?;
        let (tbs, _) = read(cert.content).ok_or_else(bad)?;
        let mut rest = tbs.content;
        let mut next = || -> Option<Tlv<'_>> {
            let (tlv, after) = read(rest)?;
            rest = after;
            Some(tlv)
        };
        let mut field = next().ok_or_else(bad)?;
        if field.tag == 0xA0 {
            field = next().ok_or_else(bad)?; // version, then the serial number
        }
        let _serial = field;
        let _signature_algorithm = next().ok_or_else(bad)?;
        let _issuer = next().ok_or_else(bad)?;
        let validity = next().ok_or_else(bad)?;
        let _subject = next().ok_or_else(bad)?;
        let spki = next().ok_or_else(bad)?;
        let (not_before, after) = read(validity.content).ok_or_else(bad)?;
        let (not_after, _) = read(after).ok_or_else(bad)?;
        let (algorithm, after) = read(spki.content).ok_or_else(bad)?;
        let (oid, _) = read(algorithm.content).ok_or_else(bad)?;
        if oid.content != [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01] {
            return Err("the certificate's key is not RSA".into());
        }
        let (bits, _) = read(after).ok_or_else(bad)?;
        if bits.tag != 0x03 || bits.content.first() != Some(&0) {
            return Err(bad());
        }
        Ok(Certificate {
            sha1: aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref().to_vec(),
            sha256: Sha256::digest(&der).to_vec(),
            not_before: time(&not_before).ok_or_else(bad)?,
            not_after: time(&not_after).ok_or_else(bad)?,
            rsa_public_key: bits.content[1..].to_vec(),
            der,
        })
    }

    /// The SHA-1 thumbprint as Windows shows it (upper-case hex).
    pub fn thumbprint(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Checks an RS256 signature over `message`.
    pub fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            &self.rsa_public_key,
        )
        .verify(message, signature)
        .is_ok()
    }
}

struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
}

fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (length, header) = if first < 0x80 {
        (first, 2)
    } else {
        let count = first & 0x7F;
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for i in 0..count {
            length = (length << 8) | *input.get(2 + i)? as usize;
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    let content = input.get(header..end)?;
    Some((Tlv { tag, content }, &input[end..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as Unix seconds.
fn time(tlv: &Tlv<'_>) -> Option<i64> {
    let text = std::str::from_utf8(tlv.content).ok()?.trim_end_matches('Z');
    let (year, rest) = match tlv.tag {
        0x17 => {
            let yy: i64 = text.get(0..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(0..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let n = |range: std::ops::Range<usize>| -> Option<i64> { rest.get(range)?.parse().ok() };
    let (month, day, hour, minute, second) = (n(0..2)?, n(2..4)?, n(4..6)?, n(6..8)?, n(8..10).unwrap_or(0));
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_both_forms() {
        let utc = Tlv { tag: 0x17, content: b"240819010818Z" };
        assert_eq!(time(&utc), Some(1_724_029_698));
        let generalized = Tlv { tag: 0x18, content: b"20240819010818Z" };
        assert_eq!(time(&generalized), Some(1_724_029_698));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Certificate::parse("not base64 !!").is_err());
        assert!(Certificate::parse(&STANDARD.encode(b"\x30\x03\x02\x01\x01")).is_err());
    }
}
