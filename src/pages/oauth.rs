//! The web end of signing in with another provider: the buttons on the sign-in and sign-up
//! pages (`GET /sign-in/oauth?provider=…`, a link, so no form-action has to name the provider),
//! the callback (`GET /sign-in/oauth/callback`), the short form a new account may need
//! (`/sign-in/oauth/finish`), the profile's connected accounts, and a page for every way a round
//! trip can fail, in the visitor's language.

use http::StatusCode;
use maud::{Markup, html};

use super::parts::{Notice, Sections, section_card};
use super::redirects::{self, link_keeping_redirect};
use super::render::{Page, PageResult, found, see_other};
use super::{Ctx, auth, step_up};
use crate::error::{FormProblem, PortalError};
use crate::outbound::oidc::{Provider, ProviderKind};
use crate::redirect::Flow;
use crate::service::auth::{self as auth_rules, SignedIn, Step};
use crate::service::email as email_rules;
use crate::service::oauth::{self as rules, CallbackParams, EnteredFields, Mode, OauthError, Outcome};
use crate::service::sessions::Visitor;
use crate::store::sessions as session_store;
use crate::views::{self, Field};

/// Where providers send people back: registered with each provider as the redirect URI.
pub const CALLBACK_PATH: &str = "/sign-in/oauth/callback";

fn redirect_uri(ctx: &Ctx<'_>) -> Result<String, PortalError> {
    let origin = ctx.link_origin()?.origin().ascii_serialization();
    Ok(format!("{origin}{CALLBACK_PATH}"))
}

/// One "Continue with …" link per listed provider (reading only `oauth_providers`), keeping
/// the page's redirect parameters; nothing when none is listed.
pub fn buttons(ctx: &Ctx<'_>) -> Markup {
    let listed = ctx.settings.oauth_providers();
    if listed.is_empty() {
        return html! {};
    }
    let strings = ctx.strings().oauth();
    let base = link_keeping_redirect(ctx, "/sign-in/oauth");
    let separator = if base.contains('?') { '&' } else { '?' };
    html! {
        p.divider { span { (strings.or) } }
        div.providers {
            @for provider in listed {
                a.button.secondary.provider href=(format!("{base}{separator}provider={}", provider.kind.id())) {
                    (strings.continue_with.replace("{provider}", provider.name()))
                }
            }
        }
    }
}

fn provider(ctx: &Ctx<'_>, kind: Option<ProviderKind>) -> Result<Provider, OauthError> {
    let kind = kind.ok_or(OauthError::NotConfigured)?;
    ctx.settings
        .oauth()
        .iter()
        .find(|provider| provider.kind == kind)
        .cloned()
        .ok_or(OauthError::NotConfigured)
}

/// `GET /sign-in/oauth?provider=…`: off to the provider, the redirect target kept in the flow.
pub fn start(ctx: &Ctx<'_>) -> PageResult {
    let Some(kind) = ctx.query.get("provider").map(ProviderKind::from_id) else {
        return Ok(found(&link_keeping_redirect(ctx, "/sign-in")));
    };
    let started = provider(ctx, kind).and_then(|provider| {
        let location = redirects::choose(ctx, Flow::SignIn).target.location();
        let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
        let redirect_uri = redirect_uri(ctx).map_err(|_| OauthError::NotConfigured)?;
        let db = ctx.db().map_err(|_| OauthError::Unavailable("the database".into()))?;
        rules::start(
            db,
            ctx.http,
            &provider,
            Mode::SignIn,
            None,
            &location,
            browser,
            &redirect_uri,
            ctx.client_addr(),
            ctx.query.get("ui_locales"),
            ctx.now(),
        )
    });
    match started {
        Ok(url) => Ok(found(&url)),
        Err(error) => {
            let listed = ctx.settings.oauth_providers().iter();
            let name = listed
                .filter(|listed| Some(listed.kind) == kind)
                .map(|listed| listed.name())
                .next();
            failure(ctx, name.unwrap_or_default(), error)
        }
    }
}

