//! The real-Spin tier: the built `.wasm` and the project's own `spin.toml` under the real `spin
//! up` (`support::spin_cli`), over HTTP, exactly as a user runs the portal. The test host is a
//! model of Spin; these tests are where it is checked against the real thing: every page, the
//! account, profile and organization journeys on SQLite and on PostgreSQL (Spin 4.0.x hangs on
//! a PostgreSQL `query` that yields no row, spinframework/spin#3671), email through a real SES
//! server, the JWT against the JWKS, and the client address Spin appends.
//!
//! Each test starts one `spin up` (a few seconds once Spin has compiled the component), so the
//! journeys are few and each covers much.

use bytes::Bytes;

use crate::support::orgs::{create_org, org_id, user_id};
use crate::support::{Browser, PASSWORD, Portal, TestResponse, cookie_value, ses, verify_token};

/// Every page and endpoint a GET reaches, signed out, with what it must answer. None may hang
/// or fail; signed-in pages send a visitor to sign in.
const PAGES: &[(&str, u16)] = &[
    ("/", 302),
    ("/healthz", 200),
    ("/sign-in", 200),
    ("/sign-in?redirect_url=%2Fuser&email_address=ada%40example.com", 200),
    ("/sign-up", 200),
    ("/sign-up?first_name=Ada&last_name=Lovelace", 200),
    ("/forgot-password", 200),
    ("/verify?flow=nonexistent", 410),
    ("/sign-out", 302),
    ("/.well-known/jwks.json", 200),
    ("/user", 302),
    ("/organization", 302),
    ("/create-organization", 302),
    ("/organization/invitation?token=nonexistent", 410),
    ("/no-such-page", 404),
];

/// The pages a signed-in visitor without an organization reaches, with what they answer.
const SIGNED_IN_PAGES: &[(&str, u16)] = &[
    ("/", 302),
    ("/sign-in", 302),
    ("/sign-up", 302),
    ("/user", 200),
    ("/organization", 302),
    ("/create-organization", 200),
    ("/sign-out", 200),
    ("/organization/invitation?token=nonexistent", 410),
];

/// Every page, signed out and then signed in, answers as it should on `portal` (served as
/// `origin`): none hangs, none fails.
fn assert_every_page_answers(portal: &Portal, origin: &str) {
    let host = origin.split_once("://").unwrap().1;
    for (path, status) in PAGES {
        let response = get_at(portal, host, path);
        assert_eq!(
            response.status, *status,
            "GET {path} on real Spin answered {}; body:\n{}\nspin's output:\n{}",
            response.status, response.body, response.logs
        );
    }
    let mut visitor = Browser::at(portal, origin);
    visitor.sign_up("pages@example.com", PASSWORD).assert_status(302);
    for (path, status) in SIGNED_IN_PAGES {
        let response = visitor.get(path);
        assert_eq!(
            response.status, *status,
            "signed in, GET {path} on real Spin answered {}; body:\n{}\nspin's output:\n{}",
            response.status, response.body, response.logs
        );
    }
}

fn get_at(portal: &Portal, host: &str, path: &str) -> TestResponse {
    portal.send(
        http::Request::builder()
            .uri(path)
            .header("host", host)
            .body(Bytes::new())
            .unwrap(),
    )
}

#[test]
fn every_page_answers_in_development_on_real_spin() {
    let portal = Portal::on_spin(&[], false);
    assert_every_page_answers(&portal, "http://127.0.0.1:3000");
    let outbox = get_at(&portal, "127.0.0.1:3000", "/dev/outbox");
    outbox.assert_status(200);
}

#[test]
fn every_page_answers_in_production_on_real_spin_with_postgres() {
    let portal = Portal::production_on_spin(&[], true);
    assert_every_page_answers(&portal, "https://accounts.myapp.com");
    get_at(&portal, "accounts.myapp.com", "/dev/outbox").assert_status(404);
}

