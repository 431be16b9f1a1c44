//! `/create-organization`, `/organization` and its forms, and `/organization/invitation`.
//! Like Clerk's `<CreateOrganization/>` and `<OrganizationProfile/>`.
//!
//! Every post names the organization it acts on in a hidden `org_id`; the rules in
//! `crate::organizations` re-read the visitor's membership and role from the database, so a
//! crafted post gets 403, never a change.

use http::StatusCode;
use maud::{Markup, html};

use super::{
    Ctx, PageResult, SignedIn, allow_form_target, field_error_text, redirect_to, see_other, see_other_sign_in,
    sign_in_first, signed_in,
};
use crate::accounts::FieldError;
use crate::domain::{Role, Slug};
use crate::error::PortalError;
use crate::form::Params;
use crate::organizations::{self, OrgError};
use crate::redirect::{Flow, RedirectTarget};
use crate::store::organizations::{self as orgs, Membership};
use crate::views::{self, Field, format_timestamp};

/// The signed-in visitor, or a redirect to sign in that comes back to this page.
fn visitor_or_sign_in<'c>(ctx: &'c Ctx<'_>) -> Result<Result<&'c SignedIn, http::Response<Vec<u8>>>, PortalError> {
    Ok(ctx.signed_in()?.ok_or_else(|| sign_in_first(&ctx.path_and_query())))
}

