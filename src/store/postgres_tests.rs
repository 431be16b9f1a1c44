//! The store's invariants on a real PostgreSQL server, under real concurrency: every request
//! has its own connection (as Spin's pool gives them), and the races that SQLite settles with
//! `BEGIN IMMEDIATE` must come out the same way (`dialect::WRITE_LOCK_KEY`).

use std::sync::Barrier;

use super::{Db, DbError, SCHEMA_VERSION, current_version, keys, migrate};
use crate::domain::{EmailAddress, OrgId, UserId};
use crate::security::sign_up_policy::SignUpPolicy;
use crate::security::token::MacKeys;
use crate::service::accounts::{self, SignInError, SignUpInput, SignedUp};
use crate::service::email::{self as email_rules, CodeCheck, NewFlow, Purpose};
use crate::service::organizations::{self, OrgError};
use crate::store::users::{self, CreateUserError, NewUser, User};
use crate::testing::postgres::PgDb;
use crate::testing::{ALL_OPTIONAL, attempt_from, stored_user};

/// Runs `work` on `n` connections to `db`'s database at once (released together).
fn race<T: Send>(db: &PgDb, n: usize, work: impl Fn(usize, &PgDb) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, work, url) = (&barrier, &work, db.url.as_str());
                scope.spawn(move || {
                    let connection = PgDb::connect_url(url);
                    barrier.wait();
                    work(i, &connection)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    })
}

fn plain_new_user() -> NewUser {
    NewUser {
        email: EmailAddress::parse("x@example.com").unwrap(),
        username: None,
        first_name: None,
        last_name: None,
        phone_number: None,
        password_hash: String::new(),
        email_verified_at: None,
    }
}

fn user(db: &dyn Db, id: &str, email: &str) -> User {
    stored_user(db, id, email)
}

#[test]
fn migrations_apply_once_when_first_requests_race() {
    let db = PgDb::connect_url(
        &crate::testing::postgres_server::server().url(&crate::testing::postgres_server::server().create_database()),
    );
    let results = race(&db, 6, |_, connection| migrate(connection, 1));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(current_version(&db).unwrap(), SCHEMA_VERSION);
    assert_eq!(db.count("SELECT COUNT(*) FROM schema_migrations"), SCHEMA_VERSION);
    migrate(&db, 2).unwrap();
}

#[test]
fn unique_violations_are_reported_like_sqlites() {
    let db = PgDb::new();
    let first = user(&db, "user_1", "ada@example.com");
    let new = NewUser {
        email: EmailAddress::parse("ADA@example.com").unwrap(),
        password_hash: first.password_hash.clone(),
        ..plain_new_user()
    };
    assert_eq!(
        users::create_user(&db, &UserId::from_stored("user_2".into()), &new, 1),
        Err(CreateUserError::EmailTaken)
    );
    // Types round-trip: text, integers, NULL, blobs.
    let stored = users::find_user_by_email(&db, &EmailAddress::parse("ada@example.com").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.created_at, stored.email_verified_at, stored.username),
        (0, None, None)
    );
    let key = keys::insert_generated_key(&db, &[7u8; 32], 1).unwrap();
    assert_eq!(key, vec![7u8; 32]);
}

#[test]
fn racing_sign_ups_with_one_email_create_exactly_one_account() {
    let db = PgDb::new();
    let results = race(&db, 6, |i, connection| {
        let input = SignUpInput {
            email_address: "race@example.com".into(),
            password: "a long enough password".into(),
            ..Default::default()
        };
        let addresses = [
            "10.0.0.1:1",
            "10.0.0.2:1",
            "10.0.0.3:1",
            "10.0.0.4:1",
            "10.0.0.5:1",
            "10.0.0.6:1",
        ];
        accounts::sign_up(
            connection,
            &input,
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt_from(addresses[i], 100),
        )
    });
    let created = results.iter().filter(|r| matches!(r, Ok(SignedUp::Created(_)))).count();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(
        db.count("SELECT COUNT(*) FROM users WHERE email = 'race@example.com'"),
        1
    );
}

