//! `/api/v1/waitlist…`: the people waiting (`sign_up_mode = waitlist`), approving one (an
//! instance invitation, emailed) and removing one.

use http::StatusCode;
use serde_json::{Value, json};

use super::invitations::{email_not_sent, invitation_json};
use super::users::page_params;
use super::{ApiError, ApiResult, listed};
use crate::pages::Ctx;
use crate::service::waitlist as rules;
use crate::store::waitlist::WaitlistEntry;

fn entry_json(entry: &WaitlistEntry) -> Value {
    json!({
        "object": "waitlist_entry",
        "id": entry.id,
        "email_address": entry.email.as_str(),
        "created_at": entry.created_at,
    })
}

/// `GET /waitlist?limit=…`: who is waiting, first come first.
pub(super) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let (limit, _) = page_params(ctx, |_, _| Ok(false))?;
    let waiting = rules::waiting(ctx.db()?, limit)?;
    listed(waiting.iter().map(entry_json).collect(), None)
}

/// `POST /waitlist/{id}/approve`: an instance invitation for the entry's address, emailed (an
/// email that cannot be sent takes the approval back). Answers the invitation.
pub(super) fn approve(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let invitation = crate::pages::sign_up::approve_waitlist_entry(ctx, id)
        .map_err(email_not_sent)?
        .ok_or_else(|| ApiError::not_found("waiting entry"))?;
    Ok((StatusCode::OK, invitation_json(&invitation)))
}

/// `DELETE /waitlist/{id}`
pub(super) fn remove(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    if !rules::remove(ctx.db()?, id)? {
        return Err(ApiError::not_found("waitlist entry"));
    }
    Ok((
        StatusCode::OK,
        json!({"object": "waitlist_entry", "id": id, "deleted": true}),
    ))
}
