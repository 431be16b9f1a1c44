//! The admin console (`/admin`) through the real component: who may open it (attacks: a
//! non-admin, an admin without a verified address, an admin whose session has no second factor,
//! CSRF), and what an operator does there, each action in the audit log.

use crate::support::two_step::turn_on;
use crate::support::{Browser, PASSWORD, Portal};

const ROOT: &str = "root@example.com";

fn portal() -> Portal {
    Portal::with_vars(&[("admin_emails", ROOT)])
}

/// The operator: a verified address in `admin_emails`, signed in with two factors.
fn operator(portal: &Portal) -> Browser<'_> {
    let mut root = Browser::signed_up(portal, ROOT);
    turn_on(&mut root);
    root
}

fn user_id(portal: &Portal, email: &str) -> String {
    portal
        .text(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .unwrap()
}

#[test]
fn attack_a_signed_in_person_who_is_not_an_operator_finds_nothing() {
    let portal = portal();
    let mut eve = Browser::signed_up(&portal, "eve@example.com");
    turn_on(&mut eve);
    for path in [
        "/admin",
        "/admin/user?id=x",
        "/admin/organizations",
        "/admin/webhooks",
        "/admin/audit",
    ] {
        eve.get(path).assert_status(404);
    }
    let victim = user_id(&portal, "eve@example.com");
    let refused = eve.submit("/user", "/admin/user/action", &[("id", &victim), ("action", "ban")]);
    refused.assert_status(404);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE banned_at IS NOT NULL"),
        0
    );
    // Signed out, the console asks for a sign-in like every signed-in page.
    let signed_out = Browser::new(&portal).get("/admin");
    signed_out.assert_status(302);
    assert!(signed_out.location().starts_with("/sign-in"));
}

#[test]
fn attack_an_operator_address_that_is_not_verified_is_refused() {
    // Email verification off: anyone could sign up with the operator's address unverified.
    let portal = Portal::with_vars(&[("admin_emails", ROOT), ("email_verification", "off")]);
    let mut impostor = Browser::new(&portal);
    impostor.sign_up(ROOT, PASSWORD).assert_status(302);
    let refused = impostor.get("/admin");
    refused.assert_status(403);
    assert!(refused.body.contains("verified email address"), "{}", refused.body);
}

#[test]
fn attack_an_operator_session_without_a_second_factor_is_refused() {
    let portal = portal();
    let mut root = Browser::signed_up(&portal, ROOT);
    let refused = root.get("/admin");
    refused.assert_status(403);
    assert!(refused.body.contains("two-step verification"));
    // With the app on, a password-only sign-in cannot happen: the second step comes first.
    turn_on(&mut root);
    root.get("/admin").assert_status(200);
    root.submit("/sign-out", "/sign-out", &[]).assert_status(302);
    let mut half = Browser::new(&portal);
    let first = half.sign_in(ROOT, PASSWORD);
    first.assert_status(303);
    assert!(first.location().starts_with("/sign-in/factor-two"));
    assert_eq!(half.get("/admin").status, 302, "no session until the second factor");
}

#[test]
fn attack_a_cross_site_post_to_the_console_changes_nothing() {
    let portal = portal();
    let mut root = operator(&portal);
    Browser::signed_up(&portal, "ada@example.com");
    let ada = user_id(&portal, "ada@example.com");
    let forged = root.post_form("/admin/user/action", &[("id", &ada), ("action", "ban")]);
    forged.assert_status(403);
    let token = root
        .get(&format!("/admin/user?id={ada}"))
        .input_value("csrf_token")
        .unwrap();
    for (header, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let body = format!("csrf_token={token}&id={ada}&action=ban");
        let builder = crate::support::request("POST", "/admin/user/action")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(header, value);
        root.send(builder, bytes::Bytes::from(body)).assert_status(403);
    }
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE banned_at IS NOT NULL"),
        0
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM admin_audit"), 0);
}

#[test]
fn an_operator_finds_a_user_acts_and_every_action_is_audited() {
    let portal = portal();
    let mut root = operator(&portal);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    turn_on(&mut ada);
    ada.submit(
        "/create-organization",
        "/create-organization",
        &[("name", "Acme"), ("slug", "acme")],
    )
    .assert_status(302);
    let id = user_id(&portal, "ada@example.com");

    let list = root.get("/admin?q=ADA");
    list.assert_status(200);
    assert!(list.body.contains("ada@example.com"));
    let page = root.get(&format!("/admin/user?id={id}"));
    page.assert_status(200);
    for shown in [
        "Authenticator app",
        "Acme",
        "public_metadata",
        "Suspend the account",
        "Reset two-step verification",
    ] {
        assert!(page.body.contains(shown), "{shown}");
    }

    let act = |root: &mut Browser<'_>, action: &str, extra: &[(&str, &str)]| {
        let mut fields = vec![("id", id.as_str()), ("action", action)];
        fields.extend_from_slice(extra);
        root.submit(&format!("/admin/user?id={id}"), "/admin/user/action", &fields)
    };
    let banned = act(&mut root, "ban", &[]);
    banned.assert_status(303);
    assert!(root.get(banned.location()).body.contains("It is in the audit log"));
    assert_eq!(ada.get("/user").status, 302, "the banned user's session ended");
    act(&mut root, "unban", &[]).assert_status(303);
    Browser::new(&portal)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(303);

    let emails_before = portal.count("SELECT COUNT(*) FROM dev_outbox");
    act(&mut root, "reset_two_step", &[]).assert_status(303);
    assert_eq!(
        portal.count(&format!("SELECT COUNT(*) FROM totp_factors WHERE user_id = '{id}'")),
        0
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM dev_outbox"),
        emails_before + 1,
        "the person is told"
    );
    Browser::new(&portal)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(302);
    act(&mut root, "sign_out", &[]).assert_status(303);
    assert_eq!(
        portal.count(&format!("SELECT COUNT(*) FROM portal_sessions WHERE user_id = '{id}'")),
        0
    );

    act(&mut root, "delete", &[("confirmation", "not the address")]).assert_status(400);
    let deleted = act(&mut root, "delete", &[("confirmation", "ADA@example.com")]);
    deleted.assert_status(303);
    assert_eq!(deleted.location(), "/admin?notice=admin_done");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'"),
        0
    );

    let audit = root.get("/admin/audit");
    audit.assert_status(200);
    for action in ["ban", "unban", "reset_two_step", "sign_out", "delete"] {
        assert!(audit.body.contains(&format!(">{action}<")), "{action}");
    }
    assert!(audit.body.contains(ROOT));
    assert!(audit.body.contains("127.0.0.1"), "from where");
    assert_eq!(portal.count("SELECT COUNT(*) FROM admin_audit"), 5);
    root.get("/admin/organizations?q=acme").assert_status(200);
}

