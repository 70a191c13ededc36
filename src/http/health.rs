//! Probes for load balancers: `/healthz` (process up), `/readyz` (database
//! reachable and migrated). Neither needs the admin token.

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

pub async fn live() -> &'static str {
    "ok"
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.db.is_ready().await {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable or not migrated",
        )
    }
}
