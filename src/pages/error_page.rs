//! The one place an error becomes a response: its status and a page in the visitor's language,
//! or for "sign in first", the way to sign-in and back. Details that help an attacker
//! (configuration, internal messages) are shown only in development mode; they are always logged.

use http::{HeaderValue, Method, Response, header};
use maud::html;

use super::Ctx;
use super::parts::problem_message;
use super::redirects::sign_in_location;
use super::render::{Page, found, see_other};
use crate::error::PortalError;

pub fn render(ctx: &Ctx<'_>, error: PortalError) -> Response<Vec<u8>> {
    let strings = ctx.strings();
    let (title, lead) = match &error {
        PortalError::SignInFirst { back_to } => {
            let location = sign_in_location(back_to);
            // A page redirects; a post from a session that has ended answers 303.
            return if *ctx.method == Method::POST {
                see_other(&location)
            } else {
                found(&location)
            };
        }
        PortalError::NotFound => (
            strings.errors().not_found_title,
            strings.errors().not_found_lead.to_owned(),
        ),
        PortalError::MethodNotAllowed { .. } => (
            strings.errors().method_not_allowed_title,
            strings.errors().method_not_allowed_lead.to_owned(),
        ),
        // The details name variables and their values (an email sender, a region, an origin):
        // only a developer on this machine sees them; production logs them for its operator.
        PortalError::Config(errors) if !ctx.settings.is_development() => {
            for error in errors {
                eprintln!("configuration error on {} {}: {error}", ctx.method, ctx.path);
            }
            (
                strings.errors().config_error_title,
                strings.errors().config_error_hidden.to_owned(),
            )
        }
        PortalError::Config(_) => (
            strings.errors().config_error_title,
            strings.errors().config_error_lead.to_owned(),
        ),
        PortalError::DevelopmentHost(host) => {
            eprintln!(
                "refused: development mode serves only loopback hosts and development_hosts, not {host:?}; set environment=production to deploy"
            );
            (
                strings.errors().development_host_title,
                strings.errors().development_host_lead.to_owned(),
            )
        }
        PortalError::Unavailable(detail) => {
            eprintln!("unavailable on {} {}: {detail}", ctx.method, ctx.path);
            (strings.errors().busy_title, strings.errors().busy.to_owned())
        }
        PortalError::DatabaseUnavailable(detail) => {
            eprintln!("unavailable on {} {}: {detail}", ctx.method, ctx.path);
            (
                strings.errors().database_unavailable_title,
                strings.errors().database_unavailable.to_owned(),
            )
        }
        PortalError::Internal(detail) => {
            eprintln!("internal error on {} {}: {detail}", ctx.method, ctx.path);
            (strings.errors().error_title, strings.errors().internal_error.to_owned())
        }
        PortalError::PayloadTooLarge => (
            strings.errors().bad_request_title,
            strings.errors().payload_too_large.to_owned(),
        ),
        PortalError::UnsupportedMediaType => (
            strings.errors().bad_request_title,
            strings.errors().unsupported_media_type.to_owned(),
        ),
        PortalError::BadRequest(message) => (strings.errors().bad_request_title, strings.message(*message).to_owned()),
        PortalError::Forbidden(message) => (strings.errors().forbidden_title, strings.message(*message).to_owned()),
        PortalError::Gone(message) => (strings.errors().gone_title, strings.message(*message).to_owned()),
        PortalError::Invalid(problem) => (strings.errors().error_title, problem_message(ctx, problem)),
        PortalError::EmailNotSent => (strings.mail().not_sent_title, strings.mail().not_sent_lead.to_owned()),
    };
    let content = html! {
        div.card {
            h1 { (title) }
            p.lead { (lead) }
            @if let (PortalError::Config(errors), true) = (&error, ctx.settings.is_development()) {
                ul { @for error in errors { li.mono { (error.to_string()) } } }
                p { (strings.errors().config_error_how) }
            }
            @match &error {
                // Nothing else is served there; and the configuration page would only reload.
                PortalError::DevelopmentHost(_) | PortalError::Config(_) => {}
                // Whoever holds a session cookie is most likely signed in (checking would need
                // the database this page may be about).
                _ if ctx.cookie(ctx.portal_session_cookie()).is_some() => {
                    p { a href="/user" { (strings.errors().go_to_account) } }
                }
                _ => { p { a href="/sign-in" { (strings.errors().go_to_sign_in) } } }
            }
        }
    };
    let problem = match &error {
        PortalError::Invalid(problem) => Some(problem),
        _ => None,
    };
    let mut response = Page::new(ctx, title)
        .status(error.status())
        .problem(problem)
        .without_back_link()
        .render(content);
    let headers = response.headers_mut();
    match error {
        PortalError::Unavailable(_) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        PortalError::DatabaseUnavailable(_) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        PortalError::EmailNotSent => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        PortalError::MethodNotAllowed { allow } => {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        _ => {}
    }
    response
}
