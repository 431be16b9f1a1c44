//! Authenticator-app codes: TOTP (RFC 6238) over HOTP (RFC 4226), HMAC-SHA1, 6 digits, 30 s.
//!
//! # Threat
//! A second factor is only as good as its secret and its checks:
//! - the secret is 160 random bits (RFC 4226 §4), shown once at enrolment and stored only
//!   encrypted ([`seal_secret`]: ChaCha20-Poly1305 under a key derived from `secret_key`, bound
//!   to the user id), so a copy of the database cannot produce codes;
//! - a code is accepted in the current 30 s step and one step either side (clock drift), and a
//!   step is accepted at most once per user (RFC 6238 §5.2): a code seen over a shoulder or
//!   phished in real time cannot be used again, and [`verify`] only accepts steps after the last
//!   accepted one;
//! - six digits are a million guesses: wrong codes count toward the account's sign-in lockout,
//!   as passwords do (the callers' job), and the comparison is in constant time.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::random_bytes;

/// Bytes of a secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// Seconds a code lasts.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
const DRIFT_STEPS: i64 = 1;

/// A TOTP secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// The secret as people type it into an app: RFC 4648 base32, without padding.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// `otpauth://totp/Issuer:account?…`, the URI an app reads from the QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{issuer}:{account}");
        let encode =
            |text: &str| percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
        format!(
            "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            encode(&label),
            self.base32(),
            encode(issuer)
        )
    }
}

/// The HOTP value (RFC 4226 §5.3) of `secret` at `counter`, with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The 30-second step that holds Unix time `now`.
pub fn step_at(now: i64) -> i64 {
    now.div_euclid(STEP_SECONDS)
}

/// The step `typed` is the code of, when it is one of the current step ±1 and later than
/// `last_used` (the step accepted last time, if any): a replay within the window is refused.
pub fn verify(secret: &TotpSecret, typed: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut matched = None;
    // Every candidate is computed and compared, so the time taken says nothing of which matched.
    for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
        let Ok(counter) = u64::try_from(step) else { continue };
        let code = format!("{:0width$}", hotp(&secret.0, counter, DIGITS), width = DIGITS as usize);
        let fresh = last_used.is_none_or(|last| step > last);
        if bool::from(code.as_bytes().ct_eq(typed.as_bytes())) && fresh && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// The secret encrypted for storage: a random 96-bit nonce followed by the ChaCha20-Poly1305
/// ciphertext, with the user id as associated data (a row copied to another user opens nothing).
pub fn seal_secret(key: &[u8; 32], user_id: &str, secret: &TotpSecret) -> Vec<u8> {
    let nonce: [u8; 12] = random_bytes();
    let cipher = ChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &secret.0,
                aad: user_id.as_bytes(),
            },
        )
        .expect("encrypting 20 bytes cannot fail");
    [nonce.as_slice(), &sealed].concat()
}

/// Opens a stored secret with the first of `keys` that fits (the current key, then those of
/// previous secrets during a rotation).
pub fn open_secret(keys: &[[u8; 32]], user_id: &str, stored: &[u8]) -> Option<TotpSecret> {
    if stored.len() < 12 {
        return None;
    }
    let (nonce, sealed) = stored.split_at(12);
    keys.iter().find_map(|key| {
        let plain = ChaCha20Poly1305::new(key.into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: user_id.as_bytes(),
                },
            )
            .ok()?;
        Some(TotpSecret(plain.try_into().ok()?))
    })
}

/// RFC 4648 base32 (the alphabet authenticator apps take), without padding.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 rows (8 digits, secret "12345678901234567890").
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(secret, step_at(time) as u64, 8), expected, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0 to 9.
    #[test]
    fn rfc_4226_appendix_d_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), *value);
        }
    }

    fn code(secret: &TotpSecret, step: i64) -> String {
        format!("{:06}", hotp(&secret.0, step as u64, 6))
    }

    #[test]
    fn a_code_is_accepted_in_its_step_and_one_either_side() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let current = step_at(now);
        for step in [current - 1, current, current + 1] {
            assert_eq!(verify(&secret, &code(&secret, step), now, None), Some(step));
        }
        for step in [current - 2, current + 2] {
            assert_eq!(verify(&secret, &code(&secret, step), now, None), None);
        }
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn a_code_cannot_be_replayed_within_its_window_replay() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let used = verify(&secret, &code(&secret, step_at(now)), now, None).unwrap();
        // The same code again, and an earlier one still inside the window: refused.
        assert_eq!(verify(&secret, &code(&secret, used), now + 5, Some(used)), None);
        assert_eq!(verify(&secret, &code(&secret, used - 1), now + 5, Some(used)), None);
        // The next step's code is new.
        assert_eq!(
            verify(&secret, &code(&secret, used + 1), now + 30, Some(used)),
            Some(used + 1)
        );
    }

    #[test]
    fn base32_and_the_otpauth_uri_are_what_apps_read() {
        // RFC 4648 §10.
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"f"), "MY");
        let secret = TotpSecret(*b"12345678901234567890");
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.otpauth_uri("My App", "ada@example.com"),
            "otpauth://totp/My%20App%3Aada%40example%2Ecom?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20App&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(***)");
    }

    #[test]
    fn a_stored_secret_opens_only_with_its_key_and_for_its_user_database_copy() {
        let secret = TotpSecret::generate();
        let key = random_bytes::<32>();
        let stored = seal_secret(&key, "user_1", &secret);
        assert!(
            !stored.windows(SECRET_BYTES).any(|w| w == secret.0),
            "not stored in the clear"
        );
        assert_eq!(open_secret(&[key], "user_1", &stored), Some(secret.clone()));
        assert_eq!(
            open_secret(&[random_bytes()], "user_1", &stored),
            None,
            "another deployment's key"
        );
        assert_eq!(open_secret(&[key], "user_2", &stored), None, "moved to another user");
        assert_eq!(
            open_secret(&[random_bytes(), key], "user_1", &stored),
            Some(secret),
            "a rotation"
        );
        let mut tampered = stored.clone();
        tampered[15] ^= 1;
        assert_eq!(open_secret(&[key], "user_1", &tampered), None);
        assert_eq!(open_secret(&[key], "user_1", &stored[..5]), None);
    }
}
