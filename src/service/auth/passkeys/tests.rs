//! Passkey ceremonies over `MemoryDb` (so on PostgreSQL too when the shadow runs): registration,
//! sign-in with and without user verification, and the attacks on the challenge and on whose
//! passkey it is.

use super::*;
use crate::store::migrate;
use crate::testing::authenticator::{SoftAuthenticator, b64};
use crate::testing::{MemoryDb, stored_user};

const NOW: i64 = 1_800_000_000;
const RP_ID: &str = "accounts.myapp.com";
const ORIGIN: &str = "https://accounts.myapp.com";
const BROWSER: &str = "csrf-cookie-of-this-browser";
const CLIENT: &str = "203.0.113.7:50000";

fn browser() -> Vec<u8> {
    crate::service::email::browser_hash(BROWSER)
}

fn rp(origins: &[String]) -> RelyingParty<'_> {
    RelyingParty { id: RP_ID, origins }
}

fn origins() -> Vec<String> {
    vec![ORIGIN.to_owned()]
}

fn setup() -> (MemoryDb, User) {
    let db = MemoryDb::new();
    migrate(&db, 0).unwrap();
    let user = stored_user(&db, "user_1", "ada@example.com");
    (db, user)
}

fn registration_json(client_data: &[u8], object: &[u8], id: &[u8]) -> String {
    format!(
        r#"{{"id":"{}","rawId":"{}","type":"public-key","response":{{"clientDataJSON":"{}","attestationObject":"{}"}}}}"#,
        b64(id),
        b64(id),
        b64(client_data),
        b64(object)
    )
}

fn register_with(db: &MemoryDb, user: &User, authenticator: &mut SoftAuthenticator) -> Result<Passkey, PasskeyRefused> {
    let ceremony = start_registration(db, user, browser(), NOW).unwrap();
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, &ceremony.challenge);
    let json = registration_json(&client_data, &object, &authenticator.credential_id);
    let response = parse_registration(&json).unwrap();
    let origins = origins();
    register(db, &rp(&origins), user, &ceremony.flow, &response, BROWSER, NOW).unwrap()
}

fn assertion_json(authenticator: &mut SoftAuthenticator, challenge: &[u8], handle: Option<&[u8]>) -> String {
    let (client_data, auth_data, signature) = authenticator.assert(RP_ID, ORIGIN, challenge);
    let handle = handle.map_or("null".to_owned(), |handle| format!("\"{}\"", b64(handle)));
    format!(
        r#"{{"id":"{}","type":"public-key","response":{{"clientDataJSON":"{}","authenticatorData":"{}","signature":"{}","userHandle":{handle}}}}}"#,
        b64(&authenticator.credential_id),
        b64(&client_data),
        b64(&auth_data),
        b64(&signature)
    )
}

fn sign_in_with(
    db: &MemoryDb,
    authenticator: &mut SoftAuthenticator,
    csrf: &str,
    for_user: Option<&UserId>,
) -> Result<PasskeyUsed, PasskeyRefused> {
    let ceremony = start_sign_in(db, browser(), CLIENT, NOW).unwrap().unwrap();
    let json = assertion_json(
        authenticator,
        &ceremony.challenge,
        Some(&user_handle(&UserId::from_stored("user_1".into()))),
    );
    let response = parse_sign_in(&json).unwrap();
    let origins = origins();
    verify(db, &rp(&origins), &ceremony.flow, &response, csrf, for_user, NOW).unwrap()
}

#[test]
fn a_registered_passkey_signs_in_with_two_factors_when_it_verifies_the_person() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(1);
    let passkey = register_with(&db, &user, &mut authenticator).unwrap();
    assert_eq!(passkey.name, "Passkey");
    assert_eq!(users::get_user(&db, &user.id).unwrap().passkeys, 1);
    let used = sign_in_with(&db, &mut authenticator, BROWSER, None).unwrap();
    assert_eq!(used.user.id, user.id);
    assert!(used.user_verified);
    let Step::Done(signed_in) = after_sign_in(&db, used, "/user", browser(), NOW).unwrap() else {
        panic!("a verified passkey finishes the sign-in");
    };
    assert_eq!(signed_in.amr(), "hwk,user,mfa");
    let stored = store::find(&db, &passkey.id).unwrap().unwrap();
    assert_eq!(stored.sign_count, 2);
    assert_eq!(stored.last_used_at, Some(NOW));
}

