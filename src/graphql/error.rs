//! API errors: each carries `extensions.code`, and internal detail is logged
//! here, once, never returned.

use async_graphql::ErrorExtensions;

use crate::domain::values::FieldError;
use crate::users::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation { field: &'static str, message: String },
    #[error("user not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String, Option<u64>),
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "request failed");
        Self::Internal
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::Validation {
            message: format!("{} {}", error.field, error.message),
            field: error.field,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(e) => e.into(),
            ServiceError::NotFound => Self::NotFound,
            conflict @ ServiceError::Conflict { actual, .. } => {
                Self::Conflict(conflict.to_string(), Some(actual))
            }
            ServiceError::Internal(e) => Self::internal(format!("{e:#}")),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(error)
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| match self {
            Self::Validation { field, .. } => {
                ext.set("code", "VALIDATION");
                ext.set("field", *field);
            }
            Self::NotFound => ext.set("code", "NOT_FOUND"),
            Self::Conflict(_, current) => {
                ext.set("code", "CONFLICT");
                if let Some(version) = current {
                    ext.set("currentVersion", *version);
                }
            }
            Self::Internal => ext.set("code", "INTERNAL"),
        })
    }
}

/// Turns any error with an API meaning into a GraphQL error with its code.
/// (async-graphql's own `From<Display>` would drop the extensions.)
pub trait ApiResult<T> {
    fn api(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ApiError>> ApiResult<T> for Result<T, E> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().extend())
    }
}
