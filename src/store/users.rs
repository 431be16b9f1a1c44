//! The `users` table.

use super::{Db, DbError, Row, Value, query_row};
use crate::domain::{EmailAddress, PersonName, PhoneNumber, UserId, Username};

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    /// The Argon2id hash; empty for an account that lives passwordless (with passkeys).
    pub password_hash: String,
    pub created_at: i64,
    /// When the address was proven by a code sent to it; `None` while unverified.
    pub email_verified_at: Option<i64>,
    /// When an authenticator app was turned on (a second factor); `None` without one.
    pub totp_enabled_at: Option<i64>,
    /// How many passkeys the account has.
    pub passkeys: i64,
    /// When the operator suspended the account; `None` while it may sign in.
    pub banned_at: Option<i64>,
    /// What the app keeps about the user that it may show (a JSON object as text, `{}` when
    /// none): read with the user, so a token can carry it without a statement more.
    pub public_metadata: String,
}

impl User {
    /// Whether the account has a password (a passwordless one signs in with passkeys).
    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("username", &self.username)
            .field("password_hash", &"***")
            .finish_non_exhaustive()
    }
}

/// What sign-up stores.
pub struct NewUser {
    pub email: EmailAddress,
    pub username: Option<Username>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub phone_number: Option<PhoneNumber>,
    pub password_hash: String,
    /// Set when the address was proven before the account existed (a sign-up code).
    pub email_verified_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account already has this email address")]
    EmailTaken,
    #[error("an account already has this username")]
    UsernameTaken,
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for CreateUserError {
    fn from(error: DbError) -> Self {
        match &error {
            DbError::Unique(what) if what.contains("users.email") => Self::EmailTaken,
            DbError::Unique(what) if what.contains("users.username") => Self::UsernameTaken,
            _ => Self::Db(error),
        }
    }
}

/// The user's columns, whether a second factor is on and how many passkeys there are: read with
/// every user lookup, so a sign-in learns them without a statement more.
const COLUMNS: &str =
    "id, email, username, first_name, last_name, phone_number, password_hash, created_at, email_verified_at,
     (SELECT t.enabled_at FROM totp_factors t WHERE t.user_id = users.id),
     (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = users.id), banned_at, public_metadata";
/// Columns of a user in a row.
pub(super) const COLUMN_COUNT: usize = 13;

fn from_row(row: &Row) -> Result<User, DbError> {
    from_row_at(row, 0)
}

/// A user from `COLUMNS` starting at column `offset` (for joins).
pub(super) fn from_row_at(row: &Row, offset: usize) -> Result<User, DbError> {
    Ok(User {
        id: UserId::from_stored(row.text(offset)?),
        email: EmailAddress::from_stored(row.text(offset + 1)?),
        username: row.optional_text(offset + 2)?,
        first_name: row.optional_text(offset + 3)?,
        last_name: row.optional_text(offset + 4)?,
        phone_number: row.optional_text(offset + 5)?,
        password_hash: row.text(offset + 6)?,
        created_at: row.integer(offset + 7)?,
        email_verified_at: row.optional_integer(offset + 8)?,
        totp_enabled_at: row.optional_integer(offset + 9)?,
        passkeys: row.integer(offset + 10)?,
        banned_at: row.optional_integer(offset + 11)?,
        public_metadata: row.text(offset + 12)?,
    })
}

/// Marks the user's current address as verified (only if it is still `email`: a code sent to an
/// old address proves nothing about a new one).
pub fn mark_email_verified(db: &dyn Db, id: &UserId, email: &EmailAddress, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET email_verified_at = ?, updated_at = ? WHERE id = ? AND email = ?",
        &[now.into(), now.into(), id.into(), email.into()],
    )?;
    Ok(())
}

/// Inserts a user. The UNIQUE constraints decide races: of two concurrent sign-ups with one
/// email, exactly one succeeds and the other gets `EmailTaken`.
pub fn create_user(db: &dyn Db, id: &UserId, new: &NewUser, now: i64) -> Result<User, CreateUserError> {
    db.execute(
        "INSERT INTO users (id, email, username, first_name, last_name, phone_number, password_hash, created_at, updated_at,
            email_verified_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            id.into(),
            (&new.email).into(),
            new.username.as_ref().map(Username::as_str).into(),
            new.first_name.as_ref().map(PersonName::as_str).into(),
            new.last_name.as_ref().map(PersonName::as_str).into(),
            new.phone_number.as_ref().map(PhoneNumber::as_str).into(),
            new.password_hash.as_str().into(),
            now.into(),
            now.into(),
            new.email_verified_at.into(),
        ],
    )?;
    get_user(db, id).map_err(CreateUserError::Db)
}

