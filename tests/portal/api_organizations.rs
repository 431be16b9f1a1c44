//! The Backend API's organizations (`/api/v1/organizations…`) through the real component: the
//! operator creates, lists, changes and deletes organizations, manages members and invitations,
//! and meets the same rules as the pages (an admin always left, valid and unique slugs).

use serde_json::{Value, json};

use super::api::{admin_of_acme, call, create, error_code, json_of, portal};
use crate::support::{Browser, PASSWORD};

fn create_org(portal: &crate::support::Portal, body: Value) -> Value {
    let created = call(portal, "POST", "/api/v1/organizations", &body);
    created.assert_status(201);
    json_of(&created)
}

#[test]
fn organizations_are_created_listed_changed_and_deleted() {
    let portal = portal(&[]);
    let ada = create(
        &portal,
        json!({"email_address": "ada@example.com", "password": PASSWORD}),
    );
    let acme = create_org(
        &portal,
        json!({"name": "Acme Inc", "created_by": ada["id"], "public_metadata": {"tier": "gold"}}),
    );
    assert_eq!(acme["slug"], "acme-inc", "derived from the name");
    assert_eq!(acme["members_count"], 1);
    assert_eq!(acme["public_metadata"], json!({"tier": "gold"}));
    let id = acme["id"].as_str().unwrap().to_owned();
    create_org(
        &portal,
        json!({"name": "Globex", "slug": "globex", "created_by": ada["id"]}),
    );

    let all = json_of(&call(&portal, "GET", "/api/v1/organizations", &Value::Null));
    assert_eq!(all["total_count"], 2);
    let found = json_of(&call(&portal, "GET", "/api/v1/organizations?query=ACME", &Value::Null));
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["data"][0]["id"], id.as_str());

    let changed = call(
        &portal,
        "PATCH",
        &format!("/api/v1/organizations/{id}"),
        &json!({"slug": "acme", "require_two_step": true, "private_metadata": {"crm": 42}}),
    );
    changed.assert_status(200);
    let changed = json_of(&changed);
    assert_eq!(changed["name"], "Acme Inc", "what is not sent stays");
    assert_eq!(changed["slug"], "acme");
    assert_eq!(changed["require_two_step"], true);
    assert_eq!(changed["public_metadata"], json!({"tier": "gold"}));
    assert_eq!(changed["private_metadata"], json!({"crm": 42}));
    let taken = call(
        &portal,
        "PATCH",
        &format!("/api/v1/organizations/{id}"),
        &json!({"slug": "globex", "public_metadata": {"lost": true}}),
    );
    assert_eq!(error_code(&taken, 409), "slug_taken");
    let kept = json_of(&call(
        &portal,
        "GET",
        &format!("/api/v1/organizations/{id}"),
        &Value::Null,
    ));
    assert_eq!(kept["public_metadata"], json!({"tier": "gold"}), "all or nothing");

    // Ada's own pages see what the operator did.
    let mut browser = Browser::new(&portal);
    browser.sign_in("ada@example.com", PASSWORD).assert_status(302);
    assert!(browser.get("/organization?slug=acme").body.contains("Acme Inc"));

    call(&portal, "DELETE", &format!("/api/v1/organizations/{id}"), &Value::Null).assert_status(200);
    let gone = call(&portal, "GET", &format!("/api/v1/organizations/{id}"), &Value::Null);
    assert_eq!(error_code(&gone, 404), "not_found");
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships"), 1, "Globex's only");
}

#[test]
fn bad_organization_input_is_refused_and_creates_nothing() {
    let portal = portal(&[]);
    let ada = create(&portal, json!({"email_address": "ada@example.com"}));
    for (body, status, code) in [
        (
            json!({"name": "Acme", "created_by": "user_00000000000000000000000000000000"}),
            422,
            "invalid_field",
        ),
        (json!({"name": "Acme", "created_by": "not an id"}), 422, "invalid_field"),
        (json!({"name": "", "created_by": ada["id"]}), 422, "invalid_field"),
        (
            json!({"name": "Acme", "slug": "Bad Slug!", "created_by": ada["id"]}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "Acme", "created_by": ada["id"], "private_metadata": {"x": "y".repeat(9_000)}}),
            422,
            "invalid_field",
        ),
        (
            json!({"name": "Acme", "created_by": ada["id"], "owner": "me"}),
            400,
            "invalid_request",
        ),
        (json!({"name": 7, "created_by": ada["id"]}), 400, "invalid_request"),
    ] {
        let refused = call(&portal, "POST", "/api/v1/organizations", &body);
        assert_eq!(error_code(&refused, status), code, "{body}");
    }
    assert_eq!(portal.count("SELECT COUNT(*) FROM organizations"), 0);
    let missing = call(
        &portal,
        "PATCH",
        "/api/v1/organizations/org_00000000000000000000000000000000",
        &json!({"name": "X"}),
    );
    assert_eq!(error_code(&missing, 404), "not_found");
}