#[test]
fn a_passkey_without_user_verification_is_a_first_factor_and_the_app_still_follows() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(2);
    authenticator.user_verified = false;
    authenticator.synced = true;
    register_with(&db, &user, &mut authenticator).unwrap();
    let used = sign_in_with(&db, &mut authenticator, BROWSER, None).unwrap();
    assert!(!used.user_verified);
    let Step::Done(signed_in) = after_sign_in(&db, used.clone(), "/user", browser(), NOW).unwrap() else {
        panic!("without a second factor on, one factor is the sign-in");
    };
    assert_eq!(signed_in.amr(), "swk");
    // With an authenticator app on, the app's step follows.
    let mut with_app = used;
    with_app.user.totp_enabled_at = Some(NOW);
    assert!(matches!(
        after_sign_in(&db, with_app, "/user", browser(), NOW).unwrap(),
        Step::Next { .. }
    ));
}

#[test]
fn an_rsa_passkey_registers_and_signs_in() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::rsa(3);
    let passkey = register_with(&db, &user, &mut authenticator).unwrap();
    assert_eq!(passkey.algorithm, -257);
    assert!(sign_in_with(&db, &mut authenticator, BROWSER, None).is_ok());
}

#[test]
fn attack_replayed_response_finds_its_challenge_used() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(4);
    register_with(&db, &user, &mut authenticator).unwrap();
    let ceremony = start_sign_in(&db, browser(), CLIENT, NOW).unwrap().unwrap();
    let json = assertion_json(&mut authenticator, &ceremony.challenge, None);
    let response = parse_sign_in(&json).unwrap();
    let origins = origins();
    assert!(
        verify(&db, &rp(&origins), &ceremony.flow, &response, BROWSER, None, NOW)
            .unwrap()
            .is_ok()
    );
    assert_eq!(
        verify(&db, &rp(&origins), &ceremony.flow, &response, BROWSER, None, NOW)
            .unwrap()
            .unwrap_err(),
        PasskeyRefused::Dead
    );
}

#[test]
fn attack_wrong_answer_uses_the_challenge_up_too() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(5);
    register_with(&db, &user, &mut authenticator).unwrap();
    let ceremony = start_sign_in(&db, browser(), CLIENT, NOW).unwrap().unwrap();
    let origins = origins();
    let mut bad = parse_sign_in(&assertion_json(&mut authenticator, &ceremony.challenge, None)).unwrap();
    bad.signature[10] ^= 1;
    assert!(matches!(
        verify(&db, &rp(&origins), &ceremony.flow, &bad, BROWSER, None, NOW).unwrap(),
        Err(PasskeyRefused::Rejected(_))
    ));
    let good = parse_sign_in(&assertion_json(&mut authenticator, &ceremony.challenge, None)).unwrap();
    assert_eq!(
        verify(&db, &rp(&origins), &ceremony.flow, &good, BROWSER, None, NOW)
            .unwrap()
            .unwrap_err(),
        PasskeyRefused::Dead
    );
}

#[test]
fn attack_challenge_from_another_browser_is_refused() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(6);
    register_with(&db, &user, &mut authenticator).unwrap();
    assert_eq!(
        sign_in_with(&db, &mut authenticator, "the-attackers-csrf-cookie", None).unwrap_err(),
        PasskeyRefused::OtherBrowser
    );
}

#[test]
fn attack_expired_challenge_is_refused() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(7);
    register_with(&db, &user, &mut authenticator).unwrap();
    let ceremony = start_sign_in(&db, browser(), CLIENT, NOW - CEREMONY_LIFETIME)
        .unwrap()
        .unwrap();
    let response = parse_sign_in(&assertion_json(&mut authenticator, &ceremony.challenge, None)).unwrap();
    let origins = origins();
    assert_eq!(
        verify(&db, &rp(&origins), &ceremony.flow, &response, BROWSER, None, NOW)
            .unwrap()
            .unwrap_err(),
        PasskeyRefused::Dead
    );
}

