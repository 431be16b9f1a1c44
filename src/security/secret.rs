//! The operator's secret (`secret_key`) and every key derived from it.
//!
//! # Threat
//! A copy of the database (a backup, a leaked libSQL token, a stolen volume) must not let anyone
//! mint a `__session` for any user, role or expiry, nor forge CSRF tokens or sealed redirect
//! targets. In production no key lives in the database: each key is derived from this secret,
//! which lives only in the host's secret variables, with HKDF-SHA256 and one purpose label per
//! key, so a key for one use never serves another and none reveals the secret.
//!
//! A secret must be at least 32 random bytes, written as hex or base64 (`openssl rand -base64
//! 32`). Text that decodes to fewer bytes, or to bytes with too little variety to be random (a
//! repeated character, a short pattern), is refused: a guessable secret would undo all of this.

use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;

/// Fewest random bytes a secret may hold.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewest distinct byte values among them: 32 random bytes have about 30, a patterned text few.
const MIN_DISTINCT_BYTES: usize = 16;

/// Binds every derived key to this portal's scheme, so the same secret used elsewhere yields
/// unrelated keys.
const SALT: &[u8] = b"account-portal key derivation v1";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// Reads a secret written as hex or base64 (standard or URL-safe, padded or not). The error
    /// never repeats the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = decode_hex(text).or_else(|| decode_base64(text)).ok_or_else(|| {
            "must be at least 32 random bytes written as hex or base64 (generate one with `openssl rand -base64 32`)"
                .to_owned()
        })?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "holds {} bytes; it must hold at least {MIN_SECRET_BYTES} random bytes (`openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        let mut seen = [false; 256];
        bytes.iter().for_each(|&b| seen[usize::from(b)] = true);
        if seen.iter().filter(|&&s| s).count() < MIN_DISTINCT_BYTES {
            return Err(
                "is not random enough (a repeated or patterned value); generate one with `openssl rand -base64 32`"
                    .into(),
            );
        }
        Ok(Self(bytes))
    }

    /// 32 bytes of key material for `purpose` (HKDF-SHA256, RFC 5869).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        self.derive_indexed(purpose, 0)
    }

    /// Like [`Secret::derive`], with a counter for derivations that may need another try (a
    /// P-256 scalar must be below the group order).
    pub fn derive_indexed(&self, purpose: &str, index: u8) -> [u8; 32] {
        let mut key = [0u8; 32];
        let info = [purpose.as_bytes(), &[0, index]].concat();
        Hkdf::<Sha256>::new(Some(SALT), &self.0)
            .expand(&info, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }
}

/// Several secrets, comma separated (`previous_secret_keys`).
pub fn parse_list(text: &str) -> Result<Vec<Secret>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .enumerate()
        .map(|(index, item)| Secret::parse(item).map_err(|problem| format!("entry {}: {problem}", index + 1)))
        .collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=";

    #[test]
    fn accepts_hex_and_base64_of_32_random_bytes() {
        let secret = Secret::parse(GOOD).unwrap();
        let hex: String = secret.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(Secret::parse(&hex).unwrap(), secret);
        assert_eq!(Secret::parse(GOOD.trim_end_matches('=')).unwrap(), secret);
    }

    #[test]
    fn refuses_short_weak_or_unencoded_secrets_without_echoing_them() {
        for weak in [
            "",
            "changeme",
            "correct horse battery staple is a passphrase!",
            &"a".repeat(64),
            &"ab".repeat(32),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2",
        ] {
            let error = Secret::parse(weak).unwrap_err();
            assert!(weak.is_empty() || !error.contains(weak), "{error}");
        }
    }

    #[test]
    fn derivations_differ_by_purpose_and_by_secret_and_match_rfc_5869() {
        let secret = Secret::parse(GOOD).unwrap();
        assert_ne!(secret.derive("a"), secret.derive("b"));
        assert_ne!(secret.derive("a"), secret.derive_indexed("a", 1));
        let other = Secret::parse("3f9c1a7be2d4086f5a1c9e3b7d20f4e6a8c1b5d9e7f30a2c4e6b8d0f1a3c5e79").unwrap();
        assert_ne!(secret.derive("a"), other.derive("a"));
        // RFC 5869 test case 1, through the same crate calls.
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(&info, &mut okm).unwrap();
        assert_eq!(
            okm[..8],
            [0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a],
            "HKDF-SHA256 matches RFC 5869"
        );
    }

    #[test]
    fn lists_report_which_entry_is_bad_and_debug_hides_secrets() {
        assert_eq!(parse_list(&format!("{GOOD}, {GOOD}")).unwrap().len(), 2);
        assert!(parse_list(&format!("{GOOD},short")).unwrap_err().starts_with("entry 2"));
        assert_eq!(format!("{:?}", Secret::parse(GOOD).unwrap()), "Secret(***)");
    }
}
