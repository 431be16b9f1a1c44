//! Where a page sends the visitor: the redirect chain on this request (`crate::redirect` holds the
//! policy itself), the validated target sealed into forms and read back from them, and the links
//! that keep redirect intent from page to page.

use maud::Markup;
use url::Url;

use super::Ctx;
use crate::error::PortalError;
use crate::form::Params;
use crate::redirect::{self, CandidateSource, Flow, RedirectChoice, RedirectPolicy, RedirectTarget, RejectReason};
use crate::views;

/// How long a sealed redirect target in a form stays usable.
const SEALED_REDIRECT_LIFETIME: i64 = 24 * 3600;

/// The hidden field that carries the validated redirect target through a form.
pub const REDIRECT_FIELD: &str = "redirect_target";

/// Query parameters that carry the visitor's intent from page to page (sign-in ↔ sign-up links,
/// form actions): where to go afterwards, and the language asked for.
const KEPT_PARAMS: &[&str] = &[
    "ui_locales",
    "redirect_url",
    "sign_in_force_redirect_url",
    "sign_in_fallback_redirect_url",
    "sign_up_force_redirect_url",
    "sign_up_fallback_redirect_url",
];

/// The redirect policy for this request. The operator's origin rules are read only if a
/// candidate is an absolute URL.
pub fn policy<'c>(ctx: &'c Ctx<'_>) -> RedirectPolicy<'c> {
    RedirectPolicy {
        portal_origin: ctx.portal_origin().clone(),
        development: ctx.settings.is_development(),
        requesting_origin: redirect::requesting_origin(ctx.header("origin"), ctx.header("referer")),
        rules: ctx.settings,
    }
}

/// Runs the redirect chain for `flow` on this request's query and logs every rejection.
pub fn choose(ctx: &Ctx<'_>, flow: Flow) -> RedirectChoice {
    let choice = redirect::choose_redirect(&policy(ctx), flow, |name| ctx.query.get(name), ctx.settings);
    for rejection in &choice.rejected {
        eprintln!("redirect: {} {rejection}", ctx.path);
    }
    choice
}

/// Where a form of `flow` that carries no redirect of its own ends: the operator's fallbacks
/// only (the chain a POST without redirect parameters runs). Not logged: the post logs.
pub fn fallback(ctx: &Ctx<'_>, flow: Flow) -> RedirectTarget {
    redirect::choose_redirect(&policy(ctx), flow, |_| None, ctx.settings).target
}

/// What a sealed target is sealed for: its flow and this visitor (their CSRF cookie), so a
/// sealed field copied out of one visitor's page opens in no one else's form.
fn seal_purpose(ctx: &Ctx<'_>, flow: Flow) -> String {
    format!("redirect:{flow:?}:{}", ctx.csrf_cookie_value())
}

/// The hidden field carrying a validated target through a form, sealed for `flow` and this
/// visitor.
pub fn sealed_field(ctx: &Ctx<'_>, flow: Flow, target: &RedirectTarget) -> Result<Markup, PortalError> {
    let payload = format!("{}\n{}", ctx.now() + SEALED_REDIRECT_LIFETIME, target.url());
    let sealed = ctx.signing_mac()?.seal(&seal_purpose(ctx, flow), &payload);
    Ok(views::hidden(REDIRECT_FIELD, &sealed))
}

/// The target a form carried, if its seal holds for this visitor, has not expired, and the
/// policy still allows it (the operator may have removed an origin since); otherwise the chain's
/// answer for this request (fallbacks only, as a POST has no redirect parameters).
pub fn from_form(ctx: &Ctx<'_>, flow: Flow, form: &Params) -> Result<RedirectTarget, PortalError> {
    let keys = ctx.mac_keys()?;
    let sealed = form
        .get(REDIRECT_FIELD)
        .and_then(|sealed| keys.unseal(&seal_purpose(ctx, flow), sealed))
        .and_then(|payload| {
            let (expires, url) = payload.split_once('\n')?;
            let fresh = expires.parse::<i64>().ok()? > ctx.now();
            fresh.then(|| Url::parse(url).ok()).flatten()
        });
    let still_allowed = sealed.and_then(|url| recheck(ctx, Some(url.as_str())));
    Ok(match still_allowed {
        Some(target) => target,
        None => choose(ctx, flow).target,
    })
}

