//! Argon2id password hashes as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, the
//! Password Hashing Competition's format, as every Argon2 implementation writes it), read and
//! written here around the `argon2` crate's hashing core.
//!
//! # Threat
//! A stored string decides how much work a sign-in does, and an imported one comes from an API
//! client. The grammar is strict: the identifier `argon2id`, an optional `v=19`, the parameters
//! `m`, `t` and `p` (decimal without leading zeros, each at most once, in any order) and Argon2's
//! optional `keyid` and `data`, a salt of 8 to 48 bytes and an output of 16 to 64 bytes, both in
//! unpadded standard base64 with no stray bits (`security::base64`); anything else is refused,
//! and the costs are bounded by the caller before a hash is stored
//! (`password::check_imported_hash`). The computed hash is compared in constant time.

use argon2::{Algorithm, Argon2, AssociatedData, Block, KeyId, Params, ParamsBuilder, Version};
use subtle::ConstantTimeEq;

use super::base64::STANDARD_NO_PAD;

const PREFIX: &str = "$argon2id$";
pub const MIN_SALT_BYTES: usize = 8;
/// 64 base64 characters, the PHC format's longest salt.
pub const MAX_SALT_BYTES: usize = 48;
pub const MIN_OUTPUT_BYTES: usize = 16;
pub const MAX_OUTPUT_BYTES: usize = 64;

/// A parsed Argon2id PHC string.
#[derive(Debug)]
pub struct PhcHash {
    params: Params,
    salt: Vec<u8>,
    output: Vec<u8>,
}

/// Why a string is not a usable Argon2id PHC string.
#[derive(Debug, PartialEq, Eq)]
pub enum PhcProblem {
    /// Not `$<algorithm>$…` at all.
    Malformed,
    /// A PHC string of another algorithm (`argon2i`, `scrypt`…).
    Algorithm(String),
    /// A version other than 19 (0x13).
    Version,
    /// A parameter that is unknown, repeated, badly written or out of Argon2's range.
    Parameters,
    /// No salt, or one outside [`MIN_SALT_BYTES`]..=[`MAX_SALT_BYTES`].
    Salt,
    /// No output, or one outside [`MIN_OUTPUT_BYTES`]..=[`MAX_OUTPUT_BYTES`].
    Output,
}

