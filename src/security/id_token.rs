//! Verifying an OpenID Connect ID token (OpenID Connect Core §3.1.3.7) from a provider's JWKS:
//! the signature (RS256 or ES256 only), `iss`, `aud`, `azp`, `exp`, `iat`, `nbf` with a small
//! leeway, and `nonce`. Pure: the caller brings the keys (fetched and cached by the service) and
//! what it expects.
//!
//! # Threat
//! The ID token is what makes a person who they say they are at the provider; everything in it
//! is attacker-reachable (the browser carries the code, the network carries the token):
//! - `alg: none`, HS256 with the provider's public key as the HMAC secret (key confusion), or any
//!   algorithm outside the provider's allowlist: refused before any key is looked at;
//! - a key of the wrong type for the algorithm, or a key marked for another use or algorithm:
//!   refused;
//! - a token minted for another client (`aud`), by another provider (`iss`: mix-up), expired,
//!   issued in the future, or replayed into another sign-in (`nonce`): refused;
//! - malformed base64, JSON or signatures of any length: an error, never a panic.

use serde_json::{Map, Value};

use crate::json_object::JsonObject;

use super::{from_base64url, rsa};

/// Seconds of clock difference tolerated with the provider.
pub const LEEWAY: i64 = 60;

/// One key of a JWKS (RFC 7517), as far as the portal reads it.
#[derive(Debug, Clone)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    pub alg: Option<String>,
    /// `use`.
    pub key_use: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

impl Jwk {
    fn read(mut key: JsonObject) -> Option<Self> {
        Some(Self {
            kty: key.string("kty").ok()?,
            kid: key.optional_string("kid").ok()?,
            alg: key.optional_string("alg").ok()?,
            key_use: key.optional_string("use").ok()?,
            n: key.optional_string("n").ok()?,
            e: key.optional_string("e").ok()?,
            crv: key.optional_string("crv").ok()?,
            x: key.optional_string("x").ok()?,
            y: key.optional_string("y").ok()?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// A JWKS document: an object whose `keys` are objects, each with its `kty`; a member of
    /// the wrong type anywhere refuses the whole set, and so does a key named twice at the top.
    pub fn parse(document: &[u8]) -> Option<Self> {
        let Value::Array(keys) = JsonObject::parse(document).ok()?.optional_value("keys").ok()?? else {
            return None;
        };
        let keys = keys.into_iter().map(|key| match key {
            Value::Object(key) => Jwk::read(JsonObject::from_map(key)),
            _ => None,
        });
        Some(Self {
            keys: keys.collect::<Option<_>>()?,
        })
    }
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The issuer; `{tenantid}` in it (Microsoft's multi-tenant issuer) stands for the token's
    /// own `tid`.
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: i64,
    /// The algorithms this provider may use, from `RS256` and `ES256`.
    pub algorithms: &'a [&'a str],
}

/// Why an ID token was refused (logged by name, never shown as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    Algorithm,
    /// No key with this `kid` (the caller may fetch the JWKS again, once).
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    AuthorizedParty,
    Expired,
    NotYetValid,
    Nonce,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

struct Header {
    alg: String,
    kid: Option<String>,
}

impl Header {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let mut header = JsonObject::parse(bytes).ok()?;
        Some(Self {
            alg: header.string("alg").ok()?,
            kid: header.optional_string("kid").ok()?,
        })
    }
}

/// The token's parts: header, claims, the signed input and the signature.
struct Parts<'t> {
    header: Header,
    claims: Map<String, Value>,
    signed: &'t str,
    signature: Vec<u8>,
}

fn split(token: &str) -> Result<Parts<'_>, Refused> {
    let mut pieces = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(Refused::Malformed);
    };
    let header = from_base64url(header)
        .and_then(|bytes| Header::parse(&bytes))
        .ok_or(Refused::Malformed)?;
    // A claim named twice is refused, not read as one parser or another would read it.
    let claims: Map<String, Value> = from_base64url(payload)
        .and_then(|bytes| JsonObject::parse(&bytes).ok())
        .map(JsonObject::into_map)
        .ok_or(Refused::Malformed)?;
    let signature = from_base64url(signature).ok_or(Refused::Malformed)?;
    let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1];
    Ok(Parts {
        header,
        claims,
        signed,
        signature,
    })
}

