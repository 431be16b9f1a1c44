//! Small fixed pages: the root, the health check, the JWKS and the unauthorized sign-in page.

use maud::html;

use super::Ctx;
use super::redirects::link_keeping_redirect;
use super::render::{Page, PageResult, content_response, found};
use crate::error::PortalError;
use crate::service::email as email_rules;
use crate::service::sessions as session_rules;
use crate::views;

/// `/` has no page of its own: it sends visitors to sign-in with their redirect intent intact.
pub fn root(ctx: &Ctx<'_>) -> PageResult {
    Ok(found(&link_keeping_redirect(ctx, "/sign-in")))
}

/// Liveness for load balancers and `spin up` checks; touches no storage.
/// `GET /healthz`: `200 ok` once the configuration check every page passes has passed (in
/// production: `environment`, `secret_key` and `public_origin`, three variables and no
/// statement), else the configuration error (500).
pub fn healthz(_ctx: &Ctx<'_>) -> PageResult {
    Ok(content_response(
        "text/plain; charset=utf-8",
        "no-store",
        b"ok\n".to_vec(),
    ))
}

/// Where apps send people whose sign-in they refused (Clerk's `/unauthorized-sign-in`), and
/// where a new-device email's "this wasn't me" leads (`?token=`): that session is signed out at
/// once (a single-use token naming one session: following it can only end that session, so a
/// mail scanner's prefetch errs on the safe side), and the page offers a password reset.
pub fn unauthorized_sign_in(ctx: &Ctx<'_>) -> PageResult {
    let strings = ctx.strings();
    let revoked = match ctx
        .query
        .get("token")
        .filter(|token| !token.is_empty() && token.len() <= 128)
    {
        Some(token) => {
            let db = ctx.db()?;
            let taken = email_rules::take_sign_in_notice(db, token, ctx.now())?;
            if let Some((session_id, user_id)) = &taken {
                session_rules::revoke_session(db, user_id, session_id, ctx.now())?;
                eprintln!("unauthorized sign-in reported: session {session_id} of {user_id} revoked");
            }
            Some(taken.is_some())
        }
        None => None,
    };
    let content = html! {
        div.card {
            h1 { (strings.errors().unauthorized_title) }
            @match revoked {
                Some(true) => { p.lead { (strings.mail().unauthorized_revoked) } }
                Some(false) => { p.lead { (strings.mail().unauthorized_link_dead) } }
                None => { p.lead { (strings.errors().unauthorized_lead) } }
            }
            @if revoked.is_some() {
                p { a.button href=(link_keeping_redirect(ctx, "/forgot-password")) { (strings.mail().reset_password_button) } }
            } @else {
                a.button href=(link_keeping_redirect(ctx, "/sign-in")) { (strings.errors().go_to_sign_in) }
            }
        }
    };
    Ok(Page::new(ctx, strings.errors().unauthorized_title).render(content))
}

/// `/dev/outbox`: what development mode would have emailed, newest first, so `spin up` with no
/// configuration shows the codes. Development only and this machine only (not even the
/// `development_hosts`, which other people may reach); production answers 404.
pub fn dev_outbox(ctx: &Ctx<'_>) -> PageResult {
    // Every emailed code is here: only for a person on this very machine (see
    // `portal::is_this_machine`), never for a listed development host.
    if !ctx.settings.is_development() || !crate::portal::is_this_machine(ctx) {
        return Err(PortalError::NotFound);
    }
    let strings = ctx.strings().mail();
    let emails = email_rules::outbox(ctx.db()?)?;
    // `?html=<id>`: the email as its recipient's mail client would show it, sandboxed (no
    // script, an origin of its own; inline styles and images only, as emails use).
    if let Some(id) = ctx.query.get("html").and_then(|id| id.parse::<i64>().ok()) {
        let email = emails
            .iter()
            .find(|email| email.id == id)
            .ok_or(PortalError::NotFound)?;
        let mut response =
            super::render::content_response("text/html; charset=utf-8", "no-store", email.html.clone().into_bytes());
        response.headers_mut().insert(
            http::header::CONTENT_SECURITY_POLICY,
            http::HeaderValue::from_static(
                "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:",
            ),
        );
        return Ok(response);
    }
    let content = html! {
        div.card {
            h1 { (strings.outbox_title) }
            p.lead { (strings.outbox_lead) }
            @if emails.is_empty() { p { (strings.outbox_empty) } }
            @for email in &emails {
                article.outbox-email {
                    h2 { (email.subject) }
                    p.hint {
                        (email.recipient) " · " (views::relative_time(ctx.strings(), ctx.now(), email.created_at))
                        " · " a href=(format!("/dev/outbox?html={}", email.id)) { "HTML" }
                    }
                    // The text part, its links clickable.
                    pre.mono {
                        @for (i, line) in email.text.lines().enumerate() {
                            @if i > 0 { "\n" }
                            @for (j, word) in line.split(' ').enumerate() {
                                @if j > 0 { " " }
                                @if word.starts_with("http://") || word.starts_with("https://") {
                                    a href=(word) { (word) }
                                } @else {
                                    (word)
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new(ctx, strings.outbox_title).wide().render(content))
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
