//! `/sign-in`: email address or username plus password.

use crate::service::auth::Factor;
use http::StatusCode;
use maud::html;

use super::parts::{FormCard, alternate_link, invited_email, prefill};
use super::redirects::{self, link_keeping_redirect};
use super::render::{PageResult, or_show_form};
use super::{Ctx, auth, mail, oauth, passkeys};
use crate::domain::{EmailAddress, Username};
use crate::error::FormProblem;
use crate::form::Params;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::security::password::MAX_PASSWORD_CHARS;
use crate::service::accounts;
use crate::service::email::Purpose;
use crate::views::{Field, Msg};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = redirects::choose(ctx, Flow::SignIn);
    if let Some(visitor) = ctx.signed_in()? {
        return auth::resume(ctx, visitor, &choice.target);
    }
    // The invitation is looked up only when the app prefilled nothing: it costs statements.
    let identifier = match prefill(ctx, "email_address", EmailAddress::MAX_LEN)
        .or_else(|| prefill(ctx, "username", Username::MAX_LEN))
    {
        Some(prefilled) => prefilled.to_owned(),
        None => invited_email(ctx)?.unwrap_or_default(),
    };
    render(ctx, &choice.target, Some(&choice), &identifier, None)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let target = redirects::from_form(ctx, Flow::SignIn, &form)?;
    let identifier = form.text("identifier").trim();
    let signed_in = ctx
        .check_form(&form)
        .and_then(|()| sign_in(ctx, &form, identifier, &target));
    or_show_form(signed_in, |problem| {
        render(ctx, &target, None, identifier, Some(&problem))
    })
}

/// `/sign-in/code`: "Email me a sign-in code" (when `sign_in_with_email_code` is on). The same
/// answer whether or not the address has an account; lockout and the flood limits apply.
pub fn submit_code(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let target = redirects::from_form(ctx, Flow::SignIn, &form)?;
    let identifier = form.text("identifier").trim();
    let started = ctx.check_form(&form).and_then(|()| {
        if !ctx.settings.sign_in_with_email_code() {
            return Err(crate::error::PortalError::NotFound);
        }
        mail::start_for_address(ctx, identifier, &target, Purpose::SignIn)
    });
    or_show_form(started, |problem| {
        render(ctx, &target, None, identifier, Some(&problem))
    })
}

/// `/sign-in/passkey`: the passkey form of the sign-in page (its button or autofill); a refused
/// passkey shows the sign-in page again saying why.
pub fn submit_passkey(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let target = redirects::from_form(ctx, Flow::SignIn, &form)?;
    let signed_in = ctx
        .check_form(&form)
        .and_then(|()| passkeys::sign_in(ctx, &form, &target.location()));
    or_show_form(signed_in, |problem| render(ctx, &target, None, "", Some(&problem)))
}

/// Checks the credentials (one Argon2 run, lockout) and starts the session.
fn sign_in(ctx: &Ctx<'_>, form: &Params, identifier: &str, target: &RedirectTarget) -> PageResult {
    let password = form.text("password");
    if identifier.is_empty() || password.is_empty() {
        return Err(FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::MissingCredentials).into());
    }
    let user = accounts::sign_in(ctx.db()?, identifier, password, &ctx.attempt())?;
    auth::first_factor(ctx, &user, Factor::Password, &target.location())
}

fn render(
    ctx: &Ctx<'_>,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    identifier: &str,
    problem: Option<&FormProblem>,
) -> PageResult {
    let strings = ctx.strings();
    let card = FormCard {
        title: strings.sign_in_title,
        lead: strings.sign_in_lead,
        action: &link_keeping_redirect(ctx, "/sign-in"),
        flow: Flow::SignIn,
        target,
        choice,
        problem,
        bot_check: false,
    };
    let fields = html! {
        // `webauthn`: the browser may offer passkeys among the field's suggestions (autofill).
        (Field::new("identifier", strings.identifier_label, "text", "username webauthn")
            .value(identifier).required(true).max_length(EmailAddress::MAX_LEN).render(strings))
        (Field::new("password", strings.password_label, "password", "current-password")
            .required(true).max_length(MAX_PASSWORD_CHARS).render(strings))
        button type="submit" { (strings.sign_in_button) }
        @if ctx.settings.sign_in_with_email_code() {
            button.secondary type="submit" formaction=(link_keeping_redirect(ctx, "/sign-in/code")) formnovalidate {
                (strings.email_code_button)
            }
        }
    };
    let after = html! {
        (oauth::buttons(ctx))
        // After a problem, no autofill: a refused passkey the browser offers again would loop.
        form.passkey method="post" action=(link_keeping_redirect(ctx, "/sign-in/passkey")) data-passkey="get"
            data-autofill[problem.is_none()] hidden novalidate {
            (ctx.form_fields(Flow::SignIn, target)?)
            (passkeys::get_form_parts(ctx, strings.passkey_sign_in_button))
        }
        p.alternate { a href=(link_keeping_redirect(ctx, "/forgot-password")) { (strings.forgot_password_link) } }
        (alternate_link(ctx, strings.no_account, strings.sign_up_link, "/sign-up"))
    };
    card.render(ctx, fields, after)
}
