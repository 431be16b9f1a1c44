//! Hardening 2: the attacks a security review made on a real Spin 4.0.2 against the email flows
//! and the development gate, each replayed through the real component and named after the
//! attack it stops. Those that depend on Spin itself (the peer address, the `Host` a client
//! sends from another machine) are in the real-Spin tier (`real_spin.rs`) too.

use bytes::Bytes;

use crate::support::{Browser, PASSWORD, Portal, request, ses};

/// A production portal that emails through the SES server.
fn production_with_ses(extra: &[(&str, &str)]) -> Portal {
    let server = ses::server();
    let mut vars = server.portal_variables();
    vars.retain(|(name, _)| *name != "email_verification");
    vars.extend_from_slice(extra);
    Portal::production(&vars)
}

// ---------------------------------------------------------------------------------------------
// 1. The development gate

#[test]
fn host_localhost_from_another_address_is_refused_in_development() {
    let portal = Portal::new();
    for forged_host in ["localhost", "127.0.0.1:3000", "[::1]:3000", "app.localhost"] {
        for path in ["/dev/outbox", "/sign-in"] {
            let attack = http::Request::builder()
                .uri(path)
                .header("host", forged_host)
                .header("spin-client-addr", "127.0.0.1:1")
                .body(Bytes::new())
                .unwrap();
            let response = portal.send_from(attack, "203.0.113.50:4000");
            response.assert_status(503);
            assert!(!response.body.contains("outbox"), "{forged_host}{path}");
        }
    }
    // The same request from this machine is served.
    portal.get_at_host("localhost:3000", "/dev/outbox").assert_status(200);
    // A host the operator lists opens the pages to the network, never the outbox.
    let listed = Portal::with_vars(&[("development_hosts", "laptop.lan")]);
    let from_phone = |path: &str| {
        let request = http::Request::builder()
            .uri(path)
            .header("host", "laptop.lan:3000")
            .body(Bytes::new())
            .unwrap();
        listed.send_from(request, "192.168.1.30:5000").status
    };
    assert_eq!(from_phone("/sign-in"), 200);
    assert_eq!(from_phone("/dev/outbox"), 404);
}

// ---------------------------------------------------------------------------------------------
// 2. Emailed links and the request's Host

#[test]
fn a_reset_asked_with_a_forged_host_mails_a_link_to_the_portal_not_the_attacker() {
    let portal = production_with_ses(&[]);
    let mut victim = Browser::at(&portal, "https://accounts.myapp.com");
    victim.sign_up("victim.host@example.com", PASSWORD).assert_status(302);
    let mut attacker = Browser::at(&portal, "https://accounts.myapp.com");
    let page = attacker.get("/forgot-password");
    let csrf = page.input_value("csrf_token").unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf_token", csrf.as_str()),
            ("email_address", "victim.host@example.com"),
        ])
        .finish();
    let attack = request("POST", "/forgot-password")
        .header("host", "evil.example")
        .header("spin-full-url", "https://evil.example/forgot-password")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://accounts.myapp.com")
        .header("sec-fetch-site", "same-origin");
    let asked = attacker.send(attack, Bytes::from(body));
    asked.assert_status(303);
    let mail = ses::server()
        .emails_to("victim.host@example.com")
        .pop()
        .expect("the reset email");
    assert!(!mail.text.contains("evil.example") && !mail.html.contains("evil.example"));
    assert!(
        mail.text.contains("https://accounts.myapp.com/verify?"),
        "{}",
        mail.text
    );
}

