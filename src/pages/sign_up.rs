//! `/sign-up`: email address, password and the optional attributes the operator enabled.

use http::StatusCode;
use maud::html;

use super::{Ctx, PageResult, allow_form_target, field_error_text, link_keeping_redirect, prefill, sign_in, signed_in};
use crate::accounts::{self, Attempt, FieldError, SignUpError, SignUpInput, SignedUp};
use crate::config::FieldMode;
use crate::error::PortalError;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::views::{self, Field};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = ctx.choose_redirect(Flow::SignUp);
    if let Some(visitor) = ctx.signed_in()? {
        return signed_in::resume(ctx, visitor, &choice.target);
    }
    let value = |name: &str, max: usize| prefill(ctx, name, max).unwrap_or_default().to_owned();
    let input = SignUpInput {
        email_address: value("email_address", 254),
        phone_number: value("phone_number", 16),
        username: value("username", 64),
        first_name: value("first_name", 100),
        last_name: value("last_name", 100),
        password: String::new(),
    };
    let page = Page {
        status: StatusCode::OK,
        target: &choice.target,
        choice: Some(&choice),
        input: &input,
        errors: &[],
        message: None,
    };
    render(ctx, page)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let target = ctx.redirect_from_form(Flow::SignUp, &form)?;
    let input = SignUpInput {
        email_address: form.text("email_address").to_owned(),
        password: form.text("password").to_owned(),
        first_name: form.text("first_name").to_owned(),
        last_name: form.text("last_name").to_owned(),
        username: form.text("username").to_owned(),
        phone_number: form.text("phone_number").to_owned(),
    };
    let attempt = Attempt {
        client_addr: ctx.client_addr(),
        policy: ctx.settings.limits.lock_policy(),
        now: ctx.now(),
    };
    let page = |status, errors: &[(&'static str, FieldError)], message: Option<&str>| {
        render(
            ctx,
            Page {
                status,
                target: &target,
                choice: None,
                input: &input,
                errors,
                message,
            },
        )
    };
    match accounts::sign_up(ctx.db()?, &input, ctx.settings.sign_up_fields, &attempt) {
        Ok(SignedUp::Created(user) | SignedUp::ExistingAccount(user)) => signed_in::start_session(ctx, &user, &target),
        Err(SignUpError::Fields(errors)) => {
            page(StatusCode::UNPROCESSABLE_ENTITY, &errors, Some(ctx.strings.fix_errors))
        }
        Err(SignUpError::Credentials(error)) => {
            sign_in::credentials_error(ctx, error, |status, message| page(status, &[], Some(message)))
        }
        Err(SignUpError::Db(error)) => Err(error.into()),
        Err(SignUpError::Internal(detail)) => Err(PortalError::Internal(detail)),
    }
}

struct Page<'p> {
    status: StatusCode,
    target: &'p RedirectTarget,
    choice: Option<&'p RedirectChoice>,
    input: &'p SignUpInput,
    errors: &'p [(&'static str, FieldError)],
    message: Option<&'p str>,
}

fn render(ctx: &Ctx<'_>, page: Page<'_>) -> PageResult {
    let strings = ctx.strings;
    let fields = ctx.settings.sign_up_fields;
    let input = page.input;
    let errors = page.errors;
    let error = |name: &str| {
        errors
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(field, error)| field_error_text(strings, field, *error))
    };
    let is_required = |mode: FieldMode| mode == FieldMode::Required;
    let content = html! {
        div.card {
            h1 { (strings.sign_up_title) }
            p.lead { (strings.sign_up_lead) }
            (views::form_error(page.message))
            form method="post" action="/sign-up" novalidate {
                (ctx.csrf_field()?)
                (ctx.sealed_redirect_field(Flow::SignUp, page.target)?)
                @if fields.first_name.is_shown() || fields.last_name.is_shown() {
                    div.row {
                        @if fields.first_name.is_shown() {
                            (Field::new("first_name", strings.first_name_label, "text", "given-name")
                                .value(&input.first_name).error(error("first_name"))
                                .required(is_required(fields.first_name)).max_length(100).render(strings))
                        }
                        @if fields.last_name.is_shown() {
                            (Field::new("last_name", strings.last_name_label, "text", "family-name")
                                .value(&input.last_name).error(error("last_name"))
                                .required(is_required(fields.last_name)).max_length(100).render(strings))
                        }
                    }
                }
                @if fields.username.is_shown() {
                    (Field::new("username", strings.username_label, "text", "username")
                        .value(&input.username).error(error("username"))
                        .required(is_required(fields.username)).max_length(64)
                        .hint(strings.username_hint).render(strings))
                }
                (Field::new("email_address", strings.email_label, "email", "email")
                    .value(&input.email_address).error(error("email_address"))
                    .required(true).max_length(254).render(strings))
                @if fields.phone_number.is_shown() {
                    (Field::new("phone_number", strings.phone_label, "tel", "tel")
                        .value(&input.phone_number).error(error("phone_number"))
                        .required(is_required(fields.phone_number)).max_length(16)
                        .hint(strings.phone_hint).render(strings))
                }
                (Field::new("password", strings.password_label, "password", "new-password")
                    .error(error("password")).required(true).max_length(256)
                    .hint(strings.password_hint).render(strings))
                button type="submit" { (strings.sign_up_button) }
            }
            p.alternate {
                (strings.have_account) " "
                a href=(link_keeping_redirect(ctx, "/sign-in")) { (strings.sign_in_link) }
            }
        }
    };
    let mut response = ctx.render_with(page.status, strings.sign_up_title, false, page.choice, None, content);
    allow_form_target(&mut response, page.target);
    Ok(response)
}
