//! Invitations to the instance: the operator invites an address (the Backend API), and the
//! invitation's link opens sign-up for that address, even when `sign_up_mode = restricted`.
//!
//! # Threat
//! The link is a bearer token (256 random bits, stored only as its SHA-256, 30 days by default,
//! single use): whoever holds it may create the account for its address, never another one (the
//! address is fixed by the invitation, not by the form). It does not prove the mailbox (the
//! operator hands the link out, not the portal): a verified sign-up still sends its code to the
//! address. The operator's block list still applies; only the restricted mode is lifted.

use crate::domain::EmailAddress;
use crate::security::{new_token, random_id, token_hash};
use crate::store::instance_invitations::{self as store, InstanceInvitation};
use crate::store::{Db, DbError, transaction};

/// How long an invitation lasts unless the operator says otherwise.
pub const DEFAULT_LIFETIME_DAYS: i64 = 30;
pub const MAX_LIFETIME_DAYS: i64 = 365;

/// A new invitation and its one-time token (for the link; shown once).
pub fn invite(db: &dyn Db, email: &EmailAddress, days: i64, now: i64) -> Result<(InstanceInvitation, String), DbError> {
    transaction(db, || invite_within(db, email, days, now))
}

/// [`invite`], inside the caller's transaction.
pub fn invite_within(
    db: &dyn Db,
    email: &EmailAddress,
    days: i64,
    now: i64,
) -> Result<(InstanceInvitation, String), DbError> {
    let (token, hash) = new_token();
    let invitation = store::create(db, &random_id("inv"), email, &hash, now, now + days * 86_400)?;
    Ok((invitation, token))
}

/// The live invitation behind a link's token.
pub fn open(db: &dyn Db, token: &str, now: i64) -> Result<Option<InstanceInvitation>, DbError> {
    if token.is_empty() {
        return Ok(None);
    }
    store::find_live(db, &token_hash(token), now)
}

pub fn pending(db: &dyn Db) -> Result<Vec<InstanceInvitation>, DbError> {
    store::list_pending(db)
}

/// Revokes a pending invitation; `false` when none is pending with this id.
pub fn revoke(db: &dyn Db, id: &str, now: i64) -> Result<bool, DbError> {
    store::close(db, id, "revoked", now)
}

/// Uses the invitation `id` for an account of `email`, inside the transaction that creates it:
/// `true` when it was live and made out to that address (it is closed now).
pub fn take(db: &dyn Db, id: &str, email: &EmailAddress, now: i64) -> Result<bool, DbError> {
    Ok(store::is_live_for(db, id, email, now)? && store::close(db, id, "accepted", now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    #[test]
    fn an_invitation_is_single_use_for_its_address_only() {
        let db = MemoryDb::new();
        crate::store::migrate(&db, 0).unwrap();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let eve = EmailAddress::parse("eve@example.com").unwrap();
        let (invitation, token) = invite(&db, &ada, 30, 10).unwrap();
        assert_eq!(open(&db, &token, 11).unwrap().unwrap().id, invitation.id);
        assert!(open(&db, "not-the-token", 11).unwrap().is_none());
        assert!(open(&db, &token, 10 + 30 * 86_400).unwrap().is_none(), "expired");
        // Attack: someone else's address rides on the invitation.
        assert!(!take(&db, &invitation.id, &eve, 12).unwrap());
        assert!(take(&db, &invitation.id, &ada, 12).unwrap());
        assert!(!take(&db, &invitation.id, &ada, 13).unwrap(), "single use");
        assert!(open(&db, &token, 13).unwrap().is_none());
    }

    #[test]
    fn a_new_invitation_replaces_the_pending_one_and_revoking_closes_it() {
        let db = MemoryDb::new();
        crate::store::migrate(&db, 0).unwrap();
        let ada = EmailAddress::parse("ada@example.com").unwrap();
        let (first, first_token) = invite(&db, &ada, 30, 10).unwrap();
        let (second, _) = invite(&db, &ada, 30, 11).unwrap();
        assert!(open(&db, &first_token, 12).unwrap().is_none());
        assert_eq!(pending(&db).unwrap().len(), 1);
        assert!(!revoke(&db, &first.id, 12).unwrap());
        assert!(revoke(&db, &second.id, 12).unwrap());
        assert!(pending(&db).unwrap().is_empty());
    }
}
