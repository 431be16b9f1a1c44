//! Changes a signed-in person makes to their own account, as plain functions over the store.
//! Sensitive changes (email, password, deletion) re-check the current password with the
//! sign-in lockout; a password change ends every other session of the user.

use super::accounts::{self, AccountError, Attempt, parse_attribute};
use super::auth::reauth::Reauthentication;
use super::organizations;
use super::webhooks;
use crate::config::SignUpFields;
use crate::domain::{
    EmailAddress, FieldError, FieldErrors, FieldProblem, PersonName, PhoneNumber, SessionId, UserId, Username, optional,
};
use crate::security::lockout;
use crate::security::password;
use crate::store::users::{self, User};
use crate::store::{Db, DbError, attempts, sessions, transaction};

/// The English words that confirm deleting an account. They are accepted beside the phrase in
/// the visitor's language, so a post whose language changed since the page was drawn (another
/// `Accept-Language`) still goes through.
pub const DELETE_CONFIRMATION: &str = "delete my account";

/// Whether `typed` is the phrase the visitor was shown, or the English one (spaces around and
/// letter case do not matter: this guards against accidents, not attackers).
fn confirms_deletion(typed: &str, shown_phrase: &str) -> bool {
    let typed = typed.trim().to_lowercase();
    typed == shown_phrase.to_lowercase() || typed == DELETE_CONFIRMATION
}

fn field(name: &'static str, problem: FieldProblem) -> AccountError {
    AccountError::Fields(vec![(name, FieldError::Field(problem))])
}

/// A stored value back in its type (it was valid when stored).
pub(crate) fn stored<T>(value: &Option<String>, parse: fn(&str) -> Result<T, FieldProblem>) -> Option<T> {
    value.as_deref().and_then(|text| parse(text).ok())
}

/// Names and username, with the same rules as sign-up. Fields the operator turned off keep
/// their stored value.
pub fn update_profile(
    db: &dyn Db,
    user: &User,
    first_name: &str,
    last_name: &str,
    username: &str,
    fields: SignUpFields,
    now: i64,
) -> Result<(), AccountError> {
    let mut errors = FieldErrors::new();
    let first = parse_attribute(
        &mut errors,
        "first_name",
        fields.first_name,
        first_name,
        PersonName::parse,
    );
    let last = parse_attribute(&mut errors, "last_name", fields.last_name, last_name, PersonName::parse);
    let name = parse_attribute(&mut errors, "username", fields.username, username, Username::parse);
    if !errors.is_empty() {
        return Err(AccountError::Fields(errors));
    }
    // Fields the operator turned off keep what is stored.
    let first = if fields.first_name.is_shown() {
        first
    } else {
        stored(&user.first_name, PersonName::parse)
    };
    let last = if fields.last_name.is_shown() {
        last
    } else {
        stored(&user.last_name, PersonName::parse)
    };
    let name = if fields.username.is_shown() {
        name
    } else {
        stored(&user.username, Username::parse)
    };
    webhooks::atomically(db, || {
        users::update_profile(db, &user.id, first.as_ref(), last.as_ref(), name.as_ref(), now)?;
        let changed = User {
            first_name: first.as_ref().map(|name| name.as_str().to_owned()),
            last_name: last.as_ref().map(|name| name.as_str().to_owned()),
            username: name.as_ref().map(|name| name.as_str().to_owned()),
            ..user.clone()
        };
        webhooks::user_updated(db, &changed, now)?;
        Ok::<_, AccountError>(())
    })
}

/// What an email change came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChange {
    /// Stored at once (no email can be sent to prove the new address): unverified.
    Changed,
    /// A code must reach the new address first. `taken`: another account has it, so the flow is
    /// a decoy (the requester is not told; no code works).
    Confirm { email: EmailAddress, taken: bool },
}

/// A new email address, after the current password. With `confirm_by_code`, nothing changes
/// until a code sent to the new address is entered.
pub fn change_email(
    db: &dyn Db,
    user: &User,
    new_email: &str,
    reauth: Reauthentication<'_>,
    attempt: &Attempt<'_>,
    confirm_by_code: bool,
) -> Result<EmailChange, AccountError> {
    let email = EmailAddress::parse(new_email).map_err(|problem| field("email_address", problem))?;
    // The re-authentication comes first, so that only the account's owner learns whether an
    // address is taken (a stolen session alone cannot probe for accounts); the UNIQUE
    // constraint decides.
    reauth.check(db, user, attempt)?;
    if confirm_by_code {
        let taken = users::find_user_by_email(db, &email)?.is_some_and(|other| other.id != user.id);
        return Ok(EmailChange::Confirm { email, taken });
    }
    transaction(db, || -> Result<(), AccountError> {
        users::update_email(db, &user.id, &email, None, attempt.now)?;
        crate::service::email::end_flows(db, &user.id, user.email.as_str(), attempt.now)?;
        let changed = User {
            email: email.clone(),
            email_verified_at: None,
            ..user.clone()
        };
        webhooks::user_updated(db, &changed, attempt.now)?;
        Ok(())
    })?;
    Ok(EmailChange::Changed)
}