#[test]
fn the_console_shows_webhook_deliveries_and_retries_one() {
    use crate::support::webhooks::{Receiver, SECRET};
    let receiver = Receiver::start(SECRET);
    receiver.set_mode("fail");
    let owned = receiver.portal_variables(SECRET);
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.push(("admin_emails", ROOT));
    let portal = Portal::with_vars(&vars);
    let mut root = operator(&portal);
    receiver.wait_for(1);
    portal.execute("UPDATE webhook_events SET failed_at = 1, created_at = 1");
    let page = root.get("/admin/webhooks");
    page.assert_status(200);
    assert!(page.body.contains("user.created"));
    assert!(page.body.contains("failed"));
    receiver.set_mode("ok");
    let event = portal
        .text("SELECT id FROM webhook_events WHERE event_type = 'user.created'")
        .unwrap();
    let retried = root.submit("/admin/webhooks", "/admin/webhooks/retry", &[("id", &event)]);
    retried.assert_status(303);
    let delivered = receiver.wait_for(3);
    assert!(
        delivered
            .iter()
            .any(|entry| entry["id"] == event.as_str() && entry["status"] == 204),
        "{delivered:?}"
    );
    assert!(root.get("/admin/audit").body.contains("retry_webhook"));
}

#[test]
fn an_operator_sees_and_revokes_instance_invitations() {
    let portal = Portal::with_vars(&[("admin_emails", ROOT), ("api_secret_key", crate::api::KEY)]);
    let mut root = operator(&portal);
    crate::api::call(
        &portal,
        "POST",
        "/api/v1/invitations",
        &serde_json::json!({"email_address": "dee@example.com"}),
    )
    .assert_status(201);
    let page = root.get("/admin/invitations");
    page.assert_status(200);
    assert!(page.body.contains("dee@example.com"));
    let id = portal.text("SELECT id FROM instance_invitations").unwrap();
    root.submit("/admin/invitations", "/admin/invitations/revoke", &[("id", &id)])
        .assert_status(303);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM instance_invitations WHERE status = 'revoked'"),
        1
    );
    assert!(root.get("/admin/audit").body.contains("revoke_invitation"));
}

#[test]
fn an_operator_asks_an_unverified_person_to_verify_their_address() {
    let portal = Portal::with_vars(&[("admin_emails", ROOT), ("email_verification", "off")]);
    let mut root = operator(&portal);
    let mut unverified = Browser::new(&portal);
    unverified.sign_up("ada@example.com", PASSWORD).assert_status(302);
    let id = user_id(&portal, "ada@example.com");
    let page = root.get(&format!("/admin/user?id={id}"));
    assert!(page.body.contains("Ask to verify the address"), "{}", page.body);
    let before = portal.count("SELECT COUNT(*) FROM dev_outbox WHERE recipient = 'ada@example.com'");
    root.submit(
        &format!("/admin/user?id={id}"),
        "/admin/user/action",
        &[("id", &id), ("action", "resend_verification")],
    )
    .assert_status(303);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM dev_outbox WHERE recipient = 'ada@example.com'"),
        before + 1
    );
    assert!(
        portal
            .text("SELECT subject FROM dev_outbox ORDER BY id DESC LIMIT 1")
            .unwrap()
            .contains("verify your email address")
    );
    assert!(root.get("/admin/audit").body.contains("resend_verification"));
}

#[test]
fn an_operator_approves_the_waitlist_and_the_person_is_emailed() {
    let portal = Portal::with_vars(&[
        ("admin_emails", ROOT),
        ("sign_up_mode", "waitlist"),
        ("api_secret_key", crate::api::KEY),
    ]);
    // Sign-up is by waitlist: the operator's account comes from the Backend API.
    crate::api::create(
        &portal,
        serde_json::json!({"email_address": ROOT, "password": PASSWORD}),
    );
    let mut root = Browser::new(&portal);
    root.sign_in(ROOT, PASSWORD).assert_status(302);
    turn_on(&mut root);
    Browser::new(&portal)
        .submit("/waitlist", "/waitlist", &[("email_address", "bea@example.com")])
        .assert_status(200);
    let page = root.get("/admin/waitlist");
    page.assert_status(200);
    assert!(page.body.contains("bea@example.com"));
    let id = portal.text("SELECT id FROM waitlist").unwrap();
    root.submit("/admin/waitlist", "/admin/waitlist/approve", &[("id", &id)])
        .assert_status(303);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM waitlist WHERE invited_at IS NOT NULL"),
        1
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM dev_outbox WHERE recipient = 'bea@example.com'"),
        1,
        "the invitation is emailed"
    );
    assert!(root.get("/admin/audit").body.contains("approve_waitlist"));
}