#[test]
fn racing_requests_keep_one_generated_key() {
    let db = PgDb::new();
    let keys: Vec<Vec<u8>> = race(&db, 6, |i, connection| {
        keys::insert_generated_key(connection, &[i as u8 + 1; 32], 1).unwrap()
    });
    assert!(
        keys.windows(2).all(|pair| pair[0] == pair[1]),
        "every request gets the one stored key"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM signing_keys"), 1);
}

#[test]
fn two_admins_leaving_at_once_leave_one_admin_behind() {
    let db = PgDb::new();
    let ada = user(&db, "user_a", "ada@example.com");
    let bea = user(&db, "user_b", "bea@example.com");
    let org = organizations::create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
    db.execute(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, 'admin', 2)",
        &[(&org.id).into(), (&bea.id).into()],
    )
    .unwrap();
    let admins = [ada, bea];
    let results = race(&db, 2, |i, connection| {
        organizations::leave_organization(connection, &admins[i], &org.id, 9)
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(OrgError::LastAdmin))));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM memberships WHERE role = 'admin'"),
        1,
        "the last-admin rule holds"
    );
    let _ = OrgId::from_stored(org.id.as_str().to_owned());
}

#[test]
fn concurrent_wrong_passwords_all_count_toward_the_lock() {
    let db = PgDb::new();
    let input = SignUpInput {
        email_address: "lock@example.com".into(),
        password: "a long enough password".into(),
        ..Default::default()
    };
    accounts::sign_up(
        &db,
        &input,
        ALL_OPTIONAL,
        &SignUpPolicy::default(),
        &attempt_from("10.9.0.1:1", 10),
    )
    .unwrap();
    let results = race(&db, 5, |i, connection| {
        let addresses = ["10.1.0.1:1", "10.1.0.2:1", "10.1.0.3:1", "10.1.0.4:1", "10.1.0.5:1"];
        accounts::sign_in(
            connection,
            "lock@example.com",
            "wrong password",
            &attempt_from(addresses[i], 20),
        )
    });
    // Three failures lock (attempt_from's policy): no burst gets more checks than that.
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(SignInError::BadCredentials)))
        .count();
    let locked = results
        .iter()
        .filter(|r| matches!(r, Err(SignInError::Locked { .. })))
        .count();
    assert_eq!((checked, locked), (3, 2), "{results:?}");
    assert!(matches!(
        accounts::sign_in(
            &db,
            "lock@example.com",
            "a long enough password",
            &attempt_from("10.2.0.1:1", 21)
        ),
        Err(SignInError::Locked { .. })
    ));
}

#[test]
fn a_code_entered_twice_at_once_is_used_once() {
    let db = PgDb::new();
    let keys = MacKeys::new([5; 32], Vec::new());
    let (id, code) = email_rules::start_flow(
        &db,
        &keys,
        &NewFlow {
            purpose: Purpose::Reset,
            email: "ada@example.com",
            user_id: None,
            payload: None,
            target: None,
            decoy: false,
            browser_hash: None,
        },
        100,
    )
    .unwrap();
    let code = code.unwrap();
    let results = race(&db, 4, |_, connection| {
        email_rules::check_code::<(), DbError>(connection, &keys, &id, &code, None, 101, |_| Ok(())).unwrap()
    });
    let accepted = results.iter().filter(|r| matches!(r, CodeCheck::Accepted(..))).count();
    assert_eq!(accepted, 1, "{results:?}");
}

