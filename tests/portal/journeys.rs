//! Journeys that flow (issue: shared networks, where a post lands, invitations, the code page,
//! slugs): what people behind one address, or on a slow day, meet, through the real component.

use crate::support::{Browser, PASSWORD, Portal};

fn wrong_sign_in(browser: &mut Browser<'_>, identifier: &str) -> crate::support::TestResponse {
    browser.submit(
        "/sign-in",
        "/sign-in",
        &[("identifier", identifier), ("password", "not the password")],
    )
}

#[test]
fn an_office_behind_one_address_is_not_locked_out_by_one_persons_typos() {
    let portal = Portal::production(&[]);
    let origin = "https://accounts.myapp.com";
    Browser::at(&portal, origin)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    Browser::at(&portal, origin)
        .sign_up("bea@example.com", PASSWORD)
        .assert_status(302);
    let mut ada = Browser::at(&portal, origin);
    for _ in 0..5 {
        assert_eq!(wrong_sign_in(&mut ada, "ada@example.com").status, 401);
    }
    let locked = wrong_sign_in(&mut ada, "ada@example.com");
    locked.assert_status(429);
    assert!(locked.header("retry-after").is_some());
    assert!(locked.body.contains("Try again in 15 minutes"), "the minutes left");
    assert!(
        locked.body.contains("href=\"/forgot-password\""),
        "the lock links to a reset"
    );
    assert_eq!(
        locked.input_value("identifier").as_deref(),
        Some("ada@example.com"),
        "the input kept"
    );
    // Bea, at the next desk (the same address), signs in at her first try.
    let mut bea = Browser::at(&portal, origin);
    bea.sign_in("bea@example.com", PASSWORD).assert_status(302);
}

#[test]
fn password_spraying_from_one_address_is_still_stopped_across_accounts() {
    let portal = Portal::production(&[
        ("sign_in_max_failures_per_address", "12"),
        ("password_checks_per_minute", "1000"),
    ]);
    let mut sprayer = Browser::at(&portal, "https://accounts.myapp.com");
    for i in 0..12 {
        assert_eq!(
            wrong_sign_in(&mut sprayer, &format!("user{i}@example.com")).status,
            401,
            "guess {i}"
        );
    }
    wrong_sign_in(&mut sprayer, "user99@example.com").assert_status(429);
}

#[test]
fn a_whole_office_gets_its_codes_but_one_inbox_cannot_be_flooded() {
    let portal = Portal::with_vars(&[("sign_in_with_email_code", "true")]);
    let mut office = Browser::new(&portal);
    // Thirty colleagues behind one address ask for sign-in codes: all are sent.
    for i in 0..30 {
        let asked = office.submit(
            "/sign-in",
            "/sign-in/code",
            &[("identifier", &format!("colleague{i}@example.com"))],
        );
        asked.assert_status(303);
    }
    // One mailbox still gets at most five an hour; the sixth keeps the input and says how long.
    for _ in 0..5 {
        office
            .submit("/sign-in", "/sign-in/code", &[("identifier", "victim@example.com")])
            .assert_status(303);
    }
    let refused = office.submit("/sign-in", "/sign-in/code", &[("identifier", "victim@example.com")]);
    refused.assert_status(429);
    assert!(refused.header("retry-after").is_some());
    assert!(refused.body.contains("Try again in 60 minutes"), "{}", refused.body);
    assert_eq!(refused.input_value("identifier").as_deref(), Some("victim@example.com"));
}

#[test]
fn organization_names_in_any_script_get_a_usable_slug() {
    use crate::support::orgs::create_org;
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Société Générale", "").assert_status(302);
    assert!(
        portal
            .text("SELECT slug FROM organizations WHERE slug = 'societe-generale'")
            .is_some()
    );
    create_org(&mut ada, "Große GmbH", "").assert_status(302);
    assert!(
        portal
            .text("SELECT slug FROM organizations WHERE slug = 'grosse-gmbh'")
            .is_some()
    );
    // Only Japanese: a random slug, not "Slug: required" on a field marked optional.
    create_org(&mut ada, "株式会社アクメ", "").assert_status(302);
    let slug = portal
        .text("SELECT slug FROM organizations WHERE name = '株式会社アクメ'")
        .unwrap();
    assert!(slug.starts_with("org-"), "{slug}");
    // A derived slug that is taken is shown in the field, to change.
    let again = create_org(&mut ada, "Société Générale", "");
    again.assert_status(422);
    assert_eq!(again.input_value("slug").as_deref(), Some("societe-generale"));
}

