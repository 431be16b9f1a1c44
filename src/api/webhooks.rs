//! `/api/v1/webhooks…`: the delivery endpoint a scheduler calls (a Spin cron trigger, a cron
//! job with `curl`), and the outbox as the operator sees it: each event's state, and a retry.

use http::StatusCode;
use serde_json::{Value, json};

use super::users::page_params;
use super::{ApiError, ApiResult, listed};
use crate::pages::Ctx;
use crate::service::webhooks as rules;
use crate::store::events::{self, StoredEvent};

fn configured<'c>(ctx: &'c Ctx<'_>) -> Result<&'c crate::config::WebhookSettings, ApiError> {
    ctx.settings.webhooks().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "webhooks_not_configured",
            "set webhook_url, webhook_secret and webhook_origin first",
        )
    })
}

/// An event as the operator sees it, with its [`StoredEvent::status`].
fn event_json(event: &StoredEvent) -> Value {
    let status = event.status();
    json!({
        "object": "webhook_event",
        "id": event.id,
        "type": event.event_type,
        "status": status,
        "created_at": event.created_at,
        "attempts": event.attempts,
        "next_attempt_at": (status == "pending").then_some(event.next_attempt_at),
        "delivered_at": event.delivered_at,
        "failed_at": event.failed_at,
        "last_status": event.last_status,
        "last_error": event.last_error,
    })
}

/// `POST /webhooks/deliver`: sends what is due now, and says what happened.
pub(super) fn deliver(ctx: &Ctx<'_>) -> ApiResult {
    let settings = configured(ctx)?;
    let round = rules::deliver(ctx.db()?, ctx.http, settings, ctx.now())?;
    Ok((
        StatusCode::OK,
        json!({
            "object": "webhook_delivery",
            "delivered": round.delivered,
            "failed": round.failed,
            "given_up": round.given_up,
            "receiver_down": round.receiver_down,
        }),
    ))
}

/// `GET /webhooks/events?limit=…`: the newest events first.
pub(super) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let (limit, _) = page_params(ctx, |_, _| Ok(false))?;
    let recent = events::recent(ctx.db()?, limit)?;
    listed(recent.iter().map(event_json).collect(), None)
}

/// `POST /webhooks/events/{id}/retry`: a given-up or waiting event goes out at the next delivery
/// (and gets three more days).
pub(super) fn retry(ctx: &Ctx<'_>, id: &str) -> ApiResult {
    let db = ctx.db()?;
    if !events::retry(db, id, ctx.now())? {
        return Err(ApiError::not_found("undelivered webhook event"));
    }
    let event = events::find(db, id)?.ok_or_else(|| ApiError::not_found("webhook event"))?;
    Ok((StatusCode::OK, event_json(&event)))
}
