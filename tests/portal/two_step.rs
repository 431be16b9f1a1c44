//! Two-step verification through the real component, each flow also on PostgreSQL: setting up
//! an authenticator app from the page (codes computed by Debian's `oathtool`, a generator this
//! project does not contain, from the key the page shows), the second step of every way in,
//! backup codes, step-up before sensitive changes, and what apps learn (`amr`, `fva`).

use crate::support::two_step::{key_on, oathtool, turn_on};
use crate::support::{Browser, PASSWORD, Portal, TestResponse};

/// Signs in with the password, which stops at the second step: that page.
fn password_step<'p>(portal: &'p Portal, email: &str) -> (Browser<'p>, String) {
    let mut browser = Browser::new(portal);
    let first = browser.submit(
        "/sign-in?redirect_url=%2Fuser",
        "/sign-in",
        &[("identifier", email), ("password", PASSWORD)],
    );
    first.assert_status(303);
    assert!(
        first.location().starts_with("/sign-in/factor-two?flow="),
        "{}",
        first.location()
    );
    assert!(
        !browser.cookies.contains_key("__session"),
        "no token before the second factor"
    );
    assert!(!browser.cookies.contains_key("__portal_session"), "no session either");
    let location = first.location().to_owned();
    (browser, location)
}

fn submit_code(browser: &mut Browser<'_>, page: &str, code: &str) -> TestResponse {
    let form = browser.get(page);
    form.assert_status(200);
    let flow = form.input_value("flow").unwrap();
    let mut fields = vec![("flow", flow.as_str()), ("code", code)];
    let method = form.input_value("method");
    if let Some(method) = &method {
        fields.push(("method", method));
    }
    browser.submit(page, "/sign-in/factor-two", &fields)
}

#[test]
fn an_authenticator_app_is_set_up_on_the_profile_and_asked_for_at_sign_in() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    assert!(ada.get("/user").body.contains("Set up an authenticator app"));
    let (key, _) = turn_on(&mut ada);
    let profile = ada.get("/user?notice=two_step_on");
    assert!(profile.body.contains("Two-step verification is on."));
    assert!(profile.body.contains("10 backup codes left"));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM totp_factors WHERE enabled_at IS NOT NULL"),
        1
    );
    assert!(
        portal.blob("SELECT secret FROM totp_factors").unwrap().len() > 20,
        "sealed, not the bare secret"
    );
    ada.submit("/sign-out", "/sign-out", &[]).assert_status(302);

    let (mut browser, page) = password_step(&portal, "ada@example.com");
    let form = browser.get(&page);
    assert!(form.body.contains("autocomplete=\"one-time-code\""));
    let wrong = if oathtool(&key, 30) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = submit_code(&mut browser, &page, wrong);
    refused.assert_status(422);
    assert!(refused.body.contains("That code is not right"));
    // The next step's code (the current one was used to turn the app on).
    let done = submit_code(&mut browser, &page, &oathtool(&key, 30));
    done.assert_status(302);
    assert_eq!(done.location(), "/user");
    let claims = browser.claims();
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["fva"], serde_json::json!([0, 0]));
    browser.get("/user").assert_status(200);
}

#[test]
fn skipping_the_second_step_by_going_to_another_page_leaves_the_visitor_signed_out() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    turn_on(&mut ada);
    let (mut browser, page) = password_step(&portal, "ada@example.com");
    for path in ["/user", "/organization", "/create-organization"] {
        browser.get(path).assert_status(302);
    }
    let bounce = browser.get("/sign-in?redirect_url=%2Fuser");
    bounce.assert_status(200);
    assert!(bounce.set_cookie("__session").is_none());
    // The pending sign-in works only from this browser.
    let mut other = Browser::new(&portal);
    other.get(&page).assert_status(403);
}

