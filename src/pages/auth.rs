//! The web end of authentication: [`first_factor`], the one door of every sign-in road into the
//! state machine (`service::auth`), [`answer`], the one mapper from its steps to responses, and
//! the cookies that carry a portal session and its `__session` token. What a session is and what
//! its token says are decided in `service::sessions`.

use super::render::{PageResult, found, see_other};
use super::{Ctx, mail};
use crate::error::PortalError;
use crate::redirect::RedirectTarget;
use crate::security::session::{self, SESSION_TOKEN_COOKIE};
use crate::security::token::Claims;
use crate::service::auth::{self as auth_rules, Factor, SignedIn, Step};
use crate::service::email as email_rules;
use crate::service::sessions::{self as session_rules, SignInContext, TokenTerms, Visitor};
use crate::store::sessions::PortalSession;
use crate::store::users::User;
use crate::views;

/// A first factor (`factor`) proved `user`: the state machine decides what follows, for every
/// road alike, and the visitor ends at `location` once signed in.
pub fn first_factor(ctx: &Ctx<'_>, user: &User, factor: Factor, location: &str) -> PageResult {
    let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
    let step = auth_rules::first_factor(ctx.db()?, user.clone(), factor, location, browser, ctx.now())?;
    answer(ctx, step, location)
}

/// The one mapper from a step of the sign-in state machine to a response: a session and a
/// redirect to `location` when done, the second-factor page when a factor is still owed.
pub fn answer(ctx: &Ctx<'_>, step: Step, location: &str) -> PageResult {
    match step {
        Step::Done(signed_in) => {
            let token = start_session(ctx, &signed_in)?;
            if token != Token::Issued {
                // Two-step verification is required (of everyone, or by the active organization)
                // and this account has none: set it up first, then on to `location`.
                return Ok(see_other(&two_step_setup(location)));
            }
            match signed_in.backup_codes_left {
                Some(left) => {
                    tell_backup_code_used(ctx, &signed_in.user, left);
                    super::factor_two::backup_code_used(ctx, left, location)
                }
                None => Ok(found(location)),
            }
        }
        Step::Next { flow, .. } => Ok(see_other(&super::factor_two::page(ctx, &flow))),
        Step::Suspended => Err(PortalError::Forbidden(views::Msg::AccountSuspended)),
    }
}

/// Emails the user that a backup code was used (a failure is logged; the sign-in stands).
fn tell_backup_code_used(ctx: &Ctx<'_>, user: &User, left: usize) {
    if !ctx.settings.email().can_send() {
        return;
    }
    if let Err(error) = mail::send(ctx, user.email.as_str(), mail::Email::BackupCodeUsed { left }) {
        eprintln!("email: the notice of a backup code used was not sent: {error}");
    }
}

/// Starts a portal session for the signed-in user (ending the visitor's old one), recording the
/// factors used, and sets both cookies (the token as [`refresh_token`] allows).
fn start_session(ctx: &Ctx<'_>, signed_in: &SignedIn) -> Result<Token, PortalError> {
    let user = &signed_in.user;
    let previous = ctx.signed_in()?.map(|visitor| visitor.session.id.clone());
    let lifetime = ctx.settings.portal_session_lifetime();
    let amr = signed_in.amr();
    let context = SignInContext {
        client_addr: ctx.client_addr(),
        user_agent: ctx.header("user-agent"),
        now: ctx.now(),
        lifetime,
        amr: &amr,
        first_factor_at: signed_in.first.at,
        second_factor_at: signed_in.second.map(|second| second.at),
    };
    let started = session_rules::start_session(ctx.db()?, &user.id, previous.as_ref(), &context)?
        .ok_or(PortalError::Forbidden(views::Msg::AccountSuspended))?;
    ctx.add_cookie(session::set_cookie(
        ctx.portal_session_cookie(),
        &started.token,
        lifetime,
        &ctx.portal_cookie_scope(),
    ));
    let two_step_on = user.totp_enabled_at.is_some() || signed_in.second.is_some();
    let token = refresh_token(ctx, &started.session, two_step_on)?;
    notice_new_device(ctx, user, &started.session);
    Ok(token)
}

/// What a token could say for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Issued with everything the session has.
    Issued,
    /// Issued without the active organization, which requires two-step verification the user
    /// does not have.
    WithoutOrganization,
    /// Not issued: `mfa_required = all` and the user has no second factor.
    Withheld,
}

/// Where a person who must set up two-step verification goes, then on to `location`.
pub fn two_step_setup(location: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_url", location)
        .finish();
    format!("/user/two-step?{query}")
}

