//! The Backend API (`/api/v1/`) through the real component: its key (none, wrong, rotated out, a
//! browser cookie instead), its rate limit, every user endpoint and its bad input, and bans: a
//! banned user's live session, their refresh bounce and each sign-in road.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::support::{Browser, PASSWORD, Portal, TestResponse, request};

pub const KEY: &str = "sk_test_7d1e4b9a2c6f8e0d3a5b7c9e1f2a4b6c";
const OLD_KEY: &str = "sk_test_0f9e8d7c6b5a49382716f5e4d3c2b1a0";

pub fn portal(extra: &[(&str, &str)]) -> Portal {
    let mut vars = vec![("api_secret_key", KEY)];
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

/// One API call with `key` (none when empty) and a JSON body (none when `Value::Null`).
fn call_with(portal: &Portal, key: &str, method: &str, path: &str, body: &Value) -> TestResponse {
    let mut builder = request(method, path);
    if !key.is_empty() {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    let body = if body.is_null() {
        Bytes::new()
    } else {
        builder = builder.header("content-type", "application/json");
        Bytes::from(body.to_string())
    };
    portal.send(builder.body(body).unwrap())
}

pub fn call(portal: &Portal, method: &str, path: &str, body: &Value) -> TestResponse {
    call_with(portal, KEY, method, path, body)
}

pub fn json_of(response: &TestResponse) -> Value {
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8"),
        "{}",
        response.body
    );
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body))
}

/// The error code of a refused call, its status checked.
pub fn error_code(response: &TestResponse, status: u16) -> String {
    response.assert_status(status);
    json_of(response)["error"]["code"].as_str().unwrap().to_owned()
}

pub fn create(portal: &Portal, body: Value) -> Value {
    let created = call(portal, "POST", "/api/v1/users", &body);
    created.assert_status(201);
    json_of(&created)
}

#[test]
fn the_api_is_off_until_a_key_is_set() {
    let portal = Portal::new();
    let answer = call_with(&portal, KEY, "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&answer, 404), "not_found");
    assert!(answer.set_cookies().is_empty());
}

#[test]
fn attack_no_key_a_wrong_key_or_a_signed_in_browsers_cookie_opens_nothing() {
    let portal = portal(&[]);
    let none = call_with(&portal, "", "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&none, 401), "unauthorized");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let wrong = call_with(&portal, OLD_KEY, "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&wrong, 401), "unauthorized");
    let prefix = call_with(&portal, &KEY[..KEY.len() - 1], "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&prefix, 401), "unauthorized");
    let basic = portal.send(
        request("GET", "/api/v1/users")
            .header("authorization", format!("Basic {KEY}"))
            .body(Bytes::new())
            .unwrap(),
    );
    assert_eq!(error_code(&basic, 401), "unauthorized");
    // A signed-in browser carries its cookies to the API: they are not a key (no CSRF surface).
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    let with_cookie = browser.send(request("GET", "/api/v1/users"), Bytes::new());
    assert_eq!(error_code(&with_cookie, 401), "unauthorized");
    let ban = browser.send(
        request("POST", "/api/v1/users").header("content-type", "application/json"),
        Bytes::from(json!({"email_address": "eve@example.com"}).to_string()),
    );
    assert_eq!(error_code(&ban, 401), "unauthorized");
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1);
    assert!(with_cookie.header("access-control-allow-origin").is_none());
}

