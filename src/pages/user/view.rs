//! The `/user` page: the chrome around it and one function per section.

use maud::{Markup, html};

use super::super::parts::{Notice, Sections, account_nav, membership_list, section_card};
use super::super::redirects;
use super::super::render::{Page, PageResult};
use super::Ctx;
use crate::config::FieldMode;
use crate::domain::{EmailAddress, PersonName, PhoneNumber, Username};
use crate::error::PortalError;
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::security::password::MAX_PASSWORD_CHARS;
use crate::service::auth::{Factor, reauth};
use crate::service::organizations;
use crate::service::sessions::{self, Visitor};
use crate::views::{self, Field};

/// The whole page. Deleting the account ends in a redirect to the sign-out fallback, which CSP
/// `form-action` must allow.
pub fn render(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    target: &RedirectTarget,
    choice: Option<&RedirectChoice>,
    notice: Option<Notice>,
    sections: &Sections<'_, '_>,
) -> PageResult {
    let strings = ctx.strings();
    let hidden = ctx.form_fields(Flow::ReturnToApp, target)?;
    let content = html! {
        (account_nav(ctx, "/user"))
        h1 { (strings.user_title) }
        p.lead { (strings.signed_in_as) " " strong { (views::email(visitor.user.email.as_str())) } }
        (organizations_section(ctx, visitor)?)
        (profile_section(ctx, visitor, &hidden, sections))
        (email_section(ctx, visitor, &hidden, sections))
        (phone_section(ctx, visitor, &hidden, sections))
        (password_section(ctx, visitor, &hidden, sections))
        (super::passkeys::section(ctx, visitor, &hidden, sections)?)
        (super::super::oauth::section(ctx, visitor, &hidden, sections)?)
        (two_step_section(ctx, visitor, &hidden)?)
        (sessions_section(ctx, visitor, &hidden)?)
        (delete_section(ctx, &hidden, sections))
    };
    let after_deletion = redirects::fallback(ctx, Flow::SignOut);
    Ok(Page::new(ctx, strings.user_title)
        .wide()
        .redirect_choice(choice)
        .notice(notice)
        .problem(sections.problem())
        .form_target(&after_deletion)
        .render(content))
}

/// The current password a sensitive change asks for again; nothing for an account with an
/// authenticator app or without a password, whose sensitive changes step up instead.
fn current_password_field(ctx: &Ctx<'_>, sections: &Sections<'_, '_>, section: &str) -> Markup {
    let strings = ctx.strings();
    if ctx
        .visitor()
        .is_ok_and(|visitor| reauth::strongest_factor(visitor) != Factor::Password)
    {
        return html! {};
    }
    Field::new(
        "current_password",
        strings.account().current_password_label,
        "password",
        "current-password",
    )
    .id(format!("field-{section}-current_password"))
    .error(sections.error(section, "current_password"))
    .required(true)
    .max_length(MAX_PASSWORD_CHARS)
    .render(strings)
}

fn is_required(mode: FieldMode) -> bool {
    mode == FieldMode::Required
}

fn organizations_section(ctx: &Ctx<'_>, visitor: &Visitor) -> Result<Markup, PortalError> {
    let memberships = organizations::list_memberships(ctx.db()?, &visitor.user.id)?;
    let active = visitor
        .active_membership
        .as_ref()
        .map(|membership| &membership.organization.id);
    let strings = ctx.strings();
    Ok(html! {
        (section_card("organizations", strings.account().organizations_section, html! {}, html! {}, html! {
            (membership_list(ctx, &memberships, active)?)
            p { a href="/create-organization" { (strings.account().create_org_title) } }
        }))
    })
}

