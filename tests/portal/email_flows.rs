//! The email flows in development mode, read from the development outbox: what `spin up` with
//! zero configuration does. (`email.rs` sends the same flows through a real SES server.)

use crate::support::{Browser, PASSWORD, Portal, TestResponse, link_in, orgs};

/// The default, zero-configuration portal: verified sign-up, development outbox.
fn portal(extra: &[(&str, &str)]) -> Portal {
    let mut vars = vec![("email_verification", "required")];
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

fn newest_email(portal: &Portal, to: &str) -> (String, String) {
    assert!(!to.contains('\''));
    let newest = format!("FROM dev_outbox WHERE recipient = '{to}' ORDER BY id DESC LIMIT 1");
    let subject = portal
        .text(&format!("SELECT subject {newest}"))
        .unwrap_or_else(|| panic!("no email to {to}"));
    (subject, portal.text(&format!("SELECT text_body {newest}")).unwrap())
}

/// A new browser that asked to sign up as `email`: the answer is the 303 to its code page.
fn ask_to_sign_up<'p>(portal: &'p Portal, email: &str) -> (Browser<'p>, TestResponse) {
    let mut browser = Browser::new(portal);
    let asked = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", email), ("password", PASSWORD)],
    );
    asked.assert_status(303);
    (browser, asked)
}

#[test]
fn zero_configuration_shows_codes_in_the_development_outbox_and_the_log() {
    let portal = portal(&[]);
    let (mut browser, asked) = ask_to_sign_up(&portal, "ada@example.com");
    assert!(asked.logs.contains("development outbox"), "{}", asked.logs);
    let code_page = browser.get(asked.location());
    assert!(
        code_page.body.contains("/dev/outbox"),
        "the code page tells the developer where the email went"
    );
    let outbox = browser.get("/dev/outbox");
    outbox.assert_status(200);
    assert!(outbox.body.contains("ada@example.com"));
    let code = portal.newest_outbox_code().unwrap();
    assert!(outbox.body.contains(&code));
    browser.enter_code(asked.location(), &code).assert_status(302);
}

#[test]
fn the_outbox_is_for_this_machine_in_development_only() {
    let dev = Portal::with_vars(&[("development_hosts", "laptop.lan")]);
    dev.get("/dev/outbox").assert_status(200);
    // A tunnel or LAN host that development mode serves still never shows other people's codes.
    dev.get_at_host("laptop.lan", "/dev/outbox").assert_status(404);
    Portal::production(&[]).get("/dev/outbox").assert_status(404);
}

#[test]
fn wrong_codes_count_and_the_fifth_kills_the_code_brute_force() {
    let portal = portal(&[]);
    let (mut browser, asked) = ask_to_sign_up(&portal, "ada@example.com");
    let code = portal.newest_outbox_code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        let answer = browser.enter_code(asked.location(), wrong);
        answer.assert_status(422);
        assert!(answer.body.contains("That code is not right"));
    }
    let fifth = browser.enter_code(asked.location(), wrong);
    assert_eq!(fifth.status, 410, "the fifth wrong try kills the code");
    browser.get(asked.location()).assert_status(410);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn resending_waits_a_minute_and_flooding_an_inbox_is_refused() {
    let portal = portal(&[("sign_in_with_email_code", "true")]);
    let (mut browser, asked) = ask_to_sign_up(&portal, "ada@example.com");
    let page = browser.get(asked.location());
    let flow = page.input_value("flow").unwrap();
    let resent = browser.submit(asked.location(), "/verify/resend", &[("flow", &flow)]);
    resent.assert_status(303);
    assert!(resent.location().contains("&wait="), "{}", resent.location());
    let waiting = browser.get(resent.location());
    assert!(waiting.body.contains("You can ask for a new code in"));
    // Five emails an hour per address, whoever asks.
    for i in 0..4 {
        let mut other = Browser::new(&portal);
        other.client_addr = format!("127.1.0.{i}:4000");
        other
            .submit("/sign-in", "/sign-in/code", &[("identifier", "ada@example.com")])
            .assert_status(303);
    }
    let mut flooder = Browser::new(&portal);
    flooder.client_addr = "127.2.0.1:4000".into();
    let refused = flooder.submit("/sign-in", "/sign-in/code", &[("identifier", "ada@example.com")]);
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());
    // Sends to an address without an account (a pending sign-up) are decoys, but count the same.
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM email_sends WHERE scope = 'to:ada@example.com'"),
        5
    );
}

