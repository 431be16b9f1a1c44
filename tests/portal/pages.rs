//! Every route answers with a real page, status and headers.

use bytes::Bytes;

use crate::support::{Portal, SECRET_KEY, request};

#[test]
fn healthz_answers_ok() {
    let portal = Portal::new();
    let response = portal.get("/healthz");
    response.assert_status(200);
    assert_eq!(response.body, "ok\n");
}

#[test]
fn root_goes_to_sign_in_keeping_redirect_params() {
    let portal = Portal::new();
    let response = portal.get("/?redirect_url=%2Fuser&other=1");
    response.assert_status(302);
    assert_eq!(response.location(), "/sign-in?redirect_url=%2Fuser");
    assert_eq!(portal.get("/").location(), "/sign-in");
}

#[test]
fn sign_in_page_renders_the_form_with_branding_and_security_headers() {
    let portal = Portal::with_vars(&[("application_name", "Acme & Co"), ("primary_color", "#ff0000")]);
    let response = portal.get("/sign-in");
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(response.body.contains("Acme &amp; Co"));
    assert!(response.body.contains(r#"autocomplete="username webauthn""#));
    assert!(response.body.contains(r#"autocomplete="current-password""#));
    assert!(response.body.contains(r#"<label for="field-identifier">"#));
    let csp = response.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.header("referrer-policy").is_some());
}

#[test]
fn stylesheets_are_fingerprinted_and_cacheable() {
    let portal = Portal::with_vars(&[("primary_color", "#ff0000")]);
    let page = portal.get("/sign-in");
    let links: Vec<&str> = page
        .body
        .match_indices("href=\"/assets/")
        .map(|(i, _)| {
            let start = i + "href=\"".len();
            let end = start + page.body[start..].find('"').unwrap();
            &page.body[start..end]
        })
        .filter(|link| link.ends_with(".css"))
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    for link in &links {
        let css = portal.get(link);
        css.assert_status(200);
        assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
        assert!(css.header("cache-control").unwrap().contains("immutable"));
    }
    assert!(portal.get(links[1]).body.contains("--primary:#ff0000"));
    assert!(portal.get(links[0]).body.contains("prefers-color-scheme: dark"));
    portal.get("/assets/portal-0000000000000000.css").assert_status(404);
}

#[test]
fn the_stylesheet_and_script_go_compressed_to_browsers_and_plain_to_other_clients() {
    let portal = Portal::new();
    let page = portal.get("/sign-in");
    let asset = |suffix: &str| {
        let mut links = page.body.match_indices("\"/assets/portal-").map(|(at, _)| {
            let start = at + 1;
            &page.body[start..start + page.body[start..].find('"').unwrap()]
        });
        links
            .find(|link| link.ends_with(suffix))
            .expect("the asset's link")
            .to_owned()
    };
    let root = env!("CARGO_MANIFEST_DIR");
    for (path, source) in [
        (asset(".css"), "src/views/portal.css"),
        (asset(".js"), "src/views/portal.js"),
    ] {
        let plain = portal.get(&path);
        plain.assert_status(200);
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        assert_eq!(
            plain.body,
            std::fs::read_to_string(format!("{root}/{source}")).unwrap(),
            "{path}"
        );
        assert_eq!(plain.header("vary"), Some("accept-encoding"));
        let browser = portal.send(
            request("GET", &path)
                .header("accept-encoding", "gzip, deflate, br, zstd")
                .body(Bytes::new())
                .unwrap(),
        );
        browser.assert_status(200);
        assert_eq!(browser.header("content-encoding"), Some("gzip"), "{path}");
        assert_eq!(browser.header("vary"), Some("accept-encoding"));
        assert!(browser.header("cache-control").unwrap().contains("immutable"));
        assert!(browser.body != plain.body);
    }
}

#[test]
fn sign_in_prefills_identifier_from_email_or_username() {
    let portal = Portal::new();
    let response = portal.get("/sign-in?email_address=ada%40example.com");
    assert_eq!(response.input_value("identifier").as_deref(), Some("ada@example.com"));
    let response = portal.get("/sign-in?username=ada");
    assert_eq!(response.input_value("identifier").as_deref(), Some("ada"));
}

#[test]
fn sign_up_prefills_every_field_with_the_right_autocomplete() {
    let portal = Portal::new();
    let response = portal.get(
        "/sign-up?email_address=ada%40example.com&phone_number=%2B14155550123&username=ada&first_name=Ada&last_name=Lovelace",
    );
    response.assert_status(200);
    assert_eq!(
        response.input_value("email_address").as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(response.input_value("phone_number").as_deref(), Some("+14155550123"));
    assert_eq!(response.input_value("username").as_deref(), Some("ada"));
    assert_eq!(response.input_value("first_name").as_deref(), Some("Ada"));
    assert_eq!(response.input_value("last_name").as_deref(), Some("Lovelace"));
    for autocomplete in ["email", "tel", "username", "given-name", "family-name", "new-password"] {
        assert!(
            response.body.contains(&format!("autocomplete=\"{autocomplete}\"")),
            "{autocomplete}"
        );
    }
    assert!(response.input_value("password").is_none());
}

#[test]
fn hostile_prefill_values_are_escaped() {
    let portal = Portal::new();
    let response =
        portal.get("/sign-up?first_name=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&last_name=%27%20onfocus%3D%27x");
    response.assert_status(200);
    assert!(!response.body.contains("<script>"));
    assert!(response.body.contains("&quot;&gt;&lt;script&gt;"));
    assert_eq!(
        response.input_value("first_name").as_deref(),
        Some("\"><script>alert(1)</script>")
    );
    assert_eq!(response.input_value("last_name").as_deref(), Some("' onfocus='x"));
}

#[test]
fn overlong_or_control_character_prefill_is_dropped() {
    let portal = Portal::new();
    let long = "a".repeat(101);
    let response = portal.get(&format!("/sign-up?first_name={long}&last_name=a%0Ab&username=ok"));
    assert_eq!(response.input_value("first_name"), None);
    assert_eq!(response.input_value("last_name"), None);
    assert_eq!(response.input_value("username").as_deref(), Some("ok"));
}

#[test]
fn sign_up_fields_follow_configuration() {
    let portal = Portal::with_vars(&[("phone_number_field", "off"), ("username_field", "required")]);
    let response = portal.get("/sign-up?phone_number=%2B14155550123");
    assert!(!response.body.contains("name=\"phone_number\""));
    assert!(response.body.contains("name=\"username\""));
}

#[test]
fn malformed_query_strings_never_break_pages() {
    let portal = Portal::new();
    for query in [
        "%",
        "a=%zz",
        "email_address=%FF%FE",
        "=&&==&",
        "redirect_url=%E2%82",
        "x=%00",
    ] {
        portal.get(&format!("/sign-in?{query}")).assert_status(200);
        portal.get(&format!("/sign-up?{query}")).assert_status(200);
    }
}

#[test]
fn signed_out_visitors_are_sent_to_sign_in_from_account_pages() {
    let portal = Portal::new();
    for path in ["/user", "/organization", "/create-organization"] {
        let response = portal.get(path);
        response.assert_status(302);
        let location = response.location();
        assert!(location.starts_with("/sign-in?redirect_url="), "{location}");
        let back = url::Url::parse(&format!("http://x{location}")).unwrap();
        let redirect = back.query_pairs().find(|(k, _)| k == "redirect_url").unwrap().1;
        assert_eq!(redirect, path);
    }
}

#[test]
fn unauthorized_sign_in_page_renders() {
    let portal = Portal::new();
    let response = portal.get("/unauthorized-sign-in");
    response.assert_status(200);
    assert!(response.body.contains("Sign-in not allowed"));
}

#[test]
fn unknown_paths_get_a_real_404_page() {
    let portal = Portal::new();
    let response = portal.get("/nope");
    response.assert_status(404);
    assert!(response.body.contains("Page not found"));
    assert!(response.body.contains("<html"));
}

#[test]
fn wrong_methods_get_405_with_allow() {
    let portal = Portal::new();
    for (method, path) in [
        ("DELETE", "/sign-in"),
        ("PUT", "/user"),
        ("POST", "/healthz"),
        ("PATCH", "/"),
    ] {
        let response = portal.send(request(method, path).body(Default::default()).unwrap());
        response.assert_status(405);
        assert!(response.header("allow").unwrap().contains("GET"));
    }
}

#[test]
fn head_answers_like_get_without_a_body() {
    let portal = Portal::new();
    let response = portal.send(request("HEAD", "/sign-in").body(Default::default()).unwrap());
    response.assert_status(200);
    assert!(response.body.is_empty());
}

#[test]
fn configuration_errors_show_a_clear_page_in_development() {
    let portal = Portal::with_vars(&[("after_sign_in_url", "not a url"), ("primary_color", "red")]);
    let response = portal.get("/sign-in");
    response.assert_status(500);
    assert!(response.body.contains("Configuration error"));
    assert!(response.body.contains("after_sign_in_url"));
    assert!(response.body.contains("primary_color"));
    assert!(response.logs.contains("after_sign_in_url"));
    assert!(
        response.body.contains("--variable name=value"),
        "says how to set variables"
    );
    assert!(
        !response.body.contains("href=\"/sign-in\""),
        "no link that only reloads the error"
    );
    assert_eq!(
        response.logs.matches("configuration error: primary_color").count(),
        1,
        "logged once"
    );
    // The health check says what every page says: this portal is not serving.
    portal.get("/healthz").assert_status(500);
}

#[test]
fn configuration_errors_are_logged_and_pages_still_work_in_production() {
    let portal = Portal::with_vars(&[
        ("environment", "production"),
        ("secret_key", SECRET_KEY),
        ("public_origin", "https://accounts.myapp.com"),
        ("after_sign_in_url", "not a url"),
    ]);
    let response = portal.get("/sign-in");
    response.assert_status(200);
    assert!(!response.body.contains("after_sign_in_url"));
    assert!(response.logs.contains("after_sign_in_url"));
}

#[test]
fn unknown_environment_is_treated_as_production_and_logged() {
    let portal = Portal::with_vars(&[
        ("environment", "prod"),
        ("secret_key", SECRET_KEY),
        ("public_origin", "https://accounts.myapp.com"),
    ]);
    let response = portal.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A3000%2F");
    response.assert_status(200);
    assert!(response.logs.contains("environment"));
    assert!(!response.body.contains("Development notice"));
    assert!(response.header("strict-transport-security").is_some());
}

#[test]
fn pages_speak_the_visitors_language() {
    let portal = Portal::new();
    let french = portal.send(
        request("GET", "/sign-in")
            .header("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")
            .body(Default::default())
            .unwrap(),
    );
    french.assert_status(200);
    assert!(french.body.contains("<html lang=\"fr\">"));
    assert!(french.body.contains("Adresse e-mail ou nom d’utilisateur"));
    let english = portal.send(
        request("GET", "/sign-in")
            .header("accept-language", "nl-NL,nl;q=0.9")
            .body(Default::default())
            .unwrap(),
    );
    assert!(english.body.contains("<html lang=\"en\">"));
    let not_found = portal.send(
        request("GET", "/nope")
            .header("accept-language", "fr")
            .body(Default::default())
            .unwrap(),
    );
    not_found.assert_status(404);
    assert!(not_found.body.contains("Page introuvable"));
}
