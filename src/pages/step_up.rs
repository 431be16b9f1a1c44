//! Step-up before a sensitive change (`service::auth::reauth`): when the visitor's strongest
//! factor was not verified in the last ten minutes, the change's own post answers with this page
//! instead. It asks for that factor and carries the change's form fields along; once the factor
//! is right, `POST /user/verify` answers `307`, so the browser posts the same form to the
//! change again, which then goes through: the change asked for is carried out, with JavaScript
//! or without.

use http::StatusCode;
use maud::html;

use super::render::{Page, PageResult, temporary_redirect};
use super::{Ctx, passkeys};
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::security::password::MAX_PASSWORD_CHARS;
use crate::service::accounts::SignInError;
use crate::service::auth::passkeys as passkey_rules;
use crate::service::auth::reauth::{self, Reauthenticated, Reauthentication, Reproof};
use crate::service::auth::{Factor, Verified};
use crate::service::sessions::Visitor;
use crate::views::{self, Field, Msg};

/// The changes a step-up may send the browser back to (the `307` goes nowhere else).
pub const ACTIONS: &[&str] = &[
    "/user/password",
    "/user/email",
    "/user/delete",
    "/user/two-step/disable",
    "/user/two-step/backup-codes",
    "/organization/delete",
    "/user/passkeys/new",
    "/user/passkeys/remove",
    "/user/password/remove",
    "/user/connections/connect",
    "/user/connections/disconnect",
];

/// Fields of a step-up form that are not the change's own.
const OWN_FIELDS: &[&str] = &[
    "csrf_token",
    "then",
    "step_up_code",
    "step_up_password",
    "passkey_flow",
    "passkey_credential",
];

/// `None` when the visitor may make the change posted as `form` to `action` now: their strongest
/// factor is recent, or the form itself re-checks their password (`checks_password`) and they
/// have no authenticator app. Otherwise the step-up page.
pub fn guard(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    form: &Params,
    action: &'static str,
    checks_password: bool,
) -> Option<PageResult> {
    let password_suffices = checks_password && reauth::strongest_factor(visitor) == Factor::Password;
    if password_suffices || reauth::is_recent(visitor, ctx.now()) {
        return None;
    }
    Some(page(ctx, visitor, form, action, None))
}

/// How the change posted as `form` is re-authenticated: an account with an authenticator app or
/// without a password by its recent verification (the guard made sure of it; its forms ask for
/// no password), any other by the current password its form asks for.
pub fn reauthentication<'f>(ctx: &Ctx<'_>, visitor: &Visitor, form: &'f Params) -> Reauthentication<'f> {
    let strongest = reauth::strongest_factor(visitor);
    let proven = strongest != Factor::Password && reauth::is_recent(visitor, ctx.now());
    match reauth::verified_at(visitor, strongest) {
        Some(at) if proven => Reauthentication::Proven(Reauthenticated(Verified { factor: strongest, at })),
        _ => Reauthentication::Password(form.text("current_password")),
    }
}

