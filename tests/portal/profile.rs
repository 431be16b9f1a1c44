//! `/user`: every section changes what is stored, through the real component.

use crate::support::{Browser, PASSWORD, Portal};

fn stored(portal: &Portal, column: &str) -> Option<String> {
    portal.text(&format!("SELECT {column} FROM users LIMIT 1"))
}

#[test]
fn the_page_lists_every_section_and_is_never_cached() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let page = browser.get("/user");
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for section in [
        "id=\"profile\"",
        "id=\"email\"",
        "id=\"phone\"",
        "id=\"password\"",
        "id=\"sessions\"",
        "id=\"delete\"",
    ] {
        assert!(page.body.contains(section), "{section}");
    }
    assert!(page.body.contains("ada@example.com"));
    assert!(
        page.body.contains("Verified"),
        "the helper verified the address by its emailed code"
    );
    assert!(page.body.contains("This device"));
}

#[test]
fn profile_changes_are_stored_and_the_app_gets_a_fresh_token() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let old_token = browser.cookies["__session"].clone();
    let response = browser.submit(
        "/user",
        "/user/profile",
        &[
            ("first_name", "Ada"),
            ("last_name", "<script>x</script>"),
            ("username", "Ada_L"),
        ],
    );
    response.assert_status(303);
    assert_eq!(response.location(), "/user?notice=profile_updated");
    assert!(response.set_cookie("__session").is_some());
    assert_ne!(browser.cookies["__session"], old_token);
    assert_eq!(stored(&portal, "username").as_deref(), Some("ada_l"));
    assert_eq!(stored(&portal, "last_name").as_deref(), Some("<script>x</script>"));
    let page = browser.get(response.location());
    assert!(page.body.contains("Your profile was updated."));
    assert!(!page.body.contains("<script>x</script>"));
    assert!(page.body.contains("&lt;script&gt;x&lt;/script&gt;"));
}

#[test]
fn taken_username_is_refused_and_the_input_kept() {
    let portal = Portal::new();
    Browser::signed_up_with_username(&portal, "a@example.com", "ada");
    let mut second = Browser::signed_up(&portal, "b@example.com");
    let response = second.submit("/user", "/user/profile", &[("first_name", "Bea"), ("username", "ADA")]);
    response.assert_status(422);
    assert!(response.body.contains("That username is taken."));
    assert_eq!(response.input_value("first_name").as_deref(), Some("Bea"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users WHERE username = 'ada'"), 1);
}

#[test]
fn email_change_needs_the_current_password_a_code_at_the_new_address_and_hides_taken_ones() {
    let portal = Portal::new();
    Browser::signed_up(&portal, "taken@example.com");
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let wrong = browser.submit(
        "/user",
        "/user/email",
        &[("email_address", "new@example.com"), ("current_password", "nope nope")],
    );
    wrong.assert_status(401);
    // Said at the field it is about, not as a failed sign-in.
    assert!(wrong.body.contains("That is not your current password."));
    assert!(
        wrong.body.contains("id=\"field-email-current_password-error\""),
        "{}",
        wrong.body
    );
    // Account enumeration: a taken address gets the same code page; no code reaches anyone.
    let emails_before = portal.count("SELECT COUNT(*) FROM dev_outbox");
    let taken = browser.submit(
        "/user",
        "/user/email",
        &[("email_address", "TAKEN@example.com"), ("current_password", PASSWORD)],
    );
    taken.assert_status(303);
    assert!(taken.location().starts_with("/verify?flow="));
    assert_eq!(portal.count("SELECT COUNT(*) FROM dev_outbox"), emails_before);
    let ok = browser.submit(
        "/user",
        "/user/email",
        &[("email_address", "New@Example.com"), ("current_password", PASSWORD)],
    );
    ok.assert_status(303);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'new@example.com'"),
        0,
        "nothing changes before the code"
    );
    browser.enter_emailed_code(ok).assert_status(303);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'new@example.com' AND email_verified_at IS NOT NULL"),
        1
    );
    assert_eq!(
        portal.count(
            "SELECT COUNT(*) FROM dev_outbox WHERE recipient = 'ada@example.com' AND subject LIKE '%was changed%'"
        ),
        1,
        "the old address hears of the change"
    );
    Browser::new(&portal)
        .sign_in("new@example.com", PASSWORD)
        .assert_status(302);
}

