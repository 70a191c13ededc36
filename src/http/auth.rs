//! Admin auth: a bearer token compared in constant time.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use subtle::ConstantTimeEq;

use super::AppState;
use crate::config::Secret;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Constant-time, so response timing tells nothing about the token.
pub fn token_matches(given: &str, expected: &Secret) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes()))
}

pub async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let authorized = bearer(request.headers()).is_some_and(|given| token_matches(given, &state.admin_token));
    if authorized {
        return next.run(request).await;
    }
    let body = serde_json::json!({
        "errors": [{
            "message": "missing or wrong admin token: send Authorization: Bearer <TANDEM_ADMIN_TOKEN>",
            "extensions": { "code": "UNAUTHENTICATED" }
        }]
    });
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, "Bearer")],
        Json(body),
    )
        .into_response()
}
