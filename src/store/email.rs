//! Email tables: one-time codes (`auth_flows`, only a keyed hash of each code), the send log
//! behind the flood limits (`email_sends`), the development outbox (`dev_outbox`), the browsers
//! each account has used (`known_devices`) and the "this wasn't me" links (`sign_in_notices`).

use super::{Db, DbError, Row, query_row};
use crate::domain::{SessionId, UserId};

/// One code flow, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFlow {
    pub id: String,
    pub purpose: String,
    /// Where the code went.
    pub email: String,
    pub user_id: Option<UserId>,
    pub code_hash: String,
    /// What completing the flow needs (a pending sign-up, a new address), as JSON.
    pub payload: Option<String>,
    /// The validated redirect target the flow ends at.
    pub target: Option<String>,
    pub failures: i64,
    pub sent_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The browser that started the flow (a hash of its CSRF cookie), for the flows that sign
    /// someone in: a link opened in another browser must not complete them (login CSRF).
    pub browser_hash: Option<Vec<u8>>,
}

const COLUMNS: &str =
    "id, purpose, email, user_id, code_hash, payload, target, failures, sent_at, expires_at, used_at, browser_hash";

fn from_row(row: &Row) -> Result<CodeFlow, DbError> {
    Ok(CodeFlow {
        id: row.text(0)?,
        purpose: row.text(1)?,
        email: row.text(2)?,
        user_id: row.optional_text(3)?.map(UserId::from_stored),
        code_hash: row.text(4)?,
        payload: row.optional_text(5)?,
        target: row.optional_text(6)?,
        failures: row.integer(7)?,
        sent_at: row.integer(8)?,
        expires_at: row.integer(9)?,
        used_at: row.optional_integer(10)?,
        browser_hash: match row.0.get(11) {
            Some(super::Value::Null) | None => None,
            _ => Some(row.blob(11)?),
        },
    })
}

pub fn insert_code_flow(db: &dyn Db, flow: &CodeFlow, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO auth_flows (id, purpose, email, user_id, code_hash, payload, target, failures, created_at, sent_at, expires_at, browser_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
        &[
            flow.id.as_str().into(),
            flow.purpose.as_str().into(),
            flow.email.as_str().into(),
            flow.user_id.as_ref().into(),
            flow.code_hash.as_str().into(),
            flow.payload.clone().into(),
            flow.target.clone().into(),
            now.into(),
            flow.sent_at.into(),
            flow.expires_at.into(),
            flow.browser_hash.as_deref().into(),
        ],
    )?;
    Ok(())
}

pub fn find_code_flow(db: &dyn Db, id: &str) -> Result<Option<CodeFlow>, DbError> {
    let statement = format!("SELECT {COLUMNS} FROM auth_flows WHERE id = ?");
    query_row(db, &statement, &[id.into()])?
        .map(|row| from_row(&row))
        .transpose()
}

/// Counts one wrong code.
pub fn add_code_failure(db: &dyn Db, id: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE auth_flows SET failures = failures + 1 WHERE id = ?",
        &[id.into()],
    )?;
    Ok(())
}

/// Marks a flow used, only if it still was not: `false` when another request used it first.
/// What it carried (a pending sign-up with its password hash) is dropped with it.
pub fn mark_code_used(db: &dyn Db, id: &str, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE auth_flows SET used_at = ?, payload = NULL WHERE id = ? AND used_at IS NULL RETURNING id",
        &[now.into(), id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// A new code for a flow (resend): the old code dies. Its wrong tries and its expiry stay as
/// they were: a resend neither gives more guesses nor a longer life.
pub fn replace_code(db: &dyn Db, id: &str, code_hash: &str, sent_at: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE auth_flows SET code_hash = ?, sent_at = ? WHERE id = ? AND used_at IS NULL",
        &[code_hash.into(), sent_at.into(), id.into()],
    )?;
    Ok(())
}

/// Lets a flow be sent again at once (its last email never left).
pub fn clear_cooldown(db: &dyn Db, id: &str, sent_at: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE auth_flows SET sent_at = ? WHERE id = ?",
        &[sent_at.into(), id.into()],
    )?;
    Ok(())
}

/// Forgets a flow whose email could not be sent.
pub fn delete_code_flow(db: &dyn Db, id: &str) -> Result<(), DbError> {
    db.execute("DELETE FROM auth_flows WHERE id = ?", &[id.into()])?;
    Ok(())
}

/// Ends every open flow of a user, and every flow addressed to `email` (the address the user
/// had): after an address or password change, whoever holds an old mailbox or an old code can
/// no longer sign in, reset or verify with it.
pub fn end_user_flows(db: &dyn Db, user_id: &UserId, email: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE auth_flows SET used_at = ?, payload = NULL WHERE used_at IS NULL AND (user_id = ? OR email = ?)",
        &[now.into(), user_id.into(), email.into()],
    )?;
    Ok(())
}

