//! The operator's rules over accounts (the Backend API; the admin console will call the same):
//! create an account, with a password or a hash imported from another system; change names,
//! username and metadata; suspend (ban) and restore; delete. What a person meets on the pages
//! holds here too, through the same functions: a valid, unique address and username, the
//! password rules, and an organization never left without an admin.
//!
//! A ban ends every session of the account in the same transaction, and the store refuses to
//! start a session for a suspended account (`store::sessions::create_session`), so a token is
//! never issued to it again whichever road a sign-in takes.

use serde_json::{Map, Value};

use crate::config::FieldMode;
use crate::domain::{EmailAddress, FieldError, FieldErrors, PersonName, PhoneNumber, UserId, Username};
use crate::security::password;
use crate::store::users::{self, CreateUserError, NewUser, UpdateUserError, User, UserFilter};
use crate::store::{Db, DbError, sessions, transaction};

use super::accounts::parse_attribute;
use super::metadata::{self, MetadataProblem};
use super::profile::stored;
use super::webhooks;
use super::{organizations, profile};

/// Why the operator's change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error("there is no such user")]
    NotFound,
    #[error("the input has problems: {0:?}")]
    Fields(FieldErrors),
    /// A field the caller sent is not valid for its own reason (a metadata object, a hash).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// Deleting the user would leave these organizations (names) without an admin.
    #[error("the user is the last admin of {0:?}")]
    LastAdmin(Vec<String>),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl From<MetadataProblem> for OperatorError {
    fn from(problem: MetadataProblem) -> Self {
        Self::Invalid {
            field: problem.field,
            message: problem.message,
        }
    }
}

impl From<CreateUserError> for OperatorError {
    fn from(error: CreateUserError) -> Self {
        match error {
            CreateUserError::EmailTaken => Self::Fields(vec![("email_address", FieldError::EmailTaken)]),
            CreateUserError::UsernameTaken => Self::Fields(vec![("username", FieldError::UsernameTaken)]),
            CreateUserError::Db(error) => Self::Db(error),
        }
    }
}

impl From<UpdateUserError> for OperatorError {
    fn from(error: UpdateUserError) -> Self {
        match error {
            UpdateUserError::EmailTaken => Self::Fields(vec![("email_address", FieldError::EmailTaken)]),
            UpdateUserError::UsernameTaken => Self::Fields(vec![("username", FieldError::UsernameTaken)]),
            UpdateUserError::Db(error) => Self::Db(error),
        }
    }
}

/// A user with its metadata, as the operator sees it.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub public_metadata: Map<String, Value>,
    pub private_metadata: Map<String, Value>,
}

/// How a new account gets its password.
#[derive(Debug, Clone, Copy)]
pub enum NewPassword<'a> {
    /// None: the person signs in with an email code, a provider or a passkey, or sets one by
    /// "forgot password".
    None,
    /// A password in clear, checked by the rules of sign-up (`min_chars`: the operator's
    /// `password_min_length`) and hashed here.
    Plain { password: &'a str, min_chars: usize },
    /// A hash imported from another system (`security::password::check_imported_hash`).
    Imported(&'a str),
}

/// An account the operator creates.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub email_address: &'a str,
    pub username: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub phone_number: Option<&'a str>,
    pub password: NewPassword<'a>,
    /// Whether the operator vouches for the address (an import from a system that verified it).
    pub email_verified: bool,
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
}

