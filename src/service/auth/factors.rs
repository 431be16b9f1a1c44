//! Turning second factors on and off: the authenticator app's init/confirm pair (the secret is
//! on only once a first code from the app proves it was copied right), backup codes (a new set
//! voids the old one; shown once), and removal.

use super::FactorKeys;
use crate::security::backup_codes;
use crate::security::totp::{self, TotpSecret};
use crate::store::users::User;
use crate::store::{Db, DbError, factors as store, transaction};

/// Seconds a secret being set up stays usable for its confirmation.
pub const SETUP_LIFETIME: i64 = 1800;

/// A new secret for `user` to copy into an app, stored (sealed) until confirmed. A secret set up
/// before and never confirmed is replaced.
pub fn totp_init(db: &dyn Db, keys: &FactorKeys, user: &User, now: i64) -> Result<TotpSecret, DbError> {
    let secret = TotpSecret::generate();
    let key = keys
        .totp
        .first()
        .ok_or_else(|| DbError::Other("no encryption key".into()))?;
    store::set_pending_totp(db, &user.id, &totp::seal_secret(key, user.id.as_str(), &secret), now)?;
    Ok(secret)
}

/// The secret `user` is setting up, while it may still be confirmed.
pub fn pending_totp(db: &dyn Db, keys: &FactorKeys, user: &User, now: i64) -> Result<Option<TotpSecret>, DbError> {
    let Some(row) = store::find_totp(db, &user.id)? else {
        return Ok(None);
    };
    let fresh = row.pending_at.is_some_and(|at| at + SETUP_LIFETIME > now);
    Ok(row
        .pending_secret
        .filter(|_| fresh)
        .and_then(|sealed| totp::open_secret(&keys.totp, user.id.as_str(), &sealed)))
}

/// Confirms the secret being set up with a first code from the app: the app is on and a new set
/// of backup codes is made (returned to be shown once). `None`: the code is not right (or there
/// is nothing being set up).
pub fn totp_confirm(
    db: &dyn Db,
    keys: &FactorKeys,
    user: &User,
    code: &str,
    now: i64,
) -> Result<Option<Vec<String>>, DbError> {
    transaction(db, || {
        let Some(secret) = pending_totp(db, keys, user, now)? else {
            return Ok(None);
        };
        let Some(step) = totp::verify(&secret, code, now, None) else {
            return Ok(None);
        };
        let key = keys
            .totp
            .first()
            .ok_or_else(|| DbError::Other("no encryption key".into()))?;
        store::enable_totp(
            db,
            &user.id,
            &totp::seal_secret(key, user.id.as_str(), &secret),
            step,
            now,
        )?;
        let changed = User {
            totp_enabled_at: Some(now),
            ..user.clone()
        };
        crate::service::webhooks::user_updated(db, &changed, now)?;
        Ok(Some(replace_backup_codes(db, keys, user)?))
    })
}

/// A new set of backup codes for `user` (the old ones stop working), to show once.
pub fn regenerate_backup_codes(db: &dyn Db, keys: &FactorKeys, user: &User) -> Result<Vec<String>, DbError> {
    transaction(db, || replace_backup_codes(db, keys, user))
}

fn replace_backup_codes(db: &dyn Db, keys: &FactorKeys, user: &User) -> Result<Vec<String>, DbError> {
    let codes = backup_codes::generate();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|code| backup_codes::normalize(code))
        .map(|code| backup_codes::code_hash(&keys.mac, user.id.as_str(), &code))
        .collect();
    store::replace_backup_codes(db, &user.id, &hashes)?;
    Ok(codes)
}

/// How many unused backup codes `user` has.
pub fn backup_codes_left(db: &dyn Db, user: &User) -> Result<usize, DbError> {
    Ok(store::unused_backup_codes(db, &user.id)?.len())
}

/// Turns two-step verification off: the app and every backup code are removed.
pub fn disable(db: &dyn Db, user: &User, now: i64) -> Result<(), DbError> {
    transaction(db, || {
        store::delete_second_factors(db, &user.id)?;
        let changed = User {
            totp_enabled_at: None,
            ..user.clone()
        };
        crate::service::webhooks::user_updated(db, &changed, now)
    })
}
