//! `/user`: the signed-in person's account, like Clerk's `<UserProfile/>`. One page with a
//! section per concern; each form posts to `/user/<section>`, which re-checks the live portal
//! session, changes what is stored, issues a fresh `__session`, and redirects back with a notice
//! (post/redirect/get, so a refresh never resubmits).

use http::{StatusCode, header};
use maud::{Markup, html};

use super::organization;
use super::sign_in::CredentialsFailure;
use super::{
    Ctx, PageResult, SignedIn, allow_form_target, field_error_text, see_other, see_other_sign_in, sign_in_first,
    signed_in,
};
use crate::accounts::{Attempt, FieldError};
use crate::config::FieldMode;
use crate::error::PortalError;
use crate::form::Params;
use crate::profile::{self, DELETE_CONFIRMATION, ProfileError};
use crate::redirect::{Flow, RedirectChoice, RedirectTarget};
use crate::store::organizations as orgs;
use crate::store::{sessions, users};
use crate::views::{self, Field, format_timestamp};

/// What a failed post re-renders: which section, its field errors and message, what was typed.
struct Problem<'a> {
    section: &'static str,
    errors: Vec<(&'static str, FieldError)>,
    message: Option<String>,
    form: &'a Params,
}

/// Success notices, by the key carried in `?notice=` (never free text from the query).
fn notice_text(ctx: &Ctx<'_>, key: &str) -> Option<&'static str> {
    let strings = ctx.strings;
    Some(match key {
        "profile_updated" => strings.notice_profile_updated,
        "email_updated" => strings.notice_email_updated,
        "phone_updated" => strings.notice_phone_updated,
        "phone_removed" => strings.notice_phone_removed,
        "password_updated" => strings.notice_password_updated,
        "session_revoked" => strings.notice_session_revoked,
        "other_sessions_revoked" => strings.notice_other_sessions_revoked,
        "invitation_declined" => strings.notice_invitation_declined,
        _ => return None,
    })
}

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let Some(visitor) = ctx.signed_in()? else {
        return Ok(sign_in_first(&ctx.path_and_query()));
    };
    let choice = ctx.choose_redirect(Flow::ReturnToApp);
    let notice = ctx.query.get("notice").and_then(|key| notice_text(ctx, key));
    let content = page_content(ctx, visitor, &choice.target, None)?;
    let mut response = user_page(ctx, StatusCode::OK, Some(&choice), notice, content);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Runs `action` with the form, the visitor and the return target of a post with a valid form
/// (CSRF, origin) from a live portal session. A revoked or expired session changes nothing and
/// is sent to sign in.
fn with_post(ctx: &Ctx<'_>, action: impl FnOnce(&Params, &SignedIn, &RedirectTarget) -> PageResult) -> PageResult {
    let form = ctx.form()?;
    let Some(visitor) = ctx.signed_in()? else {
        return Ok(see_other_sign_in("/user"));
    };
    let target = ctx.redirect_from_form(Flow::ReturnToApp, &form)?;
    action(&form, visitor, &target)
}

/// After a change: a fresh `__session` with what is now stored, then back to `/user` with a notice.
fn done(ctx: &Ctx<'_>, visitor: &SignedIn, target: &RedirectTarget, notice: &str) -> PageResult {
    let user = users::get_user(ctx.db()?, &visitor.user.id)?;
    signed_in::issue_session_token(ctx, &visitor.session, &user)?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("notice", notice);
    if target.location() != crate::redirect::LAST_RESORT_PATH {
        query.append_pair("redirect_url", &target.location());
    }
    Ok(see_other(&format!("/user?{}", query.finish())))
}

/// Re-renders the page with a section's problem, or turns a non-field error into its page.
fn failed(
    ctx: &Ctx<'_>,
    visitor: &SignedIn,
    target: &RedirectTarget,
    section: &'static str,
    form: &Params,
    error: ProfileError,
) -> PageResult {
    let (status, problem) = match error {
        ProfileError::Fields(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problem {
                section,
                errors,
                message: Some(ctx.strings.fix_errors.to_owned()),
                form,
            },
        ),
        ProfileError::Credentials(error) => {
            // Same statuses and messages as sign-in: wrong password 401, locked 429.
            let failure = CredentialsFailure::from_error(ctx, error)?;
            let problem = Problem {
                section,
                errors: Vec::new(),
                message: Some(failure.message.clone()),
                form,
            };
            let content = page_content(ctx, visitor, target, Some(&problem))?;
            let mut page = user_page(ctx, failure.status, None, None, content);
            failure.apply(&mut page);
            return Ok(page);
        }
        ProfileError::Db(error) => return Err(error.into()),
        ProfileError::Internal(detail) => return Err(PortalError::Internal(detail)),
    };
    let content = page_content(ctx, visitor, target, Some(&problem))?;
    Ok(user_page(ctx, status, None, None, content))
}

/// The page around the sections. Deleting the account ends in a redirect to the sign-out
/// fallback, which CSP `form-action` must allow.
fn user_page(
    ctx: &Ctx<'_>,
    status: StatusCode,
    choice: Option<&RedirectChoice>,
    notice: Option<&str>,
    content: Markup,
) -> http::Response<Vec<u8>> {
    let mut response = ctx.render_with(status, ctx.strings.user_title, true, choice, notice, content);
    allow_form_target(&mut response, &ctx.fallback_redirect(Flow::SignOut));
    response
}

fn attempt<'c>(ctx: &'c Ctx<'_>) -> Attempt<'c> {
    Attempt {
        client_addr: ctx.client_addr(),
        policy: ctx.settings.limits.lock_policy(),
        now: ctx.now(),
    }
}

pub fn update_profile(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |form, visitor, target| {
        let result = profile::update_profile(
            ctx.db()?,
            &visitor.user,
            form.text("first_name"),
            form.text("last_name"),
            form.text("username"),
            ctx.settings.sign_up_fields,
            ctx.now(),
        );
        match result {
            Ok(()) => done(ctx, visitor, target, "profile_updated"),
            Err(error) => failed(ctx, visitor, target, "profile", form, error),
        }
    })
}

