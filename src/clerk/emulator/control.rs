//! The control API under `/_emulator`: queue faults, add latency, read the request log, point webhooks at a
//! receiver and read their delivery log, reset everything.

use std::collections::VecDeque;
use std::time::Duration;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ApiError;
use super::webhooks::{Attempt, Fault as WebhookFault, Summary};
use super::Emulator;

#[derive(Default)]
pub struct Control {
    faults: VecDeque<Fault>,
    latency: Duration,
    log: Vec<LoggedCall>,
    next_seq: u64,
}

/// What a matched fault does to the call.
#[derive(Clone)]
pub enum Action {
    /// Answer this error and change nothing.
    Fail(ApiError),
    /// Apply the call, then break the response after its headers.
    DropResponse,
}

struct Fault {
    method: Option<Method>,
    path_prefix: Option<String>,
    remaining: u32,
    action: Action,
}

/// A fault as the control API takes it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultSpec {
    Fail {
        #[serde(default = "one")]
        count: u32,
        status: u16,
        code: Option<String>,
        message: Option<String>,
        retry_after_secs: Option<u64>,
        method: Option<String>,
        path_prefix: Option<String>,
    },
    RateLimit {
        #[serde(default = "one")]
        count: u32,
        retry_after_secs: u64,
        method: Option<String>,
        path_prefix: Option<String>,
    },
    DropResponse {
        #[serde(default = "one")]
        count: u32,
        method: Option<String>,
        path_prefix: Option<String>,
    },
    Latency {
        ms: u64,
    },
    WebhookDuplicate {
        #[serde(default = "one")]
        count: u32,
    },
    WebhookDelay {
        #[serde(default = "one")]
        count: u32,
        ms: u64,
    },
    WebhookReorder {
        #[serde(default = "one")]
        count: u32,
    },
    WebhookDrop {
        #[serde(default = "one")]
        count: u32,
    },
}

/// Where `POST /_emulator/webhooks` sends webhooks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookTarget {
    url: String,
    secret: String,
}

/// One Backend API call, as `GET /_emulator/requests` lists it.
#[derive(Clone, Serialize)]
struct LoggedCall {
    #[serde(skip)]
    seq: u64,
    method: String,
    path: String,
    query: Option<String>,
    /// `None` until the answer is sent.
    status: Option<u16>,
    body: Option<Value>,
    at_ms: i64,
}

impl Control {
    /// Logs a call as it arrives, so the log keeps arrival order; returns the key to log its answer under.
    pub fn arrived(&mut self, method: &Method, path: &str, query: Option<&str>, body: Option<Value>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.log.push(LoggedCall {
            seq,
            method: method.to_string(),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            status: None,
            body,
            at_ms: super::now_ms(),
        });
        seq
    }

    pub fn answered(&mut self, seq: u64, status: StatusCode) {
        // Answers come soon after their calls: look from the newest.
        if let Some(call) = self.log.iter_mut().rev().find(|c| c.seq == seq) {
            call.status = Some(status.as_u16());
        }
    }

    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// Forgets faults, latency and the log, but keeps numbering calls, so a call in flight across a reset
    /// cannot mark a newer one as answered.
    pub fn reset(&mut self) {
        self.faults.clear();
        self.latency = Duration::ZERO;
        self.log.clear();
    }

    /// Consumes one use of the first queued fault that matches the call.
    pub fn take_fault(&mut self, method: &Method, path: &str) -> Option<Action> {
        let index = self.faults.iter().position(|f| f.matches(method, path))?;
        let fault = &mut self.faults[index];
        fault.remaining -= 1;
        let action = fault.action.clone();
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }
}

impl Fault {
    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .route("/_emulator/faults", post(add_fault).delete(clear_faults))
        .route("/_emulator/requests", get(requests).delete(clear_requests))
        .route(
            "/_emulator/webhooks",
            get(webhook_log).post(deliver_webhooks).delete(stop_webhooks),
        )
        .route("/_emulator/webhooks/summary", get(webhook_summary))
        .route("/_emulator/reset", post(reset))
        .with_state(emulator)
}