fn find_by(db: &dyn Db, column: &str, value: Value) -> Result<Option<User>, DbError> {
    let statement = format!("SELECT {COLUMNS} FROM users WHERE {column} = ?");
    query_row(db, &statement, &[value])?
        .map(|row| from_row(&row))
        .transpose()
}

pub fn find_user_by_id(db: &dyn Db, id: &UserId) -> Result<Option<User>, DbError> {
    find_by(db, "id", id.into())
}

pub fn get_user(db: &dyn Db, id: &UserId) -> Result<User, DbError> {
    find_user_by_id(db, id)?.ok_or_else(|| DbError::Other(format!("user {id} does not exist")))
}

pub fn find_user_by_email(db: &dyn Db, email: &EmailAddress) -> Result<Option<User>, DbError> {
    find_by(db, "email", email.into())
}

pub fn find_user_by_username(db: &dyn Db, username: &Username) -> Result<Option<User>, DbError> {
    find_by(db, "username", username.as_str().into())
}

/// Finds a user by what they typed in the sign-in identifier field: an email address when it
/// contains `@`, else a username.
pub fn find_user_by_identifier(db: &dyn Db, identifier: &str) -> Result<Option<User>, DbError> {
    if identifier.contains('@') {
        match EmailAddress::parse(identifier) {
            Ok(email) => find_user_by_email(db, &email),
            Err(_) => Ok(None),
        }
    } else {
        match Username::parse(identifier) {
            Ok(username) => find_user_by_username(db, &username),
            Err(_) => Ok(None),
        }
    }
}

/// Why a profile update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateUserError {
    #[error("another account has this email address")]
    EmailTaken,
    #[error("another account has this username")]
    UsernameTaken,
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for UpdateUserError {
    fn from(error: DbError) -> Self {
        match CreateUserError::from(error) {
            CreateUserError::EmailTaken => Self::EmailTaken,
            CreateUserError::UsernameTaken => Self::UsernameTaken,
            CreateUserError::Db(error) => Self::Db(error),
        }
    }
}

/// Names and username; the UNIQUE constraint decides username races.
pub fn update_profile(
    db: &dyn Db,
    id: &UserId,
    first_name: Option<&PersonName>,
    last_name: Option<&PersonName>,
    username: Option<&Username>,
    now: i64,
) -> Result<(), UpdateUserError> {
    db.execute(
        "UPDATE users SET first_name = ?, last_name = ?, username = ?, updated_at = ? WHERE id = ?",
        &[
            first_name.map(PersonName::as_str).into(),
            last_name.map(PersonName::as_str).into(),
            username.map(Username::as_str).into(),
            now.into(),
            id.into(),
        ],
    )?;
    Ok(())
}

/// Changes the address; `verified_at` says whether the new one was proven (a code sent to it).
pub fn update_email(
    db: &dyn Db,
    id: &UserId,
    email: &EmailAddress,
    verified_at: Option<i64>,
    now: i64,
) -> Result<(), UpdateUserError> {
    db.execute(
        "UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?",
        &[email.into(), verified_at.into(), now.into(), id.into()],
    )?;
    Ok(())
}

pub fn update_phone_number(db: &dyn Db, id: &UserId, phone: Option<&PhoneNumber>, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET phone_number = ?, updated_at = ? WHERE id = ?",
        &[phone.map(PhoneNumber::as_str).into(), now.into(), id.into()],
    )?;
    Ok(())
}

pub fn update_password_hash(db: &dyn Db, id: &UserId, password_hash: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        &[password_hash.into(), now.into(), id.into()],
    )?;
    Ok(())
}

/// Deletes a user's row. Callers remove what refers to it in the same transaction.
pub fn delete_user(db: &dyn Db, id: &UserId) -> Result<(), DbError> {
    db.execute("DELETE FROM users WHERE id = ?", &[id.into()])?;
    Ok(())
}

