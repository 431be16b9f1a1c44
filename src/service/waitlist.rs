//! The waitlist (`sign_up_mode = waitlist`): anyone may leave an address; the operator approves
//! an entry, which makes an instance invitation (`service::invitations`) the caller emails.
//!
//! # Threat
//! The join form must not tell whether an address is already waiting or has an account
//! (enumeration): it answers the same page whatever happened, and an address the lists refuse is
//! simply not added. Joining is limited per client address, so the table cannot be flooded.

use crate::domain::EmailAddress;
use crate::security::random_id;
use crate::security::sign_up_policy::SignUpPolicy;
use crate::store::instance_invitations::InstanceInvitation;
use crate::store::waitlist::{self as store, WaitlistEntry};
use crate::store::{Db, DbError, attempts, transaction, users};

/// Joins per client address per hour.
pub const JOINS_PER_HOUR: usize = 20;

/// Why a join was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinRefused {
    /// Too many joins from this client address; try again at `until`.
    TooMany { until: i64 },
}

/// Leaves `email` on the waitlist, unless the lists refuse it or it already has an account (both
/// silently: the answer is the same either way).
pub fn join(
    db: &dyn Db,
    email: &EmailAddress,
    policy: &SignUpPolicy,
    client_addr: &str,
    now: i64,
) -> Result<Result<(), JoinRefused>, DbError> {
    transaction(db, || {
        let scope = format!("waitlist:{client_addr}");
        if let Err(until) = attempts::admit_within(db, &scope, JOINS_PER_HOUR, 3600, now)? {
            return Ok(Err(JoinRefused::TooMany { until }));
        }
        if policy.for_invitation().admits(email) && users::find_user_by_email(db, email)?.is_none() {
            store::join(db, &random_id("wait"), email, now)?;
        }
        Ok(Ok(()))
    })
}

pub fn waiting(db: &dyn Db, limit: i64) -> Result<Vec<WaitlistEntry>, DbError> {
    store::waiting(db, limit)
}

/// Approves a waiting entry: an instance invitation for its address (and its token, for the
/// email). `None` when the entry is not waiting.
pub fn approve(db: &dyn Db, id: &str, days: i64, now: i64) -> Result<Option<(InstanceInvitation, String)>, DbError> {
    transaction(db, || {
        let Some(entry) = store::find(db, id)?.filter(|entry| entry.invited_at.is_none()) else {
            return Ok(None);
        };
        if !store::mark_invited(db, id, now)? {
            return Ok(None);
        }
        crate::service::invitations::invite_within(db, &entry.email, days, now).map(Some)
    })
}

/// Takes an approval back (its email could not be sent): the entry waits again.
pub fn unapprove(db: &dyn Db, id: &str) -> Result<(), DbError> {
    db.execute("UPDATE waitlist SET invited_at = NULL WHERE id = ?", &[id.into()])?;
    Ok(())
}

pub fn remove(db: &dyn Db, id: &str) -> Result<bool, DbError> {
    store::remove(db, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemoryDb, stored_user};

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        crate::store::migrate(&db, 0).unwrap();
        db
    }

    fn email(text: &str) -> EmailAddress {
        EmailAddress::parse(text).unwrap()
    }

    #[test]
    fn attack_joining_reveals_nothing_and_adds_each_address_once() {
        let db = db();
        stored_user(&db, "user_1", "ada@example.com");
        let open = SignUpPolicy::default();
        for address in ["bea@example.com", "BEA@example.com", "ada@example.com"] {
            assert_eq!(join(&db, &email(address), &open, "1.2.3.4", 10).unwrap(), Ok(()));
        }
        let waiting: Vec<String> = waiting(&db, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.email.as_str().to_owned())
            .collect();
        assert_eq!(waiting, ["bea@example.com"], "once, and never an existing account");
    }

    #[test]
    fn attack_flooding_the_waitlist_from_one_address_is_refused() {
        let db = db();
        let open = SignUpPolicy::default();
        for i in 0..JOINS_PER_HOUR {
            join(&db, &email(&format!("p{i}@example.com")), &open, "1.2.3.4", 10)
                .unwrap()
                .unwrap();
        }
        assert!(matches!(
            join(&db, &email("late@example.com"), &open, "1.2.3.4", 11).unwrap(),
            Err(JoinRefused::TooMany { .. })
        ));
        join(&db, &email("other@example.com"), &open, "5.6.7.8", 11)
            .unwrap()
            .unwrap();
    }

    #[test]
    fn an_approval_makes_one_invitation() {
        let db = db();
        join(&db, &email("bea@example.com"), &SignUpPolicy::default(), "1.2.3.4", 10)
            .unwrap()
            .unwrap();
        let id = waiting(&db, 10).unwrap()[0].id.clone();
        let (invitation, token) = approve(&db, &id, 30, 11).unwrap().unwrap();
        assert_eq!(invitation.email.as_str(), "bea@example.com");
        assert!(crate::service::invitations::open(&db, &token, 12).unwrap().is_some());
        assert!(approve(&db, &id, 30, 12).unwrap().is_none(), "once");
        assert!(waiting(&db, 10).unwrap().is_empty());
    }
}
