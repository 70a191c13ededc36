//! `POST /webhooks/clerk`: Clerk's Svix-signed user events. The signature is
//! checked on the raw bytes before anything is parsed; each Svix message is
//! applied once, however often it is delivered.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::clerk::model::ClerkUser;
use crate::inbound::{Applied, Delivery, Inbound, InboundError};

/// Clerk's user objects are a few KB; anything near this is not one.
pub const MAX_BODY: usize = 256 * 1024;

/// Verifies and applies Clerk webhooks.
pub struct WebhookIngest {
    pub verifier: svix::webhooks::Webhook,
    pub inbound: Arc<Inbound>,
}

#[derive(Deserialize)]
struct Envelope {
    r#type: String,
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct DeletedUser {
    id: String,
    #[serde(default)]
    external_id: Option<String>,
}

fn answer(status: StatusCode, outcome: &str) -> Response {
    (status, Json(json!({ "status": outcome }))).into_response()
}

pub async fn clerk(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(ingest) = state.webhooks.as_ref() else {
        return answer(
            StatusCode::NOT_FOUND,
            "webhooks are not configured: set CLERK_WEBHOOK_SIGNING_SECRET",
        );
    };
    if ingest.verifier.verify(&body, &headers).is_err() {
        tracing::warn!("webhook refused: missing or bad signature, or stale timestamp");
        return answer(StatusCode::UNAUTHORIZED, "invalid signature");
    }
    let Some(svix_id) = ["svix-id", "webhook-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
    else {
        return answer(StatusCode::UNAUTHORIZED, "invalid signature");
    };
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "malformed event");
    };
    let receipts = &ingest.inbound.receipts;
    let delivery = Delivery {
        svix_id,
        event_type: envelope.r#type.clone(),
    };
    let sync = &ingest.inbound.sync;
    let outcome = match envelope.r#type.as_str() {
        "user.created" | "user.updated" => match serde_json::from_value::<ClerkUser>(envelope.data) {
            Ok(user) => {
                // Without an external id the first lookup reads the receipt too.
                if user.external_id.is_some() {
                    if let Some(early) = applied_before(ingest, &delivery).await {
                        return early;
                    }
                }
                sync.observe(&user, false, false, Some(&delivery)).await
            }
            Err(_) => return answer(StatusCode::BAD_REQUEST, "malformed user"),
        },
        "user.deleted" => match serde_json::from_value::<DeletedUser>(envelope.data) {
            Ok(deleted) => {
                if let Some(early) = applied_before(ingest, &delivery).await {
                    return early;
                }
                sync.deleted(&deleted.id, deleted.external_id.as_deref(), Some(&delivery))
                    .await
            }
            Err(_) => return answer(StatusCode::BAD_REQUEST, "malformed user"),
        },
        other => {
            tracing::info!(webhook.type = other, "webhook ignored: not a type Tandem handles");
            Ok(Applied::Ignored("event type not handled"))
        }
    };
    let recorded = match &outcome {
        Ok(Applied::Duplicate) => return answer(StatusCode::OK, "duplicate"),
        Ok(applied) if applied.recorded() => None,
        Ok(applied) => Some(format!("{applied:?}")),
        // It can never apply: answering an error would make Clerk retry for a day.
        Err(InboundError::Rejected(reason)) => {
            tracing::warn!(webhook.type = %envelope.r#type, reason = %reason, "webhook could not be applied");
            Some(format!("rejected: {reason}"))
        }
        Err(InboundError::Internal(error)) => {
            tracing::error!(webhook.type = %envelope.r#type, error = %format!("{error:#}"), "webhook failed; Clerk will retry");
            return answer(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    if let Some(recorded) = recorded {
        if let Err(error) = receipts.record(&delivery, &recorded).await {
            // Applied but not recorded: a redelivery applies nothing new.
            tracing::warn!(error = %error, "webhook applied but its receipt was not written");
        }
    }
    answer(
        StatusCode::OK,
        if outcome.is_ok() { "applied" } else { "rejected" },
    )
}

/// The answer to a delivery whose receipt is kept (or that cannot be checked now).
async fn applied_before(ingest: &WebhookIngest, delivery: &Delivery) -> Option<Response> {
    match ingest.inbound.receipts.seen(&delivery.svix_id).await {
        Ok(true) => Some(answer(StatusCode::OK, "duplicate")),
        Ok(false) => None,
        Err(error) => {
            tracing::error!(error = %error, "webhook: cannot read receipts");
            Some(answer(StatusCode::SERVICE_UNAVAILABLE, "try again"))
        }
    }
}
