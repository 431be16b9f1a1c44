//! Sign-up and sign-in as plain functions over the store: the page handlers only adapt HTTP to
//! these. Both perform exactly one Argon2 operation on every path that reaches a password check,
//! so response times do not tell which accounts exist.

use crate::config::{FieldMode, SignUpFields};
use crate::domain::{
    EmailAddress, FieldError, FieldErrors, FieldProblem, PersonName, PhoneNumber, UserId, Username, optional,
};
use crate::json_object::JsonObject;
use crate::security::lockout::{self, LockPolicy, RatePolicy};
use crate::security::password;
use crate::security::random_id;
use crate::security::sign_up_policy::SignUpPolicy;
use crate::store::users::{self, CreateUserError, NewUser, UpdateUserError, User};
use crate::store::{Db, DbError, attempts, transaction};

use super::webhooks;

/// What a sign-up form carries, as typed.
#[derive(Debug, Default, Clone)]
pub struct SignUpInput {
    pub email_address: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub phone_number: String,
    /// The operator's `password_min_length` (0: the floor), read only where a form is posted.
    pub password_min_length: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown identifier or wrong password: one message for both.
    #[error("unknown account or wrong password")]
    BadCredentials,
    /// Too many failures for this account or address.
    #[error("too many failed attempts; locked until {until}")]
    Locked { until: i64 },
    /// Too many password checks from this address in the last minute.
    #[error("too many password checks from this address; refused until {until}")]
    RateLimited { until: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

/// Why a sign-up, or a change a person makes to their own account, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("the form has problems: {0:?}")]
    Fields(FieldErrors),
    /// A password check failed or is locked. At sign-up: the email belongs to an account and the
    /// password did not open it, shown exactly like a failed sign-in, so sign-up reveals no more
    /// than sign-in does.
    #[error(transparent)]
    Credentials(SignInError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
    /// The operator suspended the account: nothing it proves changes it.
    #[error("the account is suspended")]
    Suspended,
}

impl From<SignInError> for AccountError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::Db(error) => Self::Db(error),
            SignInError::Internal(detail) => Self::Internal(detail),
            other => Self::Credentials(other),
        }
    }
}

impl From<UpdateUserError> for AccountError {
    fn from(error: UpdateUserError) -> Self {
        match error {
            UpdateUserError::EmailTaken => Self::Fields(vec![("email_address", FieldError::EmailTaken)]),
            UpdateUserError::UsernameTaken => Self::Fields(vec![("username", FieldError::UsernameTaken)]),
            UpdateUserError::Db(error) => Self::Db(error),
        }
    }
}

/// The outcome of a successful sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    Created(User),
    /// The email already had an account and the password matched it: that is a sign-in.
    ExistingAccount(User),
}

/// Who is asking, for brute-force accounting.
pub struct Attempt<'a> {
    pub client_addr: &'a str,
    pub policy: LockPolicy,
    pub rate: RatePolicy,
    pub now: i64,
}

/// Parses an optional attribute (name, username, phone) the operator shows; a problem is added
/// to `errors`. Attributes turned off are `None` whatever was sent.
pub(crate) fn parse_attribute<T>(
    errors: &mut FieldErrors,
    name: &'static str,
    mode: FieldMode,
    text: &str,
    parse: fn(&str) -> Result<T, FieldProblem>,
) -> Option<T> {
    if !mode.is_shown() {
        return None;
    }
    match optional(text, mode == FieldMode::Required, parse) {
        Ok(value) => value,
        Err(problem) => {
            errors.push((name, FieldError::Field(problem)));
            None
        }
    }
}

