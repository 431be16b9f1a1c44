//! Organizations through the real component: create, switch, claims, invitations, roles, the
//! last-admin invariant, leaving and deleting.

use crate::support::orgs::{accept, create_org, invite, make_admin, org_id, org_post, switch_to, token_of, user_id};
use crate::support::{Browser, PASSWORD, Portal};

/// Ada, admin of Acme (`acme`), and Bea, a member who joined by invitation.
fn acme_with_a_member(portal: &Portal) -> (Browser<'_>, Browser<'_>, String) {
    let mut ada = Browser::signed_up(portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(portal, "acme");
    let link = invite(&mut ada, &acme, "bea@example.com", "member");
    let mut bea = Browser::signed_up(portal, "bea@example.com");
    accept(&mut bea, &link).assert_status(303);
    (ada, bea, acme)
}

#[test]
fn creating_an_organization_makes_the_creator_admin_and_active() {
    let portal = Portal::with_vars(&[("after_create_organization_url", "http://localhost:3000/org-home")]);
    let signed_out = portal.get("/create-organization");
    signed_out.assert_status(302);
    assert!(signed_out.location().starts_with("/sign-in?redirect_url="));
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    assert_eq!(
        ada.get("/organization").location(),
        "/create-organization",
        "no organization yet"
    );
    let response = create_org(&mut ada, "Acme Corp", "");
    response.assert_status(302);
    assert_eq!(response.location(), "http://localhost:3000/org-home");
    let claims = ada.claims();
    assert_eq!(claims["org_slug"], "acme-corp");
    assert_eq!(claims["org_role"], "admin");
    assert_eq!(claims["org_id"].as_str().unwrap(), org_id(&portal, "acme-corp"));
    let page = ada.get("/organization");
    page.assert_status(200);
    assert!(page.body.contains("Acme Corp"));
    assert!(page.body.contains("id=\"invitations\""), "admins see invitations");
}

#[test]
fn create_organization_honours_redirect_url() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let response = ada.submit(
        "/create-organization?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fteams",
        "/create-organization",
        &[("name", "Acme"), ("slug", "acme")],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "http://localhost:5173/teams");
}

#[test]
fn slug_collisions_and_bad_slugs_are_field_errors() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    let taken = create_org(&mut bea, "Acme Two", "ACME");
    taken.assert_status(422);
    assert!(taken.body.contains("That slug is taken."));
    assert_eq!(taken.input_value("name").as_deref(), Some("Acme Two"));
    let bad = create_org(&mut bea, "", "-x-");
    bad.assert_status(422);
    assert!(bad.body.contains("This field is required."));
    assert!(bad.body.contains("lower-case letters"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM organizations"), 1);
}

#[test]
fn hostile_organization_names_are_escaped() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "<script>alert(1)</script>", "").assert_status(302);
    let page = ada.get("/organization");
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM organizations WHERE slug = 'script-alert-1-script'"),
        1
    );
}

#[test]
fn switching_changes_the_active_organization_and_its_claims() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "First", "first").assert_status(302);
    create_org(&mut ada, "Second", "second").assert_status(302);
    assert_eq!(ada.claims()["org_slug"], "second");
    let response = switch_to(&mut ada, "first");
    response.assert_status(303);
    assert_eq!(response.location(), "/organization?notice=switched");
    assert_eq!(ada.claims()["org_slug"], "first");
    let profile = ada.get("/user");
    assert!(profile.body.contains("name=\"slug\" value=\"second\""));
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    bea.get("/organization?switch=first").assert_status(403);
    bea.get("/organization?switch=nope").assert_status(403);
    let token = bea.get("/user").input_value("csrf_token").unwrap();
    bea.post_form("/organization/switch", &[("csrf_token", &token), ("slug", "first")])
        .assert_status(403);
    assert!(bea.claims().get("org_id").is_none());
}

#[test]
fn invite_accept_and_role_changes_with_a_second_user() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let link = invite(&mut ada, &acme, "Bea@Example.com", "member");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM invitations WHERE status = 'pending'"),
        1
    );
    let token = token_of(&link).to_owned();
    assert_eq!(
        portal.count(&format!(
            "SELECT COUNT(*) FROM invitations WHERE token_hash = '{token}'"
        )),
        0,
        "only the hash is stored"
    );

    let mut bea = Browser::new(&portal);
    let signed_out = bea.get(&link);
    // Signed out, from the admin's copy: the invitation itself, with the ways to sign in or sign
    // up and come back (the account form is only on the emailed link).
    signed_out.assert_status(200);
    assert!(signed_out.body.contains("/sign-up?redirect_url="));
    assert!(
        signed_out.body.contains("/sign-in?redirect_url="),
        "sign in first, then come back"
    );
    bea.sign_up("bea@example.com", PASSWORD).assert_status(302);
    bea.verify_email();
    let page = bea.get(&link);
    page.assert_status(200);
    assert!(page.body.contains("Acme"));
    let accepted = accept(&mut bea, &link);
    accepted.assert_status(303);
    assert_eq!(bea.claims()["org_role"], "member");
    assert_eq!(bea.claims()["org_slug"], "acme");
    let members = ada.get("/organization");
    assert!(members.body.contains("bea@example.com"));

    make_admin(&portal, &mut ada, &acme, "bea@example.com");
    switch_to(&mut bea, "acme");
    assert_eq!(bea.claims()["org_role"], "admin");
    let ada_id = user_id(&portal, "ada@example.com");
    org_post(
        &mut bea,
        "/organization/members/role",
        &acme,
        &[("user_id", &ada_id), ("role", "member")],
    )
    .assert_status(303);
    let page = ada.get("/organization");
    assert!(!page.body.contains("id=\"invitations\""), "ada is a member now");
}

