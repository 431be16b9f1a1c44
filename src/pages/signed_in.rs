//! The end of every successful authentication: a portal session, a fresh `__session`, a 302.

use super::{Ctx, PageResult, SignedIn, redirect_to};
use crate::error::PortalError;
use crate::redirect::RedirectTarget;
use crate::security::random_id;
use crate::security::session::{self, PORTAL_SESSION_COOKIE, SESSION_TOKEN_COOKIE};
use crate::security::token::Claims;
use crate::store::organizations as orgs;
use crate::store::sessions::{self, PortalSession, SessionOrigin};
use crate::store::transaction;
use crate::store::users::User;

/// Longest user agent kept with a session.
const USER_AGENT_LIMIT: usize = 300;

/// Starts a new portal session for `user` (replacing the visitor's old one, so a session token
/// is never carried across sign-ins) and sends them to `target` with a `__session` token.
pub fn start_session(ctx: &Ctx<'_>, user: &User, target: &RedirectTarget) -> PageResult {
    let db = ctx.db()?;
    let previous = ctx.signed_in()?.map(|visitor| visitor.session.id.clone());
    let (token, hash) = session::new_session_token();
    let user_agent: Option<String> = ctx
        .header("user-agent")
        .map(|ua| ua.chars().take(USER_AGENT_LIMIT).collect());
    let origin = SessionOrigin {
        client_addr: Some(ctx.client_addr()),
        user_agent: user_agent.as_deref(),
    };
    let lifetime = ctx.settings.limits.portal_session_lifetime;
    // Replacing the old session and creating the new one happen together or not at all.
    let session = transaction(db, || {
        if let Some(previous) = &previous {
            sessions::delete_session(db, previous)?;
        }
        sessions::create_session(db, &random_id("sess"), &hash, &user.id, &origin, ctx.now(), lifetime)
    })?;
    ctx.add_cookie(session::set_cookie(
        PORTAL_SESSION_COOKIE,
        &token,
        lifetime,
        &ctx.portal_cookie_scope(),
    ));
    issue_session_token(ctx, &session, user)?;
    Ok(redirect_to(&target.location()))
}

/// A visitor who is already signed in goes straight back with a fresh `__session`.
pub fn resume(ctx: &Ctx<'_>, signed_in: &SignedIn, target: &RedirectTarget) -> PageResult {
    issue_session_token(ctx, &signed_in.session, &signed_in.user)?;
    Ok(redirect_to(&target.location()))
}

/// Sets a fresh `__session` JWT for this session, with the active organization's claims when the
/// user still belongs to it (read from the database now, never from an older token).
pub fn issue_session_token(ctx: &Ctx<'_>, session: &PortalSession, user: &User) -> Result<(), PortalError> {
    let db = ctx.db()?;
    let membership = match sessions::find_active_organization(db, &session.id)? {
        Some(org_id) => {
            let membership = orgs::find_membership(db, &org_id, &user.id)?;
            if membership.is_none() {
                orgs::set_active_organization(db, &session.id, None)?;
            }
            membership
        }
        None => None,
    };
    let now = ctx.now();
    let lifetime = ctx.settings.limits.session_token_lifetime;
    let claims = Claims {
        iss: issuer(ctx),
        sub: user.id.clone(),
        sid: session.id.clone(),
        iat: now,
        nbf: now,
        exp: now + lifetime,
        jti: super::ctx::new_jti(),
        org_id: membership.as_ref().map(|m| m.organization.id.clone()),
        org_slug: membership.as_ref().map(|m| m.organization.slug.clone()),
        org_role: membership.as_ref().map(|m| m.role.as_str().to_owned()),
    };
    let token = ctx.keys()?.sign(&claims);
    ctx.add_cookie(session::set_cookie(
        SESSION_TOKEN_COOKIE,
        &token,
        lifetime,
        &ctx.session_cookie_scope(),
    ));
    Ok(())
}

/// Removes both session cookies from the browser.
pub fn clear_session_cookies(ctx: &Ctx<'_>) {
    ctx.add_cookie(session::clear_cookie(PORTAL_SESSION_COOKIE, &ctx.portal_cookie_scope()));
    ctx.add_cookie(session::clear_cookie(SESSION_TOKEN_COOKIE, &ctx.session_cookie_scope()));
}

/// The `iss` claim: the portal's origin.
pub fn issuer(ctx: &Ctx<'_>) -> String {
    ctx.portal_origin.origin().ascii_serialization()
}
