//! `/sign-out`: a confirmation page (GET) and the sign-out itself (POST).

use maud::html;

use super::{Ctx, PageResult, redirect_to, signed_in};
use crate::redirect::Flow;
use crate::store::sessions;

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = ctx.choose_redirect(Flow::SignOut);
    let strings = ctx.strings;
    if ctx.signed_in()?.is_none() {
        return Ok(redirect_to(&choice.target.location()));
    }
    let content = html! {
        div.card {
            h1 { (strings.sign_out_title) }
            p.lead { (strings.sign_out_lead) }
            form method="post" action="/sign-out" {
                (ctx.csrf_field()?)
                (ctx.sealed_redirect_field(Flow::SignOut, &choice.target)?)
                button type="submit" { (strings.sign_out_button) }
            }
        }
    };
    Ok(ctx.render(strings.sign_out_title, false, Some(&choice), content))
}

/// Revokes the portal session, clears both cookies and leaves by `after_sign_out_url`.
pub fn submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let target = ctx.redirect_from_form(Flow::SignOut, &form)?;
    if let Some(visitor) = ctx.signed_in()? {
        sessions::delete_session(ctx.db()?, &visitor.session.id)?;
    }
    signed_in::clear_session_cookies(ctx);
    Ok(redirect_to(&target.location()))
}
