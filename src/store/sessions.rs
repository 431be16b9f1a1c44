//! The `portal_sessions` table. Only the SHA-256 of a session token is stored, so a database
//! leak does not hand out live sessions. This module is the one owner of the session's
//! `active_org_id` column; the rules about it live in `service::sessions`.

use super::organizations::{self, Membership};
use super::users::{self, User};
use super::{Db, DbError, Row, query_row};
use crate::domain::{OrgId, SessionId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: i64,
    pub last_active_at: i64,
    pub expires_at: i64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    /// How the session was signed in (RFC 8176 `amr` values, comma separated).
    pub amr: Option<String>,
    /// When its first factor, and its second factor if any, were last verified (sign-in or a
    /// later step-up): the token's `fva` and the window of sensitive changes.
    pub first_factor_at: Option<i64>,
    pub second_factor_at: Option<i64>,
}

/// Where a session was created from, and how it was signed in.
pub struct SessionOrigin<'a> {
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub amr: &'a str,
    pub first_factor_at: i64,
    pub second_factor_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, created_at, last_active_at, expires_at, client_addr, user_agent, amr, first_factor_at, second_factor_at";
/// Columns of [`COLUMNS`].
const COLUMN_COUNT: usize = 10;

/// How stale `last_active_at` may get before a request refreshes it (saves a write per request).
const ACTIVITY_GRANULARITY: i64 = 60;

fn from_row(row: &Row) -> Result<PortalSession, DbError> {
    Ok(PortalSession {
        id: SessionId::from_stored(row.text(0)?),
        user_id: UserId::from_stored(row.text(1)?),
        created_at: row.integer(2)?,
        last_active_at: row.integer(3)?,
        expires_at: row.integer(4)?,
        client_addr: row.optional_text(5)?,
        user_agent: row.optional_text(6)?,
        amr: row.optional_text(7)?,
        first_factor_at: row.optional_integer(8)?,
        second_factor_at: row.optional_integer(9)?,
    })
}

/// Inserts a session for `user_id`, unless the account is suspended (banned) or gone: `None`
/// then. The check is in the insert itself, so a ban that commits first leaves no session behind.
pub fn create_session(
    db: &dyn Db,
    id: &SessionId,
    token_hash: &[u8],
    user_id: &UserId,
    origin: &SessionOrigin<'_>,
    now: i64,
    lifetime: i64,
) -> Result<Option<PortalSession>, DbError> {
    let inserted = db.execute(
        "INSERT INTO portal_sessions (id, token_hash, user_id, created_at, last_active_at, expires_at, client_addr, user_agent,
            amr, first_factor_at, second_factor_at)
         SELECT ?, ?, id, ?, ?, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND banned_at IS NULL
         RETURNING id",
        &[
            id.into(),
            token_hash.into(),
            now.into(),
            now.into(),
            (now + lifetime).into(),
            origin.client_addr.into(),
            origin.user_agent.into(),
            origin.amr.into(),
            origin.first_factor_at.into(),
            origin.second_factor_at.into(),
            user_id.into(),
        ],
    )?;
    if inserted.is_empty() {
        return Ok(None);
    }
    Ok(Some(PortalSession {
        id: id.clone(),
        user_id: user_id.clone(),
        created_at: now,
        last_active_at: now,
        expires_at: now + lifetime,
        client_addr: origin.client_addr.map(str::to_owned),
        user_agent: origin.user_agent.map(str::to_owned),
        amr: Some(origin.amr.to_owned()),
        first_factor_at: Some(origin.first_factor_at),
        second_factor_at: origin.second_factor_at,
    }))
}

/// Records that the session's user proved a factor again just now (a step-up before a
/// sensitive change): the first factor's time, or the second's when `second` is set.
pub fn record_verification(db: &dyn Db, id: &SessionId, second: bool, now: i64) -> Result<(), DbError> {
    let statement = if second {
        "UPDATE portal_sessions SET second_factor_at = ? WHERE id = ?"
    } else {
        "UPDATE portal_sessions SET first_factor_at = ? WHERE id = ?"
    };
    db.execute(statement, &[now.into(), id.into()])?;
    Ok(())
}