#[test]
fn attack_credential_of_another_user_does_not_step_up_this_one() {
    let (db, user) = setup();
    let other = stored_user(&db, "user_2", "bob@example.com");
    let mut theirs = SoftAuthenticator::p256(8);
    register_with(&db, &other, &mut theirs).unwrap();
    let ceremony = start_sign_in(&db, browser(), CLIENT, NOW).unwrap().unwrap();
    let response = parse_sign_in(&assertion_json(&mut theirs, &ceremony.challenge, None)).unwrap();
    let origins = origins();
    assert_eq!(
        verify(
            &db,
            &rp(&origins),
            &ceremony.flow,
            &response,
            BROWSER,
            Some(&user.id),
            NOW
        )
        .unwrap()
        .unwrap_err(),
        PasskeyRefused::Unknown
    );
}

#[test]
fn attack_user_handle_of_another_account_is_refused() {
    let (db, _) = setup();
    let other = stored_user(&db, "user_2", "bob@example.com");
    let mut theirs = SoftAuthenticator::p256(9);
    register_with(&db, &other, &mut theirs).unwrap();
    // The response names user_1 as its handle, but the passkey is user_2's.
    assert_eq!(
        sign_in_with(&db, &mut theirs, BROWSER, None).unwrap_err(),
        PasskeyRefused::Unknown
    );
}

#[test]
fn attack_registration_challenge_of_another_account_attaches_nothing() {
    let (db, user) = setup();
    let other = stored_user(&db, "user_2", "bob@example.com");
    let ceremony = start_registration(&db, &other, browser(), NOW).unwrap();
    let mut authenticator = SoftAuthenticator::p256(10);
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, &ceremony.challenge);
    let response = parse_registration(&registration_json(&client_data, &object, &authenticator.credential_id)).unwrap();
    let origins = origins();
    assert_eq!(
        register(&db, &rp(&origins), &user, &ceremony.flow, &response, BROWSER, NOW)
            .unwrap()
            .unwrap_err(),
        PasskeyRefused::Dead
    );
    assert!(list(&db, &user.id).unwrap().is_empty());
}

#[test]
fn attack_sign_in_challenge_cannot_register_and_back() {
    let (db, user) = setup();
    let ceremony = start_sign_in(&db, browser(), CLIENT, NOW).unwrap().unwrap();
    let mut authenticator = SoftAuthenticator::p256(11);
    let (client_data, object) = authenticator.register(RP_ID, ORIGIN, &ceremony.challenge);
    let response = parse_registration(&registration_json(&client_data, &object, &authenticator.credential_id)).unwrap();
    let origins = origins();
    assert_eq!(
        register(&db, &rp(&origins), &user, &ceremony.flow, &response, BROWSER, NOW)
            .unwrap()
            .unwrap_err(),
        PasskeyRefused::Dead
    );
}

#[test]
fn a_passkey_registers_once_and_an_account_holds_ten() {
    let (db, user) = setup();
    let mut authenticator = SoftAuthenticator::p256(12);
    register_with(&db, &user, &mut authenticator).unwrap();
    assert_eq!(
        register_with(&db, &user, &mut authenticator).unwrap_err(),
        PasskeyRefused::AlreadyRegistered
    );
    for seed in 13..22 {
        register_with(&db, &user, &mut SoftAuthenticator::p256(seed)).unwrap();
    }
    assert_eq!(list(&db, &user.id).unwrap().len(), 10);
    assert_eq!(
        register_with(&db, &user, &mut SoftAuthenticator::p256(40)).unwrap_err(),
        PasskeyRefused::TooMany
    );
}