fn notice_text(ctx: &Ctx<'_>, key: &str) -> Option<&'static str> {
    let strings = ctx.strings;
    Some(match key {
        "org_updated" => strings.notice_org_updated,
        "role_changed" => strings.notice_role_changed,
        "member_removed" => strings.notice_member_removed,
        "invitation_revoked" => strings.notice_invitation_revoked,
        "invitation_accepted" => strings.notice_invitation_accepted,
        "invitation_declined" => strings.notice_invitation_declined,
        "switched" => strings.notice_switched,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// /create-organization

pub fn show_create(ctx: &Ctx<'_>) -> PageResult {
    if let Err(response) = visitor_or_sign_in(ctx)? {
        return Ok(response);
    }
    let choice = ctx.choose_redirect(Flow::CreateOrganization);
    let content = create_form(ctx, &choice.target, &Params::default(), &[], None)?;
    Ok(ctx.render(ctx.strings.create_org_title, false, Some(&choice), content))
}

pub fn create(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form()?;
    let Some(visitor) = ctx.signed_in()? else {
        return Ok(see_other_sign_in("/create-organization"));
    };
    let target = ctx.redirect_from_form(Flow::CreateOrganization, &form)?;
    let db = ctx.db()?;
    match organizations::create_organization(db, &visitor.user, form.text("name"), form.text("slug"), ctx.now()) {
        Ok(organization) => {
            orgs::set_active_organization(db, &visitor.session.id, Some(&organization.id))?;
            signed_in::issue_session_token(ctx, &visitor.session, &visitor.user)?;
            Ok(redirect_to(&target.location()))
        }
        Err(OrgError::Fields(errors)) => {
            let content = create_form(ctx, &target, &form, &errors, Some(ctx.strings.fix_errors))?;
            let mut response = ctx.render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ctx.strings.create_org_title,
                false,
                None,
                None,
                content,
            );
            allow_form_target(&mut response, &target);
            Ok(response)
        }
        Err(error) => Err(org_error(ctx, error)),
    }
}

fn create_form(
    ctx: &Ctx<'_>,
    target: &RedirectTarget,
    form: &Params,
    errors: &[(&'static str, FieldError)],
    message: Option<&str>,
) -> Result<Markup, PortalError> {
    let strings = ctx.strings;
    let error = |name: &str| find_error(ctx, errors, name);
    Ok(html! {
        div.card {
            h1 { (strings.create_org_title) }
            p.lead { (strings.create_org_lead) }
            (views::form_error(message))
            form method="post" action="/create-organization" novalidate {
                (ctx.csrf_field()?)
                (ctx.sealed_redirect_field(Flow::CreateOrganization, target)?)
                (Field::new("name", strings.org_name_label, "text", "organization")
                    .value(form.text("name")).error(error("name")).required(true).max_length(100).render(strings))
                (Field::new("slug", strings.org_slug_label, "text", "off")
                    .value(form.text("slug")).error(error("slug")).required(false).max_length(Slug::MAX_LEN)
                    .hint(strings.org_slug_hint).render(strings))
                button type="submit" { (strings.create_org_button) }
            }
        }
    })
}

fn find_error(ctx: &Ctx<'_>, errors: &[(&'static str, FieldError)], name: &str) -> Option<&'static str> {
    errors
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(field, error)| field_error_text(ctx.strings, field, *error))
}

/// Errors that are not field problems, as pages.
fn org_error(ctx: &Ctx<'_>, error: OrgError) -> PortalError {
    let strings = ctx.strings;
    match error {
        OrgError::Forbidden => PortalError::Forbidden(strings.forbidden_org.to_owned()),
        OrgError::LastAdmin => PortalError::Conflict(strings.last_admin.to_owned()),
        OrgError::InvitationUnavailable => PortalError::Gone(strings.invitation_unavailable.to_owned()),
        OrgError::InvitationForAnotherEmail => PortalError::Forbidden(strings.invitation_wrong_email.to_owned()),
        OrgError::Fields(_) => PortalError::BadRequest(strings.fix_errors.to_owned()),
        OrgError::Db(error) => error.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// /organization

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    let visitor = match visitor_or_sign_in(ctx)? {
        Ok(visitor) => visitor,
        Err(response) => return Ok(response),
    };
    let db = ctx.db()?;
    if let Some(slug) = ctx.query.get("switch") {
        return switch(ctx, visitor, slug);
    }
    let active = match crate::store::sessions::find_active_organization(db, &visitor.session.id)? {
        Some(org_id) => orgs::find_membership(db, &org_id, &visitor.user.id)?,
        None => None,
    };
    let Some(membership) = active else {
        let memberships = orgs::list_user_memberships(db, &visitor.user.id)?;
        if memberships.is_empty() {
            return Ok(redirect_to("/create-organization"));
        }
        return Ok(chooser(ctx, &memberships));
    };
    let notice = ctx.query.get("notice").and_then(|key| notice_text(ctx, key));
    let leave_target = ctx.choose_redirect(Flow::LeaveOrganization).target;
    let content = profile_content(ctx, visitor, &membership, &Params::default(), None, &leave_target)?;
    let choice = ctx.choose_redirect(Flow::ReturnToApp);
    let mut response = ctx.render_with(
        StatusCode::OK,
        &membership.organization.name,
        true,
        Some(&choice),
        notice,
        content,
    );
    allow_form_target(&mut response, &leave_target);
    Ok(response)
}

/// `/organization?switch=<slug>`: makes one of the visitor's organizations the active one.
fn switch(ctx: &Ctx<'_>, visitor: &SignedIn, slug: &str) -> PageResult {
    let db = ctx.db()?;
    let membership = match orgs::find_organization_by_slug(db, slug)? {
        Some(organization) => orgs::find_membership(db, &organization.id, &visitor.user.id)?,
        None => None,
    };
    let Some(membership) = membership else {
        return Err(PortalError::Forbidden(ctx.strings.forbidden_org.to_owned()));
    };
    orgs::set_active_organization(db, &visitor.session.id, Some(&membership.organization.id))?;
    signed_in::issue_session_token(ctx, &visitor.session, &visitor.user)?;
    Ok(redirect_to("/organization?notice=switched"))
}

fn chooser(ctx: &Ctx<'_>, memberships: &[Membership]) -> http::Response<Vec<u8>> {
    let strings = ctx.strings;
    let content = html! {
        div.card {
            h1 { (strings.choose_org_title) }
            (membership_list(ctx, memberships, None))
            p { a href="/create-organization" { (strings.create_org_title) } }
        }
    };
    ctx.render(strings.choose_org_title, false, None, content)
}

/// The visitor's organizations with switch links (also shown on `/user`).
pub fn membership_list(ctx: &Ctx<'_>, memberships: &[Membership], active_org_id: Option<&str>) -> Markup {
    let strings = ctx.strings;
    html! {
        @if memberships.is_empty() {
            p.hint { (strings.no_organizations) }
        } @else {
            table {
                tbody {
                    @for membership in memberships {
                        @let organization = &membership.organization;
                        tr {
                            td { strong { (organization.name) } br; span.mono { (organization.slug) } }
                            td { (role_text(ctx, membership.role)) }
                            td {
                                @if active_org_id == Some(organization.id.as_str()) {
                                    strong { (strings.active_label) }
                                } @else {
                                    @let href = format!("/organization?switch={}", organization.slug);
                                    a.button.secondary href=(href) { (strings.switch_button) " " (organization.name) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn role_text(ctx: &Ctx<'_>, role: Role) -> &'static str {
    match role {
        Role::Admin => ctx.strings.role_admin,
        Role::Member => ctx.strings.role_member,
    }
}

/// A section's failed post, to re-render.
struct Problem<'a> {
    section: &'static str,
    errors: &'a [(&'static str, FieldError)],
    message: &'a str,
}

fn profile_content(
    ctx: &Ctx<'_>,
    visitor: &SignedIn,
    membership: &Membership,
    form: &Params,
    problem: Option<&Problem<'_>>,
    leave_target: &RedirectTarget,
) -> Result<Markup, PortalError> {
    let strings = ctx.strings;
    let db = ctx.db()?;
    let organization = &membership.organization;
    let is_admin = membership.role == Role::Admin;
    let members = orgs::list_members(db, &organization.id)?;
    let invitations = if is_admin {
        orgs::list_pending_invitations(db, &organization.id)?
    } else {
        Vec::new()
    };
    let in_section = |section: &str| problem.filter(|p| p.section == section);
    let error = |section: &str, name: &str| in_section(section).and_then(|p| find_error(ctx, p.errors, name));
    let message = |section: &str| in_section(section).map(|p| p.message);
    let typed = |section: &str, name: &str, stored: &str| -> String {
        if in_section(section).is_some() {
            form.text(name).to_owned()
        } else {
            stored.to_owned()
        }
    };
    let hidden = html! {
        (ctx.csrf_field()?)
        input type="hidden" name="org_id" value=(organization.id);
    };
    let name = typed("general", "name", &organization.name);
    let slug = typed("general", "slug", &organization.slug);
    let invite_email = typed("invitations", "email_address", "");
    let confirmation = typed("delete", "confirmation", "");
    let confirmation_label = strings
        .delete_org_confirmation_label
        .replace("{slug}", &organization.slug);
    Ok(html! {
        (super::account_nav(ctx, "/organization"))
        h1 { (organization.name) }
        p.lead { span.mono { (organization.slug) } " · " (role_text(ctx, membership.role)) }

        section.card id="general" aria-labelledby="general-heading" {
            h2 id="general-heading" { (strings.general_section) }
            @if is_admin {
                (views::form_error(message("general")))
                form method="post" action="/organization/general" novalidate {
                    (hidden)
                    (Field::new("name", strings.org_name_label, "text", "organization")
                        .value(&name).error(error("general", "name")).required(true).max_length(100).render(strings))
                    (Field::new("slug", strings.org_slug_label, "text", "off")
                        .value(&slug).error(error("general", "slug")).required(true).max_length(Slug::MAX_LEN)
                        .render(strings))
                    button type="submit" { (strings.save_button) }
                }
            } @else {
                p { strong { (strings.org_name_label) ": " } (organization.name) }
                p { strong { (strings.org_slug_label) ": " } span.mono { (organization.slug) } }
            }
        }

        section.card id="members" aria-labelledby="members-heading" {
            h2 id="members-heading" { (strings.members_section) }
            (views::form_error(message("members")))
            table {
                thead { tr {
                    th scope="col" { (strings.member_label) }
                    th scope="col" { (strings.role_label) }
                    th scope="col" { (strings.joined_label) }
                } }
                tbody {
                    @for member in &members {
                        tr {
                            td {
                                @let full_name = [member.first_name.as_deref(), member.last_name.as_deref()]
                                    .into_iter().flatten().collect::<Vec<_>>().join(" ");
                                @if !full_name.is_empty() { (full_name) br; }
                                span.mono { (member.email) }
                                @if member.user_id == visitor.user.id { " " strong { "(" (strings.you_label) ")" } }
                            }
                            td {
                                @if is_admin {
                                    form.inline method="post" action="/organization/members/role" {
                                        (hidden)
                                        input type="hidden" name="user_id" value=(member.user_id);
                                        label.skip-link for=(format!("role-{}", member.user_id)) { (strings.role_label) }
                                        select id=(format!("role-{}", member.user_id)) name="role" {
                                            option value="admin" selected[member.role == Role::Admin] { (strings.role_admin) }
                                            option value="member" selected[member.role == Role::Member] { (strings.role_member) }
                                        }
                                        " "
                                        button.secondary type="submit" { (strings.change_role_button) }
                                    }
                                } @else {
                                    (role_text(ctx, member.role))
                                }
                            }
                            td {
                                (format_timestamp(member.joined_at))
                                @if is_admin && member.user_id != visitor.user.id {
                                    form.inline method="post" action="/organization/members/remove" {
                                        (hidden)
                                        input type="hidden" name="user_id" value=(member.user_id);
                                        " "
                                        button.secondary type="submit" { (strings.remove_member_button) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        @if is_admin {
            section.card id="invitations" aria-labelledby="invitations-heading" {
                h2 id="invitations-heading" { (strings.invitations_section) }
                (views::form_error(message("invitations")))
                form method="post" action="/organization/invitations" novalidate {
                    (hidden)
                    div.row {
                        (Field::new("email_address", strings.email_label, "email", "off")
                            .value(&invite_email).error(error("invitations", "email_address")).required(true)
                            .max_length(254).render(strings))
                        div.field {
                            label for="invite-role" { (strings.role_label) }
                            select id="invite-role" name="role" {
                                option value="member" { (strings.role_member) }
                                option value="admin" { (strings.role_admin) }
                            }
                        }
                    }
                    button type="submit" { (strings.invite_button) }
                }
                @if !invitations.is_empty() {
                    h2.spaced { (strings.pending_invitations) }
                    table {
                        tbody {
                            @for invitation in &invitations {
                                tr {
                                    td.mono { (invitation.email) }
                                    td { (role_text(ctx, invitation.role)) }
                                    td {
                                        @if invitation.expires_at <= ctx.now() {
                                            (strings.expired_label)
                                        } @else {
                                            (strings.expires_label) " " (format_timestamp(invitation.expires_at))
                                        }
                                    }
                                    td {
                                        form.inline method="post" action="/organization/invitations/revoke" {
                                            (hidden)
                                            input type="hidden" name="invitation_id" value=(invitation.id);
                                            button.secondary type="submit" { (strings.revoke_invitation_button) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        section.card id="leave" aria-labelledby="leave-heading" {
            h2 id="leave-heading" { (strings.leave_section) }
            p.lead { (strings.leave_lead) }
            (views::form_error(message("leave")))
            form method="post" action="/organization/leave" {
                (hidden)
                (ctx.sealed_redirect_field(Flow::LeaveOrganization, leave_target)?)
                button.secondary type="submit" { (strings.leave_button) }
            }
        }

        @if is_admin {
            section.card id="delete" aria-labelledby="delete-heading" {
                h2 id="delete-heading" { (strings.delete_org_section) }
                p.lead { (strings.delete_org_lead) }
                (views::form_error(message("delete")))
                form method="post" action="/organization/delete" novalidate {
                    (hidden)
                    (ctx.sealed_redirect_field(Flow::LeaveOrganization, leave_target)?)
                    (Field::new("confirmation", &confirmation_label, "text", "off")
                        .value(&confirmation).error(error("delete", "confirmation")).required(true)
                        .max_length(64).render(strings))
                    button.danger type="submit" { (strings.delete_org_button) }
                }
            }
        }
    })
}

/// The common path of every `/organization/*` post: a checked form from a live session, the
/// organization it names, and the visitor's current membership there (any role: the rules
/// decide what each role may do).
fn with_org_post(
    ctx: &Ctx<'_>,
    section: &'static str,
    action: impl FnOnce(&Params, &SignedIn, &str) -> Result<PageResult, OrgError>,
) -> PageResult {
    let form = ctx.form()?;
    let Some(visitor) = ctx.signed_in()? else {
        return Ok(see_other_sign_in("/organization"));
    };
    let org_id = form.text("org_id");
    let (errors, message, status) = match action(&form, visitor, org_id) {
        Ok(page) => return page,
        Err(OrgError::Fields(errors)) => (errors, ctx.strings.fix_errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(OrgError::LastAdmin) => (Vec::new(), ctx.strings.last_admin, StatusCode::CONFLICT),
        Err(error) => return Err(org_error(ctx, error)),
    };
    let problem = Problem {
        section,
        errors: &errors,
        message,
    };
    rerender(ctx, visitor, org_id, &form, problem, status)
}

fn rerender(
    ctx: &Ctx<'_>,
    visitor: &SignedIn,
    org_id: &str,
    form: &Params,
    problem: Problem<'_>,
    status: StatusCode,
) -> PageResult {
    let membership =
        organizations::require_member(ctx.db()?, org_id, &visitor.user.id).map_err(|e| org_error(ctx, e))?;
    let leave_target = ctx.redirect_from_form(Flow::LeaveOrganization, form)?;
    let content = profile_content(ctx, visitor, &membership, form, Some(&problem), &leave_target)?;
    let mut response = ctx.render_with(status, &membership.organization.name, true, None, None, content);
    allow_form_target(&mut response, &leave_target);
    Ok(response)
}

/// After an organization change: a fresh `__session` (role or slug may have changed) and back.
fn changed(ctx: &Ctx<'_>, visitor: &SignedIn, notice: &str) -> PageResult {
    signed_in::issue_session_token(ctx, &visitor.session, &visitor.user)?;
    Ok(see_other(&format!("/organization?notice={notice}")))
}

pub fn update_general(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "general", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        organizations::update_organization(
            db,
            &visitor.user,
            org_id,
            form.text("name"),
            form.text("slug"),
            ctx.now(),
        )?;
        Ok(changed(ctx, visitor, "org_updated"))
    })
}

pub fn change_role(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "members", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        organizations::change_role(db, &visitor.user, org_id, form.text("user_id"), form.text("role"))?;
        Ok(changed(ctx, visitor, "role_changed"))
    })
}

pub fn remove_member(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "members", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        organizations::remove_member(db, &visitor.user, org_id, form.text("user_id"))?;
        Ok(changed(ctx, visitor, "member_removed"))
    })
}

pub fn invite(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "invitations", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        let token = organizations::invite(
            db,
            &visitor.user,
            org_id,
            form.text("email_address"),
            form.text("role"),
            ctx.now(),
        )?;
        Ok(invitation_created(ctx, &token))
    })
}

pub fn revoke_invitation(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "invitations", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        organizations::revoke_invitation(db, &visitor.user, org_id, form.text("invitation_id"), ctx.now())?;
        Ok(changed(ctx, visitor, "invitation_revoked"))
    })
}

pub fn leave(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "leave", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        organizations::leave_organization(db, &visitor.user, org_id)?;
        Ok(after_leaving(ctx, visitor, form))
    })
}

pub fn delete(ctx: &Ctx<'_>) -> PageResult {
    with_org_post(ctx, "delete", |form, visitor, org_id| {
        let db = db_for_rules(ctx)?;
        organizations::delete_organization(db, &visitor.user, org_id, form.text("confirmation"))?;
        Ok(after_leaving(ctx, visitor, form))
    })
}

/// The database for the rules' closures, whose error type is `OrgError`.
fn db_for_rules<'c>(ctx: &'c Ctx<'_>) -> Result<&'c dyn crate::store::Db, OrgError> {
    ctx.db().map_err(|error| match error {
        PortalError::Unavailable(_) => OrgError::Db(crate::store::DbError::Busy),
        other => OrgError::Db(crate::store::DbError::Other(other.to_string())),
    })
}

/// Leaving or deleting: a fresh `__session` without the organization, then
/// `after_leave_organization_url` (by the redirect chain carried in the form).
fn after_leaving(ctx: &Ctx<'_>, visitor: &SignedIn, form: &Params) -> PageResult {
    signed_in::issue_session_token(ctx, &visitor.session, &visitor.user)?;
    let target = ctx.redirect_from_form(Flow::LeaveOrganization, form)?;
    Ok(see_other(&target.location()))
}

/// Shows the new invitation's link once: only its hash is stored.
fn invitation_created(ctx: &Ctx<'_>, token: &str) -> PageResult {
    let strings = ctx.strings;
    let mut link = ctx.portal_origin.clone();
    link.set_path("/organization/invitation");
    link.query_pairs_mut().clear().append_pair("token", token);
    let content = html! {
        div.card {
            h1 { (strings.invitations_section) }
            p.lead { (strings.invitation_link_lead) }
            p { input.mono type="text" readonly value=(link.as_str()) aria-label=(strings.invitations_section); }
            p { a.button href="/organization" { (strings.back_to_organization) } }
        }
    };
    Ok(ctx.render(strings.invitations_section, false, None, content))
}

// ---------------------------------------------------------------------------------------------
// /organization/invitation

pub fn show_invitation(ctx: &Ctx<'_>) -> PageResult {
    let visitor = match visitor_or_sign_in(ctx)? {
        Ok(visitor) => visitor,
        Err(response) => return Ok(response),
    };
    let strings = ctx.strings;
    let token = ctx.query.text("token");
    let (invitation, organization) =
        organizations::open_invitation(ctx.db()?, token, &visitor.user, ctx.now()).map_err(|e| org_error(ctx, e))?;
    let lead = strings
        .invitation_lead
        .replace("{org}", &organization.name)
        .replace("{role}", role_text(ctx, invitation.role));
    let content = html! {
        div.card {
            h1 { (strings.invitation_title) }
            p.lead { (lead) }
            div.actions {
                form.inline method="post" action="/organization/invitation/accept" {
                    (ctx.csrf_field()?)
                    input type="hidden" name="token" value=(token);
                    button type="submit" { (strings.accept_button) }
                }
                form.inline method="post" action="/organization/invitation/decline" {
                    (ctx.csrf_field()?)
                    input type="hidden" name="token" value=(token);
                    button.secondary type="submit" { (strings.decline_button) }
                }
            }
        }
    };
    Ok(ctx.render(strings.invitation_title, false, None, content))
}

fn invitation_post(ctx: &Ctx<'_>, accept: bool) -> PageResult {
    let form = ctx.form()?;
    let Some(visitor) = ctx.signed_in()? else {
        return Ok(see_other_sign_in("/organization"));
    };
    let db = ctx.db()?;
    let token = form.text("token");
    if accept {
        let organization =
            organizations::accept_invitation(db, token, &visitor.user, ctx.now()).map_err(|e| org_error(ctx, e))?;
        orgs::set_active_organization(db, &visitor.session.id, Some(&organization.id))?;
        changed(ctx, visitor, "invitation_accepted")
    } else {
        organizations::decline_invitation(db, token, &visitor.user, ctx.now()).map_err(|e| org_error(ctx, e))?;
        Ok(see_other("/user?notice=invitation_declined"))
    }
}

pub fn accept_invitation(ctx: &Ctx<'_>) -> PageResult {
    invitation_post(ctx, true)
}

pub fn decline_invitation(ctx: &Ctx<'_>) -> PageResult {
    invitation_post(ctx, false)
}
