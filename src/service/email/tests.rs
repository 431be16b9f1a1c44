//! The code rules against the real schema (in-memory SQLite).

use super::*;
use crate::store::migrate;
use crate::testing::MemoryDb;

fn keys() -> MacKeys {
    MacKeys::new([3; 32], Vec::new())
}

fn db() -> MemoryDb {
    let db = MemoryDb::new();
    migrate(&db, 0).unwrap();
    db
}

fn flow(db: &MemoryDb, decoy: bool) -> (String, Option<String>) {
    let new = NewFlow {
        purpose: Purpose::Reset,
        email: "ada@example.com",
        user_id: None,
        payload: None,
        target: None,
        decoy,
        browser_hash: None,
    };
    start_flow(db, &keys(), &new, 1000).unwrap()
}

fn check(db: &MemoryDb, id: &str, typed: &str, now: i64) -> CodeCheck<()> {
    check_code::<(), DbError>(db, &keys(), id, typed, None, now, |_| Ok(())).unwrap()
}

#[test]
fn a_code_works_once() {
    let db = db();
    let (id, code) = flow(&db, false);
    let code = code.unwrap();
    assert!(matches!(check(&db, &id, &code, 1001), CodeCheck::Accepted(..)));
    // Replay: the same code a second time.
    assert_eq!(check(&db, &id, &code, 1002), CodeCheck::Dead);
}

#[test]
fn five_wrong_tries_kill_the_code_brute_force() {
    let db = db();
    let (id, code) = flow(&db, false);
    let code = code.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        assert_eq!(check(&db, &id, wrong, 1001), CodeCheck::Wrong { tries_left: left });
    }
    assert_eq!(
        check(&db, &id, &code, 1001),
        CodeCheck::Dead,
        "the right code after five misses"
    );
}

#[test]
fn a_code_expires_after_ten_minutes() {
    let db = db();
    let (id, code) = flow(&db, false);
    assert_eq!(check(&db, &id, &code.unwrap(), 1000 + CODE_LIFETIME), CodeCheck::Dead);
}

#[test]
fn a_decoy_flow_accepts_no_code_and_resends_none() {
    let db = db();
    let (id, code) = flow(&db, true);
    assert_eq!(code, None);
    assert!(matches!(check(&db, &id, "123456", 1001), CodeCheck::Wrong { .. }));
    let stored = live_flow(&db, &id, 1001).unwrap().unwrap();
    assert_eq!(resend(&db, &keys(), &stored, 1100).unwrap(), Resend::Sent(None));
}

#[test]
fn a_failed_action_leaves_the_code_unused() {
    let db = db();
    let (id, code) = flow(&db, false);
    let code = code.unwrap();
    let failed = check_code::<(), DbError>(&db, &keys(), &id, &code, None, 1001, |_| {
        Err(DbError::Other("boom".into()))
    });
    assert!(failed.is_err());
    assert!(matches!(check(&db, &id, &code, 1002), CodeCheck::Accepted(..)));
}

#[test]
fn resending_waits_for_the_cooldown_and_kills_the_old_code() {
    let db = db();
    let (id, old) = flow(&db, false);
    let stored = live_flow(&db, &id, 1001).unwrap().unwrap();
    assert_eq!(
        resend(&db, &keys(), &stored, 1010).unwrap(),
        Resend::TooSoon {
            until: 1000 + RESEND_COOLDOWN
        }
    );
    let Resend::Sent(Some(new)) = resend(&db, &keys(), &stored, 1000 + RESEND_COOLDOWN).unwrap() else {
        panic!("no new code");
    };
    if new != old.clone().unwrap() {
        assert!(matches!(check(&db, &id, &old.unwrap(), 1100), CodeCheck::Wrong { .. }));
    }
    assert!(matches!(check(&db, &id, &new, 1100), CodeCheck::Accepted(..)));
}

#[test]
fn sending_is_limited_per_address_and_per_client_inbox_flooding() {
    let db = db();
    for i in 0..SENDS_PER_ADDRESS {
        admit_send(&db, "victim@example.com", &format!("10.0.0.{i}:1"), 20, 1000).unwrap();
    }
    assert!(matches!(
        admit_send(&db, "Victim@example.com", "10.0.0.99:1", 20, 1001),
        Err(SendError::RateLimited { .. })
    ));
    // The window passes.
    admit_send(&db, "victim@example.com", "10.0.0.99:1", 20, 1001 + SEND_WINDOW).unwrap();
    for i in 0..20 {
        let _ = admit_send(&db, &format!("x{i}@example.com"), "10.9.9.9:1", 20, 5000);
    }
    assert!(matches!(
        admit_send(&db, "fresh@example.com", "10.9.9.9:2", 20, 5001),
        Err(SendError::RateLimited { .. })
    ));
}

#[test]
fn code_sign_in_counts_toward_the_account_lockout() {
    let db = db();
    let (id, _) = flow(&db, false);
    let policy = LockPolicy {
        max_failures: 2,
        window: 900,
        lockout: 900,
        address_max_failures: 50,
    };
    let lock = CodeLock {
        scope: "account:x",
        policy,
    };
    let attempt =
        |typed: &str| check_code::<(), DbError>(&db, &keys(), &id, typed, Some(&lock), 1001, |_| Ok(())).unwrap();
    assert!(matches!(
        attempt("000000"),
        CodeCheck::Wrong { .. } | CodeCheck::Accepted(..)
    ));
    let _ = attempt("000001");
    assert!(matches!(attempt("000002"), CodeCheck::Locked { .. } | CodeCheck::Dead));
}

