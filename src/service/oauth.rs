//! Signing in with another identity provider (OpenID Connect, authorization code flow with
//! PKCE): starting the round trip, checking what comes back, and what it means for accounts
//! (signing in, a new account, linking, a step-up). The requests are built in
//! `outbound::oidc`; the ID token is checked in `security::id_token`.
//!
//! # Threat
//! - **Login CSRF and replayed callbacks**: `state` is the id of a row that lives
//!   [`FLOW_LIFETIME`], is bound to the browser that started it (its CSRF cookie) and is used up
//!   by the first callback that names it; a callback started elsewhere, expired, used or unknown
//!   is refused before the code is spent.
//! - **Code injection and interception**: PKCE S256 binds the code to this flow's verifier, and
//!   the ID token's `nonce` to this flow: a code or token from another sign-in does not fit.
//! - **Mix-up**: the flow names its provider; the RFC 9207 `iss` parameter must be that
//!   provider's issuer (and must be present when the provider says it sends it), and so must
//!   the token's `iss`.
//! - **Account takeover by email**: an identity whose address matches an existing account is
//!   linked only when the provider says the address is verified *and* the operator trusts that
//!   provider for it; otherwise the person must sign in to the account first and connect the
//!   provider from the profile. A new account from an unverified provider address is refused
//!   while email verification is required (no pre-hijacking of a victim's address).
//! - **Second factor**: a provider sign-in is a first factor; an account with two-step
//!   verification still gets its second step unless the operator trusts this provider's MFA and
//!   the token says `mfa`.
//! - **A hostile or broken provider**: answers are at most 64 KiB (the host keeps no more), time
//!   out like email, and anything malformed is an error page, never a panic.

use crate::json_object::JsonObject;

use crate::config::SignUpFields;
use crate::domain::{EmailAddress, FieldError, FieldErrors, PersonName, PhoneNumber, UserId, Username};
use crate::outbound::oidc::{self, AuthorizationRequest, Metadata, Provider};
use crate::outbound::{Http, HttpError};
use crate::security::id_token::{self, Expected, Jwks};
use crate::security::sign_up_policy::SignUpPolicy;
use crate::security::{base64url, codes, random_bytes, random_id, sha256};
use crate::service::accounts::{AccountError, parse_attribute};
use crate::service::auth::{Factor, Verified};
use crate::service::webhooks;
use crate::store::email::{self as flows, CodeFlow};
use crate::store::identities::{self as store, Identity};
use crate::store::users::{self, CreateUserError, NewUser, User};
use crate::store::{Db, DbError, transaction};

/// Seconds a round trip to the provider may take.
pub const FLOW_LIFETIME: i64 = 600;
/// Seconds a discovery document or key set is used before it is fetched again.
pub const CACHE_TTL: i64 = 3600;
/// Round trips one client address may start in a minute: a person starts a few; a flood of
/// rows and of requests to the provider is refused.
pub const STARTS_PER_MINUTE: usize = 30;

const KIND: &str = "oauth";
const KIND_SIGN_UP: &str = "oauth_sign_up";

/// What a round trip is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Signing in or up from the sign-in and sign-up pages.
    SignIn,
    /// Connecting the provider to the signed-in account (from `/user`).
    Link,
    /// Confirming it's you before a sensitive change (an account whose only way in is a provider).
    Reauth,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::SignIn, Mode::Link, Mode::Reauth];

    /// Its name in a stored round trip.
    fn name(self) -> &'static str {
        match self {
            Mode::SignIn => "sign_in",
            Mode::Link => "link",
            Mode::Reauth => "reauth",
        }
    }
}

/// A round trip's secrets and purpose, stored in its flow as JSON.
struct FlowPayload {
    provider: String,
    verifier: String,
    nonce: String,
    mode: Mode,
}

impl FlowPayload {
    fn to_json(&self) -> String {
        serde_json::json!({
            "provider": self.provider,
            "verifier": self.verifier,
            "nonce": self.nonce,
            "mode": self.mode.name(),
        })
        .to_string()
    }

