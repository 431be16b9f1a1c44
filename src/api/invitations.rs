//! `/api/v1/invitations…`: invitations to make an account on the instance (they open sign-up
//! for their address even in `sign_up_mode = restricted`).

use http::StatusCode;
use serde_json::{Value, json};

use super::body::read as read_body;
use super::{ApiError, ApiResult, listed};
use crate::domain::EmailAddress;
use crate::error::PortalError;
use crate::pages::Ctx;
use crate::service::invitations::{self as rules, DEFAULT_LIFETIME_DAYS, MAX_LIFETIME_DAYS};
use crate::store::instance_invitations::InstanceInvitation;

pub(super) fn invitation_json(invitation: &InstanceInvitation) -> Value {
    json!({
        "object": "invitation",
        "id": invitation.id,
        "email_address": invitation.email.as_str(),
        "status": invitation.status,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    })
}

/// `GET /invitations`: pending ones, newest first.
pub(super) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let pending = rules::pending(ctx.db()?)?;
    listed(pending.iter().map(invitation_json).collect(), None)
}

/// `POST /invitations`: the body's fields.
struct Invite {
    email_address: String,
    expires_in_days: Option<i64>,
    /// Whether the portal emails the invitation (default `true`): that link also proves the
    /// mailbox, so the account is made verified without a code.
    notify: bool,
}

impl Invite {
    fn read(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let mut body = read_body(ctx)?;
        let fields = Self {
            email_address: body.string("email_address")?,
            expires_in_days: body.optional_integer("expires_in_days")?,
            notify: body.bool_or("notify", true)?,
        };
        body.finish()?;
        Ok(fields)
    }
}

/// `POST /invitations`: the answer carries the sign-up link (`url`), this once, and the portal
/// emails the invitation unless `notify` is `false`. An earlier pending invitation for the address
/// is revoked.
pub(super) fn create(ctx: &Ctx<'_>) -> ApiResult {
    let body = Invite::read(ctx)?;
    let email = EmailAddress::parse(&body.email_address).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "email_address is not an email address",
        )
        .on_field("email_address")
    })?;
    let days = body.expires_in_days.unwrap_or(DEFAULT_LIFETIME_DAYS);
    if !(1..=MAX_LIFETIME_DAYS).contains(&days) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("expires_in_days must be from 1 to {MAX_LIFETIME_DAYS}"),
        )
        .on_field("expires_in_days"));
    }
    let (invitation, token) = rules::invite(ctx.db()?, &email, days, ctx.now())?;
    if body.notify {
        crate::pages::sign_up::email_or_withdraw(ctx, &invitation, &token).map_err(email_not_sent)?;
    }
    let link = crate::pages::sign_up::instance_invitation_link(ctx, &token)?;
    let mut answer = invitation_json(&invitation);
    answer["url"] = json!(link.as_str());
    Ok((StatusCode::CREATED, answer))
}

/// The answer when an invitation email could not be sent (the invitation was withdrawn); any
/// other failure answers as itself.
pub(super) fn email_not_sent(error: PortalError) -> ApiError {
    match error {
        PortalError::EmailNotSent | PortalError::Config(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "email_not_sent",
            "the invitation email could not be sent (see the portal's log); nothing was kept: send notify=false to get the link only",
        ),
        other => other.into(),
    }
}

/// `DELETE /invitations/{id}`
pub(super) fn revoke(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    if !rules::revoke(ctx.db()?, id, ctx.now())? {
        return Err(ApiError::not_found("pending invitation"));
    }
    Ok((
        StatusCode::OK,
        json!({"object": "invitation", "id": id, "revoked": true}),
    ))
}
