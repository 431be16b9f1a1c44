//! Brute-force protection for every password check (sign-in, sign-up with a taken address, the
//! current-password forms).
//!
//! # Threat
//! Online password guessing against one account, password spraying from one address against
//! many accounts, and exhausting the host: each check runs Argon2 with 19 MiB, so a burst of
//! parallel posts costs gigabytes. A lock checked before the hash but recorded after it lets a
//! burst of parallel guesses all pass the check (150 parallel guesses got 116 checks against a
//! limit of 5).
//!
//! # Defence
//! Every check is recorded *before* Argon2 runs, per account and per client address, inside the
//! transaction that decides whether it may run at all; a check in flight counts as a failure
//! until it succeeds. When `max_failures` of them fall within `window` seconds, that scope is
//! locked for `lockout` seconds after the last of them, so no more than `max_failures` hashes
//! are ever checked per window, whatever the concurrency. Independently, one address may ask
//! for at most `per_minute` checks a minute ([`RatePolicy`]), refused with 429 before any hash.
//!
//! The message is the same whether the account exists or not, and unknown identifiers are
//! locked exactly like real ones, so the lock reveals nothing about which accounts exist. An
//! unknown identifier is recorded as the hash of its normalized form: the record is bounded in
//! size whatever was typed, and `K`, `k` and the Kelvin sign `K` share one scope, as they share
//! one account.

use super::{base64url, sha256};
use crate::domain::{UserId, normalize_identifier};

/// Limits from the `sign_in_*` variables.
///
/// # Threat
/// Guessing one account's password is stopped by the account's own limit (`max_failures`, 5 by
/// default). A client address gets a limit of its own, much higher (`address_max_failures`):
/// low enough to stop password spraying across many accounts, high enough that an office, a
/// classroom or a carrier-grade NAT behind one address is not locked out by one person's typos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub max_failures: i64,
    pub window: i64,
    pub lockout: i64,
    /// Failures a client address may cause, across every account, within `window`.
    pub address_max_failures: i64,
}

impl LockPolicy {
    /// The same policy with the client address's threshold.
    pub fn for_address(self) -> Self {
        Self {
            max_failures: self.address_max_failures,
            ..self
        }
    }

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

/// At most `per_minute` password checks a minute from one client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePolicy {
    pub per_minute: i64,
}

impl RatePolicy {
    pub const WINDOW: i64 = 60;

    /// Until when another check is refused, given the times of the address's checks in the last
    /// minute (ascending).
    pub fn limited_until(&self, recent: &[i64]) -> Option<i64> {
        refused_until(recent, usize::try_from(self.per_minute).unwrap_or(0), Self::WINDOW)
    }
}

/// Until when one more event is refused when at most `allowed` may happen within `window`
/// seconds, given the times of the recent ones (ascending, all within the window).
pub fn refused_until(recent: &[i64], allowed: usize, window: i64) -> Option<i64> {
    if recent.len() < allowed {
        return None;
    }
    // The oldest event that must age out before one more fits.
    let index = recent.len() - allowed;
    recent.get(index).map(|oldest| oldest + window)
}

/// The scope key for an account (its id) or, when no account matches, the identifier typed:
/// normalized as lookups normalize it, and hashed so the record is bounded whatever was typed.
pub fn account_scope(user_id: Option<&UserId>, identifier: &str) -> String {
    match user_id {
        Some(id) => format!("account:{id}"),
        None => {
            let normalized = normalize_identifier(identifier);
            format!("identifier:{}", base64url(&sha256(normalized.as_bytes())))
        }
    }
}

/// The rate-limit scope of a client address.
pub fn rate_scope(client_addr: &str) -> String {
    format!("rate:{}", address_scope(client_addr).trim_start_matches("address:"))
}

/// The scope key for a client address (without its port).
///
/// # Threat
/// An IPv6 client is usually given a whole /64 (2^64 addresses): keyed per address, every
/// per-address limit (password checks, the address lockout, emails caused) would be as good
/// as none, since each guess could come from a fresh address. IPv6 addresses are keyed by their
/// /64 network; an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) by its IPv4 address, so a
/// dual-stack listener cannot be used to double the allowance. Anything else is kept as given.
pub fn address_scope(client_addr: &str) -> String {
    let host = if let Some(bracketed) = client_addr.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else if client_addr.matches(':').count() == 1 {
        client_addr.split(':').next().unwrap_or_default()
    } else {
        client_addr
    };
    let key = match host.parse::<std::net::IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(std::net::IpAddr::V6(ip)) => {
            let [a, b, c, d, ..] = ip.segments();
            format!("{}/64", std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        Ok(std::net::IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => host.to_owned(),
    };
    format!("address:{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64_so_a_fresh_address_per_guess_does_not_help() {
        let one = address_scope("[2001:db8:1:2:aaaa::1]:4000");
        assert_eq!(one, "address:2001:db8:1:2::/64");
        assert_eq!(address_scope("2001:db8:1:2:ffff:ffff:ffff:ffff"), one);
        assert_eq!(rate_scope("[2001:db8:1:2::9]:1"), "rate:2001:db8:1:2::/64");
        assert_ne!(
            address_scope("[2001:db8:1:3::1]:4000"),
            one,
            "another /64 is another client"
        );
        // IPv4, and IPv4 mapped into IPv6, are keyed per address.
        assert_eq!(address_scope("203.0.113.7:4000"), "address:203.0.113.7");
        assert_eq!(address_scope("[::ffff:203.0.113.7]:4000"), "address:203.0.113.7");
        assert_ne!(address_scope("203.0.113.8:1"), address_scope("203.0.113.7:1"));
        assert_eq!(address_scope("unknown"), "address:unknown");
    }

    const POLICY: LockPolicy = LockPolicy {
        max_failures: 3,
        window: 60,
        lockout: 300,
        address_max_failures: 50,
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
    fn the_rate_limit_counts_the_last_minute() {
        let rate = RatePolicy { per_minute: 3 };
        assert_eq!(rate.limited_until(&[10, 20]), None);
        assert_eq!(rate.limited_until(&[10, 20, 30]), Some(70));
        assert_eq!(rate.limited_until(&[5, 10, 20, 30]), Some(70));
    }

    #[test]
    fn unknown_identifiers_are_bounded_and_normalized_one_way() {
        let plain = account_scope(None, " Kate@Example.com ");
        assert_eq!(plain, account_scope(None, "\u{212A}ate@example.com"), "Kelvin sign");
        assert_eq!(plain, account_scope(None, "KATE@EXAMPLE.COM"));
        assert_ne!(plain, account_scope(None, "kate@example.org"));
        let huge = account_scope(None, &"x".repeat(114 * 1024));
        assert!(
            huge.len() < 64,
            "a 114 KiB identifier is stored as {} bytes",
            huge.len()
        );
        assert_eq!(rate_scope("10.0.0.1:5000"), "rate:10.0.0.1");
    }

    #[test]
    fn scopes_normalize_identifiers_and_strip_ports() {
        let user = UserId::from_stored("user_1".into());
        assert_eq!(account_scope(Some(&user), "ada"), "account:user_1");
        assert_eq!(address_scope("10.0.0.1:5000"), "address:10.0.0.1");
        // IPv6 is keyed by its /64 (see the IPv6 test below).
        assert_eq!(address_scope("[::1]:5000"), "address:::/64");
        assert_eq!(address_scope("10.0.0.1"), "address:10.0.0.1");
        assert_eq!(address_scope("::1"), "address:::/64");
    }
}
