//! Small fixed pages: the root, the health check and the unauthorized sign-in page.

use http::{Response, StatusCode, header};
use maud::html;

use super::{Ctx, PageResult, link_keeping_redirect, redirect_to};

/// `/` has no page of its own: it sends visitors to sign-in with their redirect intent intact.
pub fn root(ctx: &Ctx<'_>) -> PageResult {
    Ok(redirect_to(&link_keeping_redirect(ctx, "/sign-in")))
}

/// Liveness for load balancers and `spin up` checks; touches no storage.
pub fn healthz(_ctx: &Ctx<'_>) -> PageResult {
    let mut response = Response::new(b"ok\n".to_vec());
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

/// Where apps send people whose sign-in they refused (Clerk's `/unauthorized-sign-in`).
pub fn unauthorized_sign_in(ctx: &Ctx<'_>) -> PageResult {
    let strings = ctx.strings;
    let content = html! {
        div.card {
            h1 { (strings.unauthorized_title) }
            p.lead { (strings.unauthorized_lead) }
            a.button href=(link_keeping_redirect(ctx, "/sign-in")) { (strings.go_to_sign_in) }
        }
    };
    Ok(ctx.render(strings.unauthorized_title, false, None, content))
}