#[test]
fn attack_a_key_rotated_out_stops_working_and_both_work_during_the_rotation() {
    let rotating = Portal::with_vars(&[("api_secret_key", &format!("{KEY},{OLD_KEY}"))]);
    call_with(&rotating, KEY, "GET", "/api/v1/users", &Value::Null).assert_status(200);
    call_with(&rotating, OLD_KEY, "GET", "/api/v1/users", &Value::Null).assert_status(200);
    let rotated = portal(&[]);
    let old = call_with(&rotated, OLD_KEY, "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&old, 401), "unauthorized");
}

#[test]
fn a_key_that_could_be_guessed_is_a_configuration_error() {
    let portal = Portal::with_vars(&[("api_secret_key", "password123")]);
    let answer = call_with(&portal, "password123", "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&answer, 500), "configuration_error");
    assert!(!answer.body.contains("password123"), "the key is never repeated");
}

#[test]
fn each_key_is_rate_limited_per_minute() {
    let portal = Portal::with_vars(&[
        ("api_secret_key", &format!("{KEY},{OLD_KEY}")),
        ("api_requests_per_minute", "3"),
    ]);
    for _ in 0..3 {
        call(&portal, "GET", "/api/v1/users", &Value::Null).assert_status(200);
    }
    let limited = call(&portal, "GET", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&limited, 429), "rate_limited");
    let wait: i64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    call_with(&portal, OLD_KEY, "GET", "/api/v1/users", &Value::Null).assert_status(200);
}

#[test]
fn users_are_created_found_listed_searched_updated_and_deleted() {
    let portal = portal(&[]);
    let ada = create(
        &portal,
        json!({
            "email_address": "Ada@Example.com", "username": "ada", "first_name": "Ada",
            "last_name": "Lovelace", "password": PASSWORD,
            "public_metadata": {"plan": "pro"}, "private_metadata": {"stripe": "cus_1"}
        }),
    );
    assert_eq!(ada["object"], "user");
    assert_eq!(ada["email_address"], "ada@example.com");
    assert_eq!(ada["email_verified"], true);
    assert_eq!(ada["password_enabled"], true);
    assert_eq!(ada["banned"], false);
    assert_eq!(ada["public_metadata"], json!({"plan": "pro"}));
    assert_eq!(ada["private_metadata"], json!({"stripe": "cus_1"}));
    let id = ada["id"].as_str().unwrap().to_owned();
    // The account works on the pages with the password the API set.
    Browser::new(&portal).sign_in("ada", PASSWORD).assert_status(302);
    let bea = create(
        &portal,
        json!({"email_address": "bea@example.com", "first_name": "Beatrice"}),
    );
    assert_eq!(bea["password_enabled"], false);
    create(&portal, json!({"email_address": "cy@other.org", "last_name": "Adams"}));

    let fetched = call(&portal, "GET", &format!("/api/v1/users/{id}"), &Value::Null);
    fetched.assert_status(200);
    assert_eq!(json_of(&fetched), ada);

    let all = json_of(&call(&portal, "GET", "/api/v1/users", &Value::Null));
    assert_eq!(all["total_count"], 3);
    // Pages of a list in a stable order: together they hold each user once.
    let mut paged: Vec<String> = Vec::new();
    for (limit, offset) in [(2, 0), (2, 2)] {
        let page = json_of(&call(
            &portal,
            "GET",
            &format!("/api/v1/users?limit={limit}&offset={offset}"),
            &Value::Null,
        ));
        assert_eq!(page["total_count"], 3);
        for user in page["data"].as_array().unwrap() {
            paged.push(user["email_address"].as_str().unwrap().to_owned());
        }
    }
    paged.sort();
    assert_eq!(paged, ["ada@example.com", "bea@example.com", "cy@other.org"]);
    let by_email = json_of(&call(
        &portal,
        "GET",
        "/api/v1/users?email_address=ADA%40example.com&email_address=cy%40other.org",
        &Value::Null,
    ));
    assert_eq!(by_email["total_count"], 2);
    let searched = json_of(&call(&portal, "GET", "/api/v1/users?query=ada", &Value::Null));
    let mut found: Vec<&str> = searched["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email_address"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        ["ada@example.com", "cy@other.org"],
        "address, username or name, any case"
    );
    // Attack: LIKE wildcards in a search are text, not patterns.
    let wildcard = json_of(&call(&portal, "GET", "/api/v1/users?query=%25", &Value::Null));
    assert_eq!(wildcard["total_count"], 0);

    let patched = call(
        &portal,
        "PATCH",
        &format!("/api/v1/users/{id}"),
        &json!({"first_name": null, "username": "countess", "public_metadata": {"plan": "team"}}),
    );
    patched.assert_status(200);
    let patched = json_of(&patched);
    assert_eq!(patched["first_name"], Value::Null);
    assert_eq!(patched["last_name"], "Lovelace", "what is not sent is kept");
    assert_eq!(patched["username"], "countess");
    assert_eq!(patched["public_metadata"], json!({"plan": "team"}));
    assert_eq!(patched["private_metadata"], json!({"stripe": "cus_1"}));

    let deleted = call(&portal, "DELETE", &format!("/api/v1/users/{id}"), &Value::Null);
    deleted.assert_status(200);
    assert_eq!(json_of(&deleted)["deleted"], true);
    let gone = call(&portal, "GET", &format!("/api/v1/users/{id}"), &Value::Null);
    assert_eq!(error_code(&gone, 404), "not_found");
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 2);
}

