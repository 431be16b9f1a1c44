//! `/verify`: the page where a code from an email is entered, for every code flow (verified
//! sign-up, password reset, email-code sign-in, email change, verifying an address), and
//! `/verify/resend`. A GET only shows the form (a link from the email fills the code in): mail
//! scanners that prefetch links consume nothing. The page is the same for a decoy flow (an
//! address that must not learn whether it has an account).

use crate::service::auth::Factor;
use http::StatusCode;
use maud::html;

use super::mail::{self, Email};
use super::parts::{Notice, field_error};
use super::redirects;
use super::render::{Page, PageResult, or_show_form, see_other};
use super::{Ctx, auth};
use crate::config::Delivery;
use crate::domain::FieldError;
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::redirect::{Flow, RedirectTarget};
use crate::security::codes::RESEND_COOLDOWN;
use crate::security::lockout;
use crate::security::password::{self, MAX_PASSWORD_CHARS};
use crate::service::accounts;
use crate::service::email::{self as email_rules, CodeCheck, CodeLock, Purpose, Resend};
use crate::store::email::CodeFlow;
use crate::views::{self, Field, Msg};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let flow_id = ctx.query.get("flow").unwrap_or_default();
    let Some(flow) = email_rules::live_flow(ctx.db()?, flow_id, ctx.now())? else {
        return dead_flow(ctx, flow_id);
    };
    if !email_rules::is_same_browser(&flow, ctx.csrf_cookie_value()) {
        return other_browser(ctx);
    }
    let typed = ctx
        .query
        .get("code")
        .filter(|code| code.len() <= 12 && code.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_default();
    let notice = if ctx.query.get("sent") == Some("1") {
        Some(ctx.strings().mail().code_resent.to_owned())
    } else {
        ctx.query
            .get("wait")
            .and_then(|wait| wait.parse::<i64>().ok())
            .filter(|wait| (1..=RESEND_COOLDOWN).contains(wait))
            .map(|wait| ctx.strings().mail().resend_wait.replace("{seconds}", &wait.to_string()))
    };
    render(ctx, &flow, typed, notice.as_deref(), None)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let flow_id = form.text("flow").to_owned();
    let typed = form.text("code").trim().to_owned();
    let result = ctx
        .check_form(&form)
        .and_then(|()| complete(ctx, &flow_id, &typed, &form));
    or_show_form(result, |problem| {
        match email_rules::live_flow(ctx.db()?, &flow_id, ctx.now())? {
            Some(flow) => render(ctx, &flow, &typed, None, Some(&problem)),
            None => dead(ctx),
        }
    })
}

/// `/verify/resend`: a new code (the old one dies), within the cooldown and the flood limits.
pub fn resend(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let flow_id = form.text("flow");
    let db = ctx.db()?;
    let Some(flow) = email_rules::live_flow(db, flow_id, ctx.now())? else {
        return dead(ctx);
    };
    if !email_rules::is_same_browser(&flow, ctx.csrf_cookie_value()) {
        return other_browser(ctx);
    }
    let page = mail::code_page(ctx, &flow.id);
    if flow.sent_at + RESEND_COOLDOWN > ctx.now() {
        return Ok(see_other(&format!(
            "{page}&wait={}",
            flow.sent_at + RESEND_COOLDOWN - ctx.now()
        )));
    }
    mail::admit(ctx, &flow.email)?;
    let purpose = Purpose::parse(&flow.purpose).ok_or_else(|| PortalError::Internal("unknown code purpose".into()))?;
    let sent = match email_rules::resend(db, ctx.signing_mac()?, &flow, ctx.now())? {
        Resend::TooSoon { until } => return Ok(see_other(&format!("{page}&wait={}", until - ctx.now()))),
        // As when the flow started: a decoy's resend sends nothing, so it may go after the response.
        Resend::Sent(Some(code)) => mail::send_for_flow(
            ctx,
            purpose,
            &flow.email,
            Email::Code {
                purpose,
                code: &code,
                flow_id: &flow.id,
            },
            &flow.id,
        ),
        Resend::Sent(None) if purpose == Purpose::SignUp => {
            mail::send_for_flow(ctx, purpose, &flow.email, Email::SignUpAttempt, &flow.id)
        }
        Resend::Sent(None) => Ok(()),
    };
    if let Err(error) = sent {
        email_rules::resend_failed(db, &flow.id, ctx.now())?;
        return Err(error);
    }
    Ok(see_other(&format!("{page}&sent=1")))
}

