//! Hosted pages. Each module reads like a paragraph: parse the input, call the domain, render or
//! redirect. Shared request state lives in [`Ctx`].

pub mod assets;
pub mod organization;
pub mod sign_in;
pub mod sign_up;
pub mod status;
pub mod user;

use http::{HeaderMap, Method, Response, StatusCode, header};
use maud::html;
use url::Url;

use crate::config::{ConfigError, Settings};
use crate::error::PortalError;
use crate::form::Params;
use crate::redirect::{self, Fallbacks, Flow, RedirectChoice, RedirectPolicy};
use crate::views::{self, Chrome, Strings};

pub type PageResult = Result<Response<Vec<u8>>, PortalError>;

/// Extra origins a page's forms may end up at (CSP `form-action` also governs the redirect that
/// follows a form post). Pages attach it to the response; the portal writes the header.
#[derive(Debug, Clone, Default)]
pub struct FormActionOrigins(pub Vec<String>);

/// Everything a page handler needs to know about one request.
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
}

impl<'a> Ctx<'a> {
    pub fn new(
        request: &'a http::Request<Vec<u8>>,
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
        }
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

    pub fn redirect_policy(&self) -> RedirectPolicy {
        RedirectPolicy {
            portal_origin: self.portal_origin.clone(),
            instance_domain: self.settings.instance_domain.clone(),
            allowed_origins: self.settings.allowed_redirect_origins.clone(),
            development: self.settings.is_development(),
            trust_requesting_origin: self.settings.trust_requesting_origin,
            requesting_origin: redirect::requesting_origin(
                self.header("origin"),
                self.header("referer"),
            ),
        }
    }

    /// Runs the redirect chain for `flow` on this request's query and logs every rejection.
    pub fn choose_redirect(&self, flow: Flow) -> RedirectChoice {
        let fallbacks = Fallbacks {
            flow_url: self.settings.flow_fallback(flow),
            home_url: self.settings.home_url.as_deref(),
        };
        let choice = redirect::choose_redirect(
            &self.redirect_policy(),
            flow,
            |name| self.query.get(name),
            fallbacks,
        );
        for rejection in &choice.rejected {
            eprintln!("redirect: {} {rejection}", self.path);
        }
        choice
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
        if let Some(choice) =
            choice.filter(|c| matches!(c.source, redirect::CandidateSource::Query(_)))
        {
            return Some(choice.target.location());
        }
        let home = self.settings.home_url.as_deref()?;
        self.redirect_policy()
            .check(home)
            .ok()
            .map(|target| target.location())
    }

    /// Renders a full page with the shared chrome.
    pub fn render(
        &self,
        title: &str,
        wide: bool,
        choice: Option<&RedirectChoice>,
        content: maud::Markup,
    ) -> Response<Vec<u8>> {
        let notices = self.dev_notices(choice);
        let back = self.back_to_app(choice);
        let chrome = Chrome {
            branding: &self.settings.branding,
            strings: self.strings,
            dev_notices: &notices,
            back_to_app: back.as_deref(),
            flash: None,
        };
        html_response(StatusCode::OK, views::page(&chrome, title, wide, content))
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
    let mut origin =
        Url::parse(&from_request.origin().ascii_serialization()).unwrap_or(from_request);
    if !settings.is_development() && origin.scheme() == "http" {
        // `set_scheme` between special schemes keeps the port; drop the http default first.
        if origin.port().is_none() || origin.port() == Some(80) {
            let _ = origin.set_port(None);
        }
        let _ = origin.set_scheme("https");
    }
    origin
}

pub fn html_response(status: StatusCode, body: String) -> Response<Vec<u8>> {
    let mut response = Response::new(body.into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// `302 Found` to `location`, which must already be validated or a constant portal path.
pub fn redirect_to(location: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::FOUND;
    match http::HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => {
            // Validated targets are printable ASCII; anything else goes to the portal's default.
            response.headers_mut().insert(
                header::LOCATION,
                http::HeaderValue::from_static(redirect::LAST_RESORT_PATH),
            );
        }
    }
    response
}

/// Query parameters that carry redirect intent from page to page (sign-in ↔ sign-up links).
pub const REDIRECT_PARAMS: &[&str] = &[
    "redirect_url",
    "sign_in_force_redirect_url",
    "sign_in_fallback_redirect_url",
    "sign_up_force_redirect_url",
    "sign_up_fallback_redirect_url",
];

/// `path` with this request's redirect parameters, so links between pages keep them.
pub fn link_keeping_redirect(ctx: &Ctx<'_>, path: &str) -> String {
    let query = ctx.query.encode_subset(REDIRECT_PARAMS);
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Turns an error into its status and page. Details that help an attacker (configuration, internal
/// messages) are shown only in development mode; they are always logged.
pub fn error_page(ctx: &Ctx<'_>, error: PortalError) -> Response<Vec<u8>> {
    let strings = ctx.strings;
    let status = error.status();
    let (title, body) = match &error {
        PortalError::NotFound => (
            strings.not_found_title,
            html! { p.lead { (strings.not_found_lead) } },
        ),
        PortalError::MethodNotAllowed { .. } => (
            strings.method_not_allowed_title,
            html! { p.lead { (strings.method_not_allowed_lead) } },
        ),
        PortalError::Config(errors) => (
            strings.config_error_title,
            html! {
                p.lead { (strings.config_error_lead) }
                ul { @for error in errors { li.mono { (error.to_string()) } } }
            },
        ),
        PortalError::Internal(detail) => {
            eprintln!("internal error on {} {}: {detail}", ctx.method, ctx.path);
            (
                strings.error_title,
                html! { p.lead { (error.to_string()) } },
            )
        }
        other => (
            strings.error_title,
            html! { p.lead { (other.to_string()) } },
        ),
    };
    let content = html! {
        div.card {
            h1 { (title) }
            (body)
            p { a href="/sign-in" { (strings.go_to_sign_in) } }
        }
    };
    let chrome = Chrome {
        branding: &ctx.settings.branding,
        strings,
        dev_notices: &[],
        back_to_app: None,
        flash: None,
    };
    let mut response = html_response(status, views::page(&chrome, title, false, content));
    if let PortalError::MethodNotAllowed { allow } = error {
        response
            .headers_mut()
            .insert(header::ALLOW, http::HeaderValue::from_static(allow));
    }
    response
}

/// A prefill value from the query (`email_address`, `username`, …). Values longer than
/// `max_chars` or holding control characters are dropped rather than cut, so a field never shows
/// something the app did not send.
pub fn prefill<'c>(ctx: &'c Ctx<'_>, name: &str, max_chars: usize) -> Option<&'c str> {
    let value = ctx.query.get(name)?.trim();
    let acceptable = !value.is_empty()
        && value.chars().count() <= max_chars
        && !value.chars().any(char::is_control);
    acceptable.then_some(value)
}

/// Sends a visitor without a portal session to sign-in, with a way back to `path_and_query`.
pub fn sign_in_first(path_and_query: &str) -> Response<Vec<u8>> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_url", path_and_query)
        .finish();
    redirect_to(&format!("/sign-in?{query}"))
}
