//! Passkeys as a factor: the ceremonies' challenges (rows of `auth_flows`), registering a new
//! passkey, and signing in or stepping up with one. The cryptography is `security::webauthn`;
//! this module decides whose passkey it is and what it proves.
//!
//! # Threat
//! A challenge is 32 random bytes, lives [`CEREMONY_LIFETIME`], is bound to the browser that
//! asked for it (the hash of its CSRF cookie) and is used up by the first response that names it,
//! right or wrong: a response captured once cannot be replayed, a challenge fetched by another
//! browser cannot be answered here, and no challenge can be tried twice. A registration
//! challenge also names its user, so a response cannot attach a passkey to another account. A
//! sign-in finds the passkey by its credential id and takes the account from the stored row
//! (the `userHandle` sent along must agree), never from anything the browser names alone.

use super::{Factor, SignedIn, Step, Verified};
use crate::domain::UserId;
use crate::json_object::JsonObject;
use crate::security::webauthn::{self, Assertion, RelyingParty, StoredCredential};
use crate::security::{base64url, codes, from_base64url, random_bytes, random_id};
use crate::store::email::{self as flows, CodeFlow};
use crate::store::passkeys::{self as store, Passkey};
use crate::store::users::{self, User};
use crate::store::{Db, DbError, attempts, transaction};

/// Seconds a ceremony's challenge can be answered (the browser's own timeout is shorter).
pub const CEREMONY_LIFETIME: i64 = 300;
/// Milliseconds the browser is told to wait for the person.
pub const BROWSER_TIMEOUT_MS: i64 = 120_000;
/// Passkeys one account may have.
pub const MAX_PER_USER: i64 = 10;
/// Longest passkey name.
pub const MAX_NAME_CHARS: usize = 64;

const KIND_GET: &str = "passkey_get";
const KIND_CREATE: &str = "passkey_create";

/// A challenge handed to a browser, under its flow id.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub flow: String,
    pub challenge: Vec<u8>,
}

/// What the browser posted back from `navigator.credentials.get`, decoded.
#[derive(Debug, Clone, Default)]
pub struct SignInResponse {
    pub credential_id: String,
    pub client_data_json: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    pub signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
}

/// What the browser posted back from `navigator.credentials.create`, decoded.
#[derive(Debug, Clone, Default)]
pub struct RegistrationResponse {
    pub client_data_json: Vec<u8>,
    pub attestation_object: Vec<u8>,
}

struct PostedCredential {
    id: String,
    response: PostedResponse,
}

/// The credential's `response`, its buffers still base64url.
struct PostedResponse {
    client_data_json: String,
    authenticator_data: Option<String>,
    signature: Option<String>,
    user_handle: Option<String>,
    attestation_object: Option<String>,
}

/// The posted `PublicKeyCredential`: `type` `public-key`, an `id`, and its `response`.
fn posted(json: &str) -> Option<PostedCredential> {
    let mut credential = JsonObject::parse(json.as_bytes()).ok()?;
    let (id, kind) = (credential.string("id").ok()?, credential.string("type").ok()?);
    let mut response = JsonObject::from_map(credential.optional_object("response").ok()??);
    let response = PostedResponse {
        client_data_json: response.string("clientDataJSON").ok()?,
        authenticator_data: response.optional_string("authenticatorData").ok()?,
        signature: response.optional_string("signature").ok()?,
        user_handle: response.optional_string("userHandle").ok()?,
        attestation_object: response.optional_string("attestationObject").ok()?,
    };
    (kind == "public-key" && !id.is_empty()).then_some(PostedCredential { id, response })
}

/// Reads a `PublicKeyCredential` from `navigator.credentials.get` as the page's script posts it
/// (JSON, every buffer base64url). `None` when it is not one.
pub fn parse_sign_in(json: &str) -> Option<SignInResponse> {
    let credential = posted(json)?;
    let response = credential.response;
    Some(SignInResponse {
        credential_id: credential.id,
        client_data_json: from_base64url(&response.client_data_json)?,
        authenticator_data: from_base64url(response.authenticator_data.as_deref()?)?,
        signature: from_base64url(response.signature.as_deref()?)?,
        user_handle: match response.user_handle.as_deref() {
            None | Some("") => None,
            Some(handle) => Some(from_base64url(handle)?),
        },
    })
}

/// Reads a `PublicKeyCredential` from `navigator.credentials.create`. `None` when it is not one.
pub fn parse_registration(json: &str) -> Option<RegistrationResponse> {
    let credential = posted(json)?;
    let response = credential.response;
    Some(RegistrationResponse {
        client_data_json: from_base64url(&response.client_data_json)?,
        attestation_object: from_base64url(response.attestation_object.as_deref()?)?,
    })
}