    fn from_json(text: &str) -> Option<Self> {
        let mut object = JsonObject::parse(text.as_bytes()).ok()?;
        let mode = object.string("mode").ok()?;
        Some(Self {
            provider: object.string("provider").ok()?,
            verifier: object.string("verifier").ok()?,
            nonce: object.string("nonce").ok()?,
            mode: Mode::ALL.into_iter().find(|known| known.name() == mode)?,
        })
    }
}

/// Why a round trip did not end in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OauthError {
    /// The provider is not configured (or no longer).
    NotConfigured,
    /// This client address started too many round trips; again after `until`.
    TooMany {
        until: i64,
    },
    /// The provider could not be reached, was too slow, or answered with something unusable.
    Unavailable(String),
    /// The person cancelled at the provider (`access_denied`).
    Cancelled,
    /// The provider answered with another error.
    ProviderError(String),
    /// The state is missing, unknown, used or expired.
    StateInvalid,
    /// The round trip was started in another browser.
    OtherBrowser,
    /// The answer failed a check (`iss`, the ID token); the reason is logged.
    Refused(String),
    /// The provider gave no usable email address.
    NoEmail,
    /// The provider's address is not verified and email verification is required.
    UnverifiedEmail,
    /// This provider account is linked to another account here.
    LinkedElsewhere,
    /// An account already has this address: sign in to it first, then connect the provider.
    AccountExists {
        email: String,
    },
    /// The operator's lists do not let this address sign up.
    SignUpRefused,
    Db(DbError),
}

impl From<DbError> for OauthError {
    fn from(error: DbError) -> Self {
        Self::Db(error)
    }
}

fn unavailable(error: HttpError) -> OauthError {
    OauthError::Unavailable(error.to_string())
}

/// A JSON document from `url`, from the cache while younger than [`CACHE_TTL`] unless `fresh`.
fn document(db: &dyn Db, http: &dyn Http, url: &str, fresh: bool, now: i64) -> Result<String, OauthError> {
    if !fresh
        && let Some((body, at)) = store::cached(db, url)?
        && now - at < CACHE_TTL
    {
        return Ok(body);
    }
    let request = oidc::get_json(url).ok_or_else(|| OauthError::Unavailable(format!("bad URL {url:?}")))?;
    let response = http.send(request).map_err(unavailable)?;
    if response.status() != 200 {
        return Err(OauthError::Unavailable(format!("{url}: status {}", response.status())));
    }
    let body =
        String::from_utf8(response.into_body()).map_err(|_| OauthError::Unavailable(format!("{url}: not UTF-8")))?;
    if serde_json::from_slice::<serde_json::Value>(body.as_bytes()).is_err() {
        return Err(OauthError::Unavailable(format!(
            "{url}: not JSON (or larger than the host keeps)"
        )));
    }
    store::cache(db, url, &body, now)?;
    Ok(body)
}

fn metadata(db: &dyn Db, http: &dyn Http, provider: &Provider, now: i64) -> Result<Metadata, OauthError> {
    if !provider.is_openid() {
        return Ok(provider.github_metadata());
    }
    let body = document(db, http, &provider.discovery_url(), false, now)?;
    oidc::read_metadata(provider, body.as_bytes()).map_err(|error| OauthError::Unavailable(error.0))
}

fn jwks(db: &dyn Db, http: &dyn Http, metadata: &Metadata, fresh: bool, now: i64) -> Result<Jwks, OauthError> {
    let body = document(db, http, &metadata.jwks_uri, fresh, now)?;
    Jwks::parse(body.as_bytes()).ok_or_else(|| OauthError::Unavailable("the key set is not a JWKS".into()))
}

