//! Signed webhooks through the real component, received by a receiver that verifies them with
//! the `standardwebhooks` package: delivery after the response, a receiver that is down and
//! comes back (nothing lost, in order), one that never answers, a forged signature, giving up
//! after three days and the operator's retry.

use serde_json::{Value, json};

use super::api::{KEY, call, create, json_of};
use crate::support::webhooks::{Receiver, SECRET};
use crate::support::{Browser, PASSWORD, Portal};

fn portal_for(receiver: &Receiver, secret: &str, extra: &[(&str, &str)]) -> Portal {
    let owned = receiver.portal_variables(secret);
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vars.push(("api_secret_key", KEY));
    vars.extend_from_slice(extra);
    Portal::with_vars(&vars)
}

fn deliver(portal: &Portal) -> Value {
    let answer = call(portal, "POST", "/api/v1/webhooks/deliver", &Value::Null);
    answer.assert_status(200);
    json_of(&answer)
}

/// Every waiting event due now, as if its backoff had passed.
fn make_due(portal: &Portal) {
    portal.execute("UPDATE webhook_events SET next_attempt_at = 0 WHERE delivered_at IS NULL AND failed_at IS NULL");
}

#[test]
fn changes_are_delivered_signed_after_their_response_and_reads_send_nothing() {
    let receiver = Receiver::start(SECRET);
    let portal = portal_for(&receiver, SECRET, &[]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    let before = portal.count("SELECT COUNT(*) FROM webhook_events");
    ada.get("/user").assert_status(200);
    ada.get("/sign-in?redirect_url=%2Fuser");
    ada.get("/organization");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM webhook_events"),
        before,
        "pages that change nothing record nothing"
    );
    ada.submit(
        "/user",
        "/user/profile",
        &[("first_name", "Ada"), ("last_name", "Lovelace"), ("username", "")],
    )
    .assert_status(303);
    ada.submit(
        "/create-organization",
        "/create-organization",
        &[("name", "Acme"), ("slug", "acme")],
    )
    .assert_status(302);
    ada.submit("/sign-out", "/sign-out", &[]).assert_status(302);
    let events = portal.count("SELECT COUNT(*) FROM webhook_events") as usize;
    let received = receiver.wait_for(events);
    assert!(received.iter().all(|entry| entry["verified"] == true), "{received:?}");
    let types = receiver.accepted_types();
    for expected in [
        "user.created",
        "session.created",
        "user.updated",
        "organization.created",
        "organization_membership.created",
        "session.ended",
    ] {
        assert!(types.iter().any(|t| t == expected), "{expected} in {types:?}");
    }
    let created = received.iter().find(|entry| entry["type"] == "user.created").unwrap();
    assert_eq!(created["data"]["email_address"], "ada@example.com");
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    let ended = received.iter().find(|entry| entry["type"] == "session.ended").unwrap();
    assert_eq!(ended["data"]["reason"], "sign_out");
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM webhook_events WHERE delivered_at IS NULL"),
        0,
        "all delivered"
    );
}

#[test]
fn without_webhooks_nothing_is_recorded() {
    let portal = Portal::new();
    Browser::signed_up(&portal, "ada@example.com");
    assert_eq!(portal.count("SELECT COUNT(*) FROM webhook_events"), 0);
}

