//! Who may use the admin console, what its own actions do, and the audit log they write.
//!
//! # Threat
//! The console can ban, delete and strip the second factor of any account, so it must be harder
//! to reach than any account: the visitor's address must be one the operator listed
//! (`admin_emails`) *and* verified (else anyone could sign up with that address where
//! verification is off), and their session must have been signed in with two factors (a stolen
//! password alone never opens it). A visitor who is not an operator is told nothing exists. Every
//! action is written to the audit log with who, what, to what, when and from where.

use crate::domain::{EmailAddress, UserId};
use crate::service::sessions::Visitor;
use crate::service::webhooks;
use crate::store::audit::{self, AuditEntry};
use crate::store::{Db, DbError, factors, transaction, users};

/// Whether the visitor may use the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Not an operator: the console does not exist for them.
    NotAnOperator,
    /// An operator's address, not verified.
    Unverified,
    /// An operator whose session was not signed in with two factors.
    NeedsTwoStep,
}

pub fn gate(admin_emails: &[EmailAddress], visitor: &Visitor) -> Gate {
    if !admin_emails.contains(&visitor.user.email) {
        Gate::NotAnOperator
    } else if visitor.user.email_verified_at.is_none() {
        Gate::Unverified
    } else if visitor.session.second_factor_at.is_none() {
        Gate::NeedsTwoStep
    } else {
        Gate::Open
    }
}

/// Writes one line of the audit log.
pub fn record(
    db: &dyn Db,
    actor: &Visitor,
    action: &str,
    target: &str,
    client_addr: &str,
    now: i64,
) -> Result<(), DbError> {
    audit::insert(
        db,
        &AuditEntry {
            actor_id: actor.user.id.as_str().to_owned(),
            actor_email: actor.user.email.as_str().to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            client_addr: Some(client_addr.to_owned()),
            created_at: now,
        },
    )
}

/// The audit log, newest first.
pub fn audit_log(db: &dyn Db, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
    audit::recent(db, limit)
}

/// Removes a user's authenticator app and backup codes (someone who lost their phone), and
/// tells the app (`user.updated`). `false` when there is no such user. The person is emailed by
/// the caller.
pub fn reset_two_step(db: &dyn Db, user_id: &UserId, now: i64) -> Result<bool, DbError> {
    transaction(db, || {
        let Some(user) = users::find_user_by_id(db, user_id)? else {
            return Ok(false);
        };
        factors::delete_second_factors(db, user_id)?;
        let changed = users::User {
            totp_enabled_at: None,
            ..user
        };
        webhooks::user_updated(db, &changed, now)?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sessions::PortalSession;
    use crate::testing::{MemoryDb, stored_user};

    fn visitor(db: &MemoryDb, email: &str, verified: bool, second_factor: bool) -> Visitor {
        let mut user = stored_user(db, "user_1", email);
        user.email_verified_at = verified.then_some(1);
        Visitor {
            session: PortalSession {
                id: crate::domain::SessionId::generate(),
                user_id: user.id.clone(),
                created_at: 1,
                last_active_at: 1,
                expires_at: 100,
                client_addr: None,
                user_agent: None,
                amr: None,
                first_factor_at: Some(1),
                second_factor_at: second_factor.then_some(1),
            },
            user,
            active_membership: None,
        }
    }

    fn fresh() -> MemoryDb {
        let db = MemoryDb::new();
        crate::store::migrate(&db, 0).unwrap();
        db
    }

    #[test]
    fn attack_the_console_needs_a_listed_verified_address_and_two_factors() {
        let admins = [EmailAddress::parse("root@example.com").unwrap()];
        assert_eq!(
            gate(&admins, &visitor(&fresh(), "root@example.com", true, true)),
            Gate::Open
        );
        assert_eq!(
            gate(&admins, &visitor(&fresh(), "eve@example.com", true, true)),
            Gate::NotAnOperator
        );
        assert_eq!(
            gate(&admins, &visitor(&fresh(), "root@example.com", false, true)),
            Gate::Unverified
        );
        assert_eq!(
            gate(&admins, &visitor(&fresh(), "root@example.com", true, false)),
            Gate::NeedsTwoStep
        );
        assert_eq!(
            gate(&[], &visitor(&fresh(), "root@example.com", true, true)),
            Gate::NotAnOperator
        );
    }
}
