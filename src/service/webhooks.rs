//! Webhooks: what the portal tells the operator's app about changes, signed by the Standard
//! Webhooks specification (`security::webhook_signature`).
//!
//! - Recording: a change calls [`record`] inside its own transaction; when webhooks are
//!   configured that is one statement (every event of the change in one insert), otherwise
//!   nothing. A request that changes nothing records nothing.
//! - Delivery: after the response of a request that recorded an event, and whenever the
//!   scheduler calls `POST /api/v1/webhooks/deliver`, [`deliver`] sends what is due, oldest
//!   first. A failure is retried with backoff (5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h);
//!   while the receiver is down (no answer, a timeout, 408, 429, 5xx) the round stops and the
//!   events behind it wait with it, so they arrive in order once it is back. An event not
//!   delivered three days after it was made is given up (kept, with its last error, for the
//!   operator to see and retry). At least once: a receiver dedupes by `webhook-id`.
//!
//! Event bodies are `{"type": …, "timestamp": RFC 3339, "data": {…}}`; `data` is what the
//! change had at hand (a user without metadata: an app reads those with the Backend API).

use serde_json::{Value, json};

use crate::config::WebhookSettings;
use crate::outbound::{Http, HttpError, Timeout};
use crate::security::random_id;
use crate::store::events::{self, NewEvent};
use crate::store::organizations::Organization;
use crate::store::sessions::PortalSession;
use crate::store::users::User;
use crate::store::{Db, DbError};

/// How long an event is retried before it is given up.
pub const GIVE_UP_AFTER: i64 = 3 * 24 * 3600;
/// Seconds before each retry; the last repeats.
const BACKOFF: [i64; 6] = [5, 300, 1_800, 7_200, 18_000, 36_000];
/// How long one delivery may wait for the receiver's answer.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Most events one round sends (a scheduler's call, or the end of a request).
const ROUND_LIMIT: i64 = 50;
/// How long delivered events are kept for the operator to see.
const KEEP_DELIVERED: i64 = 7 * 24 * 3600;