fn refresh_activity(db: &dyn Db, session: &PortalSession, now: i64) -> Result<(), DbError> {
    if now - session.last_active_at >= ACTIVITY_GRANULARITY {
        db.execute(
            "UPDATE portal_sessions SET last_active_at = ? WHERE id = ?",
            &[now.into(), (&session.id).into()],
        )?;
    }
    Ok(())
}

/// A live session with everything a request needs about its visitor, read in one statement.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: PortalSession,
    pub user: User,
    /// The organization the session names as active, as stored.
    pub active_org_id: Option<OrgId>,
    /// The user's membership there, if they still belong to it.
    pub active_membership: Option<Membership>,
}

/// The columns and tables of [`find_live_session_with_user`]'s statement, after `SELECT`.
const LIVE_SESSION: &str = "s.id, s.user_id, s.created_at, s.last_active_at, s.expires_at, s.client_addr, s.user_agent,
                s.amr, s.first_factor_at, s.second_factor_at,
                u.id, u.email, u.username, u.first_name, u.last_name, u.phone_number, u.password_hash, u.created_at,
                u.email_verified_at, (SELECT t.enabled_at FROM totp_factors t WHERE t.user_id = u.id),
                (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id), u.banned_at, u.public_metadata,
                s.active_org_id, o.id, o.name, o.slug, o.created_at, o.require_two_step, m.role
         FROM portal_sessions s
         JOIN users u ON u.id = s.user_id
         LEFT JOIN memberships m ON m.org_id = s.active_org_id AND m.user_id = s.user_id
         LEFT JOIN organizations o ON o.id = m.org_id
         WHERE s.token_hash = ? AND s.expires_at > ? AND u.banned_at IS NULL";

/// The live session with this token hash, its user and its active organization's membership, in
/// one statement (the signed-in bounce back to an app needs nothing more); refreshes the
/// session's activity time when it is stale.
pub fn find_live_session_with_user(db: &dyn Db, token_hash: &[u8], now: i64) -> Result<Option<LiveSession>, DbError> {
    let statement = format!("SELECT {LIVE_SESSION}");
    let Some(row) = query_row(db, &statement, &[token_hash.into(), now.into()])? else {
        return Ok(None);
    };
    live_session(db, &row, now).map(Some)
}

/// [`find_live_session_with_user`] with the schema's version read in the same statement, for a
/// request that has not checked the schema yet (the hot signed-in pages then run one statement,
/// not two). `None` when that cannot tell: no live session, a schema other than `version`, or a
/// statement an older schema cannot run; the caller then checks the schema the usual way and
/// reads again. Nothing is written unless the schema is `version`.
pub fn find_live_session_if_schema_is(
    db: &dyn Db,
    token_hash: &[u8],
    now: i64,
    version: i64,
) -> Result<Option<LiveSession>, DbError> {
    let statement = format!("SELECT (SELECT MAX(version) FROM schema_migrations), {LIVE_SESSION}");
    let Ok(Some(mut row)) = query_row(db, &statement, &[token_hash.into(), now.into()]) else {
        return Ok(None);
    };
    if row.integer(0).ok() != Some(version) {
        return Ok(None);
    }
    row.0.remove(0);
    live_session(db, &row, now).map(Some)
}

fn live_session(db: &dyn Db, row: &Row, now: i64) -> Result<LiveSession, DbError> {
    let session = from_row(row)?;
    let after_user = COLUMN_COUNT + users::COLUMN_COUNT;
    let active_membership = match row.optional_text(after_user + 1 + organizations::ORG_COLUMN_COUNT)? {
        Some(role) => Some(Membership {
            organization: organizations::organization(row, after_user + 1)?,
            role: organizations::role(&role)?,
        }),
        None => None,
    };
    let live = LiveSession {
        user: users::from_row_at(row, COLUMN_COUNT)?,
        active_org_id: row.optional_text(after_user)?.map(OrgId::from_stored),
        active_membership,
        session,
    };
    refresh_activity(db, &live.session, now)?;
    Ok(live)
}