/// Where a sign-in stored in a flow goes once it is done (a pending second step, a provider's
/// round trip): a path on the portal as it is, anything else re-checked against today's
/// redirect policy, else the sign-in fallback.
pub fn stored_location(ctx: &Ctx<'_>, location: &str) -> String {
    let is_portal_path = location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\");
    if is_portal_path {
        return location.to_owned();
    }
    recheck(ctx, Some(location))
        .unwrap_or_else(|| fallback(ctx, Flow::SignIn))
        .location()
}

/// A target validated earlier (sealed in a form, stored with a code flow), if today's policy
/// still allows it: the operator may have removed an origin since. The page that carried it was
/// on its origin, so that origin counts as the requesting one.
pub fn recheck(ctx: &Ctx<'_>, stored: Option<&str>) -> Option<RedirectTarget> {
    let url = Url::parse(stored?).ok()?;
    let as_stored = RedirectPolicy {
        requesting_origin: Some(url.origin()),
        ..policy(ctx)
    };
    match as_stored.check(url.as_str()) {
        Ok(target) => Some(target),
        Err(reason) => {
            eprintln!(
                "redirect: {} stored target {:?} is no longer allowed: {reason}",
                ctx.path,
                url.as_str()
            );
            None
        }
    }
}

/// Notices shown in development mode only: why each redirect candidate was ignored.
/// Each says what was used instead and, for an origin that is not allowed, which variable would
/// allow it; and a target on another host than the portal gets a warning, since the host-only
/// `__session` cookie of development mode will not reach it (a silent sign-in loop otherwise).
pub fn dev_notices(ctx: &Ctx<'_>, choice: Option<&RedirectChoice>) -> Vec<String> {
    let Some(choice) = choice.filter(|_| ctx.settings.is_development()) else {
        return Vec::new();
    };
    let used = choice.target.location();
    let mut notices: Vec<String> = choice
        .rejected
        .iter()
        .map(|rejected| {
            let hint = match &rejected.reason {
                RejectReason::OriginNotAllowed(origin) => format!(
                    " To allow it, add {origin} to the variable allowed_redirect_origins (or set instance_domain to its domain)."
                ),
                _ => String::new(),
            };
            format!("{rejected}. The portal sends visitors to {used} instead.{hint}")
        })
        .collect();
    let target_host = choice.target.url().host_str().unwrap_or_default();
    let portal_host = ctx.portal_origin().host_str().unwrap_or_default();
    if !choice.target.is_same_origin() && target_host != portal_host {
        notices.push(format!(
            "The app at {} is on another host than the portal ({portal_host}): the __session cookie will not reach it, \
             so the app will keep sending visitors back to sign in. Open the portal and the app on the same host name \
             (both localhost, or both 127.0.0.1).",
            choice.target.origin()
        ));
    }
    notices
}

/// `home_url` when it passes the policy: where the logo leads, and the last "back to the
/// application" link.
pub fn home(ctx: &Ctx<'_>) -> Option<RedirectTarget> {
    policy(ctx).check(ctx.settings.home_url()?).ok()
}

/// The "back to the application" link: the validated redirect target when the request carried
/// one, else `home` (from [`home`]). Only a target outside the portal: a portal page (`/user`)
/// would send a visitor on the sign-in page back to sign-in.
pub fn back_to_app(choice: Option<&RedirectChoice>, home: Option<&RedirectTarget>) -> Option<String> {
    let from_query = choice
        .filter(|c| matches!(c.source, CandidateSource::Query(_)))
        .map(|c| &c.target);
    let target = from_query.or(home)?;
    (!target.is_same_origin()).then(|| target.location())
}

/// `path` with this request's redirect parameters, so links between pages keep them.
pub fn link_keeping_redirect(ctx: &Ctx<'_>, path: &str) -> String {
    let query = ctx.query.encode_subset(KEPT_PARAMS);
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// `/sign-in?redirect_url=<back_to>`: where a visitor without a session goes.
pub fn sign_in_location(back_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_url", back_to)
        .finish();
    format!("/sign-in?{query}")
}
