//! Organizations, memberships and invitations: the rules, as plain functions over the store.
//!
//! Every action re-reads the actor's membership from the database (a role in a token or a form
//! is never trusted), so a member cannot perform admin actions by crafting requests. Changes
//! that could remove the last admin (demotion, removal, leaving) check the admin count inside
//! `BEGIN IMMEDIATE`, so two admins demoting each other at once cannot both succeed: an
//! organization always keeps at least one admin.

use crate::domain::{
    EmailAddress, FieldError, FieldErrors, FieldProblem, InvitationId, InvitationStatus, OrgId, OrganizationName, Role,
    Slug, UserId,
};
use crate::security::{new_token, token_hash};
use crate::store::organizations::{self as orgs, Invitation, Member, Membership, NewInvitation, Organization};
use crate::store::users::User;

use super::metadata;
use super::webhooks::{self, OrgEvent};
use crate::store::{Db, DbError, sessions, transaction, users};

/// How long an invitation link stays valid.
pub const INVITATION_LIFETIME: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("the form has problems: {0:?}")]
    Fields(FieldErrors),
    /// The actor is not a member, or not an admin where one is needed.
    #[error("not a member, or not an admin where one is needed")]
    Forbidden,
    /// The user belongs to no organization with this slug (whether one exists or not).
    #[error("not a member of an organization with this slug")]
    NotAMember,
    /// The change would leave the organization without an admin.
    #[error("the organization would be left without an admin")]
    LastAdmin,
    /// The invitation does not exist, was answered or revoked, or has expired.
    #[error("the invitation is no longer available")]
    InvitationUnavailable,
    /// The invitation was sent to another email address than the signed-in user's.
    #[error("the invitation is for another email address")]
    InvitationForAnotherEmail,
    /// The operator named an organization that does not exist.
    #[error("there is no such organization")]
    NoSuchOrganization,
    /// The operator named a user who is not a member of the organization.
    #[error("the user is not a member of the organization")]
    NoSuchMember,
    /// A value the operator sent is not valid for its own reason (a metadata object).
    #[error("{field} {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Db(DbError),
}

/// Who asks for a change to an organization: a person, whose admin role is re-read from the
/// database every time, or the operator (the Backend API's key), who may act on any
/// organization. The rules that protect the organization itself (it keeps an admin, its slug is
/// unique, names are valid) hold for both.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Person(&'a User),
    Operator,
}

impl Actor<'_> {
    fn user_id(&self) -> Option<&UserId> {
        match self {
            Self::Person(user) => Some(&user.id),
            Self::Operator => None,
        }
    }
}

/// `Ok` when `actor` may change the organization: a person who is its admin, or the operator
/// when it exists.
fn authorize(db: &dyn Db, org_id: &OrgId, actor: Actor<'_>) -> Result<(), OrgError> {
    match actor {
        Actor::Person(user) => require_admin(db, org_id, &user.id).map(drop),
        Actor::Operator => orgs::find_organization(db, org_id)?
            .map(drop)
            .ok_or(OrgError::NoSuchOrganization),
    }
}

/// The target's membership; a missing one is `Forbidden` to a person (who learns nothing about
/// who else exists) and `NoSuchMember` to the operator.
fn target_membership(db: &dyn Db, org_id: &OrgId, target: &UserId, actor: Actor<'_>) -> Result<Membership, OrgError> {
    orgs::find_membership(db, org_id, target)?.ok_or(match actor {
        Actor::Person(_) => OrgError::Forbidden,
        Actor::Operator => OrgError::NoSuchMember,
    })
}

impl From<DbError> for OrgError {
    fn from(error: DbError) -> Self {
        match &error {
            DbError::Unique(what) if what.contains("organizations.slug") => {
                Self::Fields(vec![("slug", FieldError::SlugTaken)])
            }
            _ => Self::Db(error),
        }
    }
}

fn fields(name: &'static str, problem: FieldProblem) -> OrgError {
    OrgError::Fields(vec![(name, FieldError::Field(problem))])
}

/// Parses a name and a slug (derived from the name when left empty); reports both at once.
fn parse_name_and_slug(name: &str, slug: &str) -> Result<(OrganizationName, Slug), OrgError> {
    let name = OrganizationName::parse(name);
    let slug_text = if slug.trim().is_empty() {
        name.as_ref().map(|n| Slug::derive(n.as_str())).unwrap_or_default()
    } else {
        slug.to_owned()
    };
    both_fields(("name", name), ("slug", Slug::parse(&slug_text)))
}