/// Starts a round trip to `provider`: the flow row, then the URL the browser goes to.
/// `user`: the signed-in account for [`Mode::Link`] and [`Mode::Reauth`].
#[allow(clippy::too_many_arguments)]
pub fn start(
    db: &dyn Db,
    http: &dyn Http,
    provider: &Provider,
    mode: Mode,
    user: Option<&User>,
    location: &str,
    browser_hash: Vec<u8>,
    redirect_uri: &str,
    client_addr: &str,
    ui_locales: Option<&str>,
    now: i64,
) -> Result<String, OauthError> {
    let scope = format!("oauth-{}", crate::security::lockout::rate_scope(client_addr));
    if let Err(until) = crate::store::attempts::admit_within(db, &scope, STARTS_PER_MINUTE, 60, now)? {
        return Err(OauthError::TooMany { until });
    }
    let metadata = metadata(db, http, provider, now)?;
    flows::delete_expired(db, KIND, now)?;
    flows::delete_expired(db, KIND_SIGN_UP, now)?;
    let verifier = base64url(&random_bytes::<32>());
    let nonce = base64url(&random_bytes::<24>());
    let state = random_id("oauth");
    let payload = FlowPayload {
        provider: provider.kind.id().to_owned(),
        verifier: verifier.clone(),
        nonce: nonce.clone(),
        mode,
    };
    let payload = payload.to_json();
    let email = user.map(|user| user.email.as_str().to_owned()).unwrap_or_default();
    let user_id = user.map(|user| user.id.clone());
    insert_flow(db, &state, KIND, email, user_id, payload, location, browser_hash, now)?;
    let request = AuthorizationRequest {
        redirect_uri,
        state: &state,
        nonce: &nonce,
        code_challenge: &base64url(&sha256(verifier.as_bytes())),
        prompt: (mode == Mode::Reauth).then_some("login"),
        ui_locales,
    };
    oidc::authorization_url(provider, &metadata, &request)
        .ok_or_else(|| OauthError::Unavailable("the authorization endpoint is not a URL".into()))
}

/// The callback's query parameters.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub iss: Option<&'a str>,
    /// Apple's `user` (JSON with the person's name), sent only at their first sign-in.
    pub user: Option<&'a str>,
}

/// What the provider said about the person, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAccount {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The token's `amr` says the provider used more than one factor.
    pub mfa: bool,
}

/// A checked callback: which provider, for what, where it goes, and who the person is there.
#[derive(Debug, Clone)]
pub struct Returned {
    pub provider: Provider,
    pub mode: Mode,
    pub user_id: Option<UserId>,
    pub location: String,
    pub account: ProviderAccount,
}

/// Stores a flow of `purpose` under `id` (no code is emailed: the row is the state).
#[allow(clippy::too_many_arguments)]
fn insert_flow(
    db: &dyn Db,
    id: &str,
    purpose: &str,
    email: String,
    user_id: Option<UserId>,
    payload: String,
    location: &str,
    browser_hash: Vec<u8>,
    now: i64,
) -> Result<(), DbError> {
    flows::insert_code_flow(
        db,
        &CodeFlow {
            id: id.to_owned(),
            purpose: purpose.to_owned(),
            email,
            user_id,
            code_hash: codes::unmatchable_hash(),
            payload: Some(payload),
            target: Some(location.to_owned()),
            failures: 0,
            sent_at: now,
            expires_at: now + FLOW_LIFETIME,
            used_at: None,
            browser_hash: Some(browser_hash),
        },
        now,
    )
}

/// The flow `state` names, used up: it answers one callback, right or wrong.
fn take_flow(db: &dyn Db, state: &str, csrf_cookie: &str, now: i64) -> Result<(CodeFlow, FlowPayload), OauthError> {
    let flow = flows::find_code_flow(db, state)?.ok_or(OauthError::StateInvalid)?;
    let live = flow.purpose == KIND && flow.used_at.is_none() && flow.expires_at > now;
    let payload = flow.payload.as_deref().and_then(FlowPayload::from_json);
    let (true, Some(payload)) = (live, payload) else {
        return Err(OauthError::StateInvalid);
    };
    if !crate::service::email::is_same_browser(&flow, csrf_cookie) {
        return Err(OauthError::OtherBrowser);
    }
    if !flows::mark_code_used(db, state, now)? {
        return Err(OauthError::StateInvalid);
    }
    Ok((flow, payload))
}

