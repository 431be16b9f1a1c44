//! Bot protection (Cloudflare Turnstile) through the real component, against a local server
//! that answers `siteverify` as Cloudflare documents it (a form post of `secret`, `response`,
//! `remoteip`; JSON with `success`, `error-codes` and the widget's `action`; single-use
//! tokens): the widget and its CSP on the protected pages only, one verification per
//! submission, refusals of missing, forged, replayed and cross-form tokens, and the fallback
//! when the check cannot be made.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::local_http::{self, Received};
use crate::support::{Browser, PASSWORD, Portal, TestResponse};

const SITE_KEY: &str = "0x4AAAAAAAtestsitekey";
const SECRET: &str = "0x4AAAAAAAtestsecretkey";
const WIDGET_CSP: &str =
    "script-src 'self' https://challenges.cloudflare.com; frame-src https://challenges.cloudflare.com;";

#[derive(Clone, Copy)]
enum Siteverify {
    /// Tokens `solved.<action>.<n>` pass once, for their action; anything else is forged.
    Documented,
    /// Cloudflare's own failure.
    InternalError,
    /// No answer within the portal's limit.
    Slow,
}

fn siteverify(behaviour: Siteverify) -> (String, Arc<Mutex<Vec<Received>>>) {
    let spent: Mutex<HashSet<String>> = Mutex::default();
    local_http::serve(move |request| {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body.as_bytes())
            .into_owned()
            .collect();
        let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let json = |body: String| Some((200, "application/json", body));
        let failure = |code: &str| json(format!(r#"{{"success":false,"error-codes":["{code}"],"messages":[]}}"#));
        match behaviour {
            Siteverify::Slow => {
                std::thread::sleep(std::time::Duration::from_secs(5));
                return None;
            }
            Siteverify::InternalError => return failure("internal-error"),
            Siteverify::Documented => {}
        }
        if request.method != "POST" || request.path != "/turnstile/v0/siteverify" {
            return Some((404, "text/plain", "not found".into()));
        }
        if field("secret").as_deref() != Some(SECRET) {
            return failure("invalid-input-secret");
        }
        let token = field("response").unwrap_or_default();
        let Some(action) = token
            .strip_prefix("solved.")
            .and_then(|rest| rest.rsplit_once('.'))
            .map(|(action, _)| action.to_owned())
        else {
            return failure("invalid-input-response");
        };
        if !spent.lock().unwrap().insert(token.clone()) {
            return failure("timeout-or-duplicate");
        }
        json(format!(
            r#"{{"success":true,"challenge_ts":"2026-12-06T12:00:00.000Z","hostname":"localhost","error-codes":[],"action":"{action}","cdata":""}}"#
        ))
    })
}

fn protected_portal(origin: &str, extra: &[(&str, &str)]) -> Portal {
    let mut vars = vec![
        ("turnstile_site_key", SITE_KEY),
        ("turnstile_secret_key", SECRET),
        ("turnstile_api_origin", origin),
        ("email_verification", "off"),
    ];
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

fn sign_up_with(portal: &Portal, email: &str, token: Option<&str>) -> TestResponse {
    let mut fields = vec![("email_address", email), ("password", PASSWORD)];
    fields.extend(token.map(|token| ("cf-turnstile-response", token)));
    Browser::new(portal).submit("/sign-up", "/sign-up", &fields)
}

fn refused(response: &TestResponse) {
    response.assert_status(403);
    assert!(
        response.body.contains("Complete the check that you are a person"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("cf-turnstile"),
        "the form comes back with a fresh widget"
    );
}

#[test]
fn without_a_site_key_no_page_shows_a_widget_nor_widens_its_csp() {
    let portal = Portal::with_vars(&[("email_verification", "off")]);
    for page in ["/sign-up", "/forgot-password"] {
        let shown = Browser::new(&portal).get(page);
        assert!(!shown.body.contains("cf-turnstile"), "{page}");
        assert!(
            !shown
                .header("content-security-policy")
                .unwrap()
                .contains("challenges.cloudflare.com")
        );
    }
    sign_up_with(&portal, "ada@example.com", None).assert_status(302);
}

#[test]
fn the_protected_pages_show_the_widget_and_only_they_name_its_origin() {
    let (origin, _) = siteverify(Siteverify::Documented);
    let portal = protected_portal(&origin, &[]);
    let waitlist = protected_portal(&origin, &[("sign_up_mode", "waitlist")]);
    for (portal, page, action) in [
        (&portal, "/sign-up", "sign-up"),
        (&portal, "/forgot-password", "forgot-password"),
        (&waitlist, "/waitlist", "waitlist"),
    ] {
        let shown = Browser::new(portal).get(page);
        shown.assert_status(200);
        assert!(shown.body.contains(&format!(r#"data-sitekey="{SITE_KEY}""#)), "{page}");
        assert!(shown.body.contains(&format!(r#"data-action="{action}""#)), "{page}");
        assert!(
            shown
                .body
                .contains(r#"src="https://challenges.cloudflare.com/turnstile/v0/api.js""#)
        );
        let csp = shown.header("content-security-policy").unwrap();
        assert!(csp.contains(WIDGET_CSP), "{page}: {csp}");
    }
    // Attack surface kept small: every other page keeps its narrow policy.
    for page in ["/sign-in", "/sign-in?redirect_url=%2Fdashboard"] {
        let csp = Browser::new(&portal)
            .get(page)
            .header("content-security-policy")
            .unwrap()
            .to_owned();
        assert!(
            !csp.contains("challenges.cloudflare.com") && !csp.contains("frame-src"),
            "{page}: {csp}"
        );
    }
}

#[test]
fn a_solved_token_is_verified_once_and_opens_one_submission() {
    let (origin, received) = siteverify(Siteverify::Documented);
    let portal = protected_portal(&origin, &[]);
    sign_up_with(&portal, "ada@example.com", Some("solved.sign-up.1")).assert_status(302);
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 1, "one verification per submission");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(received[0].body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(received[0].content_type, "application/x-www-form-urlencoded");
        assert!(form.contains(&("secret".into(), SECRET.into())));
        assert!(form.contains(&("response".into(), "solved.sign-up.1".into())));
        assert!(form.iter().any(|(name, _)| name == "remoteip"), "{form:?}");
    }
    // Attack: replaying a spent token for a second account.
    refused(&sign_up_with(&portal, "bot@example.com", Some("solved.sign-up.1")));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn missing_forged_and_cross_form_tokens_are_refused_before_anything_happens() {
    let (origin, received) = siteverify(Siteverify::Documented);
    let portal = protected_portal(&origin, &[]);
    // Attack: a script that never runs the widget.
    refused(&sign_up_with(&portal, "bot@example.com", None));
    assert!(received.lock().unwrap().is_empty(), "no token, no question");
    // Attack: a made-up token, and one far over Cloudflare's length.
    refused(&sign_up_with(&portal, "bot@example.com", Some("forged")));
    refused(&sign_up_with(&portal, "bot@example.com", Some(&"x".repeat(4096))));
    // Attack: a challenge solved on the waitlist's form, spent on sign-up.
    refused(&sign_up_with(&portal, "bot@example.com", Some("solved.waitlist.1")));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
    // Forgot-password: no token, no email.
    let _ada = sign_up_with(&portal, "ada@example.com", Some("solved.sign-up.2"));
    let emails = portal.count("SELECT COUNT(*) FROM dev_outbox");
    let asked = Browser::new(&portal).submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "ada@example.com")],
    );
    refused(&asked);
    assert_eq!(portal.count("SELECT COUNT(*) FROM dev_outbox"), emails);
    Browser::new(&portal)
        .submit(
            "/forgot-password",
            "/forgot-password",
            &[
                ("email_address", "ada@example.com"),
                ("cf-turnstile-response", "solved.forgot-password.1"),
            ],
        )
        .assert_status(303);
}

#[test]
fn the_waitlist_form_is_protected_too() {
    let (origin, _) = siteverify(Siteverify::Documented);
    let portal = protected_portal(&origin, &[("sign_up_mode", "waitlist")]);
    let join = |token: Option<&str>| {
        let mut fields = vec![("email_address", "ada@example.com")];
        fields.extend(token.map(|token| ("cf-turnstile-response", token)));
        Browser::new(&portal).submit("/waitlist", "/waitlist", &fields)
    };
    refused(&join(None));
    assert_eq!(portal.count("SELECT COUNT(*) FROM waitlist"), 0);
    join(Some("solved.waitlist.1")).assert_status(200);
    assert_eq!(portal.count("SELECT COUNT(*) FROM waitlist"), 1);
}

#[test]
fn when_the_check_cannot_be_made_the_operators_fallback_decides() {
    let down = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (internal_error, _) = siteverify(Siteverify::InternalError);
    let (slow, _) = siteverify(Siteverify::Slow);
    for (i, origin) in [down.as_str(), internal_error.as_str(), slow.as_str()]
        .into_iter()
        .enumerate()
    {
        let refusing = protected_portal(origin, &[]);
        refused(&sign_up_with(&refusing, "ada@example.com", Some("solved.sign-up.1")));
        assert_eq!(refusing.count("SELECT COUNT(*) FROM users"), 0, "{origin}");
        let allowing = protected_portal(origin, &[("turnstile_fallback", "allow")]);
        sign_up_with(&allowing, &format!("ada{i}@example.com"), Some("solved.sign-up.1")).assert_status(302);
    }
    // Without JavaScript there is no token: refused by default, let through when allowed.
    let (origin, _) = siteverify(Siteverify::Documented);
    refused(&sign_up_with(&protected_portal(&origin, &[]), "ada@example.com", None));
    let allowing = protected_portal(&origin, &[("turnstile_fallback", "allow")]);
    sign_up_with(&allowing, "ada@example.com", None).assert_status(302);
    // A wrong secret is the operator's mistake, not the visitor's: the fallback decides too.
    let wrong_secret = protected_portal(
        &origin,
        &[("turnstile_secret_key", "0xwrong"), ("turnstile_fallback", "allow")],
    );
    sign_up_with(&wrong_secret, "bob@example.com", Some("solved.sign-up.9")).assert_status(302);
}