#[test]
fn a_password_reset_cannot_skip_the_second_factor() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let (key, _) = turn_on(&mut ada);
    let mut browser = Browser::new(&portal);
    let asked = browser.submit(
        "/forgot-password",
        "/forgot-password",
        &[("email_address", "ada@example.com")],
    );
    let code = portal.newest_outbox_code().unwrap();
    let flow = browser.get(asked.location()).input_value("flow").unwrap();
    let reset = browser.submit(
        asked.location(),
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", "a brand new passphrase")],
    );
    reset.assert_status(303);
    assert!(
        reset.location().starts_with("/sign-in/factor-two?flow="),
        "{}",
        reset.location()
    );
    assert!(!browser.cookies.contains_key("__portal_session"));
    let page = reset.location().to_owned();
    let done = submit_code(&mut browser, &page, &oathtool(&key, 30));
    done.assert_status(302);
    assert_eq!(done.location(), "/user?notice=password_reset");
}

#[test]
fn a_backup_code_signs_in_once_says_how_many_are_left_and_emails_the_user() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let (_, codes) = turn_on(&mut ada);
    let (mut browser, page) = password_step(&portal, "ada@example.com");
    let switch = browser.get(&page);
    let backup_link = format!("{page}&method=backup");
    assert!(switch.body.contains("Use a backup code instead"));
    let done = submit_code(&mut browser, &backup_link, &codes[0].to_uppercase());
    done.assert_status(200);
    assert!(done.body.contains("You have 9 backup codes left"), "{}", done.body);
    assert!(done.body.contains("href=\"/user\""));
    assert!(browser.cookies.contains_key("__session"));
    let email = portal
        .text("SELECT subject FROM dev_outbox WHERE recipient = 'ada@example.com' ORDER BY id DESC LIMIT 1")
        .unwrap();
    assert!(email.contains("backup code"), "{email}");
    // The same code again: refused.
    let (mut again, page) = password_step(&portal, "ada@example.com");
    submit_code(&mut again, &format!("{page}&method=backup"), &codes[0]).assert_status(422);
}

#[test]
fn turning_two_step_off_asks_for_a_fresh_code_then_carries_out_the_change_step_up() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let (key, _) = turn_on(&mut ada);
    // Ten minutes and more later (a session left open): the factors are no longer recent.
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    let asked = ada.submit("/user", "/user/two-step/disable", &[]);
    asked.assert_status(200);
    assert!(asked.body.contains("Confirm it"), "the step-up page");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM totp_factors"),
        1,
        "nothing changed yet"
    );
    let then = asked.input_value("then").unwrap();
    assert_eq!(then, "/user/two-step/disable");
    let csrf = asked.input_value("csrf_token").unwrap();
    let wrong = ada.post_form(
        "/user/verify",
        &[("csrf_token", &csrf), ("then", &then), ("step_up_code", "000000")],
    );
    if oathtool(&key, 30) != "000000" {
        wrong.assert_status(422);
    }
    let body = [
        ("csrf_token", csrf.as_str()),
        ("then", then.as_str()),
        ("step_up_code", &oathtool(&key, 30)),
    ];
    let verified = ada.post_form("/user/verify", &body);
    verified.assert_status(307);
    assert_eq!(verified.location(), "/user/two-step/disable");
    // The browser posts the same body again, as a 307 says.
    let done = ada.post_form(verified.location(), &body);
    done.assert_status(303);
    assert_eq!(done.location(), "/user?notice=two_step_off");
    assert_eq!(portal.count("SELECT COUNT(*) FROM totp_factors"), 0);
    assert_eq!(portal.count("SELECT COUNT(*) FROM backup_codes"), 0);
    // A step-up never sends the browser anywhere but a sensitive change of this portal.
    let elsewhere = ada.post_form(
        "/user/verify",
        &[("csrf_token", &csrf), ("then", "https://evil.example/")],
    );
    elsewhere.assert_status(400);
}

