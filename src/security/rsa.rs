//! RSA PKCS #1 v1.5 signature verification with SHA-256 (RFC 8017 §8.2.2), public keys only:
//! no private-key code is in the portal. Used by RS256 passkeys and RS256 ID tokens.
//!
//! # Threat
//! A forged signature must not verify: the whole encoded message is rebuilt and compared, byte
//! for byte (no parsing of the decrypted block, so no Bleichenbacher-style lenient padding or
//! `DigestInfo` tricks), the signature must be exactly the modulus' length and below it, and
//! a key is accepted only as a [`PublicKey`]: 2048 to 4096 bits, an odd modulus, an odd exponent
//! of at least 3. Timing does not matter: every input is public.

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::{Encoding, U64, U4096};
use sha2::{Digest, Sha256};

/// Smallest modulus accepted.
pub const MIN_BITS: usize = 2048;
/// Largest modulus accepted.
pub const MAX_BITS: usize = 4096;
const MAX_BYTES: usize = MAX_BITS / 8;
/// DER of the SHA-256 `DigestInfo` prefix (RFC 8017 §9.2 note 1).
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];

/// An RSA public key the portal verifies with (from a COSE key or a JWK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    modulus: Vec<u8>,
    exponent: u32,
}

impl PublicKey {
    /// The key of big-endian `modulus` and `exponent` (leading zeros allowed), if it is one the
    /// portal accepts.
    pub fn from_components(modulus: &[u8], exponent: &[u8]) -> Option<Self> {
        let modulus = strip_leading_zeros(modulus);
        let exponent = strip_leading_zeros(exponent);
        let exponent = (exponent.len() <= 4)
            .then(|| exponent.iter().fold(0u32, |e, byte| (e << 8) | u32::from(*byte)))
            .filter(|e| *e >= 3 && e % 2 == 1)?;
        let odd = modulus.last().is_some_and(|last| last % 2 == 1);
        ((MIN_BITS..=MAX_BITS).contains(&bit_length(modulus)) && odd).then(|| Self {
            modulus: modulus.to_vec(),
            exponent,
        })
    }

    /// Whether `signature` is this key's signature of SHA-256(`message`).
    pub fn verify_pkcs1_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        verify_pkcs1_sha256(&self.modulus, self.exponent, message, signature)
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|byte| *byte != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Bits in a big-endian number without leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(first) => bytes.len() * 8 - first.leading_zeros() as usize,
    }
}

fn padded(bytes: &[u8]) -> Option<U4096> {
    if bytes.len() > MAX_BYTES {
        return None;
    }
    let mut buffer = [0u8; MAX_BYTES];
    buffer[MAX_BYTES - bytes.len()..].copy_from_slice(bytes);
    Some(U4096::from_be_slice(&buffer))
}

/// Whether `signature` is `modulus`/`exponent`'s signature of SHA-256(`message`). The modulus
/// is odd, without leading zeros, and at most [`MAX_BITS`] (checked when the key was read).
fn verify_pkcs1_sha256(modulus: &[u8], exponent: u32, message: &[u8], signature: &[u8]) -> bool {
    let k = modulus.len();
    if signature.len() != k || k < 11 + SHA256_PREFIX.len() + 32 {
        return false;
    }
    let (Some(n), Some(s)) = (padded(modulus), padded(signature)) else {
        return false;
    };
    // `DynResidueParams::new` needs an odd modulus (it panics on an even one).
    if s >= n || modulus[k - 1].is_multiple_of(2) {
        return false;
    }
    let params = DynResidueParams::new(&n);
    let e = U64::from_u32(exponent);
    let m = DynResidue::new(&s, params).pow_bounded_exp(&e, 32).retrieve();
    let m = m.to_be_bytes();
    let encoded = &m[MAX_BYTES - k..];
    if m[..MAX_BYTES - k].iter().any(|byte| *byte != 0) {
        return false;
    }
    let mut expected = vec![0xffu8; k];
    expected[0] = 0x00;
    expected[1] = 0x01;
    let tail = SHA256_PREFIX.len() + 32;
    expected[k - tail - 1] = 0x00;
    expected[k - tail..k - 32].copy_from_slice(&SHA256_PREFIX);
    expected[k - 32..].copy_from_slice(&Sha256::digest(message));
    encoded == expected.as_slice()
}
