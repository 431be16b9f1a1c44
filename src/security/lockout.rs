//! Brute-force protection for sign-in.
//!
//! # Threat
//! Online password guessing against one account, or password spraying from one address against
//! many accounts.
//!
//! # Defence
//! Failures are recorded per account and per client address. When `max_failures` of them fall
//! within `window` seconds, that scope is locked for `lockout` seconds after the last of them.
//! Attempts made while locked are refused before any password check and are not recorded. The
//! message is the same whether the account exists or not, and unknown identifiers are locked
//! exactly like real ones, so the lock reveals nothing about which accounts exist.

use crate::domain::UserId;

/// Limits from the `sign_in_*` variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub max_failures: i64,
    pub window: i64,
    pub lockout: i64,
}

impl LockPolicy {
    /// How far back failures matter.
    pub fn horizon(&self) -> i64 {
        self.window + self.lockout
    }

    /// Until when a scope with these failure times (ascending, seconds) is locked, if at all.
    pub fn locked_until(&self, failures: &[i64]) -> Option<i64> {
        let needed = usize::try_from(self.max_failures).ok().filter(|n| *n > 0)?;
        failures
            .windows(needed)
            .filter(|run| run[needed - 1] - run[0] < self.window)
            .map(|run| run[needed - 1] + self.lockout)
            .max()
    }

    pub fn is_locked(&self, failures: &[i64], now: i64) -> bool {
        self.locked_until(failures).is_some_and(|until| until > now)
    }
}

/// The scope key for an account (its id) or, when no account matches, the identifier typed.
pub fn account_scope(user_id: Option<&UserId>, identifier: &str) -> String {
    match user_id {
        Some(id) => format!("account:{id}"),
        None => format!("identifier:{}", identifier.trim().to_lowercase()),
    }
}

/// The scope key for a client address (`spin-client-addr` without the port).
pub fn address_scope(client_addr: &str) -> String {
    let host = if let Some(bracketed) = client_addr.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else if client_addr.matches(':').count() == 1 {
        client_addr.split(':').next().unwrap_or_default()
    } else {
        client_addr
    };
    format!("address:{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LockPolicy = LockPolicy {
        max_failures: 3,
        window: 60,
        lockout: 300,
    };

    #[test]
    fn locks_after_enough_failures_within_the_window() {
        assert!(!POLICY.is_locked(&[100, 110], 120));
        assert!(POLICY.is_locked(&[100, 110, 120], 121));
        assert_eq!(POLICY.locked_until(&[100, 110, 120]), Some(420));
        assert!(!POLICY.is_locked(&[100, 110, 120], 420));
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        assert!(!POLICY.is_locked(&[100, 150, 200, 250], 251));
    }

    #[test]
    fn a_zero_policy_never_locks() {
        let off = LockPolicy {
            max_failures: 0,
            ..POLICY
        };
        assert_eq!(off.locked_until(&[1, 2, 3]), None);
    }

    #[test]
    fn scopes_normalize_identifiers_and_strip_ports() {
        assert_eq!(account_scope(None, " Ada@Example.com "), "identifier:ada@example.com");
        let user = UserId::from_stored("user_1".into());
        assert_eq!(account_scope(Some(&user), "ada"), "account:user_1");
        assert_eq!(address_scope("10.0.0.1:5000"), "address:10.0.0.1");
        assert_eq!(address_scope("[::1]:5000"), "address:::1");
        assert_eq!(address_scope("10.0.0.1"), "address:10.0.0.1");
        assert_eq!(address_scope("::1"), "address:::1");
    }
}