/// Sign-up, the JWT against the JWKS, the signed-in bounce, a profile change, an organization,
/// sign-out, sign-in, a wrong password and an unknown address: what a new user of `portal` does
/// first, with every read that finds nothing on the way (no session yet, no such account).
fn first_journey(portal: &Portal, issuer: &str) {
    let mut ada = Browser::at(portal, issuer);
    let signed_up = ada.sign_up("ada@example.com", PASSWORD);
    signed_up.assert_status(302);
    let ada_id = user_id(portal, "ada@example.com");
    let claims = verify_token(portal, &ada.cookies["__session"], issuer);
    assert_eq!(claims["sub"].as_str(), Some(ada_id.as_str()));

    // An app whose token expired sends the browser back: the live session answers at once.
    let bounce = ada.get("/sign-in?redirect_url=%2Fuser");
    bounce.assert_status(302);
    assert_eq!(bounce.location(), "/user");
    let fresh = bounce.set_cookie("__session").expect("a fresh token on the bounce");
    verify_token(portal, cookie_value(&fresh), issuer);

    let profile = ada.submit(
        "/user",
        "/user/profile",
        &[("first_name", "Ada"), ("username", "ada_l")],
    );
    profile.assert_status(303);
    assert_eq!(profile.location(), "/user?notice=profile_updated");
    assert!(
        ada.get("/user?notice=profile_updated")
            .body
            .contains("Your profile was updated.")
    );
    assert_eq!(
        portal
            .text("SELECT username FROM users WHERE first_name = 'Ada'")
            .as_deref(),
        Some("ada_l")
    );

    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let claims = verify_token(portal, &ada.cookies["__session"], issuer);
    assert_eq!(claims["org_id"].as_str(), Some(org_id(portal, "acme").as_str()));
    assert_eq!(claims["org_role"], "admin");
    ada.get("/organization").assert_status(200);

    let signed_out = ada.submit("/sign-out", "/sign-out", &[]);
    signed_out.assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
    ada.get("/user").assert_status(302);

    let mut again = Browser::at(portal, issuer);
    assert_eq!(again.sign_in("ada@example.com", "not the password").status, 401);
    assert_eq!(again.sign_in("nobody@example.com", PASSWORD).status, 401);
    again.sign_in("ADA_L", PASSWORD).assert_status(302);
    let claims = verify_token(portal, &again.cookies["__session"], issuer);
    assert_eq!(claims["sub"].as_str(), Some(ada_id.as_str()));
    again.get("/user").assert_status(200);
}

#[test]
fn accounts_profile_and_organizations_work_on_real_spin_with_sqlite() {
    let portal = Portal::on_spin(&[], false);
    first_journey(&portal, "http://127.0.0.1:3000");
}

#[test]
fn accounts_profile_and_organizations_work_on_real_spin_with_postgres() {
    let portal = Portal::on_spin(&[], true);
    assert!(portal.is_on_postgres());
    first_journey(&portal, "http://127.0.0.1:3000");
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1, "stored in PostgreSQL");
}

#[test]
fn production_accounts_work_on_real_spin_with_postgres() {
    let portal = Portal::production_on_spin(&[], true);
    first_journey(&portal, "https://accounts.myapp.com");
}

#[test]
fn verified_sign_up_through_a_real_ses_server_on_real_spin() {
    let server = ses::server();
    let portal = Portal::on_spin(&server.portal_variables(), true);
    let mut browser = Browser::new(&portal);
    let asked = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "spin.signup@example.com"), ("password", PASSWORD)],
    );
    asked.assert_status(303);
    assert!(asked.location().starts_with("/verify?flow="));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users"),
        0,
        "no account before the code"
    );
    let mail = server
        .emails_to("spin.signup@example.com")
        .pop()
        .expect("Spin sent the code email to the SES server");
    let done = browser.enter_code(asked.location(), &mail.code());
    done.assert_status(302);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email_verified_at IS NOT NULL"),
        1
    );
    verify_token(&portal, &browser.cookies["__session"], "http://127.0.0.1:3000");
}

