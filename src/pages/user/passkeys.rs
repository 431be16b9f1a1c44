//! `/user/passkeys…`: the profile's passkeys (a name, synced or on one device, added, last used;
//! renamed and removed here), adding one (a recent factor first: `step_up`), and removing the
//! password once a passkey can take its place. Removing a passkey asks for a recent factor too,
//! and the last way into an account is never removed.

use http::StatusCode;
use maud::{Markup, html};

use super::super::mail::{self, Email};
use super::super::parts::{Notice, Sections, section_card};
use super::super::passkeys::{Rp, refusal};
use super::super::render::{Page, PageResult, see_other};
use super::super::step_up;
use super::{Ctx, done, post};
use crate::error::{FormProblem, PortalError};
use crate::security::base64url;
use crate::security::webauthn::ALGORITHMS;
use crate::service::auth::passkeys::{self as rules, ChangeRefused, MAX_NAME_CHARS, MAX_PER_USER};
use crate::service::email as email_rules;
use crate::service::sessions::Visitor;
use crate::views::{self, Field, Msg};

/// The section on `/user`. Reads the passkeys only when the account has some.
pub fn section(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    hidden: &Markup,
    sections: &Sections<'_, '_>,
) -> Result<Markup, PortalError> {
    let strings = ctx.strings().passkey();
    let passkeys = if visitor.user.passkeys > 0 {
        rules::list(ctx.db()?, &visitor.user.id)?
    } else {
        Vec::new()
    };
    let format_date = |at: i64| ctx.strings().format_date(at);
    Ok(html! {
        (section_card("passkeys", strings.section, html! { p.lead { (strings.section_lead) } },
            sections.summary("passkeys"), html! {
            @if passkeys.is_empty() {
                p { (strings.none_yet) }
            } @else {
                ul.passkeys {
                    @for (index, passkey) in passkeys.iter().enumerate() {
                        li {
                            p {
                                strong { (passkey.name) }
                                " · " (if passkey.backup_eligible { strings.synced } else { strings.device_bound })
                            }
                            p.hint {
                                (strings.created.replace("{date}", &format_date(passkey.created_at)))
                                " · "
                                @match passkey.last_used_at {
                                    Some(at) => (strings.last_used.replace("{date}", &format_date(at))),
                                    None => (strings.never_used),
                                }
                            }
                            form.inline method="post" action="/user/passkeys/rename" novalidate {
                                (hidden)
                                (views::hidden("passkey_id", &passkey.id))
                                (Field::new("name", strings.name_label, "text", "off")
                                    .id(format!("field-passkey-{index}-name"))
                                    .value(&passkey.name).required(true).max_length(MAX_NAME_CHARS).render(ctx.strings()))
                                button.secondary type="submit" { (strings.rename_button) }
                            }
                            form method="post" action="/user/passkeys/remove" {
                                (hidden)
                                (views::hidden("passkey_id", &passkey.id))
                                button.danger type="submit" aria-label=(format!("{} {}", strings.remove_button, passkey.name)) {
                                    (strings.remove_button)
                                }
                            }
                        }
                    }
                }
            }
            @if (passkeys.len() as i64) < MAX_PER_USER {
                form method="post" action="/user/passkeys/new" data-passkey="show" hidden {
                    (hidden)
                    button type="submit" { (strings.add_button) }
                }
            } @else {
                p { (strings.limit_reached) }
            }
        }))
    })
}

/// `POST /user/passkeys/new`: after a recent factor, the page whose button creates the passkey
/// (its options carry a challenge for this account and this browser).
pub fn new(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "passkeys", |form, visitor, _| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/passkeys/new", false) {
            return page;
        }
        if visitor.user.passkeys >= MAX_PER_USER {
            return Err(FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::PasskeyLimit).into());
        }
        add_page(ctx, visitor, form)
    })
}