/// The component's stack is small (256 KiB, `.cargo/config.toml`: every request's fresh memory
/// is cheaper on Spin the smaller it is), and JSON is read and written recursively: the deepest
/// metadata the parser accepts goes in, out and back, and a deeper body is a clean refusal.
#[test]
fn attack_deeply_nested_metadata_cannot_exhaust_the_stack() {
    let portal = portal(&[("session_token_public_metadata", "true")]);
    let id = create(
        &portal,
        json!({"email_address": "ada@example.com", "password": PASSWORD}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // serde_json refuses past 128 levels; the body's own object is one of them.
    let mut deepest = json!(1);
    for _ in 0..125 {
        deepest = json!([deepest]);
    }
    let metadata = json!({ "deep": deepest });
    let patched = call(
        &portal,
        "PATCH",
        &format!("/api/v1/users/{id}"),
        &json!({ "public_metadata": metadata }),
    );
    patched.assert_status(200);
    let read = call(&portal, "GET", &format!("/api/v1/users/{id}"), &Value::Null);
    assert_eq!(json_of(&read)["public_metadata"], metadata);
    // The session token carries public metadata: a sign-in writes it into the token as well.
    let mut browser = Browser::new(&portal);
    browser.sign_in("ada@example.com", PASSWORD).assert_status(302);
    browser.get("/user").assert_status(200);

    let too_deep = format!(
        "{{\"public_metadata\":{{\"a\":{}1{}}}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let refused = portal.send(
        request("PATCH", &format!("/api/v1/users/{id}"))
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/json")
            .body(Bytes::from(too_deep))
            .unwrap(),
    );
    assert_eq!(error_code(&refused, 400), "invalid_json");
    assert_eq!(
        json_of(&call(&portal, "GET", &format!("/api/v1/users/{id}"), &Value::Null))["public_metadata"],
        metadata
    );
}

#[test]
fn a_password_hash_from_another_system_is_imported_and_signs_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let portal = portal(&[]);
    let params = argon2::Params::new(4_096, 3, 1, None).unwrap();
    let digest = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(
            b"a password from before",
            &SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap(),
        )
        .unwrap()
        .to_string();
    create(
        &portal,
        json!({"email_address": "ada@example.com", "password_digest": digest}),
    );
    Browser::new(&portal)
        .sign_in("ada@example.com", "a password from before")
        .assert_status(302);
    Browser::new(&portal)
        .sign_in("ada@example.com", "not the password")
        .assert_status(401);
    // bcrypt, from another system: it signs in, and is replaced by Argon2id at once.
    create(
        &portal,
        json!({"email_address": "cy@example.com",
               "password_digest": "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie"}),
    );
    Browser::new(&portal)
        .sign_in("cy@example.com", "correctbatteryhorsestapler")
        .assert_status(302);
    let rehashed = portal
        .text("SELECT password_hash FROM users WHERE email = 'cy@example.com'")
        .unwrap();
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");
    Browser::new(&portal)
        .sign_in("cy@example.com", "correctbatteryhorsestapler")
        .assert_status(302);
    // Attack: a hash that would cost every sign-in a gigabyte of memory.
    let expensive = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "bea@example.com",
                "password_digest": "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI"}),
    );
    assert_eq!(error_code(&expensive, 422), "invalid_field");
    assert_eq!(json_of(&expensive)["error"]["field"], "password_digest");
    let both = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "bea@example.com", "password": PASSWORD, "password_digest": digest}),
    );
    assert_eq!(error_code(&both, 422), "invalid_field");
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 2);
}

