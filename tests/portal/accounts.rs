//! Real accounts through the real component: sign-up, sign-in, sessions, the JWT, sign-out,
//! lockout, CSRF, races and bad input.

use bytes::Bytes;

use crate::support::{Browser, PASSWORD, Portal, SECRET_KEY, TestResponse, cookie_value, request, verify_token};

#[test]
fn sign_up_then_sign_in_redirects_with_cookies_and_a_verifiable_jwt() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let response = browser.submit(
        "/sign-up?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fdashboard",
        "/sign-up",
        &[
            ("email_address", "Ada@Example.com"),
            ("password", PASSWORD),
            ("first_name", "Ada"),
        ],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "http://localhost:5173/dashboard");
    let portal_cookie = response.set_cookie("__portal_session").expect("portal session cookie");
    assert!(
        portal_cookie.contains("HttpOnly") && portal_cookie.contains("SameSite=Lax"),
        "{portal_cookie}"
    );
    assert!(
        !portal_cookie.contains("Secure"),
        "development runs on http: {portal_cookie}"
    );
    let session_cookie = response.set_cookie("__session").expect("session token cookie");
    assert!(
        !session_cookie.contains("Domain="),
        "host-only in development: {session_cookie}"
    );
    let claims = verify_token(&portal, cookie_value(&session_cookie), "http://127.0.0.1:3000");
    for claim in ["iss", "sub", "sid", "iat", "nbf", "exp", "jti"] {
        assert!(claims.get(claim).is_some(), "missing {claim}: {claims}");
    }
    assert!(claims["sub"].as_str().unwrap().starts_with("user_"));
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'"),
        1
    );

    // A different browser signs in with the same account.
    let mut other = Browser::new(&portal);
    let response = other.submit(
        "/sign-in?redirect_url=%2Fuser",
        "/sign-in",
        &[("identifier", "ADA@example.com"), ("password", PASSWORD)],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "/user");
    let claims2 = verify_token(
        &portal,
        cookie_value(&response.set_cookie("__session").unwrap()),
        "http://127.0.0.1:3000",
    );
    assert_eq!(claims2["sub"], claims["sub"]);
    assert_ne!(claims2["sid"], claims["sid"]);
    let page = other.get("/user");
    page.assert_status(200);
    assert!(page.body.contains("ada@example.com"));
}

#[test]
fn the_database_keeps_only_the_hash_of_the_session_token() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let response = browser.sign_up("ada@example.com", PASSWORD);
    let token = cookie_value(&response.set_cookie("__portal_session").unwrap()).to_owned();
    let stored = portal.blob("SELECT token_hash FROM portal_sessions").unwrap();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, token.as_bytes());
    let hash = portal.text("SELECT password_hash FROM users").unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    // A hash made in the `.wasm` verifies natively: the stored format is plain Argon2id.
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let parsed = PasswordHash::new(&hash).unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(PASSWORD.as_bytes(), &parsed)
            .is_ok()
    );
    assert!(
        argon2::Argon2::default()
            .verify_password(b"not the password", &parsed)
            .is_err()
    );
    assert!(!response.logs.contains(&token));
    assert!(!response.logs.contains("argon2id"));
}

#[test]
fn signed_in_visitors_skip_the_forms() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    browser.sign_up("ada@example.com", PASSWORD).assert_status(302);
    let first_jwt = browser.cookies["__session"].clone();
    for page in [
        "/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A3001%2Fapp",
        "/sign-up?redirect_url=http%3A%2F%2Flocalhost%3A3001%2Fapp",
    ] {
        let response = browser.get(page);
        response.assert_status(302);
        assert_eq!(response.location(), "http://localhost:3001/app");
        assert!(response.set_cookie("__session").is_some(), "a fresh token");
        assert!(
            response.set_cookie("__portal_session").is_none(),
            "the portal session is kept"
        );
    }
    assert_ne!(browser.cookies["__session"], first_jwt);
}