/// `POST /user/verify`: the factor, then back to the change with a `307`.
pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    let action = ACTIONS
        .iter()
        .copied()
        .find(|action| *action == form.text("then"))
        .ok_or(PortalError::BadRequest(Msg::FormExpired))?;
    if form.get("passkey_credential").is_some() {
        return submit_passkey(ctx, visitor, &form, action);
    }
    let proof = match reauth::strongest_factor(visitor) {
        Factor::Password => Reproof::Password(form.text("step_up_password")),
        _ => Reproof::Code(form.text("step_up_code")),
    };
    let keys = ctx.factor_keys()?;
    match reauth::reauthenticate(ctx.db()?, &keys, visitor, proof, &ctx.attempt()) {
        Ok(_) => Ok(temporary_redirect(action)),
        Err(SignInError::BadCredentials) => {
            let problem = FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::CodeWrong);
            let mut response = page(ctx, visitor, &form, action, Some(&problem))?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// A step-up with one of the visitor's own passkeys.
fn submit_passkey(ctx: &Ctx<'_>, visitor: &Visitor, form: &Params, action: &'static str) -> PageResult {
    let refused = |problem: FormProblem| -> PageResult {
        let mut response = page(ctx, visitor, form, action, Some(&problem))?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(response)
    };
    let Some((flow, response)) = passkeys::posted_sign_in(form) else {
        return refused(FormProblem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Msg::PasskeyCancelled,
        ));
    };
    let rp = passkeys::Rp::of(ctx)?;
    let db = ctx.db()?;
    let verified = passkey_rules::verify(
        db,
        &rp.as_relying_party(),
        &flow,
        &response,
        ctx.csrf_cookie_value(),
        Some(&visitor.user.id),
        ctx.now(),
    )?;
    let used = match verified {
        Ok(used) => used,
        Err(refusal) => return refused(passkeys::refusal(refusal)),
    };
    match reauth::with_passkey(db, visitor, &used, ctx.now()) {
        Ok(_) => Ok(temporary_redirect(action)),
        Err(SignInError::BadCredentials) => {
            refused(FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::PasskeyRejected))
        }
        Err(other) => Err(other.into()),
    }
}

fn page(ctx: &Ctx<'_>, visitor: &Visitor, form: &Params, action: &str, problem: Option<&FormProblem>) -> PageResult {
    let strings = ctx.strings();
    let two_step = strings.two_step();
    let factor = reauth::strongest_factor(visitor);
    let passkey = ctx.strings().passkey();
    let (lead, field) = match factor {
        Factor::Passkey | Factor::SyncedPasskey => (passkey.step_up_lead, None),
        Factor::Federated => ("", None),
        Factor::Password => (
            two_step.step_up_password_lead,
            Some(
                Field::new(
                    "step_up_password",
                    strings.account().current_password_label,
                    "password",
                    "current-password",
                )
                .max_length(MAX_PASSWORD_CHARS),
            ),
        ),
        _ => (
            two_step.step_up_code_lead,
            Some(Field::new("step_up_code", two_step.app_code_label, "text", "one-time-code").max_length(16)),
        ),
    };
    // A passkey's own failure is said above, not at the code or password field.
    let passkey_problem = problem.is_some_and(|problem| {
        matches!(
            problem.message,
            Msg::PasskeyCancelled | Msg::PasskeyExpired | Msg::PasskeyRejected | Msg::PasskeyUnknown
        )
    });
    let error = problem.filter(|_| !passkey_problem).map(|_| match factor {
        Factor::Password => strings.message(Msg::BadCredentials),
        _ => two_step.code_wrong,
    });
    let carried = html! {
        (ctx.csrf_field()?)
        (views::hidden("then", action))
        @for (name, value) in form.pairs().filter(|(name, _)| !OWN_FIELDS.contains(name)) {
            (views::hidden(name, value))
        }
    };
    let content = html! {
        div.card {
            h1 { (two_step.step_up_title) }
            @if !lead.is_empty() { p.lead { (lead) } }
            (super::parts::error_summary(ctx, problem, |name| format!("field-{name}")))
            @if let Some(field) = field {
                form method="post" action="/user/verify" novalidate {
                    (carried)
                    (field.error(error).required(true).render(strings))
                    button type="submit" { (two_step.continue_button) }
                }
            }
            @if factor == Factor::Federated {
                (super::oauth::step_up_buttons(ctx, visitor)?)
            }
            @if visitor.user.passkeys > 0 {
                form.passkey method="post" action="/user/verify" data-passkey="get" hidden novalidate {
                    (carried)
                    (passkeys::get_form_parts(ctx, passkey.step_up_button))
                }
                @if factor == Factor::Passkey {
                    p data-passkey-without { (passkey.needs_javascript) }
                }
            }
            p.alternate { a href="/user" { (strings.errors().go_to_account) } }
        }
    };
    Ok(Page::new(ctx, two_step.step_up_title).problem(problem).render(content))
}