#[test]
fn invitations_are_bound_to_one_email_one_use_and_can_be_revoked() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let link = invite(&mut ada, &acme, "bea@example.com", "member");
    let mut mallory = Browser::signed_up(&portal, "mallory@example.com");
    let wrong = mallory.get(&link);
    wrong.assert_status(403);
    assert!(wrong.body.contains("another email address"));
    let mut signed_out = Browser::new(&portal);
    let csrf = signed_out.get("/sign-in").input_value("csrf_token").unwrap();
    let response = signed_out.post_form(
        "/organization/invitation/accept",
        &[("csrf_token", &csrf), ("token", token_of(&link))],
    );
    response.assert_status(303);
    assert!(
        response.location().starts_with("/sign-in"),
        "signed-out posts go to sign in"
    );
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    accept(&mut bea, &link).assert_status(303);
    bea.get(&link).assert_status(410);

    let second = invite(&mut ada, &acme, "cid@example.com", "admin");
    let invitation = portal
        .text("SELECT id FROM invitations WHERE email = 'cid@example.com'")
        .unwrap();
    org_post(
        &mut ada,
        "/organization/invitations/revoke",
        &acme,
        &[("invitation_id", &invitation)],
    )
    .assert_status(303);
    let mut cid = Browser::signed_up(&portal, "cid@example.com");
    cid.get(&second).assert_status(410);
    let existing = org_post(
        &mut ada,
        "/organization/invitations",
        &acme,
        &[("email_address", "bea@example.com"), ("role", "member")],
    );
    existing.assert_status(422);
    assert!(existing.body.contains("already a member"));
}

#[test]
fn declining_an_invitation_joins_nothing() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let link = invite(&mut ada, &org_id(&portal, "acme"), "bea@example.com", "member");
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    let declined = bea.submit(&link, "/organization/invitation/decline", &[("token", token_of(&link))]);
    declined.assert_status(303);
    assert_eq!(declined.location(), "/user?notice=invitation_declined");
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships"), 1);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM invitations WHERE status = 'declined'"),
        1
    );
}

#[test]
fn members_get_403_for_every_admin_action() {
    let portal = Portal::new();
    let (_ada, mut bea, acme) = acme_with_a_member(&portal);
    let ada_id = user_id(&portal, "ada@example.com");
    let bea_id = user_id(&portal, "bea@example.com");
    for (action, fields) in [
        ("/organization/general", vec![("name", "Pwned"), ("slug", "pwned")]),
        (
            "/organization/members/role",
            vec![("user_id", bea_id.as_str()), ("role", "admin")],
        ),
        ("/organization/members/remove", vec![("user_id", ada_id.as_str())]),
        (
            "/organization/invitations",
            vec![("email_address", "evil@example.com"), ("role", "admin")],
        ),
        ("/organization/invitations/revoke", vec![("invitation_id", "inv_x")]),
        ("/organization/delete", vec![("confirmation", "acme")]),
    ] {
        let response = org_post(&mut bea, action, &acme, &fields);
        response.assert_status(403);
    }
    let mut outsider = Browser::signed_up(&portal, "eve@example.com");
    org_post(&mut outsider, "/organization/leave", &acme, &[]).assert_status(403);
    org_post(
        &mut outsider,
        "/organization/general",
        &acme,
        &[("name", "x"), ("slug", "xyz")],
    )
    .assert_status(403);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM organizations WHERE name = 'Acme' AND slug = 'acme'"),
        1
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships WHERE role = 'admin'"), 1);
}

#[test]
fn the_last_admin_cannot_leave_be_demoted_or_removed() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let ada_id = user_id(&portal, "ada@example.com");
    let leave = org_post(&mut ada, "/organization/leave", &acme, &[]);
    leave.assert_status(409);
    assert!(leave.body.contains("at least one admin"));
    org_post(
        &mut ada,
        "/organization/members/role",
        &acme,
        &[("user_id", &ada_id), ("role", "member")],
    )
    .assert_status(409);
    org_post(&mut ada, "/organization/members/remove", &acme, &[("user_id", &ada_id)]).assert_status(409);
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships WHERE role = 'admin'"), 1);
}

