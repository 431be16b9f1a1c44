//! `/create-organization`, `/organization` and its forms, and `/organization/invitation`.
//! Like Clerk's `<CreateOrganization/>` and `<OrganizationProfile/>`.
//!
//! Every post names the organization it acts on in a hidden `org_id`; the rules in
//! `crate::service::organizations` re-read the visitor's membership and role from the database,
//! so a crafted post gets 403, never a change.

pub(crate) mod view;

use super::parts::{Notice, Sections, role_text};
use super::redirects;
use super::render::{PageResult, found, or_show_form, see_other};
use super::{Ctx, auth, mail};
use crate::domain::{InvitationId, OrgId, UserId};
use crate::error::PortalError;
use crate::form::Params;
use crate::redirect::{Flow, RedirectTarget};
use crate::service::sessions::{self, Visitor};
use crate::service::{accounts, organizations};
use crate::views::Msg;

// ---------------------------------------------------------------------------------------------
// /create-organization

pub fn show_create(ctx: &Ctx<'_>) -> PageResult {
    ctx.visitor()?;
    let choice = redirects::choose(ctx, Flow::CreateOrganization);
    view::create_page(ctx, &choice.target, Some(&choice), &Params::default(), "", None)
}

pub fn create(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let visitor = ctx.visitor()?;
    let target = redirects::from_form(ctx, Flow::CreateOrganization, &form)?;
    // An empty slug is derived from the name here, once, so that a form shown again (a taken
    // slug, a name problem) shows the slug that was tried and the person can change it.
    let slug = match (form.text("slug").trim(), form.text("name").trim()) {
        ("", "") => String::new(),
        ("", name) => crate::domain::Slug::derive(name),
        (typed, _) => typed.to_owned(),
    };
    let created = ctx
        .check_form(&form)
        .and_then(|()| create_organization(ctx, visitor, form.text("name"), &slug, &target));
    or_show_form(created, |problem| {
        view::create_page(ctx, &target, None, &form, &slug, Some(&problem))
    })
}

/// Creates the organization, makes it the session's active one and goes back by the chain.
fn create_organization(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    name: &str,
    slug: &str,
    target: &RedirectTarget,
) -> PageResult {
    let db = ctx.db()?;
    let organization = organizations::create_organization(db, &visitor.user, name, slug, ctx.now())?;
    sessions::activate_organization(db, &visitor.session, &organization.id)?;
    auth::refresh_token(ctx, &visitor.session, visitor.two_step_on())?;
    Ok(found(&Notice::OrganizationCreated.after(target, "/organization")))
}

// ---------------------------------------------------------------------------------------------
// /organization

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let visitor = ctx.visitor()?;
    let db = ctx.db()?;
    if let Some(slug) = ctx.query.get("switch") {
        let membership = organizations::membership_by_slug(db, &visitor.user.id, slug)?;
        return view::switch_page(ctx, &membership);
    }
    let Some(membership) = sessions::active_membership(db, &visitor.session)? else {
        let memberships = organizations::list_memberships(db, &visitor.user.id)?;
        if memberships.is_empty() {
            return Ok(found("/create-organization"));
        }
        return view::chooser(ctx, &memberships);
    };
    let leave_target = redirects::choose(ctx, Flow::LeaveOrganization).target;
    let choice = redirects::choose(ctx, Flow::ReturnToApp);
    view::profile_page(
        ctx,
        visitor,
        &membership,
        &leave_target,
        Some(&choice),
        Notice::from_query(ctx),
        &Sections::clean(ctx),
    )
}

/// `POST /organization/switch`: makes one of the visitor's organizations the active one.
pub fn switch(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    sessions::switch_organization(ctx.db()?, &visitor.session, form.text("slug"))?;
    changed(ctx, visitor, Notice::Switched)
}

/// Every `/organization/*` post: a checked form from a live session and the organization it
/// names, then `change`; a form problem shows the page again with the problem in `section`.
fn org_post(
    ctx: &Ctx<'_>,
    section: &'static str,
    change: impl FnOnce(&Params, &Visitor, &OrgId) -> PageResult,
) -> PageResult {
    let form = ctx.parse_form()?;
    let visitor = ctx.visitor()?;
    let org_id = OrgId::parse(form.text("org_id")).ok_or(PortalError::Forbidden(Msg::ForbiddenOrg))?;
    let changed = ctx.check_form(&form).and_then(|()| change(&form, visitor, &org_id));
    or_show_form(changed, |problem| {
        let membership = organizations::require_member(ctx.db()?, &org_id, &visitor.user.id)?;
        let leave_target = redirects::from_form(ctx, Flow::LeaveOrganization, &form)?;
        view::profile_page(
            ctx,
            visitor,
            &membership,
            &leave_target,
            None,
            None,
            &Sections::failed(ctx, section, &problem, &form),
        )
    })
}