#[test]
fn a_notice_link_works_once() {
    let db = db();
    let user = user_1(&db);
    let session = SessionId::from_stored("sess_1".into());
    let token = new_sign_in_notice(&db, &session, &user, 1000).unwrap();
    assert_eq!(take_sign_in_notice(&db, &token, 1001).unwrap(), Some((session, user)));
    assert_eq!(take_sign_in_notice(&db, &token, 1002).unwrap(), None);
}

fn user_1(db: &MemoryDb) -> crate::domain::UserId {
    db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('user_1', 'a@x.com', 'h', 0, 0)",
        &[],
    )
    .unwrap();
    crate::domain::UserId::from_stored("user_1".into())
}

fn count(db: &MemoryDb, sql: &str) -> i64 {
    db.execute(sql, &[]).unwrap()[0].integer(0).unwrap()
}

#[test]
fn browsers_whose_cookie_expired_are_forgotten_and_still_count_once() {
    let db = db();
    let user = user_1(&db);
    let first = 1_000;
    assert!(
        !is_new_device(&db, &user, "sign-up-browser", first).unwrap(),
        "the account's first browser"
    );
    assert!(
        !is_new_device(&db, &user, "sign-up-browser", first + 10).unwrap(),
        "a known browser"
    );
    // Years later, a browser nobody has seen: the owner hears of it (the stale browser still
    // counts), and the stale one is forgotten.
    let later = first + DEVICE_LIFETIME + 1;
    assert!(is_new_device(&db, &user, "new-browser", later).unwrap());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM known_devices"), 1);
    // A browser seen within the lifetime stays.
    assert!(is_new_device(&db, &user, "third-browser", later + 5).unwrap());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM known_devices"), 2);
}

#[test]
fn a_resend_never_extends_a_flow_beyond_its_first_expiry() {
    let db = db();
    let (id, _) = flow(&db, false);
    let stored = live_flow(&db, &id, 1001).unwrap().unwrap();
    let expiry = stored.expires_at;
    let Resend::Sent(Some(new)) = resend(&db, &keys(), &stored, expiry - 1).unwrap() else {
        panic!("a live flow gets a new code");
    };
    assert_eq!(live_flow(&db, &id, expiry - 1).unwrap().unwrap().expires_at, expiry);
    // Past the first expiry the new code is as dead as the old one, and no resend revives it.
    assert_eq!(check(&db, &id, &new, expiry), CodeCheck::Dead);
    assert_eq!(live_flow(&db, &id, expiry).unwrap(), None);
}

#[test]
fn a_resend_gives_no_new_guesses_brute_force_across_resends() {
    let db = db();
    let (id, _) = flow(&db, false);
    for i in 0..MAX_WRONG_TRIES - 1 {
        assert!(matches!(check(&db, &id, "000000", 1001 + i), CodeCheck::Wrong { .. }));
    }
    let stored = live_flow(&db, &id, 1000 + RESEND_COOLDOWN).unwrap().unwrap();
    let Resend::Sent(Some(new)) = resend(&db, &keys(), &stored, 1000 + RESEND_COOLDOWN).unwrap() else {
        panic!("no new code");
    };
    let wrong = if new == "000000" { "111111" } else { "000000" };
    // One try was left before the resend, and one is left after it.
    assert_eq!(
        check(&db, &id, wrong, 1000 + RESEND_COOLDOWN + 1),
        CodeCheck::Wrong { tries_left: 0 }
    );
    assert_eq!(check(&db, &id, &new, 1000 + RESEND_COOLDOWN + 2), CodeCheck::Dead);
}

#[test]
fn a_flow_is_bound_to_the_browser_that_started_it_login_csrf_by_code_link() {
    let db = db();
    let new = NewFlow {
        purpose: Purpose::SignIn,
        email: "ada@example.com",
        user_id: None,
        payload: None,
        target: None,
        decoy: false,
        browser_hash: Some(browser_hash("attacker-browser-csrf-cookie")),
    };
    let (id, _) = start_flow(&db, &keys(), &new, 1000).unwrap();
    let stored = live_flow(&db, &id, 1001).unwrap().unwrap();
    assert!(is_same_browser(&stored, "attacker-browser-csrf-cookie"));
    assert!(!is_same_browser(&stored, "victim-browser-csrf-cookie"));
    assert!(!is_same_browser(&stored, ""));
    // The stored value is a hash, not the cookie itself.
    assert_ne!(
        stored.browser_hash.as_deref(),
        Some(b"attacker-browser-csrf-cookie".as_slice())
    );
}

#[test]
fn changing_the_address_or_password_ends_every_flow_of_the_old_mailbox() {
    let db = db();
    let user = crate::testing::stored_user(&db, "u1", "old@example.com");
    let start = |purpose, email, user_id| {
        let new = NewFlow {
            purpose,
            email,
            user_id,
            payload: None,
            target: None,
            decoy: false,
            browser_hash: None,
        };
        start_flow(&db, &keys(), &new, 1000).unwrap().0
    };
    let sign_in = start(Purpose::SignIn, "old@example.com", Some(&user.id));
    let reset = start(Purpose::Reset, "old@example.com", Some(&user.id));
    let unbound = start(Purpose::SignUp, "old@example.com", None);
    let someone_else = start(Purpose::SignIn, "other@example.com", None);
    end_flows(&db, &user.id, "old@example.com", 1001).unwrap();
    for id in [sign_in, reset, unbound] {
        assert_eq!(live_flow(&db, &id, 1002).unwrap(), None);
    }
    assert!(live_flow(&db, &someone_else, 1002).unwrap().is_some());
}
