//! The WebAuthn relying party: verifies a new passkey (registration, WebAuthn Level 3 §7.1) and a
//! sign-in with one (authentication, §7.2). Pure: the caller brings the challenge it stored, the
//! allowed origins and RP ID, and the stored credential; nothing here reads storage or the clock.
//! Algorithms: ES256 (COSE -7) and RS256 (COSE -257). Attestation is asked as `none`; any format
//! is accepted and its statement ignored, so nothing here trusts an authenticator's maker.
//!
//! # Threat
//! A passkey is worth something only if the response proves that the authenticator holding the
//! key just signed *this* challenge for *this* site in *this* browser:
//! - a replayed or foreign challenge: the challenge is random, single use and bound to the
//!   browser that asked (the caller's flow row); here it must equal the one stored, byte for byte;
//! - phishing (`https://accounts.myapp.com.evil.net` relaying the ceremony): `origin` in the
//!   client data must be exactly one of the allowed origins, and the RP ID hash in the
//!   authenticator data must be SHA-256 of our RP ID, so a key scoped to another site is refused;
//! - a response made for `create` used as `get` (or back): `type` is checked;
//! - an absent person (malware clicking through): UP must be set; UV is required where the
//!   passkey stands for two factors;
//! - a forged signature or a signature over other data: verified over `authenticatorData ‖
//!   SHA-256(clientDataJSON)` with the key stored at registration, never one sent with the
//!   response;
//! - algorithm confusion: the algorithm is the stored key's own (`alg` inside the COSE key, which
//!   must match its key type); RSA keys under 2048 bits, OKP keys and unknown algorithms are
//!   refused at registration;
//! - a cloned authenticator: a signature counter that does not move forward is refused (the
//!   caller logs it), except the all-zero counters of synced passkeys;
//! - malformed CBOR, JSON or base64 of any length: an error, never a panic (`security::cbor`).

use crate::json_object::JsonObject;
use sha2::{Digest, Sha256};

use super::cbor::{self, Value};
use super::rsa;
use super::{from_base64url, sha256};

/// COSE algorithm numbers the portal accepts (RFC 9053 / RFC 8812).
pub const ES256: i64 = -7;
pub const RS256: i64 = -257;
/// The `pubKeyCredParams` offered to browsers, most preferred first.
pub const ALGORITHMS: [i64; 2] = [ES256, RS256];
/// Longest credential id (WebAuthn: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID: usize = 1023;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// Who the relying party is: its RP ID and the origins a ceremony may come from.
#[derive(Debug, Clone)]
pub struct RelyingParty<'a> {
    pub id: &'a str,
    pub origins: &'a [String],
}

/// Why a response was refused; the name of the check it failed (logged, never shown as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    Malformed,
    WrongType,
    WrongChallenge,
    WrongOrigin,
    CrossOrigin,
    WrongRpId,
    NoUserPresence,
    NoUserVerification,
    BadFlags,
    UnsupportedKey,
    BadSignature,
    /// The signature counter did not move forward: possibly a cloned authenticator.
    CounterRollback,
    /// The backup eligibility of a credential changed, which an authenticator never does.
    BackupEligibilityChanged,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A verified new credential, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub id: Vec<u8>,
    /// The COSE key as the authenticator sent it (parsed again for each sign-in).
    pub public_key: Vec<u8>,
    pub algorithm: i64,
    pub sign_count: u32,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub aaguid: [u8; 16],
}

/// A credential as stored, to check a sign-in against.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    pub public_key: &'a [u8],
    pub sign_count: u32,
    pub backup_eligible: bool,
}

/// What an authenticator answered to `navigator.credentials.get`.
#[derive(Debug, Clone, Copy)]
pub struct Assertion<'a> {
    pub client_data_json: &'a [u8],
    pub authenticator_data: &'a [u8],
    pub signature: &'a [u8],
}

/// A verified sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionOutcome {
    pub user_verified: bool,
    pub sign_count: u32,
    pub backed_up: bool,
}

/// The members of `clientDataJSON` the ceremonies check (others, like `topOrigin`, are read over).
struct ClientData {
    kind: String,
    challenge: String,
    origin: String,
    cross_origin: Option<bool>,
}

impl ClientData {
    /// A member named twice refuses the whole: the authenticator signed one reading of it.
    fn parse(json: &[u8]) -> Option<Self> {
        let mut data = JsonObject::parse(json).ok()?;
        Some(Self {
            kind: data.string("type").ok()?,
            challenge: data.string("challenge").ok()?,
            origin: data.string("origin").ok()?,
            cross_origin: data.optional_bool("crossOrigin").ok()?,
        })
    }
}