/// The member a post acts on; an id that does not parse is nobody the actor may touch.
fn target_member(form: &Params) -> Result<UserId, PortalError> {
    UserId::parse(form.text("user_id")).ok_or(PortalError::Forbidden(Msg::ForbiddenOrg))
}

/// After an organization change: a fresh `__session` (role or slug may have changed) and back.
fn changed(ctx: &Ctx<'_>, visitor: &Visitor, notice: Notice) -> PageResult {
    auth::refresh_token(ctx, &visitor.session, visitor.two_step_on())?;
    Ok(see_other(&format!("/organization?notice={}", notice.key())))
}

/// Leaving or deleting: a fresh `__session` without the organization, then
/// `after_leave_organization_url` (by the redirect chain carried in the form).
fn after_leaving(ctx: &Ctx<'_>, visitor: &Visitor, form: &Params, notice: Notice) -> PageResult {
    auth::refresh_token(ctx, &visitor.session, visitor.two_step_on())?;
    let target = redirects::from_form(ctx, Flow::LeaveOrganization, form)?;
    Ok(see_other(&notice.after(&target, "/user")))
}

pub fn update_general(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "general", |form, visitor, org_id| {
        organizations::update_organization(
            ctx.db()?,
            organizations::Actor::Person(&visitor.user),
            org_id,
            form.text("name"),
            form.text("slug"),
            ctx.now(),
        )?;
        changed(ctx, visitor, Notice::OrgUpdated)
    })
}

/// `POST /organization/two-step`: whether members must use two-step verification (admins).
pub fn set_two_step(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "two-step", |form, visitor, org_id| {
        let required = form.text("require_two_step") == "on";
        organizations::set_require_two_step(
            ctx.db()?,
            organizations::Actor::Person(&visitor.user),
            org_id,
            required,
            ctx.now(),
        )?;
        changed(ctx, visitor, Notice::OrgUpdated)
    })
}

pub fn change_role(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "members", |form, visitor, org_id| {
        let member = target_member(form)?;
        organizations::change_role(
            ctx.db()?,
            organizations::Actor::Person(&visitor.user),
            org_id,
            &member,
            form.text("role"),
            ctx.now(),
        )?;
        changed(ctx, visitor, Notice::RoleChanged)
    })
}

pub fn remove_member(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "members", |form, visitor, org_id| {
        let member = target_member(form)?;
        organizations::remove_member(
            ctx.db()?,
            organizations::Actor::Person(&visitor.user),
            org_id,
            &member,
            ctx.now(),
        )?;
        changed(ctx, visitor, Notice::MemberRemoved)
    })
}

pub fn invite(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "invitations", |form, visitor, org_id| {
        let created = organizations::invite(
            ctx.db()?,
            organizations::Actor::Person(&visitor.user),
            org_id,
            form.text("email_address"),
            form.text("role"),
            ctx.now(),
        )?;
        if ctx.settings.email().can_send()
            && let Err(error) = send_invitation(ctx, visitor, org_id, &created)
        {
            // Nothing half-done: the link no one received is taken back.
            organizations::withdraw_unsent_invitation(ctx.db()?, &created.token)?;
            return Err(error);
        }
        // Post/redirect/get: the link is shown once by the page this redirects to, so a reload
        // neither invites again nor shows it again (only its hash is stored, so it travels in a
        // short-lived cookie sealed to this session).
        let shown = serde_json::json!([created.token, created.email.as_str(), created.role.as_str()]).to_string();
        let sealed = ctx.signing_mac()?.seal(&created_seal_purpose(visitor), &shown);
        ctx.add_cookie(crate::security::session::set_cookie(
            created_cookie(ctx),
            &sealed,
            CREATED_LIFETIME,
            &ctx.portal_cookie_scope(),
        ));
        Ok(see_other("/organization/invitations/created"))
    })
}

/// Seconds the created invitation's link waits to be shown.
const CREATED_LIFETIME: i64 = 300;