/// Validates every field; all problems are reported at once.
fn validate(input: &SignUpInput, fields: SignUpFields) -> Result<(EmailAddress, NewUserFields), FieldErrors> {
    let mut errors = FieldErrors::new();
    let extra = NewUserFields {
        first_name: parse_attribute(
            &mut errors,
            "first_name",
            fields.first_name,
            &input.first_name,
            PersonName::parse,
        ),
        last_name: parse_attribute(
            &mut errors,
            "last_name",
            fields.last_name,
            &input.last_name,
            PersonName::parse,
        ),
        username: parse_attribute(
            &mut errors,
            "username",
            fields.username,
            &input.username,
            Username::parse,
        ),
        phone_number: parse_attribute(
            &mut errors,
            "phone_number",
            fields.phone_number,
            &input.phone_number,
            PhoneNumber::parse,
        ),
    };
    let email = EmailAddress::parse(&input.email_address);
    if let Err(problem) = &email {
        errors.push(("email_address", FieldError::Field(*problem)));
    }
    if let Err(problem) = password::check_new_password(
        &input.password,
        &[&input.email_address, &input.username],
        input.password_min_length,
    ) {
        errors.push(("password", FieldError::Password(problem)));
    }
    match email {
        Ok(email) if errors.is_empty() => Ok((email, extra)),
        _ => Err(errors),
    }
}

struct NewUserFields {
    first_name: Option<PersonName>,
    last_name: Option<PersonName>,
    username: Option<Username>,
    phone_number: Option<PhoneNumber>,
}

/// The one place that admits or refuses a new account for `email` under the operator's lists:
/// every road that creates an account asks it (the sign-up form, a verified sign-up when its
/// code is entered, an invitation, a provider's sign-up), before anything is looked up, so the
/// answer says nothing about other accounts.
pub fn admit_sign_up(policy: &SignUpPolicy, email: &EmailAddress) -> Result<(), AccountError> {
    if policy.admits(email) {
        Ok(())
    } else {
        Err(AccountError::Fields(vec![("email_address", FieldError::SignUpRefused)]))
    }
}

/// Creates an account, or signs into the existing one when the email is taken and the password
/// matches it.
pub fn sign_up(
    db: &dyn Db,
    input: &SignUpInput,
    fields: SignUpFields,
    policy: &SignUpPolicy,
    attempt: &Attempt<'_>,
) -> Result<SignedUp, AccountError> {
    let (email, extra) = validate(input, fields).map_err(AccountError::Fields)?;
    admit_sign_up(policy, &email)?;
    if let Some(existing) = users::find_user_by_email(db, &email)? {
        return check_password(db, Some(existing), email.as_str(), &input.password, attempt)
            .map(SignedUp::ExistingAccount)
            .map_err(AccountError::Credentials);
    }
    // A new account costs one Argon2 hash: it counts against the address's checks like any other,
    // admitted before the username is looked up so that probing usernames is rate-limited too.
    admit_password_check(db, &[], attempt).map_err(AccountError::Credentials)?;
    if let Some(username) = &extra.username
        && users::find_user_by_username(db, username)?.is_some()
    {
        return Err(AccountError::Fields(vec![("username", FieldError::UsernameTaken)]));
    }
    let password_hash = password::hash_password(&input.password).map_err(AccountError::Internal)?;
    let new = NewUser {
        email,
        username: extra.username,
        first_name: extra.first_name,
        last_name: extra.last_name,
        phone_number: extra.phone_number,
        password_hash,
        email_verified_at: None,
    };
    let created = webhooks::atomically(db, || {
        let user = users::create_user(db, &UserId::generate(), &new, attempt.now)?;
        webhooks::user_created(db, &user, attempt.now)?;
        Ok::<_, CreateUserError>(user)
    });
    match created {
        Ok(user) => Ok(SignedUp::Created(user)),
        // Lost a race with a concurrent sign-up for the same email: report it like a failed
        // sign-in without a second Argon2 run.
        Err(CreateUserError::EmailTaken) => Err(AccountError::Credentials(SignInError::BadCredentials)),
        Err(CreateUserError::UsernameTaken) => Err(AccountError::Fields(vec![("username", FieldError::UsernameTaken)])),
        Err(CreateUserError::Db(error)) => Err(AccountError::Db(error)),
    }
}

/// A sign-up waiting for its code: everything the account will hold, the password already
/// hashed (the one Argon2 run of the sign-up request). Stored in the code flow as JSON
/// ([`PendingSignUp::to_json`]), never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignUp {
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub password_hash: String,
    /// The instance invitation (its id) that opened this sign-up, used when the code is entered.
    pub invitation: Option<String>,
}