#[test]
fn bad_input_gets_a_json_error_with_a_stable_code_and_changes_nothing() {
    let portal = portal(&[]);
    create(&portal, json!({"email_address": "ada@example.com", "username": "ada"}));
    let send_raw = |method: &str, path: &str, content_type: &str, body: &[u8]| {
        portal.send(
            request(method, path)
                .header("authorization", format!("Bearer {KEY}"))
                .header("content-type", content_type)
                .body(Bytes::copy_from_slice(body))
                .unwrap(),
        )
    };
    let json = "application/json";
    assert_eq!(
        error_code(&send_raw("POST", "/api/v1/users", json, b"{\"email_"), 400),
        "invalid_json"
    );
    assert_eq!(
        error_code(&send_raw("POST", "/api/v1/users", json, b"[1]"), 400),
        "invalid_request"
    );
    assert_eq!(
        error_code(&send_raw("POST", "/api/v1/users", json, b"\xff\xfe"), 400),
        "invalid_json",
        "invalid UTF-8"
    );
    let wrong_type = send_raw(
        "POST",
        "/api/v1/users",
        json,
        br#"{"email_address": "b@example.com", "email_verified": "yes"}"#,
    );
    assert_eq!(error_code(&wrong_type, 400), "invalid_request");
    let unknown = send_raw(
        "POST",
        "/api/v1/users",
        json,
        br#"{"email_address": "b@example.com", "is_admin": true}"#,
    );
    assert_eq!(error_code(&unknown, 400), "invalid_request");
    assert!(
        json_of(&unknown)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is_admin")
    );
    let form = send_raw(
        "POST",
        "/api/v1/users",
        "application/x-www-form-urlencoded",
        b"email_address=b",
    );
    assert_eq!(error_code(&form, 415), "unsupported_media_type");
    let huge = send_raw("POST", "/api/v1/users", json, &vec![b' '; 70 * 1024]);
    assert_eq!(error_code(&huge, 413), "payload_too_large");

    let taken = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "ADA@example.com"}),
    );
    assert_eq!(error_code(&taken, 409), "email_taken");
    let taken_name = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "b@example.com", "username": "ADA"}),
    );
    assert_eq!(error_code(&taken_name, 409), "username_taken");
    let bad_name = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "b@example.com", "username": "no spaces allowed"}),
    );
    assert_eq!(error_code(&bad_name, 422), "invalid_field");
    assert_eq!(json_of(&bad_name)["error"]["field"], "username");
    let weak = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "b@example.com", "password": "short"}),
    );
    assert_eq!(json_of(&weak)["error"]["field"], "password");
    let listy = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "b@example.com", "public_metadata": [1]}),
    );
    assert_eq!(error_code(&listy, 422), "invalid_field");
    let big = call(
        &portal,
        "POST",
        "/api/v1/users",
        &json!({"email_address": "b@example.com", "private_metadata": {"x": "y".repeat(9_000)}}),
    );
    assert_eq!(error_code(&big, 422), "invalid_field");
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 1, "nothing was created");

    for query in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "offset=-1",
        "sort=name",
        "email_address=nope",
    ] {
        let refused = call(&portal, "GET", &format!("/api/v1/users?{query}"), &Value::Null);
        assert_eq!(error_code(&refused, 400), "invalid_request", "{query}");
    }
    let missing = call(
        &portal,
        "GET",
        "/api/v1/users/user_0123456789abcdef0123456789abcdef",
        &Value::Null,
    );
    assert_eq!(error_code(&missing, 404), "not_found");
    let injected = call(&portal, "GET", "/api/v1/users/'%20OR%201=1--", &Value::Null);
    assert_eq!(error_code(&injected, 404), "not_found");
    let nowhere = call(&portal, "GET", "/api/v1/nothing", &Value::Null);
    assert_eq!(error_code(&nowhere, 404), "not_found");
    let put = call(&portal, "PUT", "/api/v1/users", &Value::Null);
    assert_eq!(error_code(&put, 405), "method_not_allowed");
    assert_eq!(put.header("allow"), Some("GET, POST"));
}

