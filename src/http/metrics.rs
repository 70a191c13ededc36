//! `GET /metrics` in Prometheus text format, behind the admin token.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::AppState;
use crate::metrics::QueueGauges;

pub async fn render(State(state): State<AppState>) -> Response {
    let overview = match state.sync.overview().await {
        Ok(overview) => overview,
        Err(error) => {
            tracing::error!(error = %error, "metrics: cannot read the sync queue");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let gauges = QueueGauges {
        pending: overview.pending,
        failed: overview.failed,
        oldest_pending_seconds: overview.oldest_pending_at.map_or(0.0, |at| {
            (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        }),
    };
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&gauges),
    )
        .into_response()
}
