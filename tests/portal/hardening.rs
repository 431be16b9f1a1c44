//! The attacks found against a real Spin 4.0.2 host, each replayed through the real component.
//! Every test names the attack it stops.

use bytes::Bytes;

use crate::support::orgs::{accept, create_org, invite, org_id, org_post, switch_to, token_of, user_id};
use crate::support::{Browser, PASSWORD, Portal, SECRET_KEY, cookie_value, request, verify_token};

const OTHER_SECRET: &str = "3f9c1a7be2d4086f5a1c9e3b7d20f4e6a8c1b5d9e7f30a2c4e6b8d0f1a3c5e79";

/// A failed sign-in posted by `browser` with extra request headers.
fn wrong_password(browser: &mut Browser<'_>, identifier: &str, headers: &[(&str, &str)]) -> u16 {
    let token = browser.get("/sign-in").input_value("csrf_token").unwrap();
    let fields = [
        ("csrf_token", token.as_str()),
        ("identifier", identifier),
        ("password", "wrong password"),
    ];
    browser.post_form_with("/sign-in", &fields, headers).status
}

// ---------------------------------------------------------------------------------------------
// 1. Client address

#[test]
fn a_client_sent_spin_client_addr_can_neither_spray_nor_lock_out_others() {
    let portal = Portal::with_vars(&[("sign_in_max_failures", "3"), ("sign_in_max_failures_per_address", "3")]);
    let mut attacker = Browser::new(&portal);
    for (i, forged) in ["127.0.20.1", "127.0.20.2", "127.0.20.3"].iter().enumerate() {
        let identifier = format!("victim{i}@example.com");
        assert_eq!(
            wrong_password(&mut attacker, &identifier, &[("spin-client-addr", forged)]),
            401
        );
    }
    // Spraying from "new" addresses does not help: the attacker's own address is locked.
    assert_eq!(
        wrong_password(
            &mut attacker,
            "victim9@example.com",
            &[("spin-client-addr", "127.0.20.4")]
        ),
        429
    );
    // And the addresses the attacker named were not locked.
    let mut innocent = Browser::new(&portal);
    innocent.client_addr = "127.0.20.1:50000".into();
    assert_eq!(wrong_password(&mut innocent, "someone@example.com", &[]), 401);
}

#[test]
fn the_sessions_list_shows_the_address_spin_saw_not_a_forged_one() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let page = browser.get("/sign-up");
    let token = page.input_value("csrf_token").unwrap();
    let sealed = page.input_value("redirect_target").unwrap();
    browser
        .post_form_with(
            "/sign-up",
            &[
                ("csrf_token", &token),
                ("redirect_target", &sealed),
                ("email_address", "ada@example.com"),
                ("password", PASSWORD),
            ],
            &[("spin-client-addr", "6.6.6.6:666")],
        )
        .assert_status(302);
    let sessions = browser.get("/user");
    assert!(sessions.body.contains("127.0.0.1"), "the address Spin appended");
    assert!(!sessions.body.contains("6.6.6.6"), "the forged first value is ignored");
}

#[test]
fn behind_a_proxy_the_client_ip_header_is_read_from_the_right() {
    let portal = Portal::with_vars(&[
        ("client_ip_header", "x-forwarded-for"),
        ("sign_in_max_failures", "3"),
        ("sign_in_max_failures_per_address", "3"),
    ]);
    let mut visitor = Browser::new(&portal);
    visitor.client_addr = "127.9.9.9:443".into(); // every request comes from the proxy
    for i in 0..3 {
        // The visitor prepends forged addresses; the proxy appends the real one.
        let forwarded = format!("1.1.1.{i}, 203.0.113.5");
        let identifier = format!("victim{i}@example.com");
        assert_eq!(
            wrong_password(&mut visitor, &identifier, &[("x-forwarded-for", &forwarded)]),
            401
        );
    }
    assert_eq!(
        wrong_password(
            &mut visitor,
            "v@example.com",
            &[("x-forwarded-for", "1.1.1.9, 203.0.113.5")]
        ),
        429,
        "the real visitor address is locked"
    );
    let mut neighbour = Browser::new(&portal);
    neighbour.client_addr = "127.9.9.9:443".into();
    assert_eq!(
        wrong_password(&mut neighbour, "n@example.com", &[("x-forwarded-for", "203.0.113.6")]),
        401,
        "another visitor behind the same proxy is not locked with them"
    );
}

