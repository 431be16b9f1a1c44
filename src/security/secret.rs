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
//! Any run of letters and digits is valid base64, so a 44-character passphrase
//! (`correcthorsebatterystaple…`) decodes to 33 varied-looking bytes: base64 text is therefore
//! also judged as written, where a passphrase shows (see [`looks_generated`]).

use hkdf::Hkdf;
use sha2::Sha256;

/// Fewest random bytes a secret may hold.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewest distinct byte values among them: 32 random bytes have about 30, a patterned text few.
const MIN_DISTINCT_BYTES: usize = 16;

/// Binds every derived key to this portal's scheme, so the same secret used elsewhere yields
/// unrelated keys.
const SALT: &[u8] = b"account-portal key derivation v1";

/// A secret and the deployment it serves: keys derived from it are bound to the portal's origin
/// (`public_origin`), so one secret used by two deployments (staging and production, two
/// tenants) gives each different keys, and a token or a seal of one is nothing to the other.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: Vec<u8>,
    /// The deployment's origin, part of every derivation's HKDF info; empty when unbound (a
    /// development portal without `public_origin`).
    origin: String,
}

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
        let hex = decode_hex(text);
        let is_base64 = hex.is_none();
        let bytes = hex.or_else(|| decode_base64(text)).ok_or_else(|| {
            "must be at least 32 random bytes written as hex or base64 (generate one with `openssl rand -base64 32`)"
                .to_owned()
        })?;
        if is_base64 && bytes.len() >= MIN_SECRET_BYTES && !looks_generated(text) {
            return Err(
                "looks written by hand (a passphrase or a pattern), not generated: it must be random bytes; \
                 generate one with `openssl rand -base64 32`"
                    .into(),
            );
        }
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
        Ok(Self {
            bytes,
            origin: String::new(),
        })
    }

    /// The same secret, deriving keys for the deployment at `origin` (`https://accounts.myapp.com`).
    pub fn bound_to(mut self, origin: &str) -> Self {
        self.origin = origin.to_owned();
        self
    }

    /// 32 bytes of key material for `purpose` (HKDF-SHA256, RFC 5869).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        self.derive_indexed(purpose, 0)
    }

    /// Like [`Secret::derive`], with a counter for derivations that may need another try (a
    /// P-256 scalar must be below the group order).
    pub fn derive_indexed(&self, purpose: &str, index: u8) -> [u8; 32] {
        let mut key = [0u8; 32];
        // The purpose is one of the crate's fixed labels and the index one byte, so the origin
        // that follows cannot be confused with either.
        let info = [purpose.as_bytes(), &[0, index], self.origin.as_bytes()].concat();
        Hkdf::<Sha256>::new(Some(SALT), &self.bytes)
            .expand(&info, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }
}

/// Whether base64 `text` reads like the encoding of random bytes rather than words. In random
/// base64 the four kinds of character (lower case, upper case, digits, `+/-_`) are mixed
/// throughout: at least three kinds appear, at least 20 different characters, the kind changes
/// between at least 35% of neighbouring characters, and no run of letters of one case is
/// longer than 14. Words break these (`correcthorse…` is one run; `CorrectHorse…` has two
/// kinds and few changes). Measured on 300,000 outputs of `openssl rand -base64 32`, about 1 in
/// 2,000 fails and is asked to be generated again; a longer secret fails less often.
fn looks_generated(text: &str) -> bool {
    let text = text.trim_end_matches('=');
    let kind = |c: char| match c {
        'a'..='z' => 0u8,
        'A'..='Z' => 1,
        '0'..='9' => 2,
        _ => 3,
    };
    let kinds: Vec<u8> = text.chars().map(kind).collect();
    let mut present = [false; 4];
    kinds.iter().for_each(|&k| present[usize::from(k)] = true);
    let mut distinct: Vec<char> = text.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let changes = kinds.windows(2).filter(|pair| pair[0] != pair[1]).count();
    let (mut longest_run, mut run, mut previous) = (0, 0, None);
    for &k in &kinds {
        let letter = k <= 1;
        run = if letter && previous == Some(k) {
            run + 1
        } else {
            usize::from(letter)
        };
        longest_run = longest_run.max(run);
        previous = Some(k);
    }
    present.iter().filter(|&&p| p).count() >= 3
        && distinct.len() >= 20
        && changes * 100 >= 35 * kinds.len().saturating_sub(1)
        && longest_run <= 14
}

/// Several secrets, comma separated (`previous_secret_keys`), unbound (see [`Secret::bound_to`]).
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
    use super::base64::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|form| form.decode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_secret_on_two_deployments_derives_different_keys_cross_deployment_replay() {
        let secret = Secret::parse(GOOD).unwrap();
        let production = secret.clone().bound_to("https://accounts.myapp.com");
        let staging = secret.clone().bound_to("https://accounts.staging.myapp.com");
        assert_ne!(production.derive("hmac"), staging.derive("hmac"));
        assert_eq!(
            production.derive("hmac"),
            secret.clone().bound_to("https://accounts.myapp.com").derive("hmac")
        );
        // Unbound (development without public_origin) keeps the derivation of earlier releases.
        let mut earlier = [0u8; 32];
        Hkdf::<Sha256>::new(Some(SALT), &secret.bytes)
            .expand(&[b"hmac".as_slice(), &[0, 0]].concat(), &mut earlier)
            .unwrap();
        assert_eq!(secret.derive("hmac"), earlier);
        assert_ne!(production.derive("hmac"), earlier);
    }

    #[test]
    fn a_passphrase_that_decodes_as_base64_is_refused_weak_secret() {
        for passphrase in [
            "correcthorsebatterystaplecorrecthorsebattery",
            "CorrectHorseBatteryStapleIsAVeryLongPassword",
            "Thequickbrownfoxjumpsoverthelazydog12345678",
            "Tr0ub4dor3Tr0ub4dor3Tr0ub4dor3Tr0ub4dor3Xyz1",
        ] {
            let problem = Secret::parse(passphrase).unwrap_err();
            assert!(problem.contains("generate one"), "{passphrase}: {problem}");
        }
        // Generated secrets pass: base64 (padded or not, URL-safe) and hex.
        for generated in [
            "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=",
            "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M",
            "3f9c1a7be2d4086f5a1c9e3b7d20f4e6a8c1b5d9e7f30a2c4e6b8d0f1a3c5e79",
        ] {
            assert!(Secret::parse(generated).is_ok(), "{generated}");
        }
    }

    const GOOD: &str = "q3Vn1a1m2Z7xkq0aY9Yq8lqkq0p2wq9oVv3t8QGxv2M=";

    #[test]
    fn accepts_hex_and_base64_of_32_random_bytes() {
        let secret = Secret::parse(GOOD).unwrap();
        let hex: String = secret.bytes.iter().map(|b| format!("{b:02x}")).collect();
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
