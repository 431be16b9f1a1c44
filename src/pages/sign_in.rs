//! `/sign-in`: email address or username plus password.

use maud::html;

use super::{Ctx, PageResult, link_keeping_redirect, prefill};
use crate::error::PortalError;
use crate::redirect::Flow;
use crate::views::Field;

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let choice = ctx.choose_redirect(Flow::SignIn);
    let strings = ctx.strings;
    let identifier = prefill(ctx, "email_address", 254)
        .or_else(|| prefill(ctx, "username", 64))
        .unwrap_or_default();
    let content = html! {
        div.card {
            h1 { (strings.sign_in_title) }
            p.lead { (strings.sign_in_lead) }
            form method="post" action="/sign-in" novalidate {
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
    Ok(ctx.render(strings.sign_in_title, false, Some(&choice), content))
}

pub fn submit(_ctx: &Ctx<'_>) -> PageResult {
    Err(PortalError::NotImplemented(
        "Signing in is not available yet: accounts arrive in the next release.",
    ))
}
