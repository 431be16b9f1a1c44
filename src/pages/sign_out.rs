//! `/sign-out`: a confirmation page (GET) and the sign-out itself (POST).

use maud::html;

use super::parts::Notice;
use super::render::{Page, PageResult, found};
use super::{Ctx, auth, redirects};
use crate::redirect::Flow;
use crate::service::sessions;

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = redirects::choose(ctx, Flow::SignOut);
    if ctx.signed_in()?.is_none() {
        return Ok(found(&choice.target.location()));
    }
    let strings = ctx.strings();
    let content = html! {
        div.card {
            h1 { (strings.sign_out_title) }
            p.lead { (strings.sign_out_lead) }
            form method="post" action="/sign-out" {
                (ctx.form_fields(Flow::SignOut, &choice.target)?)
                button type="submit" { (strings.sign_out_button) }
            }
        }
    };
    Ok(Page::new(ctx, strings.sign_out_title)
        .redirect_choice(Some(&choice))
        .render(content))
}

/// Revokes the portal session, clears both cookies and leaves by `after_sign_out_url`.
pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let target = redirects::from_form(ctx, Flow::SignOut, &form)?;
    if let Some(visitor) = ctx.signed_in()? {
        sessions::end_session(ctx.db()?, &visitor.session.id, ctx.now())?;
    }
    auth::clear_session_cookies(ctx);
    Ok(found(&Notice::SignedOut.after(&target, "/sign-in")))
}
