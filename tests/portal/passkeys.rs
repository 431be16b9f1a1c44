//! Passkeys through the real component, each flow also on PostgreSQL: adding one on the profile,
//! signing in with it (both factors when it verified the person), living passwordless, step-up
//! with a passkey, removing one, and the attacks on the ceremony the pages must stop. The
//! authenticator is the tests' software one (real P-256 and RSA keys, real CBOR).

use crate::support::authenticator::SoftAuthenticator;
use crate::support::passkeys::{add, assertion, get_fields, sign_in};
use crate::support::{Browser, PASSWORD, Portal};

#[test]
fn a_passkey_added_on_the_profile_signs_in_with_both_factors() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let profile = ada.get("/user");
    assert!(profile.body.contains("id=\"passkeys\""), "the section");
    assert!(
        profile
            .body
            .contains("action=\"/user/passkeys/new\" data-passkey=\"show\" hidden"),
        "the add button waits for the script to find WebAuthn"
    );
    let mut authenticator = SoftAuthenticator::p256(1);
    let added = add(&mut ada, &mut authenticator);
    added.assert_status(303);
    assert_eq!(added.location(), "/user?notice=passkey_added");
    let profile = ada.get("/user?notice=passkey_added");
    assert!(profile.body.contains("Passkey added."));
    assert!(profile.body.contains("On this device only"));
    assert!(profile.body.contains("Not used yet"));
    assert!(profile.body.contains("Remove my password"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM passkeys"), 1);
    assert!(
        portal
            .text("SELECT subject FROM dev_outbox ORDER BY id DESC LIMIT 1")
            .unwrap()
            .contains("A passkey was added"),
        "the account is told"
    );
    ada.submit("/sign-out", "/sign-out", &[]).assert_status(302);

    let mut browser = Browser::new(&portal);
    let signed_in = sign_in(&mut browser, "/sign-in?redirect_url=%2Fuser", &mut authenticator);
    signed_in.assert_status(302);
    assert_eq!(signed_in.location(), "/user");
    let claims = browser.claims();
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));
    let profile = browser.get("/user");
    assert!(profile.body.contains("Last used"));
}

#[test]
fn an_rsa_passkey_works_as_well() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut authenticator = SoftAuthenticator::rsa(2);
    add(&mut ada, &mut authenticator).assert_status(303);
    let mut browser = Browser::new(&portal);
    sign_in(&mut browser, "/sign-in", &mut authenticator).assert_status(302);
    assert_eq!(browser.claims()["amr"], serde_json::json!(["hwk", "user", "mfa"]));
}

#[test]
fn a_synced_passkey_without_user_verification_is_one_factor() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut authenticator = SoftAuthenticator::p256(3);
    authenticator.synced = true;
    authenticator.user_verified = false;
    add(&mut ada, &mut authenticator).assert_status(303);
    assert!(ada.get("/user").body.contains("Synced across your devices"));
    let mut browser = Browser::new(&portal);
    sign_in(&mut browser, "/sign-in", &mut authenticator).assert_status(302);
    assert_eq!(browser.claims()["amr"], serde_json::json!(["swk"]));
}