/// Steps on the client data common to both ceremonies: type, challenge, origin, same-origin.
fn check_client_data(
    rp: &RelyingParty<'_>,
    json: &[u8],
    expected_type: &str,
    challenge: &[u8],
) -> Result<(), Rejected> {
    let data = ClientData::parse(json).ok_or(Rejected::Malformed)?;
    if data.kind != expected_type {
        return Err(Rejected::WrongType);
    }
    let sent = from_base64url(&data.challenge).ok_or(Rejected::WrongChallenge)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_slice(), challenge)) || challenge.is_empty() {
        return Err(Rejected::WrongChallenge);
    }
    if !rp.origins.contains(&data.origin) {
        return Err(Rejected::WrongOrigin);
    }
    if data.cross_origin == Some(true) {
        return Err(Rejected::CrossOrigin);
    }
    Ok(())
}

/// Authenticator data, read.
struct AuthenticatorData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    sign_count: u32,
    /// aaguid, credential id, COSE key bytes (when AT is set).
    attested: Option<([u8; 16], &'a [u8], &'a [u8])>,
}

fn parse_authenticator_data(bytes: &[u8]) -> Result<AuthenticatorData<'_>, Rejected> {
    if bytes.len() < 37 {
        return Err(Rejected::Malformed);
    }
    let flags = bytes[32];
    let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
    let mut rest = &bytes[37..];
    let attested = if flags & FLAG_AT != 0 {
        if rest.len() < 18 {
            return Err(Rejected::Malformed);
        }
        let mut aaguid = [0u8; 16];
        aaguid.copy_from_slice(&rest[..16]);
        let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        rest = &rest[18..];
        if id_len == 0 || id_len > MAX_CREDENTIAL_ID || id_len > rest.len() {
            return Err(Rejected::Malformed);
        }
        let (id, after_id) = rest.split_at(id_len);
        let (_, after_key) = cbor::decode_prefix(after_id).map_err(|_| Rejected::Malformed)?;
        let key = &after_id[..after_id.len() - after_key.len()];
        rest = after_key;
        Some((aaguid, id, key))
    } else {
        None
    };
    if flags & FLAG_ED != 0 {
        cbor::decode(rest).map_err(|_| Rejected::Malformed)?;
    } else if !rest.is_empty() {
        return Err(Rejected::Malformed);
    }
    Ok(AuthenticatorData {
        rp_id_hash: &bytes[..32],
        flags,
        sign_count,
        attested,
    })
}

/// Steps on the authenticator data common to both ceremonies: RP ID hash, UP, UV, BE/BS.
fn check_flags(rp: &RelyingParty<'_>, data: &AuthenticatorData<'_>, require_uv: bool) -> Result<(), Rejected> {
    if data.rp_id_hash != sha256(rp.id.as_bytes()) {
        return Err(Rejected::WrongRpId);
    }
    if data.flags & FLAG_UP == 0 {
        return Err(Rejected::NoUserPresence);
    }
    if require_uv && data.flags & FLAG_UV == 0 {
        return Err(Rejected::NoUserVerification);
    }
    if data.flags & FLAG_BE == 0 && data.flags & FLAG_BS != 0 {
        return Err(Rejected::BadFlags);
    }
    Ok(())
}

/// A public key the portal can verify with.
enum PublicKey {
    Es256(p256_limbs::PublicKey),
    Rs256(rsa::PublicKey),
}

/// Reads a COSE key, insisting that its `alg` is one the portal accepts and matches its type.
fn parse_cose_key(bytes: &[u8]) -> Result<(PublicKey, i64), Rejected> {
    let key = cbor::decode(bytes).map_err(|_| Rejected::UnsupportedKey)?;
    let kty = key.get_int(1).and_then(Value::as_integer);
    let alg = key.get_int(3).and_then(Value::as_integer);
    match (kty, alg) {
        (Some(2), Some(ES256)) if key.get_int(-1).and_then(Value::as_integer) == Some(1) => {
            let x = key.get_int(-2).and_then(Value::as_bytes).unwrap_or_default();
            let y = key.get_int(-3).and_then(Value::as_bytes).unwrap_or_default();
            let key = super::p256_key(x, y).ok_or(Rejected::UnsupportedKey)?;
            Ok((PublicKey::Es256(key), ES256))
        }
        (Some(3), Some(RS256)) => {
            let modulus = key.get_int(-1).and_then(Value::as_bytes).unwrap_or_default();
            let exponent = key.get_int(-2).and_then(Value::as_bytes).unwrap_or_default();
            let key = rsa::PublicKey::from_components(modulus, exponent).ok_or(Rejected::UnsupportedKey)?;
            Ok((PublicKey::Rs256(key), RS256))
        }
        _ => Err(Rejected::UnsupportedKey),
    }
}