/// The `kid` of the token's header, so the caller knows whether its cached JWKS can verify it.
pub fn key_id(token: &str) -> Result<Option<String>, Refused> {
    Ok(split(token)?.header.kid)
}

/// Whether `jwks` has a key the token names (or, without a `kid`, any key for its algorithm).
pub fn has_key(jwks: &Jwks, token: &str) -> bool {
    split(token).is_ok_and(|parts| find_key(jwks, &parts.header).is_some())
}

fn find_key<'k>(jwks: &'k Jwks, header: &Header) -> Option<&'k Jwk> {
    let kty = match header.alg.as_str() {
        "RS256" => "RSA",
        "ES256" => "EC",
        _ => return None,
    };
    jwks.keys.iter().find(|key| {
        key.kty == kty
            && key.alg.as_deref().is_none_or(|alg| alg == header.alg)
            && key.key_use.as_deref().is_none_or(|key_use| key_use == "sig")
            && match &header.kid {
                Some(kid) => key.kid.as_deref() == Some(kid.as_str()),
                None => true,
            }
    })
}

fn check_signature(key: &Jwk, alg: &str, signed: &[u8], signature: &[u8]) -> bool {
    let bytes = |field: &Option<String>| field.as_deref().and_then(from_base64url).unwrap_or_default();
    match alg {
        "RS256" => rsa::PublicKey::from_components(&bytes(&key.n), &bytes(&key.e))
            .is_some_and(|key| key.verify_pkcs1_sha256(signed, signature)),
        // JWS carries ES256 signatures as r ‖ s (64 bytes), not DER.
        "ES256" if key.crv.as_deref() == Some("P-256") => super::p256_key(&bytes(&key.x), &bytes(&key.y))
            .is_some_and(|key| super::es256_verify(&key, signed, signature)),
        _ => false,
    }
}

fn number(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    claims.get(name).and_then(Value::as_i64)
}

/// Verifies `token` with `jwks` against `expected`; its claims when it passes.
pub fn verify(token: &str, jwks: &Jwks, expected: &Expected<'_>) -> Result<Map<String, Value>, Refused> {
    let parts = split(token)?;
    let alg = parts.header.alg.as_str();
    if !expected.algorithms.contains(&alg) || !matches!(alg, "RS256" | "ES256") {
        return Err(Refused::Algorithm);
    }
    let key = find_key(jwks, &parts.header).ok_or(Refused::UnknownKey)?;
    if !check_signature(key, alg, parts.signed.as_bytes(), &parts.signature) {
        return Err(Refused::Signature);
    }
    let claims = parts.claims;
    let issuer = match claims.get("tid").and_then(Value::as_str) {
        Some(tid) if expected.issuer.contains("{tenantid}") && is_tenant_id(tid) => {
            expected.issuer.replace("{tenantid}", tid)
        }
        _ => expected.issuer.to_owned(),
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(Refused::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(Refused::Audience);
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if (audiences.len() > 1 && azp.is_none()) || azp.is_some_and(|azp| azp != expected.client_id) {
        return Err(Refused::AuthorizedParty);
    }
    match number(&claims, "exp") {
        Some(exp) if exp + LEEWAY > expected.now => {}
        _ => return Err(Refused::Expired),
    }
    let iat = number(&claims, "iat").ok_or(Refused::Malformed)?;
    if iat > expected.now + LEEWAY || number(&claims, "nbf").is_some_and(|nbf| nbf > expected.now + LEEWAY) {
        return Err(Refused::NotYetValid);
    }
    let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or_default();
    if expected.nonce.is_empty()
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            nonce.as_bytes(),
            expected.nonce.as_bytes(),
        ))
    {
        return Err(Refused::Nonce);
    }
    Ok(claims)
}

/// A Microsoft tenant id: a GUID.
pub fn is_tenant_id(text: &str) -> bool {
    text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

#[cfg(test)]
mod tests;
