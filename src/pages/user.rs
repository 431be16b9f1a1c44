//! `/user`: the signed-in person's account.

use maud::html;

use super::{Ctx, PageResult, sign_in_first};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let Some(visitor) = ctx.signed_in()? else {
        return Ok(sign_in_first(&ctx.path_and_query()));
    };
    let strings = ctx.strings;
    let user = &visitor.user;
    let content = html! {
        div.card {
            h1 { (strings.user_title) }
            p.lead { (strings.signed_in_as) " " strong { (user.email) } }
            a.button.secondary href="/sign-out" { (strings.sign_out_button) }
        }
    };
    Ok(ctx.render(strings.user_title, true, None, content))
}