#[test]
fn phone_number_can_be_added_changed_and_removed() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let bad = browser.submit("/user", "/user/phone", &[("phone_number", "555-0123")]);
    bad.assert_status(422);
    assert!(bad.body.contains("international format"));
    assert_eq!(bad.input_value("phone_number").as_deref(), Some("555-0123"));
    browser
        .submit("/user", "/user/phone", &[("phone_number", "+1 415 555 0123")])
        .assert_status(303);
    assert_eq!(stored(&portal, "phone_number").as_deref(), Some("+14155550123"));
    browser
        .submit("/user", "/user/phone", &[("phone_number", "+442071838750")])
        .assert_status(303);
    assert_eq!(stored(&portal, "phone_number").as_deref(), Some("+442071838750"));
    let removed = browser.submit(
        "/user",
        "/user/phone",
        &[("phone_number", "+442071838750"), ("remove", "1")],
    );
    assert_eq!(removed.location(), "/user?notice=phone_removed");
    assert_eq!(stored(&portal, "phone_number"), None);
}

#[test]
fn password_change_kills_other_sessions() {
    let portal = Portal::new();
    let mut laptop = Browser::signed_up(&portal, "ada@example.com");
    let mut phone = Browser::new(&portal);
    phone.sign_in("ada@example.com", PASSWORD).assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 2);
    let wrong = laptop.submit(
        "/user",
        "/user/password",
        &[
            ("current_password", "wrong one"),
            ("new_password", "brand new password"),
        ],
    );
    wrong.assert_status(401);
    let weak = laptop.submit(
        "/user",
        "/user/password",
        &[("current_password", PASSWORD), ("new_password", "short")],
    );
    weak.assert_status(422);
    assert!(weak.body.contains("Use at least 8 characters."));
    let ok = laptop.submit(
        "/user",
        "/user/password",
        &[("current_password", PASSWORD), ("new_password", "brand new password")],
    );
    ok.assert_status(303);
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 1);
    laptop.get("/user").assert_status(200);
    assert_eq!(phone.get("/user").status, 302, "the other device is signed out");
    Browser::new(&portal)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(401);
    Browser::new(&portal)
        .sign_in("ada@example.com", "brand new password")
        .assert_status(302);
}

#[test]
fn sessions_can_be_listed_and_revoked() {
    let portal = Portal::new();
    let mut laptop = Browser::signed_up(&portal, "ada@example.com");
    let mut phone = Browser::new(&portal);
    phone.client_addr = "127.0.2.55:3333".into();
    phone.sign_in("ada@example.com", PASSWORD).assert_status(302);
    let page = laptop.get("/user");
    assert!(page.body.contains("127.0.2.55"));
    assert_eq!(page.body.matches("name=\"session_id\"").count(), 2);
    let phone_session = portal
        .text("SELECT id FROM portal_sessions WHERE client_addr LIKE '127.0.2.55%'")
        .unwrap();
    let response = laptop.submit("/user", "/user/sessions/revoke", &[("session_id", &phone_session)]);
    response.assert_status(303);
    assert_eq!(response.location(), "/user?notice=session_revoked");
    assert_eq!(phone.get("/user").status, 302);
    laptop.get("/user").assert_status(200);

    let mut tablet = Browser::new(&portal);
    tablet.sign_in("ada@example.com", PASSWORD).assert_status(302);
    laptop
        .submit("/user", "/user/sessions/revoke-others", &[])
        .assert_status(303);
    assert_eq!(tablet.get("/user").status, 302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 1);
}

#[test]
fn a_user_cannot_revoke_someone_elses_session() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    let bea_session = portal
        .text("SELECT s.id FROM portal_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'bea@example.com'")
        .unwrap();
    ada.submit("/user", "/user/sessions/revoke", &[("session_id", &bea_session)])
        .assert_status(303);
    bea.get("/user").assert_status(200);
}

#[test]
fn a_revoked_session_can_change_nothing() {
    let portal = Portal::new();
    let mut laptop = Browser::signed_up(&portal, "ada@example.com");
    let mut stolen = Browser::new(&portal);
    stolen.sign_in("ada@example.com", PASSWORD).assert_status(302);
    // The thief loads the page (and its CSRF token) while the session is still live.
    let page = stolen.get("/user");
    let csrf = page.input_value("csrf_token").unwrap();
    laptop
        .submit("/user", "/user/sessions/revoke-others", &[])
        .assert_status(303);
    for (action, fields) in [
        (
            "/user/password",
            vec![("current_password", PASSWORD), ("new_password", "thief password!")],
        ),
        ("/user/profile", vec![("first_name", "Thief")]),
        (
            "/user/email",
            vec![("email_address", "thief@example.com"), ("current_password", PASSWORD)],
        ),
        (
            "/user/delete",
            vec![("confirmation", "delete my account"), ("current_password", PASSWORD)],
        ),
    ] {
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend(fields);
        let response = stolen.post_form(action, &all);
        response.assert_status(303);
        assert!(
            response.location().starts_with("/sign-in"),
            "{action}: {}",
            response.location()
        );
    }
    assert_eq!(stored(&portal, "email").as_deref(), Some("ada@example.com"));
    assert_eq!(stored(&portal, "first_name"), None);
    Browser::new(&portal)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(302);
}

