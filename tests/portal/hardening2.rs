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
