//! Responses: the [`Page`] builder every HTML page goes through (status, chrome, notices, the
//! origins its forms may end at, `Retry-After`), and the plain responses (redirects, assets).

use http::{HeaderValue, Response, StatusCode, header};
use maud::Markup;

use super::parts::Notice;
use super::{Ctx, redirects};
use crate::error::{FormProblem, PortalError};
use crate::redirect::{self, RedirectChoice, RedirectTarget};
use crate::views::{self, Chrome};

pub type PageResult = Result<Response<Vec<u8>>, PortalError>;

/// Extra origins a page's forms may end up at (CSP `form-action` also governs the redirect that
/// follows a form post). Pages attach it to the response; the pipeline writes the header.
#[derive(Debug, Clone, Default)]
pub struct FormActionOrigins(pub Vec<String>);

/// The page shows Turnstile's widget: its CSP names the widget's origin for scripts and frames
/// (and no other page's does).
#[derive(Debug, Clone, Copy)]
pub struct ShowsBotCheck;

/// One HTML page being put together.
pub struct Page<'c, 'a> {
    ctx: &'c Ctx<'a>,
    title: &'c str,
    status: StatusCode,
    wide: bool,
    choice: Option<&'c RedirectChoice>,
    notice: Option<Notice>,
    form_targets: Vec<&'c RedirectTarget>,
    retry_after: Option<i64>,
    back_link: bool,
    failed: bool,
    bot_check: bool,
    dev_notices: Vec<String>,
}

impl<'c, 'a> Page<'c, 'a> {
    pub fn new(ctx: &'c Ctx<'a>, title: &'c str) -> Self {
        Self {
            ctx,
            title,
            status: StatusCode::OK,
            wide: false,
            choice: None,
            notice: None,
            form_targets: Vec::new(),
            retry_after: None,
            back_link: true,
            failed: false,
            bot_check: false,
            dev_notices: Vec::new(),
        }
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The wide layout of the account and organization pages.
    pub fn wide(mut self) -> Self {
        self.wide = true;
        self
    }

    /// The redirect chain this page ran: its rejections become development notices, its target
    /// the "back to the application" link and a place its forms may end at.
    pub fn redirect_choice(mut self, choice: Option<&'c RedirectChoice>) -> Self {
        if let Some(choice) = choice {
            self.choice = Some(choice);
            self.form_targets.push(&choice.target);
        }
        self
    }

    /// A form on this page ends in a redirect to `target`.
    pub fn form_target(mut self, target: &'c RedirectTarget) -> Self {
        self.form_targets.push(target);
        self
    }

    /// A success notice after a post/redirect/get.
    pub fn notice(mut self, notice: Option<Notice>) -> Self {
        self.notice = notice;
        self
    }

    /// The form on this page failed: its status, and `Retry-After` for a lock.
    pub fn problem(mut self, problem: Option<&FormProblem>) -> Self {
        if let Some(problem) = problem {
            self.failed = true;
            self.status = problem.status;
            self.retry_after = problem.locked_until.map(|until| (until - self.ctx.now()).max(1));
        }
        self
    }

    /// The page shows Turnstile's widget (`pages::bot_check::widget`).
    pub fn bot_check(mut self, shown: bool) -> Self {
        self.bot_check = shown;
        self
    }

    /// No "back to the application" link (error pages).
    pub fn without_back_link(mut self) -> Self {
        self.back_link = false;
        self
    }

    /// A notice for developers, shown in development mode only.
    pub fn dev_notice(mut self, notice: String) -> Self {
        if self.ctx.settings.is_development() {
            self.dev_notices.push(notice);
        }
        self
    }

    pub fn render(self, content: Markup) -> Response<Vec<u8>> {
        let ctx = self.ctx;
        let mut notices = redirects::dev_notices(ctx, self.choice);
        notices.extend(self.dev_notices.iter().cloned());
        if ctx.settings.is_development() {
            let primary = views::theme::Rgb::parse(&ctx.settings.branding().primary_color);
            notices.extend(
                primary
                    .map(|rgb| views::theme::Palette::from_primary(rgb).adjustments())
                    .unwrap_or_default(),
            );
        }
        let home_target = redirects::home(ctx);
        let back = self
            .back_link
            .then(|| redirects::back_to_app(self.choice, home_target.as_ref()))
            .flatten();
        let home = home_target.map(|target| target.location());
        let chrome = Chrome {
            branding: ctx.settings.branding(),
            strings: ctx.strings(),
            dev_notices: &notices,
            back_to_app: back.as_deref(),
            home: home.as_deref(),
            flash: self.notice.map(|notice| notice.text(ctx.strings())),
        };
        // A failed form says so in the title, the first thing a screen reader reads.
        let title = if self.failed {
            format!("{} {}", ctx.strings().title_error_prefix, self.title)
        } else {
            self.title.to_owned()
        };
        let mut response = html_response(self.status, views::page(&chrome, &title, self.wide, content));
        let origins: Vec<String> = self
            .form_targets
            .iter()
            .filter(|target| !target.is_same_origin())
            .map(|target| target.origin())
            .fold(Vec::new(), |mut origins, origin| {
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
                origins
            });
        if !origins.is_empty() {
            response.extensions_mut().insert(FormActionOrigins(origins));
        }
        if self.bot_check {
            response.extensions_mut().insert(ShowsBotCheck);
        }
        if let Some(value) = self
            .retry_after
            .and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub fn html_response(status: StatusCode, body: String) -> Response<Vec<u8>> {
    let mut response = Response::new(body.into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A non-HTML `200 OK` (stylesheets, JSON, plain text) with its caching policy.
pub fn content_response(content_type: &'static str, cache_control: &'static str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    response
}

/// `302 Found` to `location`, which must already be validated or a constant portal path.
pub fn found(location: &str) -> Response<Vec<u8>> {
    redirect_response(StatusCode::FOUND, location)
}

/// `303 See Other` to `location`: the answer to a successful form post (post/redirect/get).
pub fn see_other(location: &str) -> Response<Vec<u8>> {
    redirect_response(StatusCode::SEE_OTHER, location)
}

/// `307 Temporary Redirect` to `location`: the browser posts the same form body there again
/// (after a step-up, the change that was asked for goes through).
pub fn temporary_redirect(location: &str) -> Response<Vec<u8>> {
    redirect_response(StatusCode::TEMPORARY_REDIRECT, location)
}

fn redirect_response(status: StatusCode, location: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    // Validated targets are printable ASCII; anything else goes to the portal's default.
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static(redirect::LAST_RESORT_PATH));
    response.headers_mut().insert(header::LOCATION, value);
    response
}

/// A post's outcome: a [`FormProblem`] shows the form again through `show_form`; every other
/// error goes on to the error page.
pub fn or_show_form(result: PageResult, show_form: impl FnOnce(FormProblem) -> PageResult) -> PageResult {
    match result {
        Err(PortalError::Invalid(problem)) => show_form(problem),
        other => other,
    }
}
