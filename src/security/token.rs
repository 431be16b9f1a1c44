//! Session tokens (ES256 JWTs), the JWKS document, and sealed values for forms.
//!
//! # Threat
//! Apps trust `__session` to say who is signed in, so a forged, altered, expired or
//! algorithm-swapped token must never verify: the verifier accepts exactly `alg: ES256` with the
//! current `kid`, checks the P-256 signature over the exact header and payload bytes, then
//! `iss`, `nbf` and `exp`. `alg: none`, HMAC-with-the-public-key confusion and unknown keys all
//! fail before any claim is read.
//!
//! Form values that must survive a round trip through the browser unchanged (the validated
//! redirect target, CSRF tokens) are sealed with HMAC-SHA256 under a key derived from the
//! signing key, with a purpose label so a value sealed for one use cannot be replayed in another.
//!
//! The private key never prints: [`Keys`] implements `Debug` as `***`.

use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Signer;
#[cfg(test)]
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{base64url, from_base64url, random_bytes, sha256};

/// The claims of a `__session` token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org_slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org_role: Option<String>,
}

/// Why a token does not verify. The portal issues tokens and apps verify them; this verifier is
/// the reference the tests hold the issued tokens to.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnsupportedAlgorithm,
    UnknownKey,
    BadSignature,
    WrongIssuer,
    NotYetValid,
    Expired,
}

#[cfg(test)]
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The portal's signing key and everything derived from it.
#[derive(Clone)]
pub struct Keys {
    signing: SigningKey,
    verifying: VerifyingKey,
    kid: String,
    seal_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys {{ kid: {}, private: *** }}", self.kid)
    }
}

impl Keys {
    /// A new random P-256 key; returns the keys and the 32-byte scalar to store.
    pub fn generate() -> (Self, Vec<u8>) {
        loop {
            let scalar: [u8; 32] = random_bytes();
            if let Ok(keys) = Self::from_scalar(&scalar) {
                return (keys, scalar.to_vec());
            }
        }
    }

    /// From a stored 32-byte private scalar.
    pub fn from_scalar(scalar: &[u8]) -> Result<Self, String> {
        let signing = SigningKey::from_slice(scalar).map_err(|_| "not a valid P-256 private key".to_owned())?;
        Ok(Self::from_signing_key(signing))
    }

    /// From the `session_signing_key` variable: a PKCS#8 P-256 private key, as PEM (line breaks
    /// may be written `\n`) or as the base64 of its DER on one line.
    pub fn from_secret(text: &str) -> Result<Self, String> {
        let body: String = text
            .replace("\\n", "\n")
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .flat_map(|line| line.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &body)
            .map_err(|_| "is not PEM or base64 (expected a PKCS#8 P-256 private key)".to_owned())?;
        let signing = SigningKey::from_pkcs8_der(&der)
            .map_err(|_| "is not a PKCS#8 P-256 private key (generate one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)".to_owned())?;
        Ok(Self::from_signing_key(signing))
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        let verifying = *signing.verifying_key();
        let (x, y) = coordinates(&verifying);
        // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = base64url(&sha256(thumbprint_input.as_bytes()));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&signing.to_bytes()).expect("any key length");
        mac.update(b"account-portal seal key v1");
        let seal_key = mac.finalize().into_bytes().into();
        Self {
            signing,
            verifying,
            kid,
            seal_key,
        }
    }

    #[cfg(test)]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as an RFC 7517 JWK.
    pub fn jwk(&self) -> serde_json::Value {
        let (x, y) = coordinates(&self.verifying);
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": x,
            "y": y,
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
        })
    }

    /// The `/.well-known/jwks.json` document.
    pub fn jwks(&self) -> String {
        serde_json::json!({ "keys": [self.jwk()] }).to_string()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(&serde_json::to_vec(claims).expect("claims serialize"))
        );
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", base64url(&signature.to_bytes()))
    }

    /// Verifies a token this portal issued, at time `now`, for issuer `issuer`.
    #[cfg(test)]
    pub fn verify(&self, token: &str, issuer: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = from_base64url(header_b64)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if header.alg != "ES256" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::UnknownKey);
        }
        let signature = from_base64url(signature_b64)
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .ok_or(TokenError::BadSignature)?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        self.verifying
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = from_base64url(payload_b64)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.iss != issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.nbf > now {
            return Err(TokenError::NotYetValid);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Seals `payload` for `purpose`: `base64url(payload).tag`.
    pub fn seal(&self, purpose: &str, payload: &str) -> String {
        let encoded = base64url(payload.as_bytes());
        let tag = self.tag(purpose, &encoded);
        format!("{encoded}.{tag}")
    }

    /// Opens a value sealed for `purpose`; `None` when altered, truncated or sealed for another use.
    pub fn unseal(&self, purpose: &str, sealed: &str) -> Option<String> {
        let (encoded, tag) = sealed.split_once('.')?;
        self.check_tag(purpose, encoded, tag)
            .then(|| from_base64url(encoded))
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    }

    /// An HMAC-SHA256 tag over `data` for `purpose`, base64url.
    pub fn tag(&self, purpose: &str, data: &str) -> String {
        let mut mac = self.seal_mac(purpose);
        mac.update(data.as_bytes());
        base64url(&mac.finalize().into_bytes())
    }

    /// Checks a tag from [`Keys::tag`] in constant time.
    pub fn check_tag(&self, purpose: &str, data: &str, tag: &str) -> bool {
        let Some(tag) = from_base64url(tag) else {
            return false;
        };
        let mut mac = self.seal_mac(purpose);
        mac.update(data.as_bytes());
        mac.verify_slice(&tag).is_ok()
    }

    /// HMAC keyed for one purpose; the NUL separates the label from the sealed text.
    fn seal_mac(&self, purpose: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.seal_key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac
    }
}

fn coordinates(key: &VerifyingKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    let x = point.x().map(|x| base64url(x)).unwrap_or_default();
    let y = point.y().map(|y| base64url(y)).unwrap_or_default();
    (x, y)
}

#[cfg(test)]
mod tests;
