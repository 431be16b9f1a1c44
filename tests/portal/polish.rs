//! The defects found in the accessibility and polish audit, each pinned through the real
//! component (the browser tier in `browser.rs` pins what needs a browser).

use crate::support::orgs::create_org;
use crate::support::{Browser, Portal};

#[test]
fn back_to_the_application_never_points_at_a_portal_page_that_loops_to_sign_in() {
    let portal = Portal::new();
    let looping = portal.get("/sign-in?redirect_url=%2Fuser");
    assert!(
        !looping.body.contains("class=\"back\""),
        "a link to /user would come back here"
    );
    let away = portal.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp");
    assert!(away.body.contains("href=\"http://localhost:5173/app\""));
}

#[test]
fn error_pages_say_what_happened_and_offer_the_way_that_fits_the_visitor() {
    let portal = Portal::new();
    let anonymous = portal.get("/nope");
    assert!(anonymous.body.contains("href=\"/sign-in\""));
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let signed_in = browser.get("/nope");
    assert!(
        signed_in.body.contains("href=\"/user\""),
        "not 'Go to sign in' for a signed-in visitor"
    );
    let gone = browser.get("/organization/invitation?token=unknown");
    gone.assert_status(410);
    assert!(gone.body.contains("No longer available") && !gone.body.contains("Something went wrong"));
}

#[test]
fn switching_to_an_unknown_organization_says_so_not_that_admins_only_may() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut browser, "Acme", "acme").assert_status(302);
    let unknown = browser.get("/organization?switch=nope");
    unknown.assert_status(403);
    assert!(unknown.body.contains("not a member of an organization"));
    assert!(!unknown.body.contains("Only admins"));
}

#[test]
fn repeated_buttons_say_what_they_act_on() {
    let portal = Portal::new();
    let mut laptop = Browser::signed_up(&portal, "ada@example.com");
    let mut phone = Browser::new(&portal);
    phone
        .sign_in("ada@example.com", crate::support::PASSWORD)
        .assert_status(302);
    let page = laptop.get("/user");
    let contexts = page.body.matches("class=\"visually-hidden\"> the session on").count();
    assert_eq!(contexts, 2, "each 'Sign out' button names its session");
}

#[test]
fn a_pale_brand_colour_gets_readable_button_text_and_links_and_development_says_so() {
    let portal = Portal::with_vars(&[("primary_color", "#facc15")]);
    let page = portal.get("/sign-in");
    assert!(page.body.contains("primary_color #facc15 is too pale for text"));
    let theme = portal.get("/assets/theme-facc15.css");
    assert!(
        theme.body.contains("--on-primary:#111827"),
        "dark text, not white at 1.5:1: {}",
        theme.body
    );
    assert!(!theme.body.contains("--link:#facc15"), "{}", theme.body);
}