/// A failed callback, with the name of the provider it came back from once that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub provider: Option<String>,
    pub error: OauthError,
}

impl<E: Into<OauthError>> From<E> for Failed {
    fn from(error: E) -> Self {
        Self {
            provider: None,
            error: error.into(),
        }
    }
}

/// Checks a callback and exchanges its code: who the person is at the provider.
pub fn finish(
    db: &dyn Db,
    http: &dyn Http,
    providers: &[Provider],
    params: &CallbackParams<'_>,
    csrf_cookie: &str,
    redirect_uri: &str,
    now: i64,
) -> Result<Returned, Failed> {
    if params.state.is_empty() {
        return Err(OauthError::StateInvalid.into());
    }
    let (flow, payload) = transaction(db, || take_flow(db, params.state, csrf_cookie, now))?;
    let provider = providers
        .iter()
        .find(|provider| provider.kind.id() == payload.provider)
        .ok_or(OauthError::NotConfigured)?
        .clone();
    exchange(db, http, &provider, params, &payload, redirect_uri, now)
        .map(|account| Returned {
            account,
            provider: provider.clone(),
            mode: payload.mode,
            user_id: flow.user_id,
            location: flow.target.unwrap_or_default(),
        })
        .map_err(|error| Failed {
            provider: Some(provider.name.clone()),
            error,
        })
}

/// The checks after the flow is known: the provider's error or `iss`, the code exchange, and
/// the ID token.
fn exchange(
    db: &dyn Db,
    http: &dyn Http,
    provider: &Provider,
    params: &CallbackParams<'_>,
    payload: &FlowPayload,
    redirect_uri: &str,
    now: i64,
) -> Result<ProviderAccount, OauthError> {
    match params.error {
        Some("access_denied") => return Err(OauthError::Cancelled),
        Some(error) => return Err(OauthError::ProviderError(error.chars().take(100).collect())),
        None => {}
    }
    let metadata = metadata(db, http, provider, now)?;
    if !provider.is_openid() {
        return github_account(http, provider, &metadata, params, payload, redirect_uri);
    }
    let expected_issuer = metadata.issuer.trim_end_matches('/').to_owned();
    match params.iss {
        Some(iss)
            if iss.trim_end_matches('/') != expected_issuer
                && !microsoft_tenant_issuer(provider, &expected_issuer, iss) =>
        {
            return Err(OauthError::Refused(format!(
                "the iss parameter {iss:?} is not the provider's issuer (mix-up)"
            )));
        }
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(OauthError::Refused(
                "the provider sends iss, and this answer has none".into(),
            ));
        }
        _ => {}
    }
    let code = params
        .code
        .filter(|code| !code.is_empty())
        .ok_or(OauthError::StateInvalid)?;
    let request = oidc::token_request(provider, &metadata, code, redirect_uri, &payload.verifier, now)
        .ok_or_else(|| OauthError::Unavailable("the token request could not be built".into()))?;
    let response = http.send(request).map_err(unavailable)?;
    let status = response.status().as_u16();
    let token = oidc::read_token_response(status, response.body()).map_err(OauthError::ProviderError)?;
    let mut keys = jwks(db, http, &metadata, false, now)?;
    if !id_token::has_key(&keys, &token) {
        // A key rotated since the cached set: fetch the set again, once.
        keys = jwks(db, http, &metadata, true, now)?;
    }
    let expected = Expected {
        issuer: &expected_issuer,
        client_id: &provider.client_id,
        nonce: &payload.nonce,
        now,
        algorithms: provider.algorithms(),
    };
    let claims = id_token::verify(&token, &keys, &expected)
        .map_err(|refused| OauthError::Refused(format!("the ID token: {refused}")))?;
    let mut account = account_from(&claims)?;
    if let Some((first, last)) = params.user.and_then(apple_name) {
        account.first_name = account.first_name.or(first);
        account.last_name = account.last_name.or(last);
    }
    Ok(account)
}