/// Why a passkey response did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRefused {
    /// The challenge is unknown, used or expired.
    Dead,
    /// The challenge was given to another browser.
    OtherBrowser,
    /// No passkey with this id (removed, or never registered here), or not this account's.
    Unknown,
    /// The response failed a WebAuthn check (logged with which).
    Rejected(webauthn::Rejected),
    /// The passkey is already registered.
    AlreadyRegistered,
    /// The account has [`MAX_PER_USER`] passkeys.
    TooMany,
}

/// The WebAuthn user handle of `user`: its id's bytes (no personal data, at most 64 bytes).
pub fn user_handle(user: &UserId) -> Vec<u8> {
    user.as_str().as_bytes().to_vec()
}

fn start(db: &dyn Db, kind: &str, user: Option<&User>, browser_hash: Vec<u8>, now: i64) -> Result<Ceremony, DbError> {
    let challenge = random_bytes::<32>().to_vec();
    let flow = random_id("webauthn");
    flows::insert_code_flow(
        db,
        &CodeFlow {
            id: flow.clone(),
            purpose: kind.to_owned(),
            email: user.map(|user| user.email.as_str().to_owned()).unwrap_or_default(),
            user_id: user.map(|user| user.id.clone()),
            code_hash: codes::unmatchable_hash(),
            payload: Some(base64url(&challenge)),
            target: None,
            failures: 0,
            sent_at: now,
            expires_at: now + CEREMONY_LIFETIME,
            used_at: None,
            browser_hash: Some(browser_hash),
        },
        now,
    )?;
    Ok(Ceremony { flow, challenge })
}

/// Challenges one client address may ask for in a minute: every sign-in page a person opens
/// asks for one (autofill) and each button press another, far below this; a flood of rows is not.
pub const CHALLENGES_PER_MINUTE: usize = 30;

/// A challenge for `navigator.credentials.get` (signing in, or stepping up), unless the client
/// address `client_addr` asked for [`CHALLENGES_PER_MINUTE`] already: then `Err(until)`. Expired
/// challenges are cleared on the way, so rows never pile up.
pub fn start_sign_in(
    db: &dyn Db,
    browser_hash: Vec<u8>,
    client_addr: &str,
    now: i64,
) -> Result<Result<Ceremony, i64>, DbError> {
    let scope = format!("passkey-{}", crate::security::lockout::rate_scope(client_addr));
    transaction(db, || {
        if let Err(until) = attempts::admit_within(db, &scope, CHALLENGES_PER_MINUTE, 60, now)? {
            return Ok(Err(until));
        }
        flows::delete_expired(db, KIND_GET, now)?;
        start(db, KIND_GET, None, browser_hash, now).map(Ok)
    })
}

/// A challenge for `navigator.credentials.create`, for `user` only.
pub fn start_registration(db: &dyn Db, user: &User, browser_hash: Vec<u8>, now: i64) -> Result<Ceremony, DbError> {
    start(db, KIND_CREATE, Some(user), browser_hash, now)
}

/// Uses up the challenge of flow `id` of `kind`: it is answered once, right or wrong.
fn take_challenge(
    db: &dyn Db,
    id: &str,
    kind: &str,
    csrf_cookie: &str,
    now: i64,
) -> Result<Result<(CodeFlow, Vec<u8>), PasskeyRefused>, DbError> {
    let Some(flow) = flows::find_code_flow(db, id)? else {
        return Ok(Err(PasskeyRefused::Dead));
    };
    let live = flow.purpose == kind && flow.used_at.is_none() && flow.expires_at > now;
    let challenge = flow.payload.as_deref().and_then(from_base64url);
    let (true, Some(challenge)) = (live, challenge) else {
        return Ok(Err(PasskeyRefused::Dead));
    };
    if !crate::service::email::is_same_browser(&flow, csrf_cookie) {
        return Ok(Err(PasskeyRefused::OtherBrowser));
    }
    if !flows::mark_code_used(db, id, now)? {
        return Ok(Err(PasskeyRefused::Dead));
    }
    Ok(Ok((flow, challenge)))
}

/// A passkey sign-in, checked: whose, and whether the person was verified.
#[derive(Debug, Clone)]
pub struct PasskeyUsed {
    pub user: User,
    pub factor: Verified,
    pub user_verified: bool,
}

