//! `/forgot-password`: an address in, a reset code out (to the account's address only), then the
//! code page asks for the code and the new password. The answer is the same whether or not the
//! address has an account.

use super::bot_check::{self, Protected};
use super::mail;
use super::parts::{EmailOnlyForm, prefill};
use super::redirects;
use super::render::{PageResult, or_show_form};
use super::{Ctx, auth};
use crate::domain::EmailAddress;
use crate::error::FormProblem;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::service::email::Purpose;

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = redirects::choose(ctx, Flow::SignIn);
    if let Some(visitor) = ctx.signed_in()? {
        return auth::resume(ctx, visitor, &choice.target);
    }
    let email = prefill(ctx, "email_address", EmailAddress::MAX_LEN)
        .unwrap_or_default()
        .to_owned();
    render(ctx, &choice.target, Some(&choice), &email, None)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let target = redirects::from_form(ctx, Flow::SignIn, &form)?;
    let typed = form.text("email_address").trim().to_owned();
    let result = ctx
        .check_form(&form)
        .and_then(|()| bot_check::check(ctx, &form, Protected::ForgotPassword))
        .and_then(|()| mail::start_for_address(ctx, &typed, &target, Purpose::Reset));
    or_show_form(result, |problem| render(ctx, &target, None, &typed, Some(&problem)))
}

fn render(
    ctx: &Ctx<'_>,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    email: &str,
    problem: Option<&FormProblem>,
) -> PageResult {
    let mail_strings = ctx.strings().mail();
    EmailOnlyForm {
        title: mail_strings.forgot_title,
        lead: mail_strings.forgot_lead,
        path: "/forgot-password",
        flow: Flow::SignIn,
        protected: Protected::ForgotPassword,
        button: mail_strings.send_code_button,
    }
    .render(ctx, target, choice, email, problem)
}