impl PendingSignUp {
    /// The JSON the code flow stores.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "email": self.email,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone_number": self.phone_number,
            "password_hash": self.password_hash,
            "invitation": self.invitation,
        })
        .to_string()
    }

    /// A sign-up from [`PendingSignUp::to_json`]'s JSON.
    pub fn from_json(text: &str) -> Option<Self> {
        let mut object = JsonObject::parse(text.as_bytes()).ok()?;
        Some(Self {
            email: object.string("email").ok()?,
            username: object.optional_string("username").ok()?,
            first_name: object.optional_string("first_name").ok()?,
            last_name: object.optional_string("last_name").ok()?,
            phone_number: object.optional_string("phone_number").ok()?,
            password_hash: object.string("password_hash").ok()?,
            invitation: object.optional_string("invitation").ok()?,
        })
    }
}

/// What a verified sign-up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpRequest {
    /// A new address: the account to create once the code is entered.
    New(PendingSignUp),
    /// The address has an account: its owner is told, the requester learns nothing.
    Existing(User),
}

/// Validates a sign-up that must prove its address first, and hashes its password (one Argon2
/// run whether or not the address has an account, so the response time says nothing).
pub fn request_sign_up(
    db: &dyn Db,
    input: &SignUpInput,
    fields: SignUpFields,
    policy: &SignUpPolicy,
    attempt: &Attempt<'_>,
) -> Result<SignUpRequest, AccountError> {
    let (email, extra) = validate(input, fields).map_err(AccountError::Fields)?;
    admit_sign_up(policy, &email)?;
    // "Username taken" is said openly (see the README: usernames are public by design), but each
    // answer costs one of the address's password checks, so usernames cannot be listed quickly.
    admit_password_check(db, &[], attempt).map_err(AccountError::Credentials)?;
    if let Some(username) = &extra.username
        && users::find_user_by_username(db, username)?.is_some()
    {
        return Err(AccountError::Fields(vec![("username", FieldError::UsernameTaken)]));
    }
    let password_hash = password::hash_password(&input.password).map_err(AccountError::Internal)?;
    if let Some(existing) = users::find_user_by_email(db, &email)? {
        return Ok(SignUpRequest::Existing(existing));
    }
    Ok(SignUpRequest::New(PendingSignUp {
        email: email.as_str().to_owned(),
        username: extra.username.map(|u| u.as_str().to_owned()),
        first_name: extra.first_name.map(|n| n.as_str().to_owned()),
        last_name: extra.last_name.map(|n| n.as_str().to_owned()),
        phone_number: extra.phone_number.map(|p| p.as_str().to_owned()),
        password_hash,
        invitation: None,
    }))
}

/// Creates the account of a sign-up whose code was entered: its address is verified. The lists
/// are asked again (they may have changed since the code was sent). The UNIQUE constraints
/// still decide races (another sign-up for the address finished first).
pub fn create_verified_account(
    db: &dyn Db,
    pending: &PendingSignUp,
    policy: &SignUpPolicy,
    now: i64,
) -> Result<User, AccountError> {
    let parse_error = |what: &str| AccountError::Internal(format!("stored sign-up has a bad {what}"));
    let email = EmailAddress::parse(&pending.email).map_err(|_| parse_error("email"))?;
    // An instance invitation for this address opens a restricted sign-up; it is used up here,
    // in the transaction that creates the account (rolled back with it).
    let invited = match &pending.invitation {
        Some(id) => crate::service::invitations::take(db, id, &email, now)?,
        None => false,
    };
    let policy = if invited {
        policy.for_invitation()
    } else {
        policy.clone()
    };
    admit_sign_up(&policy, &email)?;
    let new = NewUser {
        email,
        username: pending
            .username
            .as_deref()
            .map(Username::parse)
            .transpose()
            .map_err(|_| parse_error("username"))?,
        first_name: pending
            .first_name
            .as_deref()
            .map(PersonName::parse)
            .transpose()
            .map_err(|_| parse_error("name"))?,
        last_name: pending
            .last_name
            .as_deref()
            .map(PersonName::parse)
            .transpose()
            .map_err(|_| parse_error("name"))?,
        phone_number: pending
            .phone_number
            .as_deref()
            .map(PhoneNumber::parse)
            .transpose()
            .map_err(|_| parse_error("phone number"))?,
        password_hash: pending.password_hash.clone(),
        email_verified_at: Some(now),
    };
    // Inside the transaction that spends the code.
    let created = users::create_user(db, &UserId::generate(), &new, now).and_then(|user| {
        webhooks::user_created(db, &user, now)
            .map(|()| user)
            .map_err(CreateUserError::Db)
    });
    match created {
        Ok(user) => Ok(user),
        Err(CreateUserError::EmailTaken) => Err(AccountError::Fields(vec![("email_address", FieldError::EmailTaken)])),
        Err(CreateUserError::UsernameTaken) => Err(AccountError::Fields(vec![("username", FieldError::UsernameTaken)])),
        Err(CreateUserError::Db(error)) => Err(AccountError::Db(error)),
    }
}

