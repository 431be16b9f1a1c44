//! `/api/v1/organizations…`: organizations, their members and their invitations. The operator
//! acts as `Actor::Operator`: any organization, with the rules that protect the organization
//! itself (it keeps an admin; valid, unique name and slug).

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::body::read as read_body;
use super::users::{field_error, page_params};
use super::{ApiError, ApiResult, listed};
use crate::domain::{InvitationId, OrgId, UserId};
use crate::pages::Ctx;
use crate::service::organizations::{self as rules, Actor, OrgError, OrganizationChanges, OrganizationDetails};
use crate::store::organizations::{Invitation, Member};
use crate::store::users;

impl From<OrgError> for ApiError {
    fn from(error: OrgError) -> Self {
        match error {
            OrgError::NoSuchOrganization => ApiError::not_found("organization"),
            OrgError::NoSuchMember => ApiError::not_found("membership"),
            OrgError::InvitationUnavailable => ApiError::not_found("pending invitation"),
            OrgError::LastAdmin => ApiError::new(
                StatusCode::CONFLICT,
                "last_admin",
                "the organization would be left without an admin: make another member admin first",
            ),
            OrgError::Fields(fields) => field_error(&fields),
            OrgError::Invalid { field, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{field} {message}"),
            )
            .on_field(field),
            OrgError::Db(error) => error.into(),
            // A person's refusals; the operator's key is never refused them.
            other @ (OrgError::Forbidden | OrgError::NotAMember | OrgError::InvitationForAnotherEmail) => {
                eprintln!("api: unexpected organization refusal: {other}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
            }
        }
    }
}

fn org_id(text: &str) -> Result<OrgId, ApiError> {
    OrgId::parse(text).ok_or_else(|| ApiError::not_found("organization"))
}

fn organization_json(details: &OrganizationDetails) -> Value {
    let organization = &details.organization;
    json!({
        "object": "organization",
        "id": organization.id.as_str(),
        "name": organization.name,
        "slug": organization.slug,
        "created_at": organization.created_at,
        "require_two_step": organization.require_two_step,
        "members_count": details.members,
        "public_metadata": Value::Object(details.public_metadata.clone()),
        "private_metadata": Value::Object(details.private_metadata.clone()),
    })
}

fn member_json(org_id: &OrgId, member: &Member) -> Value {
    json!({
        "object": "organization_membership",
        "organization_id": org_id.as_str(),
        "role": member.role.as_str(),
        "created_at": member.joined_at,
        "user": {
            "id": member.user_id.as_str(),
            "email_address": member.email.as_str(),
            "first_name": member.first_name,
            "last_name": member.last_name,
            "two_step_enabled": member.has_two_step,
        },
    })
}

fn invitation_json(invitation: &Invitation) -> Value {
    json!({
        "object": "organization_invitation",
        "id": invitation.id.as_str(),
        "organization_id": invitation.org_id.as_str(),
        "email_address": invitation.email.as_str(),
        "role": invitation.role.as_str(),
        "status": invitation.status.as_str(),
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    })
}

/// `GET /organizations?query=…&limit=…&offset=…`
pub(super) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let mut query = None;
    let (limit, offset) = page_params(ctx, |name, value| {
        if name != "query" {
            return Ok(false);
        }
        let trimmed = value.trim();
        query = (!trimmed.is_empty()).then(|| trimmed.chars().take(100).collect::<String>());
        Ok(true)
    })?;
    let (page, total) = rules::list_details(ctx.db()?, query.as_deref(), limit, offset)?;
    listed(page.iter().map(organization_json).collect(), Some(total))
}

/// `POST /organizations`: the body's fields.
struct CreateOrganization {
    name: String,
    slug: Option<String>,
    /// The user who becomes its first admin (an organization always has one).
    created_by: String,
    require_two_step: Option<bool>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
}

impl CreateOrganization {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            name: body.string("name")?,
            slug: body.optional_string("slug")?,
            created_by: body.string("created_by")?,
            require_two_step: body.optional_bool("require_two_step")?,
            public_metadata: body.optional_object("public_metadata")?,
            private_metadata: body.optional_object("private_metadata")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `POST /organizations`
pub(super) fn create(ctx: &Ctx<'_>) -> ApiResult {
    let body = CreateOrganization::read(ctx)?;
    let db = ctx.db()?;
    let creator = UserId::parse(&body.created_by)
        .map(|id| users::find_user_by_id(db, &id))
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "created_by must be the id of an existing user",
            )
            .on_field("created_by")
        })?;
    let public = body.public_metadata.map(Value::Object);
    let private = body.private_metadata.map(Value::Object);
    let changes = OrganizationChanges {
        require_two_step: body.require_two_step,
        public_metadata: public.as_ref(),
        private_metadata: private.as_ref(),
        ..Default::default()
    };
    let id = rules::create_as_operator(
        db,
        &creator,
        &body.name,
        body.slug.as_deref().unwrap_or_default(),
        &changes,
        ctx.now(),
    )?;
    Ok((StatusCode::CREATED, organization_json(&rules::details(db, &id)?)))
}

/// `GET /organizations/{id}`
pub(super) fn get(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let details = rules::details(ctx.db()?, &org_id(id)?)?;
    Ok((StatusCode::OK, organization_json(&details)))
}

/// `PATCH /organizations/{id}`: the body's fields.
struct UpdateOrganization {
    name: Option<String>,
    slug: Option<String>,
    require_two_step: Option<bool>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
}