/// Creates an account. The sign-up mode and lists do not apply: they govern who may sign
/// themselves up, and the operator's key is the operator.
pub fn create(db: &dyn Db, account: &NewAccount<'_>, now: i64) -> Result<UserRecord, OperatorError> {
    let mut errors = FieldErrors::new();
    let email = match EmailAddress::parse(account.email_address) {
        Ok(email) => Some(email),
        Err(problem) => {
            errors.push(("email_address", FieldError::Field(problem)));
            None
        }
    };
    let username = parse_attribute(
        &mut errors,
        "username",
        FieldMode::Optional,
        account.username.unwrap_or_default(),
        Username::parse,
    );
    let first_name = parse_attribute(
        &mut errors,
        "first_name",
        FieldMode::Optional,
        account.first_name.unwrap_or_default(),
        PersonName::parse,
    );
    let last_name = parse_attribute(
        &mut errors,
        "last_name",
        FieldMode::Optional,
        account.last_name.unwrap_or_default(),
        PersonName::parse,
    );
    let phone_number = parse_attribute(
        &mut errors,
        "phone_number",
        FieldMode::Optional,
        account.phone_number.unwrap_or_default(),
        PhoneNumber::parse,
    );
    if let NewPassword::Plain {
        password: plain,
        min_chars,
    } = account.password
    {
        let identities = [account.email_address, account.username.unwrap_or_default()];
        if let Err(problem) = password::check_new_password(plain, &identities, min_chars) {
            errors.push(("password", FieldError::Password(problem)));
        }
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(OperatorError::Fields(errors));
    };
    let public = metadata::to_text("public_metadata", account.public_metadata.as_ref())?;
    let private = metadata::to_text("private_metadata", account.private_metadata.as_ref())?;
    let password_hash = match account.password {
        NewPassword::None => String::new(),
        NewPassword::Plain { password: plain, .. } => {
            password::hash_password(plain).map_err(OperatorError::Internal)?
        }
        NewPassword::Imported(digest) => {
            password::check_imported_hash(digest).map_err(|message| OperatorError::Invalid {
                field: "password_digest",
                message,
            })?
        }
    };
    let new = NewUser {
        email,
        username,
        first_name,
        last_name,
        phone_number,
        password_hash,
        email_verified_at: account.email_verified.then_some(now),
    };
    let id = UserId::generate();
    transaction(db, || {
        let user = users::create_user(db, &id, &new, now)?;
        webhooks::user_created(db, &user, now)?;
        users::set_metadata(
            db,
            &id,
            public.as_deref().unwrap_or("{}"),
            private.as_deref().unwrap_or("{}"),
            now,
        )?;
        Ok::<_, OperatorError>(())
    })?;
    get(db, &id)
}

/// A user as the operator's side shows it (the Backend API, webhook events): what the account
/// is, never its secrets. Times are Unix seconds, as in the session token.
pub fn user_json(user: &User) -> Value {
    serde_json::json!({
        "object": "user",
        "id": user.id.as_str(),
        "email_address": user.email.as_str(),
        "email_verified": user.email_verified_at.is_some(),
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone_number": user.phone_number,
        "password_enabled": user.has_password(),
        "totp_enabled": user.totp_enabled_at.is_some(),
        "passkeys": user.passkeys,
        "banned": user.banned_at.is_some(),
        "banned_at": user.banned_at,
        "created_at": user.created_at,
    })
}

/// A user and its metadata.
pub fn get(db: &dyn Db, id: &UserId) -> Result<UserRecord, OperatorError> {
    let found = users::find_user_with_metadata(db, id)?.ok_or(OperatorError::NotFound)?;
    Ok(record(found))
}

fn record((user, private): users::UserWithMetadata) -> UserRecord {
    UserRecord {
        public_metadata: metadata::from_text(&user.public_metadata),
        private_metadata: metadata::from_text(&private),
        user,
    }
}

/// One page of users (newest first) and how many the filter finds.
pub fn list(db: &dyn Db, filter: &UserFilter, limit: i64, offset: i64) -> Result<(Vec<UserRecord>, i64), DbError> {
    let (page, total) = users::list_users(db, filter, limit, offset)?;
    Ok((page.into_iter().map(record).collect(), total))
}

/// A change of some of a user's fields: `None` leaves a field as it is; `Some(None)` clears
/// it (names and username).
#[derive(Debug, Default, Clone)]
pub struct UserChanges<'a> {
    pub first_name: Option<Option<&'a str>>,
    pub last_name: Option<Option<&'a str>>,
    pub username: Option<Option<&'a str>>,
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
}

