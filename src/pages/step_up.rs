//! Step-up before a sensitive change (`service::auth::reauth`): when the visitor's strongest
//! factor was not verified in the last ten minutes, the change's own post answers with this page
//! instead. It asks for that factor and carries the change's form fields along; once the factor
//! is right, `POST /user/verify` answers `307`, so the browser posts the same form to the
//! change again, which then goes through: the change asked for is carried out, with JavaScript
//! or without.

use http::StatusCode;
use maud::html;

use super::Ctx;
use super::render::{Page, PageResult, temporary_redirect};
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::security::password::MAX_PASSWORD_CHARS;
use crate::service::accounts::SignInError;
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
];

/// Fields of a step-up form that are not the change's own.
const OWN_FIELDS: &[&str] = &["csrf_token", "then", "step_up_code", "step_up_password"];

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

/// How the change posted as `form` is re-authenticated: an account with an authenticator app by
/// its recent verification (the guard made sure of it; its forms ask for no password), any other
/// by the current password its form asks for.
pub fn reauthentication<'f>(ctx: &Ctx<'_>, visitor: &Visitor, form: &'f Params) -> Reauthentication<'f> {
    let app_proven = reauth::strongest_factor(visitor) == Factor::Totp && reauth::is_recent(visitor, ctx.now());
    match visitor.session.second_factor_at {
        Some(at) if app_proven => Reauthentication::Proven(Reauthenticated(Verified {
            factor: Factor::Totp,
            at,
        })),
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

fn page(ctx: &Ctx<'_>, visitor: &Visitor, form: &Params, action: &str, problem: Option<&FormProblem>) -> PageResult {
    let strings = ctx.strings;
    let two_step = strings.two_step();
    let factor = reauth::strongest_factor(visitor);
    let (lead, field) = match factor {
        Factor::Password => (
            two_step.step_up_password_lead,
            Field::new(
                "step_up_password",
                strings.current_password_label,
                "password",
                "current-password",
            )
            .max_length(MAX_PASSWORD_CHARS),
        ),
        _ => (
            two_step.step_up_code_lead,
            Field::new("step_up_code", two_step.app_code_label, "text", "one-time-code").max_length(16),
        ),
    };
    let error = problem.map(|_| match factor {
        Factor::Password => strings.message(Msg::BadCredentials),
        _ => two_step.code_wrong,
    });
    let content = html! {
        div.card {
            h1 { (two_step.step_up_title) }
            p.lead { (lead) }
            (super::parts::error_summary(ctx, problem, |name| format!("field-{name}")))
            form method="post" action="/user/verify" novalidate {
                (ctx.csrf_field()?)
                (views::hidden("then", action))
                @for (name, value) in form.pairs().filter(|(name, _)| !OWN_FIELDS.contains(name)) {
                    (views::hidden(name, value))
                }
                (field.error(error).required(true).render(strings))
                button type="submit" { (two_step.continue_button) }
            }
            p.alternate { a href="/user" { (strings.go_to_account) } }
        }
    };
    Ok(Page::new(ctx, two_step.step_up_title).problem(problem).render(content))
}
