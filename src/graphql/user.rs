//! The `User` type as the API shows it: a read-model row, plus its history
//! read from the event store on demand.

use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};

use super::error::{ApiError, ApiResult};
use super::history::{history, HistoryEntry};
use super::ApiServices;
use crate::domain::values::SocialLink;
use crate::projection::admin_users::{AdminUserRow, SyncStatus};

pub struct UserNode(pub AdminUserRow);

// `serial`: every field but `history` is read from the row in hand, so
// resolving a user's fields one after another spares each field the
// concurrent executor's task (5 % of the CPU of a 50-user page); the users
// of a page, and so their histories, still resolve concurrently.
#[Object(name = "User", serial)]
impl UserNode {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Clerk's id for this user, once Clerk has it.
    async fn clerk_id(&self) -> Option<&str> {
        self.0.clerk_id.as_deref()
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }

    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }

    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }

    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }

    async fn bio(&self) -> Option<&str> {
        self.0.bio.as_deref()
    }

    async fn roles(&self) -> &[String] {
        &self.0.roles.0
    }

    async fn social_links(&self) -> &[SocialLink] {
        &self.0.social_links.0
    }

    async fn sync_status(&self) -> SyncStatus {
        self.0.sync_status.0
    }

    /// Clerk's reason for the last failure, while the user is `FAILED` or retrying.
    async fn sync_error(&self) -> Option<&str> {
        self.0.sync_error.as_deref()
    }

    /// Attempts made for the change now pending or failed; 0 once synced.
    async fn sync_attempts(&self) -> i64 {
        self.0.sync_attempts
    }

    async fn next_retry_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_retry_at
    }

    async fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_synced_at
    }

    /// Pass it back as `expectedVersion` to update only what you have seen.
    async fn version(&self) -> i64 {
        self.0.version
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }

    /// Every change to this user, oldest first: the audit log.
    #[graphql(complexity = 50)]
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEntry>> {
        let services = ctx.data::<ApiServices>()?;
        let events = services
            .log
            .events(&self.0.id)
            .await
            .map_err(ApiError::internal)
            .api()?;
        Ok(history(&events))
    }
}
