//! The breached-password check every new password passes (sign-up, joining from an invitation,
//! a change on `/user`, a reset, a user created by the Backend API with a password), asking the
//! range API (`security::breach`) with a 2-second limit. A breached password is a field problem
//! at the password; a service that cannot be asked lets the password through and logs it,
//! unless the operator chose to fail closed.

use std::time::Duration;

use super::Ctx;
use crate::config::BreachMode;
use crate::domain::FieldError;
use crate::error::{FormProblem, PortalError};
use crate::outbound::Timeout;
use crate::security::breach;
use crate::security::password::PasswordProblem;

/// How long the range API may take before the portal goes on without it.
pub const LIMIT: Duration = Duration::from_secs(2);

/// Checks `password` (posted as `field`) against known breaches.
pub fn check_not_breached(ctx: &Ctx<'_>, password: &str, field: &'static str) -> Result<(), PortalError> {
    if refuses(ctx, password) {
        return Err(breached(field));
    }
    Ok(())
}

/// The field problem of a refused password.
fn breached(field: &'static str) -> PortalError {
    FormProblem::fields(vec![(field, FieldError::Password(PasswordProblem::Breached))]).into()
}

/// Whether the breach check refuses `password`, with the operator's mode (`block`, `warn`,
/// `off`) and failure policy applied.
fn refuses(ctx: &Ctx<'_>, password: &str) -> bool {
    let check = ctx.settings.breach_check();
    if check.mode == BreachMode::Off || password.is_empty() {
        return false;
    }
    let (prefix, suffix) = breach::split_hash(password);
    let seen = breach::range_request(&check.api_origin, &prefix)
        .ok_or_else(|| "the range request could not be built".to_owned())
        .and_then(|mut request| {
            request.extensions_mut().insert(Timeout(LIMIT));
            let response = ctx.http.send(request).map_err(|error| error.to_string())?;
            if response.status() != 200 {
                return Err(format!("status {}", response.status()));
            }
            let body = String::from_utf8(response.into_body()).map_err(|_| "not UTF-8".to_owned())?;
            breach::times_seen(&body, &suffix).ok_or_else(|| "not a range answer".to_owned())
        });
    match seen {
        Ok(0) => false,
        Ok(times) if check.mode == BreachMode::Warn => {
            eprintln!(
                "password: a new password seen {times} times in breaches was accepted (password_breach_check = warn)"
            );
            false
        }
        Ok(_) => true,
        Err(problem) if check.fail_closed => {
            eprintln!("password: the breach check failed ({problem}); refused (password_breach_fail_closed)");
            true
        }
        Err(problem) => {
            eprintln!("password: the breach check failed ({problem}); the password was accepted unchecked");
            false
        }
    }
}

/// The breach check of a new `password` (posted as `field`) of an account known by
/// `identities`, once the cheap rules pass: a password they refuse costs no request, and the
/// rules report their own problem.
pub fn check_if_valid(
    ctx: &Ctx<'_>,
    password: &str,
    identities: &[&str],
    field: &'static str,
) -> Result<(), PortalError> {
    if refuses_if_valid(ctx, password, identities) {
        return Err(breached(field));
    }
    Ok(())
}

/// Whether a new `password` of an account known by `identities` passes the cheap rules and is
/// then refused by the breach check (the Backend API's user creation asks this; the rules
/// report their own problems).
pub fn refuses_if_valid(ctx: &Ctx<'_>, password: &str, identities: &[&str]) -> bool {
    let min_chars = ctx.settings.password_min_length();
    crate::security::password::check_new_password(password, identities, min_chars).is_ok() && refuses(ctx, password)
}

/// [`check_if_valid`] for a sign-up's password.
pub fn check_sign_up(ctx: &Ctx<'_>, input: &crate::service::accounts::SignUpInput) -> Result<(), PortalError> {
    let identities = [input.email_address.as_str(), input.username.as_str()];
    check_if_valid(ctx, &input.password, &identities, "password")
}