/// Changes names, username and metadata, all or nothing.
pub fn update(db: &dyn Db, id: &UserId, changes: &UserChanges<'_>, now: i64) -> Result<UserRecord, OperatorError> {
    let current = get(db, id)?;
    let user = &current.user;
    let mut errors = FieldErrors::new();
    let first_name = match changes.first_name {
        Some(text) => parse_attribute(
            &mut errors,
            "first_name",
            FieldMode::Optional,
            text.unwrap_or_default(),
            PersonName::parse,
        ),
        None => stored(&user.first_name, PersonName::parse),
    };
    let last_name = match changes.last_name {
        Some(text) => parse_attribute(
            &mut errors,
            "last_name",
            FieldMode::Optional,
            text.unwrap_or_default(),
            PersonName::parse,
        ),
        None => stored(&user.last_name, PersonName::parse),
    };
    let username = match changes.username {
        Some(text) => parse_attribute(
            &mut errors,
            "username",
            FieldMode::Optional,
            text.unwrap_or_default(),
            Username::parse,
        ),
        None => stored(&user.username, Username::parse),
    };
    if !errors.is_empty() {
        return Err(OperatorError::Fields(errors));
    }
    let public = metadata::to_text("public_metadata", changes.public_metadata.as_ref())?;
    let private = metadata::to_text("private_metadata", changes.private_metadata.as_ref())?;
    transaction(db, || {
        users::update_profile(db, id, first_name.as_ref(), last_name.as_ref(), username.as_ref(), now)?;
        if public.is_some() || private.is_some() {
            let keep_public = Value::Object(current.public_metadata.clone()).to_string();
            let keep_private = Value::Object(current.private_metadata.clone()).to_string();
            users::set_metadata(
                db,
                id,
                public.as_deref().unwrap_or(&keep_public),
                private.as_deref().unwrap_or(&keep_private),
                now,
            )?;
        }
        let changed = User {
            first_name: first_name.as_ref().map(|name| name.as_str().to_owned()),
            last_name: last_name.as_ref().map(|name| name.as_str().to_owned()),
            username: username.as_ref().map(|name| name.as_str().to_owned()),
            ..user.clone()
        };
        webhooks::user_updated(db, &changed, now)?;
        Ok::<_, OperatorError>(())
    })?;
    get(db, id)
}

/// Suspends the account: from now on no road signs it in, and every session it has ends in the
/// same transaction (the app's `__session` tokens then live out their short lifetime and are
/// never refreshed).
pub fn ban(db: &dyn Db, id: &UserId, now: i64) -> Result<UserRecord, OperatorError> {
    transaction(db, || {
        if !users::set_banned(db, id, Some(now), now)? {
            return Err(OperatorError::NotFound);
        }
        let ended = sessions::delete_user_sessions(db, id)?;
        webhooks::sessions_ended(db, id.as_str(), &ended, "banned", now)?;
        if db.records_events() {
            webhooks::user_updated(db, &users::get_user(db, id)?, now)?;
        }
        Ok(())
    })?;
    get(db, id)
}

/// Lifts a suspension: the person may sign in again.
pub fn unban(db: &dyn Db, id: &UserId, now: i64) -> Result<UserRecord, OperatorError> {
    webhooks::atomically(db, || {
        if !users::set_banned(db, id, None, now)? {
            return Err(OperatorError::NotFound);
        }
        if db.records_events() {
            webhooks::user_updated(db, &users::get_user(db, id)?, now)?;
        }
        Ok(())
    })?;
    get(db, id)
}

