//! The `instance_invitations` table: invitations to make an account on the instance. Tokens
//! are stored only as their SHA-256; a pending invitation is one that was neither used nor
//! revoked and has not expired.

use super::{Db, DbError, Row, query_row};
use crate::domain::EmailAddress;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInvitation {
    pub id: String,
    pub email: EmailAddress,
    /// `pending`, `accepted` or `revoked`.
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, email, status, created_at, expires_at";

fn from_row(row: &Row) -> Result<InstanceInvitation, DbError> {
    Ok(InstanceInvitation {
        id: row.text(0)?,
        email: EmailAddress::from_stored(row.text(1)?),
        status: row.text(2)?,
        created_at: row.integer(3)?,
        expires_at: row.integer(4)?,
    })
}

/// Creates a pending invitation, revoking an earlier pending one for the same address. Runs
/// inside the caller's transaction.
pub fn create(
    db: &dyn Db,
    id: &str,
    email: &EmailAddress,
    token_hash: &[u8],
    now: i64,
    expires_at: i64,
) -> Result<InstanceInvitation, DbError> {
    db.execute(
        "UPDATE instance_invitations SET status = 'revoked', responded_at = ? WHERE email = ? AND status = 'pending'",
        &[now.into(), email.into()],
    )?;
    db.execute(
        "INSERT INTO instance_invitations (id, email, token_hash, status, created_at, expires_at)
         VALUES (?, ?, ?, 'pending', ?, ?)",
        &[
            id.into(),
            email.into(),
            token_hash.into(),
            now.into(),
            expires_at.into(),
        ],
    )?;
    Ok(InstanceInvitation {
        id: id.to_owned(),
        email: email.clone(),
        status: "pending".into(),
        created_at: now,
        expires_at,
    })
}

/// The pending, unexpired invitation with this token hash.
pub fn find_live(db: &dyn Db, token_hash: &[u8], now: i64) -> Result<Option<InstanceInvitation>, DbError> {
    query_row(
        db,
        &format!(
            "SELECT {COLUMNS} FROM instance_invitations WHERE token_hash = ? AND status = 'pending' AND expires_at > ?"
        ),
        &[token_hash.into(), now.into()],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

/// Pending invitations, newest first (expired ones included, for the operator to see).
pub fn list_pending(db: &dyn Db) -> Result<Vec<InstanceInvitation>, DbError> {
    db.execute(
        &format!("SELECT {COLUMNS} FROM instance_invitations WHERE status = 'pending' ORDER BY created_at DESC, id"),
        &[],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Closes a pending invitation (`accepted` or `revoked`); `false` when it was not pending
/// (so two uses racing cannot both succeed).
pub fn close(db: &dyn Db, id: &str, status: &str, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE instance_invitations SET status = ?, responded_at = ? WHERE id = ? AND status = 'pending' RETURNING id",
        &[status.into(), now.into(), id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Whether a pending, unexpired invitation with this id is made out to `email`.
pub fn is_live_for(db: &dyn Db, id: &str, email: &EmailAddress, now: i64) -> Result<bool, DbError> {
    Ok(query_row(
        db,
        "SELECT id FROM instance_invitations WHERE id = ? AND email = ? AND status = 'pending' AND expires_at > ?",
        &[id.into(), email.into(), now.into()],
    )?
    .is_some())
}