/// Two parsed fields, or the problems of both at once, each under its field's name.
fn both_fields<A, B>(
    (first_name, first): (&'static str, Result<A, FieldProblem>),
    (second_name, second): (&'static str, Result<B, FieldProblem>),
) -> Result<(A, B), OrgError> {
    match (first, second) {
        (Ok(first), Ok(second)) => Ok((first, second)),
        (first, second) => {
            let errors: FieldErrors = [(first_name, first.err()), (second_name, second.err())]
                .into_iter()
                .filter_map(|(name, problem)| Some((name, FieldError::Field(problem?))))
                .collect();
            Err(OrgError::Fields(errors))
        }
    }
}

/// The actor's membership, or `Forbidden`.
pub fn require_member(db: &dyn Db, org_id: &OrgId, user_id: &UserId) -> Result<Membership, OrgError> {
    orgs::find_membership(db, org_id, user_id)?.ok_or(OrgError::Forbidden)
}

/// The actor's membership when they are an admin, or `Forbidden`.
pub fn require_admin(db: &dyn Db, org_id: &OrgId, user_id: &UserId) -> Result<Membership, OrgError> {
    let membership = require_member(db, org_id, user_id)?;
    if membership.role == Role::Admin {
        Ok(membership)
    } else {
        Err(OrgError::Forbidden)
    }
}

/// The user's membership in the organization with this slug, or `NotAMember` (whether it
/// exists or not).
pub fn membership_by_slug(db: &dyn Db, user_id: &UserId, slug: &str) -> Result<Membership, OrgError> {
    let membership = match orgs::find_organization_by_slug(db, slug)? {
        Some(organization) => orgs::find_membership(db, &organization.id, user_id)?,
        None => None,
    };
    membership.ok_or(OrgError::NotAMember)
}

/// Every organization the user belongs to, by name.
pub fn list_memberships(db: &dyn Db, user_id: &UserId) -> Result<Vec<Membership>, DbError> {
    orgs::list_user_memberships(db, user_id)
}

/// What the organization's page shows a member: the members, and for admins the pending
/// invitations (expired ones included, marked as such).
pub fn organization_roster(db: &dyn Db, membership: &Membership) -> Result<(Vec<Member>, Vec<Invitation>), DbError> {
    let org_id = &membership.organization.id;
    let members = orgs::list_members(db, org_id)?;
    let invitations = if membership.role == Role::Admin {
        orgs::list_pending_invitations(db, org_id)?
    } else {
        Vec::new()
    };
    Ok((members, invitations))
}

/// Creates an organization with `creator` as its admin.
pub fn create_organization(
    db: &dyn Db,
    creator: &User,
    name: &str,
    slug: &str,
    now: i64,
) -> Result<Organization, OrgError> {
    let (name, slug) = parse_name_and_slug(name, slug)?;
    transaction(db, || {
        let organization = orgs::create_organization(db, &OrgId::generate(), &name, &slug, &creator.id, now)?;
        orgs::add_membership(db, &organization.id, &creator.id, Role::Admin, now)?;
        created_events(db, &organization, &creator.id, now)?;
        Ok(organization)
    })
}

/// Renames an organization or changes its slug (admins only).
/// Sets whether the organization's members must use two-step verification (admins only).
pub fn set_require_two_step(
    db: &dyn Db,
    actor: Actor<'_>,
    org_id: &OrgId,
    required: bool,
    now: i64,
) -> Result<(), OrgError> {
    webhooks::atomically(db, || {
        authorize(db, org_id, actor)?;
        orgs::set_require_two_step(db, org_id, required, now)?;
        organization_updated(db, org_id, now)
    })
}

pub fn update_organization(
    db: &dyn Db,
    actor: Actor<'_>,
    org_id: &OrgId,
    name: &str,
    slug: &str,
    now: i64,
) -> Result<(), OrgError> {
    authorize(db, org_id, actor)?;
    let (name, slug) = parse_name_and_slug(name, slug)?;
    webhooks::atomically(db, || {
        orgs::update_organization(db, org_id, &name, &slug, now)?;
        organization_updated(db, org_id, now)
    })
}

/// Fails with `LastAdmin` when removing `target`'s admin role would leave no admin.
fn keep_an_admin(db: &dyn Db, org_id: &OrgId, target: &Membership) -> Result<(), OrgError> {
    if target.role == Role::Admin && orgs::count_admins(db, org_id)? <= 1 {
        return Err(OrgError::LastAdmin);
    }
    Ok(())
}

/// Changes a member's role (admins only).
pub fn change_role(
    db: &dyn Db,
    actor: Actor<'_>,
    org_id: &OrgId,
    target_user_id: &UserId,
    role: &str,
    now: i64,
) -> Result<(), OrgError> {
    let role = Role::parse(role).map_err(|problem| fields("role", problem))?;
    transaction(db, || {
        authorize(db, org_id, actor)?;
        let target = target_membership(db, org_id, target_user_id, actor)?;
        if role == Role::Member {
            keep_an_admin(db, org_id, &target)?;
        }
        orgs::update_role(db, org_id, target_user_id, role)?;
        if target.role != role {
            webhooks::membership_event(
                db,
                OrgEvent::Updated,
                org_id.as_str(),
                target_user_id.as_str(),
                role.as_str(),
                now,
            )?;
        }
        Ok(())
    })
}

/// Removes a member (admins only).
pub fn remove_member(
    db: &dyn Db,
    actor: Actor<'_>,
    org_id: &OrgId,
    target_user_id: &UserId,
    now: i64,
) -> Result<(), OrgError> {
    transaction(db, || {
        authorize(db, org_id, actor)?;
        let target = target_membership(db, org_id, target_user_id, actor)?;
        keep_an_admin(db, org_id, &target)?;
        delete_membership(db, org_id, target_user_id, now)?;
        Ok(())
    })
}

/// Removes a membership and stops the organization being active in that user's sessions.
fn delete_membership(db: &dyn Db, org_id: &OrgId, user_id: &UserId, now: i64) -> Result<(), DbError> {
    orgs::delete_membership(db, org_id, user_id)?;
    sessions::clear_active_organization(db, org_id, Some(user_id))?;
    webhooks::membership_event(db, OrgEvent::Deleted, org_id.as_str(), user_id.as_str(), "", now)
}

/// Deletes an organization with everything in it and clears it as anyone's active organization.
fn delete_organization_rows(db: &dyn Db, organization: &Organization, now: i64) -> Result<(), DbError> {
    orgs::delete_organization(db, &organization.id)?;
    sessions::clear_active_organization(db, &organization.id, None)?;
    webhooks::organization_event(db, OrgEvent::Deleted, organization, now)
}

/// `organization.created` and the creator's `organization_membership.created`.
fn created_events(db: &dyn Db, organization: &Organization, creator: &UserId, now: i64) -> Result<(), DbError> {
    webhooks::organization_event(db, OrgEvent::Created, organization, now)?;
    webhooks::membership_event(
        db,
        OrgEvent::Created,
        organization.id.as_str(),
        creator.as_str(),
        Role::Admin.as_str(),
        now,
    )
}

/// `organization.updated` with the organization as stored now (read only when webhooks are on).
fn organization_updated(db: &dyn Db, org_id: &OrgId, now: i64) -> Result<(), OrgError> {
    if db.records_events()
        && let Some(organization) = orgs::find_organization(db, org_id)?
    {
        webhooks::organization_event(db, OrgEvent::Updated, &organization, now)?;
    }
    Ok(())
}

/// Leaves an organization (any member but the last admin).
pub fn leave_organization(db: &dyn Db, user: &User, org_id: &OrgId, now: i64) -> Result<(), OrgError> {
    transaction(db, || {
        let membership = require_member(db, org_id, &user.id)?;
        keep_an_admin(db, org_id, &membership)?;
        delete_membership(db, org_id, &user.id, now)?;
        Ok(())
    })
}

/// Deletes an organization with its memberships and invitations (admins only, confirmed by
/// typing the slug).
pub fn delete_organization(
    db: &dyn Db,
    actor: &User,
    org_id: &OrgId,
    confirmation: &str,
    now: i64,
) -> Result<(), OrgError> {
    transaction(db, || {
        let membership = require_admin(db, org_id, &actor.id)?;
        if confirmation.trim() != membership.organization.slug {
            return Err(OrgError::Fields(vec![(
                "confirmation",
                FieldError::ConfirmationMismatch,
            )]));
        }
        delete_organization_rows(db, &membership.organization, now)?;
        Ok(())
    })
}

/// An organization as the operator sees it: its member count and metadata.
#[derive(Debug, Clone)]
pub struct OrganizationDetails {
    pub organization: Organization,
    pub members: i64,
    pub public_metadata: serde_json::Map<String, serde_json::Value>,
    pub private_metadata: serde_json::Map<String, serde_json::Value>,
}

fn details_of((organization, members, public, private): orgs::OrganizationRecord) -> OrganizationDetails {
    OrganizationDetails {
        organization,
        members,
        public_metadata: metadata::from_text(&public),
        private_metadata: metadata::from_text(&private),
    }
}

/// One organization for the operator, or `NoSuchOrganization`.
pub fn details(db: &dyn Db, org_id: &OrgId) -> Result<OrganizationDetails, OrgError> {
    orgs::find_organization_record(db, org_id)?
        .map(details_of)
        .ok_or(OrgError::NoSuchOrganization)
}

/// One page of organizations for the operator (newest first), and how many `query` finds.
pub fn list_details(
    db: &dyn Db,
    query: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OrganizationDetails>, i64), DbError> {
    let (page, total) = orgs::list_organizations(db, query, limit, offset)?;
    Ok((page.into_iter().map(details_of).collect(), total))
}

/// What the operator sets on an organization; `None` leaves a part as it is (metadata are
/// replaced whole).
#[derive(Debug, Default, Clone)]
pub struct OrganizationChanges<'a> {
    pub name: Option<&'a str>,
    pub slug: Option<&'a str>,
    pub require_two_step: Option<bool>,
    pub public_metadata: Option<&'a serde_json::Value>,
    pub private_metadata: Option<&'a serde_json::Value>,
}

/// Checked metadata texts, or the problem.
fn metadata_texts(changes: &OrganizationChanges<'_>) -> Result<(Option<String>, Option<String>), OrgError> {
    let invalid = |problem: metadata::MetadataProblem| OrgError::Invalid {
        field: problem.field,
        message: problem.message,
    };
    Ok((
        metadata::to_text("public_metadata", changes.public_metadata).map_err(invalid)?,
        metadata::to_text("private_metadata", changes.private_metadata).map_err(invalid)?,
    ))
}

/// Applies `changes` inside the caller's transaction.
fn apply_changes(db: &dyn Db, org_id: &OrgId, changes: &OrganizationChanges<'_>, now: i64) -> Result<(), OrgError> {
    let (public, private) = metadata_texts(changes)?;
    let (current, _, stored_public, stored_private) =
        orgs::find_organization_record(db, org_id)?.ok_or(OrgError::NoSuchOrganization)?;
    if changes.name.is_some() || changes.slug.is_some() {
        let (name, slug) = parse_name_and_slug(
            changes.name.unwrap_or(&current.name),
            changes.slug.unwrap_or(&current.slug),
        )?;
        orgs::update_organization(db, org_id, &name, &slug, now)?;
    }
    if let Some(required) = changes.require_two_step {
        orgs::set_require_two_step(db, org_id, required, now)?;
    }
    if public.is_some() || private.is_some() {
        orgs::set_metadata(
            db,
            org_id,
            public.as_deref().unwrap_or(&stored_public),
            private.as_deref().unwrap_or(&stored_private),
            now,
        )?;
    }
    Ok(())
}

/// Creates an organization for the operator, `creator` its first admin, with `changes` set, all
/// in one transaction.
pub fn create_as_operator(
    db: &dyn Db,
    creator: &User,
    name: &str,
    slug: &str,
    changes: &OrganizationChanges<'_>,
    now: i64,
) -> Result<OrgId, OrgError> {
    let (name, slug) = parse_name_and_slug(name, slug)?;
    metadata_texts(changes)?;
    transaction(db, || {
        let organization = orgs::create_organization(db, &OrgId::generate(), &name, &slug, &creator.id, now)?;
        orgs::add_membership(db, &organization.id, &creator.id, Role::Admin, now)?;
        apply_changes(db, &organization.id, changes, now)?;
        let created = orgs::find_organization(db, &organization.id)?.unwrap_or(organization);
        created_events(db, &created, &creator.id, now)?;
        Ok(created.id)
    })
}

/// Changes an organization for the operator, all or nothing.
pub fn update_as_operator(
    db: &dyn Db,
    org_id: &OrgId,
    changes: &OrganizationChanges<'_>,
    now: i64,
) -> Result<(), OrgError> {
    metadata_texts(changes)?;
    transaction(db, || {
        apply_changes(db, org_id, changes, now)?;
        organization_updated(db, org_id, now)
    })
}

/// Every member of an organization, for the operator.
pub fn members(db: &dyn Db, org_id: &OrgId) -> Result<Vec<Member>, OrgError> {
    authorize(db, org_id, Actor::Operator)?;
    Ok(orgs::list_members(db, org_id)?)
}

/// Pending invitations of an organization, for the operator.
pub fn pending_invitations(db: &dyn Db, org_id: &OrgId) -> Result<Vec<Invitation>, OrgError> {
    authorize(db, org_id, Actor::Operator)?;
    Ok(orgs::list_pending_invitations(db, org_id)?)
}

/// Adds an existing user to an organization with a role (the operator only: a person joins by
/// an invitation).
pub fn add_member(db: &dyn Db, org_id: &OrgId, user_id: &UserId, role: &str, now: i64) -> Result<(), OrgError> {
    let role = Role::parse(role).map_err(|problem| fields("role", problem))?;
    transaction(db, || {
        authorize(db, org_id, Actor::Operator)?;
        if users::find_user_by_id(db, user_id)?.is_none() {
            return Err(fields("user_id", FieldProblem::Invalid));
        }
        if orgs::find_membership(db, org_id, user_id)?.is_some() {
            return Err(OrgError::Fields(vec![("user_id", FieldError::AlreadyMember)]));
        }
        orgs::add_membership(db, org_id, user_id, role, now)?;
        webhooks::membership_event(
            db,
            OrgEvent::Created,
            org_id.as_str(),
            user_id.as_str(),
            role.as_str(),
            now,
        )?;
        Ok(())
    })
}

/// Deletes an organization with its memberships and invitations (the operator: no typed
/// confirmation).
pub fn delete_as_operator(db: &dyn Db, org_id: &OrgId, now: i64) -> Result<(), OrgError> {
    transaction(db, || {
        let organization = orgs::find_organization(db, org_id)?.ok_or(OrgError::NoSuchOrganization)?;
        delete_organization_rows(db, &organization, now)?;
        Ok(())
    })
}

/// A new invitation: the one-time token of its link (only its hash is stored) and what it was
/// made out to, as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedInvitation {
    pub token: String,
    pub email: EmailAddress,
    pub role: Role,
}