#[test]
fn a_client_sent_spin_client_addr_is_not_trusted_by_real_spin() {
    let portal = Portal::on_spin(
        &[("sign_in_max_failures", "3"), ("sign_in_max_failures_per_address", "3")],
        false,
    );
    // A session records the address Spin saw, not the one the client wrote first.
    let mut ada = Browser::new(&portal);
    let page = ada.get("/sign-up");
    let (csrf, sealed) = (
        page.input_value("csrf_token").unwrap(),
        page.input_value("redirect_target").unwrap(),
    );
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("redirect_target", sealed.as_str()),
        ("email_address", "ada@example.com"),
        ("password", PASSWORD),
    ];
    ada.post_form_with("/sign-up", &fields, &[("spin-client-addr", "6.6.6.6:666")])
        .assert_status(302);
    let recorded = portal
        .text("SELECT client_addr FROM portal_sessions")
        .unwrap_or_default();
    assert!(recorded.starts_with("127.0.0.1"), "recorded {recorded:?}");

    // Spraying with a forged address per guess: the real address is what the lockout counts.
    let mut attacker = Browser::new(&portal);
    let mut guess = |identifier: &str, forged: &str| {
        let token = attacker.get("/sign-in").input_value("csrf_token").unwrap();
        let fields = [
            ("csrf_token", token.as_str()),
            ("identifier", identifier),
            ("password", "wrong password"),
        ];
        attacker
            .post_form_with("/sign-in", &fields, &[("spin-client-addr", forged)])
            .status
    };
    for (i, forged) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
        assert_eq!(guess(&format!("victim{i}@example.com"), forged), 401);
    }
    assert_eq!(
        guess("victim9@example.com", "10.0.0.4:1"),
        429,
        "the address Spin saw is locked, whatever the client said"
    );
}

#[test]
fn host_localhost_from_another_machine_gets_no_page_and_no_outbox_on_real_spin() {
    use crate::support::netns::OtherMachine;
    let other = OtherMachine::new();
    let portal = Portal::on_spin_listening(&[], false, std::net::Ipv4Addr::UNSPECIFIED);
    let port = portal.serve().port();
    // A code is waiting in the development outbox.
    let mut ada = Browser::new(&portal);
    ada.sign_up("ada@example.com", PASSWORD).assert_status(302);
    ada.submit("/user", "/user/email/verify", &[]).assert_status(303);
    assert!(
        get_at(&portal, "localhost:3000", "/dev/outbox")
            .body
            .contains("ada@example.com")
    );

    // The attacker names this machine in every header a client chooses.
    let forged = [
        ("Host", "localhost:3000"),
        ("spin-client-addr", "127.0.0.1:1"),
        ("spin-full-url", "http://localhost:3000/dev/outbox"),
        ("x-forwarded-for", "127.0.0.1"),
    ];
    for path in ["/dev/outbox", "/sign-in", "/user"] {
        let (status, body) = other.get(port, path, &forged);
        assert_eq!(
            status, 503,
            "{path} from {} must be refused; body:\n{body}",
            other.peer_ip
        );
        assert!(!body.contains("ada@example.com"), "{path}");
    }
    let (_, body) = other.get(port, "/dev/outbox", &[("Host", "localhost")]);
    assert!(!body.contains("ada@example.com"));

    // An operator who lists a host for development opens the pages there, never the outbox.
    let listed = Portal::on_spin_listening(
        &[("development_hosts", other.host_ip.as_str())],
        false,
        std::net::Ipv4Addr::UNSPECIFIED,
    );
    let port = listed.serve().port();
    assert_eq!(other.get(port, "/sign-in", &[]).0, 200);
    assert_eq!(other.get(port, "/dev/outbox", &[]).0, 404);
    assert_eq!(other.get(port, "/dev/outbox", &forged).0, 503);
}

/// An email webhook on loopback that takes `delay` to answer each request (a provider's API
/// across the internet): answers `200 {}` and counts what it received.
fn slow_email_webhook(delay: std::time::Duration) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                loop {
                    let Ok(n) = stream.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .and_then(|value| value.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                std::thread::sleep(delay);
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
            });
        }
    });
    (origin, received)
}

