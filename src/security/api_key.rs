//! The Backend API's secret keys (`api_secret_key`).
//!
//! # Threat
//! A key opens every account to whoever holds it: it reads private metadata, bans, deletes and
//! creates users. So:
//! - a key must be long and look random (at least 32 characters of a token alphabet, with
//!   enough variety that a word or a repeated pattern is refused), so it cannot be guessed;
//! - the presented key is compared with every configured key in constant time (both are hashed
//!   first, so neither the length nor a common prefix shows in the timing) and without stopping
//!   at the first match, so timing reveals neither a key nor which one matched;
//! - several keys may be configured at once (comma separated) for a rotation: add the new key,
//!   move the apps over, then remove the old one, which stops working at once;
//! - requests are only ever authenticated by the `Authorization: Bearer` header, never by a
//!   cookie, so a browser cannot be made to call the API (no CSRF surface);
//! - the portal never logs a key; rate limits and logs name a key by [`KeyId`], a short hash.

use subtle::ConstantTimeEq;

use super::sha256;

/// The shortest key accepted.
pub const MIN_KEY_CHARS: usize = 32;
/// The longest key accepted (a header that long is not a key).
pub const MAX_KEY_CHARS: usize = 256;

/// One configured key, kept only as its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    hash: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({})", self.id().0)
    }
}

/// A key's public name: the first 8 bytes of its SHA-256 in hex. Safe in logs and rate-limit
/// scopes; it does not help guess the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId(pub String);

impl ApiKey {
    /// A key as the operator wrote it, or why it is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let length = text.chars().count();
        if length < MIN_KEY_CHARS {
            return Err(format!(
                "is shorter than {MIN_KEY_CHARS} characters: generate one with `openssl rand -hex 32`"
            ));
        }
        if length > MAX_KEY_CHARS {
            return Err(format!("is longer than {MAX_KEY_CHARS} characters"));
        }
        if !text.bytes().all(is_token_byte) {
            return Err("may hold only letters, digits and - _ . + / = (no spaces or commas)".into());
        }
        let mut distinct: Vec<u8> = text.bytes().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 12 {
            return Err("does not look random: generate one with `openssl rand -hex 32`".into());
        }
        Ok(Self {
            hash: sha256(text.as_bytes()),
        })
    }

    pub fn id(&self) -> KeyId {
        KeyId(self.hash[..8].iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'+' | b'/' | b'=')
}

/// Several keys, comma separated; an empty list means the API is off.
pub fn parse_list(text: &str) -> Result<Vec<ApiKey>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .enumerate()
        .map(|(index, item)| ApiKey::parse(item).map_err(|problem| format!("key {}: {problem}", index + 1)))
        .collect()
}

/// The configured key that `presented` is, compared with every key in constant time.
pub fn find(keys: &[ApiKey], presented: &str) -> Option<KeyId> {
    let hash = sha256(presented.as_bytes());
    let mut found: Option<&ApiKey> = None;
    for key in keys {
        // No early exit: every key is compared whatever matched before.
        if bool::from(key.hash.ct_eq(&hash)) {
            found = Some(key);
        }
    }
    found.map(ApiKey::id)
}

/// The key in an `Authorization` header value: `Bearer <key>` (the scheme in any case).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_4f9c2a7e1b8d3f6a0c5e9b2d7f1a4c8e";
    const OLD: &str = "sk_test_0a1b2c3d4e5f60718293a4b5c6d7e8f9";

    #[test]
    fn a_configured_key_is_found_by_its_text_only() {
        let keys = parse_list(&format!("{KEY}, {OLD}")).unwrap();
        assert_eq!(find(&keys, KEY), Some(keys[0].id()));
        assert_eq!(find(&keys, OLD), Some(keys[1].id()));
        assert_eq!(find(&keys, ""), None);
        assert_eq!(find(&keys, &KEY[..KEY.len() - 1]), None, "a prefix is not the key");
        assert_eq!(find(&keys, &format!("{KEY}x")), None, "nor is a longer text");
        assert_eq!(find(&keys, &KEY.to_uppercase()), None, "keys are case sensitive");
    }

    #[test]
    fn attack_a_key_removed_from_the_list_after_a_rotation_opens_nothing() {
        let rotated = parse_list(KEY).unwrap();
        assert_eq!(find(&rotated, OLD), None);
    }

    #[test]
    fn attack_guessable_keys_are_refused_at_configuration() {
        assert!(ApiKey::parse("short-key").is_err());
        assert!(ApiKey::parse(&"a".repeat(40)).is_err(), "one character repeated");
        assert!(ApiKey::parse(&"abab".repeat(10)).is_err(), "a short pattern");
        assert!(ApiKey::parse(&format!("{KEY} with space")).is_err());
        assert!(ApiKey::parse(&"a1".repeat(200)).is_err(), "too long");
        assert!(parse_list(&format!("{KEY},short")).unwrap_err().starts_with("key 2:"));
        assert_eq!(parse_list(" , ").unwrap(), Vec::new(), "empty: the API is off");
    }

    #[test]
    fn key_ids_do_not_show_the_key() {
        let key = ApiKey::parse(KEY).unwrap();
        assert_eq!(key.id().0.len(), 16);
        assert!(!KEY.contains(&key.id().0));
        assert!(!format!("{key:?}").contains("4f9c2a7e"));
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