#[test]
fn sign_out_revokes_the_session_and_clears_cookies() {
    let portal = Portal::with_vars(&[("after_sign_out_url", "http://localhost:4000/bye")]);
    let mut browser = Browser::new(&portal);
    browser.sign_up("ada@example.com", PASSWORD).assert_status(302);
    let stolen = browser.cookies.clone();
    let confirm = browser.get("/sign-out");
    confirm.assert_status(200);
    assert!(confirm.body.contains("Sign out"));
    let response = browser.submit("/sign-out", "/sign-out", &[]);
    response.assert_status(302);
    assert_eq!(response.location(), "http://localhost:4000/bye");
    for name in ["__portal_session", "__session"] {
        assert!(
            response.set_cookie(name).unwrap().contains("Max-Age=0"),
            "{name} cleared"
        );
    }
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
    // The old cookie is dead even if someone kept a copy.
    let mut thief = Browser::new(&portal);
    thief.cookies = stolen;
    thief.get("/user").assert_status(302);
    assert!(
        thief.get("/sign-in").status == 200,
        "no fast path for a revoked session"
    );
}

#[test]
fn wrong_password_and_unknown_account_look_the_same() {
    let portal = Portal::new();
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    let wrong = Browser::new(&portal).sign_in("ada@example.com", "not the password");
    let unknown = Browser::new(&portal).sign_in("nobody@example.com", "not the password");
    let duplicate_sign_up = Browser::new(&portal).sign_up("ADA@example.com", "another password");
    for response in [&wrong, &unknown, &duplicate_sign_up] {
        response.assert_status(401);
        assert!(response.body.contains("Incorrect email address, username or password."));
        assert!(!response.body.to_lowercase().contains("taken"));
        assert!(!response.body.to_lowercase().contains("exists"));
        assert!(response.set_cookie("__portal_session").is_none());
    }
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn sign_up_with_a_taken_email_and_its_password_signs_in() {
    let portal = Portal::new();
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    let response = Browser::new(&portal).sign_up("ada@example.com", PASSWORD);
    response.assert_status(302);
    assert!(response.set_cookie("__session").is_some());
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn duplicate_username_is_refused_and_the_form_keeps_the_input() {
    let portal = Portal::new();
    Browser::signed_up_with_username(&portal, "a@example.com", "ada");
    let response = Browser::new(&portal).submit(
        "/sign-up",
        "/sign-up",
        &[
            ("email_address", "b@example.com"),
            ("password", PASSWORD),
            ("username", "ADA"),
            ("first_name", "<b>Bea</b>"),
            ("phone_number", "+14155550123"),
        ],
    );
    response.assert_status(422);
    assert!(response.body.contains("That username is taken."));
    assert_eq!(response.input_value("email_address").as_deref(), Some("b@example.com"));
    assert_eq!(response.input_value("first_name").as_deref(), Some("<b>Bea</b>"));
    assert!(!response.body.contains("<b>Bea</b>"), "escaped");
    assert_eq!(response.input_value("phone_number").as_deref(), Some("+14155550123"));
    assert_eq!(response.input_value("password"), None, "the password is never echoed");
    assert!(!response.body.contains(PASSWORD));
    assert!(
        response
            .body
            .contains(r#"aria-describedby="field-username-hint field-username-error""#)
    );
}

#[test]
fn field_errors_are_shown_next_to_their_fields() {
    let portal = Portal::new();
    let response = Browser::new(&portal).submit(
        "/sign-up?email_address=not-an-email",
        "/sign-up",
        &[
            ("email_address", "not-an-email"),
            ("password", "short"),
            ("phone_number", "12345"),
        ],
    );
    response.assert_status(422);
    assert!(response.body.contains(r#"id="field-email_address-error""#));
    assert!(response.body.contains("Enter a valid email address"));
    assert!(response.body.contains("Use at least 8 characters."));
    assert!(response.body.contains("international format"));
    assert_eq!(response.input_value("email_address").as_deref(), Some("not-an-email"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn failed_sign_in_keeps_the_identifier_and_the_redirect() {
    let portal = Portal::new();
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    let mut browser = Browser::new(&portal);
    let failed = browser.submit(
        "/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fx&email_address=ada%40example.com",
        "/sign-in",
        &[("identifier", "ada@example.com"), ("password", "wrong password")],
    );
    failed.assert_status(401);
    assert_eq!(failed.input_value("identifier").as_deref(), Some("ada@example.com"));
    let target = failed.input_value("redirect_target").unwrap();
    let csrf = failed.input_value("csrf_token").unwrap();
    let response = browser.post_form(
        "/sign-in",
        &[
            ("csrf_token", &csrf),
            ("redirect_target", &target),
            ("identifier", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "http://localhost:5173/x");
}

#[test]
fn a_forged_redirect_target_is_ignored() {
    let portal = Portal::with_vars(&[("after_sign_in_url", "/user?welcome=1")]);
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    let mut browser = Browser::new(&portal);
    let page = browser.get("/sign-in");
    let csrf = page.input_value("csrf_token").unwrap();
    let forged = format!("{}.AAAA", base64_url("9999999999\nhttps://evil.com/"));
    let response = browser.post_form(
        "/sign-in",
        &[
            ("csrf_token", &csrf),
            ("redirect_target", &forged),
            ("identifier", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "/user?welcome=1");
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn lockout_after_repeated_failures_without_revealing_accounts() {
    let portal = Portal::with_vars(&[("sign_in_max_failures", "3")]);
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    for identifier in ["ada@example.com", "ghost@example.com"] {
        for i in 0..3 {
            let mut browser = Browser::new(&portal);
            browser.client_addr = format!("127.0.10.{i}:1000");
            browser.sign_in(identifier, "wrong password").assert_status(401);
        }
        let mut browser = Browser::new(&portal);
        browser.client_addr = "127.0.10.9:1000".into();
        let locked = browser.sign_in(identifier, PASSWORD);
        locked.assert_status(429);
        assert!(locked.body.contains("Too many failed attempts"));
        assert!(locked.header("retry-after").unwrap().parse::<i64>().unwrap() > 0);
        assert!(locked.set_cookie("__portal_session").is_none());
    }
}

#[test]
fn lockout_per_client_address() {
    let portal = Portal::with_vars(&[("sign_in_max_failures", "3"), ("sign_in_max_failures_per_address", "3")]);
    Browser::new(&portal)
        .sign_up("ada@example.com", PASSWORD)
        .assert_status(302);
    let mut attacker = Browser::new(&portal);
    attacker.client_addr = "127.0.113.7:4444".into();
    for victim in ["a@example.com", "b@example.com", "c@example.com"] {
        attacker.sign_in(victim, "Summer2026!").assert_status(401);
    }
    attacker.sign_in("ada@example.com", PASSWORD).assert_status(429);
    let mut someone_else = Browser::new(&portal);
    someone_else.client_addr = "127.0.100.1:4444".into();
    someone_else.sign_in("ada@example.com", PASSWORD).assert_status(302);
}

#[test]
fn posts_without_a_valid_csrf_token_are_refused() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    browser.get("/sign-in");
    let response = browser.post_form("/sign-in", &[("identifier", "a@example.com"), ("password", PASSWORD)]);
    response.assert_status(403);
    assert!(response.body.contains("security token"));
    let response = browser.post_form(
        "/sign-in",
        &[("csrf_token", "forged"), ("identifier", "a"), ("password", "b")],
    );
    response.assert_status(403);
    // A token from another visitor's cookie does not fit this visitor's cookie.
    let mut other = Browser::new(&portal);
    let token = other.get("/sign-in").input_value("csrf_token").unwrap();
    browser
        .post_form(
            "/sign-up",
            &[
                ("csrf_token", &token),
                ("email_address", "x@example.com"),
                ("password", PASSWORD),
            ],
        )
        .assert_status(403);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn cross_site_posts_are_refused_even_with_a_token() {
    let portal = Portal::new();
    for (header, value) in [
        ("origin", "https://evil.com"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let mut browser = Browser::new(&portal);
        let page = browser.get("/sign-up");
        let token = page.input_value("csrf_token").unwrap();
        let body = format!("csrf_token={token}&email_address=x%40example.com&password=correct+horse");
        let mut builder = request("POST", "/sign-up").header("content-type", "application/x-www-form-urlencoded");
        builder = builder.header(header, value);
        let response = browser.send(builder, Bytes::from(body));
        response.assert_status(403);
        assert!(response.body.contains("<html"), "a real page");
    }
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0);
}

#[test]
fn concurrent_sign_ups_with_one_email_create_exactly_one_account() {
    let portal = Portal::new();
    let prepared: Vec<(Browser<'_>, String)> = (0..6)
        .map(|i| {
            let mut browser = Browser::new(&portal);
            browser.client_addr = format!("127.1.0.{i}:1");
            let token = browser.get("/sign-up").input_value("csrf_token").unwrap();
            (browser, token)
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = prepared
            .into_iter()
            .map(|(mut browser, token)| {
                scope.spawn(move || {
                    browser
                        .post_form(
                            "/sign-up",
                            &[
                                ("csrf_token", &token),
                                ("email_address", "race@example.com"),
                                ("password", PASSWORD),
                            ],
                        )
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1, "statuses: {statuses:?}");
    assert!(statuses.iter().all(|s| [302, 401, 503].contains(s)), "{statuses:?}");
    assert!(statuses.contains(&302), "{statuses:?}");
}

#[test]
fn oversized_wrongly_typed_and_malformed_bodies_get_clear_errors() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let token = browser.get("/sign-up").input_value("csrf_token").unwrap();
    let post = |browser: &mut Browser<'_>, content_type: &str, body: Vec<u8>| -> TestResponse {
        let builder = request("POST", "/sign-up")
            .header("content-type", content_type)
            .header("origin", "http://127.0.0.1:3000");
        browser.send(builder, Bytes::from(body))
    };
    let huge = format!(
        "csrf_token={token}&email_address=a%40b.co&password={}",
        "x".repeat(70 * 1024)
    );
    post(&mut browser, "application/x-www-form-urlencoded", huge.into_bytes()).assert_status(413);
    // Attack: a body on a GET, to make every page buffer 64 KiB. Such a body means nothing
    // (RFC 9110), so it is never read: the page answers as without it.
    let get_with_body = browser.send(
        request("GET", "/sign-in").header("content-type", "application/x-www-form-urlencoded"),
        Bytes::from(vec![b'x'; 200 * 1024]),
    );
    get_with_body.assert_status(200);
    assert!(get_with_body.body.contains("csrf_token"));
    post(
        &mut browser,
        "application/json",
        br#"{"email_address":"a@b.co"}"#.to_vec(),
    )
    .assert_status(415);
    post(&mut browser, "multipart/form-data; boundary=x", b"--x--".to_vec()).assert_status(415);
    let mut bad_utf8 = format!("csrf_token={token}&email_address=").into_bytes();
    bad_utf8.extend_from_slice(b"\xff\xfe&password=correct+horse");
    post(&mut browser, "application/x-www-form-urlencoded", bad_utf8).assert_status(400);
    post(
        &mut browser,
        "application/x-www-form-urlencoded",
        format!("csrf_token={token}&email_address=%zz").into_bytes(),
    )
    .assert_status(400);
    let ok_type = post(
        &mut browser,
        "application/x-www-form-urlencoded; charset=UTF-8",
        format!("csrf_token={token}&email_address=a%40example.com&password=correct+horse").into_bytes(),
    );
    ok_type.assert_status(302);
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
}

#[test]
fn production_cookies_are_secure_and_session_is_domain_scoped() {
    let portal = Portal::with_vars(&[
        ("environment", "production"),
        ("secret_key", SECRET_KEY),
        ("public_origin", "https://accounts.myapp.com"),
        ("instance_domain", "myapp.com"),
        ("home_url", "https://myapp.com/"),
    ]);
    let mut browser = Browser::at(&portal, "https://accounts.myapp.com");
    let page = browser.get("/sign-up?redirect_url=https%3A%2F%2Fapp.myapp.com%2Fwelcome");
    let csrf_cookie = page
        .set_cookie("__Host-portal_csrf")
        .expect("__Host- prefixed CSRF cookie");
    assert!(
        csrf_cookie.contains("Secure") && !csrf_cookie.contains("Domain"),
        "{csrf_cookie}"
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("form-action 'self' https://app.myapp.com")
    );
    let response = browser.submit(
        "/sign-up?redirect_url=https%3A%2F%2Fapp.myapp.com%2Fwelcome",
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    response.assert_status(302);
    assert_eq!(response.location(), "https://app.myapp.com/welcome");
    // `__Host-`: only host-only, Secure, Path=/ cookies may carry it, so no app subdomain can
    // plant a portal session (fixation).
    let portal_cookie = response.set_cookie("__Host-portal_session").unwrap();
    assert!(
        portal_cookie.contains("Secure") && !portal_cookie.contains("Domain=") && portal_cookie.contains("Path=/;"),
        "{portal_cookie}"
    );
    assert!(response.set_cookie("__portal_session").is_none());
    let session_cookie = response.set_cookie("__session").unwrap();
    assert!(
        session_cookie.contains("Domain=myapp.com") && session_cookie.contains("Secure"),
        "{session_cookie}"
    );
    let claims = verify_token(&portal, cookie_value(&session_cookie), "https://accounts.myapp.com");
    assert_eq!(claims["iss"], "https://accounts.myapp.com");
}

#[test]
fn generated_signing_key_is_stored_once_and_reused() {
    let portal = Portal::new();
    let first = portal.get("/.well-known/jwks.json");
    let second = portal.get("/.well-known/jwks.json");
    assert_eq!(first.body, second.body);
    let jwks: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].as_str().is_some());
    assert!(key.get("d").is_none());
    assert_eq!(portal.count("SELECT COUNT(*) FROM signing_keys"), 1);
}

#[test]
fn configured_signing_key_is_used() {
    let pem = "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6KrTxEWm//6dJpOY\\nn6QpfogooY4+kCUbRILILxjAvKKhRANCAAQtSehFsg89zo5nW9WlAh5MgiEFLEQX\\nYYKg57XxN/BAzN4QG4UC73AEtlPIoiYBRfKZJijVHLnsrKBsym0cZ3+6\\n-----END PRIVATE KEY-----";
    let portal = Portal::with_vars(&[("session_signing_key", pem)]);
    let jwks: serde_json::Value = serde_json::from_str(&portal.get("/.well-known/jwks.json").body).unwrap();
    // x coordinate of the public key of the PEM above.
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    assert_eq!(x.len(), 43);
    let mut browser = Browser::new(&portal);
    let response = browser.sign_up("ada@example.com", PASSWORD);
    verify_token(
        &portal,
        cookie_value(&response.set_cookie("__session").unwrap()),
        "http://127.0.0.1:3000",
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM signing_keys"),
        0,
        "no generated key when one is configured"
    );
    let broken = Portal::with_vars(&[("session_signing_key", "nonsense")]);
    let page = broken.get("/sign-in");
    page.assert_status(500);
    assert!(page.body.contains("session_signing_key"));
    assert!(!page.body.contains("nonsense"));
}

#[test]
fn first_requests_racing_to_migrate_and_create_the_key_all_succeed() {
    let portal = Portal::new();
    let bodies: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    let response = portal.get("/.well-known/jwks.json");
                    (response.status, response.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (status, body) in &bodies {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body, &bodies[0].1, "every request sees the same key");
    }
    assert_eq!(portal.count("SELECT COUNT(*) FROM signing_keys"), 1);
    if !portal.is_on_postgres() {
        let mode = portal.text("PRAGMA journal_mode").unwrap();
        assert_eq!(mode, "wal", "readers must not wait for writers");
    }
    assert_eq!(
        portal.count("SELECT COUNT(*) = MAX(version) FROM schema_migrations"),
        1,
        "each migration applied exactly once"
    );
}