/// Removes flows and send records no rule looks at any more.
/// Removes the flows of `purpose` that expired before `now` (used or not).
pub fn delete_expired(db: &dyn Db, purpose: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM auth_flows WHERE purpose = ? AND expires_at < ?",
        &[purpose.into(), now.into()],
    )?;
    Ok(())
}

pub fn prune(db: &dyn Db, code_horizon: i64, send_horizon: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM auth_flows WHERE expires_at < ?", &[code_horizon.into()])?;
    db.execute("DELETE FROM email_sends WHERE sent_at < ?", &[send_horizon.into()])?;
    db.execute(
        "DELETE FROM sign_in_notices WHERE expires_at < ?",
        &[code_horizon.into()],
    )?;
    Ok(())
}

/// Times of a scope's sends after `since`.
pub fn send_times(db: &dyn Db, scope: &str, since: i64) -> Result<Vec<i64>, DbError> {
    db.execute(
        "SELECT sent_at FROM email_sends WHERE scope = ? AND sent_at > ? ORDER BY sent_at",
        &[scope.into(), since.into()],
    )?
    .iter()
    .map(|row| row.integer(0))
    .collect()
}

pub fn record_send(db: &dyn Db, scope: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO email_sends (scope, sent_at) VALUES (?, ?)",
        &[scope.into(), now.into()],
    )?;
    Ok(())
}

/// One email kept by the development outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEmail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_at: i64,
}

pub fn insert_outbox(
    db: &dyn Db,
    recipient: &str,
    subject: &str,
    text: &str,
    html: &str,
    now: i64,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO dev_outbox (recipient, subject, text_body, html_body, created_at) VALUES (?, ?, ?, ?, ?)",
        &[recipient.into(), subject.into(), text.into(), html.into(), now.into()],
    )?;
    Ok(())
}

/// The newest emails first.
pub fn list_outbox(db: &dyn Db, limit: i64) -> Result<Vec<OutboxEmail>, DbError> {
    db.execute(
        "SELECT id, recipient, subject, text_body, html_body, created_at FROM dev_outbox ORDER BY id DESC LIMIT ?",
        &[limit.into()],
    )?
    .iter()
    .map(|row| {
        Ok(OutboxEmail {
            id: row.integer(0)?,
            recipient: row.text(1)?,
            subject: row.text(2)?,
            text: row.text(3)?,
            html: row.text(4)?,
            created_at: row.integer(5)?,
        })
    })
    .collect()
}

/// Records a browser for a user; `true` when it was new to the account.
pub fn remember_device(db: &dyn Db, user_id: &UserId, device_hash: &[u8], now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "INSERT INTO known_devices (user_id, device_hash, first_seen_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id, device_hash) DO NOTHING RETURNING user_id",
        &[user_id.into(), device_hash.into(), now.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Forgets a user's browsers first seen before `before`: their device cookie has expired since
/// (it is set once, for a fixed lifetime), so they can never be recognised again.
pub fn forget_devices_seen_before(db: &dyn Db, user_id: &UserId, before: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM known_devices WHERE user_id = ? AND first_seen_at < ?",
        &[user_id.into(), before.into()],
    )?;
    Ok(())
}

pub fn count_devices(db: &dyn Db, user_id: &UserId) -> Result<i64, DbError> {
    query_row(
        db,
        "SELECT COUNT(*) FROM known_devices WHERE user_id = ?",
        &[user_id.into()],
    )?
    .map_or(Ok(0), |row| row.integer(0))
}

pub fn insert_sign_in_notice(
    db: &dyn Db,
    token_hash: &[u8],
    session_id: &SessionId,
    user_id: &UserId,
    expires_at: i64,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO sign_in_notices (token_hash, session_id, user_id, expires_at) VALUES (?, ?, ?, ?)",
        &[token_hash.into(), session_id.into(), user_id.into(), expires_at.into()],
    )?;
    Ok(())
}

/// Takes a live notice (single use): its session and user.
pub fn take_sign_in_notice(db: &dyn Db, token_hash: &[u8], now: i64) -> Result<Option<(SessionId, UserId)>, DbError> {
    let row = query_row(
        db,
        "DELETE FROM sign_in_notices WHERE token_hash = ? AND expires_at > ? RETURNING session_id, user_id",
        &[token_hash.into(), now.into()],
    )?;
    row.map(|row| Ok((SessionId::from_stored(row.text(0)?), UserId::from_stored(row.text(1)?))))
        .transpose()
}