/// Adds or changes the phone number; an empty value removes it. Returns the stored number.
pub fn change_phone_number(
    db: &dyn Db,
    user: &User,
    phone: &str,
    now: i64,
) -> Result<Option<PhoneNumber>, AccountError> {
    let phone = optional(phone, false, PhoneNumber::parse).map_err(|problem| field("phone_number", problem))?;
    webhooks::atomically(db, || {
        users::update_phone_number(db, &user.id, phone.as_ref(), now)?;
        let changed = User {
            phone_number: phone.as_ref().map(|phone| phone.as_str().to_owned()),
            ..user.clone()
        };
        webhooks::user_updated(db, &changed, now)
    })?;
    Ok(phone)
}

/// A new password, after the current one. Every other session of the user ends, so a thief
/// holding one is logged out; `keep_session` (the one making the change) stays.
pub fn change_password(
    db: &dyn Db,
    user: &User,
    keep_session: &SessionId,
    reauth: Reauthentication<'_>,
    new_password: &str,
    min_password_chars: usize,
    attempt: &Attempt<'_>,
) -> Result<(), AccountError> {
    if matches!(reauth, Reauthentication::Password("")) {
        return Err(field("current_password", FieldProblem::Required));
    }
    let username = user.username.as_ref().map_or("", |name| name.as_str());
    password::check_new_password(new_password, &[user.email.as_str(), username], min_password_chars)
        .map_err(|problem| AccountError::Fields(vec![("new_password", FieldError::Password(problem))]))?;
    reauth.check(db, user, attempt)?;
    // The new password's hash is an Argon2 run like any other: it counts against the rate.
    let hash = accounts::admit_and_hash(db, new_password, attempt)?;
    transaction(db, || {
        users::update_password_hash(db, &user.id, &hash, attempt.now)?;
        crate::service::email::end_flows(db, &user.id, user.email.as_str(), attempt.now)?;
        let ended = sessions::delete_other_sessions(db, &user.id, keep_session)?;
        webhooks::sessions_ended(db, user.id.as_str(), &ended, "password_changed", attempt.now)?;
        if !user.has_password() {
            // A passwordless account now has one (`password_enabled`).
            let changed = User {
                password_hash: hash.clone(),
                ..user.clone()
            };
            webhooks::user_updated(db, &changed, attempt.now)?;
        }
        Ok::<_, DbError>(())
    })?;
    Ok(())
}

/// Deletes the account and everything that belongs to it, in one transaction.
pub fn delete_account(
    db: &dyn Db,
    user: &User,
    confirmation: &str,
    shown_phrase: &str,
    reauth: Reauthentication<'_>,
    attempt: &Attempt<'_>,
) -> Result<(), AccountError> {
    if !confirms_deletion(confirmation, shown_phrase) {
        return Err(AccountError::Fields(vec![(
            "confirmation",
            FieldError::ConfirmationMismatch,
        )]));
    }
    reauth.check(db, user, attempt)?;
    transaction(db, || {
        if !organizations::organizations_blocking_deletion(db, &user.id)?.is_empty() {
            return Err(AccountError::Fields(vec![(
                "confirmation",
                FieldError::LastAdminOfOrganization,
            )]));
        }
        delete_user_rows(db, &user.id, attempt.now)?;
        Ok(())
    })
}