#[test]
fn the_sole_admin_is_not_offered_controls_that_can_only_fail() {
    use crate::support::orgs::create_org;
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let page = ada.get("/organization");
    assert!(!page.body.contains("action=\"/organization/leave#leave\""), "no Leave");
    assert!(
        !page.body.contains("action=\"/organization/members/role#members\""),
        "no Change role for herself"
    );
    assert!(page.body.contains("An organization must keep at least one admin."));
}

#[test]
fn the_code_page_is_one_people_know() {
    let portal = Portal::with_vars(&[("email_verification", "required")]);
    let mut browser = Browser::new(&portal);
    let asked = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "sam@example.com"), ("password", PASSWORD)],
    );
    asked.assert_status(303);
    let page = browser.get(asked.location());
    for attribute in [
        "inputmode=\"numeric\"",
        "autocomplete=\"one-time-code\"",
        "autofocus",
        "class=\"code-input\"",
    ] {
        assert!(page.body.contains(attribute), "{attribute}");
    }
    // Honest whether or not the address has an account.
    assert!(
        page.body
            .contains("if this address already has an account, a way to sign in instead")
    );
    // A mistyped address starts again at the sign-up form, filled in.
    assert!(
        page.body.contains("href=\"/sign-up?email_address=sam%40example.com\""),
        "Wrong address? Start again"
    );
    // The resend button says how long it waits (the script counts down).
    assert!(page.body.contains("data-wait=\""));
    // A wrong code says how many tries are left.
    let flow = page.input_value("flow").unwrap();
    let code = portal.newest_outbox_code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser.submit(asked.location(), "/verify", &[("flow", &flow), ("code", wrong)]);
    refused.assert_status(422);
    assert!(refused.body.contains("4 tries left."), "{}", refused.body);
    // A sign-up flow that died starts again at sign-up, not sign-in.
    for _ in 0..4 {
        browser.submit(asked.location(), "/verify", &[("flow", &flow), ("code", wrong)]);
    }
    let dead = browser.get(asked.location());
    dead.assert_status(410);
    assert!(dead.body.contains("href=\"/sign-up\""), "{}", dead.body);
}

#[test]
fn the_development_outbox_shows_clickable_links_and_the_html_email() {
    let portal = Portal::with_vars(&[("email_verification", "required")]);
    let mut browser = Browser::new(&portal);
    browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "sam@example.com"), ("password", PASSWORD)],
    );
    let outbox = portal.get_at_host("localhost:3000", "/dev/outbox");
    outbox.assert_status(200);
    assert!(
        outbox.body.contains("<a href=\"http://127.0.0.1:3000/verify?flow="),
        "a clickable link: {}",
        outbox.body
    );
    let id = portal.count("SELECT MAX(id) FROM dev_outbox");
    let html = portal.get_at_host("localhost:3000", &format!("/dev/outbox?html={id}"));
    html.assert_status(200);
    assert!(html.body.contains("<html lang=\"en\">"), "the HTML part");
    let csp = html.header("content-security-policy").unwrap();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    portal
        .get_at_host("localhost:3000", "/dev/outbox?html=999999")
        .assert_status(404);
}

#[test]
fn an_invitation_link_is_shown_once_and_a_reload_invites_no_one_again() {
    use crate::support::orgs::{create_org, org_id, org_post};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let posted = org_post(
        &mut ada,
        "/organization/invitations",
        &acme,
        &[("email_address", "bea@example.com"), ("role", "member")],
    );
    posted.assert_status(303);
    let shown = ada.get(posted.location());
    shown.assert_status(200);
    assert!(shown.body.contains("/organization/invitation?token="));
    // A reload shows it no more and invites no one again.
    let reloaded = ada.get(posted.location());
    reloaded.assert_status(303);
    assert_eq!(reloaded.location(), "/organization");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM invitations WHERE status = 'pending'"),
        1
    );
    // Another session cannot open it (the seal is bound to the session that invited).
    let mut other = Browser::signed_up(&portal, "eve@example.com");
    let stolen = ada.cookies.get("portal_invitation_created").cloned();
    assert!(stolen.is_none(), "the cookie was cleared once shown");
    other.get("/organization/invitations/created").assert_status(303);
}

#[test]
fn the_invitees_own_language_wins_over_the_admins() {
    use crate::support::orgs::{create_org, org_id, org_post};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    ada.get("/user?ui_locales=fr").assert_status(200);
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    org_post(
        &mut ada,
        "/organization/invitations",
        &acme,
        &[("email_address", "bea@example.com"), ("role", "member")],
    )
    .assert_status(303);
    let text = portal
        .text("SELECT text_body FROM dev_outbox WHERE recipient = 'bea@example.com'")
        .unwrap();
    let link = crate::support::link_in(&text, "/organization/invitation?");
    assert!(!link.contains("ui_locales"), "{link}");
}

