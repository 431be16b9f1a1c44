//! Passkey ceremonies through the pages with the tests' software authenticator: what the page's
//! script does (fetch a challenge, ask the authenticator, post the credential), done by hand.

use super::authenticator::{SoftAuthenticator, b64};
use super::{Browser, TestResponse, html};

/// Where a portal is, for WebAuthn: its RP ID and origin.
#[derive(Clone, Copy)]
pub struct Site {
    pub rp_id: &'static str,
    pub origin: &'static str,
}

/// The test host's portal in development (`Host: 127.0.0.1:3000`).
pub const DEV: Site = Site {
    rp_id: "127.0.0.1",
    origin: "http://127.0.0.1:3000",
};

/// Adds a passkey to the signed-in `browser` from `/user` (its factor must be recent): the
/// response to the registration post.
pub fn add(browser: &mut Browser<'_>, authenticator: &mut SoftAuthenticator) -> TestResponse {
    add_at(DEV, browser, authenticator)
}

pub fn add_at(site: Site, browser: &mut Browser<'_>, authenticator: &mut SoftAuthenticator) -> TestResponse {
    let page = browser.submit("/user", "/user/passkeys/new", &[]);
    page.assert_status(200);
    register_on(site, browser, &page, authenticator)
}

/// Answers the registration page `page` with `authenticator`.
pub fn register_on(
    site: Site,
    browser: &mut Browser<'_>,
    page: &TestResponse,
    authenticator: &mut SoftAuthenticator,
) -> TestResponse {
    let options: serde_json::Value =
        serde_json::from_str(&html::attribute(&page.body, "data-options").expect("the creation options")).unwrap();
    assert_eq!(options["rp"]["id"], site.rp_id);
    assert_eq!(options["algorithms"], serde_json::json!([-7, -257]));
    let challenge = super::authenticator_bytes(options["challenge"].as_str().unwrap());
    authenticator.user_handle = super::authenticator_bytes(options["user"]["id"].as_str().unwrap());
    let (client_data, object) = authenticator.register(site.rp_id, site.origin, &challenge);
    let credential = format!(
        r#"{{"id":"{id}","rawId":"{id}","type":"public-key","response":{{"clientDataJSON":"{}","attestationObject":"{}"}}}}"#,
        b64(&client_data),
        b64(&object),
        id = b64(&authenticator.credential_id),
    );
    let csrf = page.input_value("csrf_token").unwrap();
    let flow = options["flow"].as_str().unwrap().to_owned();
    browser.post_form(
        "/user/passkeys",
        &[
            ("csrf_token", &csrf),
            ("passkey_flow", &flow),
            ("passkey_credential", &credential),
        ],
    )
}

/// What the sign-in page's script posts after `navigator.credentials.get`: the fields, given the
/// page's CSRF token, for a fresh challenge fetched by `browser`.
pub fn get_fields(browser: &mut Browser<'_>, csrf: &str, authenticator: &mut SoftAuthenticator) -> (String, String) {
    get_fields_at(DEV, browser, csrf, authenticator)
}

pub fn get_fields_at(
    site: Site,
    browser: &mut Browser<'_>,
    csrf: &str,
    authenticator: &mut SoftAuthenticator,
) -> (String, String) {
    let answer = browser.post_form("/passkeys/challenge", &[("csrf_token", csrf)]);
    answer.assert_status(200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let options: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(options["rpId"], site.rp_id);
    let challenge = super::authenticator_bytes(options["challenge"].as_str().unwrap());
    (
        options["flow"].as_str().unwrap().to_owned(),
        assertion_at(site, authenticator, &challenge),
    )
}

/// A `navigator.credentials.get` answer to `challenge`, as the page's script serializes it.
pub fn assertion(authenticator: &mut SoftAuthenticator, challenge: &[u8]) -> String {
    assertion_at(DEV, authenticator, challenge)
}

pub fn assertion_at(site: Site, authenticator: &mut SoftAuthenticator, challenge: &[u8]) -> String {
    let (client_data, auth_data, signature) = authenticator.assert(site.rp_id, site.origin, challenge);
    let handle = if authenticator.user_handle.is_empty() {
        "null".to_owned()
    } else {
        format!("\"{}\"", b64(&authenticator.user_handle))
    };
    format!(
        r#"{{"id":"{id}","rawId":"{id}","type":"public-key","response":{{"clientDataJSON":"{}","authenticatorData":"{}","signature":"{}","userHandle":{handle}}}}}"#,
        b64(&client_data),
        b64(&auth_data),
        b64(&signature),
        id = b64(&authenticator.credential_id),
    )
}

/// Signs `browser` in with a passkey from `/sign-in?…` (`page`): the response to the post.
pub fn sign_in(browser: &mut Browser<'_>, page: &str, authenticator: &mut SoftAuthenticator) -> TestResponse {
    sign_in_at(DEV, browser, page, authenticator)
}

pub fn sign_in_at(
    site: Site,
    browser: &mut Browser<'_>,
    page: &str,
    authenticator: &mut SoftAuthenticator,
) -> TestResponse {
    let form = browser.get(page);
    form.assert_status(200);
    let csrf = form.input_value("csrf_token").unwrap();
    let target = form.input_value("redirect_target").unwrap();
    let (flow, credential) = get_fields_at(site, browser, &csrf, authenticator);
    browser.post_form(
        "/sign-in/passkey",
        &[
            ("csrf_token", &csrf),
            ("redirect_target", &target),
            ("passkey_flow", &flow),
            ("passkey_credential", &credential),
        ],
    )
}
