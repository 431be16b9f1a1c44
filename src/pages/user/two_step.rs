//! `/user/two-step…`: setting up an authenticator app (a QR code drawn on the server, the key,
//! the `otpauth://` link; on only after a first code), backup codes (shown once), and turning
//! it off. New codes and turning off ask for a recent factor first (`step_up`).

use maud::{PreEscaped, html};

use super::super::mail::{self, Email};
use super::super::parts::Notice;
use super::super::redirects;
use super::super::render::{Page, PageResult, see_other};
use super::super::step_up;
use super::{Ctx, done, post};
use crate::error::FormProblem;
use crate::redirect::{Flow, LAST_RESORT_PATH, RedirectTarget};
use crate::service::auth::factors;
use crate::store::sessions;
use crate::views::{Field, Msg};

/// `POST /user/two-step`: a new secret to set up, then the setup page (post/redirect/get).
pub fn start(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "two-step", |_, visitor, _| {
        if visitor.user.totp_enabled_at.is_some() {
            return Ok(see_other("/user#two-step"));
        }
        factors::totp_init(ctx.db()?, &ctx.factor_keys()?, &visitor.user, ctx.now())?;
        Ok(see_other("/user/two-step"))
    })
}

/// `GET /user/two-step`: the secret being set up, as a QR code, a key and a link; a new one when
/// none is (the page a person who must use two-step verification is sent to, with the
/// `redirect_url` to go on to afterwards).
pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let visitor = ctx.visitor()?;
    if visitor.user.totp_enabled_at.is_some() {
        return Ok(see_other("/user#two-step"));
    }
    let keys = ctx.factor_keys()?;
    if factors::pending_totp(ctx.db()?, &keys, &visitor.user, ctx.now())?.is_none() {
        factors::totp_init(ctx.db()?, &keys, &visitor.user, ctx.now())?;
    }
    let target = redirects::choose(ctx, Flow::SignIn).target;
    setup_page(ctx, visitor, &target, None)
}

/// `POST /user/two-step/confirm`: the first code from the app turns it on and shows the backup
/// codes, once.
pub fn confirm(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    let target = redirects::from_form(ctx, Flow::SignIn, &form)?;
    let keys = ctx.factor_keys()?;
    let db = ctx.db()?;
    let Some(codes) = factors::totp_confirm(db, &keys, &visitor.user, form.text("code"), ctx.now())? else {
        let problem = FormProblem::new(http::StatusCode::UNPROCESSABLE_ENTITY, Msg::CodeWrong);
        let mut page = setup_page(ctx, visitor, &target, Some(&problem))?;
        *page.status_mut() = http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(page);
    };
    // The app's code just proved the second factor: the session says so (amr, fva, step-up).
    sessions::record_verification(db, &visitor.session.id, true, ctx.now())?;
    tell(ctx, visitor.user.email.as_str(), true);
    super::super::auth::refresh_token(ctx, &visitor.session, true)?;
    // On to where the person was going when two-step verification was asked of them: through
    // the sign-in page, which sends a signed-in visitor straight there with a fresh token.
    let then = if target.location() == LAST_RESORT_PATH {
        format!("/user?notice={}", Notice::TwoStepOn.key())
    } else {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_url", &target.location())
            .finish();
        format!("/sign-in?{query}")
    };
    codes_page(ctx, &codes, &then)
}

/// `POST /user/two-step/backup-codes`: a new set (the old one stops working), after a step-up.
pub fn regenerate(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "two-step", |form, visitor, _| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/two-step/backup-codes", false) {
            return page;
        }
        if visitor.user.totp_enabled_at.is_none() {
            return Ok(see_other("/user#two-step"));
        }
        let codes = factors::regenerate_backup_codes(ctx.db()?, &ctx.factor_keys()?, &visitor.user)?;
        codes_page(ctx, &codes, "/user#two-step")
    })
}

/// `POST /user/two-step/disable`: the app and the backup codes are removed, after a step-up.
pub fn disable(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "two-step", |form, visitor, target| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/two-step/disable", false) {
            return page;
        }
        if visitor.user.totp_enabled_at.is_some() {
            factors::disable(ctx.db()?, &visitor.user, ctx.now())?;
            tell(ctx, visitor.user.email.as_str(), false);
        }
        done(ctx, visitor, target, Notice::TwoStepOff)
    })
}

/// Emails the account that two-step verification was turned on or off (a failure is logged).
fn tell(ctx: &Ctx<'_>, to: &str, on: bool) {
    if !ctx.settings.email().can_send() {
        return;
    }
    if let Err(error) = mail::send(ctx, to, Email::TwoStepChanged { on }) {
        eprintln!("email: the two-step verification notice was not sent: {error}");
    }
}

fn setup_page(
    ctx: &Ctx<'_>,
    visitor: &crate::service::sessions::Visitor,
    target: &RedirectTarget,
    problem: Option<&FormProblem>,
) -> PageResult {
    let Some(secret) = factors::pending_totp(ctx.db()?, &ctx.factor_keys()?, &visitor.user, ctx.now())? else {
        return Ok(see_other("/user#two-step"));
    };
    let strings = ctx.strings().two_step();
    let issuer = ctx.settings.branding().application_name.clone();
    let uri = secret.otpauth_uri(&issuer, visitor.user.email.as_str());
    let qr = qr_svg(&uri);
    let key = secret.base32();
    let key_groups: Vec<&str> = key
        .as_bytes()
        .chunks(4)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    let code_error = problem.map(|_| strings.code_wrong);
    let content = html! {
        div.card {
            h1 { (strings.setup_title) }
            p.lead { (strings.setup_lead) }
            (super::super::parts::error_summary(ctx, problem, |name| format!("field-{name}")))
            @if let Some(qr) = qr {
                div.qr role="img" aria-label=(strings.qr_label) { (qr) }
            }
            dl {
                dt { (strings.key_label) }
                dd.mono { (key_groups.join(" ")) }
                dt { (strings.uri_label) }
                dd { a.mono href=(uri) { (uri) } }
            }
            form method="post" action="/user/two-step/confirm" novalidate {
                (ctx.form_fields(Flow::SignIn, target)?)
                (Field::new("code", strings.confirm_label, "text", "one-time-code")
                    .error(code_error).required(true).max_length(8).numeric_code().render(ctx.strings()))
                button type="submit" { (strings.confirm_button) }
            }
            p.alternate { a href="/user#two-step" { (ctx.strings().errors().go_to_account) } }
        }
    };
    Ok(Page::new(ctx, strings.setup_title).problem(problem).render(content))
}

/// The QR code of `uri` as inline SVG, drawn here (no script, no image request). The markup is
/// the encoder's own: paths and colours from fixed values, nothing from the request but the
/// encoded bits, so it is safe to embed as it is.
fn qr_svg(uri: &str) -> Option<PreEscaped<String>> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Drop the XML declaration: inside HTML the `<svg>` element stands alone.
    let start = svg.find("<svg")?;
    Some(PreEscaped(svg[start..].to_owned()))
}

/// The backup codes, shown once (the store keeps only their hashes); `then` is where "I saved
/// them" leads.
fn codes_page(ctx: &Ctx<'_>, codes: &[String], then: &str) -> PageResult {
    let strings = ctx.strings().two_step();
    let content = html! {
        div.card {
            h1 { (strings.codes_title) }
            p.lead { (strings.codes_lead) }
            ul.backup-codes.mono { @for code in codes { li { (code) } } }
            p { a.button href=(then) { (strings.done_button) } }
        }
    };
    Ok(Page::new(ctx, strings.codes_title).render(content))
}