/// The name in Apple's `user` parameter (`{"name":{"firstName":…,"lastName":…},"email":…}`).
fn apple_name(user: &str) -> Option<(Option<String>, Option<String>)> {
    let user: serde_json::Value = serde_json::from_slice(user.as_bytes()).ok()?;
    let name = user.get("name")?;
    let part = |key: &str| {
        name.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    Some((part("firstName"), part("lastName")))
}

/// GitHub: the code for an access token, then who the person is from its API (`/user` for the
/// stable numeric id, `/user/emails` for the primary address and whether GitHub verified it).
fn github_account(
    http: &dyn Http,
    provider: &Provider,
    metadata: &Metadata,
    params: &CallbackParams<'_>,
    payload: &FlowPayload,
    redirect_uri: &str,
) -> Result<ProviderAccount, OauthError> {
    let code = params
        .code
        .filter(|code| !code.is_empty())
        .ok_or(OauthError::StateInvalid)?;
    let request = oidc::token_request(provider, metadata, code, redirect_uri, &payload.verifier, 0)
        .ok_or_else(|| OauthError::Unavailable("the token request could not be built".into()))?;
    let response = http.send(request).map_err(unavailable)?;
    let token =
        oidc::read_access_token(response.status().as_u16(), response.body()).map_err(OauthError::ProviderError)?;
    let get = |path: &str| -> Result<Vec<u8>, OauthError> {
        let request = oidc::github_api_request(provider, path, &token)
            .ok_or_else(|| OauthError::Unavailable("the API request could not be built".into()))?;
        let response = http.send(request).map_err(unavailable)?;
        if response.status() != 200 {
            return Err(OauthError::Unavailable(format!("{path}: status {}", response.status())));
        }
        Ok(response.into_body())
    };
    let (user, emails) = (get("/user")?, get("/user/emails")?);
    let (subject, primary) = oidc::read_github_account(&user, &emails)
        .ok_or_else(|| OauthError::Unavailable("GitHub's answer is not its documented JSON".into()))?;
    let (email, email_verified) = match primary {
        Some((email, verified)) => (Some(email.trim().to_ascii_lowercase()), verified),
        None => (None, false),
    };
    Ok(ProviderAccount {
        subject,
        email,
        email_verified,
        first_name: None,
        last_name: None,
        mfa: false,
    })
}

/// Microsoft sends no `iss` parameter today; if it does for a multi-tenant client, the tenant's
/// issuer is what it would be.
fn microsoft_tenant_issuer(provider: &Provider, expected: &str, iss: &str) -> bool {
    provider.kind == oidc::ProviderKind::Microsoft && expected.contains("{tenantid}") && {
        let (before, after) = expected.split_once("{tenantid}").unwrap_or_default();
        iss.strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .is_some_and(id_token::is_tenant_id)
    }
}

fn account_from(claims: &serde_json::Map<String, serde_json::Value>) -> Result<ProviderAccount, OauthError> {
    use serde_json::Value;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let subject = text("sub")
        .filter(|sub| sub.len() <= 255)
        .ok_or_else(|| OauthError::Refused("the ID token has no usable sub".into()))?;
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        // Some providers send the string.
        Some(Value::String(verified)) => verified == "true",
        _ => false,
    };
    let mfa = claims
        .get("amr")
        .and_then(Value::as_array)
        .is_some_and(|amr| amr.iter().any(|value| value.as_str() == Some("mfa")));
    Ok(ProviderAccount {
        subject,
        email: text("email").map(|email| email.to_ascii_lowercase()),
        email_verified,
        first_name: text("given_name"),
        last_name: text("family_name"),
        mfa,
    })
}