/// Invites an email address with a role (admins only). An earlier pending invitation for the
/// same email is revoked.
pub fn invite(
    db: &dyn Db,
    actor: Actor<'_>,
    org_id: &OrgId,
    email: &str,
    role: &str,
    now: i64,
) -> Result<CreatedInvitation, OrgError> {
    authorize(db, org_id, actor)?;
    let (email, role) = both_fields(
        ("email_address", EmailAddress::parse(email)),
        ("role", Role::parse(role)),
    )?;
    if let Some(existing) = users::find_user_by_email(db, &email)?
        && orgs::find_membership(db, org_id, &existing.id)?.is_some()
    {
        return Err(OrgError::Fields(vec![("email_address", FieldError::AlreadyMember)]));
    }
    let (token, token_hash) = new_token();
    let id = InvitationId::generate();
    transaction(db, || {
        orgs::create_invitation(
            db,
            &NewInvitation {
                id: &id,
                org_id,
                email: &email,
                role,
                token_hash: &token_hash,
                invited_by: actor.user_id(),
                now,
                expires_at: now + INVITATION_LIFETIME,
            },
        )
    })?;
    Ok(CreatedInvitation { token, email, role })
}

/// Revokes a pending invitation (admins only; checked first, so a member learns nothing about
/// invitation ids). An id that did not parse names no invitation.
pub fn revoke_invitation(
    db: &dyn Db,
    actor: Actor<'_>,
    org_id: &OrgId,
    invitation_id: Option<&InvitationId>,
    now: i64,
) -> Result<(), OrgError> {
    authorize(db, org_id, actor)?;
    let Some(invitation_id) = invitation_id else {
        return Err(OrgError::InvitationUnavailable);
    };
    if orgs::revoke_invitation(db, org_id, invitation_id, now)? {
        Ok(())
    } else {
        Err(OrgError::InvitationUnavailable)
    }
}