/// Checks the code and does what the flow was for, in one transaction with the code's use.
fn complete(ctx: &Ctx<'_>, flow_id: &str, typed: &str, form: &Params) -> PageResult {
    let db = ctx.db()?;
    let now = ctx.now();
    let Some(flow) = email_rules::live_flow(db, flow_id, now)? else {
        return dead(ctx);
    };
    if !email_rules::is_same_browser(&flow, ctx.csrf_cookie_value()) {
        return other_browser(ctx);
    }
    let purpose = Purpose::parse(&flow.purpose).ok_or_else(|| PortalError::Internal("unknown code purpose".into()))?;
    // Rules that need no code are checked first, so a wrong password never costs a try and a
    // right code is never spent on a form that fails. The new password is hashed only once the
    // code proved right, inside the transaction that spends it (so at most once per flow) and
    // admitted by the address's password-check rate: a flood of posts costs no Argon2 memory.
    let new_password = (purpose == Purpose::Reset).then(|| form.text("password"));
    if let Some(new_password) = new_password {
        password::check_new_password(new_password, &[&flow.email], ctx.settings.password_min_length())
            .map_err(|problem| FormProblem::fields(vec![("password", FieldError::Password(problem))]))?;
        super::passwords::check_not_breached(ctx, new_password, "password")?;
    }
    if matches!(purpose, Purpose::EmailChange | Purpose::VerifyEmail) {
        let visitor = ctx.visitor()?;
        if Some(&visitor.user.id) != flow.user_id.as_ref() {
            return Err(PortalError::Forbidden(Msg::CsrfTokenInvalid));
        }
    }
    // Wrong codes of the flows that sign someone in or reset a password count toward the same
    // lock as password sign-in, across flows and resends: the account's, or for an address
    // without one the identifier's, so a lock says nothing about who has an account.
    let account_scope = lockout::account_scope(flow.user_id.as_ref(), &flow.email);
    let lock = matches!(purpose, Purpose::SignIn | Purpose::SignUp | Purpose::Reset).then(|| CodeLock {
        scope: &account_scope,
        policy: ctx.settings.lock_policy(),
    });
    let attempt = ctx.attempt();
    let checked = email_rules::check_code(db, ctx.mac_keys()?, flow_id, typed, lock.as_ref(), now, |flow| {
        let new_password_hash = new_password
            .map(|new_password| accounts::hash_new_password(db, new_password, &attempt))
            .transpose()?;
        accounts::complete_email_flow(
            db,
            flow,
            purpose,
            new_password_hash.as_deref(),
            ctx.settings.sign_up_policy(),
            now,
        )
        .map_err(PortalError::from)
    })?;
    let (flow, user) = match checked {
        CodeCheck::Accepted(flow, user) => (flow, user),
        CodeCheck::Wrong { tries_left: 0 } | CodeCheck::Dead => return dead(ctx),
        CodeCheck::Wrong { tries_left } => {
            return Err(FormProblem {
                tries_left: Some(tries_left),
                ..FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::CodeWrong)
            }
            .into());
        }
        CodeCheck::Locked { until } => return Err(crate::service::accounts::SignInError::Locked { until }.into()),
    };
    let target = stored_target(ctx, &flow, purpose);
    match purpose {
        // The address is proven by the code: the email code is the first factor.
        Purpose::SignUp | Purpose::SignIn => auth::first_factor(ctx, &user, Factor::EmailCode, &target.location()),
        // A reset proves the mailbox and sets a new password; a second factor is still owed.
        Purpose::Reset => auth::first_factor(
            ctx,
            &user,
            Factor::EmailCode,
            &Notice::PasswordReset.after(&target, "/user"),
        ),
        Purpose::EmailChange => {
            let visitor = ctx.visitor()?;
            // The old address hears of it; a failure to tell it is logged, the change stands.
            let old = visitor.user.email.as_str().to_owned();
            if let Err(error) = mail::send(
                ctx,
                &old,
                Email::AddressChanged {
                    new_address: &flow.email,
                },
            ) {
                eprintln!("email: the notice of an address change was not sent: {error}");
            }
            auth::refresh_token(ctx, &visitor.session, visitor.two_step_on())?;
            Ok(see_other(&format!("/user?notice={}", Notice::EmailChanged.key())))
        }
        Purpose::VerifyEmail => Ok(see_other(&format!("/user?notice={}", Notice::EmailVerified.key()))),
    }
}

/// The redirect the flow was started with, re-checked against today's policy; else the flow's
/// fallbacks.
fn stored_target(ctx: &Ctx<'_>, flow: &CodeFlow, purpose: Purpose) -> RedirectTarget {
    let redirect_flow = if purpose == Purpose::SignUp {
        Flow::SignUp
    } else {
        Flow::SignIn
    };
    redirects::recheck(ctx, flow.target.as_deref()).unwrap_or_else(|| redirects::fallback(ctx, redirect_flow))
}