#[test]
fn an_invitation_accepted_twice_at_once_is_used_once() {
    let db = PgDb::new();
    let ada = user(&db, "user_a", "ada@example.com");
    let bea = user(&db, "user_b", "bea@example.com");
    let org = organizations::create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
    let token = organizations::invite(
        &db,
        organizations::Actor::Person(&ada),
        &org.id,
        "bea@example.com",
        "member",
        2,
    )
    .unwrap()
    .token;
    let results = race(&db, 3, |_, connection| {
        organizations::accept_invitation(connection, &token, &bea, 3)
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert_eq!(db.count("SELECT COUNT(*) FROM memberships"), 2);
}

#[test]
fn a_transaction_that_fails_leaves_the_connection_usable() {
    let db = PgDb::new();
    let failed: Result<(), DbError> = super::transaction(&db, || {
        user(&db, "user_x", "x@example.com");
        Err(DbError::Other("boom".into()))
    });
    assert!(failed.is_err());
    assert_eq!(db.count("SELECT COUNT(*) FROM users"), 0, "rolled back");
    // A statement that fails inside a transaction aborts it on PostgreSQL; the rollback ends it.
    let failed: Result<(), DbError> = super::transaction(&db, || {
        db.execute("SELECT no_such_column FROM users", &[])?;
        Ok(())
    });
    assert!(failed.is_err());
    user(&db, "user_y", "y@example.com");
    assert_eq!(db.count("SELECT COUNT(*) FROM users"), 1);
}

/// Spin 4.0.x hangs on a `query` that yields zero rows (spinframework/spin#3671): every shape
/// of read the store sends must come back through its sentinel, with nothing lost, added or
/// reordered, and every write through `RETURNING` must run exactly once.
mod zero_row_query_hang {
    use super::super::{Row, Value, dialect, query_row, transaction};
    use super::*;

    /// The raw rows PostgreSQL answers for the statement as the component sends it.
    fn raw(db: &PgDb, statement: &str, parameters: &[Value]) -> usize {
        let dialect::PgCall::Query(sql) = dialect::postgres_call(statement).unwrap() else {
            panic!("{statement} should be sent through query");
        };
        let params: Vec<String> = parameters
            .iter()
            .map(|v| match v {
                Value::Text(t) => t.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        let references: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
        if let Some(schema) = db.schema() {
            client.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
        }
        client.query(sql.as_str(), &references).unwrap().len()
    }

    #[test]
    fn select_that_finds_nothing_still_yields_one_row_on_the_wire() {
        let db = PgDb::fresh_schema();
        migrate(&db, 1).unwrap();
        let statement = "SELECT id, email FROM users WHERE email = ?";
        assert_eq!(raw(&db, statement, &["nobody@example.com".into()]), 1);
        assert_eq!(
            db.execute(statement, &["nobody@example.com".into()]).unwrap(),
            Vec::<Row>::new()
        );
        assert_eq!(query_row(&db, statement, &["nobody@example.com".into()]).unwrap(), None);
    }

    #[test]
    fn rows_keep_their_order_and_values_including_nulls() {
        let db = PgDb::fresh_schema();
        migrate(&db, 1).unwrap();
        for (id, email) in [
            ("u3", "c@example.com"),
            ("u1", "a@example.com"),
            ("u2", "b@example.com"),
        ] {
            user(&db, id, email);
        }
        let rows = db
            .execute("SELECT id, username, email FROM users ORDER BY email DESC", &[])
            .unwrap();
        let ids: Vec<String> = rows.iter().map(|row| row.text(0).unwrap()).collect();
        assert_eq!(ids, ["u3", "u2", "u1"]);
        assert!(rows.iter().all(|row| row.0.len() == 3 && row.0[1] == Value::Null));
        // A row whose every column is NULL is a row, not the sentinel.
        let rows = db.execute("SELECT NULL, NULL FROM users WHERE id = 'u1'", &[]).unwrap();
        assert_eq!(rows, vec![Row(vec![Value::Null, Value::Null])]);
        // Two columns of one name (a join) survive the wrapper.
        let rows = db
            .execute(
                "SELECT a.id, b.id FROM users a JOIN users b ON a.id = b.id WHERE a.id = 'u2'",
                &[],
            )
            .unwrap();
        assert_eq!(rows, vec![Row(vec!["u2".into(), "u2".into()])]);
        assert_eq!(db.count("SELECT COUNT(*) FROM users"), 3);
    }

    #[test]
    fn writes_with_returning_run_once_whether_or_not_they_match() {
        let db = PgDb::fresh_schema();
        migrate(&db, 1).unwrap();
        user(&db, "u1", "a@example.com");
        // Matches nothing: no row, and no hang.
        let none = db
            .execute(
                "DELETE FROM portal_sessions WHERE id = ? RETURNING id",
                &["s-none".into()],
            )
            .unwrap();
        assert!(none.is_empty());
        let conflict = db
            .execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0) ON CONFLICT DO NOTHING RETURNING version",
                &[],
            )
            .unwrap();
        assert!(conflict.is_empty());
        // Matches: exactly one change, its row returned.
        let changed = db
            .execute("UPDATE users SET first_name = 'Ada' WHERE id = 'u1' RETURNING id", &[])
            .unwrap();
        assert_eq!(changed, vec![Row(vec!["u1".into()])]);
        let inserted = db
            .execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0) RETURNING version, applied_at",
                &[],
            )
            .unwrap();
        assert_eq!(inserted, vec![Row(vec![Value::Integer(999), Value::Integer(0)])]);
        assert_eq!(
            db.count("SELECT COUNT(*) FROM schema_migrations WHERE version = 999"),
            1
        );
    }

    #[test]
    fn a_transaction_that_reads_nothing_commits() {
        let db = PgDb::fresh_schema();
        migrate(&db, 1).unwrap();
        let found: Result<Option<Row>, DbError> = transaction(&db, || {
            query_row(
                &db,
                "SELECT id FROM users WHERE email = ?",
                &["nobody@example.com".into()],
            )
        });
        assert_eq!(found, Ok(None));
    }
}