/// The organization with `id`, if it still exists.
pub fn organization(db: &dyn Db, id: &OrgId) -> Result<Option<Organization>, DbError> {
    orgs::find_organization(db, id)
}

/// The pending invitation a new link's token opens (the operator's answer names its id).
pub fn invitation_by_token(db: &dyn Db, token: &str) -> Result<Option<Invitation>, DbError> {
    orgs::find_invitation_by_token_hash(db, &token_hash(token))
}

/// Takes back an invitation whose email could not be sent, so a failed send leaves nothing
/// behind (the admin tries again and gets a fresh link).
pub fn withdraw_unsent_invitation(db: &dyn Db, token: &str) -> Result<(), DbError> {
    orgs::delete_invitation_by_token_hash(db, &token_hash(token))
}

/// The address a live invitation was sent to, so the sign-in and sign-up pages the invitee
/// lands on can fill it in. The token is the proof: whoever has the link has the address.
pub fn invited_email(db: &dyn Db, token: &str, now: i64) -> Result<Option<EmailAddress>, DbError> {
    Ok(live_invitation(db, token, now)?.map(|invitation| invitation.email))
}

/// The invitation behind `token` if it can still be accepted: pending, unexpired, and its
/// inviter still an admin there. An invitation speaks for the admin who sent it: once they are
/// no longer an admin (demoted, removed, account deleted), their pending invitations die with
/// that role, so an old link cannot bring a removed admin back in.
fn live_invitation(db: &dyn Db, token: &str, now: i64) -> Result<Option<Invitation>, DbError> {
    let Some(invitation) = orgs::find_invitation_by_token_hash(db, &token_hash(token))?
        .filter(|invitation| invitation.status == InvitationStatus::Pending && invitation.expires_at > now)
    else {
        return Ok(None);
    };
    // An admin's invitation dies with their admin role; the operator's stands on its own.
    let inviter_stands = match &invitation.invited_by {
        Some(inviter) => orgs::find_membership(db, &invitation.org_id, inviter)?
            .is_some_and(|membership| membership.role == Role::Admin),
        None => invitation.by_operator,
    };
    Ok(inviter_stands.then_some(invitation))
}

