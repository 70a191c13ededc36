//! What admins can do to the sync: retry a user now, pause and resume, and
//! see how far behind Clerk is.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::jobs;
use super::pause;
use crate::db::Db;
use crate::projection::admin_users::{AdminUserRow, AdminUsers, ListFilter, SyncStatus};
use crate::projection::ProjectionHandle;

/// How long `retryClerkSync` waits for its attempt's outcome before answering.
const RETRY_WAIT: Duration = Duration::from_secs(15);

pub struct SyncControl {
    db: Db,
    read: AdminUsers,
    projection: ProjectionHandle,
    kick: watch::Sender<u64>,
}

pub struct Overview {
    pub synced: i64,
    pub pending: i64,
    pub failed: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    pub paused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("user not found")]
    NotFound,
    #[error("nothing to retry: Clerk already holds this user")]
    AlreadySynced,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl SyncControl {
    pub fn new(db: Db, read: AdminUsers, projection: ProjectionHandle) -> Self {
        Self {
            db,
            read,
            projection,
            kick: watch::channel(0).0,
        }
    }

    /// Changes whenever work became due outside the event feed.
    pub fn kicks(&self) -> watch::Receiver<u64> {
        self.kick.subscribe()
    }

    /// Makes the user's job due now and waits (a while) for the attempt's outcome.
    pub async fn retry(&self, user_id: &str) -> Result<AdminUserRow, RetryError> {
        let row = self
            .read
            .get(user_id)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or(RetryError::NotFound)?;
        if row.sync_status.0 == SyncStatus::Synced {
            return Err(RetryError::AlreadySynced);
        }
        let mut progress = self.projection.progress();
        jobs::retry_now(&self.db, user_id, Utc::now()).await?;
        self.kick.send_modify(|n| *n += 1);
        let deadline = tokio::time::Instant::now() + RETRY_WAIT;
        loop {
            let now = self
                .read
                .get(user_id)
                .await
                .map_err(anyhow::Error::from)?
                .ok_or(RetryError::NotFound)?;
            if now.last_sequence > row.last_sequence || tokio::time::Instant::now() >= deadline {
                return Ok(now);
            }
            tokio::select! {
                _ = progress.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }

    pub async fn set_paused(&self, paused: bool) -> anyhow::Result<()> {
        pause::set_paused(&self.db, paused).await?;
        self.kick.send_modify(|n| *n += 1);
        Ok(())
    }

    pub async fn overview(&self) -> anyhow::Result<Overview> {
        let count = |status| {
            let filter = ListFilter {
                sync_status: Some(status),
                include_deleted: true,
                ..Default::default()
            };
            async move { self.read.count(&filter).await }
        };
        Ok(Overview {
            synced: count(SyncStatus::Synced).await?,
            pending: count(SyncStatus::Pending).await?,
            failed: count(SyncStatus::Failed).await?,
            oldest_pending_at: jobs::oldest_pending(&self.db).await?,
            paused: pause::is_paused(&self.db).await?,
        })
    }
}
