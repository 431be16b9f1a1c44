//! [`Ctx`]: everything a page handler needs about one request, with the storage, keys and
//! session it uses loaded lazily (a stylesheet request touches none of them).

use std::cell::{OnceCell, RefCell};

use http::{HeaderMap, Method, Response, StatusCode};
use maud::Markup;
use url::Url;

use super::{FormActionOrigins, html_response};
use crate::config::{ConfigError, Settings};
use crate::error::PortalError;
use crate::form::Params;
use crate::portal::Env;
use crate::redirect::{self, Fallbacks, Flow, RedirectChoice, RedirectPolicy, RedirectTarget};
use crate::security::session::{self, CookieScope};
use crate::security::token::Keys;
use crate::security::{csrf, random_bytes};
use crate::store::sessions::{self, PortalSession};
use crate::store::users::{self, User};
use crate::store::{self, Db, DbError, keys};
use crate::views::{self, Chrome, Strings};

/// A visitor with a live portal session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: PortalSession,
    pub user: User,
}

/// How long a sealed redirect target in a form stays usable.
const SEALED_REDIRECT_LIFETIME: i64 = 24 * 3600;

/// The hidden field that carries the validated redirect target through a form.
pub const REDIRECT_FIELD: &str = "redirect_target";

pub struct Ctx<'a> {
    pub settings: Settings,
    pub config_errors: Vec<ConfigError>,
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Params,
    raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The portal's origin as the browser sees it.
    pub portal_origin: Url,
    pub strings: &'static Strings,
    env: &'a Env<'a>,
    migrated: OnceCell<Result<(), DbError>>,
    keys: OnceCell<Keys>,
    signed_in: OnceCell<Option<SignedIn>>,
    /// The visitor's CSRF cookie value, existing or minted for this response.
    csrf_cookie: OnceCell<String>,
    /// `Set-Cookie` values the pipeline adds to whatever response the page returns.
    pending_cookies: RefCell<Vec<String>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        request: &'a http::Request<Vec<u8>>,
        env: &'a Env<'a>,
        settings: Settings,
        config_errors: Vec<ConfigError>,
    ) -> Self {
        let headers = request.headers();
        let portal_origin = portal_origin(&settings, headers, request.uri());
        Self {
            query: Params::from_query(request.uri().query().unwrap_or_default()),
            raw_query: request.uri().query().unwrap_or_default(),
            method: request.method(),
            path: request.uri().path(),
            headers,
            body: request.body(),
            strings: Strings::negotiate(header_text(headers, "accept-language")),
            settings,
            config_errors,
            portal_origin,
            env,
            migrated: OnceCell::new(),
            keys: OnceCell::new(),
            signed_in: OnceCell::new(),
            csrf_cookie: OnceCell::new(),
            pending_cookies: RefCell::new(Vec::new()),
        }
    }

    pub fn now(&self) -> i64 {
        self.env.now
    }

    /// This request's path and query, to come back to after signing in.
    pub fn path_and_query(&self) -> String {
        match self.raw_query {
            "" => self.path.to_owned(),
            query => format!("{}?{query}", self.path),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_text(self.headers, name)
    }

    /// The client's address as Spin reports it.
    pub fn client_addr(&self) -> &str {
        self.header("spin-client-addr").unwrap_or("unknown")
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        session::read_cookie(self.header("cookie"), name)
    }

    /// The database, migrated on first use in this request.
    pub fn db(&self) -> Result<&dyn Db, PortalError> {
        let db = self.env.db;
        self.migrated
            .get_or_init(|| store::migrate(db, self.now()))
            .clone()
            .map_err(PortalError::from)?;
        Ok(db)
    }

    /// The signing keys: the `session_signing_key` variable, else the generated stored key.
    pub fn keys(&self) -> Result<&Keys, PortalError> {
        if let Some(keys) = self.keys.get() {
            return Ok(keys);
        }
        let keys = match &self.settings.session_signing_key {
            Some(keys) => keys.clone(),
            None => {
                let (candidate, scalar) = Keys::generate();
                let stored = keys::get_or_insert_generated_key(self.db()?, &scalar, self.now())?;
                if stored == scalar {
                    candidate
                } else {
                    Keys::from_scalar(&stored).map_err(PortalError::Internal)?
                }
            }
        };
        Ok(self.keys.get_or_init(|| keys))
    }

    /// The visitor's live portal session and account, if any.
    pub fn signed_in(&self) -> Result<Option<&SignedIn>, PortalError> {
        if let Some(found) = self.signed_in.get() {
            return Ok(found.as_ref());
        }
        let found = match self.cookie(session::PORTAL_SESSION_COOKIE) {
            Some(token) if !token.is_empty() => {
                let db = self.db()?;
                let hash = session::token_hash(token);
                match sessions::find_live_session(db, &hash, self.now())? {
                    Some(session) => {
                        users::find_user_by_id(db, &session.user_id)?.map(|user| SignedIn { session, user })
                    }
                    None => None,
                }
            }
            _ => None,
        };
        Ok(self.signed_in.get_or_init(|| found).as_ref())
    }

    pub fn add_cookie(&self, set_cookie: String) {
        self.pending_cookies.borrow_mut().push(set_cookie);
    }

    pub fn take_cookies(&self) -> Vec<String> {
        std::mem::take(&mut self.pending_cookies.borrow_mut())
    }

    /// Cookies only the portal reads: host-only.
    pub fn portal_cookie_scope(&self) -> CookieScope<'_> {
        CookieScope {
            secure: !self.settings.is_development(),
            domain: None,
        }
    }

    /// `__session`: scoped to the instance domain in production so apps receive it.
    pub fn session_cookie_scope(&self) -> CookieScope<'_> {
        let production = !self.settings.is_development();
        let domain = production
            .then(|| {
                session::session_cookie_domain(
                    self.settings.instance_domain.as_deref(),
                    self.portal_origin.host_str().unwrap_or_default(),
                )
            })
            .flatten();
        CookieScope {
            secure: production,
            domain,
        }
    }

    /// The hidden CSRF field for a form, setting the visitor's CSRF cookie if they have none.
    pub fn csrf_field(&self) -> Result<Markup, PortalError> {
        let cookie_value = self.csrf_cookie.get_or_init(|| {
            let name = csrf::cookie_name(!self.settings.is_development());
            match self.cookie(name) {
                Some(value) if !value.is_empty() => value.to_owned(),
                _ => {
                    // One new value per response, however many forms the page has.
                    let value = csrf::new_cookie_value();
                    let lifetime = self.settings.limits.portal_session_lifetime;
                    self.add_cookie(session::set_cookie(name, &value, lifetime, &self.portal_cookie_scope()));
                    value
                }
            }
        });
        Ok(views::hidden(
            csrf::FIELD,
            &csrf::form_token(self.keys()?, cookie_value),
        ))
    }

    /// Reads a POSTed form: checks its type (415), encoding (400), origin and CSRF token (403).
    pub fn form(&self) -> Result<Params, PortalError> {
        let content_type = self.header("content-type").unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(PortalError::UnsupportedMediaType);
        }
        let form = Params::from_form_body(self.body).map_err(|error| {
            eprintln!("refused form on {}: {error}", self.path);
            PortalError::BadRequest(self.strings.bad_form_encoding.to_owned())
        })?;
        csrf::check_headers(
            self.header("origin"),
            self.header("sec-fetch-site"),
            &self.portal_origin.origin(),
        )
        .map_err(|rejection| PortalError::Forbidden(rejection.to_string()))?;
        let cookie = self.cookie(csrf::cookie_name(!self.settings.is_development()));
        csrf::check_token(self.keys()?, cookie, form.get(csrf::FIELD))
            .map_err(|rejection| self.csrf_refusal(rejection))?;
        Ok(form)
    }

    /// A refused post as a 403 page in the visitor's language; the reason is logged.
    fn csrf_refusal(&self, rejection: csrf::CsrfRejection) -> PortalError {
        eprintln!("refused post to {}: {rejection}", self.path);
        let message = match rejection {
            csrf::CsrfRejection::CrossSiteOrigin | csrf::CsrfRejection::CrossSiteFetch => self.strings.csrf_cross_site,
            csrf::CsrfRejection::MissingToken => self.strings.csrf_token_missing,
            csrf::CsrfRejection::BadToken => self.strings.csrf_token_invalid,
        };
        PortalError::Forbidden(message.to_owned())
    }

    /// The redirect policy for this request.
    pub fn redirect_policy(&self) -> RedirectPolicy {
        RedirectPolicy {
            portal_origin: self.portal_origin.clone(),
            instance_domain: self.settings.instance_domain.clone(),
            allowed_origins: self.settings.allowed_redirect_origins.clone(),
            development: self.settings.is_development(),
            trust_requesting_origin: self.settings.trust_requesting_origin,
            requesting_origin: redirect::requesting_origin(self.header("origin"), self.header("referer")),
        }
    }

    /// Runs the redirect chain for `flow` on this request's query and logs every rejection.
    pub fn choose_redirect(&self, flow: Flow) -> RedirectChoice {
        let fallbacks = Fallbacks {
            flow_url: self.settings.flow_fallback(flow),
            home_url: self.settings.home_url.as_deref(),
        };
        let choice = redirect::choose_redirect(&self.redirect_policy(), flow, |name| self.query.get(name), fallbacks);
        for rejection in &choice.rejected {
            eprintln!("redirect: {} {rejection}", self.path);
        }
        choice
    }

    /// Where a form of `flow` that carries no redirect of its own ends: the operator's fallbacks
    /// only (the chain a POST without redirect parameters runs). Not logged: the post logs.
    pub fn fallback_redirect(&self, flow: Flow) -> RedirectTarget {
        let fallbacks = Fallbacks {
            flow_url: self.settings.flow_fallback(flow),
            home_url: self.settings.home_url.as_deref(),
        };
        redirect::choose_redirect(&self.redirect_policy(), flow, |_| None, fallbacks).target
    }

    /// The hidden field carrying a validated target through a form, sealed for `flow`.
    pub fn sealed_redirect_field(&self, flow: Flow, target: &RedirectTarget) -> Result<Markup, PortalError> {
        let payload = format!("{}\n{}", self.now() + SEALED_REDIRECT_LIFETIME, target.url());
        let sealed = self.keys()?.seal(&format!("redirect:{flow:?}"), &payload);
        Ok(views::hidden(REDIRECT_FIELD, &sealed))
    }

    /// The target a form carried, if its seal holds and has not expired; otherwise the chain's
    /// answer for this request (fallbacks only, as a POST has no redirect parameters).
    pub fn redirect_from_form(&self, flow: Flow, form: &Params) -> Result<RedirectTarget, PortalError> {
        let keys = self.keys()?;
        let sealed = form
            .get(REDIRECT_FIELD)
            .and_then(|sealed| keys.unseal(&format!("redirect:{flow:?}"), sealed))
            .and_then(|payload| {
                let (expires, url) = payload.split_once('\n')?;
                let fresh = expires.parse::<i64>().ok()? > self.now();
                fresh.then(|| Url::parse(url).ok()).flatten()
            });
        Ok(match sealed {
            Some(url) => RedirectTarget::resume(url, &self.portal_origin),
            None => self.choose_redirect(flow).target,
        })
    }

    /// Notices shown in development mode only.
    pub fn dev_notices(&self, choice: Option<&RedirectChoice>) -> Vec<String> {
        if !self.settings.is_development() {
            return Vec::new();
        }
        choice
            .map(|choice| choice.rejected.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// The "back to the application" link: the validated redirect target when the request
    /// carried one, else `home_url` when it passes the policy.
    pub fn back_to_app(&self, choice: Option<&RedirectChoice>) -> Option<String> {
        if let Some(choice) = choice.filter(|c| matches!(c.source, redirect::CandidateSource::Query(_))) {
            return Some(choice.target.location());
        }
        let home = self.settings.home_url.as_deref()?;
        self.redirect_policy().check(home).ok().map(|target| target.location())
    }

    /// Renders a full page with the shared chrome.
    pub fn render(
        &self,
        title: &str,
        wide: bool,
        choice: Option<&RedirectChoice>,
        content: Markup,
    ) -> Response<Vec<u8>> {
        self.render_with(StatusCode::OK, title, wide, choice, None, content)
    }

    /// Renders a page with a status, a flash message, and the redirect target's origin allowed
    /// as a form destination.
    pub fn render_with(
        &self,
        status: StatusCode,
        title: &str,
        wide: bool,
        choice: Option<&RedirectChoice>,
        flash: Option<&str>,
        content: Markup,
    ) -> Response<Vec<u8>> {
        let notices = self.dev_notices(choice);
        let back = self.back_to_app(choice);
        let chrome = Chrome {
            branding: &self.settings.branding,
            strings: self.strings,
            dev_notices: &notices,
            back_to_app: back.as_deref(),
            flash,
        };
        let mut response = html_response(status, views::page(&chrome, title, wide, content));
        if let Some(choice) = choice {
            allow_form_target(&mut response, &choice.target);
        }
        response
    }
}

/// Lets this page's forms end in a redirect to `target` (CSP `form-action` governs it).
pub fn allow_form_target(response: &mut Response<Vec<u8>>, target: &RedirectTarget) {
    if target.is_same_origin() {
        return;
    }
    let origin = target.origin();
    let extensions = response.extensions_mut();
    match extensions.get_mut::<FormActionOrigins>() {
        Some(FormActionOrigins(origins)) if !origins.contains(&origin) => origins.push(origin),
        Some(_) => {}
        None => {
            extensions.insert(FormActionOrigins(vec![origin]));
        }
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The origin browsers use for the portal: `public_origin` when set; otherwise the request's
/// own URL (`spin-full-url`, else the URI authority). Spin always reports `http`, so production
/// without `public_origin` assumes `https`.
fn portal_origin(settings: &Settings, headers: &HeaderMap, uri: &http::Uri) -> Url {
    if let Some(origin) = &settings.public_origin {
        return origin.clone();
    }
    let from_request = header_text(headers, "spin-full-url")
        .and_then(|full| Url::parse(full).ok())
        .or_else(|| Url::parse(&format!("http://{}/", uri.authority()?)).ok())
        .filter(|url| url.host_str().is_some())
        .unwrap_or_else(|| Url::parse("http://localhost/").expect("constant URL"));
    let mut origin = Url::parse(&from_request.origin().ascii_serialization()).unwrap_or(from_request);
    if !settings.is_development() && origin.scheme() == "http" {
        // `set_scheme` between special schemes keeps the port; drop the http default first.
        if origin.port().is_none() || origin.port() == Some(80) {
            let _ = origin.set_port(None);
        }
        let _ = origin.set_scheme("https");
    }
    origin
}

impl From<DbError> for PortalError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Busy => Self::Unavailable(error.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Unpredictable identifiers for JWT `jti`.
pub fn new_jti() -> String {
    crate::security::base64url(&random_bytes::<16>())
}
