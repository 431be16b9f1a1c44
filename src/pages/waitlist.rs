//! `/waitlist` (`sign_up_mode = waitlist`): leave an address; the operator approves it from the
//! Backend API or the admin console, which emails an invitation. The answer is the same page
//! whether the address was added, was already waiting, has an account, or is refused by the lists.

use maud::html;

use super::Ctx;
use super::bot_check::{self, Protected};
use super::parts::{EmailOnlyForm, prefill};
use super::redirects;
use super::render::{Page, PageResult, or_show_form};
use crate::config::SignUpMode;
use crate::domain::{EmailAddress, FieldError};
use crate::error::{FormProblem, PortalError};
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::service::waitlist::{self as rules, JoinRefused};
use crate::views::Msg;

fn open(ctx: &Ctx<'_>) -> Result<(), PortalError> {
    if ctx.settings.sign_up_mode() == SignUpMode::Waitlist {
        Ok(())
    } else {
        Err(PortalError::NotFound)
    }
}

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    open(ctx)?;
    let choice = redirects::choose(ctx, Flow::SignUp);
    let email = prefill(ctx, "email_address", EmailAddress::MAX_LEN)
        .unwrap_or_default()
        .to_owned();
    render(ctx, &choice.target, Some(&choice), &email, None)
}

pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    open(ctx)?;
    let form = ctx.parse_form()?;
    let target = redirects::from_form(ctx, Flow::SignUp, &form)?;
    let typed = form.text("email_address").trim().to_owned();
    let joined = ctx
        .check_form(&form)
        .and_then(|()| bot_check::check(ctx, &form, Protected::Waitlist))
        .and_then(|()| join(ctx, &typed));
    or_show_form(joined, |problem| render(ctx, &target, None, &typed, Some(&problem)))
}

fn join(ctx: &Ctx<'_>, typed: &str) -> PageResult {
    let email = EmailAddress::parse(typed).map_err(|problem| {
        PortalError::Invalid(FormProblem::fields(vec![("email_address", FieldError::Field(problem))]))
    })?;
    let refused = rules::join(
        ctx.db()?,
        &email,
        ctx.settings.sign_up_policy(),
        ctx.client_addr(),
        ctx.now(),
    )?;
    if let Err(JoinRefused::TooMany { until }) = refused {
        let mut problem = FormProblem::new(http::StatusCode::TOO_MANY_REQUESTS, Msg::TooManyEmails);
        problem.locked_until = Some(until);
        return Err(PortalError::Invalid(problem));
    }
    let waitlist = ctx.strings().waitlist();
    let content = html! {
        div.card {
            h1 { (waitlist.joined_title) }
            p.lead { (waitlist.joined_lead) }
        }
    };
    Ok(Page::new(ctx, waitlist.joined_title).render(content))
}

fn render(
    ctx: &Ctx<'_>,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    email: &str,
    problem: Option<&FormProblem>,
) -> PageResult {
    let waitlist = ctx.strings().waitlist();
    let app = &ctx.settings.branding().application_name;
    let lead = waitlist.lead.replace("{app}", app);
    EmailOnlyForm {
        title: waitlist.title,
        lead: &lead,
        path: "/waitlist",
        flow: Flow::SignUp,
        protected: Protected::Waitlist,
        button: waitlist.join_button,
    }
    .render(ctx, target, choice, email, problem)
}
