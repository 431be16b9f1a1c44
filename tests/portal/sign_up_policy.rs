//! Who may sign up, through the real component: the operator's allow and block lists on the
//! sign-up form (with and without a verification code) and on a provider's sign-up; the
//! refusal says nothing about other accounts.

use crate::support::{Browser, PASSWORD, Portal};

#[test]
fn attack_a_blocked_domain_is_refused_at_sign_up_and_a_look_alike_suffix_is_not_it() {
    for verification in ["off", "required"] {
        let portal = Portal::with_vars(&[
            ("sign_up_blocked", "*@evil.example"),
            ("email_verification", verification),
        ]);
        let mut browser = Browser::new(&portal);
        let refused = browser.submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", "Mallory@EVIL.example"), ("password", PASSWORD)],
        );
        refused.assert_status(422);
        assert!(
            refused.body.contains("Sign-up is not open to this email address."),
            "{verification}"
        );
        assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
        assert_eq!(
            portal.count("SELECT COUNT(*) FROM auth_flows"),
            0,
            "no code is sent either"
        );
        let welcome = Browser::new(&portal).sign_up("ada@notevil.example", PASSWORD);
        welcome.assert_status(302);
        assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1, "{verification}");
    }
}

#[test]
fn an_allowlist_admits_only_its_domain_and_subaddresses_fold_when_asked() {
    let portal = Portal::with_vars(&[
        ("sign_up_allowed", "*@myco.com, *@*.myco.com"),
        ("sign_up_blocked", "intern@myco.com"),
        ("sign_up_fold_subaddress", "true"),
    ]);
    for outsider in ["a@gmail.com", "a@myco.com.evil.net", "a@notmyco.com"] {
        let refused = Browser::new(&portal).submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", outsider), ("password", PASSWORD)],
        );
        refused.assert_status(422);
    }
    let tagged = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "intern+again@myco.com"), ("password", PASSWORD)],
    );
    tagged.assert_status(422);
    Browser::new(&portal)
        .sign_up("ada@eu.myco.com", PASSWORD)
        .assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn attack_a_blocked_address_makes_no_account_through_a_provider() {
    use crate::support::oidc::{OidcProvider, ProviderAgent, path_of};
    let provider = OidcProvider::start(serde_json::json!({
        "mallory": { "email": "mallory@evil.example", "email_verified": true }
    }));
    let owned = provider.portal_variables("portal-rs");
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.push(("sign_up_blocked", "*@evil.example"));
    let portal = Portal::with_vars(&vars);
    let mut browser = Browser::new(&portal);
    let started = browser.get("/sign-in/oauth?provider=oidc");
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "mallory");
    let refused = browser.get(&path_of(&back));
    refused.assert_status(403);
    assert!(refused.body.contains("Sign-up is not open to this email address."));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn restricted_sign_up_admits_only_an_invitation() {
    use crate::support::orgs::{create_org, invite, org_id, proof_of, token_of};
    use crate::support::postgres_server;
    // Two portals on one PostgreSQL database: sign-up public, then the operator restricts it.
    let server = postgres_server::server();
    let url = server.url(&server.create_database());
    let host = server.host();
    let shared = [("database_url", url.as_str()), ("database_host", host.as_str())];
    let public = Portal::with_vars(&shared);
    let mut ada = Browser::signed_up(&public, "ada@example.com");
    create_org(&mut ada, "Acme", "acme");
    let acme = org_id(&public, "acme");
    invite(&mut ada, &acme, "bea@example.com", "member");
    // (The outbox of the shared PostgreSQL database: no SQLite rowid here.)
    let text = public
        .text("SELECT text_body FROM dev_outbox WHERE recipient = 'bea@example.com' ORDER BY created_at DESC, id DESC LIMIT 1")
        .unwrap();
    let link = crate::support::link_in(&text, "/organization/invitation?");

    let mut restricted_vars = shared.to_vec();
    restricted_vars.push(("sign_up_mode", "restricted"));
    let portal = Portal::with_vars(&restricted_vars);
    let closed = portal.get("/sign-up");
    closed.assert_status(200);
    assert!(closed.body.contains("Sign-up is by invitation"));
    assert!(
        !closed.body.contains("name=\"password\""),
        "no form that could not be sent"
    );
    let refused = Browser::new(&portal).post_form(
        "/sign-up",
        &[("email_address", "x@example.com"), ("password", PASSWORD)],
    );
    refused.assert_status(403);
    // The account made while sign-up was public signs in as before.
    Browser::new(&portal)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(302);
    // Bea joins from her invitation.
    let mut bea = Browser::new(&portal);
    let joined = bea.submit(
        &link,
        "/organization/invitation/join",
        &[
            ("token", token_of(&link)),
            ("proof", proof_of(&link)),
            ("password", PASSWORD),
        ],
    );
    joined.assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 2);
}

