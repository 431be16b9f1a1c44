//! Bot protection on the forms that cost the portal an email or an account (sign-up, the
//! waitlist, forgot-password): Cloudflare Turnstile's token, verified by its `siteverify` API.
//!
//! # Threat
//! A script that posts these forms by the thousand makes accounts, fills the waitlist and sends
//! the portal's emails to strangers. The widget's token proves a browser passed Cloudflare's
//! challenge, but only the server can trust it: a token is any string the client sends, so every
//! submission is verified with the secret key, once (tokens are single use and live five
//! minutes; a replayed one comes back `timeout-or-duplicate`). A token solved on another of the
//! portal's protected forms (its `action`) is refused, so one solved challenge opens one kind of
//! form; an action the portal does not use (a widget of the operator's elsewhere on the same
//! site key, Cloudflare's documentation's `login`) proves a solved challenge all the same. An
//! oversized token is refused without asking. What Cloudflare could not judge (its own error,
//! a wrong secret, no answer within the limit, an answer that is not its format) is
//! `Unavailable`, never a pass: the operator's fallback decides, and it is logged.

use crate::json_object::{JsonObject, strings};

/// Cloudflare's documented ceiling on a token's length.
pub const MAX_TOKEN_LEN: usize = 2048;

/// The form field the widget fills in.
pub const TOKEN_FIELD: &str = "cf-turnstile-response";

/// The origin the widget's script and frames come from (the CSP names it on those pages).
pub const WIDGET_ORIGIN: &str = "https://challenges.cloudflare.com";

/// The widget's script.
pub const SCRIPT_URL: &str = "https://challenges.cloudflare.com/turnstile/v0/api.js";

/// What `siteverify` said about one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// No token: the widget did not run (a browser without JavaScript, or a script).
    Missing,
    /// The token is missing, forged, expired, spent or for another form.
    Refused(String),
    /// Cloudflare could not say (down, slow, garbled, its own error, a wrong secret).
    Unavailable(String),
}

/// The `siteverify` request for `token`, sent from `remote_ip` (the visitor, when known).
pub fn verify_request(
    api_origin: &str,
    secret: &str,
    token: &str,
    remote_ip: Option<&str>,
) -> Option<http::Request<Vec<u8>>> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("secret", secret).append_pair("response", token);
    if let Some(ip) = remote_ip {
        form.append_pair("remoteip", ip);
    }
    http::Request::builder()
        .method("POST")
        .uri(format!("{}/turnstile/v0/siteverify", api_origin.trim_end_matches('/')))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(form.finish().into_bytes())
        .ok()
}

/// Checks a posted token before anything is asked: `None` means ask `siteverify`.
pub fn precheck(token: &str) -> Option<Verdict> {
    if token.is_empty() {
        return Some(Verdict::Missing);
    }
    if token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Some(Verdict::Refused("malformed token".into()));
    }
    None
}

/// `siteverify`'s answer, as far as the portal reads it.
struct Answer {
    success: bool,
    error_codes: Vec<String>,
    action: Option<String>,
}

impl Answer {
    fn parse(body: &[u8]) -> Option<Self> {
        let mut answer = JsonObject::parse(body).ok()?;
        let error_codes = match answer.take_value("error-codes") {
            None => Vec::new(),
            Some(codes) => strings(codes)?,
        };
        Some(Self {
            success: answer.optional_bool("success").ok()??,
            error_codes,
            action: answer.optional_string("action").ok()?,
        })
    }
}

/// Codes that say nothing about the visitor: Cloudflare's fault or the operator's secret.
const NOT_THE_VISITORS_FAULT: &[&str] = &["internal-error", "missing-input-secret", "invalid-input-secret"];

