//! Small fixed pages: the root, the health check, the JWKS and the unauthorized sign-in page.

use maud::html;

use super::Ctx;
use super::redirects::link_keeping_redirect;
use super::render::{Page, PageResult, content_response, found};

/// `/` has no page of its own: it sends visitors to sign-in with their redirect intent intact.
pub fn root(ctx: &Ctx<'_>) -> PageResult {
    Ok(found(&link_keeping_redirect(ctx, "/sign-in")))
}

/// Liveness for load balancers and `spin up` checks; touches no storage.
pub fn healthz(_ctx: &Ctx<'_>) -> PageResult {
    Ok(content_response(
        "text/plain; charset=utf-8",
        "no-store",
        b"ok\n".to_vec(),
    ))
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
    Ok(Page::new(ctx, strings.unauthorized_title).render(content))
}

/// `/.well-known/jwks.json`: the public key apps use to verify `__session`. Cacheable for five
/// minutes, so a key change reaches verifiers quickly; readable from any origin (it is public).
pub fn jwks(ctx: &Ctx<'_>) -> PageResult {
    let mut response = content_response(
        "application/json",
        "public, max-age=300",
        ctx.published_keys()?.jwks().into_bytes(),
    );
    response.headers_mut().insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        http::HeaderValue::from_static("*"),
    );
    Ok(response)
}
