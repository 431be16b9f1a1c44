//! [`Ctx`]: the facts of one request and the resources its page may need, loaded lazily (a
//! stylesheet request touches none of them): the migrated database, the keys, the visitor, the
//! checked form, and the cookies the response will set. Redirect choice lives in
//! [`super::redirects`], drawing in [`super::render`].

use std::cell::{OnceCell, RefCell};

use http::{HeaderMap, Method, StatusCode};
use maud::{Markup, html};
use url::Url;

use super::redirects;
use crate::config::Settings;
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::outbound::Http;
use crate::redirect::{Flow, RedirectTarget};
use crate::security::client_addr::{client_address, last_value};
use crate::security::csrf;
use crate::security::lockout::RatePolicy;
use crate::security::session::{self, CookieScope};
use crate::security::token::{MacKeys, Scalar, Signer, SigningKeys};
use crate::service::accounts::Attempt;
use crate::service::sessions::{self as session_rules, Visitor};
use crate::store::{self, Db, DbError, keys};
use crate::views::{self, Msg, Strings};

pub struct Ctx<'a> {
    pub settings: &'a Settings<'a>,
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Params,
    raw_query: &'a str,
    headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The portal's origin as the browser sees it (read on first use: it may need settings).
    portal_origin: OnceCell<Url>,
    request_origin: Url,
    /// The host this request was addressed to (Spin's `spin-full-url`, else the URI authority).
    pub request_host: String,
    /// The visitor's language code: `ui_locales` in the query, else the language cookie a
    /// previous `ui_locales` set, else `Accept-Language`.
    language: &'static str,
    /// Its text ([`Ctx::strings`]), made on first use: a redirect draws none.
    strings: OnceCell<&'static Strings>,
    /// Whether this request's `ui_locales` chose the language (the response remembers it).
    chosen_language: bool,
    db: &'a dyn Db,
    pub http: &'a dyn Http,
    /// Emails to send once the response is out (see `service::email::AfterResponse`).
    pub later: Option<&'a crate::service::email::AfterResponse>,
    now: i64,
    migrated: OnceCell<Result<(), DbError>>,
    client_addr: OnceCell<String>,
    stored_scalar: OnceCell<Scalar>,
    mac_keys: OnceCell<MacKeys>,
    signing_mac: OnceCell<MacKeys>,
    signer: OnceCell<Signer>,
    visitor: OnceCell<Option<Visitor>>,
    /// The visitor's CSRF cookie value, existing or minted for this response.
    csrf_cookie: OnceCell<String>,
    /// `Set-Cookie` values the pipeline adds to whatever response the page returns.
    cookies: RefCell<Vec<String>>,
}

impl<'a> Ctx<'a> {
    /// `db` is the store this request may use (migrated on first use); `now` is Unix seconds.
    pub fn new(
        request: &'a http::Request<Vec<u8>>,
        db: &'a dyn Db,
        http: &'a dyn Http,
        now: i64,
        settings: &'a Settings<'a>,
    ) -> Self {
        let headers = request.headers();
        let request_origin = request_origin(headers, request.uri());
        let request_host = request_origin.host_str().unwrap_or_default().to_owned();
        let query = Params::from_query(request.uri().query().unwrap_or_default());
        let chosen_language = query.get("ui_locales").and_then(Strings::from_ui_locales);
        let language = chosen_language
            .or_else(|| cookie_in(headers, LANGUAGE_COOKIE).and_then(Strings::by_code))
            .unwrap_or_else(|| Strings::negotiate(header_text(headers, "accept-language")));
        Self {
            query,
            raw_query: request.uri().query().unwrap_or_default(),
            method: request.method(),
            path: request.uri().path(),
            headers,
            body: request.body(),
            language,
            strings: OnceCell::new(),
            chosen_language: chosen_language.is_some(),
            settings,
            portal_origin: OnceCell::new(),
            request_origin,
            request_host,
            db,
            http,
            later: None,
            now,
            migrated: OnceCell::new(),
            client_addr: OnceCell::new(),
            stored_scalar: OnceCell::new(),
            mac_keys: OnceCell::new(),
            signing_mac: OnceCell::new(),
            signer: OnceCell::new(),
            visitor: OnceCell::new(),
            csrf_cookie: OnceCell::new(),
            cookies: RefCell::new(Vec::new()),
        }
    }

    /// Gives the request somewhere to leave work for after its response.
    pub fn with_later(mut self, later: &'a crate::service::email::AfterResponse) -> Self {
        self.later = Some(later);
        self
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    /// The visitor's language's text.
    pub fn strings(&self) -> &'static Strings {
        self.strings.get_or_init(|| Strings::of(self.language))
    }