#[test]
fn a_new_invitee_joins_in_one_trip_with_the_address_the_invitation_proves() {
    use crate::support::orgs::{create_org, invite, org_id};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let copied = invite(&mut ada, &org_id(&portal, "acme"), "bea@example.com", "member");
    let link = crate::support::orgs::emailed_link(&portal, "bea@example.com");
    assert!(link.starts_with(&copied) && link.contains("&proof="), "{link}");
    // Bea opens the emailed link (one mailbox trip): the page says who invited her to what and
    // takes her account right there, her address fixed.
    let mut bea = Browser::new(&portal);
    let page = bea.get(&link);
    page.assert_status(200);
    assert!(
        page.body.contains("ada@example.com invited you to join “Acme”"),
        "who invited her to what"
    );
    assert!(page.body.contains("bea@example.com"));
    assert!(
        page.input_value("email_address").is_none(),
        "the address is the invitation's, not typed"
    );
    let joined = bea.submit(
        &link,
        "/organization/invitation/join",
        &[
            ("token", crate::support::orgs::token_of(&link)),
            ("proof", crate::support::orgs::proof_of(&link)),
            ("password", PASSWORD),
        ],
    );
    joined.assert_status(302);
    assert_eq!(joined.location(), "/organization?notice=invitation_accepted");
    assert_eq!(
        joined
            .set_cookies()
            .iter()
            .filter(|cookie| cookie.starts_with("__session="))
            .count(),
        1,
        "one token, stated once"
    );
    assert_eq!(
        bea.claims()["org_slug"],
        "acme",
        "and it already speaks for the organization"
    );
    assert!(
        bea.get("/organization?notice=invitation_accepted")
            .body
            .contains("Acme")
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'bea@example.com' AND email_verified_at IS NOT NULL"),
        1,
        "verified by the invitation"
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM invitations WHERE status = 'accepted'"),
        1
    );
    // The link is used up: a second try (or someone it was forwarded to) gets nothing.
    let mut other = Browser::new(&portal);
    other.get(&link).assert_status(410);
}

#[test]
fn an_invitee_with_an_account_is_asked_to_sign_in_with_the_address_filled_in() {
    use crate::support::orgs::{create_org, invite, org_id};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    ada.submit(
        "/user",
        "/user/profile",
        &[("first_name", "Ada"), ("last_name", "www.evil.example")],
    )
    .assert_status(303);
    Browser::signed_up(&portal, "bea@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    invite(&mut ada, &org_id(&portal, "acme"), "bea@example.com", "member");
    let link = crate::support::orgs::emailed_link(&portal, "bea@example.com");
    let page = Browser::new(&portal).get(&link);
    page.assert_status(200);
    assert!(page.body.contains("Sign in to accept"));
    assert!(
        page.body.contains("ada@example.com invited you"),
        "a link-shaped name gives way to the inviter's address"
    );
    assert!(page.body.contains("email_address=bea%40example.com"));
    assert!(
        !page.body.contains("/organization/invitation/join"),
        "no second account for that address"
    );
}

#[test]
fn an_admins_copy_of_the_link_cannot_make_a_verified_account_nor_tell_who_has_one() {
    use crate::support::orgs::{create_org, invite, org_id, token_of};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    Browser::signed_up(&portal, "cy@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let for_new = invite(&mut ada, &acme, "bea@example.com", "member");
    let for_existing = invite(&mut ada, &acme, "cy@example.com", "member");
    // Attack: the admin opens their own copy signed out to learn whether an address has an
    // account. Both pages offer the same ways: sign in, or sign up with the address prefilled.
    let mut mallory = Browser::new(&portal);
    for link in [&for_new, &for_existing] {
        let page = mallory.get(link);
        page.assert_status(200);
        assert!(
            !page.body.contains("/organization/invitation/join"),
            "no join form on a copy"
        );
        assert!(page.body.contains("Sign in to accept") && page.body.contains("/sign-up?"));
    }
    // Attack: the admin posts the join with their copy to own a "verified" account for Bea.
    let csrf = mallory.get("/sign-in").input_value("csrf_token").unwrap();
    let forged = mallory.post_form(
        "/organization/invitation/join",
        &[
            ("csrf_token", csrf.as_str()),
            ("token", token_of(&for_new)),
            ("proof", "AAAA"),
            ("password", PASSWORD),
        ],
    );
    forged.assert_status(403);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'bea@example.com'"),
        0,
        "no account for the address"
    );
    // Bea's emailed link still works.
    let emailed = crate::support::orgs::emailed_link(&portal, "bea@example.com");
    assert!(
        Browser::new(&portal)
            .get(&emailed)
            .body
            .contains("/organization/invitation/join")
    );
}
