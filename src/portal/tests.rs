//! The native tier: the whole pipeline (`portal::handle`) over an in-memory database and a map of
//! variables, without wasm. Routing, methods, headers, CSRF refusals and a full account flow run
//! here in milliseconds; what only the compiled component shows is tested in `tests/portal`.

use super::ROUTES;
use crate::testing::{NativeBrowser, NativePortal};

const PASSWORD: &str = "correct horse battery";

#[test]
fn every_route_answers_its_methods_and_refuses_the_others_with_allow() {
    let portal = NativePortal::new(&[]);
    for (path, get, post) in ROUTES {
        let response = portal.send("DELETE", path, &[], b"");
        assert_eq!(response.status, 405, "DELETE {path}");
        let allow = response.header("allow").expect("Allow");
        assert_eq!(allow.contains("GET"), get.is_some(), "{path}: {allow}");
        assert_eq!(allow.contains("POST"), post.is_some(), "{path}: {allow}");
        if get.is_some() {
            let status = portal.get(path).status;
            // A provider's callback or a new account's last step without its flow is a 400 page;
            // the waitlist exists only in `sign_up_mode = waitlist`.
            let flow_page = path.starts_with("/sign-in/oauth/");
            assert!(
                [200, 302, 410].contains(&status)
                    || (flow_page && status == 400)
                    || (*path == "/waitlist" && status == 404),
                "GET {path}: {status}"
            );
        } else {
            assert_eq!(portal.get(path).status, 405, "GET {path}");
        }
    }
}

#[test]
fn unknown_paths_are_a_real_404_page() {
    let portal = NativePortal::new(&[]);
    for path in [
        "/nope",
        "/user/",
        "/assets/portal-0000000000000000.css",
        "/sign-in/extra",
    ] {
        let response = portal.get(path);
        assert_eq!(response.status, 404, "{path}");
        assert!(response.body.contains("Page not found"), "{path}");
        assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"));
    }
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let portal = NativePortal::new(&[]);
    let get = portal.get("/sign-in");
    let head = portal.send("HEAD", "/sign-in", &[], b"");
    assert_eq!((head.status, get.status), (200, 200));
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(
        head.header("content-security-policy"),
        get.header("content-security-policy")
    );
}