/// Leaves for the provider from a signed-in page (connect, step-up): a page whose link goes
/// there (the script follows it at once), since a form's redirect to another origin would need
/// the provider in the CSP's `form-action`.
fn leave_for(ctx: &Ctx<'_>, visitor: &Visitor, provider: &Provider, mode: Mode) -> PageResult {
    let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
    let started = rules::start(
        ctx.db()?,
        ctx.http,
        provider,
        mode,
        Some(&visitor.user),
        "/user",
        browser,
        &redirect_uri(ctx)?,
        ctx.client_addr(),
        None,
        ctx.now(),
    );
    let url = match started {
        Ok(url) => url,
        Err(error) => return failure(ctx, &provider.name, error),
    };
    let strings = ctx.strings().oauth();
    let title = strings.leaving_title.replace("{provider}", &provider.name);
    let content = html! {
        div.card {
            h1 { (title) }
            p.lead { (strings.leaving_lead) }
            p { a.button href=(url) data-follow { (strings.leaving_button.replace("{provider}", &provider.name)) } }
        }
    };
    Ok(Page::new(ctx, &title).render(content))
}

/// `GET /sign-in/oauth/callback`: the provider's answer, checked, then what it means.
pub fn callback(ctx: &Ctx<'_>) -> PageResult {
    let params = CallbackParams {
        state: ctx.query.get("state").unwrap_or_default(),
        code: ctx.query.get("code"),
        error: ctx.query.get("error"),
        iss: ctx.query.get("iss"),
        user: None,
    };
    handle_callback(ctx, &params)
}

/// The answer fields a `form_post` provider (Apple) posts.
const POSTED_FIELDS: [&str; 5] = ["state", "code", "error", "iss", "user"];

/// `POST /sign-in/oauth/callback`: Apple posts its answer from its own site, so the browser
/// sends no `SameSite=Lax` cookie with it and no CSRF token can be in it. Nothing is checked or
/// spent here: the answer is handed back to the browser in a form that posts it to
/// `/sign-in/oauth/callback/continue` from this site (the script sends it at once), where the
/// browser's cookies come along and the round trip is checked as every other.
pub fn callback_posted(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let strings = ctx.strings().oauth();
    let content = html! {
        div.card {
            h1 { (strings.finish_continue) }
            form method="post" action="/sign-in/oauth/callback/continue" data-autosubmit {
                @for name in POSTED_FIELDS {
                    @if let Some(value) = form.get(name) { (views::hidden(name, value)) }
                }
                button type="submit" { (strings.finish_continue) }
            }
        }
    };
    Ok(Page::new(ctx, strings.finish_continue).render(content))
}

/// `POST /sign-in/oauth/callback/continue`: a `form_post` answer, now with this browser's
/// cookies. No CSRF token: the flow's `state` is bound to this browser's CSRF cookie, which a
/// cross-site post does not carry, so a forged post finds "another browser".
pub fn callback_continue(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let params = CallbackParams {
        state: form.get("state").unwrap_or_default(),
        code: form.get("code"),
        error: form.get("error"),
        iss: form.get("iss"),
        user: form.get("user"),
    };
    handle_callback(ctx, &params)
}

fn handle_callback(ctx: &Ctx<'_>, params: &CallbackParams<'_>) -> PageResult {
    let providers = ctx.settings.oauth();
    let finished = rules::finish(
        ctx.db()?,
        ctx.http,
        providers,
        params,
        ctx.csrf_cookie_value(),
        &redirect_uri(ctx)?,
        ctx.now(),
    );
    let returned = match finished {
        Ok(returned) => returned,
        Err(failed) => return failure(ctx, failed.provider.as_deref().unwrap_or_default(), failed.error),
    };
    let name = returned.provider.name.clone();
    let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
    let fields = ctx.settings.sign_up_fields();
    let required = ctx.settings.verification_required();
    let policy = ctx.settings.sign_up_policy();
    let outcome = rules::resolve(
        ctx.db()?,
        &returned,
        fields,
        policy,
        required,
        browser.clone(),
        ctx.now(),
    );
    let location = redirects::stored_location(ctx, &returned.location);
    match outcome {
        Ok(Outcome::SignIn { user, first, second }) => {
            let step = match second {
                Some(second) => Step::Done(Box::new(SignedIn {
                    user: *user,
                    first,
                    second: Some(second),
                    backup_codes_left: None,
                })),
                None => auth_rules::first_factor(ctx.db()?, *user, first.factor, &location, browser, ctx.now())?,
            };
            auth::answer(ctx, step, &location)
        }
        Ok(Outcome::Linked) => done_on_profile(ctx, returned.user_id.as_ref(), Notice::ProviderConnected),
        Ok(Outcome::Reauthenticated) => {
            let visitor = ctx
                .signed_in()?
                .filter(|visitor| Some(&visitor.user.id) == returned.user_id.as_ref());
            if let Some(visitor) = visitor {
                session_store::record_verification(ctx.db()?, &visitor.session.id, false, ctx.now())?;
            }
            Ok(see_other(&format!("/user?notice={}", Notice::Reauthenticated.key())))
        }
        Ok(Outcome::NeedsFields { flow }) => Ok(see_other(&format!("/sign-in/oauth/finish?flow={flow}"))),
        Err(error) => failure(ctx, &name, error),
    }
}

