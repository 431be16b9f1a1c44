//! Sign-in as one state machine. Every road in (a password, a password at sign-up for an
//! existing account, an email code, a verified sign-up, a password reset) proves a first factor
//! and calls [`first_factor`]; what comes next is decided here, once, for all of them: signed in,
//! or a second factor to present at a pending sign-in ([`flow`]) with [`present`]. No road can
//! skip the second factor, because none reaches a session another way. Nothing here knows HTTP:
//! the web layer maps a [`Step`] to a response in one place (`pages::auth::answer`).
//!
//! # Threat
//! A second factor is worth something only if the sign-in cannot end without it: a pending
//! sign-in is a row under a random id, bound to the browser that proved the first factor, dying
//! after [`flow::LIFETIME`] or [`flow::MAX_WRONG`] wrong codes, and every wrong code also counts
//! toward the account's sign-in lockout (six digits are a million guesses; the lockout makes
//! them a few an hour). Going to any other page leaves the visitor signed out.

pub mod factors;
pub mod flow;
pub mod passkeys;
pub mod reauth;

use crate::security::lockout::{self, LockPolicy};
use crate::security::token::MacKeys;
use crate::security::{backup_codes, random_id, totp};
use crate::store::users::{self, User};
use crate::store::{Db, DbError, attempts, factors as store, transaction};

/// A way a person proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    EmailCode,
    Totp,
    BackupCode,
    /// A device-bound passkey (a key that never leaves its hardware).
    Passkey,
    /// A synced passkey (backed up to the person's password manager or platform account).
    SyncedPasskey,
    /// The passkey's authenticator verified the person (PIN, fingerprint, face): with the
    /// passkey itself, two factors.
    UserVerification,
    /// A sign-in at another identity provider (OpenID Connect).
    Federated,
    /// That provider's own second factor, when the operator trusts it.
    ProviderMfa,
}

impl Factor {
    const ALL: [Factor; 9] = [
        Factor::Password,
        Factor::EmailCode,
        Factor::Totp,
        Factor::BackupCode,
        Factor::Passkey,
        Factor::SyncedPasskey,
        Factor::UserVerification,
        Factor::Federated,
        Factor::ProviderMfa,
    ];

    /// Its name in a stored pending sign-in.
    fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::EmailCode => "email_code",
            Self::Totp => "totp",
            Self::BackupCode => "backup_code",
            Self::Passkey => "passkey",
            Self::SyncedPasskey => "synced_passkey",
            Self::UserVerification => "user_verification",
            Self::Federated => "federated",
            Self::ProviderMfa => "provider_mfa",
        }
    }

    /// Its RFC 8176 authentication method reference: `pwd` for a password, `otp` for a one-time
    /// code (by email, from an app, or a backup code), `hwk`/`swk` for a hardware- or
    /// software-held key, `user` for the authenticator's check of the person, `fed` for another
    /// identity provider (federation).
    pub fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::EmailCode | Self::Totp | Self::BackupCode => "otp",
            Self::Passkey => "hwk",
            Self::SyncedPasskey => "swk",
            Self::UserVerification => "user",
            Self::Federated | Self::ProviderMfa => "fed",
        }
    }
}

/// A factor and when it was verified (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub factor: Factor,
    pub at: i64,
}

impl Verified {
    /// The JSON a pending sign-in stores (`{"factor": "password", "at": 1700000000}`).
    pub(crate) fn to_json(self) -> String {
        serde_json::json!({"factor": self.factor.name(), "at": self.at}).to_string()
    }

    pub(crate) fn from_json(text: &str) -> Option<Self> {
        let mut object = crate::json_object::JsonObject::parse(text.as_bytes()).ok()?;
        let name = object.string("factor").ok()?;
        Some(Self {
            factor: Factor::ALL.into_iter().find(|factor| factor.name() == name)?,
            at: object.integer("at").ok()?,
        })
    }
}

/// A finished sign-in: who, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user: User,
    pub first: Verified,
    pub second: Option<Verified>,
    /// After a backup code: how many are left (the person is told, and emailed).
    pub backup_codes_left: Option<usize>,
}

impl SignedIn {
    /// The session's `amr` (RFC 8176), `mfa` added when two factors were used.
    pub fn amr(&self) -> String {
        let mut values = vec![self.first.factor.amr()];
        if let Some(second) = &self.second {
            if !values.contains(&second.factor.amr()) {
                values.push(second.factor.amr());
            }
            values.push("mfa");
        }
        values.join(",")
    }
}

/// What happens after a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Done(Box<SignedIn>),
    /// A second factor is needed: the pending sign-in `flow` takes one of `allowed`.
    Next {
        flow: String,
        allowed: Vec<Factor>,
    },
    /// The operator suspended the account: no factor signs it in.
    Suspended,
}

/// A second factor presented at a pending sign-in.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Totp(&'a str),
    BackupCode(&'a str),
}

/// Why a proof did not move the sign-in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Wrong code; this many tries remain at this pending sign-in (0: it is dead now).
    Wrong { tries_left: i64 },
    /// Unknown, used, expired or out of tries.
    Dead,
    /// Started in another browser.
    OtherBrowser,
    /// The account's sign-in is locked (wrong codes count with wrong passwords).
    Locked { until: i64 },
}