/// Sets a new password after a reset code (the caller checked the code in this transaction):
/// every session and every other code flow of the user ends, failures are forgotten and the
/// address counts as verified.
pub fn reset_password(
    db: &dyn Db,
    user_id: &UserId,
    email: &EmailAddress,
    password_hash: &str,
    now: i64,
) -> Result<(), DbError> {
    users::update_password_hash(db, user_id, password_hash, now)?;
    users::mark_email_verified(db, user_id, email, now)?;
    crate::service::email::end_flows(db, user_id, email.as_str(), now)?;
    let ended = crate::store::sessions::delete_user_sessions(db, user_id)?;
    webhooks::sessions_ended(db, user_id.as_str(), &ended, "password_reset", now)?;
    attempts::clear_scope(db, &lockout::account_scope(Some(user_id), email.as_str()))
}

/// The account whose address is `email`, if any.
pub fn account_with_address(db: &dyn Db, email: &EmailAddress) -> Result<Option<User>, DbError> {
    users::find_user_by_email(db, email)
}

/// What entering the right code does, inside the transaction that spends it (see
/// `service::email::check_code`): the account a sign-up was waiting for, a new password (every
/// session ends), a verified address, or an address changed. Returns the account concerned.
pub fn complete_email_flow(
    db: &dyn Db,
    flow: &crate::store::email::CodeFlow,
    purpose: crate::service::email::Purpose,
    new_password_hash: Option<&str>,
    policy: &SignUpPolicy,
    now: i64,
) -> Result<User, AccountError> {
    use crate::service::email::Purpose;
    let internal = |what: &str| AccountError::Internal(what.to_owned());
    let email = EmailAddress::parse(&flow.email).map_err(|_| internal("a code flow with a bad address"))?;
    if purpose == Purpose::SignUp {
        let pending = flow
            .payload
            .as_deref()
            .and_then(PendingSignUp::from_json)
            .ok_or_else(|| internal("a sign-up flow without its account"))?;
        return create_verified_account(db, &pending, policy, now);
    }
    let id = flow
        .user_id
        .as_ref()
        .ok_or_else(|| internal("a code flow without its account"))?;
    match purpose {
        Purpose::Reset => {
            let hash = new_password_hash.ok_or_else(|| internal("a reset without its password"))?;
            if users::get_user(db, id)?.banned_at.is_some() {
                // The password stays as it was: a suspended account is not reopened through its
                // owner's mailbox.
                return Err(AccountError::Suspended);
            }
            reset_password(db, id, &email, hash, now)?;
        }
        Purpose::EmailChange => {
            let old = users::get_user(db, id)?.email;
            users::update_email(db, id, &email, Some(now), now)?;
            crate::service::email::end_flows(db, id, old.as_str(), now)?;
        }
        Purpose::SignIn | Purpose::VerifyEmail | Purpose::SignUp => users::mark_email_verified(db, id, &email, now)?,
    }
    let user = users::get_user(db, id)?;
    if matches!(purpose, Purpose::EmailChange | Purpose::VerifyEmail) {
        webhooks::user_updated(db, &user, now)?;
    }
    Ok(user)
}

/// Checks an email address or username and a password.
pub fn sign_in(db: &dyn Db, identifier: &str, password: &str, attempt: &Attempt<'_>) -> Result<User, SignInError> {
    let user = users::find_user_by_identifier(db, identifier)?;
    check_password(db, user, identifier, password, attempt)
}

