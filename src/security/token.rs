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
//! redirect target, CSRF tokens) are sealed with HMAC-SHA256 ([`MacKeys`]), with a purpose label
//! so a value sealed for one use cannot be replayed in another. HMAC keys and signing keys are
//! separate, so the pages that only carry forms need no elliptic-curve work.
//!
//! Private keys never print: [`SigningKeys`], [`Scalar`] and [`MacKeys`] show `***`.

use hmac::{Hmac, Mac};
use p256_limbs::PublicKey;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::secret::Secret;
use super::{base64url, from_base64url, random_bytes, sha256};

/// The claims of a `__session` token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// Who the token is for (`session_token_audience`, else the instance domain, else the
    /// portal's origin): an app checks it, so a token minted for one deployment or app is
    /// refused by another that shares a verifier.
    pub aud: String,
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
    /// How the session was signed in (RFC 8176: `pwd`, `otp`, `mfa` when two factors were used).
    #[serde(default)]
    pub amr: Vec<String>,
    /// Minutes since the first and the second factor were last verified, `-1` for a factor never
    /// verified (Clerk's claim): an app can demand a recent second factor.
    #[serde(default)]
    pub fva: [i64; 2],
    /// The user's public metadata, when the operator lets tokens carry it
    /// (`session_token_public_metadata`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub public_metadata: Option<serde_json::Map<String, serde_json::Value>>,
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

/// HMAC keys for values the browser must hand back unchanged (CSRF tokens, sealed redirect
/// targets). Making them costs no elliptic-curve work, so a page with a form needs no signing
/// key. Values sealed under a previous secret keep opening during a rotation.
#[derive(Clone)]
pub struct MacKeys {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
}

impl std::fmt::Debug for MacKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MacKeys {{ *** and {} previous }}", self.previous.len())
    }
}

impl MacKeys {
    pub fn new(current: [u8; 32], previous: Vec<[u8; 32]>) -> Self {
        Self { current, previous }
    }

    /// The keys of `secret_key` and of each previous secret still accepted.
    pub fn from_secrets(current: &Secret, previous: &[Secret]) -> Self {
        Self::new(
            current.derive(MAC_PURPOSE),
            previous.iter().map(|secret| secret.derive(MAC_PURPOSE)).collect(),
        )
    }

    /// The key the portal has always derived from a stored or configured signing scalar, so that
    /// tokens and seals made before a secret was configured keep working in development.
    pub fn from_signing_scalar(scalar: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(scalar).expect("any key length");
        mac.update(b"account-portal seal key v1");
        Self::new(mac.finalize().into_bytes().into(), Vec::new())
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

    /// An HMAC-SHA256 tag over `data` for `purpose`, base64url, under the current key.
    pub fn tag(&self, purpose: &str, data: &str) -> String {
        let mut mac = keyed_mac(&self.current, purpose);
        mac.update(data.as_bytes());
        base64url(&mac.finalize().into_bytes())
    }

    /// Checks a tag from [`MacKeys::tag`] in constant time, under the current or a previous key.
    pub fn check_tag(&self, purpose: &str, data: &str, tag: &str) -> bool {
        let Some(tag) = from_base64url(tag) else {
            return false;
        };
        std::iter::once(&self.current).chain(&self.previous).any(|key| {
            let mut mac = keyed_mac(key, purpose);
            mac.update(data.as_bytes());
            mac.verify_slice(&tag).is_ok()
        })
    }
}

/// A 32-byte key for `purpose` from a development portal's signing scalar (which has no
/// `secret_key` to derive keys from): HMAC-SHA256 of the label under the scalar.
pub fn subkey(scalar: &[u8], purpose: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(scalar).expect("any key length");
    mac.update(b"account-portal subkey v1\0");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// HMAC keyed for one purpose; the NUL separates the label from the data.
fn keyed_mac(key: &[u8; 32], purpose: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac
}

/// A P-256 private scalar, checked to be one (non-zero, below the group order) without computing
/// its public key.
#[derive(Clone, PartialEq, Eq)]
pub struct Scalar([u8; 32]);

impl std::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scalar(***)")
    }
}