/// The keys a second factor is checked with: the authenticator secrets' encryption keys
/// (current first, then those of previous secrets) and the backup codes' MAC keys.
pub struct FactorKeys {
    pub totp: Vec<[u8; 32]>,
    pub mac: MacKeys,
}

/// The second factors `user` must present after a first one (none without an app).
pub fn second_factors(user: &User) -> Vec<Factor> {
    if user.totp_enabled_at.is_some() {
        vec![Factor::Totp, Factor::BackupCode]
    } else {
        Vec::new()
    }
}

/// After a first factor proved `user`: signed in, or a pending sign-in for the second factor,
/// bound to the browser (`browser_hash`) and remembering where the sign-in goes (`location`).
pub fn first_factor(
    db: &dyn Db,
    user: User,
    factor: Factor,
    location: &str,
    browser_hash: Vec<u8>,
    now: i64,
) -> Result<Step, DbError> {
    if user.banned_at.is_some() {
        return Ok(Step::Suspended);
    }
    let first = Verified { factor, at: now };
    let allowed = second_factors(&user);
    if allowed.is_empty() {
        return Ok(Step::Done(Box::new(SignedIn {
            user,
            first,
            second: None,
            backup_codes_left: None,
        })));
    }
    let flow = flow::start(db, &user, first, location, browser_hash, now)?;
    Ok(Step::Next { flow, allowed })
}

/// Presents a second factor at pending sign-in `flow_id`, from the browser whose CSRF cookie is
/// `csrf_cookie`. The check, the count of a wrong code (at the flow and toward the account's
/// lock) and the single use of a right one happen in one transaction.
pub fn present(
    db: &dyn Db,
    keys: &FactorKeys,
    flow_id: &str,
    proof: Proof<'_>,
    csrf_cookie: &str,
    policy: LockPolicy,
    now: i64,
) -> Result<Result<(Step, String), Refused>, DbError> {
    transaction(db, || {
        let Some(pending) = flow::find_live(db, flow_id, now)? else {
            return Ok(Err(Refused::Dead));
        };
        if !crate::service::email::is_same_browser(&pending.flow, csrf_cookie) {
            return Ok(Err(Refused::OtherBrowser));
        }
        let user = users::get_user(db, &pending.user_id)?;
        if user.banned_at.is_some() {
            return Ok(Ok((Step::Suspended, pending.location)));
        }
        let scope = lockout::account_scope(Some(&user.id), user.email.as_str());
        let failures = attempts::check_times(db, &scope, now - policy.horizon())?;
        if policy.is_locked(&failures, now) {
            let until = policy.locked_until(&failures).unwrap_or(now);
            return Ok(Err(Refused::Locked { until }));
        }
        let (factor, backup_codes_left) = match proof {
            Proof::Totp(code) => (Factor::Totp, check_totp(db, keys, &user, code, now)?.then_some(None)),
            Proof::BackupCode(code) => (
                Factor::BackupCode,
                use_backup_code(db, &keys.mac, &user, code, now)?.map(Some),
            ),
        };
        let Some(backup_codes_left) = backup_codes_left else {
            let tries_left = flow::add_failure(db, &pending)?;
            attempts::insert_check(db, &random_id("factor"), &scope, now)?;
            return Ok(Err(Refused::Wrong { tries_left }));
        };
        if !flow::finish(db, flow_id, now)? {
            return Ok(Err(Refused::Dead));
        }
        attempts::clear_scope(db, &scope)?;
        let signed_in = SignedIn {
            user,
            first: pending.first,
            second: Some(Verified { factor, at: now }),
            backup_codes_left,
        };
        Ok(Ok((Step::Done(Box::new(signed_in)), pending.location)))
    })
}

/// Whether `code` is the user's authenticator code now, used for the first time (its step is
/// then recorded).
pub fn check_totp(db: &dyn Db, keys: &FactorKeys, user: &User, code: &str, now: i64) -> Result<bool, DbError> {
    let Some(row) = store::find_totp(db, &user.id)? else {
        return Ok(false);
    };
    let Some(secret) = row
        .secret
        .as_deref()
        .and_then(|sealed| totp::open_secret(&keys.totp, user.id.as_str(), sealed))
    else {
        return Ok(false);
    };
    match totp::verify(&secret, code, now, row.last_step) {
        Some(step) => store::use_totp_step(db, &user.id, step),
        None => Ok(false),
    }
}

/// Uses one of the user's backup codes: how many are left, or `None` when `code` is none of them.
pub fn use_backup_code(
    db: &dyn Db,
    keys: &MacKeys,
    user: &User,
    code: &str,
    now: i64,
) -> Result<Option<usize>, DbError> {
    let Some(code) = backup_codes::normalize(code) else {
        return Ok(None);
    };
    let unused = store::unused_backup_codes(db, &user.id)?;
    let Some(hash) = unused
        .iter()
        .find(|hash| backup_codes::matches(keys, user.id.as_str(), &code, hash))
    else {
        return Ok(None);
    };
    if !store::use_backup_code(db, &user.id, hash, now)? {
        return Ok(None);
    }
    Ok(Some(unused.len() - 1))
}

#[cfg(test)]
mod tests;