fn render(
    ctx: &Ctx<'_>,
    flow: &CodeFlow,
    typed: &str,
    notice: Option<&str>,
    problem: Option<&FormProblem>,
) -> PageResult {
    let strings = ctx.strings();
    let mail_strings = strings.mail();
    let purpose = Purpose::parse(&flow.purpose);
    let code_error = problem
        .filter(|problem| problem.message == Msg::CodeWrong)
        .map(|problem| match problem.tries_left {
            Some(left) => format!(
                "{} {}",
                mail_strings.code_wrong,
                mail_strings.code_tries_left.replace("{count}", &left.to_string())
            ),
            None => mail_strings.code_wrong.to_owned(),
        });
    // Sign-up's page is the same whether or not the address has an account: it says both.
    let lead = if purpose == Some(Purpose::SignUp) {
        mail_strings.code_lead_sign_up
    } else {
        mail_strings.code_lead
    };
    // A mistyped address starts again at the form it came from, filled in.
    let prefilled = |path: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("email_address", &flow.email)
            .finish();
        format!("{path}?{query}")
    };
    let start_again = match purpose {
        Some(Purpose::SignUp) => Some(prefilled("/sign-up")),
        Some(Purpose::SignIn) => Some(prefilled("/sign-in")),
        Some(Purpose::Reset) => Some(prefilled("/forgot-password")),
        Some(Purpose::EmailChange) => Some("/user#email".to_owned()),
        Some(Purpose::VerifyEmail) | None => None,
    };
    let wait = (flow.sent_at + RESEND_COOLDOWN - ctx.now()).max(0);
    let action = redirects::link_keeping_redirect(ctx, "/verify");
    let resend_action = redirects::link_keeping_redirect(ctx, "/verify/resend");
    let title = if purpose == Some(Purpose::Reset) {
        strings.mail().forgot_title
    } else {
        mail_strings.code_title
    };
    let content = html! {
        div.card {
            h1 { (title) }
            p.lead { (lead.replace("{address}", &flow.email)) }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (super::parts::error_summary(ctx, problem, |name| format!("field-{name}")))
            form method="post" action=(action) novalidate {
                (ctx.csrf_field()?)
                (views::hidden("flow", &flow.id))
                (Field::new("code", mail_strings.code_label, "text", "one-time-code")
                    .value(typed).error(code_error.as_deref()).required(true).max_length(12)
                    .hint(mail_strings.code_hint).numeric_code().render(strings))
                @if purpose == Some(Purpose::Reset) {
                    (Field::new("password", mail_strings.new_password_label, "password", "new-password")
                        .error(field_error(ctx, problem, "password")).required(true)
                        .max_length(MAX_PASSWORD_CHARS)
                        .hint(super::parts::password_hint(strings, Some(ctx.settings.password_min_length())))
                        .render(strings))
                }
                button type="submit" { (mail_strings.verify_button) }
            }
            form method="post" action=(resend_action) {
                (ctx.csrf_field()?)
                (views::hidden("flow", &flow.id))
                // The script counts the wait down on the button; without it, the server says
                // how long to wait when it is pressed too soon.
                button.secondary type="submit" data-wait=[(wait > 0).then_some(wait)]
                    data-wait-text=(mail_strings.resend_in) data-ready-text=(mail_strings.resend_button) {
                    (mail_strings.resend_button)
                }
            }
            @if let Some(start_again) = start_again {
                p.alternate { a href=(start_again) { (mail_strings.wrong_address) } }
            }
        }
    };
    let mut page = Page::new(ctx, title).problem(problem);
    if matches!(ctx.settings.email().delivery, Delivery::DevOutbox) {
        page = page.dev_notice(
            "No email provider is set (email_provider), so nothing was mailed: the email with this code is at \
             /dev/outbox (this machine only) and in the log."
                .to_owned(),
        );
    }
    Ok(page.render(content))
}

/// A flow that signs someone in, opened in another browser than the one that started it (see
/// `service::email::is_same_browser`): nothing is shown of it, the person starts afresh here.
pub(super) fn other_browser(ctx: &Ctx<'_>) -> PageResult {
    let strings = ctx.strings().mail();
    start_again(
        ctx,
        strings.code_other_browser,
        strings.code_other_browser_lead,
        StatusCode::FORBIDDEN,
        "/sign-in",
    )
}

/// A flow that is gone (used, expired, out of tries, or never existed).
pub(super) fn dead(ctx: &Ctx<'_>) -> PageResult {
    let strings = ctx.strings().mail();
    start_again(
        ctx,
        strings.code_dead,
        strings.code_dead_lead,
        StatusCode::GONE,
        "/sign-in",
    )
}

/// [`dead`], starting again where flow `flow_id` started when it is still known (a sign-up
/// starts again at sign-up, a reset at the forgotten-password form).
fn dead_flow(ctx: &Ctx<'_>, flow_id: &str) -> PageResult {
    let strings = ctx.strings().mail();
    let purpose =
        crate::store::email::find_code_flow(ctx.db()?, flow_id)?.and_then(|flow| Purpose::parse(&flow.purpose));
    let path = match purpose {
        Some(Purpose::SignUp) => "/sign-up",
        Some(Purpose::Reset) => "/forgot-password",
        Some(Purpose::EmailChange | Purpose::VerifyEmail) => "/user",
        Some(Purpose::SignIn) | None => "/sign-in",
    };
    start_again(ctx, strings.code_dead, strings.code_dead_lead, StatusCode::GONE, path)
}

/// A page that says why this flow cannot go on, with the way to start again at `path`.
fn start_again(ctx: &Ctx<'_>, title: &str, lead: &str, status: StatusCode, path: &str) -> PageResult {
    let content = html! {
        div.card {
            h1 { (title) }
            p.lead { (lead) }
            p { a.button href=(redirects::link_keeping_redirect(ctx, path)) { (ctx.strings().mail().start_again) } }
        }
    };
    Ok(Page::new(ctx, title).status(status).render(content))
}