#[test]
fn an_unknown_sign_up_mode_is_read_as_restricted() {
    // A mode the portal does not know: production reads it as restricted, the safe reading.
    let portal = Portal::production(&[("sign_up_mode", "invite-only")]);
    let page = Browser::at(&portal, "https://accounts.myapp.com").get("/sign-up");
    page.assert_status(200);
    assert!(page.body.contains("Sign-up is by invitation"));
}

/// An instance invitation made with the Backend API: its link and its token.
fn invite(portal: &Portal, email: &str) -> (String, String) {
    use crate::api::{call, json_of};
    let made = call(
        portal,
        "POST",
        "/api/v1/invitations",
        &serde_json::json!({"email_address": email}),
    );
    made.assert_status(201);
    let url = json_of(&made)["url"].as_str().unwrap().to_owned();
    let path = url["http://127.0.0.1:3000".len()..].to_owned();
    let token = url[url.find("invitation=").unwrap() + "invitation=".len()..].to_owned();
    (path, token)
}

#[test]
fn attack_an_instance_invitation_opens_a_restricted_sign_up_for_its_address_only_once() {
    for verification in ["required", "off"] {
        let portal = crate::api::portal(&[("sign_up_mode", "restricted"), ("email_verification", verification)]);
        let closed = Browser::new(&portal).get("/sign-up");
        assert!(
            !closed.body.contains("name=\"password\""),
            "closed without an invitation"
        );
        let (link, token) = invite(&portal, "ada@example.com");
        let mut browser = Browser::new(&portal);
        let form = browser.get(&link);
        form.assert_status(200);
        assert!(form.body.contains("ada@example.com"), "the address is shown, not asked");
        assert!(!form.body.contains("name=\"email_address\""));
        // The form is tampered with: the account is still the invitation's address.
        let signed_up = browser.submit(
            &link,
            "/sign-up",
            &[
                ("invitation", &token),
                ("email_address", "eve@example.com"),
                ("password", PASSWORD),
            ],
        );
        browser.enter_emailed_code(signed_up).assert_status(302);
        assert_eq!(
            portal.text("SELECT email FROM users").as_deref(),
            Some("ada@example.com"),
            "{verification}"
        );
        assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
        assert_eq!(
            portal.count("SELECT COUNT(*) FROM instance_invitations WHERE status = 'accepted'"),
            1,
            "{verification}: used up"
        );
        Browser::new(&portal).get(&link).assert_status(410);
        // Without an invitation, the restricted mode stands.
        let refused = Browser::new(&portal).submit(
            "/sign-in",
            "/sign-up",
            &[("email_address", "bea@example.com"), ("password", PASSWORD)],
        );
        refused.assert_status(403);
    }
}

