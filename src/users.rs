//! Admin operations on users: runs the command (the event store keeps unique
//! values claimed with it) and answers with the read-model row once the
//! projection has caught up: handed over by the batch that wrote it, or read.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};

use crate::domain::user::{ClerkPatch, ClerkProfile, LocalPatch, LocalProfile, UserCommand, UserError};
use crate::domain::values::FieldError;
use crate::projection::admin_users::{AdminUserRow, AdminUsers, FreshRows};
use crate::projection::{Changed, ProjectionHandle};
use crate::store::{Committed, EventLog, EventMeta, ExecuteError};

/// How long a write waits for its own change to reach the read model before
/// answering with what the read model has.
const READ_YOUR_WRITE: Duration = Duration::from_secs(5);

/// Rows can also change without a batch announcing them (a start-up repair).
const LOOK_AGAIN: Duration = Duration::from_millis(100);

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
            ExecuteError::Taken(kind) => {
                Self::Invalid(FieldError::new(kind.field(), "is already used by another user"))
            }
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
    fresh: FreshRows,
}

impl UserService {
    pub fn new(log: Arc<EventLog>, read: AdminUsers, projection: ProjectionHandle, fresh: FreshRows) -> Self {
        Self {
            log,
            read,
            projection,
            fresh,
        }
    }

    pub async fn create(
        &self,
        clerk: ClerkProfile,
        local: LocalProfile,
        meta: &EventMeta,
    ) -> Result<AdminUserRow, ServiceError> {
        let id = uuid::Uuid::now_v7().to_string();
        let changes = self.projection.changes();
        let committed = self
            .log
            .execute_new(&id, UserCommand::Create { clerk, local }, meta)
            .await?;
        self.projected(&id, &committed, changes).await
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
        let changes = self.projection.changes();
        let committed = self.log.execute(id, command, meta).await?;
        self.projected(id, &committed, changes).await
    }

    pub async fn delete(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &EventMeta,
    ) -> Result<(), ServiceError> {
        let changes = self.projection.changes();
        let committed = self
            .log
            .execute(id, UserCommand::Delete { expected_version }, meta)
            .await?;
        self.projected(id, &committed, changes).await?;
        Ok(())
    }

    /// The user's row once it reflects what `committed` left: handed over by
    /// the batch that projects it, or read once that batch is announced
    /// (`changes` was subscribed before the commit, so it cannot slip by).
    async fn projected(
        &self,
        id: &str,
        committed: &Committed,
        mut changes: broadcast::Receiver<Changed>,
    ) -> Result<AdminUserRow, ServiceError> {
        let sequence = committed.last_sequence as i64;
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITE;
        // A command that changed nothing is projected already.
        let mut handed = (!committed.events.is_empty()).then(|| self.fresh.wait_for(id, sequence));
        let mut wait = handed.is_some();
        if wait {
            self.projection.hurry();
        }
        loop {
            if wait {
                match handed.as_mut() {
                    Some(handed) => {
                        tokio::select! {
                            Some(row) = handed.row() => return Ok(row),
                            () = next_batch_with(&mut changes, id, deadline) => {}
                        }
                        // Handed over by the batch just announced.
                        if let Some(row) = handed.try_row() {
                            return Ok(row);
                        }
                    }
                    None => next_batch_with(&mut changes, id, deadline).await,
                }
            }
            wait = true;
            let row = self.read.get(id).await?;
            if let Some(row) = row.as_ref().filter(|r| r.last_sequence >= sequence) {
                return Ok(row.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    user.id = id,
                    "read model is behind; answering with its current row"
                );
                return row.ok_or(ServiceError::NotFound);
            }
        }
    }
}

/// Returns once a batch touching `id` is announced, after too many batches to
/// tell, or after [`LOOK_AGAIN`] at the latest.
async fn next_batch_with(
    changes: &mut broadcast::Receiver<Changed>,
    id: &str,
    deadline: tokio::time::Instant,
) {
    let look_again = (tokio::time::Instant::now() + LOOK_AGAIN).min(deadline);
    loop {
        tokio::select! {
            changed = changes.recv() => match changed {
                Ok(changed) if !changed.ids.iter().any(|changed| changed == id) => continue,
                // No runner in this process (a one-off command).
                Err(RecvError::Closed) => {
                    tokio::time::sleep_until(look_again).await;
                    return;
                }
                // Touched this user, or too many batches to tell.
                _ => return,
            },
            () = tokio::time::sleep_until(look_again) => return,
        }
    }
}
