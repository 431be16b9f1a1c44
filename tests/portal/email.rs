//! Email through a real SES v2 server (`aws-ses-v2-local`), with outbound HTTP allowed exactly
//! as `spin.toml` grants it: verified sign-up, password reset and email-code sign-in, each
//! completed by reading the code from the received mail.

use crate::support::host::{AllowedHost, AppConfig};
use crate::support::ses;
use crate::support::{Browser, PASSWORD, Portal};

/// A development portal that sends through the SES v2 provider to the local server.
fn portal_with_ses(extra: &[(&str, &str)]) -> Portal {
    let mut vars = ses::server().portal_variables();
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

#[test]
fn verified_sign_up_completes_with_the_code_from_the_received_mail() {
    let portal = portal_with_ses(&[]);
    let mut browser = Browser::new(&portal);
    let asked = browser.submit(
        "/sign-up?redirect_url=%2Fuser",
        "/sign-up",
        &[("email_address", "sam.signup@example.com"), ("password", PASSWORD)],
    );
    asked.assert_status(303);
    assert!(asked.location().starts_with("/verify?flow="));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users"),
        0,
        "no account before the code"
    );
    let mail = ses::server()
        .emails_to("sam.signup@example.com")
        .pop()
        .expect("the code email arrived");
    assert_eq!(mail.from, "My App <no-reply@myapp.com>");
    assert!(mail.subject.contains(&mail.code()));
    assert!(mail.html.contains(&mail.code()), "HTML and text both carry the code");
    assert!(mail.text.contains("because this address was entered"));
    // The link fills the code in; a GET (a mail scanner) consumes nothing.
    let link = mail.link("/verify?");
    let prefilled = browser.get(&link);
    prefilled.assert_status(200);
    assert_eq!(prefilled.input_value("code").as_deref(), Some(mail.code().as_str()));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows WHERE used_at IS NOT NULL"),
        0
    );
    let done = browser.enter_code(&link, &mail.code());
    done.assert_status(302);
    assert_eq!(done.location(), "/user");
    assert_eq!(
        portal.count(
            "SELECT COUNT(*) FROM users WHERE email = 'sam.signup@example.com' AND email_verified_at IS NOT NULL"
        ),
        1
    );
    let stored = format!(
        "SELECT COUNT(*) FROM auth_flows WHERE code_hash LIKE '%{}%'",
        mail.code()
    );
    assert_eq!(portal.count(&stored), 0, "codes are stored only as keyed hashes");
}

/// Signs up on `portal` and enters the code from the SES server's mail.
fn signed_up_through_ses<'p>(portal: &'p Portal, email: &str) -> Browser<'p> {
    let mut browser = Browser::new(portal);
    let asked = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", email), ("password", PASSWORD)],
    );
    asked.assert_status(303);
    let code = ses::server().emails_to(email).pop().expect("the code email").code();
    browser.enter_code(asked.location(), &code).assert_status(302);
    browser
}

#[test]
fn sign_up_for_a_taken_address_looks_the_same_and_tells_the_owner_account_enumeration() {
    let portal_required = portal_with_ses(&[]);
    signed_up_through_ses(&portal_required, "owner.taken2@example.com");
    let mut stranger = Browser::new(&portal_required);
    let again = stranger.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("email_address", "owner.taken2@example.com"),
            ("password", "a different password"),
        ],
    );
    let mut newcomer = Browser::new(&portal_required);
    let fresh = newcomer.submit(
        "/sign-up",
        "/sign-up",
        &[
            ("email_address", "fresh.person@example.com"),
            ("password", "a different password"),
        ],
    );
    assert_eq!((again.status, fresh.status), (303, 303), "the same answer for both");
    assert!(again.location().starts_with("/verify?flow=") && fresh.location().starts_with("/verify?flow="));
    let owner_mail = ses::server().emails_to("owner.taken2@example.com").pop().unwrap();
    assert!(
        owner_mail.subject.contains("tried to sign up"),
        "{}",
        owner_mail.subject
    );
    assert!(owner_mail.text.contains("/forgot-password"));
    // No code works on the decoy flow.
    stranger.enter_code(again.location(), "000000").assert_status(422);
}

#[test]
fn password_reset_by_emailed_code_ends_other_sessions_and_signs_in() {
    let portal = portal_with_ses(&[]);
    let mut first = signed_up_through_ses(&portal, "rita.reset@example.com");
    let mut other = Browser::new(&portal);
    let sent = other.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "rita.reset@example.com")],
    );
    sent.assert_status(303);
    let mail = ses::server().emails_to("rita.reset@example.com").pop().unwrap();
    assert!(mail.subject.contains("Reset"), "{}", mail.subject);
    let page = other.get(sent.location());
    let flow = page.input_value("flow").unwrap();
    let reset = other.submit(
        sent.location(),
        "/verify",
        &[
            ("flow", &flow),
            ("code", &mail.code()),
            ("password", "a brand new passphrase"),
        ],
    );
    reset.assert_status(302);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM portal_sessions"),
        1,
        "every other session ended"
    );
    first.get("/user").assert_status(302);
    Browser::new(&portal)
        .sign_in("rita.reset@example.com", "a brand new passphrase")
        .assert_status(302);
    // An unknown address gets the same answer and no email.
    let unknown = Browser::new(&portal).submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "nobody.here@example.com")],
    );
    unknown.assert_status(303);
    assert!(ses::server().emails_to("nobody.here@example.com").is_empty());
}

