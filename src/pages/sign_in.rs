//! `/sign-in`: email address or username plus password.

use http::{StatusCode, header};
use maud::html;

use super::{Ctx, PageResult, allow_form_target, link_keeping_redirect, prefill, signed_in};
use crate::accounts::{self, Attempt, SignInError};
use crate::error::PortalError;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::views::{self, Field};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = ctx.choose_redirect(Flow::SignIn);
    if let Some(visitor) = ctx.signed_in()? {
        return signed_in::resume(ctx, visitor, &choice.target);
    }
    let identifier = prefill(ctx, "email_address", 254)
        .or_else(|| prefill(ctx, "username", 64))
        .unwrap_or_default();
    render(ctx, StatusCode::OK, &choice.target, Some(&choice), identifier, None)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let target = ctx.redirect_from_form(Flow::SignIn, &form)?;
    let identifier = form.text("identifier").trim();
    let password = form.text("password");
    let strings = ctx.strings;
    if identifier.is_empty() || password.is_empty() {
        return render(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &target,
            None,
            identifier,
            Some(strings.missing_credentials),
        );
    }
    let attempt = Attempt {
        client_addr: ctx.client_addr(),
        policy: ctx.settings.limits.lock_policy(),
        now: ctx.now(),
    };
    match accounts::sign_in(ctx.db()?, identifier, password, &attempt) {
        Ok(user) => signed_in::start_session(ctx, &user, &target),
        Err(error) => credentials_error(ctx, error, |status, message| {
            render(ctx, status, &target, None, identifier, Some(message))
        }),
    }
}

/// How a failed credential check is shown: the same status and message whether or not the
/// account exists.
pub struct CredentialsFailure {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<i64>,
}

impl CredentialsFailure {
    pub fn from_error(ctx: &Ctx<'_>, error: SignInError) -> Result<Self, PortalError> {
        match error {
            SignInError::BadCredentials => Ok(Self {
                status: StatusCode::UNAUTHORIZED,
                message: ctx.strings.bad_credentials.to_owned(),
                retry_after: None,
            }),
            SignInError::Locked { until } => {
                let seconds = (until - ctx.now()).max(1);
                let minutes = (seconds + 59) / 60;
                Ok(Self {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    message: ctx.strings.locked_out.replace("{minutes}", &minutes.to_string()),
                    retry_after: Some(seconds),
                })
            }
            SignInError::Db(error) => Err(error.into()),
            SignInError::Internal(detail) => Err(PortalError::Internal(detail)),
        }
    }

    /// Adds `Retry-After` to the page that shows this failure.
    pub fn apply(&self, response: &mut http::Response<Vec<u8>>) {
        if let Some(value) = self
            .retry_after
            .and_then(|s| http::HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
}

/// Turns a failed credential check into the page `render` draws.
pub fn credentials_error(
    ctx: &Ctx<'_>,
    error: SignInError,
    render: impl FnOnce(StatusCode, &str) -> PageResult,
) -> PageResult {
    let failure = CredentialsFailure::from_error(ctx, error)?;
    let mut response = render(failure.status, &failure.message)?;
    failure.apply(&mut response);
    Ok(response)
}

fn render(
    ctx: &Ctx<'_>,
    status: StatusCode,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    identifier: &str,
    error: Option<&str>,
) -> PageResult {
    let strings = ctx.strings;
    let content = html! {
        div.card {
            h1 { (strings.sign_in_title) }
            p.lead { (strings.sign_in_lead) }
            (views::form_error(error))
            form method="post" action="/sign-in" novalidate {
                (ctx.csrf_field()?)
                (ctx.sealed_redirect_field(Flow::SignIn, target)?)
                (Field::new("identifier", strings.identifier_label, "text", "username")
                    .value(identifier).required(true).max_length(254).render(strings))
                (Field::new("password", strings.password_label, "password", "current-password")
                    .required(true).max_length(256).render(strings))
                button type="submit" { (strings.sign_in_button) }
            }
            p.alternate {
                (strings.no_account) " "
                a href=(link_keeping_redirect(ctx, "/sign-up")) { (strings.sign_up_link) }
            }
        }
    };
    let mut response = ctx.render_with(status, strings.sign_in_title, false, choice, None, content);
    allow_form_target(&mut response, target);
    Ok(response)
}