/// Live sessions of a user, newest first.
pub fn list_user_sessions(db: &dyn Db, user_id: &UserId, now: i64) -> Result<Vec<PortalSession>, DbError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM portal_sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id"
    );
    db.execute(&statement, &[user_id.into(), now.into()])?
        .iter()
        .map(from_row)
        .collect()
}

/// The organization currently active in a session, as stored now.
/// What a fresh token needs that the session row leads to, in one statement: the session's
/// active organization (as stored) and its user's public metadata (`{}` when none).
pub fn find_token_facts(db: &dyn Db, session_id: &SessionId) -> Result<(Option<OrgId>, String), DbError> {
    let row = query_row(
        db,
        "SELECT s.active_org_id, u.public_metadata FROM portal_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?",
        &[session_id.into()],
    )?;
    let Some(row) = row else {
        return Ok((None, "{}".to_owned()));
    };
    Ok((row.optional_text(0)?.map(OrgId::from_stored), row.text(1)?))
}

pub fn set_active_organization(db: &dyn Db, session_id: &SessionId, org_id: Option<&OrgId>) -> Result<(), DbError> {
    db.execute(
        "UPDATE portal_sessions SET active_org_id = ? WHERE id = ?",
        &[org_id.into(), session_id.into()],
    )?;
    Ok(())
}

/// Stops `org_id` being active in the sessions of `user_id` (after they leave it), or in every
/// session (after it is deleted).
pub fn clear_active_organization(db: &dyn Db, org_id: &OrgId, user_id: Option<&UserId>) -> Result<(), DbError> {
    match user_id {
        Some(user_id) => db.execute(
            "UPDATE portal_sessions SET active_org_id = NULL WHERE user_id = ? AND active_org_id = ?",
            &[user_id.into(), org_id.into()],
        )?,
        None => db.execute(
            "UPDATE portal_sessions SET active_org_id = NULL WHERE active_org_id = ?",
            &[org_id.into()],
        )?,
    };
    Ok(())
}

/// Removes a session; answers its user when there was one.
pub fn delete_session(db: &dyn Db, id: &SessionId) -> Result<Option<UserId>, DbError> {
    let rows = db.execute(
        "DELETE FROM portal_sessions WHERE id = ? RETURNING user_id",
        &[id.into()],
    )?;
    rows.first().map(|row| row.text(0).map(UserId::from_stored)).transpose()
}

/// Removes every session that expired before `now` (their tokens no longer open anything; the
/// rows only grew the table). Uses the `portal_sessions_expiry` index.
pub fn delete_expired(db: &dyn Db, now: i64) -> Result<(), DbError> {
    db.execute("DELETE FROM portal_sessions WHERE expires_at < ?", &[now.into()])?;
    Ok(())
}

/// Every session of a user; answers the ids removed.
pub fn delete_user_sessions(db: &dyn Db, user_id: &UserId) -> Result<Vec<String>, DbError> {
    db.execute(
        "DELETE FROM portal_sessions WHERE user_id = ? RETURNING id",
        &[user_id.into()],
    )?
    .iter()
    .map(|row| row.text(0))
    .collect()
}