#[test]
fn email_code_sign_in_signs_in_with_the_received_code() {
    let portal = portal_with_ses(&[("sign_in_with_email_code", "true")]);
    signed_up_through_ses(&portal, "carl.code@example.com");
    let mut browser = Browser::new(&portal);
    let page = browser.get("/sign-in");
    assert!(page.body.contains("formaction=\"/sign-in/code\""));
    let sent = browser.submit("/sign-in", "/sign-in/code", &[("identifier", "carl.code@example.com")]);
    sent.assert_status(303);
    let mail = ses::server().emails_to("carl.code@example.com").pop().unwrap();
    assert!(mail.subject.contains("sign-in code"), "{}", mail.subject);
    let signed_in = browser.enter_code(sent.location(), &mail.code());
    signed_in.assert_status(302);
    assert!(browser.cookies.contains_key("__session"));
    // Replay: the same code a second time.
    browser.get(sent.location()).assert_status(410);
}

#[test]
fn a_failing_provider_is_a_retryable_page_and_nothing_is_created() {
    // SES without the local server: the provider's public API, which the test host cannot reach.
    let portal = Portal::with_vars(&[
        ("email_provider", "ses"),
        ("email_api_key", "AKID:secret"),
        ("email_from", "no-reply@myapp.com"),
        ("email_verification", "required"),
    ]);
    let mut browser = Browser::new(&portal);
    let failed = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "nina.nomail@example.com"), ("password", PASSWORD)],
    );
    failed.assert_status(503);
    assert!(failed.body.contains("could not be sent"));
    assert!(failed.logs.contains("email: not sent"), "{}", failed.logs);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows"),
        0,
        "the flow is forgotten"
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn outbound_requests_are_allowed_exactly_as_spin_toml_grants_them() {
    let dir = std::env::temp_dir();
    let defaults = AppConfig::new(dir.join("unused.db"), &[]);
    let allows = |config: &AppConfig, url: &str| {
        let uri: http::Uri = url.parse().unwrap();
        config
            .allowed_outbound_hosts
            .iter()
            .any(|allowed: &AllowedHost| allowed.allows(&uri))
    };
    assert!(allows(&defaults, "https://api.resend.com/emails"));
    assert!(allows(
        &defaults,
        "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"
    ));
    // Exfiltration: any other destination is refused by the host.
    assert!(!allows(&defaults, "https://evil.example.com/"));
    assert!(
        !allows(&defaults, "http://api.resend.com/emails"),
        "the scheme is part of the grant"
    );
    assert!(!allows(&defaults, "http://127.0.0.1:8005/"));
    let local = AppConfig::new(dir.join("unused.db"), &[("email_api_origin", "http://127.0.0.1:8005")]);
    assert!(allows(&local, "http://127.0.0.1:8005/v2/email/outbound-emails"));
    assert!(!allows(&local, "http://127.0.0.1:8006/"), "only the configured port");
}

#[test]
fn a_provider_refusal_is_logged_with_its_reason_and_shown_as_retryable() {
    // The webhook provider against the SES server: it refuses a request not signed the AWS way.
    let server = ses::server();
    let portal = Portal::with_vars(&[
        ("email_provider", "webhook"),
        ("email_api_key", "not-an-aws-signature"),
        ("email_from", "no-reply@myapp.com"),
        ("email_api_origin", server.origin.as_str()),
        ("email_verification", "required"),
    ]);
    let refused = Browser::new(&portal).submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "nobody.refused@example.com")],
    );
    // An unknown address sends nothing, so use sign-up, which always sends.
    refused.assert_status(303);
    let failed = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "rex.refused@example.com"), ("password", PASSWORD)],
    );
    failed.assert_status(503);
    assert_eq!(failed.header("retry-after"), Some("30"));
    assert!(
        failed.logs.contains("webhook answered 400 Bad Request: Not Authorized"),
        "{}",
        failed.logs
    );
    assert!(!failed.logs.contains("not-an-aws-signature"), "the key is never logged");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows WHERE email = 'rex.refused@example.com'"),
        0
    );
}

#[test]
fn a_provider_that_never_answers_times_out_into_a_retryable_page() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        // Accept and hold every connection without a word.
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let portal = Portal::with_vars(&[
        ("email_provider", "webhook"),
        ("email_from", "no-reply@myapp.com"),
        ("email_api_origin", origin.as_str()),
        ("email_verification", "required"),
    ]);
    let failed = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "tim.timeout@example.com"), ("password", PASSWORD)],
    );
    failed.assert_status(503);
    assert!(
        failed.logs.contains("could not be reached: timed out"),
        "{}",
        failed.logs
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM auth_flows"), 0, "nothing half-done");
}

#[test]
fn production_never_logs_codes_or_links() {
    let server = ses::server();
    let portal = Portal::production(&[
        ("email_provider", "ses"),
        ("email_api_key", "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("email_from", "My App <no-reply@myapp.com>"),
        ("email_api_origin", server.origin.as_str()),
        ("email_verification", "required"),
    ]);
    let mut browser = Browser::at(&portal, "https://accounts.myapp.com");
    let asked = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "pat.production@example.com"), ("password", PASSWORD)],
    );
    asked.assert_status(303);
    let mail = server
        .emails_to("pat.production@example.com")
        .pop()
        .expect("sent through SES");
    assert!(
        mail.text.contains("https://accounts.myapp.com/verify?flow="),
        "links use public_origin"
    );
    assert!(!asked.logs.contains(&mail.code()), "{}", asked.logs);
    assert!(!asked.logs.contains("/verify?flow="), "{}", asked.logs);
    let done = browser.enter_code(asked.location(), &mail.code());
    done.assert_status(302);
    assert!(!done.logs.contains(&mail.code()));
}
