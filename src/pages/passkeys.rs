//! The web end of passkeys: the challenge a page's script fetches (`POST /passkeys/challenge`),
//! signing in with a passkey (`POST /sign-in/passkey`), and the markup every passkey form shares.
//! The ceremony itself runs in the browser (`views/portal.js`, same origin under the CSP); its
//! result comes back as an ordinary form post, so success and every error end in an ordinary
//! page. A form for a passkey is `hidden` until the script finds WebAuthn: without JavaScript
//! or without WebAuthn nobody sees a passkey button, and every other way in still works.

use http::StatusCode;
use maud::{Markup, html};

use super::render::{PageResult, content_response};
use super::{Ctx, auth};
use crate::config::ConfigError;
use crate::error::{FormProblem, PortalError};
use crate::form::Params;
use crate::security::base64url;
use crate::security::webauthn::{self, RelyingParty};
use crate::service::accounts::SignInError;
use crate::service::auth::passkeys::{self as rules, PasskeyRefused};
use crate::service::email as email_rules;
use crate::views::{self, Msg};

/// The relying party this request speaks for: its RP ID (`passkey_rp_id`, checked against the
/// portal's host) and the origins a ceremony may come from (the portal's own, then
/// `passkey_origins`).
pub struct Rp {
    pub id: String,
    pub origins: Vec<String>,
}

impl Rp {
    pub fn of(ctx: &Ctx<'_>) -> Result<Self, PortalError> {
        let origin = ctx.portal_origin();
        let host = origin.host_str().unwrap_or_default();
        let settings = ctx.settings.passkeys();
        let id = webauthn::rp_id(host, settings.rp_id.as_deref()).map_err(|error| {
            PortalError::Config(vec![ConfigError {
                variable: "passkey_rp_id",
                message: error.0,
            }])
        })?;
        let mut origins = vec![origin.origin().ascii_serialization()];
        origins.extend(settings.origins.iter().cloned());
        Ok(Self { id, origins })
    }

    pub fn as_relying_party(&self) -> RelyingParty<'_> {
        RelyingParty {
            id: &self.id,
            origins: &self.origins,
        }
    }
}

/// `POST /passkeys/challenge`: a fresh challenge for `navigator.credentials.get`, bound to this
/// browser, as JSON (`flow`, `challenge`, `rpId`, `timeout`). A CSRF-checked post: a challenge
/// is a row, so no other site can make the portal store them.
pub fn challenge(ctx: &Ctx<'_>) -> PageResult {
    ctx.form()?;
    let rp = Rp::of(ctx)?;
    let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
    let ceremony = rules::start_sign_in(ctx.db()?, browser, ctx.client_addr(), ctx.now())?
        .map_err(|until| SignInError::RateLimited { until })?;
    let body = serde_json::json!({
        "flow": ceremony.flow,
        "challenge": base64url(&ceremony.challenge),
        "rpId": rp.id,
        "timeout": rules::BROWSER_TIMEOUT_MS,
    });
    Ok(content_response(
        "application/json",
        "no-store",
        body.to_string().into_bytes(),
    ))
}

/// The response a passkey form posted: its flow and the credential, decoded. `None` when either
/// is missing or malformed.
pub fn posted_sign_in(form: &Params) -> Option<(String, rules::SignInResponse)> {
    let flow = form.get("passkey_flow").filter(|flow| !flow.is_empty())?;
    let response = rules::parse_sign_in(form.get("passkey_credential")?)?;
    Some((flow.to_owned(), response))
}

/// The message a refused passkey ends in (the reason is logged, never shown as is).
pub fn refusal(refused: PasskeyRefused) -> FormProblem {
    let message = match refused {
        PasskeyRefused::Dead | PasskeyRefused::OtherBrowser => Msg::PasskeyExpired,
        PasskeyRefused::Unknown => Msg::PasskeyUnknown,
        PasskeyRefused::Rejected(reason) => {
            eprintln!("passkey: a response was refused: {reason}");
            Msg::PasskeyRejected
        }
        PasskeyRefused::AlreadyRegistered => Msg::PasskeyExists,
        PasskeyRefused::TooMany => Msg::PasskeyLimit,
    };
    FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// `POST /sign-in/passkey`: the sign-in page's passkey (its button, or the browser's autofill).
/// A passkey that verified the person is both factors; one that did not is a first factor.
pub fn sign_in(ctx: &Ctx<'_>, form: &Params, location: &str) -> PageResult {
    let Some((flow, response)) = posted_sign_in(form) else {
        return Err(FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::PasskeyCancelled).into());
    };
    let rp = Rp::of(ctx)?;
    let db = ctx.db()?;
    let verified = rules::verify(
        db,
        &rp.as_relying_party(),
        &flow,
        &response,
        ctx.csrf_cookie_value(),
        None,
        ctx.now(),
    )?;
    let used = verified.map_err(refusal)?;
    let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
    let step = rules::after_sign_in(db, used, location, browser, ctx.now())?;
    auth::answer(ctx, step, location)
}

/// What the script needs to run a `get` ceremony and say what went wrong, in the page's
/// language: the fields it fills, a live region for errors, and the button.
pub fn get_form_parts(ctx: &Ctx<'_>, button: &str) -> Markup {
    let strings = ctx.strings();
    html! {
        (views::hidden("passkey_flow", ""))
        (views::hidden("passkey_credential", ""))
        p.error role="alert" data-passkey-error hidden {}
        button.secondary type="submit" data-cancelled=(strings.passkey_cancelled) data-failed=(strings.passkey_failed) { (button) }
    }
}
