//! Security-sensitive code, one module per concern, each with its threat in its doc comment.

pub mod api_key;
pub mod backup_codes;
pub mod base64;
pub mod bcrypt_hash;
pub mod bot_check;
pub mod breach;
pub mod cbor;
pub(crate) mod client_addr;
pub(crate) mod codes;
pub(crate) mod csrf;
pub(crate) mod ec_der;
pub mod email_text;
pub mod id_token;
pub(crate) mod lockout;
pub mod password;
pub mod phc;
pub mod rsa;
pub(crate) mod secret;
pub(crate) mod session;
pub mod sign_up_policy;
pub(crate) mod token;
pub mod totp;
pub mod webauthn;
pub mod webhook_signature;

use self::base64::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `n` bytes from the operating system's CSPRNG (WASI `random_get` in the component).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the host provides randomness");
    bytes
}

/// A random identifier with a readable prefix: `user_…`, `sess_…` (128 bits, hex).
pub fn random_id(prefix: &str) -> String {
    let bytes: [u8; 16] = random_bytes();
    let mut id = String::with_capacity(prefix.len() + 33);
    id.push_str(prefix);
    id.push('_');
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn from_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text)
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A new bearer token (256 random bits, base64url: portal sessions, invitation links, device
/// cookies, "this wasn't me" links) and the hash to store. Only the hash is ever stored, so a
/// copy of the database cannot present a token.
pub fn new_token() -> (String, [u8; 32]) {
    let token = base64url(&random_bytes::<32>());
    let hash = token_hash(&token);
    (token, hash)
}

/// The hash under which a presented token would be stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    sha256(token.as_bytes())
}

/// The P-256 public key of affine coordinates `x` and `y` (32 bytes each), if it is a point of
/// the curve (a COSE key's or a JWK's).
pub(crate) fn p256_key(x: &[u8], y: &[u8]) -> Option<p256_limbs::PublicKey> {
    p256_limbs::PublicKey::from_affine_bytes(x.try_into().ok()?, y.try_into().ok()?)
}

/// Whether `signature` (r ‖ s, 64 bytes) is `key`'s ES256 signature of `message`.
pub(crate) fn es256_verify(key: &p256_limbs::PublicKey, message: &[u8], signature: &[u8]) -> bool {
    <&[u8; 64]>::try_from(signature)
        .is_ok_and(|signature| p256_limbs::verify_prehashed(key, &sha256(message), signature))
}

/// Counts of the costly operations this thread ran (Argon2 runs, scalar multiplications, key
/// generations), so native tests can pin that a page does none, or exactly one.
#[cfg(test)]
pub mod cost {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local! {
        static COUNTS: RefCell<BTreeMap<&'static str, usize>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub fn count(operation: &'static str, times: usize) {
        COUNTS.with(|counts| *counts.borrow_mut().entry(operation).or_default() += times);
    }

    /// What this thread ran since the last call.
    pub fn take() -> BTreeMap<&'static str, usize> {
        COUNTS.with(|counts| std::mem::take(&mut *counts.borrow_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), hash_a);
        assert_ne!(a.as_bytes(), hash_a.as_slice());
    }
}