#[test]
fn the_last_way_in_is_never_removed() {
    let (db, user) = setup();
    let mut first = SoftAuthenticator::p256(23);
    let mut second = SoftAuthenticator::p256(24);
    let one = register_with(&db, &user, &mut first).unwrap();
    let two = register_with(&db, &user, &mut second).unwrap();
    assert!(remove_password(&db, &user, NOW).unwrap());
    let user = users::get_user(&db, &user.id).unwrap();
    assert!(!user.has_password());
    assert_eq!(remove(&db, &user, &one.id, NOW).unwrap(), Ok(()));
    assert_eq!(remove(&db, &user, &two.id, NOW).unwrap(), Err(ChangeRefused::LastWayIn));
    assert_eq!(
        remove(&db, &user, "no-such-passkey", NOW).unwrap(),
        Err(ChangeRefused::NotFound)
    );
    // Without a passkey, the password stays.
    let other = stored_user(&db, "user_3", "cy@example.com");
    assert!(!remove_password(&db, &other, NOW).unwrap());
}

#[test]
fn renaming_checks_the_name_and_the_owner() {
    let (db, user) = setup();
    let other = stored_user(&db, "user_2", "bob@example.com");
    let passkey = register_with(&db, &user, &mut SoftAuthenticator::p256(25)).unwrap();
    assert_eq!(rename(&db, &user, &passkey.id, "  Work laptop ").unwrap(), Ok(()));
    assert_eq!(store::find(&db, &passkey.id).unwrap().unwrap().name, "Work laptop");
    assert_eq!(
        rename(&db, &user, &passkey.id, "   ").unwrap(),
        Err(ChangeRefused::BadName)
    );
    assert_eq!(
        rename(&db, &user, &passkey.id, &"x".repeat(65)).unwrap(),
        Err(ChangeRefused::BadName)
    );
    assert_eq!(
        rename(&db, &user, &passkey.id, "a\u{7}b").unwrap(),
        Err(ChangeRefused::BadName)
    );
    assert_eq!(
        rename(&db, &other, &passkey.id, "Mine now").unwrap(),
        Err(ChangeRefused::NotFound)
    );
}

#[test]
fn malformed_posted_credentials_are_none() {
    for json in [
        "",
        "{}",
        "null",
        r#"{"id":"x","type":"password","response":{"clientDataJSON":"e30"}}"#,
        r#"{"id":"","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}"#,
        r#"{"id":"x","type":"public-key","response":{"clientDataJSON":"not base64!","attestationObject":"oA"}}"#,
    ] {
        assert!(parse_registration(json).is_none(), "{json}");
        assert!(parse_sign_in(json).is_none(), "{json}");
    }
}

#[test]
fn known_authenticators_are_named() {
    assert_eq!(
        authenticator_name("ea9b8d664d011d213ce4b6b48cb575d4"),
        Some("Google Password Manager")
    );
    assert_eq!(authenticator_name("00000000000000000000000000000000"), None);
}

#[test]
fn attack_challenge_flood_from_one_address_is_limited() {
    let (db, _) = setup();
    for _ in 0..CHALLENGES_PER_MINUTE {
        start_sign_in(&db, browser(), CLIENT, NOW).unwrap().unwrap();
    }
    assert_eq!(
        start_sign_in(&db, browser(), CLIENT, NOW + 5).unwrap().unwrap_err(),
        NOW + 60
    );
    assert!(
        start_sign_in(&db, browser(), "198.51.100.9:1", NOW + 5)
            .unwrap()
            .is_ok(),
        "another address"
    );
    assert!(
        start_sign_in(&db, browser(), CLIENT, NOW + 61).unwrap().is_ok(),
        "a minute later"
    );
    // Expired challenges were cleared on the way.
    let left = db.execute("SELECT COUNT(*) FROM auth_flows", &[]).unwrap();
    assert_eq!(left[0].integer(0).unwrap(), CHALLENGES_PER_MINUTE as i64 + 2);
    start_sign_in(&db, browser(), CLIENT, NOW + CEREMONY_LIFETIME + 120)
        .unwrap()
        .unwrap();
    let left = db.execute("SELECT COUNT(*) FROM auth_flows", &[]).unwrap();
    assert_eq!(left[0].integer(0).unwrap(), 1);
}