/// The live invitation behind `token`, addressed to `user`, with its organization.
pub fn open_invitation(
    db: &dyn Db,
    token: &str,
    user: &User,
    now: i64,
) -> Result<(Invitation, Organization), OrgError> {
    let invitation = live_invitation(db, token, now)?.ok_or(OrgError::InvitationUnavailable)?;
    if invitation.email != user.email {
        return Err(OrgError::InvitationForAnotherEmail);
    }
    let organization = orgs::find_organization(db, &invitation.org_id)?.ok_or(OrgError::InvitationUnavailable)?;
    Ok((invitation, organization))
}

/// Accepts an invitation: the user joins with the invited role (an existing membership is
/// kept as it is). Returns the organization joined.
pub fn accept_invitation(db: &dyn Db, token: &str, user: &User, now: i64) -> Result<Organization, OrgError> {
    transaction(db, || {
        let (invitation, organization) = open_invitation(db, token, user, now)?;
        if !orgs::close_invitation(db, &invitation.id, InvitationStatus::Accepted, now)? {
            return Err(OrgError::InvitationUnavailable);
        }
        if orgs::find_membership(db, &organization.id, &user.id)?.is_none() {
            add_member_by_invitation(db, &organization, &user.id, &invitation, now)?;
        }
        Ok(organization)
    })
}

