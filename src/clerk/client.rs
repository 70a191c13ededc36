//! Tandem's client for Clerk's Backend API: typed calls, timeouts, the rate
//! limit, and Clerk's errors sorted into "try again" and "will never work".

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::model::{ClerkEmailAddress, ClerkErrors, ClerkUser, API_VERSION};
use super::rate_limit::RateLimiter;
use crate::config::ClerkConfig;
use crate::metrics::Metrics;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClerkError {
    /// Network trouble, a timeout, 5xx or 429: the same call may work later.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Clerk refused the call itself (4xx): retrying will not help.
    #[error("{message} ({code})")]
    Permanent {
        status: u16,
        code: String,
        message: String,
    },
}

impl ClerkError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Permanent { status: 404, .. })
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Permanent { code, .. } => Some(code),
            Self::Transient { .. } => None,
        }
    }
}

/// Fields for `POST /v1/users`.
#[derive(Debug, Clone, Serialize)]
pub struct NewClerkUser {
    pub email_address: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub external_id: String,
    pub skip_password_requirement: bool,
}

/// Fields for `PATCH /v1/users/{id}`: only what changed; `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClerkUserPatch {
    pub username: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
}

impl ClerkUserPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn body(&self) -> Value {
        let mut body = serde_json::Map::new();
        for (key, value) in [
            ("username", &self.username),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
        Value::Object(body)
    }
}

pub struct ClerkClient {
    http: reqwest::Client,
    base: String,
    limiter: RateLimiter,
    metrics: Metrics,
}

impl ClerkClient {
    pub fn new(config: &ClerkConfig, secret_key: &str, metrics: Metrics) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {secret_key}"))
            .map_err(|_| anyhow::anyhow!("CLERK_SECRET_KEY has characters a header cannot carry"))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert("Clerk-API-Version", HeaderValue::from_static(API_VERSION));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("tandem/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: format!("{}/v1", config.api_url.trim_end_matches('/')),
            limiter: RateLimiter::new(config.rate_limit),
            metrics,
        })
    }

    pub async fn create_user(&self, user: &NewClerkUser) -> Result<ClerkUser, ClerkError> {
        self.call(Method::POST, "/users", "create_user", Some(json!(user)))
            .await
    }

    pub async fn get_user(&self, id: &str) -> Result<ClerkUser, ClerkError> {
        self.call(Method::GET, &format!("/users/{id}"), "get_user", None)
            .await
    }

    pub async fn update_user(&self, id: &str, patch: &ClerkUserPatch) -> Result<ClerkUser, ClerkError> {
        self.call(
            Method::PATCH,
            &format!("/users/{id}"),
            "update_user",
            Some(patch.body()),
        )
        .await
    }

    /// Deleting a user Clerk no longer has counts as done.
    pub async fn delete_user(&self, id: &str) -> Result<(), ClerkError> {
        match self
            .call::<Value>(Method::DELETE, &format!("/users/{id}"), "delete_user", None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn find_by_external_id(&self, external_id: &str) -> Result<Option<ClerkUser>, ClerkError> {
        let path = format!("/users?external_id={}&limit=1", urlencode(external_id));
        let users: Vec<ClerkUser> = self.call(Method::GET, &path, "list_users", None).await?;
        Ok(users
            .into_iter()
            .find(|u| u.external_id.as_deref() == Some(external_id)))
    }

    /// A page of users, oldest first, for imports and reconciliation.
    pub async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<ClerkUser>, ClerkError> {
        let path = format!("/users?order_by=created_at&limit={limit}&offset={offset}");
        self.call(Method::GET, &path, "list_users", None).await
    }

    pub async fn add_email(
        &self,
        user_id: &str,
        email: &str,
        primary: bool,
    ) -> Result<ClerkEmailAddress, ClerkError> {
        let body =
            json!({ "user_id": user_id, "email_address": email, "verified": true, "primary": primary });
        self.call(Method::POST, "/email_addresses", "add_email", Some(body))
            .await
    }

    pub async fn make_email_primary(&self, email_id: &str) -> Result<ClerkEmailAddress, ClerkError> {
        let body = json!({ "verified": true, "primary": true });
        self.call(
            Method::PATCH,
            &format!("/email_addresses/{email_id}"),
            "update_email",
            Some(body),
        )
        .await
    }

    pub async fn delete_email(&self, email_id: &str) -> Result<(), ClerkError> {
        match self
            .call::<Value>(
                Method::DELETE,
                &format!("/email_addresses/{email_id}"),
                "delete_email",
                None,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        endpoint: &'static str,
        body: Option<Value>,
    ) -> Result<T, ClerkError> {
        self.limiter.acquire().await;
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let result = match request.send().await {
            Ok(response) => self.read(response).await,
            Err(error) => Err(transport(error)),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ClerkError::Transient { .. }) => "transient_error",
            Err(ClerkError::Permanent { .. }) => "permanent_error",
        };
        self.metrics.clerk_call(endpoint, outcome);
        if let Err(ClerkError::Transient {
            retry_after: Some(wait),
            ..
        }) = &result
        {
            self.limiter.back_off(*wait).await;
        }
        result
    }

    async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, ClerkError> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClerkError::Transient {
                message: format!("Clerk answered {status} with a body Tandem cannot read: {e}"),
                retry_after: None,
            });
        }
        let first = serde_json::from_slice::<ClerkErrors>(&bytes)
            .ok()
            .and_then(|body| body.errors.into_iter().next());
        let (code, message) = match first {
            Some(e) => (
                e.code,
                if e.long_message.is_empty() {
                    e.message
                } else {
                    e.long_message
                },
            ),
            None => (
                format!("http_{}", status.as_u16()),
                format!("Clerk answered {status}"),
            ),
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(ClerkError::Transient {
                message: format!("{message} ({code})"),
                retry_after,
            });
        }
        Err(ClerkError::Permanent {
            status: status.as_u16(),
            code,
            message,
        })
    }
}

fn transport(error: reqwest::Error) -> ClerkError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // Without the URL: it is ours and adds nothing for the admin.
    ClerkError::Transient {
        message: format!("call to Clerk {kind}: {}", error.without_url()),
        retry_after: None,
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
