//! `/sign-in/factor-two`: the second step of a sign-in, for an account with two-step
//! verification. A pending sign-in (`service::auth::flow`) takes a code from the authenticator
//! app or a backup code (a link switches between them); the handlers only turn the form into a
//! proof and hand the state machine's answer to `auth::answer`.

use http::StatusCode;
use maud::html;

use super::render::{Page, PageResult, or_show_form};
use super::{Ctx, auth, codes, redirects};
use crate::error::FormProblem;
use crate::service::accounts::SignInError;
use crate::service::auth::{self as auth_rules, Proof, Refused, flow};
use crate::views::{self, Field, Msg};

/// The page of pending sign-in `flow_id`, keeping the visitor's language.
pub fn page(ctx: &Ctx<'_>, flow_id: &str) -> String {
    super::mail::flow_page(ctx, "/sign-in/factor-two", flow_id)
}

/// Which second factor the page asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    App,
    Backup,
}

impl Method {
    fn from(text: Option<&str>) -> Self {
        if text == Some("backup") {
            Self::Backup
        } else {
            Self::App
        }
    }
}

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let flow_id = ctx.query.get("flow").unwrap_or_default();
    let Some(pending) = flow::find_live(ctx.db()?, flow_id, ctx.now())? else {
        return codes::dead(ctx);
    };
    if !crate::service::email::is_same_browser(&pending.flow, ctx.csrf_cookie_value()) {
        return codes::other_browser(ctx);
    }
    render(ctx, flow_id, Method::from(ctx.query.get("method")), None)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let flow_id = form.text("flow").to_owned();
    let method = Method::from(form.get("method"));
    let result = ctx.check_form(&form).and_then(|()| {
        let code = form.text("code");
        let proof = match method {
            Method::App => Proof::Totp(code),
            Method::Backup => Proof::BackupCode(code),
        };
        let keys = ctx.factor_keys()?;
        let db = ctx.db()?;
        let presented = auth_rules::present(
            db,
            &keys,
            &flow_id,
            proof,
            ctx.csrf_cookie_value(),
            ctx.settings.lock_policy(),
            ctx.now(),
        )?;
        match presented {
            Ok((step, location)) => auth::answer(ctx, step, &redirects::stored_location(ctx, &location)),
            Err(Refused::Wrong { tries_left: 0 } | Refused::Dead) => codes::dead(ctx),
            Err(Refused::OtherBrowser) => codes::other_browser(ctx),
            Err(Refused::Wrong { .. }) => {
                Err(FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::CodeWrong).into())
            }
            Err(Refused::Locked { until }) => Err(SignInError::Locked { until }.into()),
        }
    });
    or_show_form(result, |problem| render(ctx, &flow_id, method, Some(&problem)))
}

fn render(ctx: &Ctx<'_>, flow_id: &str, method: Method, problem: Option<&FormProblem>) -> PageResult {
    let strings = ctx.strings().two_step();
    let (lead, label, autocomplete, switch_text, switch_method) = match method {
        Method::App => (
            strings.app_lead,
            strings.app_code_label,
            "one-time-code",
            strings.use_backup,
            Some("backup"),
        ),
        Method::Backup => (
            strings.backup_lead,
            strings.backup_code_label,
            "off",
            strings.use_app,
            None,
        ),
    };
    let code_error = problem
        .filter(|problem| problem.message == Msg::CodeWrong)
        .map(|_| strings.code_wrong);
    let mut switch = url::form_urlencoded::Serializer::new(String::new());
    switch.append_pair("flow", flow_id);
    if let Some(method) = switch_method {
        switch.append_pair("method", method);
    }
    if let Some(locales) = ctx.query.get("ui_locales") {
        switch.append_pair("ui_locales", locales);
    }
    let content = html! {
        div.card {
            h1 { (strings.title) }
            p.lead { (lead) }
            (super::parts::error_summary(ctx, problem, |name| format!("field-{name}")))
            form method="post" action=(redirects::link_keeping_redirect(ctx, "/sign-in/factor-two")) novalidate {
                (ctx.csrf_field()?)
                (views::hidden("flow", flow_id))
                @if method == Method::Backup { (views::hidden("method", "backup")) }
                @let field = Field::new("code", label, "text", autocomplete).error(code_error).required(true).max_length(16);
                // A backup code has letters: no numeric keyboard for it.
                (if method == Method::App { field.numeric_code() } else { field }.render(ctx.strings()))
                button type="submit" { (strings.verify_button) }
            }
            p.alternate { a href=(format!("/sign-in/factor-two?{}", switch.finish())) { (switch_text) } }
        }
    };
    Ok(Page::new(ctx, strings.title).problem(problem).render(content))
}

/// After a sign-in with a backup code: signed in, told how many codes are left, then on.
pub fn backup_code_used(ctx: &Ctx<'_>, left: usize, location: &str) -> PageResult {
    let strings = ctx.strings().two_step();
    let content = html! {
        div.card {
            h1 { (strings.backup_used_title) }
            p.lead { (strings.backup_used_lead.replace("{count}", &left.to_string())) }
            p { a.button href=(location) { (strings.continue_button) } }
        }
    };
    Ok(Page::new(ctx, strings.backup_used_title).render(content))
}
