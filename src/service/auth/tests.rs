//! Every step of the sign-in state machine, its locks and expiry, on `MemoryDb` (so on
//! PostgreSQL too). Codes come from the RFC 6238 arithmetic in `security::totp`.

use super::factors::{backup_codes_left, disable, pending_totp, regenerate_backup_codes, totp_confirm, totp_init};
use super::*;
use crate::security::random_bytes;
use crate::security::totp::{TotpSecret, hotp, step_at};
use crate::store::migrate;
use crate::testing::{MemoryDb, stored_user};

const NOW: i64 = 1_800_000_000;
const BROWSER: &str = "the-browser-csrf-cookie";

#[test]
fn a_verified_factor_is_stored_and_read_back_by_name() {
    for factor in Factor::ALL {
        let verified = Verified { factor, at: NOW };
        assert_eq!(Verified::from_json(&verified.to_json()), Some(verified));
    }
    // The names the previous release's derive wrote (snake_case).
    assert_eq!(
        Verified::from_json(r#"{"factor":"synced_passkey","at":5}"#),
        Some(Verified {
            factor: Factor::SyncedPasskey,
            at: 5
        })
    );
    for stored in [
        r#"{"factor":"SyncedPasskey","at":5}"#,
        r#"{"factor":"password"}"#,
        r#"{"factor":"password","at":"5"}"#,
    ] {
        assert_eq!(Verified::from_json(stored), None, "{stored}");
    }
}

fn keys() -> FactorKeys {
    FactorKeys {
        totp: vec![[7; 32]],
        mac: MacKeys::new([9; 32], Vec::new()),
    }
}

fn policy() -> LockPolicy {
    LockPolicy {
        max_failures: 3,
        window: 600,
        lockout: 900,
        address_max_failures: 50,
    }
}

fn code(secret: &TotpSecret, at: i64) -> String {
    let base32 = secret.base32();
    let bytes = decode_base32(&base32);
    format!("{:06}", hotp(&bytes, step_at(at) as u64, 6))
}

fn decode_base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in text.bytes() {
        buffer = (buffer << 5) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// A user with an authenticator app on (its secret) and its backup codes.
fn user_with_app(db: &MemoryDb) -> (User, TotpSecret, Vec<String>) {
    migrate(db, 0).unwrap();
    let user = stored_user(db, "user_1", "ada@example.com");
    let secret = totp_init(db, &keys(), &user, NOW - 100).unwrap();
    let codes = totp_confirm(db, &keys(), &user, &code(&secret, NOW - 100), NOW - 100)
        .unwrap()
        .expect("the first code confirms the app");
    (users::get_user(db, &user.id).unwrap(), secret, codes)
}

fn pending(db: &MemoryDb, user: User) -> String {
    match first_factor(
        db,
        user,
        Factor::Password,
        "/user",
        crate::service::email::browser_hash(BROWSER),
        NOW,
    )
    .unwrap()
    {
        Step::Next { flow, allowed } => {
            assert_eq!(allowed, [Factor::Totp, Factor::BackupCode]);
            flow
        }
        Step::Done(_) => panic!("a user with an app must present it"),
        Step::Suspended => panic!("the user is not suspended"),
    }
}

fn present_totp(db: &MemoryDb, flow: &str, code: &str, now: i64) -> Result<(Step, String), Refused> {
    present(db, &keys(), flow, Proof::Totp(code), BROWSER, policy(), now).unwrap()
}

#[test]
fn without_a_second_factor_the_first_one_signs_in() {
    let db = MemoryDb::new();
    migrate(&db, 0).unwrap();
    let user = stored_user(&db, "user_1", "ada@example.com");
    let Step::Done(signed_in) = first_factor(&db, user, Factor::Password, "/user", vec![1], NOW).unwrap() else {
        panic!("no second factor, no second step");
    };
    assert_eq!(signed_in.amr(), "pwd");
    assert_eq!(signed_in.second, None);
}

#[test]
fn with_an_app_the_sign_in_waits_for_its_code_then_says_mfa() {
    let db = MemoryDb::new();
    let (user, secret, _) = user_with_app(&db);
    let flow = pending(&db, user);
    let (step, location) = present_totp(&db, &flow, &code(&secret, NOW + 30), NOW + 30).unwrap();
    assert_eq!(location, "/user");
    let Step::Done(signed_in) = step else {
        panic!("signed in")
    };
    assert_eq!(signed_in.amr(), "pwd,otp,mfa");
    assert_eq!(
        signed_in.first,
        Verified {
            factor: Factor::Password,
            at: NOW
        }
    );
    assert_eq!(
        signed_in.second,
        Some(Verified {
            factor: Factor::Totp,
            at: NOW + 30
        })
    );
    // The pending sign-in is used up.
    assert_eq!(
        present_totp(&db, &flow, &code(&secret, NOW + 60), NOW + 60),
        Err(Refused::Dead)
    );
}

#[test]
fn a_code_cannot_be_replayed_at_another_sign_in_replay() {
    let db = MemoryDb::new();
    let (user, secret, _) = user_with_app(&db);
    let first = pending(&db, user.clone());
    let seen = code(&secret, NOW + 30);
    present_totp(&db, &first, &seen, NOW + 30).unwrap();
    let second = pending(&db, user);
    assert_eq!(
        present_totp(&db, &second, &seen, NOW + 40),
        Err(Refused::Wrong { tries_left: 4 })
    );
}

#[test]
fn a_pending_sign_in_used_from_another_browser_is_refused() {
    let db = MemoryDb::new();
    let (user, secret, _) = user_with_app(&db);
    let flow = pending(&db, user);
    let other = present(
        &db,
        &keys(),
        &flow,
        Proof::Totp(&code(&secret, NOW)),
        "another-browser",
        policy(),
        NOW,
    );
    assert_eq!(other.unwrap(), Err(Refused::OtherBrowser));
}

#[test]
fn a_pending_sign_in_dies_after_ten_minutes_or_five_wrong_codes_brute_force() {
    let db = MemoryDb::new();
    let (user, secret, _) = user_with_app(&db);
    let flow = pending(&db, user.clone());
    let late = NOW + flow::LIFETIME;
    assert_eq!(present_totp(&db, &flow, &code(&secret, late), late), Err(Refused::Dead));
    // Wrong codes lock the account before the flow's five tries are spent (policy: 3).
    let flow = pending(&db, user.clone());
    let wrong = if code(&secret, NOW) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        present_totp(&db, &flow, wrong, NOW),
        Err(Refused::Wrong { tries_left: 4 })
    );
    assert_eq!(
        present_totp(&db, &flow, wrong, NOW + 1),
        Err(Refused::Wrong { tries_left: 3 })
    );
    assert_eq!(
        present_totp(&db, &flow, wrong, NOW + 2),
        Err(Refused::Wrong { tries_left: 2 })
    );
    let locked = present_totp(&db, &flow, &code(&secret, NOW + 3), NOW + 3);
    assert!(matches!(locked, Err(Refused::Locked { .. })), "{locked:?}");
    // A fresh pending sign-in does not reset the lock.
    let again = pending(&db, user);
    assert!(matches!(
        present_totp(&db, &again, wrong, NOW + 4),
        Err(Refused::Locked { .. })
    ));
}

#[test]
fn a_backup_code_works_once_and_says_how_many_are_left_reuse() {
    let db = MemoryDb::new();
    let (user, _, codes) = user_with_app(&db);
    assert_eq!(backup_codes_left(&db, &user).unwrap(), 10);
    let flow = pending(&db, user.clone());
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (Step::Done(signed_in), _) = present(&db, &keys(), &flow, Proof::BackupCode(&typed), BROWSER, policy(), NOW)
        .unwrap()
        .unwrap()
    else {
        panic!("signed in")
    };
    assert_eq!(signed_in.backup_codes_left, Some(9));
    assert_eq!(signed_in.amr(), "pwd,otp,mfa");
    let again = pending(&db, user);
    assert_eq!(
        present(
            &db,
            &keys(),
            &again,
            Proof::BackupCode(&codes[3]),
            BROWSER,
            policy(),
            NOW
        )
        .unwrap(),
        Err(Refused::Wrong { tries_left: 4 })
    );
}

#[test]
fn regenerated_backup_codes_void_the_old_set_and_disabling_removes_everything() {
    let db = MemoryDb::new();
    let (user, secret, old) = user_with_app(&db);
    let new = regenerate_backup_codes(&db, &keys(), &user).unwrap();
    assert!(old.iter().all(|code| !new.contains(code)));
    let flow = pending(&db, user.clone());
    assert!(matches!(
        present(&db, &keys(), &flow, Proof::BackupCode(&old[0]), BROWSER, policy(), NOW).unwrap(),
        Err(Refused::Wrong { .. })
    ));
    disable(&db, &user, NOW).unwrap();
    let user = users::get_user(&db, &user.id).unwrap();
    assert_eq!(user.totp_enabled_at, None);
    assert_eq!(backup_codes_left(&db, &user).unwrap(), 0);
    assert!(matches!(
        first_factor(&db, user, Factor::Password, "/", vec![1], NOW).unwrap(),
        Step::Done(_)
    ));
    let _ = secret;
}

#[test]
fn an_app_is_on_only_after_a_right_first_code() {
    let db = MemoryDb::new();
    migrate(&db, 0).unwrap();
    let user = stored_user(&db, "user_1", "ada@example.com");
    let secret = totp_init(&db, &keys(), &user, NOW).unwrap();
    assert_eq!(
        pending_totp(&db, &keys(), &user, NOW + 10).unwrap(),
        Some(secret.clone())
    );
    let wrong = if code(&secret, NOW) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(totp_confirm(&db, &keys(), &user, wrong, NOW).unwrap(), None);
    assert_eq!(users::get_user(&db, &user.id).unwrap().totp_enabled_at, None);
    // Another deployment's key cannot open the secret being set up.
    let other = FactorKeys {
        totp: vec![random_bytes()],
        mac: MacKeys::new([9; 32], Vec::new()),
    };
    assert_eq!(pending_totp(&db, &other, &user, NOW).unwrap(), None);
    assert!(
        totp_confirm(&db, &keys(), &user, &code(&secret, NOW), NOW)
            .unwrap()
            .is_some()
    );
    assert!(users::get_user(&db, &user.id).unwrap().totp_enabled_at.is_some());
    // The confirming code is used: it cannot also finish a sign-in.
    let flow = pending(&db, users::get_user(&db, &user.id).unwrap());
    assert_eq!(
        present_totp(&db, &flow, &code(&secret, NOW), NOW + 5),
        Err(Refused::Wrong { tries_left: 4 })
    );
}

#[test]
fn attack_a_suspended_account_is_not_signed_in_by_a_right_password() {
    let db = MemoryDb::new();
    migrate(&db, 0).unwrap();
    let user = stored_user(&db, "user_1", "ada@example.com");
    assert!(users::set_banned(&db, &user.id, Some(NOW - 1), NOW - 1).unwrap());
    let user = users::get_user(&db, &user.id).unwrap();
    let step = first_factor(&db, user, Factor::Password, "/user", vec![1], NOW).unwrap();
    assert_eq!(step, Step::Suspended);
}

#[test]
fn attack_a_ban_during_a_pending_sign_in_stops_it_at_the_second_factor() {
    let db = MemoryDb::new();
    let (user, secret, _) = user_with_app(&db);
    let flow = pending(&db, user.clone());
    users::set_banned(&db, &user.id, Some(NOW), NOW).unwrap();
    let (step, _) = present_totp(&db, &flow, &code(&secret, NOW), NOW).unwrap();
    assert_eq!(step, Step::Suspended);
}