fn add_page(ctx: &Ctx<'_>, visitor: &Visitor, form: &crate::form::Params) -> PageResult {
    let strings = ctx.strings().passkey();
    let rp = Rp::of(ctx)?;
    let db = ctx.db()?;
    let browser = email_rules::browser_hash(ctx.csrf_cookie_value());
    let ceremony = rules::start_registration(db, &visitor.user, browser, ctx.now())?;
    let user = &visitor.user;
    let display_name = match (&user.first_name, &user.last_name) {
        (Some(first), Some(last)) => format!("{first} {last}"),
        (Some(name), None) | (None, Some(name)) => name.clone(),
        (None, None) => user.email.as_str().to_owned(),
    };
    let options = serde_json::json!({
        "flow": ceremony.flow,
        "challenge": base64url(&ceremony.challenge),
        "rp": { "id": rp.id, "name": ctx.settings.branding().application_name },
        "user": {
            "id": base64url(&rules::user_handle(&user.id)),
            "name": user.email.as_str(),
            "displayName": display_name,
        },
        "algorithms": ALGORITHMS,
        "exclude": rules::credential_ids(db, &user.id)?,
        "timeout": rules::BROWSER_TIMEOUT_MS,
    });
    let content = html! {
        div.card {
            h1 { (strings.add_title) }
            p.lead { (strings.add_lead) }
            form method="post" action="/user/passkeys" data-passkey="create" data-options=(options.to_string()) hidden {
                (ctx.csrf_field()?)
                @if let Some(sealed) = form.get("redirect_target") { (views::hidden("redirect_target", sealed)) }
                (super::super::passkeys::get_form_parts(ctx, strings.create_button))
            }
            p data-passkey-without { (strings.needs_javascript) }
            p.alternate { a href="/user#passkeys" { (ctx.strings().errors().go_to_account) } }
        }
    };
    Ok(Page::new(ctx, strings.add_title).render(content))
}

/// `POST /user/passkeys`: the passkey the browser created, checked and stored; the account is
/// emailed.
pub fn register(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "passkeys", |form, visitor, target| {
        let Some(response) = form.get("passkey_credential").and_then(rules::parse_registration) else {
            return Err(FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, Msg::PasskeyCancelled).into());
        };
        let rp = Rp::of(ctx)?;
        let registered = rules::register(
            ctx.db()?,
            &rp.as_relying_party(),
            &visitor.user,
            form.text("passkey_flow"),
            &response,
            ctx.csrf_cookie_value(),
            ctx.now(),
        )?;
        let passkey = registered.map_err(refusal)?;
        if ctx.settings.email().can_send()
            && let Err(error) = mail::send(
                ctx,
                visitor.user.email.as_str(),
                Email::PasskeyAdded { name: passkey.name },
            )
        {
            eprintln!("email: the notice of a passkey added was not sent: {error}");
        }
        done(ctx, visitor, target, Notice::PasskeyAdded)
    })
}

fn change_problem(refused: ChangeRefused) -> PortalError {
    let message = match refused {
        ChangeRefused::NotFound => Msg::FormExpired,
        ChangeRefused::LastWayIn => Msg::PasskeyLastWayIn,
        ChangeRefused::BadName => Msg::PasskeyBadName,
    };
    FormProblem::new(StatusCode::UNPROCESSABLE_ENTITY, message).into()
}

/// `POST /user/passkeys/rename`.
pub fn rename(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "passkeys", |form, visitor, target| {
        rules::rename(ctx.db()?, &visitor.user, form.text("passkey_id"), form.text("name"))?.map_err(change_problem)?;
        done(ctx, visitor, target, Notice::PasskeyRenamed)
    })
}

/// `POST /user/passkeys/remove` (after a recent factor).
pub fn remove(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "passkeys", |form, visitor, target| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/passkeys/remove", false) {
            return page;
        }
        rules::remove(ctx.db()?, &visitor.user, form.text("passkey_id"), ctx.now())?.map_err(change_problem)?;
        done(ctx, visitor, target, Notice::PasskeyRemoved)
    })
}

/// `POST /user/password/remove` (after a recent factor): passwordless from now on, when the
/// account has a passkey to sign in with.
pub fn remove_password(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "password", |form, visitor, target| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/password/remove", false) {
            return page;
        }
        if !rules::remove_password(ctx.db()?, &visitor.user, ctx.now())? {
            return Ok(see_other("/user#password"));
        }
        done(ctx, visitor, target, Notice::PasswordRemoved)
    })
}