/// Re-checks a signed-in user's password before a sensitive change, with the same lockout and
/// failure accounting as sign-in (a stolen session must not become a password-guessing oracle).
pub fn verify_current_password(
    db: &dyn Db,
    user: &User,
    password: &str,
    attempt: &Attempt<'_>,
) -> Result<(), SignInError> {
    check_password(db, Some(user.clone()), user.email.as_str(), password, attempt).map(drop)
}

/// The one credential check behind sign-in, sign-up-with-a-taken-email and the
/// current-password forms: the check is admitted and recorded first (rate limit, lock), then one
/// Argon2 run (also for missing accounts), then a success clears the account's failures.
fn check_password(
    db: &dyn Db,
    user: Option<User>,
    identifier: &str,
    password: &str,
    attempt: &Attempt<'_>,
) -> Result<User, SignInError> {
    let account = lockout::account_scope(user.as_ref().map(|u| &u.id), identifier);
    let address = lockout::address_scope(attempt.client_addr);
    let check = admit_password_check(
        db,
        &[(&account, attempt.policy), (&address, attempt.policy.for_address())],
        attempt,
    )?;
    if !password::verify_password(password, user.as_ref().map(|u| u.password_hash.as_str())) {
        // The check's rows stay: they are the failure records.
        return Err(SignInError::BadCredentials);
    }
    let mut user = user.ok_or_else(|| SignInError::Internal("verified without an account".into()))?;
    // A hash imported from another system (bcrypt) becomes Argon2id now that the password is
    // known: the one Argon2 run of this request.
    let upgraded = if password::needs_rehash(&user.password_hash) {
        Some(password::hash_password(password).map_err(SignInError::Internal)?)
    } else {
        None
    };
    transaction(db, || {
        attempts::clear_scope(db, &account)?;
        attempts::delete_check(db, &check, &address)?;
        if let Some(hash) = &upgraded {
            users::update_password_hash(db, &user.id, hash, attempt.now)?;
        }
        Ok::<_, DbError>(())
    })?;
    if let Some(hash) = upgraded {
        user.password_hash = hash;
    }
    Ok(user)
}

/// Admits one password check before any Argon2 work, atomically: refused while the address has
/// used its checks for the minute, or while any of `lock_scopes` is locked; otherwise recorded in
/// the rate scope and, as a failure until it succeeds, in every lock scope. Returns the check's
/// id. Inside `BEGIN IMMEDIATE`, concurrent checks are admitted one at a time, so no burst can
/// run more hashes than the policies allow.
fn admit_password_check(
    db: &dyn Db,
    lock_scopes: &[(&str, LockPolicy)],
    attempt: &Attempt<'_>,
) -> Result<String, SignInError> {
    let check = random_id("check");
    transaction(db, || admit_check_rows(db, &check, lock_scopes, attempt))?;
    Ok(check)
}

/// [`admit_password_check`]'s rule, inside the caller's transaction.
fn admit_check_rows(
    db: &dyn Db,
    check: &str,
    lock_scopes: &[(&str, LockPolicy)],
    attempt: &Attempt<'_>,
) -> Result<(), SignInError> {
    let now = attempt.now;
    let rate_scope = lockout::rate_scope(attempt.client_addr);
    attempts::prune(db, now - attempt.policy.horizon().max(RatePolicy::WINDOW))?;
    let recent = attempts::check_times(db, &rate_scope, now - RatePolicy::WINDOW)?;
    if let Some(until) = attempt.rate.limited_until(&recent) {
        return Err(SignInError::RateLimited { until });
    }
    let mut locked_until = None;
    for (scope, policy) in lock_scopes {
        let failures = attempts::check_times(db, scope, now - policy.horizon())?;
        if policy.is_locked(&failures, now) {
            locked_until = locked_until.max(policy.locked_until(&failures));
        }
    }
    if let Some(until) = locked_until {
        return Err(SignInError::Locked { until });
    }
    for scope in lock_scopes.iter().map(|(scope, _)| *scope).chain([rate_scope.as_str()]) {
        attempts::insert_check(db, check, scope, now)?;
    }
    Ok(())
}