impl Scalar {
    /// A new random scalar.
    pub fn generate() -> Self {
        #[cfg(test)]
        super::cost::count("key generation", 1);
        loop {
            if let Ok(scalar) = Self::from_bytes(&random_bytes::<32>()) {
                return scalar;
            }
        }
    }

    /// A stored scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        match <[u8; 32]>::try_from(bytes) {
            Ok(scalar) if p256_limbs::is_valid_scalar(&scalar) => Ok(Self(scalar)),
            _ => Err("not a valid P-256 private key".to_owned()),
        }
    }

    /// The token signing scalar of a secret (`secret_key`).
    pub fn derive(secret: &Secret) -> Self {
        // A 32-byte HKDF output is a valid scalar except with probability about 2^-32; try the
        // next counter then.
        (0..=u8::MAX)
            .find_map(|index| Self::from_bytes(&secret.derive_indexed(SIGNING_PURPOSE, index)).ok())
            .expect("one of 256 derivations is a valid scalar")
    }

    /// From the `session_signing_key` variable: a PKCS#8 P-256 private key, as PEM (line breaks
    /// may be written `\n`) or as the base64 of its DER on one line.
    pub fn from_pkcs8(text: &str) -> Result<Self, String> {
        let body: String = text
            .replace("\\n", "\n")
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .flat_map(|line| line.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = super::base64::STANDARD
            .decode(&body)
            .ok_or_else(|| "is not PEM or base64 (expected a PKCS#8 P-256 private key)".to_owned())?;
        super::ec_der::pkcs8_p256_scalar(&der)
            .and_then(|scalar| Self::from_bytes(&scalar).ok())
            .ok_or_else(|| "is not a PKCS#8 P-256 private key (generate one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)".to_owned())
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
}

/// The HKDF purpose of the HMAC key (CSRF tokens, sealed values).
const MAC_PURPOSE: &str = "hmac key (csrf tokens, sealed values)";

/// The HKDF purpose of the token signing key.
const SIGNING_PURPOSE: &str = "token signing key (ES256)";

/// The key that signs `__session` tokens. Making it costs no elliptic-curve work: a signature is
/// one scalar multiplication (RFC 6979 deterministic ECDSA, as `p256`'s `SigningKey` does), and
/// the public key, another one, is computed only for the JWKS.
#[derive(Clone)]
pub struct Signer {
    scalar: Scalar,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer {{ kid: {}, private: *** }}", self.kid)
    }
}

impl Signer {
    pub fn new(scalar: &Scalar) -> Self {
        Self {
            kid: key_id(&scalar.0),
            scalar: scalar.clone(),
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        es256_jwt(
            &self.scalar,
            &header,
            &serde_json::to_vec(claims).expect("claims serialize"),
        )
    }
}

/// A compact ES256 JWS of `payload` under `header`, signed with `scalar` (RFC 6979).
fn es256_jwt(scalar: &Scalar, header: &serde_json::Value, payload: &[u8]) -> String {
    #[cfg(test)]
    super::cost::count("scalar multiplication", 1);
    let signing_input = format!("{}.{}", base64url(header.to_string().as_bytes()), base64url(payload));
    let digest = sha256(signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(&sign_digest(scalar, &digest)))
}

/// RFC 6979 deterministic ECDSA of a SHA-256 digest (`r ‖ s`), computed as `ecdsa`'s
/// `try_sign_prehashed_rfc6979` computes it (a test holds them equal), with k·G taken in
/// constant time from the precomputed table of [`p256_limbs::mul_generator`]: the one scalar
/// multiplication is a quarter of the work.
fn sign_digest(key: &Scalar, digest: &[u8; 32]) -> [u8; 64] {
    use p256_limbs::{ORDER, from_be_bytes, mul_generator, to_be_bytes};
    // RFC 6979's bits2octets of a 256-bit digest for a 256-bit order is the digest itself.
    let order = p256_limbs::order_be_bytes();
    let k_bytes: [u8; 32] =
        rfc6979::generate_k::<Sha256, rfc6979::consts::U32>(&key.0.into(), &order.into(), &(*digest).into(), &[])
            .into();
    let (big_r_x, _) = mul_generator(&k_bytes).to_affine_bytes();
    // s = k⁻¹·(z + r·d) mod n, in the order's Montgomery form. RFC 6979's k is never zero, so
    // it has an inverse.
    let r = ORDER.reduce(&from_be_bytes(&big_r_x));
    let z = ORDER.reduce(&from_be_bytes(digest));
    let k = ORDER.to_montgomery(&from_be_bytes(&k_bytes));
    let d = ORDER.to_montgomery(&from_be_bytes(&key.0));
    let r_times_d = ORDER.mul(&ORDER.to_montgomery(&r), &d);
    let s = ORDER.mul(&ORDER.invert(&k), &ORDER.add(&ORDER.to_montgomery(&z), &r_times_d));
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&to_be_bytes(&r));
    signature[32..].copy_from_slice(&to_be_bytes(&ORDER.from_montgomery(&s)));
    signature
}