fn user_id_of(portal: &Portal, email: &str) -> String {
    let found = json_of(&call(
        portal,
        "GET",
        &format!("/api/v1/users?email_address={}", email.replace('@', "%40")),
        &Value::Null,
    ));
    found["data"][0]["id"].as_str().unwrap().to_owned()
}

/// Ada, signed up and the admin of the organization Acme she just created.
pub fn admin_of_acme(portal: &Portal) -> Browser<'_> {
    let mut browser = Browser::signed_up(portal, "ada@example.com");
    browser
        .submit(
            "/create-organization",
            "/create-organization",
            &[("name", "Acme"), ("slug", "acme")],
        )
        .assert_status(302);
    browser
}

#[test]
fn sessions_are_listed_and_revoked_and_memberships_listed() {
    let portal = portal(&[]);
    let mut browser = admin_of_acme(&portal);
    let id = user_id_of(&portal, "ada@example.com");
    let sessions_of = || {
        json_of(&call(
            &portal,
            "GET",
            &format!("/api/v1/users/{id}/sessions"),
            &Value::Null,
        ))
    };
    let first = sessions_of()["data"][0]["id"].as_str().unwrap().to_owned();
    let mut laptop = Browser::new(&portal);
    laptop.sign_in("ada@example.com", PASSWORD).assert_status(302);

    let listed = sessions_of();
    assert_eq!(listed["total_count"], 2);
    assert_eq!(listed["data"][0]["amr"], json!(["pwd"]));
    let newest = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["id"].as_str().unwrap().to_owned())
        .find(|session| *session != first)
        .unwrap();
    call(
        &portal,
        "DELETE",
        &format!("/api/v1/users/{id}/sessions/{newest}"),
        &Value::Null,
    )
    .assert_status(200);
    let again = call(
        &portal,
        "DELETE",
        &format!("/api/v1/users/{id}/sessions/{newest}"),
        &Value::Null,
    );
    assert_eq!(error_code(&again, 404), "not_found");
    assert_eq!(laptop.get("/user").status, 302, "the laptop's session ended");
    browser.get("/user").assert_status(200);
    call(&portal, "DELETE", &format!("/api/v1/users/{id}/sessions"), &Value::Null).assert_status(200);
    assert_eq!(browser.get("/user").status, 302, "signed out everywhere");

    let memberships = json_of(&call(
        &portal,
        "GET",
        &format!("/api/v1/users/{id}/organization_memberships"),
        &Value::Null,
    ));
    assert_eq!(memberships["data"][0]["role"], "admin");
    assert_eq!(memberships["data"][0]["organization"]["slug"], "acme");
}