/// Records this browser for `user` (a long-lived cookie that only says "this browser was here
/// before": it grants nothing) and, when it is new to an account that has signed in
/// elsewhere, emails "this wasn't me" (a failure to send is logged; the sign-in stands).
fn notice_new_device(ctx: &Ctx<'_>, user: &User, session: &PortalSession) {
    let production = !ctx.settings.is_development();
    let name = if production {
        "__Host-portal_device"
    } else {
        "portal_device"
    };
    let token = match ctx.cookie(name) {
        Some(token) if token.len() >= 32 && token.len() <= 64 => token.to_owned(),
        _ => {
            let (token, _) = crate::security::new_token();
            ctx.add_cookie(session::set_cookie(
                name,
                &token,
                // Set once, never renewed: the store forgets a browser after this long.
                email_rules::DEVICE_LIFETIME,
                &ctx.portal_cookie_scope(),
            ));
            token
        }
    };
    let result = (|| -> Result<(), PortalError> {
        let db = ctx.db()?;
        if !email_rules::is_new_device(db, &user.id, &token, ctx.now())? {
            return Ok(());
        }
        let email = ctx.settings.email();
        if !email.new_device_notice || !email.can_send() {
            return Ok(());
        }
        let link = email_rules::new_sign_in_notice(db, &session.id, &user.id, ctx.now())?;
        let time = views::civil_time(ctx.now());
        let when = format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            time.year, time.month, time.day, time.hour, time.minute
        );
        let device = ctx
            .header("user-agent")
            .and_then(views::device)
            .unwrap_or_else(|| "?".to_owned());
        mail::send(
            ctx,
            user.email.as_str(),
            mail::Email::NewDevice {
                device,
                address: views::address_without_port(ctx.client_addr()),
                when,
                token: link,
            },
        )
    })();
    if let Err(error) = result {
        eprintln!("email: the new-device notice was not sent: {error}");
    }
}

/// A visitor who is already signed in goes straight back with a fresh `__session`: the claims
/// come from the session lookup this request already made, so the bounce costs that one lookup
/// and one signature.
pub fn resume(ctx: &Ctx<'_>, visitor: &Visitor, target: &RedirectTarget) -> PageResult {
    // Only an account without a second factor reads whether one is required.
    if !visitor.two_step_on() && (ctx.settings.mfa_required() || session_rules::organization_withheld(visitor)) {
        return Ok(found(&two_step_setup(&target.location())));
    }
    let claims = session_rules::visitor_claims(visitor, &token_terms(ctx).as_terms());
    set_token_cookie(ctx, &claims)?;
    Ok(found(&target.location()))
}

/// Sets a fresh `__session` for `session`, saying what is stored now (after a change, the app
/// sees it at once). `second_factor_on`: whether the user has two-step verification; without
/// it, `mfa_required = all` withholds the token (and clears one the browser holds) and an
/// organization that requires it is left out.
pub fn refresh_token(ctx: &Ctx<'_>, session: &PortalSession, second_factor_on: bool) -> Result<Token, PortalError> {
    if !second_factor_on && ctx.settings.mfa_required() {
        ctx.add_cookie(session::clear_cookie(SESSION_TOKEN_COOKIE, &ctx.session_cookie_scope()));
        return Ok(Token::Withheld);
    }
    let terms = token_terms(ctx);
    let (claims, withheld) = session_rules::session_claims(ctx.db()?, session, second_factor_on, &terms.as_terms())?;
    set_token_cookie(ctx, &claims)?;
    Ok(if withheld {
        Token::WithoutOrganization
    } else {
        Token::Issued
    })
}

/// What a token says about its issuer and time, owned for the duration of one token.
struct OwnedTerms<'c> {
    issuer: String,
    audience: String,
    now: i64,
    lifetime: i64,
    public_metadata: Box<dyn Fn() -> bool + 'c>,
}

impl OwnedTerms<'_> {
    fn as_terms(&self) -> TokenTerms<'_> {
        TokenTerms {
            issuer: &self.issuer,
            audience: &self.audience,
            now: self.now,
            lifetime: self.lifetime,
            public_metadata: &*self.public_metadata,
        }
    }
}

fn token_terms<'c>(ctx: &'c Ctx<'_>) -> OwnedTerms<'c> {
    let issuer = ctx.portal_origin().origin().ascii_serialization();
    let audience = ctx
        .settings
        .session_token_audience()
        .or_else(|| ctx.settings.instance_domain())
        .map_or_else(|| issuer.clone(), str::to_owned);
    OwnedTerms {
        issuer,
        audience,
        now: ctx.now(),
        lifetime: ctx.settings.session_token_lifetime(),
        public_metadata: Box::new(move || ctx.settings.session_token_public_metadata()),
    }
}

fn set_token_cookie(ctx: &Ctx<'_>, claims: &Claims) -> Result<(), PortalError> {
    let token = ctx.signer()?.sign(claims);
    ctx.add_cookie(session::set_cookie(
        SESSION_TOKEN_COOKIE,
        &token,
        ctx.settings.session_token_lifetime(),
        &ctx.session_cookie_scope(),
    ));
    Ok(())
}

/// Removes both session cookies from the browser.
pub fn clear_session_cookies(ctx: &Ctx<'_>) {
    ctx.add_cookie(session::clear_cookie(
        ctx.portal_session_cookie(),
        &ctx.portal_cookie_scope(),
    ));
    ctx.add_cookie(session::clear_cookie(SESSION_TOKEN_COOKIE, &ctx.session_cookie_scope()));
}
