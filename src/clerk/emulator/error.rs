//! Every failure the emulated Backend API answers with, worded and coded as Clerk's error catalog has it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A Clerk error; `Display` is its `long_message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'")]
    HeaderFormat,
    #[error("The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.")]
    KeyInvalid,
    #[error("Invalid Clerk API version: {0}")]
    VersionInvalid(String),
    #[error("The request body is invalid. Please consult the API documentation for more information.")]
    BodyInvalid,
    #[error("{0} is not a valid parameter for this request.")]
    ParamUnknown(String),
    #[error("{0} must be included.")]
    ParamMissing(&'static str),
    #[error("`{param}` must be a `{expected}`.")]
    ParamType {
        param: &'static str,
        expected: &'static str,
    },
    #[error("{reason}")]
    ValueInvalid { param: &'static str, reason: String },
    #[error("{0} must be a valid email address.")]
    EmailFormat(&'static str),
    #[error("{0} must contain a datetime specified in RFC3339 format (e.g. `2022-10-20T10:00:27.645Z`).")]
    TimeFormat(&'static str),
    #[error("That {} is taken. Please try another.", .0.replace('_', " "))]
    IdentifierExists(&'static str),
    #[error("Username must be between 4 and 64 characters long.")]
    UsernameLength,
    #[error("Username can only contain letters, numbers and '_' or '-'.")]
    UsernameCharacter,
    #[error("Passwords must be 8 characters or more.")]
    PasswordTooShort,
    #[error("This identification needs to be verified before you can perform this action.")]
    VerificationNeeded(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("You cannot delete your last identification.")]
    LastIdentification,
    #[error("You cannot delete the primary email address. Make another email address primary first.")]
    PrimaryIdentification,
    /// Real Clerk would accept this; the emulator does not implement it, and says so rather than guess.
    #[error("{0} is part of Clerk's Backend API, but the emulator does not implement it.")]
    Unsupported(String),
    /// Asked for through the control API.
    #[error("{message}")]
    Injected {
        status: StatusCode,
        code: String,
        message: String,
        retry_after_secs: Option<u64>,
    },
}

impl ApiError {
    pub fn user_not_found(id: &str) -> Self {
        Self::NotFound(format!("No user was found with id {id}"))
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::HeaderFormat | Self::KeyInvalid => StatusCode::UNAUTHORIZED,
            Self::VersionInvalid(_)
            | Self::BodyInvalid
            | Self::LastIdentification
            | Self::PrimaryIdentification => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Injected { status, .. } => *status,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &str {
        match self {
            Self::HeaderFormat => "authorization_header_format_invalid",
            Self::KeyInvalid => "clerk_key_invalid",
            Self::VersionInvalid(_) => "api_version_invalid",
            Self::BodyInvalid => "request_body_invalid",
            Self::ParamUnknown(_) => "form_param_unknown",
            Self::ParamMissing(_) => "form_param_missing",
            Self::ParamType { .. } => "form_param_type_invalid",
            Self::ValueInvalid { .. } => "form_param_value_invalid",
            Self::EmailFormat(_) => "form_param_format_invalid",
            Self::TimeFormat(_) => "form_param_invalid_time",
            Self::IdentifierExists(_) => "form_identifier_exists",
            Self::UsernameLength => "form_username_invalid_length",
            Self::UsernameCharacter => "form_username_invalid_character",
            Self::PasswordTooShort => "form_password_length_too_short",
            Self::VerificationNeeded(_) => "form_verification_needed",
            Self::NotFound(_) => "resource_not_found",
            Self::LastIdentification | Self::PrimaryIdentification => "identification_deletion_failed",
            Self::Unsupported(_) => "emulator_unsupported",
            Self::Injected { code, .. } => code,
        }
    }

    /// Clerk's short `message`; where its catalog has none, the long one stands in.
    fn message(&self) -> String {
        let short = match self {
            Self::HeaderFormat => "Invalid Authorization header format",
            Self::VersionInvalid(_) => "invalid API version",
            Self::BodyInvalid => "Request body invalid",
            Self::ParamUnknown(_) => "is unknown",
            Self::ParamMissing(_) => "is missing",
            Self::ParamType { .. } | Self::ValueInvalid { .. } | Self::EmailFormat(_) => "is invalid",
            Self::TimeFormat(_) => "invalid format",
            Self::VerificationNeeded(_) => "is unverified",
            Self::NotFound(_) => "not found",
            Self::LastIdentification | Self::PrimaryIdentification => "Deletion failed",
            Self::Unsupported(_) => "not supported by the emulator",
            _ => return self.to_string(),
        };
        short.to_owned()
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::ParamUnknown(param) => Some(param),
            Self::ParamMissing(param)
            | Self::ParamType { param, .. }
            | Self::ValueInvalid { param, .. }
            | Self::EmailFormat(param)
            | Self::TimeFormat(param)
            | Self::IdentifierExists(param)
            | Self::VerificationNeeded(param) => Some(param),
            Self::UsernameLength | Self::UsernameCharacter => Some("username"),
            Self::PasswordTooShort => Some("password"),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "message": self.message(),
            "long_message": self.to_string(),
            "code": self.code(),
        });
        if let Some(param) = self.param() {
            error["meta"] = json!({ "param_name": param });
        }
        let body = json!({ "errors": [error], "clerk_trace_id": trace_id() });
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::Injected {
            retry_after_secs: Some(secs),
            ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

fn trace_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