#[test]
fn every_response_carries_the_security_headers() {
    let portal = NativePortal::new(&[]);
    for path in [
        "/sign-in",
        "/sign-up",
        "/nope",
        "/healthz",
        "/.well-known/jwks.json",
        "/user",
    ] {
        let response = portal.get(path);
        let csp = response.header("content-security-policy").expect(path);
        for directive in [
            "default-src 'none'",
            "style-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(
            csp.contains("script-src 'self';"),
            "only the portal's own script: {csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(response.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(response.header("cross-origin-opener-policy"), Some("same-origin"));
        assert_eq!(response.header("strict-transport-security"), None, "not over http");
    }
    assert_eq!(portal.get("/sign-in").header("cache-control"), Some("no-store"));
}

#[test]
fn production_adds_hsts_and_stylesheets_are_cached_forever() {
    let portal = NativePortal::new(&[
        ("environment", "production"),
        ("public_origin", "https://accounts.example.com"),
        ("secret_key", crate::testing::SECRET_KEY),
    ]);
    let page = portal.get("/sign-in");
    assert_eq!(page.status, 200);
    assert!(page.header("strict-transport-security").is_some());
    let stylesheet = page
        .body
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default())
        .find(|href| href.starts_with("/assets/portal-"))
        .expect("the page links its stylesheet")
        .to_owned();
    let css = portal.get(&stylesheet);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

#[test]
fn csp_form_action_allows_only_the_validated_redirect_origin() {
    let portal = NativePortal::new(&[]);
    let page = portal.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fdashboard");
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action 'self' http://localhost:5173;"), "{csp}");
    let refused = portal.get("/sign-in?redirect_url=https%3A%2F%2Fevil.example%2F");
    let csp = refused.header("content-security-policy").unwrap();
    assert!(!csp.contains("evil.example"), "{csp}");
}

#[test]
fn posts_without_a_token_from_another_site_or_malformed_are_refused() {
    let portal = NativePortal::new(&[]);
    let browser = NativeBrowser::new(&portal);
    browser.get("/sign-in");
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let missing = portal.send("POST", "/sign-in", &form, b"identifier=a&password=b");
    assert_eq!(missing.status, 403, "login CSRF without a token");
    assert!(missing.body.contains("security token is missing"));

    let page = browser.get("/sign-in");
    let token = page.input_value("csrf_token").unwrap();
    let body = format!("csrf_token={token}&identifier=a&password=b");
    let cookie = format!("__portal_csrf={}", browser.cookies.borrow()["__portal_csrf"]);
    for (name, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let headers = [form[0], ("cookie", cookie.as_str()), (name, value)];
        let response = portal.send("POST", "/sign-in", &headers, body.as_bytes());
        assert_eq!(response.status, 403, "cross-site {name} with a valid token");
        assert!(response.body.contains("sent from another site"));
    }
    let forged = [form[0], ("cookie", "__portal_csrf=another-visitors-value")];
    assert_eq!(portal.send("POST", "/sign-in", &forged, body.as_bytes()).status, 403);

    assert_eq!(
        portal
            .send("POST", "/sign-in", &[("content-type", "text/plain")], b"x")
            .status,
        415
    );
    assert_eq!(portal.send("POST", "/sign-in", &form, b"identifier=%zz").status, 400);
    assert_eq!(
        portal
            .send("POST", "/sign-in", &form, &vec![b'a'; 64 * 1024 + 1])
            .status,
        413
    );
    assert_eq!(
        portal.db.count("SELECT COUNT(*) FROM users"),
        0,
        "a refused post stores nothing"
    );
}

#[test]
fn signed_out_visitors_are_sent_to_sign_in_and_back() {
    let portal = NativePortal::new(&[]);
    let page = portal.get("/user?tab=security");
    assert_eq!(page.status, 302);
    assert_eq!(
        page.header("location"),
        Some("/sign-in?redirect_url=%2Fuser%3Ftab%3Dsecurity")
    );
    assert_eq!(
        portal.get("/organization/invitation?token=abc").status,
        410,
        "a signed-out invitation is answered in place, a dead token says so"
    );
    let browser = NativeBrowser::new(&portal);
    let form = browser.get("/sign-in");
    let token = form.input_value("csrf_token").unwrap();
    let post = browser.post("/user/profile", &[("csrf_token", &token), ("first_name", "Eve")]);
    assert_eq!(post.status, 303, "a post from an ended session changes nothing");
    assert_eq!(post.header("location"), Some("/sign-in?redirect_url=%2Fuser"));
}

#[test]
fn sign_up_sign_in_profile_and_sign_out_in_one_flow() {
    let portal = NativePortal::new(&[]);
    let browser = NativeBrowser::new(&portal);
    let asked = browser.submit(
        "/sign-up?redirect_url=%2Fuser",
        "/sign-up",
        &[("email_address", "Ada@Example.com"), ("password", PASSWORD)],
    );
    assert_eq!(asked.status, 303, "verified sign-up shows the code page first");
    assert!(
        !browser.cookies.borrow().contains_key("__session"),
        "no account before the code"
    );
    let signed_up = browser.enter_emailed_code(asked);
    assert_eq!(signed_up.status, 302, "{}", signed_up.body);
    assert_eq!(signed_up.header("location"), Some("/user"));
    assert!(browser.cookies.borrow().contains_key("__session"));
    let profile = browser.get("/user");
    assert_eq!(profile.status, 200);
    assert!(profile.body.contains("ada@example.com"));

    let signed_out = browser.submit("/sign-out", "/sign-out", &[]);
    assert_eq!(signed_out.status, 302);
    assert!(!browser.cookies.borrow().contains_key("__portal_session"));
    assert_eq!(browser.get("/user").status, 302, "the session is over");

    let wrong = browser.submit(
        "/sign-in",
        "/sign-in",
        &[("identifier", "ada@example.com"), ("password", "wrong password")],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.input_value("identifier").as_deref(), Some("ada@example.com"));
    let signed_in = browser.submit(
        "/sign-in",
        "/sign-in",
        &[("identifier", "ADA@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(signed_in.status, 302);
    let changed = browser.submit("/user", "/user/profile", &[("first_name", "Ada"), ("last_name", "")]);
    assert_eq!(changed.status, 303);
    assert_eq!(changed.header("location"), Some("/user?notice=profile_updated"));
    let after = browser.get("/user?notice=profile_updated");
    assert!(after.body.contains("Your profile was updated."), "{}", after.body);
    assert_eq!(portal.db.count("SELECT COUNT(*) FROM portal_sessions"), 1);
}

#[test]
fn a_failed_section_post_shows_its_problem_in_its_section() {
    let portal = NativePortal::new(&[]);
    let browser = NativeBrowser::new(&portal);
    let asked = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    browser.enter_emailed_code(asked);
    let failed = browser.submit(
        "/user",
        "/user/password",
        &[("current_password", "wrong"), ("new_password", "another long one")],
    );
    assert_eq!(failed.status, 401);
    let password_section = failed.body.split("id=\"password\"").nth(1).unwrap();
    let password_section = password_section.split("</section>").next().unwrap();
    assert!(password_section.contains("role=\"alert\""), "{password_section}");
    let email_section = failed.body.split("id=\"email\"").nth(1).unwrap();
    assert!(
        !email_section
            .split("</section>")
            .next()
            .unwrap()
            .contains("role=\"alert\"")
    );
}

/// A production portal at `https://accounts.example.com`, without email verification.
fn production_portal() -> NativePortal {
    NativePortal::new(&[
        ("environment", "production"),
        ("public_origin", "https://accounts.example.com"),
        ("secret_key", crate::testing::SECRET_KEY),
        ("email_verification", "off"),
    ])
}

#[test]
fn anonymous_form_pages_make_no_elliptic_curve_operation_and_sign_in_hashes_once() {
    use crate::security::cost;
    let portal = production_portal();
    cost::take();
    for path in ["/sign-in", "/sign-up", "/sign-in?redirect_url=%2Fdashboard", "/healthz"] {
        assert_eq!(portal.get(path).status, 200, "{path}");
    }
    assert!(cost::take().is_empty(), "CSRF tokens and seals need only HMAC keys");

    let origin = "https://accounts.example.com";
    let signed_up = NativeBrowser::at(&portal, origin).submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(signed_up.status, 302);
    let browser = NativeBrowser::at(&portal, origin);
    let page = browser.get("/sign-in");
    cost::take();
    let token = page.input_value("csrf_token").unwrap();
    let sealed = page.input_value("redirect_target").unwrap();
    let signed_in = browser.post(
        "/sign-in",
        &[
            ("csrf_token", &token),
            ("redirect_target", &sealed),
            ("identifier", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(signed_in.status, 302);
    let spent = cost::take();
    assert_eq!(spent.get("argon2"), Some(&1), "one verify: {spent:?}");
    assert_eq!(spent.get("key generation"), None, "{spent:?}");
    assert_eq!(
        spent.get("scalar multiplication"),
        Some(&1),
        "one signature, no public key"
    );
}

/// The packed translation tables (`views::i18n::packed`) a request asked for, by name.
fn packed_tables_asked_for() -> Vec<&'static str> {
    let spent = crate::security::cost::take();
    spent
        .keys()
        .filter_map(|name| name.strip_prefix("account_portal::views::i18n::"))
        .collect()
}

#[test]
fn a_localized_page_inflates_only_the_text_it_draws() {
    let portal = production_portal();
    let browser = NativeBrowser::at(&portal, "https://accounts.example.com");
    let french = [("accept-language", "fr-FR,fr;q=0.9")];
    // The anonymous pages, the busiest: only the main table (not the signed-in pages', the
    // errors', the emails', the passkeys' or the providers').
    for path in ["/sign-in?redirect_url=%2Fdashboard", "/sign-up"] {
        packed_tables_asked_for();
        let page = browser.get_with(path, &french);
        assert_eq!(page.status, 200);
        assert!(page.body.contains("lang=\"fr\""));
        assert_eq!(packed_tables_asked_for(), ["Strings"], "{path}");
    }
    let missing = browser.get_with("/nothing-here", &french);
    assert_eq!(missing.status, 404);
    assert_eq!(packed_tables_asked_for(), ["Strings", "errors::ErrorStrings"]);
}

#[test]
fn a_redirect_draws_no_text_so_it_never_unpacks_a_translation() {
    let portal = production_portal();
    let browser = NativeBrowser::at(&portal, "https://accounts.example.com");
    let signed_up = browser.submit(
        "/sign-up",
        "/sign-up",
        &[("email_address", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(signed_up.status, 302);
    let french = [("accept-language", "fr-FR,fr;q=0.9")];
    packed_tables_asked_for();
    let bounce = browser.get_with("/sign-in?redirect_url=%2Fdashboard", &french);
    assert_eq!(bounce.status, 302);
    assert!(packed_tables_asked_for().is_empty(), "the bounce");
    let page = browser.get_with("/user", &french);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("lang=\"fr\""));
    let asked = packed_tables_asked_for();
    assert!(
        asked.contains(&"Strings") && asked.contains(&"account::AccountStrings"),
        "{asked:?}"
    );
}
