//! Who may create an account: the operator's allow and block lists of addresses
//! (`sign_up_allowed`, `sign_up_blocked`), matched on a canonical form of the address.
//!
//! # Threat
//! A list that can be sidestepped is worse than none, because the operator relies on it:
//! - **Suffix confusion**: `*@example.com` is that domain only, compared label by label, never
//!   by a suffix test on the raw text (`x@notexample.com` and `x@example.com.evil.net` are other
//!   domains); `*@*.example.com` is its subdomains at any depth, not the domain itself;
//! - **Case and spacing**: addresses are compared trimmed and lower-cased (as stored);
//! - **IDN**: a domain written in Unicode and its punycode (`münchen.de`, `xn--mnchen-3ya.de`)
//!   are the same domain here, so neither form slips past a rule written in the other; a
//!   look-alike domain (a Cyrillic `а` in `exаmple.com`) is another domain, as it is on the
//!   internet, and so is not allowed by an allowlist of the real one;
//! - **Subaddresses**: with `sign_up_fold_subaddress`, `ada+x@example.com` is compared as
//!   `ada@example.com`, so one blocked person cannot come back with a new `+tag`.
//!
//! A block wins over an allow. Only account creation asks: an existing account signs in whatever
//! the lists say later (sign-in is not sign-up).

use crate::domain::EmailAddress;

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressRule {
    /// One address (canonical).
    Exact(String),
    /// `*@example.com`: that domain (canonical).
    Domain(String),
    /// `*@*.example.com`: any subdomain of it, at any depth.
    Subdomains(String),
}

/// The operator's lists, and whether sign-up is open at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignUpPolicy {
    pub allowed: Vec<AddressRule>,
    pub blocked: Vec<AddressRule>,
    pub fold_subaddress: bool,
    /// `sign_up_mode = restricted`: only an invitation makes an account.
    pub restricted: bool,
}

/// A domain in the form rules are compared in: lower-case ASCII, each Unicode label as its
/// punycode (`xn--…`). `None` when a label cannot be encoded.
pub fn canonical_domain(domain: &str) -> Option<String> {
    let labels: Option<Vec<String>> = domain
        .trim()
        .trim_end_matches('.')
        .to_lowercase()
        .split('.')
        .map(|label| {
            if label.is_empty() {
                None
            } else if label.is_ascii() {
                Some(label.to_owned())
            } else {
                crate::redirect::punycode::encode(label).map(|encoded| format!("xn--{encoded}"))
            }
        })
        .collect();
    labels.map(|labels| labels.join("."))
}

/// An address in the form rules are compared in: canonical domain, the local part without its
/// `+tag` when `fold_subaddress`.
fn canonical_address(email: &EmailAddress, fold_subaddress: bool) -> Option<(String, String)> {
    let (local, domain) = email.as_str().rsplit_once('@')?;
    let local = if fold_subaddress {
        local.split('+').next().unwrap_or(local)
    } else {
        local
    };
    Some((local.to_owned(), canonical_domain(domain)?))
}

/// Reads one list entry: `ada@example.com`, `*@example.com` or `*@*.example.com`.
pub fn parse_rule(text: &str) -> Result<AddressRule, String> {
    let text = text.trim().to_lowercase();
    let bad = || format!("{text:?} is not an address, *@domain or *@*.domain");
    let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
    let (subdomains, domain) = match domain.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, domain),
    };
    let is_host = |domain: &String| {
        domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    let domain = canonical_domain(domain).filter(is_host).ok_or_else(bad)?;
    match (local, subdomains) {
        ("*", false) => Ok(AddressRule::Domain(domain)),
        ("*", true) => Ok(AddressRule::Subdomains(domain)),
        (local, false) if !local.is_empty() && !local.contains('*') => {
            EmailAddress::parse(&format!("{local}@{domain}")).map_err(|_| bad())?;
            Ok(AddressRule::Exact(format!("{local}@{domain}")))
        }
        _ => Err(bad()),
    }
}

/// A comma-separated list of rules.
pub fn parse_rules(text: &str) -> Result<Vec<AddressRule>, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(parse_rule)
        .collect()
}

impl AddressRule {
    fn matches(&self, local: &str, domain: &str, fold_subaddress: bool) -> bool {
        match self {
            Self::Exact(address) => {
                let Some((rule_local, rule_domain)) = address.rsplit_once('@') else {
                    return false;
                };
                let rule_local = if fold_subaddress {
                    rule_local.split('+').next().unwrap_or(rule_local)
                } else {
                    rule_local
                };
                rule_local == local && rule_domain == domain
            }
            Self::Domain(rule) => domain == rule,
            Self::Subdomains(rule) => domain
                .strip_suffix(rule.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        }
    }
}

impl SignUpPolicy {
    /// The policy for a sign-up that an invitation carries: open whatever the mode, the lists
    /// still apply.
    pub fn for_invitation(&self) -> Self {
        Self {
            restricted: false,
            ..self.clone()
        }
    }