#[test]
fn forgot_password_answers_as_fast_for_an_unknown_address_timing_enumeration_on_real_spin() {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    const DELAY: Duration = Duration::from_millis(300);
    // Both kinds of request from one address: the flood limit (20 a client an hour) bounds the
    // sample to 9 of each.
    const SAMPLES: usize = 9;
    let (origin, received) = slow_email_webhook(DELAY);
    let portal = Portal::on_spin(
        &[
            ("email_provider", "webhook"),
            ("email_from", "no-reply@myapp.com"),
            ("email_api_origin", origin.as_str()),
            ("password_checks_per_minute", "100"),
        ],
        false,
    );
    for i in 0..SAMPLES {
        Browser::new(&portal)
            .sign_up(&format!("known{i}@example.com"), PASSWORD)
            .assert_status(302);
    }
    let ask = |email: &str| {
        let mut browser = Browser::new(&portal);
        let csrf = browser.get("/forgot-password").input_value("csrf_token").unwrap();
        let started = Instant::now();
        let answer = browser.post_form("/forgot-password", &[("csrf_token", &csrf), ("email_address", email)]);
        let took = started.elapsed();
        answer.assert_status(303);
        took
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        known.push(ask(&format!("known{i}@example.com")));
        unknown.push(ask(&format!("unknown{i}@example.com")));
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let difference = known.abs_diff(unknown);
    assert!(
        difference < DELAY / 3,
        "medians of {SAMPLES}: known address {known:?}, unknown {unknown:?}: the provider's {DELAY:?} shows"
    );
    // The emails did go, after the responses.
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.load(Ordering::SeqCst) < SAMPLES {
        assert!(
            Instant::now() < deadline,
            "only {} emails arrived",
            received.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        received.load(Ordering::SeqCst),
        SAMPLES,
        "nothing for unknown addresses"
    );
}

#[test]
fn two_step_verification_works_on_real_spin_with_postgres() {
    use crate::support::two_step::{oathtool, turn_on};
    let portal = Portal::production_on_spin(&[], true);
    let origin = "https://accounts.myapp.com";
    let mut ada = Browser::at(&portal, origin);
    ada.sign_up("ada@example.com", PASSWORD).assert_status(302);
    let (key, codes) = turn_on(&mut ada);
    ada.submit("/sign-out", "/sign-out", &[]).assert_status(302);

    // Password, then the app's code (the next step's: this one turned the app on).
    let mut browser = Browser::at(&portal, origin);
    let first = browser.sign_in("ada@example.com", PASSWORD);
    first.assert_status(303);
    assert!(first.location().starts_with("/sign-in/factor-two?flow="));
    let page = first.location().to_owned();
    let flow = browser.get(&page).input_value("flow").unwrap();
    let code = oathtool(&key, 30);
    let done = browser.submit(&page, "/sign-in/factor-two", &[("flow", &flow), ("code", &code)]);
    done.assert_status(302);
    let claims = verify_token(&portal, &browser.cookies["__session"], origin);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // A backup code, once.
    let mut other = Browser::at(&portal, origin);
    let first = other.sign_in("ada@example.com", PASSWORD);
    let page = format!("{}&method=backup", first.location());
    let flow = other.get(&page).input_value("flow").unwrap();
    let used = other.submit(
        &page,
        "/sign-in/factor-two",
        &[("flow", &flow), ("code", &codes[0]), ("method", "backup")],
    );
    used.assert_status(200);
    assert!(used.body.contains("9 backup codes left"), "{}", used.body);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM backup_codes WHERE used_at IS NOT NULL"),
        1
    );
}

#[test]
fn passkeys_register_and_sign_in_on_real_spin_with_postgres_in_production() {
    use crate::support::authenticator::SoftAuthenticator;
    use crate::support::passkeys::{Site, add_at, sign_in_at};
    let site = Site {
        rp_id: "accounts.myapp.com",
        origin: "https://accounts.myapp.com",
    };
    let portal = Portal::production_on_spin(&[], true);
    let mut ada = Browser::at(&portal, site.origin);
    ada.sign_up("ada@example.com", PASSWORD).assert_status(302);
    let mut authenticator = SoftAuthenticator::p256(1);
    add_at(site, &mut ada, &mut authenticator).assert_status(303);
    let mut browser = Browser::at(&portal, site.origin);
    sign_in_at(site, &mut browser, "/sign-in", &mut authenticator).assert_status(302);
    let claims = verify_token(&portal, &browser.cookies["__session"], site.origin);
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));
}

#[test]
fn signing_in_with_an_openid_provider_works_on_real_spin_with_postgres() {
    use crate::support::oidc::{OidcProvider, ProviderAgent, path_of};
    let provider = OidcProvider::start(serde_json::json!({
        "alice": { "email": "alice@example.com", "email_verified": true }
    }));
    let owned = provider.portal_variables("portal-es");
    let vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let portal = Portal::on_spin(&vars, true);
    let mut browser = Browser::new(&portal);
    let started = browser.get("/sign-in/oauth?provider=oidc&redirect_url=%2Fuser");
    started.assert_status(302);
    let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "alice");
    let done = browser.get(&path_of(&back));
    done.assert_status(302);
    assert_eq!(done.location(), "/user");
    assert_eq!(browser.claims()["amr"], serde_json::json!(["fed"]));
    assert_eq!(portal.count("SELECT COUNT(*) FROM oauth_identities"), 1);
}