/// What a checked round trip leads to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Sign in as `user` with these factors (the second only for a trusted provider's MFA).
    SignIn {
        user: Box<User>,
        first: Verified,
        second: Option<Verified>,
    },
    /// The provider is now connected to the signed-in account.
    Linked,
    /// The signed-in person confirmed it's them with the provider.
    Reauthenticated,
    /// A new account needs fields the provider did not give (or gave malformed): the pending
    /// sign-up `flow` waits for them.
    NeedsFields { flow: String },
}

/// Decides what a checked round trip does to accounts. `fields`: the sign-up fields;
/// `verification_required`: whether new accounts need a verified address.
pub fn resolve(
    db: &dyn Db,
    returned: &Returned,
    fields: SignUpFields,
    policy: &SignUpPolicy,
    verification_required: bool,
    browser_hash: Vec<u8>,
    now: i64,
) -> Result<Outcome, OauthError> {
    let provider_id = returned.provider.kind.id();
    let account = &returned.account;
    let existing = store::find(db, provider_id, &account.subject)?;
    let verified = |factor| Verified { factor, at: now };
    match returned.mode {
        Mode::Link => {
            let user_id = returned.user_id.as_ref().ok_or(OauthError::StateInvalid)?;
            match existing {
                Some(identity) if identity.user_id == *user_id => Ok(Outcome::Linked),
                Some(_) => Err(OauthError::LinkedElsewhere),
                None => {
                    link(db, provider_id, account, user_id, now)?;
                    Ok(Outcome::Linked)
                }
            }
        }
        Mode::Reauth => {
            let user_id = returned.user_id.as_ref().ok_or(OauthError::StateInvalid)?;
            match existing {
                Some(identity) if identity.user_id == *user_id => {
                    store::record_use(db, provider_id, &account.subject, now)?;
                    Ok(Outcome::Reauthenticated)
                }
                _ => Err(OauthError::LinkedElsewhere),
            }
        }
        Mode::SignIn => {
            let second = (returned.provider.trusted_for_mfa && account.mfa).then(|| verified(Factor::ProviderMfa));
            if let Some(identity) = existing {
                store::record_use(db, provider_id, &account.subject, now)?;
                let user = users::get_user(db, &identity.user_id)?;
                return Ok(Outcome::SignIn {
                    user: Box::new(user),
                    first: verified(Factor::Federated),
                    second,
                });
            }
            let email = account
                .email
                .as_deref()
                .and_then(|email| EmailAddress::parse(email).ok())
                .ok_or(OauthError::NoEmail)?;
            if let Some(user) = users::find_user_by_email(db, &email)? {
                // No silent takeover: only a verified address from a provider trusted for it.
                if !(account.email_verified && returned.provider.trusted_for_email) {
                    return Err(OauthError::AccountExists {
                        email: email.as_str().to_owned(),
                    });
                }
                link(db, provider_id, account, &user.id, now)?;
                if user.email_verified_at.is_none() {
                    users::mark_email_verified(db, &user.id, &user.email, now)?;
                }
                let user = users::get_user(db, &user.id)?;
                return Ok(Outcome::SignIn {
                    user: Box::new(user),
                    first: verified(Factor::Federated),
                    second,
                });
            }
            if !policy.admits(&email) {
                return Err(OauthError::SignUpRefused);
            }
            if verification_required && !account.email_verified {
                return Err(OauthError::UnverifiedEmail);
            }
            let pending = PendingAccount {
                provider: provider_id.to_owned(),
                subject: account.subject.clone(),
                email: email.as_str().to_owned(),
                email_verified: account.email_verified,
                first_name: account.first_name.clone(),
                last_name: account.last_name.clone(),
            };
            let entered = EnteredFields {
                first_name: account.first_name.clone().unwrap_or_default(),
                last_name: account.last_name.clone().unwrap_or_default(),
                username: String::new(),
                phone_number: String::new(),
            };
            match create_account(db, &pending, &entered, fields, now)? {
                Ok(user) => Ok(Outcome::SignIn {
                    user: Box::new(user),
                    first: verified(Factor::Federated),
                    second,
                }),
                Err(_) => {
                    let flow = store_pending(db, &pending, &returned.location, browser_hash, now)?;
                    Ok(Outcome::NeedsFields { flow })
                }
            }
        }
    }
}