/// Every row that belongs to a user, and the events of the deletion. Runs inside the caller's
/// transaction.
pub(crate) fn delete_user_rows(db: &dyn Db, user_id: &UserId, now: i64) -> Result<(), DbError> {
    organizations::remove_user_everywhere(db, user_id, now)?;
    let ended = sessions::delete_user_sessions(db, user_id)?;
    webhooks::user_deleted(db, user_id.as_str(), &ended, now)?;
    // SQLite enforces no foreign keys here, so nothing cascades: every factor goes explicitly.
    crate::store::factors::delete_second_factors(db, user_id)?;
    crate::store::passkeys::delete_all(db, user_id)?;
    crate::store::identities::delete_all(db, user_id)?;
    attempts::clear_scope(db, &lockout::account_scope(Some(user_id), ""))?;
    users::delete_user(db, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FieldMode;
    use crate::security::sign_up_policy::SignUpPolicy;
    use crate::service::accounts::{SignUpInput, SignedUp, sign_up};
    use crate::store::sessions::{SessionOrigin, create_session, list_user_sessions};
    use crate::testing::{ALL_OPTIONAL as FIELDS, MemoryDb, attempt_from};

    fn attempt(now: i64) -> Attempt<'static> {
        attempt_from("10.0.0.1:1", now)
    }

    fn session(id: &str) -> SessionId {
        SessionId::from_stored(id.into())
    }

    fn setup(email: &str) -> (MemoryDb, User) {
        let db = MemoryDb::new();
        let input = SignUpInput {
            email_address: email.into(),
            password: "old password".into(),
            ..Default::default()
        };
        let Ok(SignedUp::Created(user)) = sign_up(&db, &input, FIELDS, &SignUpPolicy::default(), &attempt(0)) else {
            panic!()
        };
        (db, user)
    }

    #[test]
    fn profile_update_validates_and_respects_turned_off_fields() {
        let (db, user) = setup("a@example.com");
        update_profile(&db, &user, "Ada", "Lovelace", "ada", FIELDS, 1).unwrap();
        let stored = users::get_user(&db, &user.id).unwrap();
        assert_eq!(stored.username.as_deref(), Some("ada"));
        let no_username = SignUpFields {
            username: FieldMode::Off,
            ..FIELDS
        };
        update_profile(&db, &stored, "Ada", "", "ignored!", no_username, 2).unwrap();
        let stored = users::get_user(&db, &user.id).unwrap();
        assert_eq!(stored.username.as_deref(), Some("ada"), "kept");
        assert_eq!(stored.last_name, None, "cleared");
        assert!(
            matches!(update_profile(&db, &stored, "A\u{0}", "", "x y", FIELDS, 3), Err(AccountError::Fields(e)) if e.len() == 2)
        );
    }

    #[test]
    fn email_change_needs_the_current_password_and_a_free_address() {
        let (db, user) = setup("a@example.com");
        assert_eq!(
            change_email(
                &db,
                &user,
                "b@example.com",
                Reauthentication::Password("wrong"),
                &attempt(1),
                false
            ),
            Err(AccountError::Fields(vec![(
                "current_password",
                FieldError::WrongPassword
            )]))
        );
        change_email(
            &db,
            &user,
            "B@example.com",
            Reauthentication::Password("old password"),
            &attempt(2),
            false,
        )
        .unwrap();
        assert_eq!(users::get_user(&db, &user.id).unwrap().email.as_str(), "b@example.com");
    }

    #[test]
    fn password_change_ends_other_sessions() {
        let (db, user) = setup("a@example.com");
        let origin = SessionOrigin {
            client_addr: None,
            user_agent: None,
            amr: "pwd",
            first_factor_at: 0,
            second_factor_at: None,
        };
        create_session(&db, &session("sess_keep"), &[1; 32], &user.id, &origin, 0, 100).unwrap();
        create_session(&db, &session("sess_other"), &[2; 32], &user.id, &origin, 0, 100).unwrap();
        assert!(matches!(
            change_password(
                &db,
                &user,
                &session("sess_keep"),
                Reauthentication::Password("old password"),
                "short",
                0,
                &attempt(1)
            ),
            Err(AccountError::Fields(_))
        ));
        change_password(
            &db,
            &user,
            &session("sess_keep"),
            Reauthentication::Password("old password"),
            "new password!",
            0,
            &attempt(2),
        )
        .unwrap();
        let left: Vec<String> = list_user_sessions(&db, &user.id, 3)
            .unwrap()
            .into_iter()
            .map(|s| s.id.to_string())
            .collect();
        assert_eq!(left, ["sess_keep"]);
        assert!(accounts::sign_in(&db, "a@example.com", "new password!", &attempt(4)).is_ok());
    }

    #[test]
    fn delete_account_removes_every_row_of_the_user() {
        let (db, user) = setup("a@example.com");
        let origin = SessionOrigin {
            client_addr: None,
            user_agent: None,
            amr: "pwd",
            first_factor_at: 0,
            second_factor_at: None,
        };
        create_session(&db, &session("sess_1"), &[1; 32], &user.id, &origin, 0, 100).unwrap();
        assert!(matches!(
            delete_account(
                &db,
                &user,
                "delete it",
                "konto löschen",
                Reauthentication::Password("old password"),
                &attempt(1)
            ),
            Err(AccountError::Fields(_))
        ));
        delete_account(
            &db,
            &user,
            " Mein Konto LÖSCHEN ",
            "mein Konto löschen",
            Reauthentication::Password("old password"),
            &attempt(2),
        )
        .unwrap();
        assert_eq!(users::find_user_by_id(&db, &user.id).unwrap(), None);
        assert!(list_user_sessions(&db, &user.id, 3).unwrap().is_empty());
    }

    #[test]
    fn deletion_is_confirmed_by_the_shown_phrase_or_the_english_one_only() {
        assert!(confirms_deletion("アカウントを削除", "アカウントを削除"));
        assert!(confirms_deletion("Delete my account", "eliminar mi cuenta"));
        assert!(!confirms_deletion("", "eliminar mi cuenta"));
        assert!(!confirms_deletion("eliminar", "eliminar mi cuenta"));
        assert!(!confirms_deletion("supprimer mon compte", "eliminar mi cuenta"));
    }
}