    /// The origin browsers use for the portal: `public_origin` when set; otherwise the request's
    /// own. Spin always reports `http`, so production without `public_origin` assumes `https`.
    pub fn portal_origin(&self) -> &Url {
        self.portal_origin.get_or_init(|| {
            if let Some(origin) = self.settings.public_origin() {
                return origin.clone();
            }
            let mut origin = self.request_origin.clone();
            if !self.settings.is_development() && origin.scheme() == "http" {
                // `set_scheme` between special schemes keeps the port; drop the http default first.
                if origin.port().is_none() || origin.port() == Some(80) {
                    let _ = origin.set_port(None);
                }
                let _ = origin.set_scheme("https");
            }
            origin
        })
    }

    /// The origin of every link the portal emails: in production only `public_origin`, never
    /// the request's host (which the sender of the request chooses); a production portal
    /// without it serves nothing (`config::Settings::public_origin`), and this refuses too, so
    /// no path can mail a link to a host an attacker named.
    pub fn link_origin(&self) -> Result<&Url, PortalError> {
        if self.settings.is_development() {
            return Ok(self.portal_origin());
        }
        self.settings
            .public_origin()
            .ok_or_else(|| PortalError::Config(self.settings.fatal_errors()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_text(self.headers, name)
    }

    /// The visitor's address: from the operator's `client_ip_header` behind a proxy, else the
    /// `spin-client-addr` Spin itself appended (never one the client sent; see
    /// `security::client_addr`).
    pub fn client_addr(&self) -> &str {
        self.client_addr.get_or_init(|| {
            let proxy = self
                .settings
                .client_ip_header()
                .and_then(|name| last_value(self.headers, name));
            client_address(last_value(self.headers, "spin-client-addr"), proxy).unwrap_or_else(|| "unknown".to_owned())
        })
    }

    /// Whether the peer Spin itself saw (the last `spin-client-addr`; never the operator's proxy
    /// header nor an earlier, client-sent value) is a loopback address.
    pub fn peer_is_loopback(&self) -> bool {
        last_value(self.headers, "spin-client-addr")
            .and_then(crate::security::client_addr::parse_address)
            .and_then(|address| address.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.to_canonical().is_loopback())
    }

    /// A cookie's value, from every `Cookie` header field.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        cookie_in(self.headers, name)
    }

    /// The name of the portal session cookie (`__Host-` prefixed in production).
    pub fn portal_session_cookie(&self) -> &'static str {
        session::portal_session_cookie(!self.settings.is_development())
    }