async fn add_fault(State(emulator): State<Emulator>, Json(spec): Json<FaultSpec>) -> Response {
    let (count, method, path_prefix, action) = match spec {
        FaultSpec::Latency { ms } => {
            emulator.control().latency = Duration::from_millis(ms);
            return StatusCode::NO_CONTENT.into_response();
        }
        FaultSpec::WebhookDuplicate { count } => {
            return add_webhook_fault(&emulator, WebhookFault::Duplicate, count)
        }
        FaultSpec::WebhookDelay { count, ms } => {
            return add_webhook_fault(&emulator, WebhookFault::Delay(Duration::from_millis(ms)), count)
        }
        FaultSpec::WebhookReorder { count } => {
            return add_webhook_fault(&emulator, WebhookFault::Reorder, count)
        }
        FaultSpec::WebhookDrop { count } => return add_webhook_fault(&emulator, WebhookFault::Drop, count),
        FaultSpec::Fail {
            count,
            status,
            code,
            message,
            retry_after_secs,
            method,
            path_prefix,
        } => {
            let Some(status) = StatusCode::from_u16(status).ok().filter(|s| s.as_u16() >= 400) else {
                return invalid(format!("status {status} is not an error status"));
            };
            let error = injected(status, code, message, retry_after_secs);
            (count, method, path_prefix, Action::Fail(error))
        }
        FaultSpec::RateLimit {
            count,
            retry_after_secs,
            method,
            path_prefix,
        } => {
            let error = injected(StatusCode::TOO_MANY_REQUESTS, None, None, Some(retry_after_secs));
            (count, method, path_prefix, Action::Fail(error))
        }
        FaultSpec::DropResponse {
            count,
            method,
            path_prefix,
        } => (count, method, path_prefix, Action::DropResponse),
    };
    if count == 0 {
        return invalid("count must be at least 1".to_owned());
    }
    let Ok(method) = method
        .map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()))
        .transpose()
    else {
        return invalid("method is not an HTTP method".to_owned());
    };
    emulator.control().faults.push_back(Fault {
        method,
        path_prefix,
        remaining: count,
        action,
    });
    StatusCode::NO_CONTENT.into_response()
}

/// Webhook faults queue apart from Backend API faults, so neither kind of fault consumes the other.
fn add_webhook_fault(emulator: &Emulator, fault: WebhookFault, count: u32) -> Response {
    if count == 0 {
        return invalid("count must be at least 1".to_owned());
    }
    emulator.webhooks().add_fault(fault, count);
    StatusCode::NO_CONTENT.into_response()
}

/// An injected error; without a code or message it reads as Clerk's own for that status.
fn injected(
    status: StatusCode,
    code: Option<String>,
    message: Option<String>,
    retry_after_secs: Option<u64>,
) -> ApiError {
    let (default_code, default_message) = if status == StatusCode::TOO_MANY_REQUESTS {
        ("too_many_requests", "Too many requests, please try again later.")
    } else {
        (
            "internal_clerk_error",
            "There was an internal error on our servers. We've been notified and are working on fixing it.",
        )
    };
    ApiError::Injected {
        status,
        code: code.unwrap_or_else(|| default_code.to_owned()),
        message: message.unwrap_or_else(|| default_message.to_owned()),
        retry_after_secs,
    }
}

async fn clear_faults(State(emulator): State<Emulator>) -> StatusCode {
    emulator.webhooks().clear_faults();
    let mut control = emulator.control();
    control.faults.clear();
    control.latency = Duration::ZERO;
    StatusCode::NO_CONTENT
}

async fn requests(State(emulator): State<Emulator>) -> Json<Vec<LoggedCall>> {
    Json(emulator.control().log.clone())
}

async fn clear_requests(State(emulator): State<Emulator>) -> StatusCode {
    emulator.control().log.clear();
    StatusCode::NO_CONTENT
}

async fn deliver_webhooks(State(emulator): State<Emulator>, Json(target): Json<WebhookTarget>) -> Response {
    match emulator.webhooks().set_target(&target.url, &target.secret) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => invalid(error.to_string()),
    }
}

async fn stop_webhooks(State(emulator): State<Emulator>) -> StatusCode {
    emulator.webhooks().stop();
    StatusCode::NO_CONTENT
}

async fn webhook_log(State(emulator): State<Emulator>) -> Json<Vec<Attempt>> {
    Json(emulator.webhooks().log())
}

async fn webhook_summary(State(emulator): State<Emulator>) -> Json<Summary> {
    Json(emulator.webhooks().summary())
}

async fn reset(State(emulator): State<Emulator>) -> StatusCode {
    emulator.reset();
    StatusCode::NO_CONTENT
}

fn invalid(message: String) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, message).into_response()
}

fn one() -> u32 {
    1
}