/// Adds the invitee with the invited role and tells the webhook. Runs inside the caller's
/// transaction.
fn add_member_by_invitation(
    db: &dyn Db,
    organization: &Organization,
    user_id: &UserId,
    invitation: &Invitation,
    now: i64,
) -> Result<(), DbError> {
    orgs::add_membership(db, &organization.id, user_id, invitation.role, now)?;
    webhooks::membership_event(
        db,
        OrgEvent::Created,
        organization.id.as_str(),
        user_id.as_str(),
        invitation.role.as_str(),
        now,
    )
}

/// The live invitation behind `token` for a visitor who is not signed in, its organization, and
/// whether its address already has an account (then they sign in to accept; else they create
/// one from the invitation).
pub fn open_invitation_signed_out(
    db: &dyn Db,
    token: &str,
    now: i64,
) -> Result<(Invitation, Organization, bool), OrgError> {
    let invitation = live_invitation(db, token, now)?.ok_or(OrgError::InvitationUnavailable)?;
    let organization = orgs::find_organization(db, &invitation.org_id)?.ok_or(OrgError::InvitationUnavailable)?;
    let has_account = users::find_user_by_email(db, &invitation.email)?.is_some();
    Ok((invitation, organization, has_account))
}

/// The admin who sent `invitation`, while their account exists.
pub fn inviter(db: &dyn Db, invitation: &Invitation) -> Result<Option<User>, OrgError> {
    match &invitation.invited_by {
        Some(id) => Ok(users::find_user_by_id(db, id)?),
        None => Ok(None),
    }
}

/// Joins with an account created from the invitation's own form, in one transaction: the
/// invitation is still live, `create_account` makes the account (verified: the token proves the
/// address, a single-use, unexpired link that only that address was sent), the invitation is
/// used up and the membership made. Any failure (a lost race for the address or the
/// invitation) leaves nothing behind: no account without its membership.
///
/// # Threat
/// The address is the invitation's, never one the form chose: an account made for another
/// address is refused here too. An account that already existed signs in and accepts like any
/// member.
pub fn join_with_new_account<E: From<OrgError> + From<DbError>>(
    db: &dyn Db,
    token: &str,
    now: i64,
    create_account: impl FnOnce() -> Result<User, E>,
) -> Result<(User, Organization), E> {
    transaction(db, || {
        let invitation = live_invitation(db, token, now)?.ok_or(OrgError::InvitationUnavailable)?;
        let organization = orgs::find_organization(db, &invitation.org_id)?.ok_or(OrgError::InvitationUnavailable)?;
        let user = create_account()?;
        if user.email != invitation.email || user.email_verified_at.is_none() {
            return Err(OrgError::InvitationForAnotherEmail.into());
        }
        if !orgs::close_invitation(db, &invitation.id, InvitationStatus::Accepted, now)? {
            return Err(OrgError::InvitationUnavailable.into());
        }
        add_member_by_invitation(db, &organization, &user.id, &invitation, now)?;
        Ok((user, organization))
    })
}

/// Declines an invitation.
pub fn decline_invitation(db: &dyn Db, token: &str, user: &User, now: i64) -> Result<(), OrgError> {
    transaction(db, || {
        let (invitation, _) = open_invitation(db, token, user, now)?;
        if !orgs::close_invitation(db, &invitation.id, InvitationStatus::Declined, now)? {
            return Err(OrgError::InvitationUnavailable);
        }
        Ok(())
    })
}

/// Before an account is deleted: organizations where the user is the only admin but not the
/// only member would be left without an admin. Returns their names.
pub fn organizations_blocking_deletion(db: &dyn Db, user_id: &UserId) -> Result<Vec<String>, DbError> {
    let mut blocking = Vec::new();
    for membership in orgs::list_user_memberships(db, user_id)? {
        let org_id = &membership.organization.id;
        if membership.role == Role::Admin
            && orgs::count_admins(db, org_id)? <= 1
            && orgs::count_members(db, org_id)? > 1
        {
            blocking.push(membership.organization.name);
        }
    }
    Ok(blocking)
}

