//! Cloudflare Turnstile on the forms that cost an email or an account (`security::bot_check`
//! holds the rules and the threat): the widget on the page, and the token's verification when
//! the form comes back, once per submission, before anything else the post does. Pages without
//! `turnstile_site_key` read nothing more and show nothing.

use std::time::Duration;

use http::StatusCode;
use maud::{Markup, html};

use super::Ctx;
use crate::config::BotCheckFallback;
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::outbound::Timeout;
use crate::security::bot_check::{self, Verdict};
use crate::views::Msg;

/// How long `siteverify` may take before the fallback decides.
pub const LIMIT: Duration = Duration::from_secs(3);

/// A form with bot protection; its name is the widget's `action`, so a token solved for one
/// form is refused on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    SignUp,
    Waitlist,
    ForgotPassword,
}

impl Protected {
    const ALL: [Self; 3] = [Self::SignUp, Self::Waitlist, Self::ForgotPassword];

    pub fn action(self) -> &'static str {
        match self {
            Self::SignUp => "sign-up",
            Self::Waitlist => "waitlist",
            Self::ForgotPassword => "forgot-password",
        }
    }
}

/// The widget, placed before the form's submit button, or nothing without a site key.
pub fn widget(ctx: &Ctx<'_>, form: Protected) -> Markup {
    let Some(site_key) = ctx.settings.turnstile_site_key() else {
        return html! {};
    };
    html! {
        div.bot-check.cf-turnstile data-sitekey=(site_key) data-action=(form.action())
            data-language=(ctx.strings().lang.to_ascii_lowercase()) data-size="flexible" {}
        script src=(bot_check::SCRIPT_URL) async defer {}
    }
}

/// Whether this request's page shows the widget (its CSP then names the widget's origin).
pub fn is_shown(ctx: &Ctx<'_>) -> bool {
    ctx.settings.turnstile_site_key().is_some()
}

/// Verifies the posted token of `form`; a refusal re-shows the form with its message.
pub fn check(ctx: &Ctx<'_>, posted: &Params, form: Protected) -> Result<(), PortalError> {
    if ctx.settings.turnstile_site_key().is_none() {
        return Ok(());
    }
    let settings = ctx.settings.bot_check();
    let token = posted.text(bot_check::TOKEN_FIELD);
    let verdict = match (&settings.secret_key, bot_check::precheck(token)) {
        (_, Some(verdict)) => verdict,
        (None, None) => Verdict::Unavailable("turnstile_secret_key is not set".into()),
        (Some(secret), None) => ask(ctx, &settings.api_origin, secret, token, form),
    };
    let refused = || PortalError::Invalid(FormProblem::new(StatusCode::FORBIDDEN, Msg::BotCheckFailed));
    let action = form.action();
    match verdict {
        Verdict::Passed => Ok(()),
        Verdict::Refused(reason) => {
            eprintln!("bot check: {action} refused: {reason}");
            Err(refused())
        }
        Verdict::Missing | Verdict::Unavailable(_) if settings.fallback == BotCheckFallback::Allow => {
            eprintln!("bot check: {action} let through unchecked ({verdict:?}; turnstile_fallback = allow)");
            Ok(())
        }
        Verdict::Missing | Verdict::Unavailable(_) => {
            eprintln!("bot check: {action} refused unchecked ({verdict:?}; turnstile_fallback = refuse)");
            Err(refused())
        }
    }
}

fn ask(ctx: &Ctx<'_>, api_origin: &str, secret: &str, token: &str, form: Protected) -> Verdict {
    let visitor = Some(ctx.client_addr()).filter(|addr| *addr != "unknown");
    let Some(mut request) = bot_check::verify_request(api_origin, secret, token, visitor) else {
        return Verdict::Unavailable("the siteverify request could not be built".into());
    };
    request.extensions_mut().insert(Timeout(LIMIT));
    match ctx.http.send(request) {
        Ok(response) => {
            let actions = Protected::ALL.map(Protected::action);
            bot_check::verdict(response.status().as_u16(), response.body(), form.action(), &actions)
        }
        Err(error) => Verdict::Unavailable(format!("siteverify could not be asked: {error}")),
    }
}
