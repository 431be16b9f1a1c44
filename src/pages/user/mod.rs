//! `/user`: the signed-in person's account, like Clerk's `<UserProfile/>`. One page with a
//! section per concern; each form posts to `/user/<section>`, which re-checks the live portal
//! session, changes what is stored, issues a fresh `__session`, and redirects back with a notice
//! (post/redirect/get, so a refresh never resubmits). A failed post shows the page again with
//! the problem in its section.

mod passkeys;
mod two_step;
mod view;

pub use passkeys::{
    new as new_passkey, register as register_passkey, remove as remove_passkey, remove_password,
    rename as rename_passkey,
};
pub use two_step::{
    confirm as confirm_two_step, disable as disable_two_step, regenerate as regenerate_backup_codes,
    show as show_two_step, start as start_two_step,
};

use super::mail::{self, CodeFlowStart};
use super::parts::{Notice, Sections};
use super::redirects::{self, sign_in_location};
use super::render::{PageResult, or_show_form, see_other};
use super::{Ctx, auth, step_up};
use crate::domain::SessionId;
use crate::form::Params;
use crate::redirect::{Flow, LAST_RESORT_PATH, RedirectTarget};
use crate::service::email::Purpose;
use crate::service::profile;
use crate::service::profile::EmailChange;
use crate::service::sessions::{self, Visitor};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let visitor = ctx.visitor()?;
    let choice = redirects::choose(ctx, Flow::ReturnToApp);
    view::render(
        ctx,
        visitor,
        &choice.target,
        Some(&choice),
        Notice::from_query(ctx),
        &Sections::clean(ctx),
    )
}

/// Every `/user/*` post: a checked form from a live session, then `change`; a form problem shows
/// the page again with the problem in `section`.
fn post(
    ctx: &Ctx<'_>,
    section: &'static str,
    change: impl FnOnce(&Params, &Visitor, &RedirectTarget) -> PageResult,
) -> PageResult {
    let form = ctx.parse_form()?;
    let visitor = ctx.visitor()?;
    let target = redirects::from_form(ctx, Flow::ReturnToApp, &form)?;
    let changed = ctx.check_form(&form).and_then(|()| change(&form, visitor, &target));
    or_show_form(changed, |problem| {
        view::render(
            ctx,
            visitor,
            &target,
            None,
            None,
            &Sections::failed(ctx, section, &problem, &form),
        )
    })
}

/// After a change: a fresh `__session` with what is now stored, then back to `/user` with a
/// notice, keeping the way back to the app.
fn done(ctx: &Ctx<'_>, visitor: &Visitor, target: &RedirectTarget, notice: Notice) -> PageResult {
    auth::refresh_token(ctx, &visitor.session, visitor.two_step_on())?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("notice", notice.key());
    if target.location() != LAST_RESORT_PATH {
        query.append_pair("redirect_url", &target.location());
    }
    // The forms' actions carry no fragment, so none is carried over into this redirect: the page
    // opens at the top, where the notice is.
    Ok(see_other(&format!("/user?{}", query.finish())))
}

pub fn update_profile(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "profile", |form, visitor, target| {
        profile::update_profile(
            ctx.db()?,
            &visitor.user,
            form.text("first_name"),
            form.text("last_name"),
            form.text("username"),
            ctx.settings.sign_up_fields(),
            ctx.now(),
        )?;
        done(ctx, visitor, target, Notice::ProfileUpdated)
    })
}

pub fn update_email(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "email", |form, visitor, target| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/email", true) {
            return page;
        }
        let confirm_by_code = ctx.settings.email().can_send();
        let change = profile::change_email(
            ctx.db()?,
            &visitor.user,
            form.text("email_address"),
            step_up::reauthentication(ctx, visitor, form),
            &ctx.attempt(),
            confirm_by_code,
        )?;
        match change {
            EmailChange::Changed => done(ctx, visitor, target, Notice::EmailUpdated),
            EmailChange::Confirm { email, taken } => mail::start_code_flow(
                ctx,
                CodeFlowStart {
                    purpose: Purpose::EmailChange,
                    email: email.as_str(),
                    user_id: Some(&visitor.user.id),
                    payload: None,
                    target: None,
                    decoy: taken.then_some(None),
                },
            ),
        }
    })
}

/// `/user/email/verify`: a code to the account's current address, to verify it.
pub fn verify_email(ctx: &Ctx<'_>) -> PageResult {
    ctx.form()?;
    let visitor = ctx.visitor()?;
    if visitor.user.email_verified_at.is_some() {
        return Ok(see_other(&format!("/user?notice={}", Notice::EmailVerified.key())));
    }
    mail::start_code_flow(
        ctx,
        CodeFlowStart {
            purpose: Purpose::VerifyEmail,
            email: visitor.user.email.as_str(),
            user_id: Some(&visitor.user.id),
            payload: None,
            target: None,
            decoy: None,
        },
    )
}

pub fn update_phone(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "phone", |form, visitor, target| {
        let phone = if form.get("remove").is_some() {
            ""
        } else {
            form.text("phone_number")
        };
        let notice = match profile::change_phone_number(ctx.db()?, &visitor.user, phone, ctx.now())? {
            Some(_) => Notice::PhoneUpdated,
            None => Notice::PhoneRemoved,
        };
        done(ctx, visitor, target, notice)
    })
}

pub fn update_password(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "password", |form, visitor, target| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/password", true) {
            return page;
        }
        let new_password = form.text("new_password");
        let username = visitor.user.username.as_deref().unwrap_or_default();
        let identities = [visitor.user.email.as_str(), username];
        super::passwords::check_if_valid(ctx, new_password, &identities, "new_password")?;
        profile::change_password(
            ctx.db()?,
            &visitor.user,
            &visitor.session.id,
            step_up::reauthentication(ctx, visitor, form),
            form.text("new_password"),
            ctx.settings.password_min_length(),
            &ctx.attempt(),
        )?;
        done(ctx, visitor, target, Notice::PasswordUpdated)
    })
}

pub fn revoke_session(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "sessions", |form, visitor, target| {
        let Some(session_id) = SessionId::parse(form.text("session_id")) else {
            return done(ctx, visitor, target, Notice::SessionRevoked);
        };
        sessions::revoke_session(ctx.db()?, &visitor.user.id, &session_id, ctx.now())?;
        if session_id == visitor.session.id {
            // Revoking this device's own session is signing out.
            auth::clear_session_cookies(ctx);
            return Ok(see_other(&sign_in_location("/user")));
        }
        done(ctx, visitor, target, Notice::SessionRevoked)
    })
}

pub fn revoke_other_sessions(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "sessions", |_, visitor, target| {
        sessions::revoke_other_sessions(ctx.db()?, &visitor.user.id, &visitor.session.id, ctx.now())?;
        done(ctx, visitor, target, Notice::OtherSessionsRevoked)
    })
}

pub fn delete_account(ctx: &Ctx<'_>) -> PageResult {
    post(ctx, "delete", |form, visitor, _| {
        if let Some(page) = step_up::guard(ctx, visitor, form, "/user/delete", true) {
            return page;
        }
        profile::delete_account(
            ctx.db()?,
            &visitor.user,
            form.text("confirmation"),
            ctx.strings().delete_phrase,
            step_up::reauthentication(ctx, visitor, form),
            &ctx.attempt(),
        )?;
        auth::clear_session_cookies(ctx);
        let target = redirects::fallback(ctx, Flow::SignOut);
        Ok(see_other(&Notice::AccountDeleted.after(&target, "/sign-in")))
    })
}