fn profile_section(ctx: &Ctx<'_>, visitor: &Visitor, hidden: &Markup, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let fields = ctx.settings.sign_up_fields();
    let user = &visitor.user;
    let first_name = sections.value("profile", "first_name", user.first_name.as_deref());
    let last_name = sections.value("profile", "last_name", user.last_name.as_deref());
    let username = sections.value("profile", "username", user.username.as_deref());
    html! {
        @if fields.first_name.is_shown() || fields.last_name.is_shown() || fields.username.is_shown() {
            (section_card("profile", strings.account().profile_section, html! { p.lead { (strings.account().profile_lead) } },
                sections.summary("profile"), html! {
                form method="post" action="/user/profile" novalidate {
                    (hidden)
                    @if fields.first_name.is_shown() || fields.last_name.is_shown() {
                        div.row {
                            @if fields.first_name.is_shown() {
                                (Field::new("first_name", strings.first_name_label, "text", "given-name")
                                    .value(&first_name).error(sections.error("profile", "first_name"))
                                    .required(is_required(fields.first_name)).max_length(PersonName::MAX_LEN).render(strings))
                            }
                            @if fields.last_name.is_shown() {
                                (Field::new("last_name", strings.last_name_label, "text", "family-name")
                                    .value(&last_name).error(sections.error("profile", "last_name"))
                                    .required(is_required(fields.last_name)).max_length(PersonName::MAX_LEN).render(strings))
                            }
                        }
                    }
                    @if fields.username.is_shown() {
                        (Field::new("username", strings.username_label, "text", "username")
                            .value(&username).error(sections.error("profile", "username"))
                            .required(is_required(fields.username)).max_length(Username::MAX_LEN)
                            .hint(strings.username_hint).render(strings))
                    }
                    button type="submit" { (strings.account().save_button) }
                }
            }))
        }
    }
}

fn email_section(ctx: &Ctx<'_>, visitor: &Visitor, hidden: &Markup, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let new_email = sections.value("email", "email_address", None);
    html! {
        (section_card("email", strings.account().email_section,
            html! {
                p {
                    (views::email(visitor.user.email.as_str())) " "
                    @if visitor.user.email_verified_at.is_some() {
                        span.badge { (strings.mail().verified_badge) }
                    } @else {
                        span.optional { "(" (strings.account().email_unverified) ")" }
                    }
                }
                @if visitor.user.email_verified_at.is_none() && ctx.settings.email().can_send() {
                    form method="post" action="/user/email/verify" {
                        (hidden)
                        button.secondary type="submit" { (strings.mail().verify_email_button) }
                    }
                }
                @if ctx.settings.email().can_send() { p.hint { (strings.mail().email_change_lead) } }
            },
            sections.summary("email"), html! {
            form method="post" action="/user/email" novalidate {
                (hidden)
                (Field::new("email_address", strings.account().new_email_label, "email", "email")
                    .value(&new_email).error(sections.error("email", "email_address")).required(true)
                    .max_length(EmailAddress::MAX_LEN).render(strings))
                (current_password_field(ctx, sections, "email"))
                button type="submit" { (strings.account().change_email_button) }
            }
        }))
    }
}

fn phone_section(ctx: &Ctx<'_>, visitor: &Visitor, hidden: &Markup, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let stored = visitor.user.phone_number.as_deref();
    let phone = sections.value("phone", "phone_number", stored);
    html! {
        @if ctx.settings.sign_up_fields().phone_number.is_shown() {
            (section_card("phone", strings.account().phone_section,
                html! { @if stored.is_none() { p.hint { (strings.account().phone_none) } } },
                sections.summary("phone"), html! {
                form method="post" action="/user/phone" novalidate {
                    (hidden)
                    (Field::new("phone_number", strings.phone_label, "tel", "tel")
                        .value(&phone).error(sections.error("phone", "phone_number")).required(false)
                        .max_length(PhoneNumber::MAX_LEN).hint(strings.phone_hint).render(strings))
                    div.actions {
                        button type="submit" { (strings.account().save_phone_button) }
                        @if stored.is_some() {
                            button.secondary type="submit" name="remove" value="1" { (strings.account().remove_phone_button) }
                        }
                    }
                }
            }))
        }
    }
}

/// The password: change it; with a passkey, remove it and live passwordless; without one
/// (passwordless), set one.
fn password_section(ctx: &Ctx<'_>, visitor: &Visitor, hidden: &Markup, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let passkey = strings.passkey();
    let has_password = visitor.user.has_password();
    let lead = if has_password {
        strings.account().password_lead
    } else {
        passkey.no_password_lead
    };
    let button = if has_password {
        strings.account().change_password_button
    } else {
        passkey.set_password_button
    };
    html! {
        (section_card("password", strings.account().password_section, html! { p.lead { (lead) } },
            sections.summary("password"), html! {
            form method="post" action="/user/password" novalidate {
                (hidden)
                (current_password_field(ctx, sections, "password"))
                (Field::new("new_password", strings.account().new_password_label, "password", "new-password")
                    .error(sections.error("password", "new_password")).required(true).max_length(MAX_PASSWORD_CHARS)
                    .hint(crate::pages::parts::password_hint(strings, ctx.settings.password_min_length_if_read()))
                    .render(strings))
                button type="submit" { (button) }
            }
            @if has_password && visitor.user.passkeys > 0 {
                form method="post" action="/user/password/remove" {
                    (hidden)
                    p.hint { (passkey.remove_password_hint) }
                    button.danger type="submit" { (passkey.remove_password_button) }
                }
            }
        }))
    }
}

