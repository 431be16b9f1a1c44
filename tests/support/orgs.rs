//! Organization steps the tests share: create, switch, post a form of `/organization`, invite and
//! accept.

use super::{Browser, Portal, TestResponse};

/// Makes the organization `slug` active from its switch page, as the person would (a POST).
pub fn switch_to(browser: &mut Browser<'_>, slug: &str) -> TestResponse {
    browser.submit(
        &format!("/organization?switch={slug}"),
        "/organization/switch",
        &[("slug", slug)],
    )
}

pub fn create_org(browser: &mut Browser<'_>, name: &str, slug: &str) -> TestResponse {
    browser.submit(
        "/create-organization",
        "/create-organization",
        &[("name", name), ("slug", slug)],
    )
}

pub fn org_id(portal: &Portal, slug: &str) -> String {
    assert!(!slug.contains('\''));
    portal
        .text(&format!("SELECT id FROM organizations WHERE slug = '{slug}'"))
        .unwrap()
}

pub fn user_id(portal: &Portal, email: &str) -> String {
    assert!(!email.contains('\''));
    portal
        .text(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .unwrap()
}

/// Posts one of `/organization`'s forms, as the page would.
pub fn org_post(browser: &mut Browser<'_>, action: &str, org_id: &str, fields: &[(&str, &str)]) -> TestResponse {
    let page = browser.get("/user");
    let csrf = page.input_value("csrf_token").unwrap();
    let mut all = vec![("csrf_token", csrf.as_str()), ("org_id", org_id)];
    all.extend_from_slice(fields);
    browser.post_form(action, &all)
}

/// `admin` gives the member with `email` the admin role.
pub fn make_admin(portal: &Portal, admin: &mut Browser<'_>, org_id: &str, email: &str) {
    let member = user_id(portal, email);
    org_post(
        admin,
        "/organization/members/role",
        org_id,
        &[("user_id", &member), ("role", "admin")],
    )
    .assert_status(303);
}

/// Invites `email` and returns the invitation link's path and query.
pub fn invite(browser: &mut Browser<'_>, org_id: &str, email: &str, role: &str) -> String {
    let response = org_post(
        browser,
        "/organization/invitations",
        org_id,
        &[("email_address", email), ("role", role)],
    );
    response.assert_status(303);
    assert_eq!(response.location(), "/organization/invitations/created");
    let shown = browser.get(response.location());
    shown.assert_status(200);
    let link = shown
        .body
        .split("value=\"")
        .find(|part| part.contains("/organization/invitation?token="))
        .unwrap();
    let link = super::html::unescape(&link[..link.find('"').unwrap()]);
    let url = url::Url::parse(&link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

pub fn accept(browser: &mut Browser<'_>, link: &str) -> TestResponse {
    browser.submit(link, "/organization/invitation/accept", &[("token", token_of(link))])
}

pub fn token_of(link: &str) -> &str {
    let token = link.split("token=").nth(1).unwrap();
    token.split('&').next().unwrap()
}

/// The mailbox proof of an emailed invitation link.
pub fn proof_of(link: &str) -> &str {
    let proof = link.split("proof=").nth(1).unwrap();
    proof.split('&').next().unwrap()
}

/// The invitation link `email` was sent (path and query: token and mailbox proof), from the
/// development outbox.
pub fn emailed_link(portal: &Portal, email: &str) -> String {
    let text = portal
        .text(&format!(
            "SELECT text_body FROM dev_outbox WHERE recipient = '{email}' ORDER BY rowid DESC LIMIT 1"
        ))
        .unwrap();
    super::link_in(&text, "/organization/invitation?")
}
