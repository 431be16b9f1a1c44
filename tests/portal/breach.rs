//! Breached passwords through the real component, against a local server that speaks the range
//! API's documented format (`GET /range/<5 hex>`, `SUFFIX:COUNT` lines, padding rows of count
//! 0): refused at sign-up, at a password change and at a reset; the service down, slow or
//! answering garbage lets the password through (fail open) unless the operator fails closed.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::local_http::{self, Received};
use crate::support::{Browser, PASSWORD, Portal};

/// SHA-1 of "password123" (a password seen in many breaches): 5 + 35 hex digits.
const BREACHED: &str = "password123";
const BREACHED_PREFIX: &str = "CBFDA";
const BREACHED_SUFFIX: &str = "C6008F9CAB4083784CBD1874F76618D2A97";

#[derive(Clone, Copy)]
enum Behaviour {
    Answer,
    Slow,
    Garbage,
}

/// A range server: its origin, and the paths it was asked for.
fn range_server(behaviour: Behaviour) -> (String, Arc<Mutex<Vec<Received>>>) {
    local_http::serve(move |request| {
        let body = match behaviour {
            Behaviour::Slow => {
                std::thread::sleep(std::time::Duration::from_secs(6));
                return None;
            }
            Behaviour::Garbage => "<html>oops</html>".to_owned(),
            Behaviour::Answer if request.path == format!("/range/{BREACHED_PREFIX}") => format!(
                "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n{BREACHED_SUFFIX}:251682\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n"
            ),
            // Only padding rows: this prefix holds no breached hash the test uses.
            Behaviour::Answer => {
                "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n".to_owned()
            }
        };
        Some((200, "text/plain", body))
    })
}