    /// Whether an account may be created for `email`.
    pub fn admits(&self, email: &EmailAddress) -> bool {
        if self.restricted {
            return false;
        }
        let Some((local, domain)) = canonical_address(email, self.fold_subaddress) else {
            return false;
        };
        let on = |rules: &[AddressRule]| {
            rules
                .iter()
                .any(|rule| rule.matches(&local, &domain, self.fold_subaddress))
        };
        if on(&self.blocked) {
            return false;
        }
        self.allowed.is_empty() || on(&self.allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &str, blocked: &str, fold: bool) -> SignUpPolicy {
        SignUpPolicy {
            allowed: parse_rules(allowed).unwrap(),
            blocked: parse_rules(blocked).unwrap(),
            fold_subaddress: fold,
            restricted: false,
        }
    }

    fn admits(policy: &SignUpPolicy, email: &str) -> bool {
        policy.admits(&EmailAddress::parse(email).unwrap())
    }

    #[test]
    fn no_lists_admit_everyone() {
        assert!(admits(&SignUpPolicy::default(), "ada@example.com"));
    }

    #[test]
    fn attack_suffix_confusion_is_not_the_domain() {
        let only = policy("*@example.com", "", false);
        assert!(admits(&only, "ada@example.com"));
        for outsider in [
            "x@notexample.com",
            "x@example.com.evil.net",
            "x@sub.example.com",
            "x@xexample.com",
        ] {
            assert!(!admits(&only, outsider), "{outsider}");
        }
        let blocked = policy("", "*@example.com", false);
        assert!(
            admits(&blocked, "x@notexample.com"),
            "blocking example.com blocks nothing else"
        );
    }

    #[test]
    fn subdomains_are_any_depth_but_not_the_domain_itself() {
        let subs = policy("*@*.example.com", "", false);
        assert!(admits(&subs, "a@eu.example.com"));
        assert!(admits(&subs, "a@x.eu.example.com"));
        assert!(!admits(&subs, "a@example.com"));
        assert!(!admits(&subs, "a@evilexample.com"));
    }

    #[test]
    fn attack_case_and_spacing_change_nothing() {
        let blocked = policy("", " Mallory@Example.COM ", false);
        assert!(!admits(&blocked, "MALLORY@example.com"));
        assert!(!admits(&blocked, "  mallory@EXAMPLE.com "));
    }

    #[test]
    fn attack_unicode_and_punycode_forms_of_a_domain_are_one_domain() {
        let blocked_ascii = policy("", "*@xn--mnchen-3ya.de", false);
        assert!(!admits(&blocked_ascii, "hans@münchen.de"));
        assert!(!admits(&blocked_ascii, "hans@xn--mnchen-3ya.de"));
        let blocked_unicode = policy("", "*@münchen.de", false);
        assert!(!admits(&blocked_unicode, "hans@xn--mnchen-3ya.de"));
    }

    #[test]
    fn attack_look_alike_domain_is_not_the_allowed_one() {
        // A Cyrillic "а" (U+0430) in place of the Latin "a".
        let only = policy("*@example.com", "", false);
        assert!(!admits(&only, "ceo@ex\u{0430}mple.com"));
    }

    #[test]
    fn attack_subaddress_tags_do_not_escape_a_block_when_folded() {
        let folded = policy("", "mallory@example.com", true);
        assert!(!admits(&folded, "mallory+again@example.com"));
        assert!(admits(&folded, "alice+x@example.com"));
        let unfolded = policy("", "mallory@example.com", false);
        assert!(
            admits(&unfolded, "mallory+again@example.com"),
            "without folding, a tag is another address"
        );
    }

    #[test]
    fn restricted_admits_only_through_an_invitation_and_the_lists_still_apply() {
        let mut restricted = policy("", "mallory@example.com", false);
        restricted.restricted = true;
        assert!(!admits(&restricted, "ada@example.com"));
        let invited = restricted.for_invitation();
        assert!(admits(&invited, "ada@example.com"));
        assert!(!admits(&invited, "mallory@example.com"));
    }

    #[test]
    fn a_block_wins_over_an_allow() {
        let both = policy("*@example.com", "mallory@example.com", false);
        assert!(admits(&both, "ada@example.com"));
        assert!(!admits(&both, "mallory@example.com"));
    }

    #[test]
    fn malformed_rules_are_configuration_errors() {
        for bad in [
            "example.com",
            "*@*",
            "*@com",
            "a*@example.com",
            "@example.com",
            "*@exa mple.com",
            "*@*.*.com",
        ] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_rule("*@Example.com."),
            Ok(AddressRule::Domain("example.com".into()))
        );
    }
}