#[test]
fn a_member_leaves_and_goes_to_after_leave_organization_url() {
    let portal = Portal::with_vars(&[("after_leave_organization_url", "http://localhost:3000/left")]);
    let (_ada, mut bea, acme) = acme_with_a_member(&portal);
    let page = bea.get("/organization");
    let csrf = page.input_value("csrf_token").unwrap();
    let target = page.input_value("redirect_target").unwrap();
    let response = bea.post_form(
        "/organization/leave",
        &[("csrf_token", &csrf), ("org_id", &acme), ("redirect_target", &target)],
    );
    response.assert_status(303);
    assert_eq!(response.location(), "http://localhost:3000/left");
    assert!(bea.claims().get("org_id").is_none());
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships"), 1);
    assert_eq!(bea.get("/organization").location(), "/create-organization");
}

#[test]
fn removed_members_lose_the_claims() {
    let portal = Portal::new();
    let (mut ada, mut bea, acme) = acme_with_a_member(&portal);
    let bea_id = user_id(&portal, "bea@example.com");
    org_post(&mut ada, "/organization/members/remove", &acme, &[("user_id", &bea_id)]).assert_status(303);
    bea.get("/sign-in").assert_status(302);
    assert!(bea.claims().get("org_id").is_none());
}

#[test]
fn deleting_an_organization_removes_everything_in_it() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    create_org(&mut ada, "Other", "other").assert_status(302);
    let acme = org_id(&portal, "acme");
    switch_to(&mut ada, "acme");
    let link = invite(&mut ada, &acme, "bea@example.com", "member");
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    accept(&mut bea, &link).assert_status(303);
    invite(&mut ada, &acme, "cid@example.com", "member");
    org_post(&mut ada, "/organization/delete", &acme, &[("confirmation", "wrong")]).assert_status(422);
    org_post(&mut ada, "/organization/delete", &acme, &[("confirmation", "acme")]).assert_status(303);
    assert_eq!(
        portal.count(&format!("SELECT COUNT(*) FROM organizations WHERE id = '{acme}'")),
        0
    );
    assert_eq!(
        portal.count(&format!("SELECT COUNT(*) FROM memberships WHERE org_id = '{acme}'")),
        0
    );
    assert_eq!(
        portal.count(&format!("SELECT COUNT(*) FROM invitations WHERE org_id = '{acme}'")),
        0
    );
    assert_eq!(
        portal.count(&format!(
            "SELECT COUNT(*) FROM portal_sessions WHERE active_org_id = '{acme}'"
        )),
        0
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM organizations"),
        1,
        "the other organization stays"
    );
    assert!(ada.claims().get("org_id").is_none());
    let chooser = ada.get("/organization");
    chooser.assert_status(200);
    assert!(chooser.body.contains("Choose an organization"));
}

#[test]
fn account_deletion_respects_the_last_admin_invariant() {
    let portal = Portal::new();
    let (mut ada, _bea, acme) = acme_with_a_member(&portal);
    let blocked = ada.submit(
        "/user",
        "/user/delete",
        &[("confirmation", "delete my account"), ("current_password", PASSWORD)],
    );
    blocked.assert_status(422);
    assert!(blocked.body.contains("only admin of an organization"));
    make_admin(&portal, &mut ada, &acme, "bea@example.com");
    ada.submit(
        "/user",
        "/user/delete",
        &[("confirmation", "delete my account"), ("current_password", PASSWORD)],
    )
    .assert_status(303);
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships"), 1);
    assert_eq!(portal.count("SELECT COUNT(*) FROM organizations"), 1);
}

#[test]
fn csp_lets_leave_and_delete_end_at_the_leave_fallback() {
    let portal = Portal::with_vars(&[("after_leave_organization_url", "http://localhost:3000/left")]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let page = ada.get("/organization");
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action 'self' http://localhost:3000"), "{csp}");
}

#[test]
fn a_fresh_browser_can_accept_from_the_invitation_page() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let link = invite(&mut ada, &org_id(&portal, "acme"), "bea@example.com", "member");
    // Bea signs up in one browser, then opens the link where the portal has set no CSRF cookie
    // yet: the page's two forms must share one.
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    bea.cookies.retain(|name, _| name.starts_with("__portal_session"));
    let page = bea.get(&link);
    page.assert_status(200);
    assert_eq!(
        page.set_cookies()
            .iter()
            .filter(|c| c.starts_with("__portal_csrf="))
            .count(),
        1
    );
    let tokens: Vec<&str> = page
        .body
        .match_indices("name=\"csrf_token\" value=\"")
        .map(|(i, _)| &page.body[i..i + 60])
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0], tokens[1]);
    accept(&mut bea, &link).assert_status(303);
}