    /// A password check from this request, for brute-force accounting.
    pub fn attempt(&self) -> Attempt<'_> {
        Attempt {
            client_addr: self.client_addr(),
            policy: self.settings.lock_policy(),
            rate: RatePolicy {
                per_minute: self.settings.password_checks_per_minute(),
            },
            now: self.now,
        }
    }

    /// The database, migrated on first use in this request.
    pub fn db(&self) -> Result<&dyn Db, PortalError> {
        let db = self.db;
        self.migrated
            .get_or_init(|| store::migrate(db, self.now))
            .clone()
            .map_err(PortalError::from)?;
        Ok(db)
    }

    /// The HMAC keys that check CSRF tokens and open sealed values: the current key and those
    /// of the previous secrets, so forms served before a rotation still work. Derived from
    /// `secret_key` with no database read and no elliptic-curve work; in development without a
    /// secret, from the signing key.
    pub fn mac_keys(&self) -> Result<&MacKeys, PortalError> {
        if let Some(keys) = self.mac_keys.get() {
            return Ok(keys);
        }
        let keys = self.build_mac_keys(true)?;
        Ok(self.mac_keys.get_or_init(|| keys))
    }

    /// The current HMAC key alone, which makes new CSRF tokens and seals: a page with a form
    /// does not read the previous secrets.
    pub fn signing_mac(&self) -> Result<&MacKeys, PortalError> {
        if let Some(keys) = self.mac_keys.get().or(self.signing_mac.get()) {
            return Ok(keys);
        }
        let keys = self.build_mac_keys(false)?;
        Ok(self.signing_mac.get_or_init(|| keys))
    }

    /// The keys second factors are checked with: the authenticator secrets' encryption keys
    /// (HKDF purpose `totp-secret` of `secret_key` and of each previous secret; in development
    /// without a secret, one derived from the generated key) and the backup codes' MAC keys.
    pub fn factor_keys(&self) -> Result<crate::service::auth::FactorKeys, PortalError> {
        const PURPOSE: &str = "totp-secret";
        let settings = &self.settings;
        let totp = match settings.secret_key() {
            Some(secret) => {
                self.refuse_bad_keys()?;
                std::iter::once(secret)
                    .chain(settings.previous_secret_keys())
                    .map(|secret| secret.derive(PURPOSE))
                    .collect()
            }
            None => {
                let configured = settings.session_signing_key().cloned();
                self.refuse_bad_keys()?;
                let scalar = match configured {
                    Some(scalar) => scalar,
                    None => self.stored_scalar()?.clone(),
                };
                vec![crate::security::token::subkey(&scalar.to_bytes(), PURPOSE)]
            }
        };
        Ok(crate::service::auth::FactorKeys {
            totp,
            mac: self.mac_keys()?.clone(),
        })
    }

    fn build_mac_keys(&self, with_previous: bool) -> Result<MacKeys, PortalError> {
        let settings = &self.settings;
        if let Some(secret) = settings.secret_key() {
            let previous = if with_previous {
                settings.previous_secret_keys()
            } else {
                &[]
            };
            self.refuse_bad_keys()?;
            return Ok(MacKeys::from_secrets(secret, previous));
        }
        let configured = settings.session_signing_key();
        self.refuse_bad_keys()?;
        let scalar = match configured {
            Some(scalar) => scalar,
            None => self.stored_scalar()?,
        };
        Ok(MacKeys::from_signing_scalar(&scalar.to_bytes()))
    }

    /// The key that signs `__session`: `session_signing_key` when set, else derived from
    /// `secret_key`. Making it costs no elliptic-curve work; each signature costs one.
    pub fn signer(&self) -> Result<&Signer, PortalError> {
        if let Some(signer) = self.signer.get() {
            return Ok(signer);
        }
        let signer = Signer::new(&self.current_signing_scalar()?);
        Ok(self.signer.get_or_init(|| signer))
    }

    /// Every key the JWKS publishes: the current one and those of the previous secrets, so
    /// tokens signed before a rotation keep verifying (a scalar multiplication each).
    pub fn published_keys(&self) -> Result<SigningKeys, PortalError> {
        let previous: Vec<Scalar> = self
            .settings
            .previous_secret_keys()
            .iter()
            .map(Scalar::derive)
            .collect();
        Ok(SigningKeys::new(&self.current_signing_scalar()?, &previous))
    }

    fn current_signing_scalar(&self) -> Result<Scalar, PortalError> {
        let settings = &self.settings;
        let configured = settings.session_signing_key().cloned();
        // A malformed override is an error, never a fallback to another key.
        self.refuse_bad_keys()?;
        if let Some(scalar) = configured {
            return Ok(scalar);
        }
        Ok(match settings.secret_key() {
            Some(secret) => Scalar::derive(secret),
            None => self.stored_scalar()?.clone(),
        })
    }

    /// The configuration error page when a key variable read so far is missing, weak or
    /// malformed: keys are never made from what is left.
    fn refuse_bad_keys(&self) -> Result<(), PortalError> {
        let fatal = self.settings.fatal_errors();
        if fatal.is_empty() {
            Ok(())
        } else {
            Err(PortalError::Config(fatal))
        }
    }

    /// The generated key of a development portal without `secret_key`, generated and stored
    /// only when none exists. Production never reads a key from the database.
    fn stored_scalar(&self) -> Result<&Scalar, PortalError> {
        if let Some(scalar) = self.stored_scalar.get() {
            return Ok(scalar);
        }
        if !self.settings.is_development() {
            return Err(PortalError::Internal(
                "production has no secret_key to derive keys from".into(),
            ));
        }
        let db = self.db()?;
        let stored = match keys::find_generated_key(db)? {
            Some(stored) => stored,
            None => keys::insert_generated_key(db, &Scalar::generate().to_bytes(), self.now)?,
        };
        let scalar = Scalar::from_bytes(&stored).map_err(PortalError::Internal)?;
        Ok(self.stored_scalar.get_or_init(|| scalar))
    }

    /// The visitor's live portal session and account, if any.
    pub fn signed_in(&self) -> Result<Option<&Visitor>, PortalError> {
        if let Some(found) = self.visitor.get() {
            return Ok(found.as_ref());
        }
        let found = match self.cookie(self.portal_session_cookie()) {
            Some(token) if !token.is_empty() => self.find_visitor(token)?,
            _ => None,
        };
        Ok(self.visitor.get_or_init(|| found).as_ref())
    }

    /// The visitor behind a session token. When the request has not checked the schema yet (the
    /// hot signed-in pages: the bounce, `/user`), the check rides in the session's statement; a
    /// read that cannot tell (no live session, another schema) checks the schema the usual way
    /// and reads again.
    fn find_visitor(&self, token: &str) -> Result<Option<Visitor>, PortalError> {
        if self.migrated.get().is_none()
            && let Some(found) =
                session_rules::find_visitor_if_schema_is(self.db, token, self.now, store::SCHEMA_VERSION)?
        {
            let _ = self.migrated.set(Ok(()));
            return Ok(Some(found));
        }
        Ok(session_rules::find_visitor(self.db()?, token, self.now)?)
    }

    /// The signed-in visitor, or [`PortalError::SignInFirst`]: the one gate of every signed-in
    /// page and post. A revoked or expired session changes nothing and is sent to sign in.
    pub fn visitor(&self) -> Result<&Visitor, PortalError> {
        self.signed_in()?.ok_or_else(|| PortalError::SignInFirst {
            back_to: self.return_path(),
        })
    }

    /// Where to come back to after signing in: this page, or for a post, the page its form is on
    /// (the first segment of its path: `/user/email` is on `/user`).
    fn return_path(&self) -> String {
        if *self.method == Method::POST {
            let page_end = self.path[1..].find('/').map_or(self.path.len(), |i| i + 1);
            return self.path[..page_end].to_owned();
        }
        match self.raw_query {
            "" => self.path.to_owned(),
            query => format!("{}?{query}", self.path),
        }
    }

    /// Reads a POSTed form and checks it came from this visitor's page: see [`Ctx::parse_form`]
    /// and [`Ctx::check_form`].
    pub fn form(&self) -> Result<Params, PortalError> {
        let form = self.parse_form()?;
        self.check_form(&form)?;
        Ok(form)
    }

    /// Reads a POSTed form: its type (415) and encoding (400). Nothing may act on it before
    /// [`Ctx::check_form`] passes.
    pub fn parse_form(&self) -> Result<Params, PortalError> {
        let content_type = self.header("content-type").unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(PortalError::UnsupportedMediaType);
        }
        Params::from_form_body(self.body).map_err(|error| {
            eprintln!("refused form on {}: {error}", self.path);
            PortalError::BadRequest(Msg::BadFormEncoding)
        })
    }

    /// Checks a form came from this visitor's page (`security::csrf`). A cross-site post is an
    /// error page (403). A missing or stale token on a post the browser itself says came from the
    /// portal (an expired cookie, a form left open) is a [`FormProblem`]: the page shows the
    /// form again with what was typed and a fresh token, acting on nothing.
    pub fn check_form(&self, form: &Params) -> Result<(), PortalError> {
        let refuse = |rejection: csrf::CsrfRejection| {
            eprintln!("refused post to {}: {rejection}", self.path);
            PortalError::from(rejection)
        };
        csrf::check_headers(
            self.header("origin"),
            self.header("sec-fetch-site"),
            &self.portal_origin().origin(),
        )
        .map_err(refuse)?;
        let cookie = self.cookie(csrf::cookie_name(!self.settings.is_development()));
        let Err(rejection) = csrf::check_token(self.mac_keys()?, cookie, form.get(csrf::FIELD)) else {
            return Ok(());
        };
        let portal = self.portal_origin().origin().ascii_serialization();
        let vouched = self.header("sec-fetch-site") == Some("same-origin") || self.header("origin") == Some(&portal);
        if !vouched {
            return Err(refuse(rejection));
        }
        eprintln!("form on {} shown again: {rejection}", self.path);
        Err(FormProblem::new(StatusCode::FORBIDDEN, Msg::FormExpired).into())
    }

    /// The visitor's CSRF cookie value, minted (and set on the response) if they have none. It
    /// also binds sealed values to this visitor.
    pub fn csrf_cookie_value(&self) -> &str {
        self.csrf_cookie.get_or_init(|| {
            let name = csrf::cookie_name(!self.settings.is_development());
            match self.cookie(name) {
                Some(value) if !value.is_empty() => value.to_owned(),
                _ => {
                    // One new value per response, however many forms the page has.
                    let value = csrf::new_cookie_value();
                    let scope = self.portal_cookie_scope();
                    self.add_cookie(session::set_cookie(name, &value, csrf::COOKIE_LIFETIME, &scope));
                    value
                }
            }
        })
    }

    /// The hidden CSRF field for a form, setting the visitor's CSRF cookie if they have none.
    pub fn csrf_field(&self) -> Result<Markup, PortalError> {
        let token = csrf::form_token(self.signing_mac()?, self.csrf_cookie_value());
        Ok(views::hidden(csrf::FIELD, &token))
    }

    /// The two hidden fields of a form that ends in `flow`'s redirect: CSRF and the sealed target.
    pub fn form_fields(&self, flow: Flow, target: &RedirectTarget) -> Result<Markup, PortalError> {
        let csrf = self.csrf_field()?;
        let sealed = redirects::sealed_field(self, flow, target)?;
        Ok(html! { (csrf) (sealed) })
    }

    /// Remembers a language `ui_locales` chose, so the pages after this one (a redirect to
    /// `/user` after sign-in, links without the parameter) keep speaking it. Not a secret and
    /// not a prefixed cookie: a sibling subdomain setting it can only change the language.
    pub fn remember_language(&self) {
        if self.chosen_language {
            let scope = self.portal_cookie_scope();
            self.add_cookie(session::set_cookie(
                LANGUAGE_COOKIE,
                self.language,
                LANGUAGE_COOKIE_LIFETIME,
                &scope,
            ));
        }
    }

    /// Adds a `Set-Cookie`. A later one for the same cookie (name and `Domain`) replaces the
    /// earlier: a response states each cookie once, and what the handler decided last is what
    /// the browser keeps (a token re-issued after the session changed, say).
    pub fn add_cookie(&self, set_cookie: String) {
        let mut cookies = self.cookies.borrow_mut();
        let same = cookie_identity(&set_cookie);
        cookies.retain(|earlier| cookie_identity(earlier) != same);
        cookies.push(set_cookie);
    }

    pub fn take_cookies(&self) -> Vec<String> {
        std::mem::take(&mut self.cookies.borrow_mut())
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
                    self.settings.instance_domain(),
                    self.portal_origin().host_str().unwrap_or_default(),
                )
            })
            .flatten();
        CookieScope {
            secure: production,
            domain,
        }
    }
}