/// Back to `/user` after connecting, with a fresh token, when the browser is still signed in to
/// the account the round trip was for.
fn done_on_profile(ctx: &Ctx<'_>, user: Option<&crate::domain::UserId>, notice: Notice) -> PageResult {
    if let Some(visitor) = ctx.signed_in()?.filter(|visitor| Some(&visitor.user.id) == user) {
        auth::refresh_token(ctx, &visitor.session, visitor.two_step_on())?;
    }
    Ok(see_other(&format!("/user?notice={}", notice.key())))
}

/// The page a failed round trip ends on: what happened, in the visitor's language, and the way
/// back to sign-in. The reason of a refusal is logged, never shown.
fn failure(ctx: &Ctx<'_>, provider: &str, error: OauthError) -> PageResult {
    let strings = ctx.strings().oauth();
    let provider = if provider.is_empty() { "?" } else { provider };
    let (status, text) = match &error {
        OauthError::NotConfigured => (StatusCode::NOT_FOUND, strings.not_configured.to_owned()),
        OauthError::TooMany { until } => {
            return Err(crate::service::accounts::SignInError::RateLimited { until: *until }.into());
        }
        OauthError::Unavailable(detail) => {
            eprintln!("oauth: {provider} unavailable: {detail}");
            (
                StatusCode::BAD_GATEWAY,
                strings.unavailable.replace("{provider}", provider),
            )
        }
        OauthError::Cancelled => (StatusCode::OK, strings.cancelled.to_owned()),
        OauthError::ProviderError(code) => {
            eprintln!("oauth: {provider} answered with the error {code:?}");
            (
                StatusCode::BAD_GATEWAY,
                strings.provider_error.replace("{provider}", provider),
            )
        }
        OauthError::StateInvalid => (StatusCode::BAD_REQUEST, strings.expired.to_owned()),
        OauthError::OtherBrowser => (StatusCode::BAD_REQUEST, strings.other_browser.to_owned()),
        OauthError::Refused(reason) => {
            eprintln!("oauth: an answer from {provider} was refused: {reason}");
            (StatusCode::BAD_REQUEST, strings.refused.replace("{provider}", provider))
        }
        OauthError::NoEmail => (
            StatusCode::UNPROCESSABLE_ENTITY,
            strings.no_email.replace("{provider}", provider),
        ),
        OauthError::SignUpRefused => (StatusCode::FORBIDDEN, ctx.strings().errors().sign_up_refused.to_owned()),
        OauthError::UnverifiedEmail => (
            StatusCode::UNPROCESSABLE_ENTITY,
            strings.unverified_email.replace("{provider}", provider),
        ),
        OauthError::LinkedElsewhere => (
            StatusCode::CONFLICT,
            strings.linked_elsewhere.replace("{provider}", provider),
        ),
        OauthError::AccountExists { email } => (
            StatusCode::CONFLICT,
            strings
                .account_exists
                .replace("{email}", email)
                .replace("{provider}", provider),
        ),
        OauthError::Db(error) => return Err(error.clone().into()),
    };
    let content = html! {
        div.card {
            h1 { (strings.failed_title) }
            p.lead role="alert" { (text) }
            p { a.button href="/sign-in" { (strings.back_to_sign_in) } }
        }
    };
    Ok(Page::new(ctx, strings.failed_title).status(status).render(content))
}

/// `GET /sign-in/oauth/finish?flow=…`: the fields a new account still needs.
pub fn show_finish(ctx: &Ctx<'_>) -> PageResult {
    let flow = ctx.query.get("flow").unwrap_or_default();
    finish_page(ctx, flow, &EnteredFields::default(), None)
}