/// Checks a sign-in response against the challenge of flow `flow_id` and the passkey it names;
/// records the passkey's use. `for_user`: only this account's passkeys count (step-up).
pub fn verify(
    db: &dyn Db,
    rp: &RelyingParty<'_>,
    flow_id: &str,
    response: &SignInResponse,
    csrf_cookie: &str,
    for_user: Option<&UserId>,
    now: i64,
) -> Result<Result<PasskeyUsed, PasskeyRefused>, DbError> {
    transaction(db, || {
        let (_, challenge) = match take_challenge(db, flow_id, KIND_GET, csrf_cookie, now)? {
            Ok(taken) => taken,
            Err(refused) => return Ok(Err(refused)),
        };
        let Some(passkey) = store::find(db, &response.credential_id)? else {
            return Ok(Err(PasskeyRefused::Unknown));
        };
        let handle_agrees = response
            .user_handle
            .as_ref()
            .is_none_or(|handle| *handle == user_handle(&passkey.user_id));
        if !handle_agrees || for_user.is_some_and(|user| *user != passkey.user_id) {
            return Ok(Err(PasskeyRefused::Unknown));
        }
        let stored = StoredCredential {
            public_key: &passkey.public_key,
            sign_count: u32::try_from(passkey.sign_count).unwrap_or(u32::MAX),
            backup_eligible: passkey.backup_eligible,
        };
        let assertion = Assertion {
            client_data_json: &response.client_data_json,
            authenticator_data: &response.authenticator_data,
            signature: &response.signature,
        };
        let outcome = match webauthn::verify_assertion(rp, &challenge, &assertion, &stored, false) {
            Ok(outcome) => outcome,
            Err(rejected) => {
                if rejected == webauthn::Rejected::CounterRollback {
                    eprintln!(
                        "passkey: the signature counter of passkey {} of {} went back ({} after {}): possibly a cloned authenticator; refused",
                        passkey.id,
                        passkey.user_id,
                        u32::from_be_bytes(
                            response
                                .authenticator_data
                                .get(33..37)
                                .and_then(|b| b.try_into().ok())
                                .unwrap_or([0; 4])
                        ),
                        passkey.sign_count
                    );
                }
                return Ok(Err(PasskeyRefused::Rejected(rejected)));
            }
        };
        if !store::record_use(
            db,
            &passkey.id,
            passkey.sign_count,
            i64::from(outcome.sign_count),
            outcome.backed_up,
            now,
        )? {
            return Ok(Err(PasskeyRefused::Dead));
        }
        let user = users::get_user(db, &passkey.user_id)?;
        let factor = if passkey.backup_eligible {
            Factor::SyncedPasskey
        } else {
            Factor::Passkey
        };
        Ok(Ok(PasskeyUsed {
            user,
            factor: Verified { factor, at: now },
            user_verified: outcome.user_verified,
        }))
    })
}

/// What a checked passkey sign-in leads to: with user verification it is two factors (the
/// passkey, and the person's PIN or biometric on the authenticator) and the sign-in is done;
/// without, it is a first factor and a second follows as after a password.
pub fn after_sign_in(
    db: &dyn Db,
    used: PasskeyUsed,
    location: &str,
    browser_hash: Vec<u8>,
    now: i64,
) -> Result<Step, DbError> {
    if used.user_verified {
        return Ok(Step::Done(Box::new(SignedIn {
            user: used.user,
            first: used.factor,
            second: Some(Verified {
                factor: Factor::UserVerification,
                at: now,
            }),
            backup_codes_left: None,
        })));
    }
    super::first_factor(db, used.user, used.factor.factor, location, browser_hash, now)
}

/// Registers the passkey created for `user` in answer to the challenge of flow `flow_id`.
pub fn register(
    db: &dyn Db,
    rp: &RelyingParty<'_>,
    user: &User,
    flow_id: &str,
    response: &RegistrationResponse,
    csrf_cookie: &str,
    now: i64,
) -> Result<Result<Passkey, PasskeyRefused>, DbError> {
    transaction(db, || {
        let (flow, challenge) = match take_challenge(db, flow_id, KIND_CREATE, csrf_cookie, now)? {
            Ok(taken) => taken,
            Err(refused) => return Ok(Err(refused)),
        };
        if flow.user_id.as_ref() != Some(&user.id) {
            return Ok(Err(PasskeyRefused::Dead));
        }
        if store::list(db, &user.id)?.len() as i64 >= MAX_PER_USER {
            return Ok(Err(PasskeyRefused::TooMany));
        }
        let credential = match webauthn::verify_registration(
            rp,
            &challenge,
            &response.client_data_json,
            &response.attestation_object,
            false,
        ) {
            Ok(credential) => credential,
            Err(rejected) => return Ok(Err(PasskeyRefused::Rejected(rejected))),
        };
        let id = base64url(&credential.id);
        if store::find(db, &id)?.is_some() {
            return Ok(Err(PasskeyRefused::AlreadyRegistered));
        }
        let aaguid = crate::outbound::hex(&credential.aaguid);
        let passkey = Passkey {
            name: authenticator_name(&aaguid).unwrap_or("Passkey").to_owned(),
            id,
            user_id: user.id.clone(),
            public_key: credential.public_key,
            algorithm: credential.algorithm,
            sign_count: i64::from(credential.sign_count),
            user_verified: credential.user_verified,
            backup_eligible: credential.backup_eligible,
            backed_up: credential.backed_up,
            aaguid,
            created_at: now,
            last_used_at: None,
        };
        store::insert(db, &passkey)?;
        let changed = User {
            passkeys: user.passkeys + 1,
            ..user.clone()
        };
        crate::service::webhooks::user_updated(db, &changed, now)?;
        Ok(Ok(passkey))
    })
}

