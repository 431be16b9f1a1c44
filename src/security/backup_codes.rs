//! Backup codes: the way in when the phone with the authenticator app is gone.
//!
//! # Threat
//! A backup code is a second factor on paper, so it must be as hard to guess as the factor it
//! stands in for and useless once seen: ten codes of ten characters from an alphabet without
//! look-alikes (no `0 o 1 l i`), 31^10 ≈ 2^49.5 each; each works once; the store keeps only a
//! keyed hash (HMAC under a key derived from `secret_key`, bound to the user), so a copy of the
//! database gives neither the codes nor a way to test guesses offline. They are shown once, when
//! made; making a new set voids the old one. Wrong codes count toward the account's lockout
//! (the callers' job).

use super::token::MacKeys;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters of a code (shown as two groups of five).
pub const LENGTH: usize = 10;
/// Digits and lower-case letters that cannot be mistaken for one another.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

const MAC_PURPOSE: &str = "backup-code";

/// A new set of codes, as shown to the person (`abcde-fghjk`).
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let code: String = (0..LENGTH).map(|_| char::from(ALPHABET[uniform_index()])).collect();
            format!("{}-{}", &code[..LENGTH / 2], &code[LENGTH / 2..])
        })
        .collect()
}

/// A uniformly random index into [`ALPHABET`] (rejection sampling: no bias toward early letters).
fn uniform_index() -> usize {
    let limit = 256 - 256 % ALPHABET.len();
    loop {
        let [byte] = super::random_bytes::<1>();
        if usize::from(byte) < limit {
            return usize::from(byte) % ALPHABET.len();
        }
    }
}

/// A typed code in its canonical form (lower case, without spaces or hyphens), when it can be one.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The keyed hash stored for `code` (normalized) of user `user_id`.
pub fn code_hash(keys: &MacKeys, user_id: &str, code: &str) -> String {
    keys.tag(MAC_PURPOSE, &format!("{user_id}\0{code}"))
}

/// Whether `stored` is the hash of `code` for `user_id`, under the current or a previous key.
pub fn matches(keys: &MacKeys, user_id: &str, code: &str, stored: &str) -> bool {
    keys.check_tag(MAC_PURPOSE, &format!("{user_id}\0{code}"), stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::random_bytes;

    #[test]
    fn a_set_is_ten_distinct_unambiguous_codes() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), LENGTH + 1);
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
            assert_eq!(normalize(code).unwrap().len(), LENGTH);
        }
    }

    #[test]
    fn typed_codes_are_read_as_people_write_them() {
        assert_eq!(normalize("ABCDE-FGHJK").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalize(" abcde fghjk ").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalize("abcde-fghj"), None, "too short");
        assert_eq!(normalize("abcde-fghj0"), None, "not in the alphabet");
        assert_eq!(normalize("123456"), None, "an authenticator code is not a backup code");
    }

    #[test]
    fn stored_hashes_are_keyed_and_bound_to_the_user_database_copy() {
        let keys = MacKeys::new(random_bytes(), Vec::new());
        let hash = code_hash(&keys, "user_1", "abcdefghjk");
        assert!(!hash.contains("abcdefghjk"));
        assert!(matches(&keys, "user_1", "abcdefghjk", &hash));
        assert!(!matches(&keys, "user_2", "abcdefghjk", &hash), "another user's code");
        assert!(!matches(&keys, "user_1", "abcdefghjm", &hash));
        let other = MacKeys::new(random_bytes(), Vec::new());
        assert!(
            !matches(&other, "user_1", "abcdefghjk", &hash),
            "another deployment's key"
        );
    }
}