#[test]
fn a_passwordless_account_signs_in_and_steps_up_with_its_passkey() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut authenticator = SoftAuthenticator::p256(4);
    add(&mut ada, &mut authenticator).assert_status(303);
    let removed = ada.submit("/user", "/user/password/remove", &[]);
    removed.assert_status(303);
    assert_eq!(removed.location(), "/user?notice=password_removed");
    let profile = ada.get("/user");
    assert!(profile.body.contains("You sign in with passkeys and have no password"));
    assert!(!profile.body.contains("current_password"), "no password to ask for");
    ada.submit("/sign-out", "/sign-out", &[]).assert_status(302);

    // The old password opens nothing now.
    let mut browser = Browser::new(&portal);
    browser.sign_in("ada@example.com", PASSWORD).assert_status(401);
    sign_in(&mut browser, "/sign-in", &mut authenticator).assert_status(302);

    // Later, a sensitive change asks for the passkey (the only factor there is).
    portal.execute("UPDATE portal_sessions SET first_factor_at = 0, second_factor_at = 0");
    let asked = browser.submit("/user", "/user/passkeys/remove", &[("passkey_id", "x")]);
    asked.assert_status(200);
    assert!(asked.body.contains("Confirm it's you with one of your passkeys."));
    assert!(asked.body.contains("data-passkey=\"get\""));
    assert!(!asked.body.contains("step_up_password"), "no password to ask for");
    let csrf = asked.input_value("csrf_token").unwrap();
    let (flow, credential) = get_fields(&mut browser, &csrf, &mut authenticator);
    let stepped = browser.post_form(
        "/user/verify",
        &[
            ("csrf_token", &csrf),
            ("then", "/user/passkeys/remove"),
            ("passkey_id", "x"),
            ("passkey_flow", &flow),
            ("passkey_credential", &credential),
        ],
    );
    stepped.assert_status(307);
    assert_eq!(stepped.location(), "/user/passkeys/remove");

    // The last passkey of a passwordless account stays.
    let id = portal.text("SELECT id FROM passkeys").unwrap();
    let refused = browser.submit("/user", "/user/passkeys/remove", &[("passkey_id", &id)]);
    refused.assert_status(422);
    assert!(refused.body.contains("This passkey is your only way to sign in."));
    assert_eq!(portal.count("SELECT COUNT(*) FROM passkeys"), 1);

    // Setting a password again needs no current one, and then the passkey may go.
    let set = browser.submit(
        "/user",
        "/user/password",
        &[("new_password", "a brand new secret phrase")],
    );
    set.assert_status(303);
    browser
        .submit("/user", "/user/passkeys/remove", &[("passkey_id", &id)])
        .assert_status(303);
    assert_eq!(portal.count("SELECT COUNT(*) FROM passkeys"), 0);
}

#[test]
fn passkeys_are_renamed_and_limited_to_ten() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    for seed in 10..20 {
        add(&mut ada, &mut SoftAuthenticator::p256(seed)).assert_status(303);
    }
    let profile = ada.get("/user");
    assert!(profile.body.contains("You have 10 passkeys"));
    assert!(!profile.body.contains("/user/passkeys/new"));
    let refused = ada.submit("/user", "/user/passkeys/new", &[]);
    refused.assert_status(422);
    let id = portal.text("SELECT id FROM passkeys ORDER BY id LIMIT 1").unwrap();
    let renamed = ada.submit(
        "/user",
        "/user/passkeys/rename",
        &[("passkey_id", &id), ("name", "Work laptop")],
    );
    renamed.assert_status(303);
    assert!(ada.get("/user?notice=passkey_renamed").body.contains("Work laptop"));
    ada.submit("/user", "/user/passkeys/rename", &[("passkey_id", &id), ("name", " ")])
        .assert_status(422);
}

#[test]
fn attack_replayed_passkey_response_is_refused() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut authenticator = SoftAuthenticator::p256(5);
    add(&mut ada, &mut authenticator).assert_status(303);
    let mut browser = Browser::new(&portal);
    let form = browser.get("/sign-in");
    let csrf = form.input_value("csrf_token").unwrap();
    let target = form.input_value("redirect_target").unwrap();
    let (flow, credential) = get_fields(&mut browser, &csrf, &mut authenticator);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("redirect_target", target.as_str()),
        ("passkey_flow", flow.as_str()),
        ("passkey_credential", credential.as_str()),
    ];
    browser.post_form("/sign-in/passkey", &fields).assert_status(302);
    browser.cookies.remove("__portal_session");
    browser.cookies.remove("__session");
    let replayed = browser.post_form("/sign-in/passkey", &fields);
    replayed.assert_status(422);
    assert!(replayed.body.contains("The passkey request expired."));
    assert!(!browser.cookies.contains_key("__portal_session"));
}

