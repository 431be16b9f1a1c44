//! The route table and the request pipeline: settings → route → page → security headers.
//! This is the one place routes are listed.

use http::{HeaderValue, Method, Request, Response, header};

use crate::config::{Settings, Variables};
use crate::error::PortalError;
use crate::outbound::Http;
use crate::pages::{
    Ctx, FormActionOrigins, PageResult, ShowsBotCheck, admin, assets, codes, error_page, factor_two, oauth,
    organization, passkeys, recovery, sign_in, sign_out, sign_up, status, step_up, user, waitlist,
};
use crate::store::Db;

/// Largest request body the portal reads; larger bodies are answered with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the host provides to one request.
pub struct Env<'a> {
    pub variables: &'a dyn Variables,
    /// Spin's SQLite database `default`.
    pub db: &'a dyn Db,
    /// Outbound HTTP (the email provider), limited by Spin to `allowed_outbound_hosts`.
    pub http: &'a dyn Http,
    /// Unix time, seconds.
    pub now: i64,
    /// What the request leaves for after its response (emails that must not delay it); the
    /// host runs it with `after_response` once the response is written.
    pub later: &'a crate::service::email::AfterResponse,
}

/// Handles one request. Never panics on input: every failure becomes a page. A request whose
/// changes wrote webhook events leaves their delivery for after its response.
pub fn handle(request: Request<Vec<u8>>, env: &Env<'_>) -> Response<Vec<u8>> {
    let settings = Settings::new(env.variables);
    let webhooks_on = || settings.webhooks().is_some();
    let db = crate::store::events::Recording::new(env.db, &webhooks_on);
    let response = respond(&request, env, &settings, &db);
    if db.recorded()
        && let Some(webhooks) = settings.webhooks()
    {
        env.later.deliver_webhooks(webhooks.clone());
    }
    response
}

fn respond(
    request: &Request<Vec<u8>>,
    env: &Env<'_>,
    settings: &Settings<'_>,
    db: &dyn crate::store::Db,
) -> Response<Vec<u8>> {
    let ctx = Ctx::new(request, db, env.http, env.now, settings).with_later(env.later);
    if is_api(ctx.path) {
        // The Backend API answers JSON and never reads or sets a cookie.
        let mut response = crate::api::handle(&ctx, check_configuration(&ctx));
        add_security_headers(&ctx, &mut response);
        if ctx.method == Method::HEAD {
            response.body_mut().clear();
        }
        return response;
    }
    let mut response = route(&ctx).unwrap_or_else(|error| {
        // Cookies a failed page meant to set (a half-finished sign-in) must not leak out.
        ctx.take_cookies();
        error_page::render(&ctx, error)
    });
    ctx.remember_language();
    for cookie in ctx.take_cookies() {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    add_security_headers(&ctx, &mut response);
    if ctx.method == Method::HEAD {
        response.body_mut().clear();
    }
    response
}

/// Whether `path` is the Backend API's (`/api` and below).
fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Development mode relaxes the redirect policy, drops `Secure` from cookies, keeps its key in
/// the database and shows every emailed code at `/dev/outbox`: fine on a laptop, an account
/// takeover on a public host. So it serves only this machine, decided by what the client cannot
/// choose together with what it can:
/// - the peer address Spin itself appended (`spin-client-addr`, the last value; a client-sent
///   one comes first and is ignored) is a loopback address, and
/// - the request's host (the authority Spin reports) is loopback (`localhost`, `*.localhost`,
///   `127.0.0.0/8`, `[::1]`): a request relayed by a local reverse proxy for a public name is
///   still refused;
///
/// or the host is one the operator listed in `development_hosts` (a tunnel, a phone on the LAN:
/// the operator chose to open it, from any peer). A `Host: localhost` header from another
/// machine is refused. A deployment that forgot `environment=production` gets a 503 page
/// saying so, and nothing else. See [`is_this_machine`] for `/dev/outbox`, which never opens
/// to `development_hosts`.
fn is_served_in_development(ctx: &Ctx<'_>, development_hosts: &[String]) -> bool {
    let host = ctx.request_host.to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    is_this_machine(ctx)
        || development_hosts
            .iter()
            .any(|allowed| allowed.trim_start_matches('[').trim_end_matches(']') == bare)
}

/// Whether both the peer Spin saw and the host the request was addressed to are this machine.
pub fn is_this_machine(ctx: &Ctx<'_>) -> bool {
    is_loopback_host(&ctx.request_host) && ctx.peer_is_loopback()
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_canonical().is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    }
}