#[test]
fn a_client_sent_spin_full_url_does_not_change_the_portals_host() {
    let portal = Portal::new();
    let forged = portal.send(
        request("GET", "/sign-in")
            .header("spin-full-url", "http://evil.example/sign-in")
            .body(Bytes::new())
            .unwrap(),
    );
    // Had the portal read the client's value, development mode would refuse the host.
    forged.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Lockout race, rate limit, bounded records

#[test]
fn a_parallel_burst_of_guesses_gets_no_more_checks_than_the_lockout_limit() {
    let portal = Portal::with_vars(&[("password_checks_per_minute", "1000")]);
    Browser::signed_up(&portal, "ada@example.com");
    let mut browser = Browser::new(&portal);
    let token = browser.get("/sign-in").input_value("csrf_token").unwrap();
    let cookies: String = browser
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let body = format!("csrf_token={token}&identifier=ada%40example.com&password=wrong+guess");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let (cookies, body, portal) = (&cookies, &body, &portal);
                scope.spawn(move || {
                    let request = request("POST", "/sign-in")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("origin", "http://127.0.0.1:3000")
                        .header("cookie", cookies.as_str())
                        .body(Bytes::from(body.clone()))
                        .unwrap();
                    // Every guess from its own address: only the account's lock stops them.
                    portal.send_from(request, &format!("127.1.0.{i}:4000")).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked + refused, statuses.len(), "{statuses:?}");
    assert!(
        checked <= 5,
        "{checked} guesses were checked against a limit of 5: {statuses:?}"
    );
    assert!(checked >= 1, "{statuses:?}");
}

#[test]
fn password_checks_are_rate_limited_per_address_before_any_hash() {
    let portal = Portal::with_vars(&[("password_checks_per_minute", "3"), ("sign_in_max_failures", "100")]);
    let mut browser = Browser::new(&portal);
    for i in 0..3 {
        assert_eq!(wrong_password(&mut browser, &format!("u{i}@example.com"), &[]), 401);
    }
    let recorded = portal.count("SELECT COUNT(*) FROM password_checks WHERE scope LIKE 'rate:%'");
    let token = browser.get("/sign-in").input_value("csrf_token").unwrap();
    let refused = browser.post_form(
        "/sign-in",
        &[
            ("csrf_token", &token),
            ("identifier", "u9@example.com"),
            ("password", "x"),
        ],
    );
    refused.assert_status(429);
    let wait: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(refused.body.contains("Too many attempts from your network"));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM password_checks WHERE scope LIKE 'rate:%'"),
        recorded,
        "a refused check costs nothing and records nothing"
    );
    // Sign-up's hash counts too, and other addresses are unaffected.
    let sign_up = browser.sign_up("new@example.com", PASSWORD);
    sign_up.assert_status(429);
    let mut other = Browser::new(&portal);
    other.client_addr = "127.2.0.1:1".into();
    other.sign_up("new@example.com", PASSWORD).assert_status(302);
}

#[test]
fn failure_records_keep_a_bounded_normalized_identifier_not_the_raw_input() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let huge = "x".repeat(60 * 1024);
    assert_eq!(wrong_password(&mut browser, &huge, &[]), 401);
    let longest = portal.count("SELECT MAX(LENGTH(scope)) FROM password_checks");
    assert!(longest < 80, "a 60 KiB identifier was stored as {longest} bytes");
    // The Kelvin sign K (U+212A) is the same account as K and k, for lookups and locks alike.
    assert_eq!(wrong_password(&mut browser, "\u{212A}ate@example.com", &[]), 401);
    assert_eq!(wrong_password(&mut browser, "KATE@example.com", &[]), 401);
    assert_eq!(
        portal.count("SELECT COUNT(DISTINCT scope) FROM password_checks WHERE scope LIKE 'identifier:%'"),
        2,
        "the huge identifier and kate"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Development mode

#[test]
fn development_mode_serves_only_this_machine_so_a_forgotten_environment_cannot_leak() {
    let portal = Portal::new();
    for host in ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "app.localhost:3000"] {
        portal.get_at_host(host, "/sign-in").assert_status(200);
    }
    // Every page (the health check reads no setting and serves no page: it still says "ok").
    for host in ["accounts.example.com", "10.0.0.5:3000", "localhost.evil.com"] {
        for path in ["/sign-in", "/sign-up", "/.well-known/jwks.json", "/user", "/nope"] {
            let response = portal.get_at_host(host, path);
            response.assert_status(503);
            assert!(response.body.contains("environment"), "{host}{path}");
            assert!(!response.body.contains("<form"), "nothing else is served");
            assert!(response.set_cookies().is_empty(), "{host}{path}");
        }
    }
    let tunnel = Portal::with_vars(&[("development_hosts", "my-tunnel.example.net")]);
    tunnel
        .get_at_host("my-tunnel.example.net", "/sign-in")
        .assert_status(200);
    tunnel.get_at_host("other.example.net", "/sign-in").assert_status(503);
}

// ---------------------------------------------------------------------------------------------
// 5. The secret

#[test]
fn production_without_a_strong_secret_key_serves_nothing() {
    for secret in ["", "changeme", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="] {
        let portal = Portal::production(&[("secret_key", secret)]);
        for path in ["/sign-in", "/sign-up", "/user", "/.well-known/jwks.json", "/nope"] {
            let response = portal.get(path);
            response.assert_status(500);
            assert!(
                response.logs.contains("secret_key"),
                "{path}: the operator's log names it"
            );
            assert!(response.body.contains("not set up correctly"), "{path}");
            assert!(response.set_cookies().is_empty());
            assert!(
                !response.logs.contains(secret) || secret.is_empty(),
                "the value is never logged"
            );
        }
    }
}

#[test]
fn a_copy_of_the_database_mints_nothing_in_production() {
    let portal = Portal::production(&[]);
    let mut browser = Browser::at(&portal, "https://accounts.myapp.com");
    browser.sign_up("ada@example.com", PASSWORD).assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM signing_keys"), 0, "no key is stored");
    // The keys come from the secret: another database with the same secret publishes the same
    // key, one with another secret does not.
    let same_secret = Portal::production(&[]);
    let other_secret = Portal::production(&[("secret_key", OTHER_SECRET)]);
    let jwks = portal.get("/.well-known/jwks.json").body;
    assert_eq!(same_secret.get("/.well-known/jwks.json").body, jwks);
    assert_ne!(other_secret.get("/.well-known/jwks.json").body, jwks);
}

#[test]
fn a_rotated_secret_keeps_earlier_tokens_verifying() {
    let before = Portal::production(&[]);
    let mut browser = Browser::at(&before, "https://accounts.myapp.com");
    let response = browser.sign_up("ada@example.com", PASSWORD);
    let old_token = cookie_value(&response.set_cookie("__session").unwrap()).to_owned();
    let after = Portal::production(&[("secret_key", OTHER_SECRET), ("previous_secret_keys", SECRET_KEY)]);
    let jwks: serde_json::Value = serde_json::from_str(&after.get("/.well-known/jwks.json").body).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let claims = verify_token(&after, &old_token, "https://accounts.myapp.com");
    assert_eq!(claims["iss"], "https://accounts.myapp.com");
}

#[test]
fn a_malformed_session_signing_key_is_an_error_never_a_silent_fallback() {
    let portal = Portal::production(&[("session_signing_key", "not-a-key")]);
    // Pages that sign or publish keys refuse; none signs with the derived key instead.
    let jwks = portal.get("/.well-known/jwks.json");
    jwks.assert_status(500);
    assert!(jwks.logs.contains("session_signing_key"));
    assert!(!jwks.body.contains("not-a-key") && !jwks.logs.contains("not-a-key"));
    let mut browser = Browser::at(&portal, "https://accounts.myapp.com");
    let sign_up = browser.sign_up("ada@example.com", PASSWORD);
    sign_up.assert_status(500);
    assert!(sign_up.set_cookie("__session").is_none(), "no token from another key");
    assert!(sign_up.logs.contains("session_signing_key"));
    assert!(
        sign_up.calls.statements.is_empty(),
        "the post stopped before touching the database"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Cookies

#[test]
fn an_app_subdomain_cannot_plant_a_portal_session_in_production() {
    let portal = Portal::production(&[]);
    let mut attacker = Browser::at(&portal, "https://accounts.myapp.com");
    let response = attacker.sign_up("attacker@example.com", PASSWORD);
    let token = cookie_value(&response.set_cookie("__Host-portal_session").unwrap()).to_owned();
    // A subdomain can set `__portal_session` for the whole domain, never a `__Host-` cookie.
    let planted = portal.send(
        request("GET", "/user")
            .header("cookie", format!("__portal_session={token}"))
            .body(Bytes::new())
            .unwrap(),
    );
    planted.assert_status(302);
    assert!(
        planted.location().starts_with("/sign-in"),
        "the planted session is ignored"
    );
    let own = portal.send(
        request("GET", "/user")
            .header("cookie", format!("__Host-portal_session={token}"))
            .body(Bytes::new())
            .unwrap(),
    );
    own.assert_status(200);
}

#[test]
fn every_cookie_header_field_is_read_as_http2_clients_send_them() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let mut builder = request("GET", "/user");
    for (name, value) in &browser.cookies {
        builder = builder.header("cookie", format!("{name}={value}"));
    }
    portal.send(builder.body(Bytes::new()).unwrap()).assert_status(200);
    let claims = browser.claims();
    assert_eq!(
        claims["nbf"].as_i64().unwrap(),
        claims["iat"].as_i64().unwrap() - 30,
        "a slightly slow app clock accepts a fresh token"
    );
    browser.get("/user").assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// 7. Organizations

#[test]
fn a_removed_admins_old_invitation_link_no_longer_works() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let mut mallory = Browser::signed_up(&portal, "mallory@example.com");
    let link = invite(&mut ada, &acme, "mallory@example.com", "admin");
    accept(&mut mallory, &link).assert_status(303);
    // Mallory, an admin, invites her second account as admin; then Ada removes her.
    let backdoor = invite(&mut mallory, &acme, "mallory2@example.com", "admin");
    let mallory_id = user_id(&portal, "mallory@example.com");
    org_post(
        &mut ada,
        "/organization/members/remove",
        &acme,
        &[("user_id", &mallory_id)],
    )
    .assert_status(303);
    let mut second = Browser::signed_up(&portal, "mallory2@example.com");
    second.get(&backdoor).assert_status(410);
    let token = second.get("/user").input_value("csrf_token").unwrap();
    second
        .post_form(
            "/organization/invitation/accept",
            &[("csrf_token", &token), ("token", token_of(&backdoor))],
        )
        .assert_status(410);
    assert_eq!(
        portal
            .count("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email LIKE 'mallory%'"),
        0,
        "the removed admin did not come back"
    );
}

#[test]
fn a_cross_site_link_cannot_switch_the_active_organization() {
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    create_org(&mut ada, "Beta", "beta").assert_status(302);
    assert_eq!(ada.claims()["org_slug"], "beta");
    // A link or image on another site: shows a confirmation, changes nothing.
    let page = ada.get("/organization?switch=acme");
    page.assert_status(200);
    assert!(page.body.contains("action=\"/organization/switch\""));
    assert!(page.set_cookie("__session").is_none());
    assert_eq!(ada.claims()["org_slug"], "beta");
    // A cross-site form post is refused.
    let forged = ada.post_form_with(
        "/organization/switch",
        &[("slug", "acme")],
        &[("sec-fetch-site", "cross-site")],
    );
    forged.assert_status(403);
    assert_eq!(ada.claims()["org_slug"], "beta");
    switch_to(&mut ada, "acme").assert_status(303);
    assert_eq!(ada.claims()["org_slug"], "acme", "the person's own click switches");
}

// ---------------------------------------------------------------------------------------------
// 8. Sealed redirect targets

#[test]
fn a_sealed_redirect_copied_from_another_visitors_page_is_ignored() {
    let portal = Portal::new();
    let mut attacker = Browser::new(&portal);
    let page = attacker.get("/sign-up?redirect_url=http%3A%2F%2Flocalhost%3A6666%2Fphish");
    let sealed = page.input_value("redirect_target").unwrap();
    let mut victim = Browser::new(&portal);
    let token = victim.get("/sign-up").input_value("csrf_token").unwrap();
    let response = victim.post_form(
        "/sign-up",
        &[
            ("csrf_token", &token),
            ("redirect_target", &sealed),
            ("email_address", "victim@example.com"),
            ("password", PASSWORD),
        ],
    );
    response.assert_status(302);
    assert_eq!(
        response.location(),
        "/user",
        "the attacker's seal does not open for the victim"
    );
}

#[test]
fn a_sealed_target_the_policy_no_longer_allows_is_not_followed() {
    let allowing = Portal::production(&[("allowed_redirect_origins", "https://partner.example.net")]);
    let mut browser = Browser::at(&allowing, "https://accounts.myapp.com");
    let page = browser.get("/sign-up?redirect_url=https%3A%2F%2Fpartner.example.net%2Fwelcome");
    let (token, sealed) = (
        page.input_value("csrf_token").unwrap(),
        page.input_value("redirect_target").unwrap(),
    );
    // The operator removes the partner; a form sealed before that must not reach it.
    let strict = Portal::production(&[]);
    browser.portal = &strict;
    let response = browser.post_form(
        "/sign-up",
        &[
            ("csrf_token", &token),
            ("redirect_target", &sealed),
            ("email_address", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "/user");
    assert!(response.logs.contains("no longer allowed"), "{}", response.logs);
}

// ---------------------------------------------------------------------------------------------
// 9 and 10. Display spoofing, hosts browsers refuse

#[test]
fn names_with_bidi_overrides_or_zero_width_characters_are_refused() {
    let portal = Portal::new();
    let response = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[
            ("email_address", "ada@example.com"),
            ("password", PASSWORD),
            ("first_name", "Ada\u{202E}nimda"),
        ],
    );
    response.assert_status(422);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    ada.submit(
        "/create-organization",
        "/create-organization",
        &[("name", "Acme\u{200B}"), ("slug", "acme")],
    )
    .assert_status(422);
}

#[test]
fn a_redirect_to_an_xn_host_browsers_refuse_is_never_issued() {
    let portal = Portal::with_vars(&[("instance_domain", "myapp.com")]);
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let bounced = browser.get("/sign-in?redirect_url=https%3A%2F%2Fxn--abc.myapp.com%2F");
    bounced.assert_status(302);
    assert_eq!(bounced.location(), "/user");
    let valid = browser.get("/sign-in?redirect_url=https%3A%2F%2Fxn--bcher-kva.myapp.com%2F");
    assert_eq!(valid.location(), "https://xn--bcher-kva.myapp.com/");
}