/// Reads `siteverify`'s answer (`status`, `body`) for a form whose widget had `action`, among
/// the portal's protected forms' `actions`.
pub fn verdict(status: u16, body: &[u8], action: &str, actions: &[&str]) -> Verdict {
    if status != 200 {
        return Verdict::Unavailable(format!("siteverify answered {status}"));
    }
    let Some(answer) = Answer::parse(body) else {
        return Verdict::Unavailable("siteverify's answer is not its format".into());
    };
    if !answer.success {
        let codes = answer.error_codes.join(", ");
        if answer
            .error_codes
            .iter()
            .any(|code| NOT_THE_VISITORS_FAULT.contains(&code.as_str()))
        {
            return Verdict::Unavailable(format!("siteverify could not judge: {codes}"));
        }
        return Verdict::Refused(format!("siteverify refused the token: {codes}"));
    }
    match answer.action.as_deref() {
        Some(theirs) if theirs != action && actions.contains(&theirs) => {
            Verdict::Refused(format!("a token for another form ({theirs:?})"))
        }
        _ => Verdict::Passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &[&str] = &["sign-up", "waitlist", "forgot-password"];

    #[test]
    fn the_request_carries_secret_token_and_visitor_as_a_form() {
        let request = verify_request("http://127.0.0.1:9/", "0xSECRET", "tok en&x", Some("203.0.113.7")).unwrap();
        assert_eq!(request.uri(), "http://127.0.0.1:9/turnstile/v0/siteverify");
        assert_eq!(request.method(), "POST");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body()).into_owned().collect();
        assert_eq!(
            form,
            [
                ("secret".to_owned(), "0xSECRET".to_owned()),
                ("response".to_owned(), "tok en&x".to_owned()),
                ("remoteip".to_owned(), "203.0.113.7".to_owned()),
            ]
        );
        let without_ip = verify_request("https://challenges.cloudflare.com", "s", "t", None).unwrap();
        assert!(!String::from_utf8_lossy(without_ip.body()).contains("remoteip"));
    }

    #[test]
    fn a_missing_or_oversized_token_is_refused_without_asking() {
        assert_eq!(precheck(""), Some(Verdict::Missing));
        assert!(matches!(
            precheck(&"x".repeat(MAX_TOKEN_LEN + 1)),
            Some(Verdict::Refused(_))
        ));
        // Attack: a token smuggling a line break or a space into the outbound form.
        assert!(matches!(precheck("abc\r\ndef"), Some(Verdict::Refused(_))));
        assert_eq!(precheck("0.AbC-_x.y"), None);
        assert_eq!(precheck(&"x".repeat(MAX_TOKEN_LEN)), None);
    }

    #[test]
    fn documented_answers_are_read_as_documented() {
        let passed = br#"{"success":true,"challenge_ts":"2026-12-06T12:00:00.000Z","hostname":"accounts.example.com","error-codes":[],"action":"sign-up","cdata":""}"#;
        assert_eq!(verdict(200, passed, "sign-up", OURS), Verdict::Passed);
        let no_action = br#"{"success":true,"error-codes":[]}"#;
        assert_eq!(verdict(200, no_action, "waitlist", OURS), Verdict::Passed);
        // Attack: replaying a spent or expired token.
        let spent = br#"{"success":false,"error-codes":["timeout-or-duplicate"]}"#;
        assert!(matches!(verdict(200, spent, "sign-up", OURS), Verdict::Refused(_)));
        // Attack: a forged token.
        let forged = br#"{"success":false,"error-codes":["invalid-input-response"]}"#;
        assert!(matches!(verdict(200, forged, "sign-up", OURS), Verdict::Refused(_)));
    }

    #[test]
    fn a_token_solved_for_another_form_is_refused() {
        // Attack: one challenge solved on the waitlist, spent on sign-up.
        let waitlist = br#"{"success":true,"error-codes":[],"action":"waitlist"}"#;
        assert!(matches!(verdict(200, waitlist, "sign-up", OURS), Verdict::Refused(_)));
        // Cloudflare's documented example answer: an action the portal does not use.
        let documented = br#"{"success":true,"challenge_ts":"2022-02-28T15:14:30.096Z","hostname":"example.com","error-codes":[],"action":"login","cdata":"sessionid-123456789"}"#;
        assert_eq!(verdict(200, documented, "sign-up", OURS), Verdict::Passed);
    }

    #[test]
    fn what_cloudflare_cannot_judge_is_never_a_pass() {
        for (status, body) in [
            (200, &br#"{"success":false,"error-codes":["internal-error"]}"#[..]),
            (200, br#"{"success":false,"error-codes":["invalid-input-secret"]}"#),
            (200, b"<html>gateway</html>"),
            (200, br#"{"succes":true}"#),
            (502, br#"{"success":true}"#),
        ] {
            assert!(
                matches!(verdict(status, body, "sign-up", OURS), Verdict::Unavailable(_)),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