fn link(db: &dyn Db, provider: &str, account: &ProviderAccount, user_id: &UserId, now: i64) -> Result<(), OauthError> {
    let identity = Identity {
        provider: provider.to_owned(),
        subject: account.subject.clone(),
        user_id: user_id.clone(),
        email: account.email.clone(),
        created_at: now,
        last_used_at: Some(now),
    };
    match store::insert(db, &identity) {
        Ok(()) => Ok(()),
        Err(DbError::Unique(_)) => Err(OauthError::LinkedElsewhere),
        Err(error) => Err(error.into()),
    }
}

/// A new account from a provider, waiting for the fields sign-up requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAccount {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl PendingAccount {
    /// The JSON its flow stores.
    fn to_json(&self) -> String {
        serde_json::json!({
            "provider": self.provider,
            "subject": self.subject,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
        })
        .to_string()
    }

    fn from_json(text: &str) -> Option<Self> {
        let mut object = JsonObject::parse(text.as_bytes()).ok()?;
        Some(Self {
            provider: object.string("provider").ok()?,
            subject: object.string("subject").ok()?,
            email: object.string("email").ok()?,
            email_verified: object.optional_bool("email_verified").ok()??,
            first_name: object.optional_string("first_name").ok()?,
            last_name: object.optional_string("last_name").ok()?,
        })
    }
}

/// The sign-up fields as entered (or taken from the provider).
#[derive(Debug, Clone, Default)]
pub struct EnteredFields {
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub phone_number: String,
}

fn store_pending(
    db: &dyn Db,
    pending: &PendingAccount,
    location: &str,
    browser_hash: Vec<u8>,
    now: i64,
) -> Result<String, DbError> {
    let id = random_id("oauthsignup");
    let payload = pending.to_json();
    insert_flow(
        db,
        &id,
        KIND_SIGN_UP,
        pending.email.clone(),
        None,
        payload,
        location,
        browser_hash,
        now,
    )?;
    Ok(id)
}

/// The pending new account of flow `id`, for this browser, while it lives: it and where the
/// sign-in goes.
pub fn find_pending(
    db: &dyn Db,
    id: &str,
    csrf_cookie: &str,
    now: i64,
) -> Result<Option<(PendingAccount, String)>, DbError> {
    let Some(flow) = flows::find_code_flow(db, id)? else {
        return Ok(None);
    };
    let live = flow.purpose == KIND_SIGN_UP
        && flow.used_at.is_none()
        && flow.expires_at > now
        && crate::service::email::is_same_browser(&flow, csrf_cookie);
    let pending = flow.payload.as_deref().and_then(PendingAccount::from_json);
    Ok(pending
        .filter(|_| live)
        .map(|pending| (pending, flow.target.unwrap_or_default())))
}

/// A pending new account completed: the account and where the sign-in goes, or the fields'
/// problems.
pub type Completed = Result<(User, String), FieldErrors>;

/// Completes the pending new account of flow `id` with the fields entered: the account, or the
/// fields' problems (the flow stays for another try).
pub fn complete_pending(
    db: &dyn Db,
    id: &str,
    csrf_cookie: &str,
    entered: &EnteredFields,
    fields: SignUpFields,
    policy: &SignUpPolicy,
    now: i64,
) -> Result<Option<Completed>, OauthError> {
    let Some((pending, location)) = find_pending(db, id, csrf_cookie, now)? else {
        return Ok(None);
    };
    // The lists may have changed since the round trip.
    let email = EmailAddress::parse(&pending.email).map_err(|_| OauthError::NoEmail)?;
    if !policy.admits(&email) {
        return Err(OauthError::SignUpRefused);
    }
    match create_account(db, &pending, entered, fields, now)? {
        Ok(user) => {
            flows::mark_code_used(db, id, now)?;
            Ok(Some(Ok((user, location))))
        }
        Err(errors) => Ok(Some(Err(errors))),
    }
}

