//! The Clerk sync as the API shows it: an overview, retry, pause and resume.

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::error::{ApiError, ApiResult};
use super::user::UserNode;
use super::ApiServices;
use crate::sync::{Overview, RetryError};

#[derive(SimpleObject)]
pub struct SyncOverview {
    pub synced: i64,
    pub pending: i64,
    pub failed: i64,
    /// When the oldest change Clerk has not yet got was made.
    pub oldest_pending_at: Option<DateTime<Utc>>,
    pub oldest_pending_age_seconds: Option<f64>,
    /// While paused, changes wait as `PENDING` and nothing is sent to Clerk.
    pub paused: bool,
}

impl From<Overview> for SyncOverview {
    fn from(o: Overview) -> Self {
        Self {
            synced: o.synced,
            pending: o.pending,
            failed: o.failed,
            oldest_pending_age_seconds: o
                .oldest_pending_at
                .map(|at| (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0),
            oldest_pending_at: o.oldest_pending_at,
            paused: o.paused,
        }
    }
}

impl From<RetryError> for ApiError {
    fn from(error: RetryError) -> Self {
        match error {
            RetryError::NotFound => Self::NotFound,
            RetryError::AlreadySynced => Self::Validation {
                field: "id",
                message: error.to_string(),
            },
            RetryError::Internal(e) => Self::internal(format!("{e:#}")),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(format!("{error:#}"))
    }
}

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// Users per sync status, the age of the oldest pending change, and the pause switch.
    async fn sync_overview(&self, ctx: &Context<'_>) -> async_graphql::Result<SyncOverview> {
        let services = ctx.data::<ApiServices>()?;
        Ok(services.sync.overview().await.api()?.into())
    }
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Attempts the user's Clerk sync now (on `FAILED` or `PENDING` users) and
    /// answers with the user after that attempt.
    async fn retry_clerk_sync(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<UserNode> {
        let services = ctx.data::<ApiServices>()?;
        Ok(UserNode(services.sync.retry(&id).await.api()?))
    }

    /// Stops sending changes to Clerk, on every replica, until resumed; survives restarts.
    async fn pause_clerk_sync(&self, ctx: &Context<'_>) -> async_graphql::Result<SyncOverview> {
        let services = ctx.data::<ApiServices>()?;
        services.sync.set_paused(true).await.api()?;
        Ok(services.sync.overview().await.api()?.into())
    }

    async fn resume_clerk_sync(&self, ctx: &Context<'_>) -> async_graphql::Result<SyncOverview> {
        let services = ctx.data::<ApiServices>()?;
        services.sync.set_paused(false).await.api()?;
        Ok(services.sync.overview().await.api()?.into())
    }
}