#[test]
fn a_receiver_that_is_down_then_back_gets_every_event_in_order() {
    let receiver = Receiver::start(SECRET);
    receiver.set_mode("fail");
    let portal = portal_for(&receiver, SECRET, &[]);
    for name in ["ada", "bea", "cy"] {
        create(&portal, json!({"email_address": format!("{name}@example.com")}));
    }
    receiver.wait_for(1);
    // The first failure stops the round: the others wait behind it.
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM webhook_events WHERE attempts > 0"),
        1,
        "{:?}",
        receiver.entries()
    );
    assert_eq!(
        portal.count("SELECT COUNT(*) FROM webhook_events WHERE delivered_at IS NULL"),
        3
    );
    let waiting = json_of(&call(&portal, "GET", "/api/v1/webhooks/events", &Value::Null));
    assert!(
        waiting["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["status"] == "pending")
    );
    // Not yet due: the scheduler's call sends nothing.
    let early = deliver(&portal);
    assert_eq!(early["delivered"], 0);

    receiver.set_mode("ok");
    make_due(&portal);
    let round = deliver(&portal);
    assert_eq!(round["delivered"], 3, "{round}");
    let accepted: Vec<String> = receiver
        .entries()
        .iter()
        .filter(|entry| entry["status"] == 204)
        .map(|entry| entry["data"]["email_address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        accepted,
        ["ada@example.com", "bea@example.com", "cy@example.com"],
        "in order"
    );
    let entries = receiver.entries();
    assert_eq!(
        entries[0]["id"], entries[1]["id"],
        "the retry carries the same webhook-id, so a receiver dedupes"
    );
}

#[test]
fn a_receiver_that_is_not_there_loses_nothing() {
    let receiver = Receiver::start(SECRET);
    let portal = portal_for(&receiver, SECRET, &[]);
    let origin = receiver.origin.clone();
    drop(receiver);
    create(&portal, json!({"email_address": "ada@example.com"}));
    make_due(&portal);
    let round = deliver(&portal);
    assert_eq!(round["receiver_down"], true, "{round}");
    let event = &json_of(&call(&portal, "GET", "/api/v1/webhooks/events", &Value::Null))["data"][0];
    assert_eq!(event["status"], "pending");
    assert!(event["last_error"].as_str().is_some(), "{event}");
    assert!(origin.starts_with("http://127.0.0.1:"));
}

#[test]
fn a_receiver_that_never_answers_times_out_and_is_retried() {
    let receiver = Receiver::start(SECRET);
    receiver.set_mode("hang");
    let portal = portal_for(&receiver, SECRET, &[]);
    create(&portal, json!({"email_address": "ada@example.com"}));
    make_due(&portal);
    let started = std::time::Instant::now();
    let round = deliver(&portal);
    assert_eq!(round["receiver_down"], true, "{round}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the wait is bounded"
    );
    receiver.set_mode("ok");
    make_due(&portal);
    assert_eq!(deliver(&portal)["delivered"], 1);
    assert_eq!(receiver.accepted_types(), ["user.created"]);
}

#[test]
fn attack_a_forged_signature_is_rejected_by_the_receiver() {
    // The portal signs with another secret than the receiver knows: as a forger would.
    let receiver = Receiver::start(SECRET);
    let forged = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let portal = portal_for(&receiver, forged, &[]);
    create(&portal, json!({"email_address": "ada@example.com"}));
    let entries = receiver.wait_for(1);
    assert_eq!(entries[0]["verified"], false, "{entries:?}");
    assert!(receiver.accepted_types().is_empty());
    let event = &json_of(&call(&portal, "GET", "/api/v1/webhooks/events", &Value::Null))["data"][0];
    assert_eq!(event["status"], "pending");
    assert_eq!(event["last_status"], 400);
}

#[test]
fn an_event_undelivered_for_three_days_is_given_up_shown_and_retried() {
    let receiver = Receiver::start(SECRET);
    receiver.set_mode("fail");
    let portal = portal_for(&receiver, SECRET, &[]);
    let ada = create(
        &portal,
        json!({"email_address": "ada@example.com", "password": PASSWORD}),
    );
    receiver.wait_for(1);
    portal.execute("UPDATE webhook_events SET created_at = created_at - 4 * 86400, next_attempt_at = 0");
    let round = deliver(&portal);
    assert_eq!(round["given_up"], 1, "{round}");
    let listed = json_of(&call(&portal, "GET", "/api/v1/webhooks/events", &Value::Null));
    let event = &listed["data"][0];
    assert_eq!(event["status"], "failed");
    assert_eq!(event["type"], "user.created");
    make_due(&portal);
    assert_eq!(deliver(&portal)["delivered"], 0, "given up stays given up");

    receiver.set_mode("ok");
    let id = event["id"].as_str().unwrap();
    let retried = call(
        &portal,
        "POST",
        &format!("/api/v1/webhooks/events/{id}/retry"),
        &Value::Null,
    );
    retried.assert_status(200);
    assert_eq!(json_of(&retried)["status"], "pending");
    assert_eq!(deliver(&portal)["delivered"], 1);
    assert_eq!(receiver.accepted_types(), ["user.created"]);
    assert_eq!(
        receiver.entries().last().unwrap()["data"]["id"],
        ada["id"],
        "the same event, at last"
    );
    let missing = call(&portal, "POST", "/api/v1/webhooks/events/msg_nope/retry", &Value::Null);
    missing.assert_status(404);
}

#[test]
fn operator_changes_send_their_events_too() {
    let receiver = Receiver::start(SECRET);
    let portal = portal_for(&receiver, SECRET, &[]);
    let ada = create(&portal, json!({"email_address": "ada@example.com"}));
    let id = ada["id"].as_str().unwrap();
    call(
        &portal,
        "PATCH",
        &format!("/api/v1/users/{id}"),
        &json!({"first_name": "Ada"}),
    )
    .assert_status(200);
    let org = json_of(&call(
        &portal,
        "POST",
        "/api/v1/organizations",
        &json!({"name": "Acme", "created_by": id}),
    ));
    let org_id = org["id"].as_str().unwrap();
    call(
        &portal,
        "PATCH",
        &format!("/api/v1/organizations/{org_id}"),
        &json!({"name": "Acme Inc"}),
    )
    .assert_status(200);
    call(
        &portal,
        "DELETE",
        &format!("/api/v1/organizations/{org_id}"),
        &Value::Null,
    )
    .assert_status(200);
    call(&portal, "POST", &format!("/api/v1/users/{id}/ban"), &Value::Null).assert_status(200);
    call(&portal, "DELETE", &format!("/api/v1/users/{id}"), &Value::Null).assert_status(200);
    receiver.wait_for(8);
    assert_eq!(
        receiver.accepted_types(),
        [
            "user.created",
            "user.updated",
            "organization.created",
            "organization_membership.created",
            "organization.updated",
            "organization.deleted",
            "user.updated",
            "user.deleted",
        ]
    );
}

#[test]
fn the_webhook_settings_must_be_sound() {
    let receiver = Receiver::start(SECRET);
    for (name, value, message) in [
        ("webhook_secret", "not-a-whsec", "webhook_secret"),
        ("webhook_origin", "https://elsewhere.example", "webhook_origin"),
    ] {
        let mut owned = receiver.portal_variables(SECRET);
        owned.retain(|(n, _)| n != name);
        owned.push((name.into(), value.into()));
        let vars: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let portal = Portal::with_vars(&vars);
        let page = portal.get("/sign-in");
        page.assert_status(500);
        assert!(page.body.contains(message), "{name}");
    }
}

#[test]
fn turning_on_two_step_verification_is_a_user_update() {
    let receiver = Receiver::start(SECRET);
    let portal = portal_for(&receiver, SECRET, &[]);
    let mut ada = Browser::signed_up(&portal, "ada@example.com");
    crate::support::two_step::turn_on(&mut ada);
    let events = portal.count("SELECT COUNT(*) FROM webhook_events") as usize;
    let received = receiver.wait_for(events);
    let last_update = received
        .iter()
        .rev()
        .find(|entry| entry["type"] == "user.updated")
        .expect("a user.updated");
    assert_eq!(last_update["data"]["totp_enabled"], true, "{received:?}");
}