#[test]
fn a_stale_csrf_cookie_shows_the_form_again_with_the_input_and_the_redirect() {
    let portal = Portal::new();
    let mut browser = Browser::new(&portal);
    let page = browser.get("/sign-up?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp");
    let action = "/sign-up?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp";
    assert!(
        page.body
            .contains("action=\"/sign-up?redirect_url=http%3A%2F%2Flocalhost%3A5173%2Fapp\"")
    );
    let (token, sealed) = (
        page.input_value("csrf_token").unwrap(),
        page.input_value("redirect_target").unwrap(),
    );
    // The cookie expires while the form is open.
    browser.cookies.remove("__portal_csrf");
    let fields = |token: &str, sealed: &str| {
        vec![
            ("csrf_token".to_owned(), token.to_owned()),
            ("redirect_target".to_owned(), sealed.to_owned()),
            ("email_address".to_owned(), "ada@example.com".to_owned()),
            ("first_name".to_owned(), "Ada".to_owned()),
            ("password".to_owned(), crate::support::PASSWORD.to_owned()),
        ]
    };
    let stale = fields(&token, &sealed);
    let stale: Vec<(&str, &str)> = stale.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let again = browser.post_form(action, &stale);
    again.assert_status(403);
    assert!(again.body.contains("submit it again"), "{}", again.body);
    assert_eq!(again.input_value("email_address").as_deref(), Some("ada@example.com"));
    assert_eq!(again.input_value("first_name").as_deref(), Some("Ada"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 0, "nothing was done");
    let fresh = fields(
        &again.input_value("csrf_token").unwrap(),
        &again.input_value("redirect_target").unwrap(),
    );
    let fresh: Vec<(&str, &str)> = fresh.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let done = browser.post_form(action, &fresh);
    done.assert_status(302);
    assert_eq!(done.location(), "http://localhost:5173/app", "the redirect survived");
}

#[test]
fn flows_that_end_on_a_portal_page_say_what_happened() {
    let portal = Portal::new();
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let created = browser.submit(
        "/create-organization",
        "/create-organization",
        &[("name", "Acme"), ("slug", "acme")],
    );
    assert_eq!(created.location(), "/organization?notice=organization_created");
    assert!(
        browser
            .get(created.location())
            .body
            .contains("Your organization was created.")
    );
    let signed_out = browser.submit("/sign-out", "/sign-out", &[]);
    assert_eq!(signed_out.location(), "/sign-in?notice=signed_out");
    assert!(browser.get(signed_out.location()).body.contains("You are signed out."));
    // An operator's own fallback is left as it is.
    let portal = Portal::with_vars(&[("after_sign_out_url", "http://localhost:5173/bye")]);
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    assert_eq!(
        browser.submit("/sign-out", "/sign-out", &[]).location(),
        "http://localhost:5173/bye"
    );
}

#[test]
fn the_invitee_finds_their_address_filled_in_and_the_admin_sees_who_the_link_is_for() {
    use crate::support::orgs::{create_org, org_id, org_post};
    let portal = Portal::new();
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    create_org(&mut ada, "Acme", "acme").assert_status(302);
    let acme = org_id(&portal, "acme");
    let created = org_post(
        &mut ada,
        "/organization/invitations",
        &acme,
        &[("email_address", "Bea@Example.com"), ("role", "admin")],
    );
    // Post/redirect/get: the link is shown once, by the page the post redirects to.
    created.assert_status(303);
    let created = ada.get(created.location());
    assert!(
        created.body.contains("An invitation for bea@example.com, as Admin"),
        "{}",
        created.body
    );
    assert!(created.body.contains("data-copy=\"invitation-link\""));
    let link = created.input_value("invitation-link").unwrap_or_else(|| {
        let start = created
            .body
            .find("http://127.0.0.1:3000/organization/invitation?token=")
            .unwrap();
        created.body[start..start + created.body[start..].find('"').unwrap()].to_owned()
    });
    let path = &link[link.find("/organization").unwrap()..];
    let mut bea = Browser::new(&portal);
    // The invitation page's "sign in" link carries the address and the way back.
    let invitation = bea.get(path);
    let start = invitation.body.find("/sign-in?redirect_url=").unwrap();
    let sign_in =
        crate::support::html::unescape(&invitation.body[start..start + invitation.body[start..].find('"').unwrap()]);
    assert_eq!(
        bea.get(&sign_in).input_value("identifier").as_deref(),
        Some("bea@example.com")
    );
    let sign_up = sign_in.replacen("/sign-in", "/sign-up", 1);
    assert_eq!(
        bea.get(&sign_up).input_value("email_address").as_deref(),
        Some("bea@example.com")
    );
}

#[test]
fn identifiers_are_typed_exactly_and_sign_up_links_the_operators_terms() {
    let portal = Portal::with_vars(&[("terms_url", "https://myapp.com/terms"), ("privacy_url", "/privacy")]);
    let page = portal.get("/sign-up");
    for name in ["email_address", "username"] {
        let tag_start = page.body.find(&format!("name=\"{name}\"")).unwrap();
        let tag = &page.body[tag_start..tag_start + page.body[tag_start..].find('>').unwrap()];
        assert!(
            tag.contains("autocapitalize=\"none\"") && tag.contains("spellcheck=\"false\""),
            "{tag}"
        );
    }
    assert!(page.body.contains("href=\"https://myapp.com/terms\"") && page.body.contains("href=\"/privacy\""));
    assert!(
        !Portal::new().get("/sign-up").body.contains("Terms of service"),
        "nothing when unset"
    );
    assert!(page.body.contains("data-show=\"Show password\""));
    let favicon = page.body.split("rel=\"icon\" href=\"").nth(1).unwrap();
    let favicon = &favicon[..favicon.find('"').unwrap()];
    let served = portal.get(favicon);
    served.assert_status(200);
    assert_eq!(served.header("content-type"), Some("image/svg+xml"));
}
