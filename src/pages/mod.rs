//! Hosted pages. Each module reads like a paragraph: parse the input, call the domain, render or
//! redirect. Shared request state lives in [`Ctx`].

pub mod assets;
mod ctx;
pub mod organization;
pub mod sign_in;
pub mod sign_out;
pub mod sign_up;
mod signed_in;
pub mod status;
pub mod user;

pub use ctx::{Ctx, SignedIn, allow_form_target};

use http::{Response, StatusCode, header};
use maud::html;

use crate::accounts::FieldError;
use crate::domain::FieldProblem;
use crate::error::PortalError;
use crate::redirect;
use crate::security::password::PasswordProblem;
use crate::views::{self, Chrome, Strings};

pub type PageResult = Result<Response<Vec<u8>>, PortalError>;

/// Extra origins a page's forms may end up at (CSP `form-action` also governs the redirect that
/// follows a form post). Pages attach it to the response; the portal writes the header.
#[derive(Debug, Clone, Default)]
pub struct FormActionOrigins(pub Vec<String>);

pub fn html_response(status: StatusCode, body: String) -> Response<Vec<u8>> {
    let mut response = Response::new(body.into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A non-HTML `200 OK` (stylesheets, JSON, plain text) with its caching policy.
pub fn content_response(content_type: &'static str, cache_control: &'static str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, http::HeaderValue::from_static(cache_control));
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

/// `303 See Other` to `location`: the answer to a successful form post (post/redirect/get).
pub fn see_other(location: &str) -> Response<Vec<u8>> {
    let mut response = redirect_to(location);
    *response.status_mut() = StatusCode::SEE_OTHER;
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
        PortalError::NotFound => (strings.not_found_title, html! { p.lead { (strings.not_found_lead) } }),
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
        PortalError::Unavailable(detail) => {
            eprintln!("unavailable on {} {}: {detail}", ctx.method, ctx.path);
            (strings.error_title, html! { p.lead { (strings.busy) } })
        }
        PortalError::Internal(detail) => {
            eprintln!("internal error on {} {}: {detail}", ctx.method, ctx.path);
            (strings.error_title, html! { p.lead { (strings.internal_error) } })
        }
        PortalError::PayloadTooLarge => (strings.error_title, html! { p.lead { (strings.payload_too_large) } }),
        PortalError::UnsupportedMediaType => (
            strings.error_title,
            html! { p.lead { (strings.unsupported_media_type) } },
        ),
        other => (strings.error_title, html! { p.lead { (other.to_string()) } }),
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
    if matches!(error, PortalError::Unavailable(_)) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    }
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
    let acceptable = !value.is_empty() && value.chars().count() <= max_chars && !value.chars().any(char::is_control);
    acceptable.then_some(value)
}

/// Sends a visitor without a portal session to sign-in, with a way back to `path_and_query`.
pub fn sign_in_first(path_and_query: &str) -> Response<Vec<u8>> {
    redirect_to(&sign_in_location(path_and_query))
}

/// Like [`sign_in_first`], as the `303` answer to a post from a session that has ended.
pub fn see_other_sign_in(back_to: &str) -> Response<Vec<u8>> {
    see_other(&sign_in_location(back_to))
}

fn sign_in_location(back_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_url", back_to)
        .finish();
    format!("/sign-in?{query}")
}

/// The message shown next to a field for a problem with it.
pub fn field_error_text(strings: &Strings, field: &str, error: FieldError) -> &'static str {
    match (field, error) {
        (_, FieldError::UsernameTaken) => strings.username_taken,
        (_, FieldError::EmailTaken) => strings.email_taken,
        (_, FieldError::ConfirmationMismatch) => strings.confirmation_mismatch,
        (_, FieldError::SlugTaken) => strings.slug_taken,
        (_, FieldError::AlreadyMember) => strings.already_member,
        (_, FieldError::LastAdminOfOrganization) => strings.last_admin_of_organization,
        (_, FieldError::Password(PasswordProblem::TooShort)) => strings.password_too_short,
        (_, FieldError::Password(PasswordProblem::TooLong)) => strings.password_too_long,
        (_, FieldError::Password(PasswordProblem::SameAsEmail)) => strings.password_same_as_email,
        (_, FieldError::Field(FieldProblem::Required)) => strings.field_required,
        (_, FieldError::Field(FieldProblem::TooLong)) => strings.field_too_long,
        ("email_address", _) => strings.invalid_email,
        ("username", _) => strings.invalid_username,
        ("phone_number", _) => strings.invalid_phone,
        ("slug", _) => strings.invalid_slug,
        ("role", _) => strings.invalid_role,
        _ => strings.invalid_name,
    }
}

/// Links between the signed-in pages: the account, the active organization, sign-out.
pub fn account_nav(ctx: &Ctx<'_>, current: &str) -> maud::Markup {
    let strings = ctx.strings;
    let links = [
        ("/user", strings.user_title),
        ("/organization", strings.organizations_section),
        ("/sign-out", strings.sign_out_title),
    ];
    html! {
        nav.tabs aria-label=(strings.account_navigation) {
            @for (href, label) in links {
                @if href == current {
                    a.button.secondary href=(href) aria-current="page" { (label) }
                } @else {
                    a.button.secondary href=(href) { (label) }
                }
            }
        }
    }
}