/// The cookie that remembers a language chosen with `ui_locales`.
const LANGUAGE_COOKIE: &str = "portal_locale";

/// A year: a language choice lasts until the visitor makes another.
const LANGUAGE_COOKIE_LIFETIME: i64 = 365 * 24 * 3600;

/// A cookie's value, from every `Cookie` header field.
fn cookie_in<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let fields = headers
        .get_all(http::header::COOKIE)
        .into_iter()
        .filter_map(|value| value.to_str().ok());
    session::read_cookie(fields, name)
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The origin this request was addressed to: Spin's `spin-full-url` (the last one; Spin appends
/// its own after any the client sent), else the URI authority.
fn request_origin(headers: &HeaderMap, uri: &http::Uri) -> Url {
    let from_request = last_value(headers, "spin-full-url")
        .and_then(|full| Url::parse(full).ok())
        .or_else(|| Url::parse(&format!("http://{}/", uri.authority()?)).ok())
        .filter(|url| url.host_str().is_some())
        .unwrap_or_else(|| Url::parse("http://localhost/").expect("constant URL"));
    Url::parse(&from_request.origin().ascii_serialization()).unwrap_or(from_request)
}

/// The name and `Domain` of a `Set-Cookie` value: what makes two of them the same cookie here
/// (every portal cookie is on `Path=/`).
fn cookie_identity(set_cookie: &str) -> (&str, Option<&str>) {
    let mut parts = set_cookie.split(';').map(str::trim);
    let name = parts.next().and_then(|pair| pair.split('=').next()).unwrap_or("");
    let domain = parts.find_map(|attribute| {
        let (key, value) = attribute.split_once('=')?;
        key.eq_ignore_ascii_case("domain").then_some(value)
    });
    (name, domain)
}

#[cfg(test)]
mod tests {
    use super::cookie_identity;

    #[test]
    fn the_same_cookie_is_its_name_and_domain() {
        assert_eq!(
            cookie_identity("__session=a.b.c; Path=/; HttpOnly; Domain=example.com; Secure"),
            ("__session", Some("example.com"))
        );
        assert_eq!(
            cookie_identity("__session=; Path=/; Max-Age=0"),
            ("__session", None),
            "a host-only clear is another cookie than a domain one"
        );
        assert_eq!(cookie_identity("broken"), ("broken", None));
    }
}
