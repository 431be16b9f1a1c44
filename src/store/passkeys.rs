//! The `passkeys` table: one row per WebAuthn credential, under its credential id (base64url).
//! The public key is stored as the authenticator sent it (COSE); what it means is
//! `security::webauthn`.

use super::{Db, DbError, Row, query_row};
use crate::domain::UserId;

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The credential id, base64url.
    pub id: String,
    pub user_id: UserId,
    pub public_key: Vec<u8>,
    pub algorithm: i64,
    pub sign_count: i64,
    /// Whether the authenticator verified the person at registration.
    pub user_verified: bool,
    /// Synced (multi-device) when eligible for backup; device-bound otherwise.
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The authenticator model (hex), all zeros when it did not say.
    pub aaguid: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str =
    "id, user_id, public_key, algorithm, sign_count, user_verified, backup_eligible, backed_up, aaguid,
     name, created_at, last_used_at";

fn from_row(row: &Row) -> Result<Passkey, DbError> {
    Ok(Passkey {
        id: row.text(0)?,
        user_id: UserId::from_stored(row.text(1)?),
        public_key: row.blob(2)?,
        algorithm: row.integer(3)?,
        sign_count: row.integer(4)?,
        user_verified: row.integer(5)? != 0,
        backup_eligible: row.integer(6)? != 0,
        backed_up: row.integer(7)? != 0,
        aaguid: row.text(8)?,
        name: row.text(9)?,
        created_at: row.integer(10)?,
        last_used_at: row.optional_integer(11)?,
    })
}

/// Stores a new passkey. `Unique` when the credential id is already registered (to anyone).
pub fn insert(db: &dyn Db, passkey: &Passkey) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO passkeys (id, user_id, public_key, algorithm, sign_count, user_verified, backup_eligible, backed_up,
            aaguid, name, created_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        &[
            passkey.id.as_str().into(),
            (&passkey.user_id).into(),
            passkey.public_key.as_slice().into(),
            passkey.algorithm.into(),
            passkey.sign_count.into(),
            i64::from(passkey.user_verified).into(),
            i64::from(passkey.backup_eligible).into(),
            i64::from(passkey.backed_up).into(),
            passkey.aaguid.as_str().into(),
            passkey.name.as_str().into(),
            passkey.created_at.into(),
        ],
    )?;
    Ok(())
}

/// The passkey with credential id `id`, whoever it belongs to.
pub fn find(db: &dyn Db, id: &str) -> Result<Option<Passkey>, DbError> {
    let statement = format!("SELECT {COLUMNS} FROM passkeys WHERE id = ?");
    query_row(db, &statement, &[id.into()])?
        .map(|row| from_row(&row))
        .transpose()
}

/// A user's passkeys, oldest first.
pub fn list(db: &dyn Db, user_id: &UserId) -> Result<Vec<Passkey>, DbError> {
    let statement = format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = ? ORDER BY created_at, id");
    db.execute(&statement, &[user_id.into()])?
        .iter()
        .map(from_row)
        .collect()
}

/// Records a sign-in with the passkey: its new counter, whether it is backed up now, when. Only
/// if the counter still is what the check saw (`seen_count`): of two sign-ins racing with one
/// response, one wins. `false` when the other did.
pub fn record_use(
    db: &dyn Db,
    id: &str,
    seen_count: i64,
    new_count: i64,
    backed_up: bool,
    now: i64,
) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE passkeys SET sign_count = ?, backed_up = ?, last_used_at = ? WHERE id = ? AND sign_count = ? RETURNING id",
        &[
            new_count.into(),
            i64::from(backed_up).into(),
            now.into(),
            id.into(),
            seen_count.into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// Renames one of the user's passkeys; `false` when it is not theirs.
pub fn rename(db: &dyn Db, user_id: &UserId, id: &str, name: &str) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ? RETURNING id",
        &[name.into(), id.into(), user_id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Removes one of the user's passkeys; `false` when it is not theirs.
pub fn delete(db: &dyn Db, user_id: &UserId, id: &str) -> Result<bool, DbError> {
    let rows = db.execute(
        "DELETE FROM passkeys WHERE id = ? AND user_id = ? RETURNING id",
        &[id.into(), user_id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Removes every passkey of a user (the account is being deleted).
pub fn delete_all(db: &dyn Db, user_id: &UserId) -> Result<(), DbError> {
    db.execute("DELETE FROM passkeys WHERE user_id = ?", &[user_id.into()])?;
    Ok(())
}