/// Removes a user from every organization, deleting those they were the only member of. Runs
/// inside the caller's transaction, after `organizations_blocking_deletion` found none.
pub fn remove_user_everywhere(db: &dyn Db, user_id: &UserId, now: i64) -> Result<(), DbError> {
    for membership in orgs::list_user_memberships(db, user_id)? {
        let org_id = &membership.organization.id;
        if orgs::count_members(db, org_id)? <= 1 {
            delete_organization_rows(db, &membership.organization, now)?;
        } else {
            delete_membership(db, org_id, user_id, now)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemoryDb, stored_user};

    fn user(db: &MemoryDb, id: &str, email: &str) -> User {
        stored_user(db, id, email)
    }

    #[test]
    fn creator_becomes_admin_and_slugs_are_unique() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let org = create_organization(&db, &ada, "Acme Corp", "", 1).unwrap();
        assert_eq!(org.slug, "acme-corp");
        assert_eq!(require_admin(&db, &org.id, &ada.id).unwrap().role, Role::Admin);
        assert_eq!(
            create_organization(&db, &ada, "Acme", "ACME-corp", 2),
            Err(OrgError::Fields(vec![("slug", FieldError::SlugTaken)]))
        );
        assert!(matches!(create_organization(&db, &ada, "", "x", 3), Err(OrgError::Fields(e)) if e.len() == 2));
    }

    #[test]
    fn members_cannot_do_admin_actions() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let bea = user(&db, "user_b", "b@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        orgs::add_membership(&db, &org.id, &bea.id, Role::Member, 2).unwrap();
        assert_eq!(
            update_organization(&db, Actor::Person(&bea), &org.id, "Evil", "evil", 3),
            Err(OrgError::Forbidden)
        );
        assert_eq!(
            change_role(&db, Actor::Person(&bea), &org.id, &bea.id, "admin", 9),
            Err(OrgError::Forbidden)
        );
        assert_eq!(
            remove_member(&db, Actor::Person(&bea), &org.id, &ada.id, 9),
            Err(OrgError::Forbidden)
        );
        assert_eq!(
            invite(&db, Actor::Person(&bea), &org.id, "c@example.com", "admin", 3),
            Err(OrgError::Forbidden)
        );
        assert_eq!(
            delete_organization(&db, &bea, &org.id, "acme", 9),
            Err(OrgError::Forbidden)
        );
        let outsider = user(&db, "user_c", "c@example.com");
        assert_eq!(leave_organization(&db, &outsider, &org.id, 9), Err(OrgError::Forbidden));
    }

    #[test]
    fn the_last_admin_cannot_leave_be_demoted_or_removed() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let bea = user(&db, "user_b", "b@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        orgs::add_membership(&db, &org.id, &bea.id, Role::Member, 2).unwrap();
        assert_eq!(leave_organization(&db, &ada, &org.id, 9), Err(OrgError::LastAdmin));
        assert_eq!(
            change_role(&db, Actor::Person(&ada), &org.id, &ada.id, "member", 9),
            Err(OrgError::LastAdmin)
        );
        assert_eq!(
            remove_member(&db, Actor::Person(&ada), &org.id, &ada.id, 9),
            Err(OrgError::LastAdmin)
        );
        change_role(&db, Actor::Person(&ada), &org.id, &bea.id, "admin", 9).unwrap();
        leave_organization(&db, &ada, &org.id, 9).unwrap();
        assert_eq!(orgs::count_admins(&db, &org.id).unwrap(), 1);
    }

    #[test]
    fn invitations_are_for_one_email_one_use_and_expire() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let bea = user(&db, "user_b", "b@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        let token = invite(&db, Actor::Person(&ada), &org.id, "B@example.com", "member", 10)
            .unwrap()
            .token;
        assert_eq!(
            accept_invitation(&db, &token, &ada, 11),
            Err(OrgError::InvitationForAnotherEmail)
        );
        assert_eq!(
            accept_invitation(&db, "wrong", &bea, 11),
            Err(OrgError::InvitationUnavailable)
        );
        assert_eq!(
            accept_invitation(&db, &token, &bea, 10 + INVITATION_LIFETIME),
            Err(OrgError::InvitationUnavailable),
            "expired"
        );
        accept_invitation(&db, &token, &bea, 12).unwrap();
        assert_eq!(require_member(&db, &org.id, &bea.id).unwrap().role, Role::Member);
        assert_eq!(
            accept_invitation(&db, &token, &bea, 13),
            Err(OrgError::InvitationUnavailable),
            "one use"
        );
        assert_eq!(
            invite(&db, Actor::Person(&ada), &org.id, "b@example.com", "admin", 14),
            Err(OrgError::Fields(vec![("email_address", FieldError::AlreadyMember)]))
        );
    }

    /// An account for the invitation's address, made inside the join's transaction.
    fn verified(db: &MemoryDb, id: &str, email: &str, now: i64) -> Result<User, OrgError> {
        let made = stored_user(db, id, email);
        users::mark_email_verified(db, &made.id, &made.email, now)?;
        Ok(users::find_user_by_id(db, &made.id)?.expect("just made"))
    }

    #[test]
    fn joining_with_a_new_account_is_all_or_nothing() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        let token = invite(&db, Actor::Person(&ada), &org.id, "b@example.com", "member", 10)
            .unwrap()
            .token;
        let accounts = || db.count("SELECT COUNT(*) FROM users");
        // Attack: an account made for another address than the invitation's joins with it.
        let other = join_with_new_account(&db, &token, 11, || verified(&db, "user_x", "x@example.com", 11));
        assert_eq!(other, Err(OrgError::InvitationForAnotherEmail));
        assert_eq!(accounts(), 1, "the refused account is rolled back with the join");
        // Attack: the same link used twice (a forwarded link, a double submit).
        let (bea, joined) =
            join_with_new_account(&db, &token, 12, || verified(&db, "user_b", "b@example.com", 12)).unwrap();
        assert_eq!(joined.id, org.id);
        assert_eq!(
            orgs::find_membership(&db, &org.id, &bea.id).unwrap().unwrap().role,
            Role::Member
        );
        let again = join_with_new_account(&db, &token, 13, || verified(&db, "user_c", "b2@example.com", 13));
        assert_eq!(again, Err(OrgError::InvitationUnavailable));
        assert_eq!(accounts(), 2, "a used link makes no account");
        // An expired invitation makes no account either.
        let late = invite(&db, Actor::Person(&ada), &org.id, "d@example.com", "member", 20)
            .unwrap()
            .token;
        let expired = join_with_new_account(&db, &late, 20 + INVITATION_LIFETIME + 1, || {
            verified(&db, "user_d", "d@example.com", 21)
        });
        assert_eq!(expired, Err(OrgError::InvitationUnavailable));
        assert_eq!(accounts(), 2);
    }

    #[test]
    fn an_invitation_dies_when_its_inviter_is_no_longer_an_admin() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let bea = user(&db, "user_b", "b@example.com");
        let eve = user(&db, "user_e", "e@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        orgs::add_membership(&db, &org.id, &bea.id, Role::Admin, 2).unwrap();
        // Bea, an admin, invites her own second address; then Ada removes her.
        let link = invite(&db, Actor::Person(&bea), &org.id, "e@example.com", "admin", 3)
            .unwrap()
            .token;
        assert_eq!(
            invited_email(&db, &link, 4)
                .unwrap()
                .map(|email| email.as_str().to_owned()),
            Some("e@example.com".to_owned())
        );
        remove_member(&db, Actor::Person(&ada), &org.id, &bea.id, 9).unwrap();
        assert_eq!(
            invited_email(&db, &link, 4).unwrap(),
            None,
            "a dead link prefills nothing"
        );
        assert_eq!(
            accept_invitation(&db, &link, &eve, 4),
            Err(OrgError::InvitationUnavailable),
            "a removed admin cannot regain admin through an old link"
        );
        let fresh = invite(&db, Actor::Person(&ada), &org.id, "e@example.com", "member", 5)
            .unwrap()
            .token;
        accept_invitation(&db, &fresh, &eve, 6).unwrap();
    }

    #[test]
    fn a_new_invitation_replaces_the_pending_one_and_revocation_works() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let bea = user(&db, "user_b", "b@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        let first = invite(&db, Actor::Person(&ada), &org.id, "b@example.com", "member", 10)
            .unwrap()
            .token;
        let second = invite(&db, Actor::Person(&ada), &org.id, "b@example.com", "admin", 11)
            .unwrap()
            .token;
        assert_eq!(
            accept_invitation(&db, &first, &bea, 12),
            Err(OrgError::InvitationUnavailable)
        );
        let pending = orgs::list_pending_invitations(&db, &org.id).unwrap();
        assert_eq!(pending.len(), 1);
        revoke_invitation(&db, Actor::Person(&ada), &org.id, Some(&pending[0].id), 13).unwrap();
        assert_eq!(
            accept_invitation(&db, &second, &bea, 14),
            Err(OrgError::InvitationUnavailable)
        );
        decline_invitation(
            &db,
            &invite(&db, Actor::Person(&ada), &org.id, "b@example.com", "member", 15)
                .unwrap()
                .token,
            &bea,
            16,
        )
        .unwrap();
        assert!(orgs::find_membership(&db, &org.id, &bea.id).unwrap().is_none());
    }

    #[test]
    fn deleting_an_organization_removes_memberships_and_invitations() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let org = create_organization(&db, &ada, "Acme", "acme", 1).unwrap();
        invite(&db, Actor::Person(&ada), &org.id, "b@example.com", "member", 2).unwrap();
        assert!(matches!(
            delete_organization(&db, &ada, &org.id, "nope", 9),
            Err(OrgError::Fields(_))
        ));
        delete_organization(&db, &ada, &org.id, "acme", 9).unwrap();
        for table in ["organizations", "memberships", "invitations"] {
            let rows = db.execute(&format!("SELECT COUNT(*) FROM {table}"), &[]).unwrap();
            assert_eq!(rows[0].integer(0).unwrap(), 0, "{table}");
        }
    }

    #[test]
    fn account_deletion_is_blocked_only_by_orgs_that_would_lose_their_last_admin() {
        let db = MemoryDb::new();
        let ada = user(&db, "user_a", "a@example.com");
        let bea = user(&db, "user_b", "b@example.com");
        let solo = create_organization(&db, &ada, "Solo", "solo", 1).unwrap();
        let shared = create_organization(&db, &ada, "Shared", "shared", 1).unwrap();
        orgs::add_membership(&db, &shared.id, &bea.id, Role::Member, 2).unwrap();
        assert_eq!(organizations_blocking_deletion(&db, &ada.id).unwrap(), ["Shared"]);
        change_role(&db, Actor::Person(&ada), &shared.id, &bea.id, "admin", 9).unwrap();
        assert!(organizations_blocking_deletion(&db, &ada.id).unwrap().is_empty());
        remove_user_everywhere(&db, &ada.id, 9).unwrap();
        assert!(
            orgs::find_organization_by_slug(&db, "solo").unwrap().is_none(),
            "{}",
            solo.id
        );
        assert_eq!(orgs::count_members(&db, &shared.id).unwrap(), 1);
    }
}