/// Writes the events of one change (inside its transaction), when webhooks are configured.
pub fn record(db: &dyn Db, changes: &[(&'static str, Value)], now: i64) -> Result<(), DbError> {
    if changes.is_empty() || !db.records_events() {
        return Ok(());
    }
    let timestamp = rfc3339(now);
    let events: Vec<NewEvent> = changes
        .iter()
        .map(|(event_type, data)| NewEvent {
            id: random_id("msg"),
            event_type,
            body: json!({"type": event_type, "timestamp": timestamp, "data": data}).to_string(),
        })
        .collect();
    events::insert(db, &events, now)?;
    db.event_recorded();
    Ok(())
}

fn rfc3339(seconds: i64) -> String {
    let t = crate::views::civil_time(seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        seconds.rem_euclid(60)
    )
}

/// A user as events carry it (the Backend API's user without metadata).
pub fn user_data(user: &User) -> Value {
    crate::service::users::user_json(user)
}

/// A deleted object: its kind and id.
pub fn deleted_data(object: &str, id: &str) -> Value {
    json!({"object": object, "id": id, "deleted": true})
}

/// A session as events carry it.
pub fn session_data(session: &PortalSession) -> Value {
    json!({
        "object": "session",
        "id": session.id.as_str(),
        "user_id": session.user_id.as_str(),
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "amr": session.amr.as_deref().map(|amr| amr.split(',').collect::<Vec<_>>()).unwrap_or_default(),
    })
}

/// An ended session: its id, its user and why it ended (`sign_out`, `revoked`, `banned`,
/// `password_changed`, `password_reset`, `replaced`, `user_deleted`).
pub fn ended_session_data(session_id: &str, user_id: &str, reason: &str) -> Value {
    json!({"object": "session", "id": session_id, "user_id": user_id, "status": "ended", "reason": reason})
}

/// An organization as events carry it.
pub fn organization_data(organization: &Organization) -> Value {
    json!({
        "object": "organization",
        "id": organization.id.as_str(),
        "name": organization.name,
        "slug": organization.slug,
        "require_two_step": organization.require_two_step,
        "created_at": organization.created_at,
    })
}

/// A membership as events carry it (`role` is `None` once deleted).
pub fn membership_data(org_id: &str, user_id: &str, role: Option<&str>) -> Value {
    json!({
        "object": "organization_membership",
        "organization_id": org_id,
        "user_id": user_id,
        "role": role,
    })
}

/// Runs a one-statement change in a transaction when it will also write events (so the change
/// and its events commit together), else as it is: without webhooks it costs nothing more.
/// Never call it inside another transaction.
pub fn atomically<T, E: From<DbError>>(db: &dyn Db, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    if db.records_events() {
        crate::store::transaction(db, work)
    } else {
        work()
    }
}

/// `user.created`, in the transaction that inserted the user.
pub fn user_created(db: &dyn Db, user: &User, now: i64) -> Result<(), DbError> {
    record(db, &[("user.created", user_data(user))], now)
}

/// `user.updated`, with the user as the change left it.
pub fn user_updated(db: &dyn Db, user: &User, now: i64) -> Result<(), DbError> {
    record(db, &[("user.updated", user_data(user))], now)
}

/// `user.deleted`, and `session.ended` for each session the deletion ended.
pub fn user_deleted(db: &dyn Db, user_id: &str, ended_sessions: &[String], now: i64) -> Result<(), DbError> {
    let mut changes = ended(user_id, ended_sessions, "user_deleted");
    changes.push(("user.deleted", deleted_data("user", user_id)));
    record(db, &changes, now)
}

/// A `session.ended` for each of `sessions` (ids) of `user_id`.
fn ended(user_id: &str, sessions: &[String], reason: &str) -> Vec<(&'static str, Value)> {
    sessions
        .iter()
        .map(|session| ("session.ended", ended_session_data(session, user_id, reason)))
        .collect()
}

/// `session.created`.
pub fn session_created(db: &dyn Db, session: &PortalSession, now: i64) -> Result<(), DbError> {
    record(db, &[("session.created", session_data(session))], now)
}

/// `session.ended` for each of `sessions` (ids) of `user_id`, with the reason.
pub fn sessions_ended(db: &dyn Db, user_id: &str, sessions: &[String], reason: &str, now: i64) -> Result<(), DbError> {
    record(db, &ended(user_id, sessions, reason), now)
}

/// `organization.created`, `.updated` or `.deleted` (`kind`).
pub fn organization_event(db: &dyn Db, kind: OrgEvent, organization: &Organization, now: i64) -> Result<(), DbError> {
    let (event_type, data) = match kind {
        OrgEvent::Created => ("organization.created", organization_data(organization)),
        OrgEvent::Updated => ("organization.updated", organization_data(organization)),
        OrgEvent::Deleted => (
            "organization.deleted",
            deleted_data("organization", organization.id.as_str()),
        ),
    };
    record(db, &[(event_type, data)], now)
}

/// `organization_membership.created`, `.updated` or `.deleted` (`kind`; `role` as it is now).
pub fn membership_event(
    db: &dyn Db,
    kind: OrgEvent,
    org_id: &str,
    user_id: &str,
    role: &str,
    now: i64,
) -> Result<(), DbError> {
    let (event_type, role) = match kind {
        OrgEvent::Created => ("organization_membership.created", Some(role)),
        OrgEvent::Updated => ("organization_membership.updated", Some(role)),
        OrgEvent::Deleted => ("organization_membership.deleted", None),
    };
    record(db, &[(event_type, membership_data(org_id, user_id, role))], now)
}

/// What happened to an organization or a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgEvent {
    Created,
    Updated,
    Deleted,
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub failed: usize,
    pub given_up: usize,
    /// The round stopped because the receiver is down.
    pub receiver_down: bool,
}

/// Sends what is due, oldest first (see the module's notes). Failures are recorded, not
/// returned; only the store's own errors are.
pub fn deliver(db: &dyn Db, http: &dyn Http, settings: &WebhookSettings, now: i64) -> Result<Round, DbError> {
    let mut round = Round::default();
    events::prune_delivered(db, now - KEEP_DELIVERED)?;
    if let Some(until) = events::receiver_down_until(db, now)? {
        // Still down as far as we know: newer events wait behind the older ones.
        events::hold_back(db, until)?;
        round.receiver_down = true;
        return Ok(round);
    }
    for event in events::due(db, now, ROUND_LIMIT)? {
        let outcome = send(http, settings, &event.id, &event.body, now);
        let (status, error) = match outcome {
            Ok(status) if (200..300).contains(&status) => {
                events::mark_delivered(db, event.seq, status, now)?;
                round.delivered += 1;
                continue;
            }
            Ok(status) => (Some(status), format!("the receiver answered {status}")),
            Err(error) => (None, error.to_string()),
        };
        let down = status.is_none_or(|status| status >= 500 || status == 408 || status == 429);
        if now - event.created_at >= GIVE_UP_AFTER {
            eprintln!(
                "webhooks: giving up {} ({}) after {} attempts: {error}",
                event.id,
                event.event_type,
                event.attempts + 1
            );
            events::mark_failed(db, event.seq, status, &error, event.next_attempt_at, Some(now))?;
            round.given_up += 1;
        } else {
            let wait = BACKOFF[usize::try_from(event.attempts)
                .unwrap_or(usize::MAX)
                .min(BACKOFF.len() - 1)];
            events::mark_failed(db, event.seq, status, &error, now + wait, None)?;
            round.failed += 1;
            if down {
                events::hold_back(db, now + wait)?;
            }
        }
        if down {
            round.receiver_down = true;
            break;
        }
    }
    Ok(round)
}

/// One signed delivery attempt: the receiver's status, or why there was none.
fn send(http: &dyn Http, settings: &WebhookSettings, id: &str, body: &str, now: i64) -> Result<u16, HttpError> {
    let mut request = http::Request::builder()
        .method("POST")
        .uri(settings.url.as_str())
        .header("content-type", "application/json")
        .header("user-agent", "account-portal-webhooks")
        .header("webhook-id", id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", settings.secret.sign(id, now, body))
        .body(body.as_bytes().to_vec())
        .map_err(|error| HttpError::Failed(format!("the webhook request could not be built: {error}")))?;
    request.extensions_mut().insert(Timeout(ANSWER_TIMEOUT));
    Ok(http.send(request)?.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn timestamps_are_rfc_3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_614_265_330), "2021-02-25T15:02:10Z");
    }

    #[test]
    fn nothing_is_recorded_without_webhooks() {
        let db = MemoryDb::new();
        crate::store::migrate(&db, 0).unwrap();
        record(&db, &[("user.created", json!({}))], 1).unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM webhook_events"), 0);
        let on = || true;
        let recording = events::Recording::new(&db, &on);
        record(
            &recording,
            &[("user.created", json!({"id": "u"})), ("session.created", json!({}))],
            1,
        )
        .unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM webhook_events"), 2);
        assert!(recording.recorded());
    }
}
