//! Step-up: the same machine for a signed-in person about to make a sensitive change (a new
//! password or address, deleting the account, turning two-step verification off, new backup
//! codes, deleting an organization). Such a change needs a factor verified within [`WINDOW`];
//! otherwise the person presents the strongest factor they have (the authenticator app, else
//! their password) and gets a [`Reauthenticated`] proof, which the session records.
//!
//! # Threat
//! A session left open on a shared computer, or stolen, must not become the account: without a
//! fresh factor it cannot change the password or address, turn the second factor off or read new
//! backup codes. Wrong codes and passwords here count toward the account's lockout like any
//! other, so step-up is no guessing oracle.

use super::{Factor, FactorKeys, Verified, check_totp, use_backup_code};
use crate::security::lockout::{self, LockPolicy};
use crate::security::random_id;
use crate::service::accounts::{self, Attempt, SignInError};
use crate::service::sessions::Visitor;
use crate::store::{Db, attempts, sessions, transaction};

/// Seconds a verified factor allows sensitive changes.
pub const WINDOW: i64 = 600;

/// Proof that the visitor verified a factor just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reauthenticated(pub Verified);

/// The factor a step-up asks for: the authenticator app when the account has one (a password
/// alone would let a thief who phished it turn the app off), else the password, else (an
/// account without one) a passkey.
pub fn strongest_factor(visitor: &Visitor) -> Factor {
    if visitor.user.totp_enabled_at.is_some() {
        Factor::Totp
    } else if visitor.user.has_password() {
        Factor::Password
    } else if visitor.user.passkeys > 0 {
        Factor::Passkey
    } else {
        Factor::Federated
    }
}

/// When the visitor's session last verified `factor`: a second factor's own time, else the
/// later of the two (a second factor proves the first too).
pub fn verified_at(visitor: &Visitor, factor: Factor) -> Option<i64> {
    let session = &visitor.session;
    match factor {
        Factor::Totp | Factor::BackupCode | Factor::UserVerification | Factor::ProviderMfa => session.second_factor_at,
        Factor::Password | Factor::EmailCode | Factor::Passkey | Factor::SyncedPasskey | Factor::Federated => {
            session.first_factor_at.max(session.second_factor_at)
        }
    }
}

/// Whether the visitor verified their strongest factor within [`WINDOW`].
pub fn is_recent(visitor: &Visitor, now: i64) -> bool {
    verified_at(visitor, strongest_factor(visitor)).is_some_and(|at| now - at < WINDOW)
}

/// How a sensitive change is re-authenticated: the current password the change's form asked
/// for (checked by the change, with the sign-in lockout), or a proof already made at a step-up.
/// The rules never need a password string as such, so an account without a password can make
/// these changes too, through a step-up.
#[derive(Debug, Clone, Copy)]
pub enum Reauthentication<'a> {
    Password(&'a str),
    Proven(Reauthenticated),
}

impl Reauthentication<'_> {
    /// Checks the re-authentication of `user` (a password is verified here, counted toward the
    /// lockout; an empty one is a field error).
    pub fn check(
        self,
        db: &dyn Db,
        user: &crate::store::users::User,
        attempt: &Attempt<'_>,
    ) -> Result<(), crate::service::accounts::AccountError> {
        use crate::domain::{FieldError, FieldProblem};
        use crate::service::accounts::AccountError;
        match self {
            Self::Password("") => Err(AccountError::Fields(vec![(
                "current_password",
                FieldError::Field(FieldProblem::Required),
            )])),
            // A wrong password is said at its field; a lock or a rate limit stays what it is.
            Self::Password(password) => match accounts::verify_current_password(db, user, password, attempt) {
                Ok(()) => Ok(()),
                Err(SignInError::BadCredentials) => Err(AccountError::Fields(vec![(
                    "current_password",
                    FieldError::WrongPassword,
                )])),
                Err(other) => Err(other.into()),
            },
            Self::Proven(Reauthenticated(verified)) if attempt.now - verified.at < WINDOW => Ok(()),
            Self::Proven(_) => Err(SignInError::BadCredentials.into()),
        }
    }
}

/// What the visitor typed at a step-up.
#[derive(Debug, Clone, Copy)]
pub enum Reproof<'a> {
    /// A code from the app, or a backup code.
    Code(&'a str),
    Password(&'a str),
}

/// Checks a step-up made with one of the visitor's passkeys and records it on the session. With
/// user verification it stands for any factor (two, in fact); without, it is refused where the
/// account has an authenticator app (a passkey tap alone must not replace the app's code).
pub fn with_passkey(
    db: &dyn Db,
    visitor: &Visitor,
    used: &super::passkeys::PasskeyUsed,
    now: i64,
) -> Result<Reauthenticated, SignInError> {
    if !used.user_verified && strongest_factor(visitor) == Factor::Totp {
        return Err(SignInError::BadCredentials);
    }
    sessions::record_verification(db, &visitor.session.id, used.user_verified, now)?;
    let factor = if used.user_verified {
        Factor::UserVerification
    } else {
        used.factor.factor
    };
    Ok(Reauthenticated(Verified { factor, at: now }))
}

/// Checks a step-up proof (counted toward the lockout like a sign-in) and records it on the
/// session.
pub fn reauthenticate(
    db: &dyn Db,
    keys: &FactorKeys,
    visitor: &Visitor,
    proof: Reproof<'_>,
    attempt: &Attempt<'_>,
) -> Result<Reauthenticated, SignInError> {
    let now = attempt.now;
    let verified = match (strongest_factor(visitor), proof) {
        (Factor::Totp, Reproof::Code(code)) => check_second_factor(db, keys, visitor, code, attempt.policy, now)?,
        (Factor::Password, Reproof::Password(password)) => {
            accounts::verify_current_password(db, &visitor.user, password, attempt)?;
            Verified {
                factor: Factor::Password,
                at: now,
            }
        }
        _ => return Err(SignInError::BadCredentials),
    };
    let second = matches!(verified.factor, Factor::Totp | Factor::BackupCode);
    sessions::record_verification(db, &visitor.session.id, second, now)?;
    Ok(Reauthenticated(verified))
}

fn check_second_factor(
    db: &dyn Db,
    keys: &FactorKeys,
    visitor: &Visitor,
    code: &str,
    policy: LockPolicy,
    now: i64,
) -> Result<Verified, SignInError> {
    let user = &visitor.user;
    let scope = lockout::account_scope(Some(&user.id), user.email.as_str());
    transaction(db, || {
        let failures = attempts::check_times(db, &scope, now - policy.horizon())?;
        if policy.is_locked(&failures, now) {
            return Err(SignInError::Locked {
                until: policy.locked_until(&failures).unwrap_or(now),
            });
        }
        let factor = if check_totp(db, keys, user, code, now)? {
            Some(Factor::Totp)
        } else {
            use_backup_code(db, &keys.mac, user, code, now)?.map(|_| Factor::BackupCode)
        };
        match factor {
            Some(factor) => {
                attempts::clear_scope(db, &scope)?;
                Ok(Verified { factor, at: now })
            }
            None => {
                attempts::insert_check(db, &random_id("reauth"), &scope, now).map_err(SignInError::from)?;
                Err(SignInError::BadCredentials)
            }
        }
    })
}
