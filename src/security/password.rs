//! Password hashing with Argon2id.
//!
//! # Threat
//! A stolen database must not give away passwords: hashes are Argon2id with the OWASP minimum
//! (m = 19456 KiB, t = 2, p = 1) and a random 16-byte salt, stored as PHC strings so parameters
//! can be raised later without breaking old hashes. Sign-in must not reveal which accounts
//! exist through timing: a missing account costs the same Argon2 work as a wrong password
//! ([`verify_password`] with `None`).
//!
//! Each call allocates about 19 MiB and, in wasm, takes roughly twice the native time: callers
//! hash at most once per request.

use argon2::Params;

use super::bcrypt_hash::{BcryptHash, BcryptProblem, MAX_COST, MIN_COST, looks_like_bcrypt};
use super::phc::{PhcHash, PhcProblem};

/// OWASP's Argon2id minimum: 19 MiB of memory, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;

fn owasp_params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid Argon2 parameters")
}

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Shorter than `min` characters (the operator's `password_min_length`, at least 8).
    TooShort {
        min: usize,
    },
    TooLong,
    /// It is, or contains, the account's email address or username.
    SameAsEmail,
    /// It has appeared in a data breach (`security::breach`).
    Breached,
}

/// Checks a new password against the rules shared by sign-up, password changes and resets.
/// `identities` are what others may know of the account (its email address, its username): a
/// password that contains one, in any case, is among the first an attacker tries (NIST SP
/// 800-63B asks for context-specific words to be refused). `min_chars` is the operator's
/// `password_min_length`; [`MIN_PASSWORD_CHARS`] holds whatever it says (0 means the floor).
pub fn check_new_password(password: &str, identities: &[&str], min_chars: usize) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    let min = min_chars.max(MIN_PASSWORD_CHARS);
    if length < min {
        return Err(PasswordProblem::TooShort { min });
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let folded = password.to_lowercase();
    let known = identities
        .iter()
        .map(|identity| identity.trim().to_lowercase())
        .filter(|identity| !identity.is_empty());
    for identity in known {
        if folded.contains(&identity) {
            return Err(PasswordProblem::SameAsEmail);
        }
    }
    Ok(())
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, String> {
    #[cfg(test)]
    super::cost::count("argon2", 1);
    // 16 random bytes: RFC 9106's recommended salt length.
    PhcHash::create(&owasp_params(), password.as_bytes(), &super::random_bytes::<16>())
        .ok_or_else(|| "password hashing failed".to_owned())
}

/// Checks `password` against a stored PHC string, or an imported bcrypt hash
/// ([`looks_like_bcrypt`]). With `None` (no such account) it performs the same Argon2 work
/// against a throw-away salt and returns `false`, so both cases take as long.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    #[cfg(test)]
    super::cost::count("argon2", 1);
    if let Some(hash) = stored.filter(|hash| looks_like_bcrypt(hash)) {
        return BcryptHash::parse(hash).is_ok_and(|hash| hash.verify(password));
    }
    match stored.map(PhcHash::parse) {
        Some(Ok(parsed)) => parsed.verify(password.as_bytes()),
        Some(Err(_)) | None => {
            let mut sink = [0u8; 32];
            super::phc::hash_into(
                &owasp_params(),
                password.as_bytes(),
                b"account-portal-dummy-salt",
                &mut sink,
            );
            false
        }
    }
}

/// Largest Argon2id cost an imported hash may carry: verifying it runs at every sign-in of that
/// account, in a wasm instance, so a hash with absurd parameters would be a denial of service.
pub const IMPORT_MAX_MEMORY_KIB: u32 = 65_536;
pub const IMPORT_MAX_ITERATIONS: u32 = 10;
pub const IMPORT_MAX_PARALLELISM: u32 = 8;

/// Whether a stored hash should be replaced by a fresh Argon2id one once its password is known
/// (a sign-in): an imported bcrypt hash (`$2a$`, `$2b$`, `$2y$`), which verifies as it is until
/// then.
pub fn needs_rehash(hash: &str) -> bool {
    looks_like_bcrypt(hash)
}

