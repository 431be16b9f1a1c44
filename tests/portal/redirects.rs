//! The redirect policy as seen from outside: notices, logs, and links.

use crate::support::{Portal, SECRET_KEY};

#[test]
fn rejected_redirect_shows_a_notice_in_development_and_is_logged() {
    let portal = Portal::new();
    let response = portal.get("/sign-in?redirect_url=https%3A%2F%2Fevil.com%2F");
    response.assert_status(200);
    assert!(response.body.contains("Development notice"));
    assert!(response.body.contains("https://evil.com/"));
    assert!(response.body.contains("allowed_redirect_origins"));
    assert!(response.logs.contains("redirect_url"), "{}", response.logs);
}

#[test]
fn rejected_redirect_is_only_logged_in_production() {
    let portal = Portal::with_vars(&[
        ("environment", "production"),
        ("secret_key", SECRET_KEY),
        ("public_origin", "https://accounts.myapp.com"),
    ]);
    let response = portal.get("/sign-in?redirect_url=https%3A%2F%2Fevil.com%2F");
    response.assert_status(200);
    assert!(!response.body.contains("Development notice"));
    assert!(!response.body.contains("was ignored"));
    assert!(response.logs.contains("evil.com"));
}

#[test]
fn hostile_redirect_values_are_escaped_in_the_notice() {
    let portal = Portal::new();
    let response = portal.get("/sign-in?redirect_url=javascript%3A%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert!(!response.body.contains("<script>"));
    assert!(response.body.contains("&lt;script&gt;"));
}

#[test]
fn accepted_redirect_produces_no_notice_and_a_back_link() {
    let portal = Portal::new();
    let response = portal.get("/sign-in?redirect_url=http%3A%2F%2F127.0.0.1%3A5173%2Fdashboard");
    assert!(!response.body.contains("Development notice"));
    assert!(response.body.contains("href=\"http://127.0.0.1:5173/dashboard\""));
}

#[test]
fn an_app_on_another_host_than_the_portal_is_warned_about_in_development() {
    // The portal on 127.0.0.1 and the app on localhost: the redirect works, the host-only
    // __session cookie never reaches the app, and it sends the visitor back in a loop.
    let portal = Portal::new();
    let response = portal.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fdashboard");
    assert!(response.body.contains("Development notice"));
    assert!(response.body.contains("on another host than the portal (127.0.0.1)"));
}

#[test]
fn a_rejected_redirect_notice_says_what_was_used_and_how_to_allow_it() {
    let portal = Portal::new();
    let response = portal.get("/sign-in?redirect_url=https%3A%2F%2Fapp.example.net%2F");
    assert!(response.body.contains("The portal sends visitors to /user instead."));
    assert!(
        response
            .body
            .contains("add https://app.example.net to the variable allowed_redirect_origins")
    );
}

#[test]
fn links_between_sign_in_and_sign_up_keep_the_redirect() {
    let portal = Portal::new();
    let response = portal.get("/sign-in?redirect_url=%2Fuser&email_address=a%40b.co");
    assert!(
        response.body.contains("href=\"/sign-up?redirect_url=%2Fuser\""),
        "{}",
        response.body
    );
}

#[test]
fn production_rejects_loopback_redirects() {
    let portal = Portal::with_vars(&[
        ("environment", "production"),
        ("secret_key", SECRET_KEY),
        ("public_origin", "https://accounts.myapp.com"),
        ("instance_domain", "myapp.com"),
        ("home_url", "https://myapp.com/"),
    ]);
    let response = portal.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A3000%2F");
    assert!(response.logs.contains("localhost"));
    assert!(response.body.contains("href=\"https://myapp.com/\""));
}