fn created_cookie(ctx: &Ctx<'_>) -> &'static str {
    if ctx.settings.is_development() {
        "portal_invitation_created"
    } else {
        "__Host-portal_invitation_created"
    }
}

/// The seal of a created invitation opens only in the session that created it.
/// `[token, email, role]`, as `invite` seals them.
fn created_invitation_from_json(json: &str) -> Option<(String, String, String)> {
    let parts = crate::json_object::strings(serde_json::from_slice(json.as_bytes()).ok()?)?;
    let [token, email, role] = <[String; 3]>::try_from(parts).ok()?;
    Some((token, email, role))
}

fn created_seal_purpose(visitor: &Visitor) -> String {
    format!("invitation-created\0{}", visitor.session.id)
}

/// `GET /organization/invitations/created`: the new invitation's link, once (the cookie that
/// carried it is cleared); a reload goes back to the organization.
pub fn show_created_invitation(ctx: &Ctx<'_>) -> PageResult {
    let visitor = ctx.visitor()?;
    let name = created_cookie(ctx);
    let opened = ctx
        .cookie(name)
        .and_then(|sealed| ctx.mac_keys().ok()?.unseal(&created_seal_purpose(visitor), sealed))
        .and_then(|json| created_invitation_from_json(&json));
    ctx.add_cookie(crate::security::session::clear_cookie(name, &ctx.portal_cookie_scope()));
    let Some((token, email, role)) = opened else {
        return Ok(see_other("/organization"));
    };
    let (Ok(email), Ok(role)) = (
        crate::domain::EmailAddress::parse(&email),
        crate::domain::Role::parse(&role),
    ) else {
        return Ok(see_other("/organization"));
    };
    view::invitation_created(ctx, &organizations::CreatedInvitation { token, email, role })
}

/// Emails an invitation's link in the inviter's language (the admin also sees it to copy).
fn send_invitation(
    ctx: &Ctx<'_>,
    visitor: &Visitor,
    org_id: &OrgId,
    created: &organizations::CreatedInvitation,
) -> Result<(), PortalError> {
    let organization = organizations::organization(ctx.db()?, org_id)?
        .ok_or_else(|| PortalError::Internal("the organization is gone".into()))?;
    // No `ui_locales`: the invitee's pages speak the invitee's language (their browser's), not
    // the admin's; the email itself is in the admin's, who chose its words.
    let link = view::emailed_invitation_link(ctx, &created.token)?;
    let inviter = person_name(&visitor.user);
    let to = created.email.as_str();
    mail::admit(ctx, to)?;
    mail::send(
        ctx,
        to,
        mail::Email::Invitation {
            inviter: &inviter,
            organization: &organization.name,
            role: role_text(ctx.strings(), created.role),
            link: link.to_string(),
        },
    )
}

pub fn revoke_invitation(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "invitations", |form, visitor, org_id| {
        let invitation = InvitationId::parse(form.text("invitation_id"));
        organizations::revoke_invitation(
            ctx.db()?,
            organizations::Actor::Person(&visitor.user),
            org_id,
            invitation.as_ref(),
            ctx.now(),
        )?;
        changed(ctx, visitor, Notice::InvitationRevoked)
    })
}

pub fn leave(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "leave", |form, visitor, org_id| {
        organizations::leave_organization(ctx.db()?, &visitor.user, org_id, ctx.now())?;
        after_leaving(ctx, visitor, form, Notice::LeftOrganization)
    })
}

pub fn delete(ctx: &Ctx<'_>) -> PageResult {
    org_post(ctx, "delete", |form, visitor, org_id| {
        if let Some(page) = super::step_up::guard(ctx, visitor, form, "/organization/delete", false) {
            return page;
        }
        organizations::delete_organization(ctx.db()?, &visitor.user, org_id, form.text("confirmation"), ctx.now())?;
        after_leaving(ctx, visitor, form, Notice::OrganizationDeleted)
    })
}

// ---------------------------------------------------------------------------------------------
// /organization/invitation

/// How an invitation names the admin who sent it: their name, else their address.
fn person_name(user: &crate::store::users::User) -> String {
    match (&user.first_name, &user.last_name) {
        (Some(first), Some(last)) => format!("{first} {last}"),
        (Some(first), None) => first.clone(),
        _ => user.email.as_str().to_owned(),
    }
}