#[test]
fn deleting_the_last_admin_of_an_organization_with_members_is_refused() {
    let portal = portal(&[]);
    admin_of_acme(&portal);
    let id = user_id_of(&portal, "ada@example.com");
    let org_id = portal.text("SELECT id FROM organizations WHERE slug = 'acme'").unwrap();
    let bea = create(&portal, json!({"email_address": "bea@example.com"}));
    portal.execute(&format!(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ('{org_id}', '{}', 'member', 1)",
        bea["id"].as_str().unwrap()
    ));
    let refused = call(&portal, "DELETE", &format!("/api/v1/users/{id}"), &Value::Null);
    assert_eq!(error_code(&refused, 409), "last_admin");
    assert!(json_of(&refused)["error"]["message"].as_str().unwrap().contains("Acme"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM users"), 2);
}

#[test]
fn attack_a_banned_users_live_session_and_refresh_bounce_end_at_once() {
    let portal = portal(&[]);
    let mut browser = Browser::signed_up(&portal, "ada@example.com");
    browser.get("/user").assert_status(200);
    let id = user_id_of(&portal, "ada@example.com");
    let banned = call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), &Value::Null);
    banned.assert_status(200);
    assert_eq!(json_of(&banned)["banned"], true);
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
    assert_eq!(browser.get("/user").status, 302, "the live session is gone");
    // The app's expired token sends the browser to /sign-in: no bounce back with a new token.
    let bounce = browser.get("/sign-in?redirect_url=http%3A%2F%2Flocalhost%3A5173%2F");
    bounce.assert_status(200);
    assert!(
        bounce
            .set_cookie("__session")
            .is_none_or(|cookie| cookie.contains("Max-Age=0"))
    );
}

#[test]
fn attack_a_banned_user_cannot_sign_in_by_password_or_email_code_until_unbanned() {
    let portal = portal(&[("sign_in_with_email_code", "true")]);
    Browser::signed_up(&portal, "ada@example.com");
    let id = user_id_of(&portal, "ada@example.com");
    call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), &Value::Null).assert_status(200);

    let mut by_password = Browser::new(&portal);
    let refused = by_password.sign_in("ada@example.com", PASSWORD);
    refused.assert_status(403);
    assert!(refused.body.contains("This account is suspended"), "{}", refused.body);
    assert!(refused.set_cookie("__session").is_none());

    let mut by_code = Browser::new(&portal);
    let asked = by_code.submit("/sign-in", "/sign-in/code", &[("identifier", "ada@example.com")]);
    asked.assert_status(303);
    let entered = by_code.enter_emailed_code(asked);
    entered.assert_status(403);
    assert!(entered.body.contains("This account is suspended"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);

    let by_sign_up = Browser::new(&portal).sign_up("ada@example.com", PASSWORD);
    by_sign_up.assert_status(403);
    assert!(by_sign_up.body.contains("This account is suspended"));

    // A wrong password still says only "wrong": a ban is shown only to whoever proves the account.
    let guess = Browser::new(&portal).sign_in("ada@example.com", "not the password");
    guess.assert_status(401);
    assert!(!guess.body.contains("suspended"));

    let unbanned = call(&portal, "POST", &format!("/api/v1/users/{id}/unban"), &Value::Null);
    assert_eq!(json_of(&unbanned)["banned"], false);
    Browser::new(&portal)
        .sign_in("ada@example.com", PASSWORD)
        .assert_status(302);
}

#[test]
fn attack_a_banned_user_cannot_sign_in_with_a_passkey() {
    use crate::support::authenticator::SoftAuthenticator;
    use crate::support::passkeys;
    let portal = portal(&[]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let mut authenticator = SoftAuthenticator::p256(1);
    passkeys::add(&mut ada, &mut authenticator).assert_status(303);
    let id = user_id_of(&portal, "ada@example.com");
    call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), &Value::Null).assert_status(200);
    let refused = passkeys::sign_in(&mut Browser::new(&portal), "/sign-in", &mut authenticator);
    refused.assert_status(403);
    assert!(refused.body.contains("This account is suspended"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
}

#[test]
fn attack_a_banned_user_cannot_sign_in_through_a_provider() {
    use crate::support::oidc::{OidcProvider, ProviderAgent, path_of};
    let provider = OidcProvider::start(json!({ "alice": { "email": "alice@example.com", "email_verified": true } }));
    let owned = provider.portal_variables("portal-rs");
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.push(("api_secret_key", KEY));
    let portal = Portal::with_vars(&vars);
    let provider_sign_in = |portal: &Portal| {
        let mut browser = Browser::new(portal);
        let started = browser.get("/sign-in/oauth?provider=oidc");
        let back = ProviderAgent::default().sign_in(started.location(), &provider.issuer, "alice");
        browser.get(&path_of(&back))
    };
    provider_sign_in(&portal).assert_status(302);
    let id = user_id_of(&portal, "alice@example.com");
    call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), &Value::Null).assert_status(200);
    let refused = provider_sign_in(&portal);
    refused.assert_status(403);
    assert!(refused.body.contains("This account is suspended"));
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM users"),
        1,
        "no second account either"
    );
}