/// Deletes the user and everything that belongs to it, unless an organization would be left
/// with members and no admin (as when the person deletes their own account).
pub fn delete(db: &dyn Db, id: &UserId, now: i64) -> Result<(), OperatorError> {
    transaction(db, || {
        if users::find_user_by_id(db, id)?.is_none() {
            return Err(OperatorError::NotFound);
        }
        let blocking = organizations::organizations_blocking_deletion(db, id)?;
        if !blocking.is_empty() {
            return Err(OperatorError::LastAdmin(blocking));
        }
        profile::delete_user_rows(db, id, now)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrate;
    use crate::testing::{MemoryDb, stored_user};

    fn db() -> MemoryDb {
        let db = MemoryDb::new();
        migrate(&db, 0).unwrap();
        db
    }

    fn account(email: &str) -> NewAccount<'_> {
        NewAccount {
            email_address: email,
            username: None,
            first_name: None,
            last_name: None,
            phone_number: None,
            password: NewPassword::None,
            email_verified: true,
            public_metadata: None,
            private_metadata: None,
        }
    }

    #[test]
    fn created_accounts_follow_the_sign_up_rules() {
        let db = db();
        let created = create(
            &db,
            &NewAccount {
                username: Some("ada"),
                first_name: Some("Ada"),
                password: NewPassword::Plain {
                    password: "a long enough secret",
                    min_chars: 0,
                },
                public_metadata: Some(serde_json::json!({"plan": "pro"})),
                ..account("ada@example.com")
            },
            10,
        )
        .unwrap();
        assert_eq!(created.user.email.as_str(), "ada@example.com");
        assert_eq!(created.user.email_verified_at, Some(10));
        assert!(password::verify_password(
            "a long enough secret",
            Some(&created.user.password_hash)
        ));
        assert_eq!(created.public_metadata["plan"], "pro");
        assert!(created.private_metadata.is_empty());

        let taken = create(&db, &account("ADA@example.com"), 11).unwrap_err();
        assert_eq!(
            taken,
            OperatorError::Fields(vec![("email_address", FieldError::EmailTaken)])
        );
        let bad = create(
            &db,
            &NewAccount {
                username: Some("ada"),
                password: NewPassword::Plain {
                    password: "short",
                    min_chars: 0,
                },
                ..account("not an address")
            },
            11,
        )
        .unwrap_err();
        let OperatorError::Fields(fields) = bad else {
            panic!("{bad:?}")
        };
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["email_address", "password"]);
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        let db = db();
        let not_object = create(
            &db,
            &NewAccount {
                private_metadata: Some(serde_json::json!([1, 2])),
                ..account("a@example.com")
            },
            1,
        );
        assert!(matches!(
            not_object,
            Err(OperatorError::Invalid {
                field: "private_metadata",
                ..
            })
        ));
        let huge = create(
            &db,
            &NewAccount {
                public_metadata: Some(serde_json::json!({"x": "y".repeat(metadata::METADATA_MAX_BYTES)})),
                ..account("a@example.com")
            },
            1,
        );
        assert!(matches!(
            huge,
            Err(OperatorError::Invalid {
                field: "public_metadata",
                ..
            })
        ));
        assert_eq!(db.count("SELECT COUNT(*) FROM users"), 0, "nothing half-written");
    }

    #[test]
    fn updates_change_only_what_is_sent() {
        let db = db();
        let user = stored_user(&db, "user_1", "ada@example.com");
        let changed = update(
            &db,
            &user.id,
            &UserChanges {
                first_name: Some(Some("Ada")),
                private_metadata: Some(serde_json::json!({"stripe": "cus_1"})),
                ..Default::default()
            },
            5,
        )
        .unwrap();
        assert_eq!(changed.user.first_name.as_deref(), Some("Ada"));
        assert_eq!(changed.private_metadata["stripe"], "cus_1");
        let cleared = update(
            &db,
            &user.id,
            &UserChanges {
                first_name: Some(None),
                ..Default::default()
            },
            6,
        )
        .unwrap();
        assert_eq!(cleared.user.first_name, None);
        assert_eq!(cleared.private_metadata["stripe"], "cus_1", "metadata not sent is kept");
    }

    #[test]
    fn attack_a_banned_users_live_session_ends_at_once() {
        let db = db();
        let user = stored_user(&db, "user_1", "ada@example.com");
        let origin = sessions::SessionOrigin {
            client_addr: None,
            user_agent: None,
            amr: "pwd",
            first_factor_at: 1,
            second_factor_at: None,
        };
        let start = |token: u8, now: i64| {
            let id = crate::domain::SessionId::generate();
            sessions::create_session(&db, &id, &[token; 32], &user.id, &origin, now, 1_000).unwrap()
        };
        start(1, 1).unwrap();
        let banned = ban(&db, &user.id, 2).unwrap();
        assert_eq!(banned.user.banned_at, Some(2));
        assert!(
            sessions::find_live_session_with_user(&db, &[1; 32], 3)
                .unwrap()
                .is_none()
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM portal_sessions"), 0);
        assert!(start(2, 3).is_none(), "no new session for a suspended account");
        unban(&db, &user.id, 4).unwrap();
        assert!(start(2, 5).is_some());
        assert_eq!(ban(&db, &UserId::generate(), 6).unwrap_err(), OperatorError::NotFound);
    }

    #[test]
    fn deleting_the_last_admin_of_an_organization_is_refused() {
        let db = db();
        let ada = stored_user(&db, "user_1", "ada@example.com");
        let bea = stored_user(&db, "user_2", "bea@example.com");
        let org = organizations::create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        crate::store::organizations::add_membership(&db, &org.id, &bea.id, crate::domain::Role::Member, 2).unwrap();
        assert_eq!(
            delete(&db, &ada.id, 9).unwrap_err(),
            OperatorError::LastAdmin(vec!["Acme".into()])
        );
        delete(&db, &bea.id, 9).unwrap();
        assert!(users::find_user_by_id(&db, &bea.id).unwrap().is_none());
        assert_eq!(delete(&db, &bea.id, 9).unwrap_err(), OperatorError::NotFound);
    }
}