#[test]
fn members_are_added_promoted_and_removed_and_the_last_admin_stays() {
    let portal = portal(&[]);
    admin_of_acme(&portal);
    let org = portal.text("SELECT id FROM organizations WHERE slug = 'acme'").unwrap();
    let ada = portal
        .text("SELECT id FROM users WHERE email = 'ada@example.com'")
        .unwrap();
    let bea = create(&portal, json!({"email_address": "bea@example.com"}));
    let bea = bea["id"].as_str().unwrap();
    let members = format!("/api/v1/organizations/{org}/memberships");

    let added = call(&portal, "POST", &members, &json!({"user_id": bea, "role": "member"}));
    added.assert_status(201);
    assert_eq!(json_of(&added)["user"]["email_address"], "bea@example.com");
    let again = call(&portal, "POST", &members, &json!({"user_id": bea, "role": "member"}));
    assert_eq!(error_code(&again, 409), "already_member");
    let nobody = call(
        &portal,
        "POST",
        &members,
        &json!({"user_id": "user_00000000000000000000000000000000", "role": "member"}),
    );
    assert_eq!(error_code(&nobody, 422), "invalid_field");
    let bad_role = call(&portal, "POST", &members, &json!({"user_id": bea, "role": "owner"}));
    assert_eq!(error_code(&bad_role, 422), "invalid_field");

    let listed = json_of(&call(&portal, "GET", &members, &Value::Null));
    assert_eq!(listed["total_count"], 2);

    // The last admin can be neither demoted nor removed, by the operator either.
    let demote = call(
        &portal,
        "PATCH",
        &format!("{members}/{ada}"),
        &json!({"role": "member"}),
    );
    assert_eq!(error_code(&demote, 409), "last_admin");
    let remove = call(&portal, "DELETE", &format!("{members}/{ada}"), &Value::Null);
    assert_eq!(error_code(&remove, 409), "last_admin");
    let promoted = call(&portal, "PATCH", &format!("{members}/{bea}"), &json!({"role": "admin"}));
    promoted.assert_status(200);
    assert_eq!(json_of(&promoted)["role"], "admin");
    call(
        &portal,
        "PATCH",
        &format!("{members}/{ada}"),
        &json!({"role": "member"}),
    )
    .assert_status(200);
    call(&portal, "DELETE", &format!("{members}/{ada}"), &Value::Null).assert_status(200);
    let not_member = call(&portal, "DELETE", &format!("{members}/{ada}"), &Value::Null);
    assert_eq!(error_code(&not_member, 404), "not_found");
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships"), 1);
}

#[test]
fn an_invitation_made_by_the_operator_is_accepted_on_the_page() {
    let portal = portal(&[]);
    admin_of_acme(&portal);
    let org = portal.text("SELECT id FROM organizations WHERE slug = 'acme'").unwrap();
    let invitations = format!("/api/v1/organizations/{org}/invitations");
    let invited = call(
        &portal,
        "POST",
        &invitations,
        &json!({"email_address": "Bea@Example.com", "role": "member"}),
    );
    invited.assert_status(201);
    let invited = json_of(&invited);
    assert_eq!(invited["email_address"], "bea@example.com");
    assert_eq!(invited["status"], "pending");
    let url = invited["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:3000/organization/invitation?token="),
        "{url}"
    );
    let listed = json_of(&call(&portal, "GET", &invitations, &Value::Null));
    assert_eq!(listed["total_count"], 1);
    assert!(listed["data"][0].get("url").is_none(), "the link is shown once");

    let mut bea = Browser::signed_up(&portal, "bea@example.com");
    let path = &url["http://127.0.0.1:3000".len()..];
    let page = bea.get(path);
    page.assert_status(200);
    assert!(page.body.contains("Acme"), "the invitation names the organization");
    bea.submit(
        path,
        "/organization/invitation/accept",
        &[("token", &url[url.find("token=").unwrap() + 6..])],
    )
    .assert_status(303);
    assert_eq!(portal.count("SELECT COUNT(*) FROM memberships"), 2);

    let second = json_of(&call(
        &portal,
        "POST",
        &invitations,
        &json!({"email_address": "cy@example.com", "role": "admin"}),
    ));
    let revoke = format!("{invitations}/{}", second["id"].as_str().unwrap());
    call(&portal, "DELETE", &revoke, &Value::Null).assert_status(200);
    let twice = call(&portal, "DELETE", &revoke, &Value::Null);
    assert_eq!(error_code(&twice, 404), "not_found");
    let member = call(
        &portal,
        "POST",
        &invitations,
        &json!({"email_address": "bea@example.com", "role": "member"}),
    );
    assert_eq!(error_code(&member, 409), "already_member");
}