pub fn update_email(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |form, visitor, target| {
        let result = profile::change_email(
            ctx.db()?,
            &visitor.user,
            form.text("email_address"),
            form.text("current_password"),
            &attempt(ctx),
        );
        match result {
            Ok(()) => done(ctx, visitor, target, "email_updated"),
            Err(error) => failed(ctx, visitor, target, "email", form, error),
        }
    })
}

pub fn update_phone(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |form, visitor, target| {
        let phone = if form.get("remove").is_some() {
            ""
        } else {
            form.text("phone_number")
        };
        match profile::change_phone_number(ctx.db()?, &visitor.user, phone, ctx.now()) {
            Ok(Some(_)) => done(ctx, visitor, target, "phone_updated"),
            Ok(None) => done(ctx, visitor, target, "phone_removed"),
            Err(error) => failed(ctx, visitor, target, "phone", form, error),
        }
    })
}

pub fn update_password(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |form, visitor, target| {
        let result = profile::change_password(
            ctx.db()?,
            &visitor.user,
            &visitor.session.id,
            form.text("current_password"),
            form.text("new_password"),
            &attempt(ctx),
        );
        match result {
            Ok(()) => done(ctx, visitor, target, "password_updated"),
            Err(error) => failed(ctx, visitor, target, "password", form, error),
        }
    })
}

pub fn revoke_session(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |form, visitor, target| {
        let session_id = form.text("session_id");
        sessions::delete_user_session(ctx.db()?, &visitor.user.id, session_id)?;
        if session_id == visitor.session.id {
            // Revoking this device's own session is signing out.
            signed_in::clear_session_cookies(ctx);
            return Ok(see_other_sign_in("/user"));
        }
        done(ctx, visitor, target, "session_revoked")
    })
}

pub fn revoke_other_sessions(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |_, visitor, target| {
        sessions::delete_other_sessions(ctx.db()?, &visitor.user.id, &visitor.session.id)?;
        done(ctx, visitor, target, "other_sessions_revoked")
    })
}

