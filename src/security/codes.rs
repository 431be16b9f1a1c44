//! One-time email codes.
//!
//! Threat notes:
//! - Guessing: a code is 6 uniformly random digits; a flow allows [`MAX_WRONG_TRIES`] wrong
//!   entries and then dies, so one flow gives a guesser 5 in 1,000,000. New flows per address
//!   and per client are rate-limited (`service::email`), so guessing across flows is bounded too.
//! - Database theft: only `HMAC(key, flow id ‖ code)` is stored (key from `secret_key`), so a copy
//!   of the database does not reveal live codes, and a stored hash cannot be replayed into
//!   another flow.
//! - Timing: stored and computed tags are compared in constant time (`MacKeys::check_tag`).
//! - Replay: a code is single use (marked used in the transaction that acts on it) and lives
//!   [`CODE_LIFETIME`] seconds; a resend replaces it.
//! - Mail scanners: links carry the code to a page with a button; only a POST consumes it.
//! - Device cookies and notice links are `security::new_token` tokens, stored as hashes.

use super::token::MacKeys;
use super::{base64url, random_bytes};

/// Seconds a code stays usable.
pub const CODE_LIFETIME: i64 = 600;
/// Wrong entries after which a code dies.
pub const MAX_WRONG_TRIES: i64 = 5;
/// Seconds before a code can be sent again.
pub const RESEND_COOLDOWN: i64 = 60;

const CODE_PURPOSE: &str = "email-code";

/// Six uniformly random digits (rejection sampling: no value is likelier than another).
pub fn new_code() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        // 4_294_000_000 is the largest multiple of 1_000_000 below 2^32.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// What a person typed, as a code: spaces and dashes removed (codes are shown `123 456`); `None`
/// unless exactly six ASCII digits remain.
pub fn normalize(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{a0}')).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The stored form of `code` for flow `flow_id`.
pub fn code_hash(keys: &MacKeys, flow_id: &str, code: &str) -> String {
    keys.tag(CODE_PURPOSE, &format!("{flow_id}:{code}"))
}

/// Whether `code` is the one stored for `flow_id` (constant time; previous secrets accepted, so
/// a rotation does not kill codes in flight).
pub fn code_matches(keys: &MacKeys, flow_id: &str, code: &str, stored: &str) -> bool {
    keys.check_tag(CODE_PURPOSE, &format!("{flow_id}:{code}"), stored)
}

/// A stored hash that no code matches: the flow of an address that must not learn anything
/// (a sign-up for an address that has an account, a reset for one that has none).
pub fn unmatchable_hash() -> String {
    format!("{UNMATCHABLE}{}", base64url(&random_bytes::<32>()))
}

/// Whether a stored hash came from [`unmatchable_hash`] (a decoy flow).
pub fn is_unmatchable(stored: &str) -> bool {
    stored.starts_with(UNMATCHABLE)
}

/// What starts an unmatchable hash: a real one is a base64url MAC tag, which has no `.`.
const UNMATCHABLE: &str = "none.";

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> MacKeys {
        MacKeys::new([7; 32], Vec::new())
    }

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..50).map(|_| new_code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert!(distinct.len() > 40);
    }

    #[test]
    fn typed_codes_are_normalized_and_junk_refused() {
        assert_eq!(normalize(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize("123-456").as_deref(), Some("123456"));
        for junk in ["12345", "1234567", "12345a", "١٢٣٤٥٦", "", "123 45"] {
            assert_eq!(normalize(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_code_matches_only_its_own_flow() {
        let stored = code_hash(&keys(), "flow_a", "123456");
        assert!(code_matches(&keys(), "flow_a", "123456", &stored));
        assert!(!code_matches(&keys(), "flow_a", "123457", &stored));
        // A hash copied into another flow's row opens nothing there.
        assert!(!code_matches(&keys(), "flow_b", "123456", &stored));
    }

    #[test]
    fn a_stolen_database_does_not_reveal_codes_without_the_key() {
        let stored = code_hash(&keys(), "flow_a", "123456");
        assert!(!stored.contains("123456"));
        let other_key = MacKeys::new([8; 32], Vec::new());
        assert!(!code_matches(&other_key, "flow_a", "123456", &stored));
    }

    #[test]
    fn decoy_flows_match_no_code() {
        let stored = unmatchable_hash();
        assert!(is_unmatchable(&stored));
        assert!(!is_unmatchable(&code_hash(&keys(), "flow", "123456")));
        for code in ["000000", "123456", "999999"] {
            assert!(!code_matches(&keys(), "flow", code, &stored));
        }
    }
}
