//! The Backend API's routes under `/v1`, each behind the gate.

use axum::middleware;
use axum::routing::{any, get, post};
use axum::Router;

use super::error::ApiError;
use super::{emails, gate, users, Emulator};

pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route("/v1/users/count", get(users::count))
        .route(
            "/v1/users/{user_id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/v1/email_addresses", post(emails::create))
        .route(
            "/v1/email_addresses/{email_address_id}",
            get(emails::get).patch(emails::update).delete(emails::delete),
        )
        .route("/v1/{*rest}", any(not_found))
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(emulator.clone(), gate::gate))
        .with_state(emulator)
}

/// Paths and methods the emulator does not serve answer as Clerk answers an unknown resource.
async fn not_found() -> ApiError {
    ApiError::NotFound("Resource not found".to_owned())
}