#[test]
fn attack_a_banned_user_cannot_reopen_the_account_by_a_password_reset() {
    let portal = portal(&[]);
    Browser::signed_up(&portal, "ada@example.com");
    let id = user_id_of(&portal, "ada@example.com");
    call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), &Value::Null).assert_status(200);
    let hash_before = portal.text("SELECT password_hash FROM users");
    let mut browser = Browser::new(&portal);
    let (page, flow, code) = browser.ask_for_reset("ada@example.com");
    let refused = browser.submit(
        &page,
        "/verify",
        &[("flow", &flow), ("code", &code), ("password", "a brand new passphrase")],
    );
    refused.assert_status(403);
    assert!(refused.body.contains("This account is suspended"));
    assert_eq!(
        portal.text("SELECT password_hash FROM users"),
        hash_before,
        "the password stays"
    );
    assert_eq!(portal.count("SELECT COUNT(*) FROM portal_sessions"), 0);
}

#[test]
fn the_openapi_document_is_valid_and_a_client_generated_from_it_calls_every_operation() {
    let off = Portal::new().get("/api/v1/openapi.json");
    off.assert_status(404);
    let portal = portal(&[]);
    let document = portal.get("/api/v1/openapi.json");
    document.assert_status(200);
    assert_eq!(
        json_of(&document)["openapi"],
        "3.1.0",
        "served without a key once the API is on"
    );
    // Embedded compressed: sent as it is to a client that asks for gzip (the Node client below
    // does, and parses what it inflates), inflated for one that does not (a bare `curl`).
    assert_eq!(document.header("content-encoding"), None);
    assert_eq!(document.header("vary"), Some("accept-encoding"));
    for (accept_encoding, compressed) in [("gzip, deflate, br", true), ("br", false), ("gzip;q=0", false)] {
        let answer = portal.send(
            request("GET", "/api/v1/openapi.json")
                .header("accept-encoding", accept_encoding)
                .body(Bytes::new())
                .unwrap(),
        );
        answer.assert_status(200);
        assert_eq!(
            answer.header("content-encoding").is_some(),
            compressed,
            "{accept_encoding}"
        );
        assert_eq!(answer.body == document.body, !compressed, "{accept_encoding}");
    }
    let address = portal.serve();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/openapi-check.mjs");
    let output = std::process::Command::new("node")
        .arg(script)
        .arg(format!("http://{address}"))
        .arg(KEY)
        .output()
        .expect("run node (.ci/run installs Node.js and the tests' npm packages)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.starts_with("ok "),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn public_metadata_rides_in_the_session_token_only_when_the_operator_allows_it() {
    for allowed in ["true", "false"] {
        let portal = portal(&[("session_token_public_metadata", allowed)]);
        create(
            &portal,
            json!({"email_address": "ada@example.com", "password": PASSWORD,
                   "public_metadata": {"plan": "pro"}, "private_metadata": {"stripe": "cus_1"}}),
        );
        let mut browser = Browser::new(&portal);
        browser.sign_in("ada@example.com", PASSWORD).assert_status(302);
        let claims = browser.claims();
        assert!(!claims.to_string().contains("cus_1"), "private metadata never");
        // The app's bounce back with a fresh token says the same.
        browser.get("/sign-in?redirect_url=%2Fuser").assert_status(302);
        let bounced = browser.claims();
        if allowed == "true" {
            assert_eq!(claims["public_metadata"], json!({"plan": "pro"}));
            assert_eq!(bounced["public_metadata"], json!({"plan": "pro"}));
        } else {
            assert!(claims.get("public_metadata").is_none(), "{claims}");
            assert!(bounced.get("public_metadata").is_none());
        }
    }
}