/// Two-step verification: set up an authenticator app, or (when on) the backup codes left, new
/// ones, and turning it off (both ask for a recent factor first).
fn two_step_section(ctx: &Ctx<'_>, visitor: &Visitor, hidden: &Markup) -> Result<Markup, PortalError> {
    let strings = ctx.strings().two_step();
    let on = visitor.user.totp_enabled_at.is_some();
    let left = if on {
        crate::service::auth::factors::backup_codes_left(ctx.db()?, &visitor.user)?
    } else {
        0
    };
    Ok(html! {
        (section_card("two-step", strings.title, html! {}, html! {}, html! {
            @if on {
                p.lead { (strings.on_lead) }
                p { (strings.backup_left.replace("{count}", &left.to_string())) }
                form method="post" action="/user/two-step/backup-codes" {
                    (hidden)
                    button.secondary type="submit" { (strings.regenerate_button) }
                }
                form method="post" action="/user/two-step/disable" {
                    (hidden)
                    button.danger type="submit" { (strings.turn_off_button) }
                }
            } @else {
                p.lead { (strings.off_lead) }
                form method="post" action="/user/two-step" {
                    (hidden)
                    button type="submit" { (strings.set_up_button) }
                }
            }
        }))
    })
}

fn sessions_section(ctx: &Ctx<'_>, visitor: &Visitor, hidden: &Markup) -> Result<Markup, PortalError> {
    let strings = ctx.strings();
    let sessions = sessions::list_sessions(ctx.db()?, &visitor.user.id, ctx.now())?;
    Ok(html! {
        (section_card("sessions", strings.account().sessions_section, html! {}, html! {}, html! {
            table.stack {
                thead { tr {
                    th scope="col" { (strings.account().session_device) }
                    th scope="col" { (strings.account().session_created) }
                    th scope="col" { (strings.account().session_last_active) }
                    th scope="col" { (strings.account().session_client) }
                    th scope="col" { span.visually-hidden { (strings.account().revoke_button) } }
                } }
                tbody {
                    @for session in &sessions {
                        @let device = session.user_agent.as_deref().and_then(views::device)
                            .unwrap_or_else(|| strings.account().unknown_device.to_owned());
                        tr {
                            td data-label=(strings.account().session_device) {
                                (device)
                                @if session.id == visitor.session.id { " " strong { "(" (strings.account().this_device) ")" } }
                            }
                            td data-label=(strings.account().session_created) { (views::relative_time(strings, ctx.now(), session.created_at)) }
                            td data-label=(strings.account().session_last_active) { (views::relative_time(strings, ctx.now(), session.last_active_at)) }
                            td.mono data-label=(strings.account().session_client) {
                                (session.client_addr.as_deref().map(views::address_without_port).unwrap_or_default())
                            }
                            td {
                                form.inline method="post" action="/user/sessions/revoke" {
                                    (hidden)
                                    input type="hidden" name="session_id" value=(session.id);
                                    button.secondary type="submit" {
                                        (strings.account().revoke_button)
                                        (views::hidden_context(&strings.account().revoke_session_context.replace(
                                            "{what}",
                                            &format!("{device}, {}", strings.format_date(session.created_at)),
                                        )))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if sessions.len() > 1 {
                form method="post" action="/user/sessions/revoke-others" {
                    (hidden)
                    button.secondary type="submit" { (strings.account().revoke_others_button) }
                }
            }
        }))
    })
}

fn delete_section(ctx: &Ctx<'_>, hidden: &Markup, sections: &Sections<'_, '_>) -> Markup {
    let strings = ctx.strings();
    let phrase_label = strings
        .account()
        .delete_confirmation_label
        .replace("{phrase}", strings.delete_phrase);
    let confirmation = sections.value("delete", "confirmation", None);
    html! {
        (section_card("delete", strings.account().delete_section, html! { p.lead { (strings.account().delete_lead) } },
            sections.summary("delete"), html! {
            form method="post" action="/user/delete" novalidate {
                (hidden)
                (Field::new("confirmation", &phrase_label, "text", "off")
                    .value(&confirmation).error(sections.error("delete", "confirmation")).required(true)
                    .max_length(64).render(strings))
                (current_password_field(ctx, sections, "delete"))
                button.danger type="submit" { (strings.account().delete_button) }
            }
        }))
    }
}
