//! Email rules: delivering a message (provider or development outbox), the flood limits on
//! sending, one-time code flows (start, resend, check-and-act), known browsers and the
//! "this wasn't me" links. Messages are rendered by the web layer; nothing here knows HTML.

use crate::config::{Delivery, EmailSettings};
use crate::domain::{SessionId, UserId};
use crate::outbound::email::{self as providers, Message};
use crate::outbound::{Http, HttpError};
use crate::security::codes::{self, CODE_LIFETIME, MAX_WRONG_TRIES, RESEND_COOLDOWN};
use crate::security::lockout::{self, LockPolicy};
use crate::security::token::MacKeys;
use crate::security::{new_token, random_id, token_hash};
use crate::store::email::{self as store, CodeFlow};
use crate::store::{Db, DbError, attempts, transaction};

/// Emails one mailbox may be sent in [`SEND_WINDOW`] (the operator sets what one client address
/// may cause: `emails_per_address_per_hour`).
pub const SENDS_PER_ADDRESS: usize = 5;
pub const SEND_WINDOW: i64 = 3600;

/// Seconds a "this wasn't me" link works.
pub const NOTICE_LIFETIME: i64 = 7 * 24 * 3600;

/// What a code flow is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignUp,
    Reset,
    SignIn,
    EmailChange,
    VerifyEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::Reset => "reset",
            Self::SignIn => "sign_in",
            Self::EmailChange => "email_change",
            Self::VerifyEmail => "verify_email",
        }
    }

    /// Whether a flow of this purpose for an address without an account (or one taken by
    /// another) is a silent decoy: its emails then go after the response
    /// ([`AfterResponse`]), so the provider's time cannot tell the two apart. A sign-up sends an
    /// email either way (a code, or "someone tried to sign up" to the owner) and verifying the
    /// visitor's own address reveals nothing, so those wait for the provider and can say when
    /// it failed.
    pub fn sends_after_response(self) -> bool {
        matches!(self, Self::Reset | Self::SignIn | Self::EmailChange)
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::SignUp,
            Self::Reset,
            Self::SignIn,
            Self::EmailChange,
            Self::VerifyEmail,
        ]
        .into_iter()
        .find(|purpose| purpose.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Production without a provider.
    #[error("no email provider is configured")]
    NotConfigured,
    /// The provider refused or could not be reached; the reason is for the log.
    #[error("the email could not be sent: {0}")]
    Failed(String),
    /// Too many emails for this address or from this client.
    #[error("too many emails; try again after {until}")]
    RateLimited { until: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Sends one message the configured way. Provider failures and timeouts are logged with the
/// provider's reason (never the message, which may hold a code). In development without a
/// provider the message is stored for `/dev/outbox` and printed to the log, codes included.
pub fn deliver(
    db: &dyn Db,
    http: &dyn Http,
    email: &EmailSettings,
    message: &Message,
    now: i64,
) -> Result<(), SendError> {
    match &email.delivery {
        Delivery::Provider(config) => {
            let request = providers::request(config, message, now).map_err(SendError::Failed)?;
            let outcome = match http.send(request) {
                Ok(response) => providers::check_response(config.provider, &response),
                Err(HttpError::Denied(url)) => Err(format!(
                    "{url} is not in allowed_outbound_hosts (spin.toml grants the providers' APIs and email_api_origin)"
                )),
                Err(other) => Err(format!("{} could not be reached: {other}", config.provider.name())),
            };
            outcome.map_err(|reason| {
                eprintln!("email: not sent: {reason}");
                SendError::Failed(reason)
            })
        }
        Delivery::DevOutbox => {
            store::insert_outbox(db, &message.to, &message.subject, &message.text, &message.html, now)?;
            eprintln!(
                "email (development outbox, see /dev/outbox) to {}: {}\n{}",
                message.to, message.subject, message.text
            );
            Ok(())
        }
        Delivery::Unavailable => Err(SendError::NotConfigured),
    }
}

/// Emails built during a request and sent once its response has gone out.
///
/// # Threat
/// Account enumeration by timing: for an address without an account nothing is sent, so a
/// page that waited for the provider answered about 150 ms sooner for unknown addresses
/// (`/forgot-password`, `/sign-in/code`, `/user/email`, `/verify/resend`). Pages that must not
/// reveal an account queue their provider request here instead; the host sends it after the
/// response is complete, so the response takes as long whether or not anything is sent. A
/// provider failure is then logged, and the flow's resend cooldown is lifted so the person can
/// ask again at once.
#[derive(Default)]
pub struct AfterResponse {
    sends: std::cell::RefCell<Vec<DeferredSend>>,
    /// Set when the request wrote webhook events: deliver what is due.
    webhooks: std::cell::RefCell<Option<crate::config::WebhookSettings>>,
}

struct DeferredSend {
    provider: providers::Provider,
    request: http::Request<Vec<u8>>,
    /// The code flow whose email this is.
    flow_id: Option<String>,
}

impl AfterResponse {
    /// Sends what the request queued, in order; failures are logged, never answered.
    pub fn run(&self, db: &dyn Db, http: &dyn Http, now: i64) {
        for send in self.sends.take() {
            let to = send.request.uri().to_string();
            let outcome = match http.send(send.request) {
                Ok(response) => providers::check_response(send.provider, &response),
                Err(error) => Err(format!("{} could not be reached: {error}", send.provider.name())),
            };
            if let Err(reason) = outcome {
                eprintln!("email: not sent (after the response, via {to}): {reason}");
                if let Some(flow_id) = &send.flow_id
                    && let Err(error) = resend_failed(db, flow_id, now)
                {
                    eprintln!("email: could not lift the resend cooldown of a flow: {error}");
                }
            }
        }
        if let Some(settings) = self.webhooks.take()
            && let Err(error) = crate::service::webhooks::deliver(db, http, &settings, now)
        {
            eprintln!("webhooks: delivery stopped: {error}");
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sends.borrow().is_empty() && self.webhooks.borrow().is_none()
    }

    /// Delivers due webhook events once the response is out.
    pub fn deliver_webhooks(&self, settings: crate::config::WebhookSettings) {
        self.webhooks.replace(Some(settings));
    }
}

/// Like [`deliver`], but a provider's request is queued on `later` to be sent after the
/// response (the development outbox is written at once: it costs the same either way).
/// Everything that can fail before the send (configuration, building the request) fails here.
pub fn deliver_after_response(
    db: &dyn Db,
    email: &EmailSettings,
    message: &Message,
    flow_id: Option<&str>,
    later: &AfterResponse,
    now: i64,
) -> Result<(), SendError> {
    match &email.delivery {
        Delivery::Provider(config) => {
            let request = providers::request(config, message, now).map_err(SendError::Failed)?;
            later.sends.borrow_mut().push(DeferredSend {
                provider: config.provider,
                request,
                flow_id: flow_id.map(str::to_owned),
            });
            Ok(())
        }
        Delivery::DevOutbox | Delivery::Unavailable => deliver(db, &NoHttp, email, message, now),
    }
}

/// No outbound HTTP: for deliveries that never use it.
struct NoHttp;

impl Http for NoHttp {
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        Err(HttpError::Failed(format!("no HTTP here ({})", request.uri())))
    }
}

/// Admits one email to `address` caused by `client_addr`, recording it: refused when the
/// mailbox has had [`SENDS_PER_ADDRESS`] in the window (the portal cannot be used to flood an
/// inbox) or the client address has caused `per_client` (a whole office behind one address
/// fits in a generous allowance).
pub fn admit_send(db: &dyn Db, address: &str, client_addr: &str, per_client: usize, now: i64) -> Result<(), SendError> {
    let address_scope = format!("to:{}", address.to_lowercase());
    let client_scope = format!("from:{}", lockout::rate_scope(client_addr));
    transaction(db, || {
        store::prune(db, now - CODE_LIFETIME, now - SEND_WINDOW)?;
        for (scope, limit) in [(&address_scope, SENDS_PER_ADDRESS), (&client_scope, per_client)] {
            let times = store::send_times(db, scope, now - SEND_WINDOW)?;
            if let Some(until) = lockout::refused_until(&times, limit, SEND_WINDOW) {
                return Err(SendError::RateLimited { until });
            }
        }
        store::record_send(db, &address_scope, now)?;
        store::record_send(db, &client_scope, now)?;
        Ok(())
    })
}

/// A flow to start.
pub struct NewFlow<'a> {
    pub purpose: Purpose,
    pub email: &'a str,
    pub user_id: Option<&'a UserId>,
    pub payload: Option<String>,
    pub target: Option<String>,
    /// A flow whose code must never work (the address must not learn whether it has an account):
    /// no code is made and none matches.
    pub decoy: bool,
    /// The browser starting it (see [`browser_hash`]), for flows that sign someone in.
    pub browser_hash: Option<Vec<u8>>,
}

/// What binds a flow to the browser that started it: a hash of that browser's CSRF cookie (a
/// random value only that browser holds; the hash keeps the stored value useless to forge it).
pub fn browser_hash(csrf_cookie: &str) -> Vec<u8> {
    token_hash(csrf_cookie).to_vec()
}

/// Whether this flow may be completed in the browser whose CSRF cookie is `csrf_cookie`.
///
/// # Threat
/// Login CSRF by code link: an attacker starts a sign-in (or sign-up, or reset) code flow for
/// their own account and sends the victim the emailed link; one button press would sign the
/// victim into the attacker's account (ending the victim's own session), where what the victim
/// then types is the attacker's to read. A flow bound to the browser that started it completes
/// only there; anywhere else the person starts afresh.
pub fn is_same_browser(flow: &CodeFlow, csrf_cookie: &str) -> bool {
    flow.browser_hash.as_ref().is_none_or(|bound| {
        subtle::ConstantTimeEq::ct_eq(bound.as_slice(), browser_hash(csrf_cookie).as_slice()).into()
    })
}

/// Stores a new flow; returns its id and, unless it is a decoy, its code (to email, never to
/// store or log).
pub fn start_flow(
    db: &dyn Db,
    keys: &MacKeys,
    new: &NewFlow<'_>,
    now: i64,
) -> Result<(String, Option<String>), DbError> {
    let id = random_id("flow");
    let code = (!new.decoy).then(codes::new_code);
    let code_hash = match &code {
        Some(code) => codes::code_hash(keys, &id, code),
        None => codes::unmatchable_hash(),
    };
    store::insert_code_flow(
        db,
        &CodeFlow {
            id: id.clone(),
            purpose: new.purpose.as_str().to_owned(),
            email: new.email.to_owned(),
            user_id: new.user_id.cloned(),
            code_hash,
            payload: new.payload.clone(),
            target: new.target.clone(),
            failures: 0,
            sent_at: now,
            expires_at: now + CODE_LIFETIME,
            used_at: None,
            browser_hash: new.browser_hash.clone(),
        },
        now,
    )?;
    Ok((id, code))
}

/// Forgets a flow whose email could not be sent: nothing is left half-done.
pub fn abandon_flow(db: &dyn Db, id: &str) -> Result<(), DbError> {
    store::delete_code_flow(db, id)
}

/// The development outbox, newest first.
pub fn outbox(db: &dyn Db) -> Result<Vec<store::OutboxEmail>, DbError> {
    store::list_outbox(db, 50)
}

/// A live flow (unused, unexpired, tries left), if `id` names one.
pub fn live_flow(db: &dyn Db, id: &str, now: i64) -> Result<Option<CodeFlow>, DbError> {
    Ok(store::find_code_flow(db, id)?.filter(|flow| is_live(flow, now)))
}

fn is_live(flow: &CodeFlow, now: i64) -> bool {
    flow.used_at.is_none() && flow.expires_at > now && flow.failures < MAX_WRONG_TRIES
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    /// A new code (none for a decoy) replaced the old one.
    Sent(Option<String>),
    /// Asked again too soon: wait until then.
    TooSoon { until: i64 },
}

/// A new code for a live flow: the old code dies. The flow keeps its expiry and its wrong tries
/// (a resend never gives more time or more guesses; a dead flow is started afresh, which the
/// account's code lock counts across flows). At most one per [`RESEND_COOLDOWN`].
pub fn resend(db: &dyn Db, keys: &MacKeys, flow: &CodeFlow, now: i64) -> Result<Resend, DbError> {
    if flow.sent_at + RESEND_COOLDOWN > now {
        return Ok(Resend::TooSoon {
            until: flow.sent_at + RESEND_COOLDOWN,
        });
    }
    let decoy = codes::is_unmatchable(&flow.code_hash);
    let code = (!decoy).then(codes::new_code);
    let code_hash = match &code {
        Some(code) => codes::code_hash(keys, &flow.id, code),
        None => codes::unmatchable_hash(),
    };
    store::replace_code(db, &flow.id, &code_hash, now)?;
    Ok(Resend::Sent(code))
}

/// What checking a code found.
/// After a resend whose email could not be sent: the new code never arrived, so the person may
/// ask again at once instead of waiting out the cooldown.
pub fn resend_failed(db: &dyn Db, flow_id: &str, now: i64) -> Result<(), DbError> {
    store::clear_cooldown(db, flow_id, now - RESEND_COOLDOWN)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck<T> {
    /// Right code: the flow is used up and `complete` ran in the same transaction.
    Accepted(Box<CodeFlow>, T),
    /// Wrong code; this many tries remain (0: the code is dead now).
    Wrong { tries_left: i64 },
    /// Unknown, used, expired or out of tries.
    Dead,
    /// The account's sign-in is locked (email-code sign-in counts as sign-in).
    Locked { until: i64 },
}

/// Account lockout for code sign-in: the same failures and policy as password sign-in.
pub struct CodeLock<'a> {
    pub scope: &'a str,
    pub policy: LockPolicy,
}

/// Checks `typed` against flow `id` and, when right, marks the flow used and runs `complete`
/// in one transaction: if `complete` fails, the code stays unused and nothing is stored. A wrong
/// code counts (and is committed) even though nothing else happens; `lock` adds it to the
/// account's sign-in failures.
pub fn check_code<T, E: From<DbError>>(
    db: &dyn Db,
    keys: &MacKeys,
    id: &str,
    typed: &str,
    lock: Option<&CodeLock<'_>>,
    now: i64,
    complete: impl FnOnce(&CodeFlow) -> Result<T, E>,
) -> Result<CodeCheck<T>, E> {
    transaction(db, || {
        let Some(flow) = store::find_code_flow(db, id)?.filter(|flow| is_live(flow, now)) else {
            return Ok(CodeCheck::Dead);
        };
        if let Some(lock) = lock {
            let failures = attempts::check_times(db, lock.scope, now - lock.policy.horizon())?;
            if lock.policy.is_locked(&failures, now) {
                let until = lock.policy.locked_until(&failures).unwrap_or(now);
                return Ok(CodeCheck::Locked { until });
            }
        }
        let right =
            codes::normalize(typed).is_some_and(|code| codes::code_matches(keys, &flow.id, &code, &flow.code_hash));
        if !right {
            store::add_code_failure(db, &flow.id)?;
            if let Some(lock) = lock {
                attempts::insert_check(db, &random_id("code"), lock.scope, now)?;
            }
            return Ok(CodeCheck::Wrong {
                tries_left: (MAX_WRONG_TRIES - flow.failures - 1).max(0),
            });
        }
        if !store::mark_code_used(db, &flow.id, now)? {
            return Ok(CodeCheck::Dead);
        }
        if let Some(lock) = lock {
            attempts::clear_scope(db, lock.scope)?;
        }
        let value = complete(&flow)?;
        Ok(CodeCheck::Accepted(Box::new(flow), value))
    })
}

/// Ends every open flow of a user and every flow addressed to `email` (the address it had):
/// after an address change, a password change or a reset, an old mailbox or an old code signs
/// nobody in and resets nothing.
pub fn end_flows(db: &dyn Db, user_id: &UserId, email: &str, now: i64) -> Result<(), DbError> {
    store::end_user_flows(db, user_id, email, now)
}

/// Records the browser (its device cookie) for `user_id`. `true` when the account should hear
/// of it: the browser is new to an account that has signed in elsewhere before (the first
/// browser of an account, the one it signed up in, is simply recorded).
/// A browser new to the account also forgets the account's browsers whose cookie has expired
/// (first seen more than [`DEVICE_LIFETIME`] ago), so the table does not only grow; a known
/// browser's sign-in runs no statement more. They are counted first: a sign-in from a new
/// browser into an account last used years ago is exactly the one its owner should hear of.
pub fn is_new_device(db: &dyn Db, user_id: &UserId, device_token: &str, now: i64) -> Result<bool, DbError> {
    let inserted = store::remember_device(db, user_id, &token_hash(device_token), now)?;
    if !inserted {
        return Ok(false);
    }
    let seen_elsewhere = store::count_devices(db, user_id)? > 1;
    store::forget_devices_seen_before(db, user_id, now - DEVICE_LIFETIME)?;
    Ok(seen_elsewhere)
}

/// How long the browser cookie behind [`is_new_device`] lives. It is set once and never
/// renewed, so a browser first seen longer ago than this is no longer recognisable.
pub const DEVICE_LIFETIME: i64 = 2 * 365 * 24 * 3600;

/// A "this wasn't me" link token for a session just started (expired ones are deleted as
/// emails are sent: [`admit_send`]).
pub fn new_sign_in_notice(db: &dyn Db, session_id: &SessionId, user_id: &UserId, now: i64) -> Result<String, DbError> {
    let (token, hash) = new_token();
    store::insert_sign_in_notice(db, &hash, session_id, user_id, now + NOTICE_LIFETIME)?;
    Ok(token)
}

/// Takes a notice token (single use): the session it names and its user.
pub fn take_sign_in_notice(db: &dyn Db, token: &str, now: i64) -> Result<Option<(SessionId, UserId)>, DbError> {
    store::take_sign_in_notice(db, &token_hash(token), now)
}

#[cfg(test)]
mod tests;