#[test]
fn email_code_sign_in_is_off_unless_configured_and_the_same_for_unknown_addresses() {
    let off = portal(&[]);
    assert!(!off.get("/sign-in").body.contains("/sign-in/code"));
    Browser::new(&off)
        .submit("/sign-in", "/sign-in/code", &[("identifier", "ada@example.com")])
        .assert_status(404);
    let on = portal(&[("sign_in_with_email_code", "true")]);
    Browser::signed_up(&on, "ada@example.com");
    let known = Browser::new(&on).submit("/sign-in", "/sign-in/code", &[("identifier", "ada@example.com")]);
    let unknown = Browser::new(&on).submit("/sign-in", "/sign-in/code", &[("identifier", "nobody@example.com")]);
    assert_eq!((known.status, unknown.status), (303, 303));
    assert_eq!(
        on.count("SELECT COUNT(*) FROM dev_outbox WHERE recipient = 'nobody@example.com'"),
        0
    );
}

#[test]
fn emails_speak_the_visitors_language() {
    let portal = portal(&[]);
    let mut browser = Browser::new(&portal);
    let asked = browser.submit(
        "/sign-up?ui_locales=fr",
        "/sign-up?ui_locales=fr",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    assert!(asked.location().contains("ui_locales=fr"));
    let (subject, text) = newest_email(&portal, "ada@example.com");
    assert!(subject.contains("est votre code de vérification"), "{subject}");
    assert!(text.contains("Vous recevez cet e-mail"), "{text}");
    assert!(link_in(&text, "/verify?").contains("ui_locales=fr"));
}

#[test]
fn a_new_browser_gets_a_notice_whose_link_signs_that_session_out() {
    let portal = portal(&[]);
    let first = Browser::signed_up(&portal, "ada@example.com");
    let emails_before = portal.count("SELECT COUNT(*) FROM dev_outbox WHERE subject LIKE 'New sign-in%'");
    assert_eq!(emails_before, 0, "the browser an account signed up in is not news");
    drop(first);
    let mut intruder = Browser::new(&portal);
    intruder.client_addr = "127.0.113.9:5000".into();
    intruder.sign_in("ada@example.com", PASSWORD).assert_status(302);
    let (subject, text) = newest_email(&portal, "ada@example.com");
    assert!(subject.starts_with("New sign-in"), "{subject}");
    assert!(text.contains("127.0.113.9"));
    let link = link_in(&text, "/unauthorized-sign-in?token=");
    let page = Browser::new(&portal).get(&link);
    page.assert_status(200);
    assert!(page.body.contains("We signed that session out"));
    assert!(page.body.contains("/forgot-password"));
    intruder.get("/user").assert_status(302);
    // Single use.
    let again = Browser::new(&portal).get(&link);
    assert!(again.body.contains("already used or has expired"));
    // The same browser signing in again is not news.
    let count = portal.count("SELECT COUNT(*) FROM dev_outbox");
    intruder.sign_in("ada@example.com", PASSWORD).assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM dev_outbox"), count);
}

#[test]
fn production_without_a_provider_says_so_instead_of_offering_sign_up() {
    let portal = Portal::production(&[("email_verification", "required")]);
    let page = portal.get("/sign-up");
    page.assert_status(500);
    assert!(
        page.logs.contains("email_provider"),
        "the operator's log says what is missing"
    );
    assert!(page.body.contains("not set up correctly"));
    // Sign-in still works; its reset link leads to the same clear error.
    portal.get("/sign-in").assert_status(200);
}

#[test]
fn invitations_are_emailed_and_need_a_verified_address() {
    // Sign-up without a code, so Bea's address starts unverified; email still works (outbox).
    let portal = Portal::with_vars(&[("email_verification", "off")]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    orgs::create_org(&mut ada, "Acme", "acme").assert_status(302);
    let org_id = orgs::org_id(&portal, "acme");
    let link = orgs::invite(&mut ada, &org_id, "bea@example.com", "member");
    let (subject, text) = newest_email(&portal, "bea@example.com");
    assert!(subject.contains("Acme"), "{subject}");
    assert!(text.contains(orgs::token_of(&link)), "the email carries the link");
    let mut bea = Browser::new(&portal);
    bea.sign_up("bea@example.com", PASSWORD).assert_status(302);
    // Someone who signed up with Bea's address without proving it cannot take her invitation.
    let refused = orgs::accept(&mut bea, &link);
    refused.assert_status(403);
    assert!(refused.body.contains("Verify your email address first"));
    bea.verify_email();
    orgs::accept(&mut bea, &link).assert_status(303);
}