impl PublicKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        #[cfg(test)]
        super::cost::count("signature_check", 1);
        match self {
            Self::Es256(key) => {
                super::ec_der::signature_from_der(signature).is_some_and(|rs| super::es256_verify(key, message, &rs))
            }
            Self::Rs256(key) => key.verify_pkcs1_sha256(message, signature),
        }
    }
}

/// Verifies a registration (§7.1) against the `challenge` this browser was given. `require_uv`:
/// refuse an authenticator that did not verify the person.
pub fn verify_registration(
    rp: &RelyingParty<'_>,
    challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
    require_uv: bool,
) -> Result<NewCredential, Rejected> {
    check_client_data(rp, client_data_json, "webauthn.create", challenge)?;
    let attestation = cbor::decode(attestation_object).map_err(|_| Rejected::Malformed)?;
    // Any format, its statement ignored: attestation was asked as "none".
    attestation
        .get_text("fmt")
        .and_then(Value::as_text)
        .ok_or(Rejected::Malformed)?;
    let auth_data = attestation
        .get_text("authData")
        .and_then(Value::as_bytes)
        .ok_or(Rejected::Malformed)?;
    let data = parse_authenticator_data(auth_data)?;
    check_flags(rp, &data, require_uv)?;
    let (aaguid, id, key) = data.attested.ok_or(Rejected::Malformed)?;
    let (_, algorithm) = parse_cose_key(key)?;
    Ok(NewCredential {
        id: id.to_vec(),
        public_key: key.to_vec(),
        algorithm,
        sign_count: data.sign_count,
        user_verified: data.flags & FLAG_UV != 0,
        backup_eligible: data.flags & FLAG_BE != 0,
        backed_up: data.flags & FLAG_BS != 0,
        aaguid,
    })
}

/// Verifies a sign-in (§7.2) with `stored`, the credential the response named, which the caller
/// found among the credentials of the user it belongs to.
pub fn verify_assertion(
    rp: &RelyingParty<'_>,
    challenge: &[u8],
    assertion: &Assertion<'_>,
    stored: &StoredCredential<'_>,
    require_uv: bool,
) -> Result<AssertionOutcome, Rejected> {
    check_client_data(rp, assertion.client_data_json, "webauthn.get", challenge)?;
    let data = parse_authenticator_data(assertion.authenticator_data)?;
    check_flags(rp, &data, require_uv)?;
    if (data.flags & FLAG_BE != 0) != stored.backup_eligible {
        return Err(Rejected::BackupEligibilityChanged);
    }
    let (key, _) = parse_cose_key(stored.public_key)?;
    let mut message = Vec::with_capacity(assertion.authenticator_data.len() + 32);
    message.extend_from_slice(assertion.authenticator_data);
    message.extend_from_slice(&Sha256::digest(assertion.client_data_json));
    if !key.verify(&message, assertion.signature) {
        return Err(Rejected::BadSignature);
    }
    if (data.sign_count != 0 || stored.sign_count != 0) && data.sign_count <= stored.sign_count {
        return Err(Rejected::CounterRollback);
    }
    Ok(AssertionOutcome {
        user_verified: data.flags & FLAG_UV != 0,
        sign_count: data.sign_count,
        backed_up: data.flags & FLAG_BS != 0,
    })
}

/// Why an `passkey_rp_id` setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpIdError(pub String);

/// The RP ID for a portal on `host`: `configured` when it is the host itself or a registrable
/// parent of it (`myapp.com` for `accounts.myapp.com`; never a bare top-level label such as
/// `com`), else the host.
pub fn rp_id(host: &str, configured: Option<&str>) -> Result<String, RpIdError> {
    let host = host.to_ascii_lowercase();
    let Some(configured) = configured.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(host);
    };
    let configured = configured.to_ascii_lowercase();
    let is_parent = host
        .strip_suffix(configured.as_str())
        .is_some_and(|prefix| prefix.is_empty() || prefix.ends_with('.'));
    let labels_valid = configured.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let registrable = configured == host || configured.contains('.');
    if is_parent && labels_valid && registrable {
        Ok(configured)
    } else {
        Err(RpIdError(format!(
            "passkey_rp_id {configured:?} is neither the portal's host {host:?} nor a registrable parent of it"
        )))
    }
}

#[cfg(test)]
mod tests;