/// `POST /sign-in/oauth/finish`: the account, then signed in.
pub fn submit_finish(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let flow = form.text("flow").to_owned();
    let entered = EnteredFields {
        first_name: form.text("first_name").to_owned(),
        last_name: form.text("last_name").to_owned(),
        username: form.text("username").to_owned(),
        phone_number: form.text("phone_number").to_owned(),
    };
    ctx.check_form(&form)?;
    let completed = rules::complete_pending(
        ctx.db()?,
        &flow,
        ctx.csrf_cookie_value(),
        &entered,
        ctx.settings.sign_up_fields(),
        ctx.settings.sign_up_policy(),
        ctx.now(),
    );
    match completed {
        Ok(None) => failure(ctx, "", OauthError::StateInvalid),
        Ok(Some(Ok((user, location)))) => {
            let location = redirects::stored_location(ctx, &location);
            auth::first_factor(ctx, &user, auth_rules::Factor::Federated, &location)
        }
        Ok(Some(Err(errors))) => {
            let problem = FormProblem::fields(errors);
            let mut page = finish_page(ctx, &flow, &entered, Some(&problem))?;
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(error) => failure(ctx, "", error),
    }
}

fn finish_page(ctx: &Ctx<'_>, flow: &str, entered: &EnteredFields, problem: Option<&FormProblem>) -> PageResult {
    let Some((pending, _)) = rules::find_pending(ctx.db()?, flow, ctx.csrf_cookie_value(), ctx.now())? else {
        return failure(ctx, "", OauthError::StateInvalid);
    };
    let strings = ctx.strings();
    let oauth = strings.oauth();
    let provider = ProviderKind::from_id(&pending.provider).map_or("?", ProviderKind::brand);
    let fields = ctx.settings.sign_up_fields();
    let value = |entered: &str, from_provider: &Option<String>| {
        if entered.is_empty() {
            from_provider.clone().unwrap_or_default()
        } else {
            entered.to_owned()
        }
    };
    let first_name = value(&entered.first_name, &pending.first_name);
    let last_name = value(&entered.last_name, &pending.last_name);
    let error = |name: &str| super::parts::field_error(ctx, problem, name);
    let content = html! {
        div.card {
            h1 { (oauth.finish_title) }
            p.lead { (oauth.finish_lead.replace("{provider}", provider)) }
            (super::parts::error_summary(ctx, problem, super::parts::field_id))
            form method="post" action="/sign-in/oauth/finish" novalidate {
                (ctx.csrf_field()?)
                (views::hidden("flow", flow))
                p { (views::email(&pending.email)) }
                @if fields.first_name.is_shown() {
                    (Field::new("first_name", strings.first_name_label, "text", "given-name").value(&first_name)
                        .error(error("first_name")).required(fields.first_name == crate::config::FieldMode::Required)
                        .max_length(crate::domain::PersonName::MAX_LEN).render(strings))
                }
                @if fields.last_name.is_shown() {
                    (Field::new("last_name", strings.last_name_label, "text", "family-name").value(&last_name)
                        .error(error("last_name")).required(fields.last_name == crate::config::FieldMode::Required)
                        .max_length(crate::domain::PersonName::MAX_LEN).render(strings))
                }
                @if fields.username.is_shown() {
                    (Field::new("username", strings.username_label, "text", "username").value(&entered.username)
                        .error(error("username")).required(fields.username == crate::config::FieldMode::Required)
                        .max_length(crate::domain::Username::MAX_LEN).render(strings))
                }
                @if fields.phone_number.is_shown() {
                    (Field::new("phone_number", strings.phone_label, "tel", "tel").value(&entered.phone_number)
                        .error(error("phone_number")).required(fields.phone_number == crate::config::FieldMode::Required)
                        .max_length(crate::domain::PhoneNumber::MAX_LEN).render(strings))
                }
                button type="submit" { (oauth.finish_button) }
            }
        }
    };
    Ok(Page::new(ctx, oauth.finish_title).problem(problem).render(content))
}

/// The profile's "Connected accounts": each linked provider account, disconnect, and a connect
/// button per listed provider not linked yet. Reads the identities only when providers are
/// listed.
pub fn section(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    hidden: &Markup,
    sections: &Sections<'_, '_>,
) -> Result<Markup, PortalError> {
    let listed = ctx.settings.oauth_providers();
    if listed.is_empty() {
        return Ok(html! {});
    }
    let strings = ctx.strings().oauth();
    let linked = rules::identities(ctx.db()?, &visitor.user.id)?;
    let name_of = |id: &str| -> String {
        match listed.iter().find(|provider| provider.kind.id() == id) {
            Some(provider) => provider.name().to_owned(),
            None => ProviderKind::from_id(id).map_or_else(|| id.to_owned(), |kind| kind.brand().to_owned()),
        }
    };
    Ok(html! {
        (section_card("connections", strings.section, html! { p.lead { (strings.section_lead) } },
            sections.summary("connections"), html! {
            @if linked.is_empty() {
                p { (strings.none_yet) }
            } @else {
                ul.connections {
                    @for identity in &linked {
                        li {
                            p {
                                strong { (name_of(&identity.provider)) }
                                @if let Some(email) = &identity.email { " · " (views::email(email)) }
                            }
                            p.hint { (strings.connected_on.replace("{date}", &ctx.strings().format_date(identity.created_at))) }
                            form method="post" action="/user/connections/disconnect" {
                                (hidden)
                                (views::hidden("provider", &identity.provider))
                                (views::hidden("subject", &identity.subject))
                                button.danger type="submit" aria-label=(format!("{} {}", strings.disconnect_button, name_of(&identity.provider))) {
                                    (strings.disconnect_button)
                                }
                            }
                        }
                    }
                }
            }
            @for provider in listed.iter().filter(|provider| !linked.iter().any(|identity| identity.provider == provider.kind.id())) {
                form method="post" action="/user/connections/connect" {
                    (hidden)
                    (views::hidden("provider", provider.kind.id()))
                    button.secondary type="submit" { (strings.connect_button.replace("{provider}", provider.name())) }
                }
            }
        }))
    })
}

/// `POST /user/connections/connect` (after a recent factor): off to the provider to link it.
pub fn connect(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    if let Some(page) = step_up::guard(ctx, visitor, &form, "/user/connections/connect", false) {
        return page;
    }
    let kind = ProviderKind::from_id(form.text("provider"));
    match provider(ctx, kind) {
        Ok(provider) => leave_for(ctx, visitor, &provider, Mode::Link),
        Err(error) => failure(ctx, "", error),
    }
}

/// `POST /user/connections/reauth`: confirm it's you with a connected provider (the step-up of
/// an account whose only way in is a provider).
pub fn reauth(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    let kind = ProviderKind::from_id(form.text("provider"));
    match provider(ctx, kind) {
        Ok(provider) => leave_for(ctx, visitor, &provider, Mode::Reauth),
        Err(error) => failure(ctx, "", error),
    }
}

/// `POST /user/connections/disconnect` (after a recent factor); never the last way in.
pub fn disconnect(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    if let Some(page) = step_up::guard(ctx, visitor, &form, "/user/connections/disconnect", false) {
        return page;
    }
    match rules::disconnect(ctx.db()?, &visitor.user, form.text("provider"), form.text("subject"))? {
        Ok(()) => done_on_profile(ctx, Some(&visitor.user.id), Notice::ProviderDisconnected),
        Err(rules::DisconnectRefused::NotFound) => Ok(see_other("/user#connections")),
        Err(rules::DisconnectRefused::LastWayIn) => {
            let strings = ctx.strings().oauth();
            let content = html! {
                div.card {
                    h1 { (strings.section) }
                    p.lead role="alert" { (strings.last_way_in) }
                    p { a.button href="/user#connections" { (ctx.strings().errors().go_to_account) } }
                }
            };
            Ok(Page::new(ctx, strings.section)
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .render(content))
        }
    }
}

/// The step-up for an account whose only way in is a provider: one button per connected one.
pub fn step_up_buttons(ctx: &Ctx<'_>, visitor: &Visitor) -> Result<Markup, PortalError> {
    let strings = ctx.strings().oauth();
    let linked = rules::identities(ctx.db()?, &visitor.user.id)?;
    let listed = ctx.settings.oauth_providers();
    Ok(html! {
        @for provider in listed.iter().filter(|provider| linked.iter().any(|identity| identity.provider == provider.kind.id())) {
            p.lead { (strings.step_up_lead.replace("{provider}", provider.name())) }
            form method="post" action="/user/connections/reauth" {
                (ctx.csrf_field()?)
                (views::hidden("provider", provider.kind.id()))
                button type="submit" { (strings.continue_with.replace("{provider}", provider.name())) }
            }
        }
    })
}