/// Revokes one session of `user_id` (never another user's); returns whether one was removed.
pub fn delete_user_session(db: &dyn Db, user_id: &UserId, id: &SessionId) -> Result<bool, DbError> {
    let rows = db.execute(
        "DELETE FROM portal_sessions WHERE id = ? AND user_id = ? RETURNING id",
        &[id.into(), user_id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Revokes every session of a user except `keep`; answers the ids removed.
pub fn delete_other_sessions(db: &dyn Db, user_id: &UserId, keep: &SessionId) -> Result<Vec<String>, DbError> {
    db.execute(
        "DELETE FROM portal_sessions WHERE user_id = ? AND id <> ? RETURNING id",
        &[user_id.into(), keep.into()],
    )?
    .iter()
    .map(|row| row.text(0))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    fn user() -> UserId {
        UserId::from_stored("user_1".into())
    }

    fn sess(text: &str) -> SessionId {
        SessionId::from_stored(text.into())
    }

    fn setup() -> MemoryDb {
        let db = MemoryDb::new();
        db.execute(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('user_1', 'a@b.co', 'h', 0, 0)",
            &[],
        )
        .unwrap();
        db
    }

    const ORIGIN: SessionOrigin<'static> = SessionOrigin {
        client_addr: Some("127.0.0.1"),
        user_agent: Some("test"),
        amr: "pwd",
        first_factor_at: 100,
        second_factor_at: None,
    };

    #[test]
    fn finds_live_sessions_by_token_hash_only() {
        let db = setup();
        create_session(&db, &sess("sess_1"), &[1; 32], &user(), &ORIGIN, 100, 50).unwrap();
        assert_eq!(
            find_live_session_with_user(&db, &[1; 32], 120)
                .unwrap()
                .unwrap()
                .session
                .id,
            sess("sess_1")
        );
        assert!(find_live_session_with_user(&db, &[2; 32], 120).unwrap().is_none());
        assert!(
            find_live_session_with_user(&db, &[1; 32], 150).unwrap().is_none(),
            "expired"
        );
    }

    #[test]
    fn the_schema_check_rides_in_the_session_read_and_tells_only_when_sure() {
        let db = setup();
        create_session(&db, &sess("sess_1"), &[1; 32], &user(), &ORIGIN, 100, 1000).unwrap();
        let current = crate::store::SCHEMA_VERSION;
        let found = find_live_session_if_schema_is(&db, &[1; 32], 170, current).unwrap();
        assert_eq!(found.unwrap().session.id, sess("sess_1"));
        assert_eq!(list_user_sessions(&db, &user(), 170).unwrap()[0].last_active_at, 170);
        // Another schema: nothing read, nothing written; the caller migrates and reads again.
        assert!(
            find_live_session_if_schema_is(&db, &[1; 32], 300, current + 1)
                .unwrap()
                .is_none()
        );
        assert_eq!(list_user_sessions(&db, &user(), 300).unwrap()[0].last_active_at, 170);
        // No live session: cannot tell either.
        assert!(
            find_live_session_if_schema_is(&db, &[2; 32], 300, current)
                .unwrap()
                .is_none()
        );
        // A database without the tables: the statement fails, which is no error here.
        let empty = crate::testing::MemoryDb::unmigrated();
        assert!(
            find_live_session_if_schema_is(&empty, &[1; 32], 300, current)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn activity_is_refreshed_at_most_once_a_minute() {
        let db = setup();
        create_session(&db, &sess("sess_1"), &[1; 32], &user(), &ORIGIN, 100, 1000).unwrap();
        find_live_session_with_user(&db, &[1; 32], 130).unwrap();
        assert_eq!(list_user_sessions(&db, &user(), 130).unwrap()[0].last_active_at, 100);
        find_live_session_with_user(&db, &[1; 32], 170).unwrap();
        assert_eq!(list_user_sessions(&db, &user(), 170).unwrap()[0].last_active_at, 170);
    }

    #[test]
    fn revocation_is_scoped_to_the_user() {
        let db = setup();
        create_session(&db, &sess("sess_1"), &[1; 32], &user(), &ORIGIN, 100, 1000).unwrap();
        create_session(&db, &sess("sess_2"), &[2; 32], &user(), &ORIGIN, 101, 1000).unwrap();
        create_session(&db, &sess("sess_3"), &[3; 32], &user(), &ORIGIN, 102, 1000).unwrap();
        let stranger = UserId::from_stored("user_2".into());
        assert!(!delete_user_session(&db, &stranger, &sess("sess_1")).unwrap());
        assert!(delete_user_session(&db, &user(), &sess("sess_1")).unwrap());
        delete_other_sessions(&db, &user(), &sess("sess_3")).unwrap();
        let left: Vec<String> = list_user_sessions(&db, &user(), 110)
            .unwrap()
            .into_iter()
            .map(|s| s.id.to_string())
            .collect();
        assert_eq!(left, ["sess_3"]);
    }
}
