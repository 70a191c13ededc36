//! HTTP edge: routes, request ids, tracing, limits.

mod auth;
mod graphiql;
mod graphql;
mod health;
mod metrics;
mod spa;
mod subscription;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::routing::{get, post};
use axum::{middleware, Router};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Secret;
use crate::db::Db;
use crate::graphql::{ParsedQueries, TandemSchema};
use crate::metrics::Metrics;
use crate::sync::SyncControl;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const BODY_LIMIT: usize = 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub schema: TandemSchema,
    pub parsed: Arc<ParsedQueries>,
    pub admin_token: Secret,
    pub metrics: Metrics,
    pub sync: Arc<SyncControl>,
    /// `None` without a webhook signing secret.
    pub webhooks: Option<Arc<webhook::WebhookIngest>>,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/graphql", post(graphql::execute))
        .route("/metrics", get(metrics::render))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_admin));
    Router::new()
        .merge(api)
        .route("/graphql/ws", get(subscription::upgrade))
        .route(
            "/webhooks/clerk",
            post(webhook::clerk).layer(axum::extract::DefaultBodyLimit::max(webhook::MAX_BODY)),
        )
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{file}", get(graphiql::asset))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .fallback(spa::serve)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        http.method = %request.method(),
                        http.path = %request.uri().path(),
                        request.id = %request_id,
                    )
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                )),
        )
}
