//! Accounts at other identity providers (`oauth_identities`: provider, subject, the user they
//! sign in to) and the providers' documents cached between requests (`oauth_cache`).

use super::{Db, DbError, Row, query_row};
use crate::domain::UserId;

/// A linked account at a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub user_id: UserId,
    /// The provider's address for the account when it was linked (shown on `/user`).
    pub email: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "provider, subject, user_id, email, created_at, last_used_at";

fn from_row(row: &Row) -> Result<Identity, DbError> {
    Ok(Identity {
        provider: row.text(0)?,
        subject: row.text(1)?,
        user_id: UserId::from_stored(row.text(2)?),
        email: row.optional_text(3)?,
        created_at: row.integer(4)?,
        last_used_at: row.optional_integer(5)?,
    })
}

pub fn find(db: &dyn Db, provider: &str, subject: &str) -> Result<Option<Identity>, DbError> {
    let statement = format!("SELECT {COLUMNS} FROM oauth_identities WHERE provider = ? AND subject = ?");
    query_row(db, &statement, &[provider.into(), subject.into()])?
        .map(|row| from_row(&row))
        .transpose()
}

pub fn list(db: &dyn Db, user_id: &UserId) -> Result<Vec<Identity>, DbError> {
    let statement = format!("SELECT {COLUMNS} FROM oauth_identities WHERE user_id = ? ORDER BY created_at, provider");
    db.execute(&statement, &[user_id.into()])?
        .iter()
        .map(from_row)
        .collect()
}

/// Links an identity. `Unique` when it is linked already (to anyone).
pub fn insert(db: &dyn Db, identity: &Identity) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO oauth_identities (provider, subject, user_id, email, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            identity.provider.as_str().into(),
            identity.subject.as_str().into(),
            (&identity.user_id).into(),
            identity.email.as_deref().into(),
            identity.created_at.into(),
            identity.last_used_at.into(),
        ],
    )?;
    Ok(())
}

pub fn record_use(db: &dyn Db, provider: &str, subject: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE oauth_identities SET last_used_at = ? WHERE provider = ? AND subject = ?",
        &[now.into(), provider.into(), subject.into()],
    )?;
    Ok(())
}

/// Unlinks one of the user's identities; `false` when it is not theirs.
pub fn delete(db: &dyn Db, user_id: &UserId, provider: &str, subject: &str) -> Result<bool, DbError> {
    let rows = db.execute(
        "DELETE FROM oauth_identities WHERE user_id = ? AND provider = ? AND subject = ? RETURNING provider",
        &[user_id.into(), provider.into(), subject.into()],
    )?;
    Ok(!rows.is_empty())
}

pub fn delete_all(db: &dyn Db, user_id: &UserId) -> Result<(), DbError> {
    db.execute("DELETE FROM oauth_identities WHERE user_id = ?", &[user_id.into()])?;
    Ok(())
}

/// A cached document and when it was fetched.
pub fn cached(db: &dyn Db, url: &str) -> Result<Option<(String, i64)>, DbError> {
    let Some(row) = query_row(
        db,
        "SELECT body, fetched_at FROM oauth_cache WHERE url = ?",
        &[url.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((row.text(0)?, row.integer(1)?)))
}

pub fn cache(db: &dyn Db, url: &str, body: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO oauth_cache (url, body, fetched_at) VALUES (?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
        &[url.into(), body.into(), now.into()],
    )?;
    Ok(())
}
