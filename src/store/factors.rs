//! Second factors: `totp_factors` (an authenticator app's secret, only encrypted; the one being
//! set up until its first code; the last step accepted) and `backup_codes` (keyed hashes, each
//! used once). What the values mean is `security::totp` and `security::backup_codes`.

use super::{Db, DbError, query_row};
use crate::domain::UserId;

/// A user's authenticator app, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRow {
    /// The sealed secret of the app that is on, if one is.
    pub secret: Option<Vec<u8>>,
    /// The last 30-second step accepted (single use of codes).
    pub last_step: Option<i64>,
    pub enabled_at: Option<i64>,
    /// The sealed secret being set up, until its first code is confirmed.
    pub pending_secret: Option<Vec<u8>>,
    pub pending_at: Option<i64>,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("enabled_at", &self.enabled_at)
            .field("pending_at", &self.pending_at)
            .finish_non_exhaustive()
    }
}

fn optional_blob(row: &super::Row, i: usize) -> Result<Option<Vec<u8>>, DbError> {
    match row.0.get(i) {
        Some(super::Value::Null) | None => Ok(None),
        _ => row.blob(i).map(Some),
    }
}

pub fn find_totp(db: &dyn Db, user_id: &UserId) -> Result<Option<TotpRow>, DbError> {
    let Some(row) = query_row(
        db,
        "SELECT secret, last_step, enabled_at, pending_secret, pending_at FROM totp_factors WHERE user_id = ?",
        &[user_id.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(TotpRow {
        secret: optional_blob(&row, 0)?,
        last_step: row.optional_integer(1)?,
        enabled_at: row.optional_integer(2)?,
        pending_secret: optional_blob(&row, 3)?,
        pending_at: row.optional_integer(4)?,
    }))
}

/// Stores a secret being set up (replacing one set up before and never confirmed).
pub fn set_pending_totp(db: &dyn Db, user_id: &UserId, sealed: &[u8], now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO totp_factors (user_id, pending_secret, pending_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET pending_secret = excluded.pending_secret, pending_at = excluded.pending_at",
        &[user_id.into(), sealed.into(), now.into()],
    )?;
    Ok(())
}

/// Turns the app on with `sealed` (the confirmed pending secret), its first code's step used.
pub fn enable_totp(db: &dyn Db, user_id: &UserId, sealed: &[u8], step: i64, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE totp_factors SET secret = ?, last_step = ?, enabled_at = ?, pending_secret = NULL, pending_at = NULL
         WHERE user_id = ?",
        &[sealed.into(), step.into(), now.into(), user_id.into()],
    )?;
    Ok(())
}

/// Records `step` as used, only if it is later than the last one: `false` when another request
/// used this step (or a later one) first.
pub fn use_totp_step(db: &dyn Db, user_id: &UserId, step: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE totp_factors SET last_step = ? WHERE user_id = ? AND secret IS NOT NULL
           AND (last_step IS NULL OR last_step < ?) RETURNING user_id",
        &[step.into(), user_id.into(), step.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Removes the app and every backup code.
pub fn delete_second_factors(db: &dyn Db, user_id: &UserId) -> Result<(), DbError> {
    db.execute("DELETE FROM totp_factors WHERE user_id = ?", &[user_id.into()])?;
    db.execute("DELETE FROM backup_codes WHERE user_id = ?", &[user_id.into()])?;
    Ok(())
}

/// Replaces the user's backup codes with `hashes` (the old set is void).
pub fn replace_backup_codes(db: &dyn Db, user_id: &UserId, hashes: &[String]) -> Result<(), DbError> {
    db.execute("DELETE FROM backup_codes WHERE user_id = ?", &[user_id.into()])?;
    for hash in hashes {
        db.execute(
            "INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)",
            &[user_id.into(), hash.as_str().into()],
        )?;
    }
    Ok(())
}

/// The hashes of the user's unused backup codes.
pub fn unused_backup_codes(db: &dyn Db, user_id: &UserId) -> Result<Vec<String>, DbError> {
    db.execute(
        "SELECT code_hash FROM backup_codes WHERE user_id = ? AND used_at IS NULL ORDER BY code_hash",
        &[user_id.into()],
    )?
    .iter()
    .map(|row| row.text(0))
    .collect()
}

/// Uses one backup code, only if it is still unused: `false` when it was used already.
pub fn use_backup_code(db: &dyn Db, user_id: &UserId, hash: &str, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL RETURNING user_id",
        &[now.into(), user_id.into(), hash.into()],
    )?;
    Ok(!rows.is_empty())
}
