//! bcrypt hashes brought from another system (`$2a$`, `$2b$`, `$2y$`, the Backend API's
//! `password_digest`): read strictly and verified with the `bcrypt` crate's EksBlowfish core.
//! New hashes are always Argon2id; an imported one is replaced at the account's next sign-in.
//!
//! # Threat
//! An imported hash is input from an API client: a cost that makes every sign-in of that account
//! burn seconds of CPU is refused at import and again before verifying ([`MAX_COST`]), and a
//! string that is not exactly `$2?$NN$` + 22 salt characters + 31 hash characters in bcrypt's
//! alphabet is refused at import, so an account never holds a hash that can never verify. The
//! comparison of the computed hash with the stored one is constant-time.

use subtle::ConstantTimeEq;

use super::base64::BCRYPT;

/// bcrypt's smallest cost (2^4 rounds).
pub const MIN_COST: u32 = 4;
/// The largest cost verified: 2^12 rounds, about a quarter of a second in wasm.
pub const MAX_COST: u32 = 12;

/// A parsed bcrypt hash.
#[derive(Debug, PartialEq, Eq)]
pub struct BcryptHash {
    cost: u32,
    salt: [u8; 16],
    hash: [u8; 23],
}

/// Why a text is not a usable bcrypt hash.
#[derive(Debug, PartialEq, Eq)]
pub enum BcryptProblem {
    Malformed,
    /// A well-formed hash whose cost is outside [`MIN_COST`]..=[`MAX_COST`].
    Cost(u32),
}

/// Whether a stored hash is a bcrypt hash (by its prefix; [`BcryptHash::parse`] reads it).
pub fn looks_like_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix))
}

impl BcryptHash {
    pub fn parse(text: &str) -> Result<Self, BcryptProblem> {
        let rest = text
            .get(4..)
            .filter(|_| looks_like_bcrypt(text))
            .ok_or(BcryptProblem::Malformed)?;
        let (cost, encoded) = rest.split_once('$').ok_or(BcryptProblem::Malformed)?;
        if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) || encoded.len() != 53 || !encoded.is_ascii() {
            return Err(BcryptProblem::Malformed);
        }
        let cost: u32 = cost.parse().map_err(|_| BcryptProblem::Malformed)?;
        let (salt, hash) = encoded.split_at(22);
        let salt = BCRYPT.decode(salt).and_then(|salt| salt.try_into().ok());
        let hash = BCRYPT.decode(hash).and_then(|hash| hash.try_into().ok());
        let (Some(salt), Some(hash)) = (salt, hash) else {
            return Err(BcryptProblem::Malformed);
        };
        if !(MIN_COST..=MAX_COST).contains(&cost) {
            return Err(BcryptProblem::Cost(cost));
        }
        Ok(Self { cost, salt, hash })
    }

    /// Whether `password` is the one hashed. bcrypt reads the password's bytes and a final NUL,
    /// at most 72 bytes of them, as the system that made the hash did.
    pub fn verify(&self, password: &str) -> bool {
        let mut key = password.as_bytes().to_vec();
        key.push(0);
        key.truncate(72);
        let computed = bcrypt::bcrypt(self.cost, self.salt, &key);
        bool::from(computed[..23].ct_eq(&self.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "correctbatteryhorsestapler" at cost 4: the `bcrypt` crate's own test vector.
    const COST_4: &str = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";

    #[test]
    fn verifies_the_right_password_only() {
        let hash = BcryptHash::parse(COST_4).unwrap();
        assert!(hash.verify("correctbatteryhorsestapler"));
        assert!(!hash.verify("correctbatteryhorsestaple"));
        assert!(!hash.verify(""));
        for prefix in ["$2a$", "$2y$"] {
            let other = BcryptHash::parse(&COST_4.replacen("$2b$", prefix, 1)).unwrap();
            assert!(other.verify("correctbatteryhorsestapler"), "{prefix}");
        }
    }

    #[test]
    fn agrees_with_the_bcrypt_crate_up_to_and_past_72_bytes() {
        for password in ["", "a", "pässwörd", &"x".repeat(71), &"y".repeat(72), &"z".repeat(100)] {
            let made = bcrypt::hash_with_salt(password, 4, [7u8; 16]).unwrap().to_string();
            let hash = BcryptHash::parse(&made).unwrap();
            assert!(hash.verify(password), "{password}");
            assert!(
                !hash.verify(&format!("{password}!")) || password.len() >= 72,
                "{password}"
            );
        }
        // Past 72 bytes only the first 72 count, as in every bcrypt.
        let long = bcrypt::hash_with_salt("z".repeat(100), 4, [7u8; 16])
            .unwrap()
            .to_string();
        assert!(BcryptHash::parse(&long).unwrap().verify(&"z".repeat(80)));
    }

    #[test]
    fn attack_a_cost_that_would_burn_cpu_at_every_sign_in_is_refused() {
        assert_eq!(
            BcryptHash::parse(&COST_4.replacen("$04$", "$31$", 1)),
            Err(BcryptProblem::Cost(31))
        );
        assert_eq!(
            BcryptHash::parse(&COST_4.replacen("$04$", "$13$", 1)),
            Err(BcryptProblem::Cost(13))
        );
        assert_eq!(
            BcryptHash::parse(&COST_4.replacen("$04$", "$03$", 1)),
            Err(BcryptProblem::Cost(3))
        );
    }

    #[test]
    fn attack_a_hash_that_could_never_verify_is_refused_at_import() {
        for malformed in [
            "",
            "$2b$",
            "$2b$04$tooshort",
            "$2x$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$4$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$+4$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie=",
            "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxci",
            // A character outside bcrypt's alphabet, and non-zero bits after the salt's last byte.
            "$2b$04$EGdrhbKUv8Oc9vGiXX0HQ+xSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$04$EGdrhbKUv8Oc9vGiXX0HQPxSg445d458Muh7DAHskb6QbtCvdxcie",
            "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcié",
        ] {
            assert_eq!(
                BcryptHash::parse(malformed),
                Err(BcryptProblem::Malformed),
                "{malformed}"
            );
        }
    }
}