#[test]
fn the_backend_api_and_a_ban_work_on_real_spin_with_postgres_in_production() {
    const KEY: &str = "sk_live_5e8a1c3f7b9d2e4a6c8f0b1d3e5a7c9f";
    let call = |portal: &Portal, method: &str, path: &str, body: Option<serde_json::Value>| {
        let mut builder = crate::support::request(method, path).header("authorization", format!("Bearer {KEY}"));
        let bytes = match body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                bytes::Bytes::from(body.to_string())
            }
            None => bytes::Bytes::new(),
        };
        let answer = portal.send(builder.body(bytes).unwrap());
        let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        (answer.status, json)
    };
    let portal = Portal::production_on_spin(&[("api_secret_key", KEY)], true);
    let origin = "https://accounts.myapp.com";
    let (status, ada) = call(
        &portal,
        "POST",
        "/api/v1/users",
        Some(serde_json::json!({"email_address": "ada@example.com", "password": PASSWORD, "first_name": "Ada"})),
    );
    assert_eq!(status, 201, "{ada}");
    let id = ada["id"].as_str().unwrap().to_owned();
    let (status, found) = call(&portal, "GET", "/api/v1/users?query=AD&limit=5", None);
    assert_eq!((status, found["total_count"].clone()), (200, serde_json::json!(1)));
    let (status, none) = call(&portal, "GET", "/api/v1/users?query=%25zz", None);
    assert_eq!((status, none["total_count"].clone()), (200, serde_json::json!(0)));

    let mut browser = Browser::at(&portal, origin);
    browser.sign_in("ada@example.com", PASSWORD).assert_status(302);
    let (status, banned) = call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), None);
    assert_eq!((status, banned["banned"].clone()), (200, serde_json::json!(true)));
    assert_eq!(browser.get("/user").status, 302, "the session ended");
    let refused = Browser::at(&portal, origin).sign_in("ada@example.com", PASSWORD);
    refused.assert_status(403);
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
    call(&portal, "POST", &format!("/api/v1/users/{id}/unban"), None);
    Browser::at(&portal, origin)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(302);
    let (status, _) = call(&portal, "DELETE", &format!("/api/v1/users/{id}"), None);
    assert_eq!(status, 200);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM api_requests"),
        1,
        "one row per key and minute"
    );
}

#[test]
fn signed_webhooks_reach_a_standardwebhooks_receiver_on_real_spin_with_postgres() {
    use crate::support::webhooks::{Receiver, SECRET};
    const KEY: &str = "sk_live_5e8a1c3f7b9d2e4a6c8f0b1d3e5a7c9f";
    let receiver = Receiver::start(SECRET);
    let owned = receiver.portal_variables(SECRET);
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.push(("api_secret_key", KEY));
    let portal = Portal::production_on_spin(&vars, true);
    let origin = "https://accounts.myapp.com";
    let mut browser = Browser::at(&portal, origin);
    browser.sign_up("ada@example.com", PASSWORD).assert_status(302);
    // Delivered after the response, by the same component instance.
    let received = receiver.wait_for(2);
    assert!(received.iter().all(|entry| entry["verified"] == true), "{received:?}");
    assert_eq!(receiver.accepted_types(), ["user.created", "session.created"]);
    receiver.set_mode("fail");
    browser.submit("/sign-out", "/sign-out", &[]).assert_status(302);
    receiver.wait_for(3);
    receiver.set_mode("ok");
    portal.execute("UPDATE webhook_events SET next_attempt_at = 0 WHERE delivered_at IS NULL");
    let deliver = portal.send(
        crate::support::request("POST", "/api/v1/webhooks/deliver")
            .header("authorization", format!("Bearer {KEY}"))
            .body(bytes::Bytes::new())
            .unwrap(),
    );
    deliver.assert_status(200);
    assert_eq!(
        receiver.accepted_types(),
        ["user.created", "session.created", "session.ended"]
    );
}