impl UpdateOrganization {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            name: body.optional_string("name")?,
            slug: body.optional_string("slug")?,
            require_two_step: body.optional_bool("require_two_step")?,
            public_metadata: body.optional_object("public_metadata")?,
            private_metadata: body.optional_object("private_metadata")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `PATCH /organizations/{id}`: what is sent changes; metadata are replaced whole.
pub(super) fn update(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = org_id(id)?;
    let body = UpdateOrganization::read(ctx)?;
    let public = body.public_metadata.map(Value::Object);
    let private = body.private_metadata.map(Value::Object);
    let changes = OrganizationChanges {
        name: body.name.as_deref(),
        slug: body.slug.as_deref(),
        require_two_step: body.require_two_step,
        public_metadata: public.as_ref(),
        private_metadata: private.as_ref(),
    };
    let db = ctx.db()?;
    rules::update_as_operator(db, &id, &changes, ctx.now())?;
    Ok((StatusCode::OK, organization_json(&rules::details(db, &id)?)))
}

/// `DELETE /organizations/{id}`
pub(super) fn delete(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = org_id(id)?;
    rules::delete_as_operator(ctx.db()?, &id, ctx.now())?;
    Ok((
        StatusCode::OK,
        json!({"object": "organization", "id": id.as_str(), "deleted": true}),
    ))
}

/// `GET /organizations/{id}/memberships`
pub(super) fn memberships(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = org_id(id)?;
    let members = rules::members(ctx.db()?, &id)?;
    listed(members.iter().map(|member| member_json(&id, member)).collect(), None)
}

/// `POST /organizations/{id}/memberships`: the body's fields.
struct AddMember {
    user_id: String,
    role: String,
}

impl AddMember {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            user_id: body.string("user_id")?,
            role: body.string("role")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `POST /organizations/{id}/memberships`
pub(super) fn add_member(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = org_id(id)?;
    let body = AddMember::read(ctx)?;
    let user_id = UserId::parse(&body.user_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "user_id must be the id of an existing user",
        )
        .on_field("user_id")
    })?;
    let db = ctx.db()?;
    rules::add_member(db, &id, &user_id, &body.role, ctx.now())?;
    membership_answer(ctx, &id, &user_id, StatusCode::CREATED)
}

/// The membership of `user_id` as the API shows it.
fn membership_answer(ctx: &Ctx<'_>, id: &OrgId, user_id: &UserId, status: StatusCode) -> ApiResult {
    let members = rules::members(ctx.db()?, id)?;
    let member = members
        .iter()
        .find(|member| member.user_id == *user_id)
        .ok_or_else(|| ApiError::not_found("membership"))?;
    Ok((status, member_json(id, member)))
}

fn member_id(text: &str) -> Result<UserId, ApiError> {
    UserId::parse(text).ok_or_else(|| ApiError::not_found("membership"))
}

/// `PATCH /organizations/{id}/memberships/{user_id}`: the body's one field.
struct ChangeRole {
    role: String,
}

impl ChangeRole {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            role: body.string("role")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `PATCH /organizations/{id}/memberships/{user_id}`: the role (the last admin stays one).
pub(super) fn change_role(ctx: &Ctx<'_>, id: &str, user_id: &str) -> ApiResult {
    let id = org_id(id)?;
    let user_id = member_id(user_id)?;
    let body = ChangeRole::read(ctx)?;
    rules::change_role(ctx.db()?, Actor::Operator, &id, &user_id, &body.role, ctx.now())?;
    membership_answer(ctx, &id, &user_id, StatusCode::OK)
}

/// `DELETE /organizations/{id}/memberships/{user_id}` (never the last admin).
pub(super) fn remove_member(ctx: &Ctx<'_>, id: &str, user_id: &str) -> ApiResult {
    let id = org_id(id)?;
    let user_id = member_id(user_id)?;
    rules::remove_member(ctx.db()?, Actor::Operator, &id, &user_id, ctx.now())?;
    Ok((
        StatusCode::OK,
        json!({"object": "organization_membership", "organization_id": id.as_str(),
               "user_id": user_id.as_str(), "deleted": true}),
    ))
}

/// `GET /organizations/{id}/invitations`: pending ones, newest first.
pub(super) fn invitations(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = org_id(id)?;
    let pending = rules::pending_invitations(ctx.db()?, &id)?;
    listed(pending.iter().map(invitation_json).collect(), None)
}

/// `POST /organizations/{id}/invitations`: the body's fields.
struct Invite {
    email_address: String,
    role: String,
}

impl Invite {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            email_address: body.string("email_address")?,
            role: body.string("role")?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `POST /organizations/{id}/invitations`: the answer carries the invitation's link (`url`),
/// shown this once (only its hash is stored); the portal does not email it.
pub(super) fn invite(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let id = org_id(id)?;
    let body = Invite::read(ctx)?;
    let db = ctx.db()?;
    let created = rules::invite(db, Actor::Operator, &id, &body.email_address, &body.role, ctx.now())?;
    let invitation = rules::invitation_by_token(db, &created.token)?
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error"))?;
    let link = crate::pages::organization::view::invitation_link(ctx, &created.token)?;
    let mut answer = invitation_json(&invitation);
    answer["url"] = json!(link.as_str());
    Ok((StatusCode::CREATED, answer))
}

/// `DELETE /organizations/{id}/invitations/{invitation_id}`
pub(super) fn revoke_invitation(ctx: &Ctx<'_>, id: &str, invitation_id: &str) -> ApiResult {
    let id = org_id(id)?;
    let invitation = InvitationId::parse(invitation_id);
    rules::revoke_invitation(ctx.db()?, Actor::Operator, &id, invitation.as_ref(), ctx.now())?;
    Ok((
        StatusCode::OK,
        json!({"object": "organization_invitation", "id": invitation_id, "revoked": true}),
    ))
}