/// The credential ids of `user`'s passkeys (base64url), so the browser does not create a
/// second passkey on an authenticator that has one.
pub fn credential_ids(db: &dyn Db, user: &UserId) -> Result<Vec<String>, DbError> {
    Ok(store::list(db, user)?.into_iter().map(|passkey| passkey.id).collect())
}

pub fn list(db: &dyn Db, user: &UserId) -> Result<Vec<Passkey>, DbError> {
    store::list(db, user)
}

/// Why a passkey could not be removed or renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefused {
    /// No such passkey of this account.
    NotFound,
    /// It is the account's last way to sign in (no password, no connected provider).
    LastWayIn,
    /// The name is empty or too long.
    BadName,
}

/// Removes one of `user`'s passkeys, unless it is the last way the account signs in.
pub fn remove(db: &dyn Db, user: &User, id: &str, now: i64) -> Result<Result<(), ChangeRefused>, DbError> {
    transaction(db, || {
        let passkeys = store::list(db, &user.id)?;
        if !passkeys.iter().any(|passkey| passkey.id == id) {
            return Ok(Err(ChangeRefused::NotFound));
        }
        let user = users::get_user(db, &user.id)?;
        let providers = crate::store::identities::list(db, &user.id)?.len();
        if !user.has_password() && passkeys.len() <= 1 && providers == 0 {
            return Ok(Err(ChangeRefused::LastWayIn));
        }
        store::delete(db, &user.id, id)?;
        let changed = User {
            passkeys: user.passkeys - 1,
            ..user
        };
        crate::service::webhooks::user_updated(db, &changed, now)?;
        Ok(Ok(()))
    })
}

/// Renames one of `user`'s passkeys (trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control
/// characters).
pub fn rename(db: &dyn Db, user: &User, id: &str, name: &str) -> Result<Result<(), ChangeRefused>, DbError> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Ok(Err(ChangeRefused::BadName));
    }
    Ok(if store::rename(db, &user.id, id, name)? {
        Ok(())
    } else {
        Err(ChangeRefused::NotFound)
    })
}

/// Removes the account's password, leaving it passwordless: only when it has a passkey.
pub fn remove_password(db: &dyn Db, user: &User, now: i64) -> Result<bool, DbError> {
    transaction(db, || {
        if store::list(db, &user.id)?.is_empty() {
            return Ok(false);
        }
        users::update_password_hash(db, &user.id, "", now)?;
        let changed = User {
            password_hash: String::new(),
            ..user.clone()
        };
        crate::service::webhooks::user_updated(db, &changed, now)?;
        Ok(true)
    })
}

/// The name of a well-known authenticator model by its AAGUID (from the FIDO Alliance's
/// metadata and the passkey providers' published lists).
pub fn authenticator_name(aaguid: &str) -> Option<&'static str> {
    const KNOWN: &[(&str, &str)] = &[
        ("ea9b8d664d011d213ce4b6b48cb575d4", "Google Password Manager"),
        ("adce000235bcc60a648b0b25f1f05503", "Chrome on Mac"),
        ("fbfc3007154e4ecc8c0b6e020557d7bd", "iCloud Keychain"),
        ("dd4ec289e01d41c9bb8970fa845d4bf2", "iCloud Keychain (Managed)"),
        ("08987058cadc4b81b6e130de50dcbe96", "Windows Hello"),
        ("9ddd1817af5a4672a2b93e3dd95000a9", "Windows Hello"),
        ("6028b017b1d44c02b4b3afcdafc96bb2", "Windows Hello"),
        ("bada5566a7aa401fbd9645619a55120d", "1Password"),
        ("d548826e79b4db40a3d811116f7e8349", "Bitwarden"),
        ("531126d6e717415c93203d9aa6981239", "Dashlane"),
        ("b84e40968d4e11ed8c46e3a16cafc0e6", "Proton Pass"),
        ("53414d53554e47000000000000000000", "Samsung Pass"),
        ("cb69481e8ff7403993ec0a2729a154a8", "YubiKey 5"),
        ("ee882879721c491397753dfcce97072a", "YubiKey 5"),
        ("fa2b99dc9e3942578f924a30d23c4118", "YubiKey 5 NFC"),
        ("2fc0579f811347eab116bb5a8db9202a", "YubiKey 5 NFC"),
    ];
    KNOWN.iter().find(|(id, _)| *id == aaguid).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests;
