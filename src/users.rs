//! Admin operations on users: runs the command (the event store keeps unique
//! values claimed with it) and answers with the read-model row once the
//! projection has caught up.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::user::{ClerkPatch, ClerkProfile, LocalPatch, LocalProfile, UserCommand, UserError};
use crate::domain::values::FieldError;
use crate::projection::admin_users::{AdminUserRow, AdminUsers};
use crate::projection::ProjectionHandle;
use crate::store::{EventLog, EventMeta, ExecuteError};

/// How long a write waits for its own change to reach the read model before
/// answering with what the read model has.
const READ_YOUR_WRITE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("user not found")]
    NotFound,
    #[error("user was changed by someone else (version {actual}, expected {expected})")]
    Conflict { expected: u64, actual: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ExecuteError> for ServiceError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Rejected(UserError::NotFound) => Self::NotFound,
            ExecuteError::Rejected(UserError::VersionConflict { expected, actual }) => {
                Self::Conflict { expected, actual }
            }
            ExecuteError::Taken(kind) => Self::Invalid(FieldError::new(kind.field(), "is already used by another user")),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.into())
    }
}

pub struct UserService {
    log: Arc<EventLog>,
    read: AdminUsers,
    projection: ProjectionHandle,
}

impl UserService {
    pub fn new(log: Arc<EventLog>, read: AdminUsers, projection: ProjectionHandle) -> Self {
        Self {
            log,
            read,
            projection,
        }
    }

    pub async fn create(
        &self,
        clerk: ClerkProfile,
        local: LocalProfile,
        meta: &EventMeta,
    ) -> Result<AdminUserRow, ServiceError> {
        let id = uuid::Uuid::now_v7().to_string();
        let committed = self
            .log
            .execute(&id, UserCommand::Create { clerk, local }, meta)
            .await?;
        self.projected(&id, committed.last_sequence).await
    }

    pub async fn update(
        &self,
        id: &str,
        expected_version: Option<u64>,
        clerk: ClerkPatch,
        local: LocalPatch,
        meta: &EventMeta,
    ) -> Result<AdminUserRow, ServiceError> {
        let command = UserCommand::Update {
            expected_version,
            clerk,
            local,
        };
        let committed = self.log.execute(id, command, meta).await?;
        self.projected(id, committed.last_sequence).await
    }

    pub async fn delete(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &EventMeta,
    ) -> Result<(), ServiceError> {
        let committed = self
            .log
            .execute(id, UserCommand::Delete { expected_version }, meta)
            .await?;
        self.projected(id, committed.last_sequence).await?;
        Ok(())
    }

    /// The user's row once it reflects `sequence`.
    async fn projected(&self, id: &str, sequence: usize) -> Result<AdminUserRow, ServiceError> {
        let mut progress = self.projection.progress();
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITE;
        loop {
            let row = self.read.get(id).await?;
            if let Some(row) = row.as_ref().filter(|r| r.last_sequence >= sequence as i64) {
                return Ok(row.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    user.id = id,
                    "read model is behind; answering with its current row"
                );
                return row.ok_or(ServiceError::NotFound);
            }
            tokio::select! {
                _ = progress.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }
}