impl PhcHash {
    pub fn parse(text: &str) -> Result<Self, PhcProblem> {
        let Some(rest) = text.strip_prefix(PREFIX) else {
            let algorithm = text
                .strip_prefix('$')
                .and_then(|rest| rest.split('$').next())
                .filter(|name| !name.is_empty() && name.len() <= 32 && *name != "argon2id")
                .filter(|name| {
                    name.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            return Err(algorithm.map_or(PhcProblem::Malformed, |name| PhcProblem::Algorithm(name.to_owned())));
        };
        let mut fields: Vec<&str> = rest.split('$').collect();
        let versioned = fields.first().is_some_and(|field| field.starts_with("v="));
        if versioned && fields.remove(0) != "v=19" {
            return Err(PhcProblem::Version);
        }
        let [parameters, salt, output] = fields[..] else {
            return Err(match fields.len() {
                0 | 1 => PhcProblem::Salt,
                2 => PhcProblem::Output,
                _ => PhcProblem::Malformed,
            });
        };
        let salt = STANDARD_NO_PAD
            .decode(salt)
            .filter(|salt| (MIN_SALT_BYTES..=MAX_SALT_BYTES).contains(&salt.len()))
            .ok_or(PhcProblem::Salt)?;
        let output = STANDARD_NO_PAD
            .decode(output)
            .filter(|output| (MIN_OUTPUT_BYTES..=MAX_OUTPUT_BYTES).contains(&output.len()))
            .ok_or(PhcProblem::Output)?;
        let params = read_parameters(parameters, output.len()).ok_or(PhcProblem::Parameters)?;
        Ok(Self { params, salt, output })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether `password` is the one hashed.
    pub fn verify(&self, password: &[u8]) -> bool {
        let mut computed = vec![0u8; self.output.len()];
        hash_into(&self.params, password, &self.salt, &mut computed) && bool::from(computed.ct_eq(&self.output))
    }

    /// Hashes `password` with `salt` into a new PHC string (the parameters' `keyid` and `data`
    /// are not written: the portal's own hashes have none).
    pub fn create(params: &Params, password: &[u8], salt: &[u8]) -> Option<String> {
        let mut output = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        hash_into(params, password, salt, &mut output).then(|| {
            format!(
                "{PREFIX}v=19$m={},t={},p={}${}${}",
                params.m_cost(),
                params.t_cost(),
                params.p_cost(),
                STANDARD_NO_PAD.encode(salt),
                STANDARD_NO_PAD.encode(&output)
            )
        })
    }
}

/// Argon2id, version 19, with `params`: the whole memory is allocated here (about `m` KiB).
pub fn hash_into(params: &Params, password: &[u8], salt: &[u8], output: &mut [u8]) -> bool {
    let mut blocks = vec![Block::default(); params.block_count()];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt, output, &mut blocks)
        .is_ok()
}

/// `m=…,t=…,p=…` (and `keyid=…`, `data=…`) in any order, each at most once.
fn read_parameters(text: &str, output_len: usize) -> Option<Params> {
    let mut builder = ParamsBuilder::new();
    let mut seen = [false; 5];
    for parameter in text.split(',') {
        let (name, value) = parameter.split_once('=')?;
        let index = ["m", "t", "p", "keyid", "data"]
            .iter()
            .position(|known| *known == name)?;
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
        match index {
            0 => builder.m_cost(decimal(value)?),
            1 => builder.t_cost(decimal(value)?),
            2 => builder.p_cost(decimal(value)?),
            3 => builder.keyid(KeyId::new(&STANDARD_NO_PAD.decode(value)?).ok()?),
            _ => builder.data(AssociatedData::new(&STANDARD_NO_PAD.decode(value)?).ok()?),
        };
    }
    builder.output_len(output_len).build().ok()
}

/// A PHC decimal: ASCII digits, no sign, no leading zero, within `u32`.
fn decimal(text: &str) -> Option<u32> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use password_hash::{PasswordHash, PasswordHasher, SaltString};

    fn params(m: u32, t: u32, p: u32) -> Params {
        Params::new(m, t, p, None).unwrap()
    }

    /// The same hash made by the `password-hash` crate's PHC writer (what the portal stored
    /// before this module, and what other Rust systems store).
    fn made_by_the_crate(params: Params, password: &[u8], salt: &[u8]) -> String {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password, &SaltString::encode_b64(salt).unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn writes_what_the_password_hash_crate_writes_and_reads_it_back() {
        for (m, t, p, salt_len) in [(64, 1, 1, 8), (256, 2, 1, 16), (128, 3, 2, 33), (64, 1, 4, 48)] {
            let salt: Vec<u8> = (0..salt_len).map(|i| (i * 37 + m as usize) as u8).collect();
            let ours = PhcHash::create(&params(m, t, p), b"a password", &salt).unwrap();
            assert_eq!(ours, made_by_the_crate(params(m, t, p), b"a password", &salt));
            let parsed = PhcHash::parse(&ours).unwrap();
            assert!(parsed.verify(b"a password"));
            assert!(!parsed.verify(b"a passwore"));
            assert!(!parsed.verify(b""));
            assert_eq!(
                (
                    parsed.params().m_cost(),
                    parsed.params().t_cost(),
                    parsed.params().p_cost()
                ),
                (m, t, p)
            );
        }
    }

    #[test]
    fn reads_other_systems_hashes_with_their_own_parameters() {
        // Parameters in another order, no version field (Argon2 1.3 by default), a 64-byte
        // output, and Argon2's associated data and key id, all verified as the crate does.
        let salt = b"somesaltsomesalt";
        let crate_hash = made_by_the_crate(params(128, 2, 1), b"secret", salt);
        let reordered = crate_hash
            .replace("m=128,t=2,p=1", "p=1,t=2,m=128")
            .replace("$v=19", "");
        assert!(PhcHash::parse(&reordered).unwrap().verify(b"secret"));
        let long = ParamsBuilder::new()
            .m_cost(64)
            .t_cost(1)
            .p_cost(1)
            .output_len(64)
            .build()
            .unwrap();
        let long_hash = made_by_the_crate(long, b"secret", salt);
        assert!(PhcHash::parse(&long_hash).unwrap().verify(b"secret"));
        let with_data = ParamsBuilder::new()
            .m_cost(64)
            .t_cost(1)
            .p_cost(1)
            .data(AssociatedData::new(b"context").unwrap())
            .keyid(KeyId::new(b"k1").unwrap())
            .build()
            .unwrap();
        let with_data_hash = made_by_the_crate(with_data, b"secret", salt);
        assert!(
            with_data_hash.contains("keyid=") && with_data_hash.contains("data="),
            "{with_data_hash}"
        );
        let parsed = PhcHash::parse(&with_data_hash).unwrap();
        assert!(parsed.verify(b"secret"));
        assert!(
            !PhcHash::parse(&with_data_hash.replace("data=Y29udGV4dA", "data=Y29udGV4dQ"))
                .unwrap()
                .verify(b"secret")
        );
        // Everything the crate's reader accepts from these, ours reads the same way.
        for text in [&crate_hash, &reordered, &long_hash, &with_data_hash] {
            let theirs = PasswordHash::new(text).unwrap();
            let ours = PhcHash::parse(text).unwrap();
            assert_eq!(Params::try_from(&theirs).unwrap(), ours.params().clone(), "{text}");
        }
    }

    #[test]
    fn attack_malformed_or_foreign_strings_are_refused() {
        let good = made_by_the_crate(params(64, 1, 1), b"secret", b"somesaltsomesalt");
        let cases: [(String, PhcProblem); 17] = [
            (String::new(), PhcProblem::Malformed),
            ("$argon2id".into(), PhcProblem::Malformed),
            ("plain text password".into(), PhcProblem::Malformed),
            (
                good.replacen("$argon2id$", "$argon2i$", 1),
                PhcProblem::Algorithm("argon2i".into()),
            ),
            (
                good.replacen("$argon2id$", "$scrypt$", 1),
                PhcProblem::Algorithm("scrypt".into()),
            ),
            (good.replacen("v=19", "v=16", 1), PhcProblem::Version),
            (good.replacen("m=64", "m=064", 1), PhcProblem::Parameters),
            (good.replacen("m=64", "m=+64", 1), PhcProblem::Parameters),
            (good.replacen("m=64", "m=4294967296", 1), PhcProblem::Parameters),
            (good.replacen("t=1", "t=1,t=2", 1), PhcProblem::Parameters),
            (good.replacen("p=1", "p=1,x=2", 1), PhcProblem::Parameters),
            (good.replacen("t=1", "t=0", 1), PhcProblem::Parameters),
            (good.replacen("m=64", "m=1", 1), PhcProblem::Parameters),
            (good[..good.rfind('$').unwrap()].to_owned(), PhcProblem::Output),
            (format!("{good}$extra"), PhcProblem::Malformed),
            // A salt shorter than Argon2 takes (6 bytes), and stray bits after the output.
            (good.replacen("c29tZXNhbHRzb21lc2FsdA", "c29tZXNh", 1), PhcProblem::Salt),
            (format!("{}B", &good[..good.len() - 1]), PhcProblem::Output),
        ];
        for (text, problem) in cases {
            assert_eq!(PhcHash::parse(&text).map(|_| ()), Err(problem), "{text}");
        }
    }

    #[test]
    fn attack_mangled_strings_never_read_looser_than_the_crates_reader() {
        // Whatever ours accepts, the password-hash crate's reader accepts too, with the same
        // parameters, salt and output; and nothing panics.
        let salt = b"somesaltsomesalt";
        let seeds = [
            made_by_the_crate(params(64, 1, 1), b"secret", salt),
            made_by_the_crate(params(19_456, 2, 1), b"secret", salt).replace("$v=19", ""),
        ];
        let alphabet = b"$=,0123456789mtpvkeyiddataAZaz+/.-";
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        for round in 0..20_000 {
            let mut text = seeds[round % seeds.len()].clone().into_bytes();
            for _ in 0..1 + round % 3 {
                let at = next() % text.len();
                match next() % 3 {
                    0 => text[at] = alphabet[next() % alphabet.len()],
                    1 => {
                        text.remove(at);
                    }
                    _ => text.insert(at, alphabet[next() % alphabet.len()]),
                }
            }
            let text = String::from_utf8(text).unwrap();
            let Ok(ours) = PhcHash::parse(&text) else {
                continue;
            };
            let theirs = PasswordHash::new(&text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(Params::try_from(&theirs).unwrap(), ours.params, "{text}");
            let mut salt = [0u8; 64];
            assert_eq!(
                theirs.salt.unwrap().decode_b64(&mut salt).unwrap(),
                &ours.salt[..],
                "{text}"
            );
            assert_eq!(theirs.hash.unwrap().as_bytes(), &ours.output[..], "{text}");
        }
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(decimal("19456"), Some(19_456));
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("4294967295"), Some(u32::MAX));
        for bad in ["", "01", "+1", "-1", "1e3", " 1", "4294967296", "١"] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }
}