fn portal_checking(origin: &str, extra: &[(&str, &str)]) -> Portal {
    let mut vars = vec![
        ("password_breach_check", "block"),
        ("password_breach_api_origin", origin),
    ];
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

#[test]
fn a_breached_password_is_refused_at_sign_up_and_only_the_prefix_leaves() {
    let (origin, asked) = range_server(Behaviour::Answer);
    let portal = portal_checking(&origin, &[]);
    let refused = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", BREACHED)],
    );
    refused.assert_status(422);
    assert!(refused.body.contains("This password has appeared in a data breach"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
    let asked: Vec<String> = asked
        .lock()
        .unwrap()
        .iter()
        .map(|request| request.path.clone())
        .collect();
    assert_eq!(asked, [format!("/range/{BREACHED_PREFIX}")]);
    assert!(!asked[0].contains(BREACHED_SUFFIX));
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn a_breached_password_is_refused_as_a_new_password_on_the_profile() {
    let (origin, _) = range_server(Behaviour::Answer);
    let portal = portal_checking(&origin, &[]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let refused = ada.submit(
        "/user",
        "/user/password",
        &[("current_password", PASSWORD), ("new_password", BREACHED)],
    );
    refused.assert_status(422);
    assert!(refused.body.contains("This password has appeared in a data breach"));
    ada.submit(
        "/user",
        "/user/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a fresh and long passphrase"),
        ],
    )
    .assert_status(303);
}

#[test]
fn warn_lets_a_breached_password_through() {
    let (origin, _) = range_server(Behaviour::Answer);
    let portal = portal_checking(&origin, &[("password_breach_check", "warn")]);
    Browser::new(&portal)
        .sign_up("ada@example.com", BREACHED)
        .assert_status(302);
}

#[test]
fn the_service_down_slow_or_garbled_fails_open_unless_told_to_fail_closed() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (slow, _) = range_server(Behaviour::Slow);
    let (garbage, _) = range_server(Behaviour::Garbage);
    for (i, origin) in [closed_port.as_str(), slow.as_str(), garbage.as_str()]
        .into_iter()
        .enumerate()
    {
        let open = portal_checking(origin, &[]);
        Browser::new(&open)
            .sign_up(&format!("open{i}@example.com"), PASSWORD)
            .assert_status(302);
        let closed = portal_checking(origin, &[("password_breach_fail_closed", "true")]);
        let refused = Browser::new(&closed).submit(
            "/sign-up",
            "/sign-up",
            &[("email_address", "closed@example.com"), ("password", PASSWORD)],
        );
        refused.assert_status(422);
        assert_eq!(closed.count("SELECT COUNT(*) FROM users"), 0, "{origin}");
    }
}

#[test]
fn a_breached_password_is_refused_at_a_reset_without_spending_the_code() {
    let (origin, _) = range_server(Behaviour::Answer);
    let portal = portal_checking(&origin, &[]);
    let _ada = Browser::signed_up(&portal, "ada@example.com");
    let mut browser = Browser::new(&portal);
    let (page, flow, code) = browser.ask_for_reset("ada@example.com");
    let refused = browser.submit(
        &page,
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", BREACHED)],
    );
    refused.assert_status(422);
    assert!(refused.body.contains("This password has appeared in a data breach"));
    let reset = browser.submit(
        &page,
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", "a brand new passphrase")],
    );
    reset.assert_status(302);
}

#[test]
fn an_operator_minimum_holds_on_every_road_a_new_password_takes() {
    let portal = super::api::portal(&[("password_min_length", "12"), ("password_breach_check", "off")]);
    let eleven = "eleven char";
    // In production an anonymous sign-up page reads no policy variable but the mode: its hint
    // names no number (development reads every variable, and names it).
    let production = Portal::production(&[("password_min_length", "12")]);
    let page = Browser::new(&production).get("/sign-up");
    page.assert_status(200);
    assert!(page.body.contains("Choose a long password that you use nowhere else."));
    assert!(!page.body.contains("At least 8 characters."));
    assert!(
        Browser::new(&portal)
            .get("/sign-up")
            .body
            .contains("At least 12 characters.")
    );
    let refused = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", eleven)],
    );
    refused.assert_status(422);
    assert!(refused.body.contains("Use at least 12 characters."));
    assert!(
        refused.body.contains("At least 12 characters."),
        "the posted page has read it"
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);

    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let weak = ada.submit(
        "/user",
        "/user/password",
        &[("current_password", PASSWORD), ("new_password", eleven)],
    );
    weak.assert_status(422);
    assert!(weak.body.contains("Use at least 12 characters."));

    let mut browser = Browser::new(&portal);
    let (page, flow, code) = browser.ask_for_reset("ada@example.com");
    assert!(browser.get(&page).body.contains("At least 12 characters."));
    let short = browser.submit(
        &page,
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", eleven)],
    );
    short.assert_status(422);
    assert!(short.body.contains("Use at least 12 characters."));
    browser
        .submit(
            &page,
            "/verify",
            &[("flow", &flow), ("code", &code), ("password", "twelve chars")],
        )
        .assert_status(302);

    let created = super::api::call(
        &portal,
        "POST",
        "/api/v1/users",
        &serde_json::json!({"email_address": "bob@example.com", "password": eleven}),
    );
    assert_eq!(super::api::error_code(&created, 422), "invalid_field");
    assert!(created.body.contains("Use at least 12 characters."), "{}", created.body);
}

#[test]
fn attack_a_breached_password_is_refused_when_the_backend_api_creates_a_user() {
    use serde_json::json;
    let (origin, asked) = range_server(Behaviour::Answer);
    let portal = portal_checking(&origin, &[("api_secret_key", crate::api::KEY)]);
    let refused = crate::api::call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "ada@example.com", "password": BREACHED}),
    );
    assert_eq!(crate::api::error_code(&refused, 422), "invalid_field");
    assert_eq!(crate::api::json_of(&refused)["error"]["field"], "password");
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0, "nothing stored");
    assert!(
        asked
            .lock()
            .unwrap()
            .iter()
            .any(|received| received.path == format!("/range/{BREACHED_PREFIX}")),
        "the range API was asked for the hash's prefix"
    );
    // A password the cheap rules refuse costs no request and answers as those rules do.
    let before = asked.lock().unwrap().len();
    let short = crate::api::call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "ada@example.com", "password": "short"}),
    );
    assert_eq!(crate::api::error_code(&short, 422), "invalid_field");
    assert_eq!(asked.lock().unwrap().len(), before);
    // A clean password goes through.
    crate::api::create(
        &portal,
        json!({"email_address": "ada@example.com", "password": PASSWORD}),
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}