#[test]
fn a_revoked_or_unknown_invitation_opens_nothing() {
    use crate::api::call;
    let portal = crate::api::portal(&[("sign_up_mode", "restricted")]);
    let (link, token) = invite(&portal, "ada@example.com");
    let listed = crate::api::json_of(&call(&portal, "GET", "/api/v1/invitations", &serde_json::Value::Null));
    let id = listed["data"][0]["id"].as_str().unwrap().to_owned();
    call(
        &portal,
        "DELETE",
        &format!("/api/v1/invitations/{id}"),
        &serde_json::Value::Null,
    )
    .assert_status(200);
    Browser::new(&portal).get(&link).assert_status(410);
    let posted = Browser::new(&portal).submit(
        "/sign-in",
        "/sign-up",
        &[
            ("invitation", &token),
            ("email_address", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    posted.assert_status(410);
    Browser::new(&portal)
        .get("/sign-up?invitation=made-up")
        .assert_status(410);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

/// The sign-up link of the newest invitation email to `email` (with its mailbox proof).
fn emailed_invitation_link(portal: &Portal, email: &str) -> String {
    let body = portal
        .text(&format!(
            "SELECT text_body FROM dev_outbox WHERE recipient = '{email}' ORDER BY id DESC LIMIT 1"
        ))
        .expect("an invitation email");
    let start = body.find("/sign-up?invitation=").expect("the sign-up link");
    body[start..]
        .split(|c: char| c.is_whitespace() || c == ')' || c == '>')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn attack_joining_the_waitlist_says_the_same_for_new_waiting_existing_and_blocked_addresses() {
    let portal = crate::api::portal(&[("sign_up_mode", "waitlist"), ("sign_up_blocked", "*@evil.example")]);
    crate::api::create(&portal, serde_json::json!({"email_address": "old@example.com"}));
    let mut answers = Vec::new();
    for address in [
        "new@example.com",
        "NEW@example.com",
        "old@example.com",
        "mallory@evil.example",
    ] {
        let joined = Browser::new(&portal).submit("/waitlist", "/waitlist", &[("email_address", address)]);
        joined.assert_status(200);
        let card = &joined.body[joined.body.find("<main").unwrap()..];
        answers.push(card.to_owned());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "one answer for every address"
    );
    assert!(answers[0].contains("If this address can join"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM waitlist"), 1);
    let bad = Browser::new(&portal).submit("/waitlist", "/waitlist", &[("email_address", "not an address")]);
    bad.assert_status(422);
}

#[test]
fn an_approved_waitlist_entry_gets_an_emailed_link_that_makes_a_verified_account_at_once() {
    use crate::api::{call, json_of};
    let portal = crate::api::portal(&[("sign_up_mode", "waitlist"), ("email_verification", "required")]);
    let closed = Browser::new(&portal).get("/sign-up");
    assert!(
        closed.body.contains("href=\"/waitlist\""),
        "the closed page points to the waitlist"
    );
    Browser::new(&portal)
        .submit("/waitlist", "/waitlist", &[("email_address", "bea@example.com")])
        .assert_status(200);
    let waiting = json_of(&call(&portal, "GET", "/api/v1/waitlist", &serde_json::Value::Null));
    assert_eq!(waiting["total_count"], 1);
    let id = waiting["data"][0]["id"].as_str().unwrap().to_owned();
    let approved = call(
        &portal,
        "POST",
        &format!("/api/v1/waitlist/{id}/approve"),
        &serde_json::Value::Null,
    );
    approved.assert_status(200);
    assert_eq!(json_of(&approved)["email_address"], "bea@example.com");
    let again = call(
        &portal,
        "POST",
        &format!("/api/v1/waitlist/{id}/approve"),
        &serde_json::Value::Null,
    );
    again.assert_status(404);

    let link = emailed_invitation_link(&portal, "bea@example.com");
    assert!(link.contains("&proof="), "{link}");
    let mut bea = Browser::new(&portal);
    let form = bea.get(&link);
    form.assert_status(200);
    let token = form.input_value("invitation").unwrap();
    let proof = form.input_value("proof").unwrap();
    let done = bea.submit(
        &link,
        "/sign-up",
        &[("invitation", &token), ("proof", &proof), ("password", PASSWORD)],
    );
    done.assert_status(302);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'bea@example.com' AND email_verified_at IS NOT NULL"),
        1,
        "the emailed link proved the address: no code"
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM instance_invitations WHERE status = 'accepted'"),
        1
    );
    // Attack: a forged proof verifies nothing (a code is asked for instead).
    let (copied, copied_token) = invite(&portal, "cy@example.com");
    let mut cy = Browser::new(&portal);
    let forged = cy.submit(
        &copied,
        "/sign-up",
        &[
            ("invitation", &copied_token),
            ("proof", "forged"),
            ("password", PASSWORD),
        ],
    );
    forged.assert_status(303);
    assert!(forged.location().starts_with("/verify"), "{}", forged.location());
}

#[test]
fn the_waitlist_page_exists_only_in_waitlist_mode() {
    Portal::new().get("/waitlist").assert_status(404);
}