#[test]
fn a_stale_session_cannot_change_the_password_without_the_app_stolen_session() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    turn_on(&mut ada);
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    let asked = ada.submit(
        "/user",
        "/user/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a thief's new passphrase"),
        ],
    );
    asked.assert_status(200);
    assert!(asked.body.contains("Confirm it"));
    let mut thief = Browser::new(&portal);
    thief
        .sign_in("ada@example.com", "a thief's new passphrase")
        .assert_status(401);
}

#[test]
fn with_mfa_required_an_account_without_it_sets_it_up_before_getting_a_token() {
    let portal = Portal::with_vars(&[("mfa_required", "all")]);
    let mut ada = Browser::new(&portal);
    let signed_up = ada.sign_up("ada@example.com", PASSWORD);
    signed_up.assert_status(303);
    assert!(
        signed_up.location().starts_with("/user/two-step?redirect_url="),
        "{}",
        signed_up.location()
    );
    assert!(
        !ada.cookies.contains_key("__session"),
        "no token without a second factor"
    );
    // An app sending the browser back gets no token either: set-up first.
    let bounce = ada.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp");
    bounce.assert_status(302);
    assert!(bounce.location().starts_with("/user/two-step?redirect_url="));
    assert!(bounce.set_cookie("__session").is_none());
    // Setting it up from that page leads on to the app.
    let setup = ada.get(bounce.location());
    setup.assert_status(200);
    let key = key_on(&setup);
    let done = ada.submit(
        bounce.location(),
        "/user/two-step/confirm",
        &[("code", &oathtool(&key, 0))],
    );
    done.assert_status(200);
    assert!(
        done.body
            .contains("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp"),
        "{}",
        done.body
    );
    let back = ada.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp");
    back.assert_status(302);
    assert_eq!(back.location(), "http://localhost:5173/app");
    assert!(ada.cookies.contains_key("__session"));
}

#[test]
fn an_organization_that_requires_it_is_left_out_of_the_token_of_a_member_without_it() {
    use crate::support::orgs::{accept, create_org, invite, org_id, org_post};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let link = invite(&mut ada, &acme, "bea@example.com", "member");
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    accept(&mut bea, &link).assert_status(303);
    assert_eq!(bea.claims()["org_slug"], "acme");
    // The admin requires two-step verification and sees who has none.
    org_post(&mut ada, "/organization/two-step", &acme, &[("require_two_step", "on")]).assert_status(303);
    let members = ada.get("/organization");
    assert!(members.body.contains("no two-step verification"));
    assert_eq!(ada.claims().get("org_slug"), None, "the admin has none either");
    // Bea's next token has no organization; her page says why and how.
    let page = bea.get("/organization");
    assert!(page.body.contains("requires two-step verification"));
    let bounce = bea.get("/sign-in?redirect_url=%2Fuser");
    assert!(
        bounce.location().starts_with("/user/two-step?redirect_url="),
        "set-up first"
    );
    let (_, _) = turn_on(&mut bea);
    bea.get("/sign-in?redirect_url=%2Fuser").assert_status(302);
    assert_eq!(
        bea.claims()["org_slug"],
        "acme",
        "once it is on, the organization is back"
    );
}

#[test]
fn an_account_with_an_app_changes_its_address_with_the_app_not_a_password() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    turn_on(&mut ada);
    let profile = ada.get("/user");
    assert!(
        !profile.body.contains("name=\"current_password\""),
        "the app, not the password, re-authenticates"
    );
    // Just verified with the app (turning it on): the change goes through at once.
    let changed = ada.submit("/user", "/user/email", &[("email_address", "ada.new@example.com")]);
    changed.assert_status(303);
    let code = portal.newest_outbox_code().unwrap();
    ada.enter_code(changed.location(), &code).assert_status(303);
    assert!(ada.get("/user").body.contains("ada.new@example.com"));
    // Later, the same change asks for a fresh code from the app first.
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    let asked = ada.submit("/user", "/user/email", &[("email_address", "ada.third@example.com")]);
    asked.assert_status(200);
    assert!(asked.body.contains("step_up_code"));
}
