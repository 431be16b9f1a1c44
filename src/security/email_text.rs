//! What text from users may say inside an email the portal sends.
//!
//! # Threat
//! The portal's emails come from the operator's domain and are trusted: phishing wants exactly
//! that. Anyone can create an organization and invite any address, and anyone can name
//! themselves: an organization called `Claim your refund at https://evil.example` or an
//! inviter named `Security team: reset at evil.example` would have the portal deliver the
//! attacker's link under its own name (mail clients turn such text into links). And text
//! holding `{org}` or `{role}` would be expanded by a template that replaced placeholders one
//! after the other. So:
//! - templates are filled in one pass ([`fill`]): a value is never scanned for placeholders;
//! - a user's text goes into an email only if it cannot be read as a link or an address
//!   ([`name_for_email`]); otherwise the email uses a neutral word instead;
//! - the templates quote names as names (“Acme”), so what a name says is not read as the
//!   portal's own sentence.

/// `template` with each `{key}` of `values` replaced by its value, in one pass: the values are
/// never scanned again, so a value holding `{org}` stays as it is. Unknown placeholders stay.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let replaced = after.find('}').and_then(|end| {
            let key = &after[..end];
            values
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| (value, end))
        });
        match replaced {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` (a person's or an organization's name), when an email may show it: not when a mail
/// client could read part of it as a link or an address (a scheme, `www.`, an `@`, a dotted
/// name like `evil.example`), nor when it holds template braces or control characters. `None`:
/// the email says something neutral instead.
pub fn name_for_email(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let link_like = lower.contains("://")
        || lower.contains("www.")
        || lower.contains('@')
        || has_dotted_name(&lower)
        || lower.starts_with("mailto:");
    let unsafe_chars = text
        .chars()
        .any(|c| c.is_control() || matches!(c, '{' | '}' | '<' | '>'));
    (!text.trim().is_empty() && !link_like && !unsafe_chars).then_some(text)
}

/// Whether some `a.bc` (a letter or digit, a dot, then two letters) appears: the shape of a
/// domain name that mail clients link (`evil.example`, `node.js`). A dot at the end of a word
/// (`Acme Inc.`) or between digits (`v1.2`) is not one.
fn has_dotted_name(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    chars.windows(4).any(|w| {
        w[0].is_alphanumeric()
            && matches!(w[1], '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
            && w[2].is_alphabetic()
            && w[3].is_alphabetic()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_holding_a_placeholder_is_not_expanded_template_injection() {
        let lead = fill(
            "{inviter} invited you to join “{org}” as {role}.",
            &[("inviter", "Eve {org} {role}"), ("org", "Acme"), ("role", "member")],
        );
        assert_eq!(lead, "Eve {org} {role} invited you to join “Acme” as member.");
        assert_eq!(fill("{a}{b}{", &[("a", "{b}"), ("b", "x")]), "{b}x{");
        assert_eq!(fill("no {unknown} here", &[]), "no {unknown} here");
        assert_eq!(
            fill("{app}: {code}", &[("app", "Shop"), ("code", "123456")]),
            "Shop: 123456"
        );
    }

    #[test]
    fn link_shaped_names_never_reach_an_email_phishing_through_the_portal() {
        for phishing in [
            "Claim your refund at https://evil.example",
            "evil.example",
            "Visit WWW.EVIL.COM now",
            "Security team: mail security@evil.example",
            "Node.js Foundation",
            "evil。example",
            "mailto:x",
            "Acme {org}",
            "<b>Acme</b>",
            "Line\nbreak",
            "  ",
        ] {
            assert_eq!(name_for_email(phishing), None, "{phishing}");
        }
        for name in [
            "Acme Inc.",
            "Ada Lovelace",
            "Société Générale",
            "Version 1.2 Labs",
            "株式会社アクメ",
            "O'Brien & Co",
        ] {
            assert_eq!(name_for_email(name), Some(name), "{name}");
        }
    }
}