pub fn delete_account(ctx: &Ctx<'_>) -> PageResult {
    with_post(ctx, |form, visitor, target| {
        let result = profile::delete_account(
            ctx.db()?,
            &visitor.user,
            form.text("confirmation"),
            form.text("current_password"),
            &attempt(ctx),
        );
        if let Err(error) = result {
            return failed(ctx, visitor, target, "delete", form, error);
        }
        signed_in::clear_session_cookies(ctx);
        Ok(see_other(&ctx.fallback_redirect(Flow::SignOut).location()))
    })
}

/// Every section of the page. `problem` marks the section whose post failed.
fn page_content(
    ctx: &Ctx<'_>,
    visitor: &SignedIn,
    target: &RedirectTarget,
    problem: Option<&Problem<'_>>,
) -> Result<Markup, PortalError> {
    let strings = ctx.strings;
    let user = &visitor.user;
    let fields = ctx.settings.sign_up_fields;
    let in_section = |section: &str| problem.filter(|p| p.section == section);
    let error = |section: &str, name: &str| {
        in_section(section).and_then(|p| {
            p.errors
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(field, error)| field_error_text(strings, field, *error))
        })
    };
    let message = |section: &str| in_section(section).and_then(|p| p.message.as_deref());
    // What the person typed when their post failed, else what is stored.
    let value = |section: &str, name: &str, stored: Option<&str>| -> String {
        match in_section(section) {
            Some(p) => p.form.text(name).to_owned(),
            None => stored.unwrap_or_default().to_owned(),
        }
    };
    let hidden = html! {
        (ctx.csrf_field()?)
        (ctx.sealed_redirect_field(Flow::ReturnToApp, target)?)
    };
    let sessions = sessions::list_user_sessions(ctx.db()?, &user.id, ctx.now())?;
    let memberships = orgs::list_user_memberships(ctx.db()?, &user.id)?;
    let active_org = sessions::find_active_organization(ctx.db()?, &visitor.session.id)?;
    let required = |mode: FieldMode| mode == FieldMode::Required;
    let phrase_label = strings
        .delete_confirmation_label
        .replace("{phrase}", DELETE_CONFIRMATION);
    let first_name = value("profile", "first_name", user.first_name.as_deref());
    let last_name = value("profile", "last_name", user.last_name.as_deref());
    let username = value("profile", "username", user.username.as_deref());
    let new_email = value("email", "email_address", None);
    let phone = value("phone", "phone_number", user.phone_number.as_deref());
    let confirmation = value("delete", "confirmation", None);
    Ok(html! {
        (super::account_nav(ctx, "/user"))
        h1 { (strings.user_title) }
        p.lead { (strings.signed_in_as) " " strong { (user.email) } }

        section.card id="organizations" aria-labelledby="organizations-heading" {
            h2 id="organizations-heading" { (strings.organizations_section) }
            (organization::membership_list(ctx, &memberships, active_org.as_deref()))
            p { a href="/create-organization" { (strings.create_org_title) } }
        }

        @if fields.first_name.is_shown() || fields.last_name.is_shown() || fields.username.is_shown() {
            section.card id="profile" aria-labelledby="profile-heading" {
                h2 id="profile-heading" { (strings.profile_section) }
                p.lead { (strings.profile_lead) }
                (views::form_error(message("profile")))
                form method="post" action="/user/profile" novalidate {
                    (hidden)
                    @if fields.first_name.is_shown() || fields.last_name.is_shown() {
                        div.row {
                            @if fields.first_name.is_shown() {
                                (Field::new("first_name", strings.first_name_label, "text", "given-name")
                                    .value(&first_name).error(error("profile", "first_name"))
                                    .required(required(fields.first_name)).max_length(100).render(strings))
                            }
                            @if fields.last_name.is_shown() {
                                (Field::new("last_name", strings.last_name_label, "text", "family-name")
                                    .value(&last_name).error(error("profile", "last_name"))
                                    .required(required(fields.last_name)).max_length(100).render(strings))
                            }
                        }
                    }
                    @if fields.username.is_shown() {
                        (Field::new("username", strings.username_label, "text", "username")
                            .value(&username).error(error("profile", "username"))
                            .required(required(fields.username)).max_length(64)
                            .hint(strings.username_hint).render(strings))
                    }
                    button type="submit" { (strings.save_button) }
                }
            }
        }

        section.card id="email" aria-labelledby="email-heading" {
            h2 id="email-heading" { (strings.email_section) }
            p { span.mono { (user.email) } " " span.optional { "(" (strings.email_unverified) ")" } }
            (views::form_error(message("email")))
            form method="post" action="/user/email" novalidate {
                (hidden)
                (Field::new("email_address", strings.new_email_label, "email", "email")
                    .value(&new_email).error(error("email", "email_address")).required(true)
                    .max_length(254).render(strings))
                (Field::new("current_password", strings.current_password_label, "password", "current-password")
                    .error(error("email", "current_password")).required(true).max_length(256).render(strings))
                button type="submit" { (strings.change_email_button) }
            }
        }

        @if fields.phone_number.is_shown() {
            section.card id="phone" aria-labelledby="phone-heading" {
                h2 id="phone-heading" { (strings.phone_section) }
                @if user.phone_number.is_none() { p.hint { (strings.phone_none) } }
                (views::form_error(message("phone")))
                form method="post" action="/user/phone" novalidate {
                    (hidden)
                    (Field::new("phone_number", strings.phone_label, "tel", "tel")
                        .value(&phone).error(error("phone", "phone_number")).required(false)
                        .max_length(16).hint(strings.phone_hint).render(strings))
                    div.actions {
                        button type="submit" { (strings.save_phone_button) }
                        @if user.phone_number.is_some() {
                            button.secondary type="submit" name="remove" value="1" { (strings.remove_phone_button) }
                        }
                    }
                }
            }
        }

        section.card id="password" aria-labelledby="password-heading" {
            h2 id="password-heading" { (strings.password_section) }
            p.lead { (strings.password_lead) }
            (views::form_error(message("password")))
            form method="post" action="/user/password" novalidate {
                (hidden)
                (Field::new("current_password", strings.current_password_label, "password", "current-password")
                    .error(error("password", "current_password")).required(true).max_length(256).render(strings))
                (Field::new("new_password", strings.new_password_label, "password", "new-password")
                    .error(error("password", "new_password")).required(true).max_length(256)
                    .hint(strings.password_hint).render(strings))
                button type="submit" { (strings.change_password_button) }
            }
        }

        section.card id="sessions" aria-labelledby="sessions-heading" {
            h2 id="sessions-heading" { (strings.sessions_section) }
            table {
                thead { tr {
                    th scope="col" { (strings.session_device) }
                    th scope="col" { (strings.session_created) }
                    th scope="col" { (strings.session_last_active) }
                    th scope="col" { (strings.session_client) }
                    th scope="col" { span.skip-link { (strings.revoke_button) } }
                } }
                tbody {
                    @for session in &sessions {
                        tr {
                            td {
                                (session.user_agent.as_deref().unwrap_or(strings.unknown_device))
                                @if session.id == visitor.session.id { br; strong { (strings.this_device) } }
                            }
                            td { (format_timestamp(session.created_at)) }
                            td { (format_timestamp(session.last_active_at)) }
                            td.mono { (session.client_addr.as_deref().unwrap_or("")) }
                            td {
                                form.inline method="post" action="/user/sessions/revoke" {
                                    (hidden)
                                    input type="hidden" name="session_id" value=(session.id);
                                    button.secondary type="submit" { (strings.revoke_button) }
                                }
                            }
                        }
                    }
                }
            }
            @if sessions.len() > 1 {
                form method="post" action="/user/sessions/revoke-others" {
                    (hidden)
                    button.secondary type="submit" { (strings.revoke_others_button) }
                }
            }
        }

        section.card id="delete" aria-labelledby="delete-heading" {
            h2 id="delete-heading" { (strings.delete_section) }
            p.lead { (strings.delete_lead) }
            (views::form_error(message("delete")))
            form method="post" action="/user/delete" novalidate {
                (hidden)
                (Field::new("confirmation", &phrase_label, "text", "off")
                    .value(&confirmation).error(error("delete", "confirmation")).required(true)
                    .max_length(64).render(strings))
                (Field::new("current_password", strings.current_password_label, "password", "current-password")
                    .error(error("delete", "current_password")).required(true).max_length(256).render(strings))
                button.danger type="submit" { (strings.delete_button) }
            }
        }
    })
}
