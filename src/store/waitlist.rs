//! The `waitlist` table: addresses waiting to be invited, one row each.

use super::{Db, DbError, Row, query_row};
use crate::domain::EmailAddress;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitlistEntry {
    pub id: String,
    pub email: EmailAddress,
    pub created_at: i64,
    /// When the operator approved it (an invitation was emailed).
    pub invited_at: Option<i64>,
}

fn from_row(row: &Row) -> Result<WaitlistEntry, DbError> {
    Ok(WaitlistEntry {
        id: row.text(0)?,
        email: EmailAddress::from_stored(row.text(1)?),
        created_at: row.integer(2)?,
        invited_at: row.optional_integer(3)?,
    })
}

/// Adds the address unless it is there already (then nothing changes).
pub fn join(db: &dyn Db, id: &str, email: &EmailAddress, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO waitlist (id, email, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        &[id.into(), email.into(), now.into()],
    )?;
    Ok(())
}

/// Entries not invited yet, oldest first (first come, first served).
pub fn waiting(db: &dyn Db, limit: i64) -> Result<Vec<WaitlistEntry>, DbError> {
    db.execute(
        "SELECT id, email, created_at, invited_at FROM waitlist WHERE invited_at IS NULL ORDER BY created_at, id LIMIT ?",
        &[limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn find(db: &dyn Db, id: &str) -> Result<Option<WaitlistEntry>, DbError> {
    query_row(
        db,
        "SELECT id, email, created_at, invited_at FROM waitlist WHERE id = ?",
        &[id.into()],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

/// Marks an entry invited; `false` when it was not waiting.
pub fn mark_invited(db: &dyn Db, id: &str, now: i64) -> Result<bool, DbError> {
    Ok(!db
        .execute(
            "UPDATE waitlist SET invited_at = ? WHERE id = ? AND invited_at IS NULL RETURNING id",
            &[now.into(), id.into()],
        )?
        .is_empty())
}

pub fn remove(db: &dyn Db, id: &str) -> Result<bool, DbError> {
    Ok(!db
        .execute("DELETE FROM waitlist WHERE id = ? RETURNING id", &[id.into()])?
        .is_empty())
}