pub fn show_invitation(ctx: &Ctx<'_>) -> PageResult {
    let token = ctx.query.text("token");
    let Some(visitor) = ctx.signed_in()? else {
        // One trip for a new invitee: the invitation says who invited them to what, and takes
        // their new account right there.
        let (invitation, organization, has_account) =
            organizations::open_invitation_signed_out(ctx.db()?, token, ctx.now())?;
        let lead = view::invitation_lead(ctx, &invitation, &organization)?;
        let proof = ctx.query.text("proof");
        let proven = view::proves_mailbox(ctx, token, proof).then_some((proof, has_account));
        let input = accounts::SignUpInput::default();
        return view::invitation_signed_out(ctx, token, &invitation, &lead, proven, &input, None);
    };
    let (invitation, organization) = organizations::open_invitation(ctx.db()?, token, &visitor.user, ctx.now())?;
    let lead = view::invitation_lead(ctx, &invitation, &organization)?;
    view::invitation_page(ctx, token, &lead)
}

pub fn accept_invitation(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    let db = ctx.db()?;
    // Where email works, only a proven address may take an invitation made out to it (an
    // unverified sign-up with someone else's address must not).
    if ctx.settings.email().can_send() && visitor.user.email_verified_at.is_none() {
        return Err(PortalError::Forbidden(Msg::InvitationNeedsVerified));
    }
    let organization = organizations::accept_invitation(db, form.text("token"), &visitor.user, ctx.now())?;
    sessions::activate_organization(db, &visitor.session, &organization.id)?;
    changed(ctx, visitor, Notice::InvitationAccepted)
}

/// `POST /organization/invitation/join`: a new account for the invitation's address (verified by
/// the emailed link's mailbox proof), joined to the organization and signed in, in one trip.
pub fn join_invitation(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.parse_form()?;
    let token = form.text("token").to_owned();
    let proof = form.text("proof").to_owned();
    let db = ctx.db()?;
    let (invitation, organization, has_account) = organizations::open_invitation_signed_out(db, &token, ctx.now())?;
    if !view::proves_mailbox(ctx, &token, &proof) {
        // Only the emailed link proves the address; a copy signs up like anyone else.
        return Err(PortalError::Forbidden(Msg::InvitationWrongEmail));
    }
    let input = super::sign_up::posted_account(ctx, &form, invitation.email.as_str());
    let joined = ctx.check_form(&form).and_then(|()| {
        if has_account {
            return Err(PortalError::Forbidden(Msg::InvitationWrongEmail));
        }
        super::passwords::check_sign_up(ctx, &input)?;
        let attempt = ctx.attempt();
        let pending = match accounts::request_sign_up(
            db,
            &input,
            ctx.settings.sign_up_fields(),
            &ctx.settings.sign_up_policy().for_invitation(),
            &attempt,
        )? {
            accounts::SignUpRequest::New(pending) => pending,
            // Another request made the account first: that account signs in to accept.
            accounts::SignUpRequest::Existing(_) => return Err(PortalError::Forbidden(Msg::InvitationWrongEmail)),
        };
        let (user, organization) = organizations::join_with_new_account(db, &token, ctx.now(), || {
            accounts::create_verified_account(db, &pending, &ctx.settings.sign_up_policy().for_invitation(), ctx.now())
                .map_err(PortalError::from)
        })?;
        let location = format!("/organization?notice={}", Notice::InvitationAccepted.key());
        let response = auth::first_factor(ctx, &user, crate::service::auth::Factor::Password, &location)?;
        // The new account's one session starts with the organization active, and its token
        // (re-issued, replacing the first) says so.
        if let Some(session) = sessions::list_sessions(db, &user.id, ctx.now())?.first() {
            sessions::activate_organization(db, session, &organization.id)?;
            auth::refresh_token(ctx, session, false)?;
        }
        Ok(response)
    });
    or_show_form(joined, |problem| {
        let lead = view::invitation_lead(ctx, &invitation, &organization)?;
        view::invitation_signed_out(
            ctx,
            &token,
            &invitation,
            &lead,
            Some((&proof, false)),
            &input,
            Some(&problem),
        )
    })
}

pub fn decline_invitation(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let visitor = ctx.visitor()?;
    organizations::decline_invitation(ctx.db()?, form.text("token"), &visitor.user, ctx.now())?;
    Ok(see_other(&format!("/user?notice={}", Notice::InvitationDeclined.key())))
}
