//! Pending sign-ins waiting for their second factor: rows of `auth_flows` of kind
//! [`KIND`], under a random id, bound to the browser that proved the first factor, dying after
//! [`LIFETIME`] or [`MAX_WRONG`] wrong codes, and used once. The first factor and where the
//! sign-in goes travel in the row, never in the browser.

use super::Verified;
use crate::domain::UserId;
use crate::security::{codes, random_id};
use crate::store::email::{self as store, CodeFlow};
use crate::store::users::User;
use crate::store::{Db, DbError};

/// The kind of these flows in `auth_flows`.
pub const KIND: &str = "factor_two";
/// Seconds a pending sign-in waits for its second factor.
pub const LIFETIME: i64 = 600;
/// Wrong codes a pending sign-in takes before it dies.
pub const MAX_WRONG: i64 = 5;

/// A live pending sign-in.
#[derive(Debug, Clone)]
pub struct Pending {
    pub flow: CodeFlow,
    pub user_id: UserId,
    pub first: Verified,
    /// Where the sign-in goes once it is done (a location this portal validated).
    pub location: String,
}

/// Stores a pending sign-in for `user` after `first`; returns its id.
pub fn start(
    db: &dyn Db,
    user: &User,
    first: Verified,
    location: &str,
    browser_hash: Vec<u8>,
    now: i64,
) -> Result<String, DbError> {
    let id = random_id("signin");
    let payload = first.to_json();
    store::insert_code_flow(
        db,
        &CodeFlow {
            id: id.clone(),
            purpose: KIND.to_owned(),
            email: user.email.as_str().to_owned(),
            user_id: Some(user.id.clone()),
            // No code is emailed: the second factor is checked against the user's own factors.
            code_hash: codes::unmatchable_hash(),
            payload: Some(payload),
            target: Some(location.to_owned()),
            failures: 0,
            sent_at: now,
            expires_at: now + LIFETIME,
            used_at: None,
            browser_hash: Some(browser_hash),
        },
        now,
    )?;
    Ok(id)
}

/// The live pending sign-in `id` (unused, unexpired, tries left), if it is one.
pub fn find_live(db: &dyn Db, id: &str, now: i64) -> Result<Option<Pending>, DbError> {
    let Some(flow) = store::find_code_flow(db, id)? else {
        return Ok(None);
    };
    let live = flow.purpose == KIND && flow.used_at.is_none() && flow.expires_at > now && flow.failures < MAX_WRONG;
    let (Some(user_id), Some(payload), Some(location)) = (flow.user_id.clone(), &flow.payload, flow.target.clone())
    else {
        return Ok(None);
    };
    let Some(first) = Verified::from_json(payload) else {
        return Ok(None);
    };
    Ok(live.then_some(Pending {
        flow,
        user_id,
        first,
        location,
    }))
}

/// Counts a wrong code; answers the tries left (0: the pending sign-in is dead).
pub fn add_failure(db: &dyn Db, pending: &Pending) -> Result<i64, DbError> {
    store::add_code_failure(db, &pending.flow.id)?;
    Ok((MAX_WRONG - pending.flow.failures - 1).max(0))
}

/// Uses the pending sign-in up: `false` when another request finished it first.
pub fn finish(db: &dyn Db, id: &str, now: i64) -> Result<bool, DbError> {
    store::mark_code_used(db, id, now)
}