/// A JWT signed with another party's P-256 key (`scalar`, named `kid` there): Sign in with
/// Apple's client secret.
pub fn sign_es256_with(scalar: &Scalar, kid: &str, claims: &serde_json::Value) -> String {
    let header = serde_json::json!({ "alg": "ES256", "kid": kid });
    es256_jwt(scalar, &header, claims.to_string().as_bytes())
}

/// The `kid` of a key: an HMAC of the private scalar under a fixed label, so it names the key
/// without computing its public key, and reveals nothing about it.
fn key_id(scalar: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(scalar).expect("any key length");
    mac.update(b"account-portal key id v1");
    base64url(&mac.finalize().into_bytes()[..16])
}

/// Every key the JWKS publishes: the current one first, then those of previous secrets, so
/// tokens signed before a rotation keep verifying. Each costs a scalar multiplication.
#[derive(Clone)]
pub struct SigningKeys {
    signer: Signer,
    published: Vec<(String, PublicKey)>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys {{ kid: {}, private: *** }}", self.signer.kid)
    }
}

impl SigningKeys {
    /// Signs with `current`; publishes it and every key in `previous`.
    pub fn new(current: &Scalar, previous: &[Scalar]) -> Self {
        #[cfg(test)]
        super::cost::count("scalar multiplication", 1 + previous.len());
        let mut published: Vec<(String, PublicKey)> = Vec::new();
        for scalar in std::iter::once(current).chain(previous) {
            // Checked to lie on the curve as it is made.
            let key = PublicKey::from_scalar(&scalar.0).expect("d·G of a valid d is a key");
            let kid = key_id(&scalar.0);
            if !published.iter().any(|(known, _)| *known == kid) {
                published.push((kid, key));
            }
        }
        Self {
            signer: Signer::new(current),
            published,
        }
    }

    #[cfg(test)]
    pub fn sign(&self, claims: &Claims) -> String {
        self.signer.sign(claims)
    }

    #[cfg(test)]
    pub fn kid(&self) -> &str {
        &self.signer.kid
    }

    /// The `/.well-known/jwks.json` document (RFC 7517).
    pub fn jwks(&self) -> String {
        let keys: Vec<serde_json::Value> = self.published.iter().map(|(kid, key)| jwk(kid, key)).collect();
        serde_json::json!({ "keys": keys }).to_string()
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
        if header.kid.as_deref() != Some(self.signer.kid.as_str()) {
            return Err(TokenError::UnknownKey);
        }
        let signature = from_base64url(signature_b64).ok_or(TokenError::BadSignature)?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        if !super::es256_verify(&self.published[0].1, signing_input.as_bytes(), &signature) {
            return Err(TokenError::BadSignature);
        }
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
}

/// A public key as an RFC 7517 JWK.
fn jwk(kid: &str, key: &PublicKey) -> serde_json::Value {
    let (x, y) = key.to_affine_bytes();
    let (x, y) = (base64url(&x), base64url(&y));
    serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": x,
        "y": y,
        "kid": kid,
        "alg": "ES256",
        "use": "sig",
    })
}

#[cfg(test)]
mod tests;