/// Hashes a new password inside the caller's transaction (a reset, once its code proved
/// right), admitted first against the address's password-check rate like every Argon2 run: a
/// flood of posts cannot make the portal hash more than the limit allows.
pub fn hash_new_password(db: &dyn Db, new_password: &str, attempt: &Attempt<'_>) -> Result<String, SignInError> {
    admit_check_rows(db, &random_id("check"), &[], attempt)?;
    password::hash_password(new_password).map_err(SignInError::Internal)
}

/// [`hash_new_password`] outside a transaction: the admission is a transaction of its own.
pub fn admit_and_hash(db: &dyn Db, new_password: &str, attempt: &Attempt<'_>) -> Result<String, SignInError> {
    admit_password_check(db, &[], attempt)?;
    password::hash_password(new_password).map_err(SignInError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::password::PasswordProblem;

    #[test]
    fn a_pending_sign_up_is_stored_and_read_back_whole() {
        let full = PendingSignUp {
            email: "ada@example.com".into(),
            username: Some("ada".into()),
            first_name: Some("Ada \"the\" first".into()),
            last_name: None,
            phone_number: Some("+15551234567".into()),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            invitation: Some("inv_1".into()),
        };
        assert_eq!(PendingSignUp::from_json(&full.to_json()), Some(full.clone()));
        // What the previous release stored (serde's derive, no `invitation` when there was none)
        // still reads: a code sent before an upgrade still creates its account.
        let stored = r#"{"email":"ada@example.com","username":null,"first_name":null,"last_name":null,"phone_number":null,"password_hash":"h"}"#;
        let pending = PendingSignUp::from_json(stored).expect("an earlier release's payload");
        assert_eq!((pending.email.as_str(), pending.invitation), ("ada@example.com", None));
        assert_eq!(
            PendingSignUp::from_json(r#"{"email":"a@b.c"}"#),
            None,
            "no password hash"
        );
        assert_eq!(PendingSignUp::from_json("not json"), None);
    }
    use crate::security::sign_up_policy::SignUpPolicy;
    use crate::testing::{ALL_OPTIONAL, MemoryDb, attempt_from};

    fn attempt(now: i64) -> Attempt<'static> {
        attempt_from("10.0.0.1:4000", now)
    }

    fn input(email: &str, password: &str) -> SignUpInput {
        SignUpInput {
            email_address: email.into(),
            password: password.into(),
            ..Default::default()
        }
    }

    fn blocking(rules: &str) -> SignUpPolicy {
        SignUpPolicy {
            blocked: crate::security::sign_up_policy::parse_rules(rules).unwrap(),
            ..SignUpPolicy::default()
        }
    }

    #[test]
    fn attack_blocked_address_is_refused_on_every_road_before_any_lookup() {
        let db = MemoryDb::new();
        let policy = blocking("*@evil.example");
        let refused = |result: Result<(), AccountError>| matches!(result, Err(AccountError::Fields(errors)) if errors == vec![("email_address", FieldError::SignUpRefused)]);
        assert!(refused(
            sign_up(
                &db,
                &input("x@evil.example", "long enough pw"),
                ALL_OPTIONAL,
                &policy,
                &attempt(0)
            )
            .map(|_| ())
        ));
        assert!(refused(
            request_sign_up(
                &db,
                &input("x@EVIL.example", "long enough pw"),
                ALL_OPTIONAL,
                &policy,
                &attempt(0)
            )
            .map(|_| ())
        ));
        assert!(
            sign_up(
                &db,
                &input("x@notevil.example", "long enough pw"),
                ALL_OPTIONAL,
                &policy,
                &attempt(1)
            )
            .is_ok()
        );
    }

    #[test]
    fn attack_list_changed_after_the_code_was_sent_refuses_the_account_at_the_code() {
        let db = MemoryDb::new();
        let SignUpRequest::New(pending) = request_sign_up(
            &db,
            &input("late@evil.example", "long enough pw"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        )
        .unwrap() else {
            panic!("a new address");
        };
        let refused = create_verified_account(&db, &pending, &blocking("*@evil.example"), 10);
        assert!(matches!(refused, Err(AccountError::Fields(_))));
        assert_eq!(
            users::find_user_by_email(&db, &EmailAddress::parse("late@evil.example").unwrap()).unwrap(),
            None
        );
    }

    #[test]
    fn an_existing_account_signs_in_whatever_the_lists_say_later() {
        let db = MemoryDb::new();
        sign_up(
            &db,
            &input("old@evil.example", "long enough pw"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        )
        .unwrap();
        // The lists change; sign-in never asks them.
        assert!(sign_in(&db, "old@evil.example", "long enough pw", &attempt(100)).is_ok());
    }

    #[test]
    fn sign_up_then_sign_in_by_email_or_username() {
        let db = MemoryDb::new();
        let mut form = input("Ada@Example.com", "correct horse");
        form.username = "Ada".into();
        form.first_name = " Ada ".into();
        let SignedUp::Created(user) = sign_up(&db, &form, ALL_OPTIONAL, &SignUpPolicy::default(), &attempt(0)).unwrap()
        else {
            panic!("expected a new account")
        };
        assert_eq!(user.first_name.as_deref(), Some("Ada"));
        assert_eq!(
            sign_in(&db, "ada@example.com", "correct horse", &attempt(1))
                .unwrap()
                .id,
            user.id
        );
        assert_eq!(sign_in(&db, "ADA", "correct horse", &attempt(2)).unwrap().id, user.id);
        assert_eq!(
            sign_in(&db, "ada", "wrong horse", &attempt(3)),
            Err(SignInError::BadCredentials)
        );
        assert_eq!(
            sign_in(&db, "nobody", "correct horse", &attempt(4)),
            Err(SignInError::BadCredentials)
        );
    }

    #[test]
    fn every_field_problem_is_reported_at_once() {
        let db = MemoryDb::new();
        let form = SignUpInput {
            email_address: "not-an-email".into(),
            // Long enough for the floor, not for this operator's `password_min_length`.
            password: "eleven char".into(),
            first_name: "x".repeat(101),
            last_name: String::new(),
            username: "a b".into(),
            phone_number: "12345".into(),
            password_min_length: 12,
        };
        let Err(AccountError::Fields(errors)) =
            sign_up(&db, &form, ALL_OPTIONAL, &SignUpPolicy::default(), &attempt(0))
        else {
            panic!("expected field errors")
        };
        let names: Vec<&str> = errors.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            ["first_name", "username", "phone_number", "email_address", "password"]
        );
        assert_eq!(
            errors.last(),
            Some(&("password", FieldError::Password(PasswordProblem::TooShort { min: 12 })))
        );
    }

    #[test]
    fn required_fields_and_hidden_fields_follow_configuration() {
        let db = MemoryDb::new();
        let fields = SignUpFields {
            username: FieldMode::Required,
            phone_number: FieldMode::Off,
            ..ALL_OPTIONAL
        };
        let mut form = input("a@example.com", "long enough");
        form.phone_number = "garbage is ignored when the field is off".into();
        let Err(AccountError::Fields(errors)) = sign_up(&db, &form, fields, &SignUpPolicy::default(), &attempt(0))
        else {
            panic!("expected field errors")
        };
        assert_eq!(errors, [("username", FieldError::Field(FieldProblem::Required))]);
        form.username = "ada".into();
        let SignedUp::Created(user) = sign_up(&db, &form, fields, &SignUpPolicy::default(), &attempt(0)).unwrap()
        else {
            panic!()
        };
        assert_eq!(user.phone_number, None);
    }

    #[test]
    fn password_equal_to_email_is_refused() {
        let db = MemoryDb::new();
        let Err(AccountError::Fields(errors)) = sign_up(
            &db,
            &input("ada@example.com", "ADA@example.com"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        ) else {
            panic!()
        };
        assert_eq!(
            errors,
            [("password", FieldError::Password(PasswordProblem::SameAsEmail))]
        );
    }

    #[test]
    fn duplicate_username_is_a_field_error() {
        let db = MemoryDb::new();
        let mut form = input("a@example.com", "long enough");
        form.username = "ada".into();
        sign_up(&db, &form, ALL_OPTIONAL, &SignUpPolicy::default(), &attempt(0)).unwrap();
        form.email_address = "b@example.com".into();
        form.username = "ADA".into();
        assert_eq!(
            sign_up(&db, &form, ALL_OPTIONAL, &SignUpPolicy::default(), &attempt(1)),
            Err(AccountError::Fields(vec![("username", FieldError::UsernameTaken)]))
        );
    }

    #[test]
    fn sign_up_with_a_taken_email_behaves_like_sign_in() {
        let db = MemoryDb::new();
        sign_up(
            &db,
            &input("a@example.com", "long enough"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        )
        .unwrap();
        assert_eq!(
            sign_up(
                &db,
                &input("A@example.com", "another password"),
                ALL_OPTIONAL,
                &SignUpPolicy::default(),
                &attempt(1)
            ),
            Err(AccountError::Credentials(SignInError::BadCredentials))
        );
        assert!(matches!(
            sign_up(
                &db,
                &input("a@example.com", "long enough"),
                ALL_OPTIONAL,
                &SignUpPolicy::default(),
                &attempt(2)
            ),
            Ok(SignedUp::ExistingAccount(_))
        ));
    }

    #[test]
    fn lockout_applies_to_known_and_unknown_identifiers_alike() {
        let db = MemoryDb::new();
        sign_up(
            &db,
            &input("a@example.com", "long enough"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        )
        .unwrap();
        for identifier in ["a@example.com", "ghost@example.com"] {
            let mut other_addr = attempt(10);
            for i in 0..3 {
                other_addr.client_addr = ["1.1.1.1:1", "2.2.2.2:1", "3.3.3.3:1"][i];
                assert_eq!(
                    sign_in(&db, identifier, "wrong", &other_addr),
                    Err(SignInError::BadCredentials)
                );
            }
            other_addr.client_addr = "4.4.4.4:1";
            assert_eq!(
                sign_in(&db, identifier, "long enough", &other_addr),
                Err(SignInError::Locked { until: 310 })
            );
        }
        let mut later = attempt(311);
        later.client_addr = "5.5.5.5:1";
        assert!(sign_in(&db, "a@example.com", "long enough", &later).is_ok());
    }

    #[test]
    fn lockout_per_client_address_stops_password_spraying() {
        let db = MemoryDb::new();
        // The address's own threshold (here 3; 50 by default) counts failures across accounts.
        let spraying = |now: i64| {
            let mut a = attempt(now);
            a.policy.address_max_failures = 3;
            a
        };
        for (i, identifier) in ["u1@example.com", "u2@example.com", "u3@example.com"]
            .iter()
            .enumerate()
        {
            assert_eq!(
                sign_in(&db, identifier, "wrong", &spraying(i as i64)),
                Err(SignInError::BadCredentials)
            );
        }
        assert!(matches!(
            sign_in(&db, "u4@example.com", "x", &spraying(5)),
            Err(SignInError::Locked { .. })
        ));
    }

    #[test]
    fn one_persons_typos_do_not_lock_out_colleagues_on_the_same_network() {
        let db = MemoryDb::new();
        sign_up(
            &db,
            &input("bea@example.com", "long enough"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        )
        .unwrap();
        // Ada locks her own account (3 failures) from the office's one address...
        for now in 1..=4 {
            let _ = sign_in(&db, "ada@example.com", "wrong", &attempt(now));
        }
        assert!(matches!(
            sign_in(&db, "ada@example.com", "wrong", &attempt(5)),
            Err(SignInError::Locked { .. })
        ));
        // ...and Bea, behind the same address, signs in at her first try.
        assert!(sign_in(&db, "bea@example.com", "long enough", &attempt(6)).is_ok());
    }

    #[test]
    fn success_clears_the_account_failures() {
        let db = MemoryDb::new();
        sign_up(
            &db,
            &input("a@example.com", "long enough"),
            ALL_OPTIONAL,
            &SignUpPolicy::default(),
            &attempt(0),
        )
        .unwrap();
        let mut a = attempt(1);
        for addr in ["1.1.1.1:1", "2.2.2.2:1"] {
            a.client_addr = addr;
            let _ = sign_in(&db, "a@example.com", "wrong", &a);
        }
        a.client_addr = "3.3.3.3:1";
        sign_in(&db, "a@example.com", "long enough", &a).unwrap();
        a.client_addr = "4.4.4.4:1";
        let _ = sign_in(&db, "a@example.com", "wrong", &a);
        a.client_addr = "5.5.5.5:1";
        assert!(sign_in(&db, "a@example.com", "long enough", &a).is_ok());
    }
}