/// Runs what the request left for after its response (see
/// `service::email::AfterResponse`). Call it once the response has been written.
#[cfg_attr(
    not(any(target_arch = "wasm32", test)),
    allow(dead_code, reason = "used by the Spin host and tests")
)]
pub fn after_response(env: &Env<'_>) {
    if !env.later.is_empty() {
        env.later.run(env.db, env.http, env.now);
    }
}

type Handler = fn(&Ctx<'_>) -> PageResult;

/// `(path, GET handler, POST handler)`; `HEAD` is answered like `GET`.
const ROUTES: &[(&str, Option<Handler>, Option<Handler>)] = &[
    ("/", Some(status::root), None),
    ("/healthz", Some(status::healthz), None),
    ("/sign-in", Some(sign_in::show), Some(sign_in::submit)),
    ("/sign-in/code", None, Some(sign_in::submit_code)),
    ("/sign-in/passkey", None, Some(sign_in::submit_passkey)),
    ("/sign-in/oauth", Some(oauth::start), None),
    (
        "/sign-in/oauth/callback",
        Some(oauth::callback),
        Some(oauth::callback_posted),
    ),
    ("/sign-in/oauth/callback/continue", None, Some(oauth::callback_continue)),
    (
        "/sign-in/oauth/finish",
        Some(oauth::show_finish),
        Some(oauth::submit_finish),
    ),
    ("/passkeys/challenge", None, Some(passkeys::challenge)),
    ("/sign-in/factor-two", Some(factor_two::show), Some(factor_two::submit)),
    ("/sign-up", Some(sign_up::show), Some(sign_up::submit)),
    ("/verify", Some(codes::show), Some(codes::submit)),
    ("/verify/resend", None, Some(codes::resend)),
    ("/forgot-password", Some(recovery::show), Some(recovery::submit)),
    ("/waitlist", Some(waitlist::show), Some(waitlist::submit)),
    ("/dev/outbox", Some(status::dev_outbox), None),
    ("/sign-out", Some(sign_out::show), Some(sign_out::submit)),
    ("/.well-known/jwks.json", Some(status::jwks), None),
    ("/user", Some(user::show), None),
    ("/user/profile", None, Some(user::update_profile)),
    ("/user/email", None, Some(user::update_email)),
    ("/user/email/verify", None, Some(user::verify_email)),
    ("/user/phone", None, Some(user::update_phone)),
    ("/user/password", None, Some(user::update_password)),
    ("/user/password/remove", None, Some(user::remove_password)),
    ("/user/passkeys", None, Some(user::register_passkey)),
    ("/user/connections/connect", None, Some(oauth::connect)),
    ("/user/connections/disconnect", None, Some(oauth::disconnect)),
    ("/user/connections/reauth", None, Some(oauth::reauth)),
    ("/user/passkeys/new", None, Some(user::new_passkey)),
    ("/user/passkeys/rename", None, Some(user::rename_passkey)),
    ("/user/passkeys/remove", None, Some(user::remove_passkey)),
    ("/user/sessions/revoke", None, Some(user::revoke_session)),
    ("/user/sessions/revoke-others", None, Some(user::revoke_other_sessions)),
    ("/user/delete", None, Some(user::delete_account)),
    ("/user/two-step", Some(user::show_two_step), Some(user::start_two_step)),
    ("/user/two-step/confirm", None, Some(user::confirm_two_step)),
    ("/user/two-step/backup-codes", None, Some(user::regenerate_backup_codes)),
    ("/user/two-step/disable", None, Some(user::disable_two_step)),
    ("/user/verify", None, Some(step_up::submit)),
    ("/organization", Some(organization::show), None),
    ("/organization/switch", None, Some(organization::switch)),
    ("/organization/general", None, Some(organization::update_general)),
    ("/organization/two-step", None, Some(organization::set_two_step)),
    ("/organization/members/role", None, Some(organization::change_role)),
    ("/organization/members/remove", None, Some(organization::remove_member)),
    ("/organization/invitations", None, Some(organization::invite)),
    (
        "/organization/invitations/created",
        Some(organization::show_created_invitation),
        None,
    ),
    (
        "/organization/invitations/revoke",
        None,
        Some(organization::revoke_invitation),
    ),
    ("/organization/leave", None, Some(organization::leave)),
    ("/organization/delete", None, Some(organization::delete)),
    ("/organization/invitation", Some(organization::show_invitation), None),
    (
        "/organization/invitation/accept",
        None,
        Some(organization::accept_invitation),
    ),
    (
        "/organization/invitation/join",
        None,
        Some(organization::join_invitation),
    ),
    (
        "/organization/invitation/decline",
        None,
        Some(organization::decline_invitation),
    ),
    (
        "/create-organization",
        Some(organization::show_create),
        Some(organization::create),
    ),
    ("/unauthorized-sign-in", Some(status::unauthorized_sign_in), None),
    ("/admin", Some(admin::users), None),
    ("/admin/user", Some(admin::user), None),
    ("/admin/user/action", None, Some(admin::user_action)),
    ("/admin/organizations", Some(admin::organizations_list), None),
    ("/admin/invitations", Some(admin::invitations), None),
    ("/admin/invitations/revoke", None, Some(admin::revoke_invitation)),
    ("/admin/waitlist", Some(admin::waitlist), None),
    ("/admin/waitlist/approve", None, Some(admin::approve_waitlist)),
    ("/admin/webhooks", Some(admin::webhooks), None),
    ("/admin/webhooks/retry", None, Some(admin::retry_webhook)),
    ("/admin/audit", Some(admin::audit), None),
];

fn route(ctx: &Ctx<'_>) -> PageResult {
    let is_asset = ctx.path.starts_with("/assets/");
    // The health check goes through the same check as every page: a portal whose pages are all
    // a configuration error is not healthy. Only the stylesheets and script skip it.
    if !is_asset {
        check_configuration(ctx)?;
    }
    let (get, post) = if is_asset {
        (Some(assets::serve as Handler), None)
    } else {
        ROUTES
            .iter()
            .find(|(path, _, _)| *path == ctx.path)
            .map(|(_, get, post)| (*get, *post))
            .ok_or(PortalError::NotFound)?
    };
    let handler = match *ctx.method {
        Method::GET | Method::HEAD => get,
        Method::POST => post,
        _ => None,
    };
    let Some(handler) = handler else {
        let allow = match (get.is_some(), post.is_some()) {
            (true, true) => "GET, HEAD, POST",
            (false, true) => "POST",
            _ => "GET, HEAD",
        };
        return Err(PortalError::MethodNotAllowed { allow });
    };
    if ctx.body.len() > MAX_BODY_BYTES {
        return Err(PortalError::PayloadTooLarge);
    }
    handler(ctx)
}

/// Before any page (the health check and the stylesheets read no variable and skip this):
/// development mode serves only this machine and shows every malformed variable; production
/// serves nothing without its secret.
fn check_configuration(ctx: &Ctx<'_>) -> Result<(), PortalError> {
    let settings = &ctx.settings;
    for error in settings.prepare() {
        eprintln!("configuration error: {error}");
    }
    if settings.is_development() {
        if !is_served_in_development(ctx, settings.development_hosts()) {
            return Err(PortalError::DevelopmentHost(ctx.request_host.clone()));
        }
        let errors = settings.errors();
        if !errors.is_empty() {
            return Err(PortalError::Config(errors));
        }
    } else {
        settings.secret_key();
        settings.public_origin();
        if *ctx.method == Method::POST {
            // A post may change what is stored: every key it could need must be sound first,
            // so it never stops half-way (pages read only the keys they use).
            settings.session_signing_key();
            settings.previous_secret_keys();
        }
        let fatal = settings.fatal_errors();
        if !fatal.is_empty() {
            return Err(PortalError::Config(fatal));
        }
    }
    Ok(())
}

/// Headers every response carries. HTML is never cached (it can hold personal data and CSRF
/// tokens); the fingerprinted stylesheets set their own long-lived caching.
fn add_security_headers(ctx: &Ctx<'_>, response: &mut Response<Vec<u8>>) {
    let mut form_action = String::from("'self'");
    if let Some(FormActionOrigins(origins)) = response.extensions().get::<FormActionOrigins>() {
        for origin in origins {
            form_action.push(' ');
            form_action.push_str(origin);
        }
    }
    // Turnstile's widget is a script and a frame from its origin, on the pages that show it.
    let (scripts, frames) = match response.extensions().get::<ShowsBotCheck>() {
        Some(_) => {
            let origin = crate::security::bot_check::WIDGET_ORIGIN;
            (format!("'self' {origin}"), format!(" frame-src {origin};"))
        }
        None => ("'self'".to_owned(), String::new()),
    };
    let csp = format!(
        "default-src 'none'; script-src {scripts};{frames} connect-src 'self'; style-src 'self'; img-src 'self' https: data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.entry(name).or_insert(value);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(header::CACHE_CONTROL, "no-store");
    // Pages say it; the health check and stylesheets read no settings to know.
    if ctx.settings.is_known_production() && ctx.portal_origin().scheme() == "https" {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
}

#[cfg(test)]
mod tests;