#[test]
fn production_without_public_origin_serves_nothing_so_no_link_can_follow_a_forged_host() {
    let portal = production_with_ses(&[("public_origin", "")]);
    for path in ["/sign-in", "/sign-up", "/forgot-password", "/user"] {
        let response = portal.get_at_host("evil.example", path);
        response.assert_status(500);
        assert!(response.logs.contains("public_origin"), "{path}");
        assert!(!response.body.contains("evil.example"), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. The production error page

#[test]
fn the_production_error_page_shows_anonymous_visitors_no_configuration_values() {
    let portal = Portal::production(&[
        ("email_verification", "required"),
        ("email_provider", "ses"),
        ("email_from", "Ops <ops@internal-relay.corp.example>"),
        ("email_api_origin", "https://relay.corp.example:8443"),
    ]);
    let page = portal.get("/sign-up");
    page.assert_status(500);
    for secretish in [
        "internal-relay",
        "relay.corp.example",
        "email_api_key",
        "email_provider",
    ] {
        assert!(!page.body.contains(secretish), "{secretish} shown to a visitor");
    }
    assert!(
        page.logs.contains("email_api_key"),
        "the operator's log says what is wrong"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Login CSRF by code link

#[test]
fn a_code_link_sent_to_a_victim_does_not_sign_the_victim_into_the_attackers_account() {
    let portal = Portal::with_vars(&[("sign_in_with_email_code", "true")]);
    Browser::signed_up(&portal, "mallory@example.com");
    let mut victim = Browser::signed_up(&portal, "victim@example.com");
    let victim_session = victim.cookies["__portal_session"].clone();
    // The attacker asks for a sign-in code for their own account and mails the link on.
    let mut attacker = Browser::new(&portal);
    let asked = attacker.submit("/sign-in", "/sign-in/code", &[("identifier", "mallory@example.com")]);
    asked.assert_status(303);
    let code = portal.newest_outbox_code().unwrap();
    let link = format!("{}&code={code}", asked.location());
    let opened = victim.get(&link);
    opened.assert_status(403);
    assert!(opened.body.contains("only in the browser that asked"));
    assert!(
        !opened.body.contains("mallory@example.com"),
        "nothing of the flow is shown"
    );
    // Posting the code from the victim's browser does not work either.
    let flow = url::Url::parse(&format!("http://x{link}"))
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "flow")
        .unwrap()
        .1
        .into_owned();
    let posted = victim.submit("/user", "/verify", &[("flow", &flow), ("code", &code)]);
    posted.assert_status(403);
    assert_eq!(
        victim.cookies["__portal_session"], victim_session,
        "the victim's session is untouched"
    );
    assert!(victim.get("/user").body.contains("victim@example.com"));
    // In the browser that asked, the same code signs in.
    attacker.enter_code(asked.location(), &code).assert_status(302);
}

// ---------------------------------------------------------------------------------------------
// 4. Flows of an old address

#[test]
fn after_an_address_change_the_old_mailbox_can_neither_sign_in_nor_reset() {
    let portal = Portal::with_vars(&[("sign_in_with_email_code", "true")]);
    let mut ada = Browser::signed_up(&portal, "ada.old@example.com");
    // Whoever reads the old mailbox asked for a sign-in code and a reset before the change.
    let mut old_mailbox = Browser::new(&portal);
    let sign_in = old_mailbox.submit("/sign-in", "/sign-in/code", &[("identifier", "ada.old@example.com")]);
    let sign_in_code = portal.newest_outbox_code().unwrap();
    let mut old_mailbox_too = Browser::new(&portal);
    let reset = old_mailbox_too.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "ada.old@example.com")],
    );
    let reset_code = portal.newest_outbox_code().unwrap();
    // Ada moves to a new address (confirmed by its code).
    let asked = ada.submit(
        "/user",
        "/user/email",
        &[("email_address", "ada.new@example.com"), ("current_password", PASSWORD)],
    );
    ada.enter_emailed_code(asked).assert_status(303);
    assert!(ada.get("/user").body.contains("ada.new@example.com"));
    for (browser, page, code) in [
        (&mut old_mailbox, sign_in.location(), sign_in_code),
        (&mut old_mailbox_too, reset.location(), reset_code),
    ] {
        browser.get(page).assert_status(410);
        let flow = page
            .split("flow=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        let posted = browser.submit(
            "/sign-in",
            "/verify",
            &[("flow", &flow), ("code", &code), ("password", "stolen passphrase 1")],
        );
        posted.assert_status(410);
    }
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows WHERE used_at IS NULL AND email = 'ada.old@example.com'"),
        0
    );
}