/// Checks a password hash brought from another system (a migration through the Backend API):
/// an Argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) or a bcrypt hash (`$2a$`,
/// `$2b$`, `$2y$`, cost 4 to [`bcrypt_hash::MAX_COST`](super::bcrypt_hash::MAX_COST)) whose cost is at most the import
/// limits. Answers the hash to store, or why it is refused. A hash the portal cannot verify is
/// refused here rather than stored, so an imported account never ends up with a password that
/// can never work. bcrypt reads at most 72 bytes of a password, as the system it came from did.
pub fn check_imported_hash(digest: &str) -> Result<String, String> {
    let digest = digest.trim();
    if looks_like_bcrypt(digest) {
        return match BcryptHash::parse(digest) {
            Ok(_) => Ok(digest.to_owned()),
            Err(BcryptProblem::Cost(cost)) => Err(format!(
                "has bcrypt cost {cost}: the portal verifies costs {MIN_COST} to {MAX_COST}"
            )),
            Err(BcryptProblem::Malformed) => {
                Err("is not a bcrypt hash ($2b$<cost>$<22-character salt><31-character hash>)".to_owned())
            }
        };
    }
    let parsed = PhcHash::parse(digest).map_err(|problem| match problem {
        PhcProblem::Malformed => "is not a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)".to_owned(),
        PhcProblem::Algorithm(name) => format!("uses {name}: only argon2id is accepted"),
        PhcProblem::Version => "must be Argon2 version 19 (0x13)".to_owned(),
        PhcProblem::Parameters => {
            "has unusable parameters (m, t and p in decimal, within Argon2's ranges; keyid and data in base64)"
                .to_owned()
        }
        PhcProblem::Salt => "has no salt (or one outside 8 to 48 bytes)".to_owned(),
        PhcProblem::Output => "has no hash output (or one outside 16 to 64 bytes)".to_owned(),
    })?;
    let params = parsed.params();
    if params.m_cost() > IMPORT_MAX_MEMORY_KIB
        || params.t_cost() > IMPORT_MAX_ITERATIONS
        || params.p_cost() > IMPORT_MAX_PARALLELISM
    {
        return Err(format!(
            "costs more than the portal verifies (at most m={IMPORT_MAX_MEMORY_KIB}, t={IMPORT_MAX_ITERATIONS}, p={IMPORT_MAX_PARALLELISM})"
        ));
    }
    Ok(digest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!hash.contains("correct horse"));
    }

    #[test]
    fn verifies_the_right_password_only() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(verify_password("correct horse battery staple", Some(&hash)));
        assert!(!verify_password("correct horse battery stapl", Some(&hash)));
        assert!(!verify_password("", Some(&hash)));
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        assert_ne!(hash_password("abcdefgh").unwrap(), hash_password("abcdefgh").unwrap());
    }

    #[test]
    fn an_imported_argon2id_hash_is_kept_and_verifies_with_its_own_parameters() {
        use password_hash::{PasswordHasher, SaltString};
        let other_system = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            Params::new(8_192, 3, 1, None).unwrap(),
        )
        .hash_password(
            b"migrated secret",
            &SaltString::encode_b64(&crate::security::random_bytes::<16>()).unwrap(),
        )
        .unwrap()
        .to_string();
        let stored = check_imported_hash(&other_system).unwrap();
        assert!(verify_password("migrated secret", Some(&stored)));
        assert!(!verify_password("migrated secreT", Some(&stored)));
    }

    #[test]
    fn attack_an_imported_hash_that_would_cost_every_sign_in_a_gigabyte_is_refused() {
        let expensive =
            "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI";
        assert!(check_imported_hash(expensive).unwrap_err().contains("costs more"));
        let slow =
            "$argon2id$v=19$m=19456,t=1000,p=1$c29tZXNhbHRzb21lc2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI";
        assert!(check_imported_hash(slow).is_err());
    }

    #[test]
    fn imported_hashes_the_portal_cannot_verify_are_refused() {
        assert!(check_imported_hash("plain text password").is_err());
        assert!(
            check_imported_hash(
                "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI"
            )
            .unwrap_err()
            .contains("argon2id")
        );
        assert!(check_imported_hash("$2b$10$tooshort").unwrap_err().contains("bcrypt"));
        assert!(
            check_imported_hash("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA").is_err(),
            "no output"
        );
    }

    /// A bcrypt hash of "correctbatteryhorsestapler" at cost 4, as another system stored it (the
    /// `bcrypt` crate's own test vector).
    const BCRYPT_COST_4: &str = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";

    #[test]
    fn an_imported_bcrypt_hash_verifies_and_asks_to_be_replaced() {
        let stored = check_imported_hash(BCRYPT_COST_4).unwrap();
        assert!(verify_password("correctbatteryhorsestapler", Some(&stored)));
        assert!(!verify_password("correctbatteryhorsestaple", Some(&stored)));
        assert!(needs_rehash(&stored));
        assert!(!needs_rehash(&hash_password("a new password").unwrap()));
    }

    #[test]
    fn attack_an_imported_bcrypt_hash_too_costly_to_verify_is_refused() {
        let costly = BCRYPT_COST_4.replacen("$04$", "$31$", 1);
        assert!(check_imported_hash(&costly).unwrap_err().contains("cost 31"));
        let silly = BCRYPT_COST_4.replacen("$04$", "$13$", 1);
        assert!(check_imported_hash(&silly).is_err());
    }

    #[test]
    fn unknown_accounts_and_corrupt_hashes_never_verify() {
        assert!(!verify_password("anything at all", None));
        assert!(!verify_password("anything at all", Some("not a phc string")));
    }

    #[test]
    fn new_password_rules() {
        assert_eq!(
            check_new_password("short", &["a@b.co"], 0),
            Err(PasswordProblem::TooShort { min: 8 })
        );
        assert_eq!(
            check_new_password(&"x".repeat(257), &["a@b.co"], 0),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_new_password("Ada@Example.com", &["ada@example.com"], 0),
            Err(PasswordProblem::SameAsEmail)
        );
        assert_eq!(check_new_password("long enough", &["a@b.co"], 0), Ok(()));
        // Attack: guessing the password from what the account shows (address, username).
        assert_eq!(
            check_new_password("my ADA@example.com 2024", &["ada@example.com"], 0),
            Err(PasswordProblem::SameAsEmail)
        );
        assert_eq!(
            check_new_password("lovelace1815", &["ada@example.com", "Lovelace"], 0),
            Err(PasswordProblem::SameAsEmail)
        );
        assert_eq!(
            check_new_password("long enough", &["a@b.co", "", " "], 0),
            Ok(()),
            "no username, no rule"
        );
        assert_eq!(check_new_password(&"é".repeat(8), &["a@b.co"], 0), Ok(()));
        assert_eq!(check_new_password(&"x".repeat(256), &["a@b.co"], 0), Ok(()));
        // The operator's minimum counts characters, not bytes, and never lowers the floor.
        assert_eq!(
            check_new_password("eleven char", &["a@b.co"], 12),
            Err(PasswordProblem::TooShort { min: 12 })
        );
        assert_eq!(check_new_password(&"é".repeat(12), &["a@b.co"], 12), Ok(()));
        assert_eq!(
            check_new_password("seven c", &["a@b.co"], 4),
            Err(PasswordProblem::TooShort { min: 8 })
        );
    }
}
