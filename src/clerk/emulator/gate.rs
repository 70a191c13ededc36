//! What every Backend API call goes through: logged, delayed, authenticated, version-checked, maybe faulted.

use std::io;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::control::Action;
use super::error::ApiError;
use super::Emulator;

/// The versions Clerk documents for the Backend API.
const KNOWN_VERSIONS: &[&str] = &[
    "2021-02-05",
    "2024-10-01",
    "2025-04-10",
    "2025-11-10",
    "2026-05-12",
];

const VERSION_HEADER: &str = "clerk-api-version";
const VERSION_QUERY: &str = "__clerk_api_version";

/// Larger bodies than any user or email request, still small enough to log whole.
const BODY_LIMIT: usize = 1024 * 1024;

/// How long a dropped response waits after its first bytes before breaking, so its headers reach the client.
const DROP_DELAY: Duration = Duration::from_millis(20);

pub async fn gate(State(emulator): State<Emulator>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::BodyInvalid);
    let logged_body = body.as_ref().ok().and_then(|b| serde_json::from_slice(b).ok());
    let seq = emulator
        .control()
        .arrived(&parts.method, parts.uri.path(), parts.uri.query(), logged_body);
    let latency = emulator.control().latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = match screen(&emulator, &parts).and_then(|drop| Ok((drop, body?))) {
        Err(error) => error.into_response(),
        Ok((drop, body)) => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            if drop {
                broken(response)
            } else {
                response
            }
        }
    };
    emulator.control().answered(seq, response.status());
    response
}

/// Checks the key and the version, then takes the first matching fault; `true` means drop the response.
fn screen(emulator: &Emulator, parts: &Parts) -> Result<bool, ApiError> {
    authenticate(parts, &emulator.shared.secret_key)?;
    check_version(parts)?;
    match emulator.control().take_fault(&parts.method, parts.uri.path()) {
        None => Ok(false),
        Some(Action::DropResponse) => Ok(true),
        Some(Action::Fail(error)) => Err(error),
    }
}

fn authenticate(parts: &Parts, secret_key: &str) -> Result<(), ApiError> {
    let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let key = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .filter(|key| !key.trim().is_empty())
        .ok_or(ApiError::HeaderFormat)?;
    if bool::from(key.as_bytes().ct_eq(secret_key.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::KeyInvalid)
    }
}

/// The version may come as a header or a query parameter, not both; without either, the call is accepted.
fn check_version(parts: &Parts) -> Result<(), ApiError> {
    let header = parts
        .headers
        .get(VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == VERSION_QUERY)
        .map(|(_, value)| value.into_owned());
    let version = match (header, query) {
        (Some(_), Some(_)) => {
            return Err(ApiError::VersionInvalid(format!(
                "set either the Clerk-API-Version header or the {VERSION_QUERY} query parameter, not both"
            )))
        }
        (None, None) => return Ok(()),
        (Some(version), None) | (None, Some(version)) => version,
    };
    if KNOWN_VERSIONS.contains(&version.as_str()) {
        Ok(())
    } else {
        Err(ApiError::VersionInvalid(format!(
            "{version:?} is not one of {}",
            KNOWN_VERSIONS.join(", ")
        )))
    }
}

/// Keeps the status and headers, sends the first byte of the body, then fails the stream, so the client
/// sees a response that never completes.
fn broken(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    let first = futures::stream::once(async { Ok(Bytes::from_static(b"{")) });
    let failure = futures::stream::once(async {
        tokio::time::sleep(DROP_DELAY).await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "response dropped by the Clerk emulator",
        ))
    });
    Response::from_parts(
        parts,
        Body::from_stream(futures::StreamExt::chain(first, failure)),
    )
}