#[test]
fn delete_account_leaves_no_rows_and_signs_out() {
    let portal = Portal::with_vars(&[("after_sign_out_url", "http://localhost:4000/goodbye")]);
    Browser::signed_up(&portal, "other@example.com");
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let mut other_device = Browser::new(&portal);
    other_device.sign_in("ada@example.com", PASSWORD).assert_status(302);
    let _ = Browser::new(&portal).sign_in("ada@example.com", "wrong password");
    let wrong_phrase = browser.submit(
        "/user",
        "/user/delete",
        &[("confirmation", "delete"), ("current_password", PASSWORD)],
    );
    wrong_phrase.assert_status(422);
    assert!(wrong_phrase.body.contains("Type the words exactly as shown."));
    let wrong_password = browser.submit(
        "/user",
        "/user/delete",
        &[("confirmation", "delete my account"), ("current_password", "nope nope")],
    );
    wrong_password.assert_status(401);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 2);
    let user_id = portal
        .text("SELECT id FROM users WHERE email = 'ada@example.com'")
        .unwrap();
    let response = browser.submit(
        "/user",
        "/user/delete",
        &[("confirmation", "delete my account"), ("current_password", PASSWORD)],
    );
    response.assert_status(303);
    assert_eq!(response.location(), "http://localhost:4000/goodbye");
    for name in ["__portal_session", "__session"] {
        assert!(response.set_cookie(name).unwrap().contains("Max-Age=0"));
    }
    assert_eq!(
        portal.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{user_id}'")),
        0
    );
    assert_eq!(
        portal.count(&format!(
            "SELECT COUNT(*) FROM portal_sessions WHERE user_id = '{user_id}'"
        )),
        0
    );
    assert_eq!(
        portal.count(&format!(
            "SELECT COUNT(*) FROM password_checks WHERE scope = 'account:{user_id}'"
        )),
        0
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users"),
        1,
        "other accounts are untouched"
    );
    assert_eq!(other_device.get("/user").status, 302);
}

#[test]
fn the_back_link_and_the_redirect_survive_a_change() {
    let portal = Portal::with_vars(&[("home_url", "http://localhost:8080/home")]);
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let page = browser.get("/user");
    assert!(
        page.body.contains("href=\"http://localhost:8080/home\""),
        "home_url is the default back link"
    );
    let page = browser.get("/user?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fsettings");
    assert!(page.body.contains("href=\"http://localhost:5173/settings\""));
    let response = browser.submit(
        "/user?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fsettings",
        "/user/profile",
        &[("first_name", "Ada")],
    );
    response.assert_status(303);
    assert_eq!(
        response.location(),
        "/user?notice=profile_updated&redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fsettings"
    );
    let page = browser.get(response.location());
    assert!(page.body.contains("href=\"http://localhost:5173/settings\""));
}

#[test]
fn unknown_notice_keys_show_nothing() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let page = browser.get("/user?notice=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    page.assert_status(200);
    assert!(!page.body.contains("alert(1)"));
}

#[test]
fn profile_posts_need_csrf_and_get_is_not_allowed() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    browser
        .post_form("/user/profile", &[("first_name", "Mallory")])
        .assert_status(403);
    let response = browser.get("/user/profile");
    response.assert_status(405);
    assert_eq!(response.header("allow"), Some("POST"));
    assert_eq!(stored(&portal, "first_name"), None);
}

#[test]
fn csp_lets_the_delete_form_end_at_the_sign_out_fallback() {
    let portal = Portal::with_vars(&[("after_sign_out_url", "http://localhost:4000/goodbye")]);
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let page = browser.get("/user");
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action 'self' http://localhost:4000"), "{csp}");
}

#[test]
fn signed_in_pages_link_to_each_other_and_to_sign_out() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let page = browser.get("/user");
    assert!(page.body.contains(r#"href="/sign-out""#));
    assert!(page.body.contains(r#"href="/user" aria-current="page""#));
    assert!(page.body.contains(r#"href="/organization""#));
}
