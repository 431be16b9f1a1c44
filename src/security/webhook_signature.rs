//! Signing webhooks by the Standard Webhooks specification (standardwebhooks.com; what Svix,
//! Clerk and the `standardwebhooks` libraries verify).
//!
//! # Threat
//! A receiver acts on what a webhook says (creates, bans, deletes its own rows), and its URL is
//! reachable by anyone. Without a signature, anyone could forge `user.deleted`; without a
//! signed timestamp, a captured request could be replayed later; without a signed id, a
//! receiver could not tell a retry from a new event. So each delivery carries `webhook-id` (the
//! event's id, the same on every retry), `webhook-timestamp` (Unix seconds of this attempt) and
//! `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key
//! being the decoded bytes of the operator's `whsec_…` secret. The receiver checks the
//! signature in constant time and refuses a timestamp more than five minutes away.
//!
//! The secret must be `whsec_` followed by base64 of 24 to 64 random bytes (what Svix and
//! `openssl rand -base64 32` produce): a short key could be guessed from signed samples.

use super::base64::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;

/// The signing key, decoded from the operator's `whsec_…` secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(encoded) = text.trim().strip_prefix(PREFIX) else {
            return Err("must start with whsec_ (whsec_ followed by `openssl rand -base64 32`)".into());
        };
        let key = STANDARD
            .decode(encoded)
            .ok_or_else(|| "is not whsec_ followed by base64".to_owned())?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(format!(
                "must hold {MIN_KEY_BYTES} to {MAX_KEY_BYTES} random bytes after whsec_ (`openssl rand -base64 32`)"
            ));
        }
        Ok(Self(key))
    }

    /// The `webhook-signature` value of one delivery attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `header` (space-separated `v1,<base64>` signatures) holds this secret's signature
    /// of the delivery. The receiver's side, for the tests of signing.
    #[cfg(test)]
    pub fn verifies(&self, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.mac(id, timestamp, body);
        header.split(' ').any(|signature| {
            signature
                .strip_prefix("v1,")
                .and_then(|encoded| STANDARD.decode(encoded))
                .is_some_and(|given| bool::from(given.ct_eq(&expected)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_as_the_specification_s_reference_example() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(secret.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY), SPEC_SIGNATURE);
    }

    #[test]
    fn attack_a_changed_body_id_or_timestamp_does_not_verify() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert!(secret.verifies(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SIGNATURE));
        assert!(!secret.verifies(SPEC_ID, SPEC_TIMESTAMP, r#"{"test": 1}"#, SPEC_SIGNATURE));
        assert!(!secret.verifies("msg_other", SPEC_TIMESTAMP, SPEC_BODY, SPEC_SIGNATURE));
        assert!(!secret.verifies(SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY, SPEC_SIGNATURE));
        let other = WebhookSecret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        assert!(!other.verifies(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SIGNATURE));
    }

    #[test]
    fn attack_a_short_or_malformed_secret_is_refused() {
        assert!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err(),
            "no prefix"
        );
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err(), "5 bytes");
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
        assert!(!format!("{:?}", WebhookSecret::parse(SPEC_SECRET).unwrap()).contains("MfKQ"));
    }
}