/// Creates the account and links the identity in one transaction, or says which fields are
/// wrong. The account has no password (the provider is its way in).
fn create_account(
    db: &dyn Db,
    pending: &PendingAccount,
    entered: &EnteredFields,
    fields: SignUpFields,
    now: i64,
) -> Result<Result<User, FieldErrors>, OauthError> {
    let mut errors = Vec::new();
    let first_name = parse_attribute(
        &mut errors,
        "first_name",
        fields.first_name,
        &entered.first_name,
        PersonName::parse,
    );
    let last_name = parse_attribute(
        &mut errors,
        "last_name",
        fields.last_name,
        &entered.last_name,
        PersonName::parse,
    );
    let username = parse_attribute(
        &mut errors,
        "username",
        fields.username,
        &entered.username,
        Username::parse,
    );
    let phone_number = parse_attribute(
        &mut errors,
        "phone_number",
        fields.phone_number,
        &entered.phone_number,
        PhoneNumber::parse,
    );
    let email = EmailAddress::parse(&pending.email).map_err(|_| OauthError::NoEmail)?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    if let Some(username) = &username
        && users::find_user_by_username(db, username)?.is_some()
    {
        return Ok(Err(vec![("username", FieldError::UsernameTaken)]));
    }
    let new = NewUser {
        email,
        username,
        first_name,
        last_name,
        phone_number,
        password_hash: String::new(),
        email_verified_at: pending.email_verified.then_some(now),
    };
    let account = ProviderAccount {
        subject: pending.subject.clone(),
        email: Some(pending.email.clone()),
        email_verified: pending.email_verified,
        first_name: None,
        last_name: None,
        mfa: false,
    };
    let created = transaction(db, || {
        let user = match users::create_user(db, &UserId::generate(), &new, now) {
            Ok(user) => user,
            Err(CreateUserError::EmailTaken) => {
                return Err(OauthError::AccountExists {
                    email: pending.email.clone(),
                });
            }
            Err(CreateUserError::UsernameTaken) => return Ok(Err(vec![("username", FieldError::UsernameTaken)])),
            Err(CreateUserError::Db(error)) => return Err(error.into()),
        };
        link(db, &pending.provider, &account, &user.id, now)?;
        webhooks::user_created(db, &user, now)?;
        Ok(Ok(user))
    })?;
    Ok(created)
}

/// The user's linked identities.
pub fn identities(db: &dyn Db, user: &UserId) -> Result<Vec<Identity>, DbError> {
    store::list(db, user)
}

/// Why an identity could not be disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectRefused {
    NotFound,
    /// It is the account's last way to sign in.
    LastWayIn,
}

/// Disconnects one of `user`'s identities, unless nothing else would sign in to the account.
pub fn disconnect(
    db: &dyn Db,
    user: &User,
    provider: &str,
    subject: &str,
) -> Result<Result<(), DisconnectRefused>, DbError> {
    transaction(db, || {
        let user = users::get_user(db, &user.id)?;
        let linked = store::list(db, &user.id)?;
        if !linked
            .iter()
            .any(|identity| identity.provider == provider && identity.subject == subject)
        {
            return Ok(Err(DisconnectRefused::NotFound));
        }
        if !user.has_password() && user.passkeys == 0 && linked.len() <= 1 {
            return Ok(Err(DisconnectRefused::LastWayIn));
        }
        store::delete(db, &user.id, provider, subject)?;
        Ok(Ok(()))
    })
}

impl From<AccountError> for OauthError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Db(error) => Self::Db(error),
            other => Self::Refused(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests;