#[test]
fn attack_challenge_fetched_in_another_browser_is_refused_login_csrf() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut authenticator = SoftAuthenticator::p256(6);
    add(&mut ada, &mut authenticator).assert_status(303);
    // The attacker's browser fetches a challenge and has their own passkey answer it...
    let mut attacker = Browser::new(&portal);
    let page = attacker.get("/sign-in");
    let (flow, credential) = get_fields(
        &mut attacker,
        &page.input_value("csrf_token").unwrap(),
        &mut authenticator,
    );
    // ...then makes the victim's browser post it.
    let mut victim = Browser::new(&portal);
    let form = victim.get("/sign-in");
    let refused = victim.post_form(
        "/sign-in/passkey",
        &[
            ("csrf_token", &form.input_value("csrf_token").unwrap()),
            ("redirect_target", &form.input_value("redirect_target").unwrap()),
            ("passkey_flow", &flow),
            ("passkey_credential", &credential),
        ],
    );
    refused.assert_status(422);
    assert!(!victim.cookies.contains_key("__portal_session"));
}

#[test]
fn attack_unknown_or_removed_passkey_says_so() {
    let portal = Portal::new();
    let mut stranger = SoftAuthenticator::p256(7);
    let mut browser = Browser::new(&portal);
    let refused = sign_in(&mut browser, "/sign-in", &mut stranger);
    refused.assert_status(422);
    assert!(
        refused
            .body
            .contains("That passkey is not registered for an account here")
    );
}

#[test]
fn attack_challenge_needs_the_forms_csrf_token() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    browser.get("/sign-in");
    let refused = browser.post_form("/passkeys/challenge", &[]);
    refused.assert_status(403);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM auth_flows"),
        0,
        "no row for a forged post"
    );
    let wrong_method = browser.get("/passkeys/challenge");
    wrong_method.assert_status(405);
}

#[test]
fn attack_malformed_credentials_get_a_clear_page_never_a_panic() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let form = browser.get("/sign-in");
    let csrf = form.input_value("csrf_token").unwrap();
    let target = form.input_value("redirect_target").unwrap();
    let challenge = browser.post_form("/passkeys/challenge", &[("csrf_token", &csrf)]);
    let flow: serde_json::Value = serde_json::from_str(&challenge.body).unwrap();
    let flow = flow["flow"].as_str().unwrap().to_owned();
    let mut authenticator = SoftAuthenticator::p256(8);
    let good = assertion(&mut authenticator, b"whatever");
    let long = "A".repeat(60_000);
    for credential in [
        "",
        "{",
        "null",
        "[]",
        r#"{"id":"x","type":"public-key","response":{"clientDataJSON":"%%%"}}"#,
        r#"{"id":"x","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA"}}"#,
        good.as_str(),
        long.as_str(),
    ] {
        let answer = browser.post_form(
            "/sign-in/passkey",
            &[
                ("csrf_token", &csrf),
                ("redirect_target", &target),
                ("passkey_flow", &flow),
                ("passkey_credential", credential),
            ],
        );
        assert_eq!(answer.status, 422, "{}", &credential[..credential.len().min(60)]);
        assert!(answer.body.contains("role=\"alert\"") || answer.body.contains("error-summary"));
    }
}

#[test]
fn the_sign_in_page_offers_passkeys_only_to_a_script_that_finds_webauthn() {
    let portal = Portal::new();
    let page = portal.get("/sign-in");
    page.assert_status(200);
    assert!(page.body.contains("autocomplete=\"username webauthn\""));
    assert!(
        page.body
            .contains("action=\"/sign-in/passkey\" data-passkey=\"get\" data-autofill hidden"),
        "hidden without JavaScript"
    );
    assert!(page.body.contains("Sign in with a passkey"));
    let french = portal.get("/sign-in?ui_locales=fr");
    assert!(french.body.contains("Se connecter avec une clé d'accès"));
    assert!(
        french.body.contains("La demande de clé d&#39;accès a été annulée")
            || french.body.contains("La demande de clé d'accès a été annulée")
    );
}