/// Suspends (`Some(now)`) or restores (`None`) an account; `false` when there is no such user.
pub fn set_banned(db: &dyn Db, id: &UserId, banned_at: Option<i64>, now: i64) -> Result<bool, DbError> {
    let rows = db.execute(
        "UPDATE users SET banned_at = ?, updated_at = ? WHERE id = ? RETURNING id",
        &[banned_at.into(), now.into(), id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// A user with its private metadata (JSON object text; the public one is in the `User`), as the
/// operator sees it.
pub type UserWithMetadata = (User, String);

fn with_private_metadata(row: &Row) -> Result<UserWithMetadata, DbError> {
    Ok((from_row(row)?, row.text(COLUMN_COUNT)?))
}

/// A user and its private metadata, in one statement.
pub fn find_user_with_metadata(db: &dyn Db, id: &UserId) -> Result<Option<UserWithMetadata>, DbError> {
    let statement = format!("SELECT {COLUMNS}, private_metadata FROM users WHERE id = ?");
    query_row(db, &statement, &[id.into()])?
        .map(|row| with_private_metadata(&row))
        .transpose()
}

/// Replaces a user's metadata (JSON object texts the caller checked).
pub fn set_metadata(db: &dyn Db, id: &UserId, public: &str, private: &str, now: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET public_metadata = ?, private_metadata = ?, updated_at = ? WHERE id = ?",
        &[public.into(), private.into(), now.into(), id.into()],
    )?;
    Ok(())
}

/// What a list of users is narrowed to; every part that is set must hold.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    /// Exact addresses (any of them).
    pub emails: Vec<EmailAddress>,
    /// Exact usernames (any of them).
    pub usernames: Vec<String>,
    /// Text found, in any case, in the address, username, first or last name.
    pub query: Option<String>,
}

/// One page of users, newest first, with their metadata, and how many users the filter finds
/// in all.
pub fn list_users(
    db: &dyn Db,
    filter: &UserFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserWithMetadata>, i64), DbError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut parameters: Vec<Value> = Vec::new();
    if !filter.emails.is_empty() {
        conditions.push(format!("email IN ({})", placeholders(filter.emails.len())));
        parameters.extend(filter.emails.iter().map(Value::from));
    }
    if !filter.usernames.is_empty() {
        conditions.push(format!("username IN ({})", placeholders(filter.usernames.len())));
        parameters.extend(filter.usernames.iter().map(|name| Value::from(name.as_str())));
    }
    if let Some(query) = &filter.query {
        let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
        conditions.push(
            "(LOWER(email) LIKE ? ESCAPE '!' OR LOWER(COALESCE(username, '')) LIKE ? ESCAPE '!'
              OR LOWER(COALESCE(first_name, '')) LIKE ? ESCAPE '!' OR LOWER(COALESCE(last_name, '')) LIKE ? ESCAPE '!')"
                .into(),
        );
        for _ in 0..4 {
            parameters.push(pattern.as_str().into());
        }
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let total = query_row(db, &format!("SELECT COUNT(*) FROM users {condition}"), &parameters)?
        .map_or(Ok(0), |row| row.integer(0))?;
    let mut page_parameters = parameters;
    page_parameters.push(limit.into());
    page_parameters.push(offset.into());
    let users = db
        .execute(
            &format!(
                "SELECT {COLUMNS}, private_metadata FROM users {condition}
                 ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
            ),
            &page_parameters,
        )?
        .iter()
        .map(with_private_metadata)
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok((users, total))
}

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// `text` with LIKE's wildcards (and the escape character) escaped by `!` (not a backslash,
/// which the two dialects' string literals read differently).
pub(super) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            escaped.push('!');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryDb;

    fn id(text: &str) -> UserId {
        UserId::from_stored(text.to_owned())
    }

    fn new_user(email: &str, username: Option<&str>) -> NewUser {
        NewUser {
            email: EmailAddress::parse(email).unwrap(),
            username: username.map(|u| Username::parse(u).unwrap()),
            first_name: Some(PersonName::parse("Ada").unwrap()),
            last_name: None,
            phone_number: None,
            password_hash: "$argon2id$fake".into(),
            email_verified_at: None,
        }
    }

    #[test]
    fn creates_and_finds_users_case_insensitively() {
        let db = MemoryDb::new();
        let user = create_user(&db, &id("user_1"), &new_user("Ada@Example.com", Some("Ada")), 10).unwrap();
        assert_eq!(user.email.as_str(), "ada@example.com");
        assert_eq!(user.username.as_deref(), Some("ada"));
        assert_eq!(
            find_user_by_identifier(&db, "ADA@example.COM").unwrap().unwrap().id,
            id("user_1")
        );
        assert_eq!(find_user_by_identifier(&db, "ADA").unwrap().unwrap().id, id("user_1"));
        assert_eq!(find_user_by_identifier(&db, "nobody").unwrap(), None);
        assert_eq!(find_user_by_identifier(&db, "x@").unwrap(), None);
    }

    #[test]
    fn duplicate_email_or_username_is_refused() {
        let db = MemoryDb::new();
        create_user(&db, &id("user_1"), &new_user("ada@example.com", Some("ada")), 10).unwrap();
        assert_eq!(
            create_user(&db, &id("user_2"), &new_user("ADA@example.com", None), 11),
            Err(CreateUserError::EmailTaken)
        );
        assert_eq!(
            create_user(&db, &id("user_3"), &new_user("other@example.com", Some("ADA")), 12),
            Err(CreateUserError::UsernameTaken)
        );
    }

    #[test]
    fn sql_injection_in_identifier_is_just_text() {
        let db = MemoryDb::new();
        create_user(&db, &id("user_1"), &new_user("ada@example.com", None), 10).unwrap();
        assert_eq!(find_user_by_identifier(&db, "' OR '1'='1").unwrap(), None);
        assert_eq!(find_user_by_identifier(&db, "x@example.com' OR '1'='1").unwrap(), None);
    }

    #[test]
    fn updates_respect_uniqueness() {
        let db = MemoryDb::new();
        create_user(&db, &id("user_1"), &new_user("a@example.com", Some("ada")), 10).unwrap();
        create_user(&db, &id("user_2"), &new_user("b@example.com", Some("bea")), 10).unwrap();
        let ada = Username::parse("ada").unwrap();
        assert_eq!(
            update_profile(&db, &id("user_2"), None, None, Some(&ada), 11),
            Err(UpdateUserError::UsernameTaken)
        );
        let taken = EmailAddress::parse("A@example.com").unwrap();
        assert_eq!(
            update_email(&db, &id("user_2"), &taken, None, 11),
            Err(UpdateUserError::EmailTaken)
        );
        let fresh = EmailAddress::parse("c@example.com").unwrap();
        update_email(&db, &id("user_2"), &fresh, None, 12).unwrap();
        assert_eq!(get_user(&db, &id("user_2")).unwrap().email.as_str(), "c@example.com");
        update_profile(&db, &id("user_2"), None, None, None, 13).unwrap();
        assert_eq!(get_user(&db, &id("user_2")).unwrap().username, None);
    }

    #[test]
    fn lists_search_page_and_carry_metadata() {
        let db = MemoryDb::new();
        for (i, email) in ["ada@example.com", "bea@example.com", "cy_%@example.com"]
            .iter()
            .enumerate()
        {
            create_user(&db, &id(&format!("user_{i}")), &new_user(email, None), i as i64).unwrap();
        }
        set_metadata(&db, &id("user_0"), r#"{"plan":"pro"}"#, r#"{"x":1}"#, 5).unwrap();
        let (all, total) = list_users(&db, &UserFilter::default(), 2, 0).unwrap();
        assert_eq!((all.len(), total), (2, 3));
        assert_eq!(all[0].0.email.as_str(), "cy_%@example.com", "newest first");
        let (rest, _) = list_users(&db, &UserFilter::default(), 2, 2).unwrap();
        assert_eq!(rest[0].0.email.as_str(), "ada@example.com");
        assert_eq!(
            (rest[0].0.public_metadata.as_str(), rest[0].1.as_str()),
            (r#"{"plan":"pro"}"#, r#"{"x":1}"#)
        );
        // Attack: LIKE wildcards are text.
        let filter = UserFilter {
            query: Some("_%".into()),
            ..Default::default()
        };
        assert_eq!(list_users(&db, &filter, 10, 0).unwrap().1, 1);
        let filter = UserFilter {
            emails: vec![EmailAddress::parse("BEA@example.com").unwrap()],
            ..Default::default()
        };
        assert_eq!(
            list_users(&db, &filter, 10, 0).unwrap().0[0].0.email.as_str(),
            "bea@example.com"
        );
    }

    #[test]
    fn debug_hides_the_password_hash() {
        let db = MemoryDb::new();
        let user = create_user(&db, &id("user_1"), &new_user("ada@example.com", None), 10).unwrap();
        assert!(!format!("{user:?}").contains("argon2id"));
    }
}