#[test]
fn a_password_change_ends_every_code_flow_of_the_account() {
    let portal = Portal::with_vars(&[("sign_in_with_email_code", "true")]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut thief = Browser::new(&portal);
    let asked = thief.submit("/sign-in", "/sign-in/code", &[("identifier", "ada@example.com")]);
    let code = portal.newest_outbox_code().unwrap();
    ada.submit(
        "/user",
        "/user/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "an entirely new passphrase"),
        ],
    )
    .assert_status(303);
    thief.get(asked.location()).assert_status(410);
    let flow = asked
        .location()
        .split("flow=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    thief
        .submit("/sign-in", "/verify", &[("flow", &flow), ("code", &code)])
        .assert_status(410);
    assert!(!thief.cookies.contains_key("__portal_session"));
}

// ---------------------------------------------------------------------------------------------
// 6 and 7. The reset page: the code before Argon2, guesses counted per account

/// A reset flow for `email` started in `browser`: its code page and its code.
fn reset_flow(portal: &Portal, browser: &mut Browser<'_>, email: &str) -> (String, String) {
    let asked = browser.submit("/forgot-password", "/forgot-password", &[("email_address", email)]);
    asked.assert_status(303);
    (asked.location().to_owned(), portal.newest_outbox_code().unwrap())
}

#[test]
fn wrong_reset_codes_run_no_argon2_memory_exhaustion() {
    let portal = Portal::with_vars(&[("password_checks_per_minute", "1000")]);
    Browser::signed_up(&portal, "ada@example.com");
    let mut browser = Browser::new(&portal);
    let (page, code) = reset_flow(&portal, &mut browser, "ada@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let hashes = || portal.count("SELECT COUNT(*) FROM password_checks WHERE scope LIKE 'rate:%'");
    let before = hashes();
    let flow = browser.get(&page).input_value("flow").unwrap();
    for _ in 0..3 {
        let answer = browser.submit(
            &page,
            "/verify",
            &[("flow", &flow), ("code", wrong), ("password", "a brand new passphrase")],
        );
        answer.assert_status(422);
    }
    assert_eq!(hashes(), before, "a wrong code runs no Argon2");
    // The right code hashes once, admitted against the address's rate like every Argon2 run.
    let done = browser.submit(
        &page,
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", "a brand new passphrase")],
    );
    done.assert_status(302);
    assert_eq!(hashes(), before + 1);
}

#[test]
fn a_reset_hash_is_refused_past_the_password_check_rate() {
    let portal = Portal::with_vars(&[("password_checks_per_minute", "1")]);
    Browser::signed_up(&portal, "ada@example.com");
    let mut browser = Browser::new(&portal);
    browser.client_addr = "127.0.30.1:1".into();
    // The one check of the minute goes to a wrong password.
    assert_eq!(browser.sign_in("ada@example.com", "not it").status, 401);
    let (page, code) = reset_flow(&portal, &mut browser, "ada@example.com");
    let flow = browser.get(&page).input_value("flow").unwrap();
    let refused = browser.submit(
        &page,
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", "a brand new passphrase")],
    );
    refused.assert_status(429);
    // Nothing was spent: the code still works once the minute is over (here: the same page).
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows WHERE used_at IS NULL AND purpose = 'reset'"),
        1
    );
}

#[test]
fn reset_code_guesses_count_against_the_account_across_flows_and_resends() {
    let portal = Portal::with_vars(&[("sign_in_max_failures", "3")]);
    Browser::signed_up(&portal, "ada@example.com");
    let mut guesses = 0;
    let mut locked = false;
    // Each new flow would have given five more tries; the account's lock stops that.
    for round in 0..3 {
        let mut browser = Browser::new(&portal);
        browser.client_addr = format!("127.0.40.{round}:1");
        let (page, code) = reset_flow(&portal, &mut browser, "ada@example.com");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let flow = browser.get(&page).input_value("flow").unwrap();
        for _ in 0..2 {
            let answer = browser.submit(
                &page,
                "/verify",
                &[("flow", &flow), ("code", wrong), ("password", "a brand new passphrase")],
            );
            match answer.status {
                422 | 410 => guesses += 1,
                429 => locked = true,
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert!(locked, "the account locks after 3 wrong codes, whatever the flow");
    assert_eq!(guesses, 3);
}

// ---------------------------------------------------------------------------------------------
// 5. Timing (measured on the real Spin in real_spin.rs); what a failure after the response does

#[test]
fn a_reset_email_the_provider_refuses_after_the_response_is_logged_and_can_be_asked_again_at_once() {
    // The webhook provider against the SES server: it refuses a request not signed the AWS way.
    let server = ses::server();
    let portal = Portal::with_vars(&[
        ("email_provider", "webhook"),
        ("email_api_key", "not-an-aws-signature"),
        ("email_from", "no-reply@myapp.com"),
        ("email_api_origin", server.origin.as_str()),
    ]);
    Browser::signed_up(&portal, "ada@example.com");
    let mut browser = Browser::new(&portal);
    let asked = browser.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "ada@example.com")],
    );
    // The same answer as for an address without an account; the failure is the operator's.
    asked.assert_status(303);
    assert!(
        asked.logs.contains("email: not sent (after the response"),
        "{}",
        asked.logs
    );
    assert!(!asked.logs.contains("not-an-aws-signature"));
    let page = browser.get(asked.location());
    let flow = page.input_value("flow").unwrap();
    let again = browser.submit(asked.location(), "/verify/resend", &[("flow", &flow)]);
    again.assert_status(303);
    assert!(
        again.location().contains("sent=1"),
        "no cooldown after a send that failed: {}",
        again.location()
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Tokens and keys across deployments

#[test]
fn a_token_says_who_it_is_for_and_apps_of_another_audience_refuse_it() {
    let portal = Portal::production(&[]);
    let mut ada = Browser::at(&portal, "https://accounts.myapp.com");
    ada.sign_up("ada@example.com", PASSWORD).assert_status(302);
    assert_eq!(ada.claims()["aud"], "myapp.com", "the instance domain by default");
    let configured = Portal::production(&[("session_token_audience", "https://api.myapp.com")]);
    let mut bea = Browser::at(&configured, "https://accounts.myapp.com");
    bea.sign_up("bea@example.com", PASSWORD).assert_status(302);
    assert_eq!(bea.claims()["aud"], "https://api.myapp.com");
    crate::support::verify_token(&configured, &bea.cookies["__session"], "https://accounts.myapp.com");
    let development = Portal::new();
    let mut cem = Browser::new(&development);
    cem.sign_up("cem@example.com", PASSWORD).assert_status(302);
    assert_eq!(
        cem.claims()["aud"],
        "http://127.0.0.1:3000",
        "without a domain: the portal itself"
    );
}

#[test]
fn one_secret_on_two_deployments_gives_different_keys_cross_deployment_tokens() {
    let production = Portal::production(&[]);
    let staging = Portal::production(&[
        ("public_origin", "https://accounts.staging.myapp.com"),
        ("instance_domain", "staging.myapp.com"),
    ]);
    let jwks = |portal: &Portal| portal.get("/.well-known/jwks.json").body;
    assert_ne!(
        jwks(&production),
        jwks(&staging),
        "same secret_key, different deployments"
    );
    // A token of one deployment does not verify against the other's keys.
    let mut ada = Browser::at(&staging, "https://accounts.staging.myapp.com");
    ada.sign_up("ada@example.com", PASSWORD).assert_status(302);
    use base64::Engine as _;
    let header = ada.cookies["__session"].split('.').next().unwrap().to_owned();
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let staging_kid = header["kid"].as_str().unwrap();
    assert!(jwks(&staging).contains(staging_kid));
    assert!(!jwks(&production).contains(staging_kid));
}

// ---------------------------------------------------------------------------------------------
// 7. Bad input that reached PostgreSQL

#[test]
fn a_nul_character_in_a_flow_id_or_slug_is_bad_input_not_a_postgres_error() {
    for portal in [Portal::postgres_with_vars(&[]), Portal::new()] {
        let mut ada = Browser::signed_up(&portal, "ada@example.com");
        crate::support::orgs::create_org(&mut ada, "Acme", "acme").assert_status(302);
        // In a query a parameter with a NUL is as if it were absent.
        ada.get("/verify?flow=flow_abc%00def").assert_status(410);
        ada.get("/organization?switch=acme%00").assert_status(200);
        // In a form it is a malformed body.
        let csrf = ada.get("/user").input_value("csrf_token").unwrap();
        for (action, field) in [
            ("/verify", "flow"),
            ("/organization/switch", "slug"),
            ("/sign-in", "identifier"),
        ] {
            let answer = ada.post_form(action, &[("csrf_token", &csrf), (field, "a\u{0}b")]);
            answer.assert_status(400);
            assert!(
                !answer.logs.contains("invalid byte sequence"),
                "{action}: {}",
                answer.logs
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. What users can make the portal's emails say

/// `inviter_name` (first, last) invites `to` into a new organization `org_name`: the invitation
/// email's subject and text.
fn invitation_email(portal: &Portal, inviter_name: (&str, &str), org_name: &str, to: &str) -> (String, String) {
    use crate::support::orgs::{create_org, invite, org_id};
    let slug = format!("org-{}", to.split('@').next().unwrap());
    let mut inviter = Browser::signed_up(portal, &format!("inviter-of-{to}"));
    inviter
        .submit(
            "/user",
            "/user/profile",
            &[("first_name", inviter_name.0), ("last_name", inviter_name.1)],
        )
        .assert_status(303);
    create_org(&mut inviter, org_name, &slug).assert_status(302);
    invite(&mut inviter, &org_id(portal, &slug), to, "member");
    let field = |column: &str| {
        portal
            .text(&format!("SELECT {column} FROM dev_outbox WHERE recipient = '{to}'"))
            .unwrap()
    };
    (field("subject"), field("text_body"))
}

#[test]
fn an_invitation_email_carries_no_link_a_user_wrote_phishing_through_the_portal() {
    let portal = Portal::new();
    let (subject, text) = invitation_email(
        &portal,
        ("Security", "team {org} evil.example"),
        "Refunds at https://evil.example",
        "victim@example.com",
    );
    for email_part in [&subject, &text] {
        assert!(!email_part.contains("evil.example"), "{email_part}");
        assert!(!email_part.contains("{org}"), "{email_part}");
    }
    assert!(text.contains("Someone invited you to join “an organization”"), "{text}");
    // A plain name is quoted as a name.
    let (_, text) = invitation_email(&portal, ("Ada", "Lovelace"), "Acme Inc.", "bea@example.com");
    assert!(text.contains("Ada Lovelace invited you to join “Acme Inc.”"), "{text}");
}

#[test]
fn probing_usernames_at_sign_up_is_rate_limited_per_address_enumeration() {
    let portal = Portal::with_vars(&[("password_checks_per_minute", "3"), ("username_field", "optional")]);
    Browser::signed_up_with_username(&portal, "ada@example.com", "ada");
    let mut prober = Browser::new(&portal);
    prober.client_addr = "127.0.50.1:1".into();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let email = format!("probe{i}@example.com");
        let answer = prober.submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", &email), ("password", PASSWORD), ("username", "ada")],
        );
        statuses.push(answer.status);
    }
    assert_eq!(statuses[..3], [422, 422, 422], "taken, said openly: {statuses:?}");
    assert!(
        statuses[3..].iter().all(|&s| s == 429),
        "then the address waits: {statuses:?}"
    );
}
