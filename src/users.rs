//! Admin operations on users: claims unique values, runs the command, and
//! answers with the read-model row once the projection has caught up.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::user::{ClerkPatch, ClerkProfile, LocalPatch, LocalProfile, User, UserCommand, UserError};
use crate::domain::values::{email_key, username_key, FieldError};
use crate::projection::admin_users::{AdminUserRow, AdminUsers};
use crate::projection::ProjectionHandle;
use crate::store::{ClaimKind, Claims, EventLog, EventMeta, ExecuteError, Holder};

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
    claims: Claims,
    read: AdminUsers,
    projection: ProjectionHandle,
}

impl UserService {
    pub fn new(log: Arc<EventLog>, claims: Claims, read: AdminUsers, projection: ProjectionHandle) -> Self {
        Self {
            log,
            claims,
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
        let mut held = Vec::new();
        let outcome = async {
            self.claim(ClaimKind::Email, &email_key(&clerk.email), &id, &mut held)
                .await?;
            if let Some(username) = &clerk.username {
                self.claim(ClaimKind::Username, &username_key(username), &id, &mut held)
                    .await?;
            }
            Ok::<_, ServiceError>(
                self.log
                    .execute(&id, UserCommand::Create { clerk, local }, meta)
                    .await?,
            )
        }
        .await;
        match outcome {
            Ok(committed) => self.projected(&id, committed.last_sequence).await,
            Err(error) => {
                self.release(&held, &id).await;
                Err(error)
            }
        }
    }

    pub async fn update(
        &self,
        id: &str,
        expected_version: Option<u64>,
        clerk: ClerkPatch,
        local: LocalPatch,
        meta: &EventMeta,
    ) -> Result<AdminUserRow, ServiceError> {
        let current = self.log.load(id).await?;
        if !current.is_live() {
            return Err(ServiceError::NotFound);
        }
        let before = current.clerk().clone();
        let after = clerk.applied_to(&before);
        let mut held = Vec::new();
        let outcome = async {
            if email_key(&after.email) != email_key(&before.email) {
                self.claim(ClaimKind::Email, &email_key(&after.email), id, &mut held)
                    .await?;
            }
            let new_username = after.username.as_deref().map(username_key);
            if new_username.is_some() && new_username != before.username.as_deref().map(username_key) {
                self.claim(
                    ClaimKind::Username,
                    new_username.as_deref().unwrap_or_default(),
                    id,
                    &mut held,
                )
                .await?;
            }
            let command = UserCommand::Update {
                expected_version,
                clerk,
                local,
            };
            Ok::<_, ServiceError>(self.log.execute(id, command, meta).await?)
        }
        .await;
        match outcome {
            Ok(committed) => {
                // Old values are given back eagerly; a claim left behind by a
                // crash here is taken over later, since its holder no longer uses it.
                let mut released = Vec::new();
                if email_key(&after.email) != email_key(&before.email) {
                    released.push((ClaimKind::Email, email_key(&before.email)));
                }
                if let Some(old) = before.username.as_deref().map(username_key) {
                    if after.username.as_deref().map(username_key).as_deref() != Some(old.as_str()) {
                        released.push((ClaimKind::Username, old));
                    }
                }
                self.release(&released, id).await;
                self.projected(id, committed.last_sequence).await
            }
            Err(error) => {
                self.release(&held, id).await;
                Err(error)
            }
        }
    }

    pub async fn delete(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &EventMeta,
    ) -> Result<(), ServiceError> {
        let user = self.log.load(id).await?;
        let committed = self
            .log
            .execute(id, UserCommand::Delete { expected_version }, meta)
            .await?;
        let mut released = vec![(ClaimKind::Email, email_key(&user.clerk().email))];
        if let Some(username) = &user.clerk().username {
            released.push((ClaimKind::Username, username_key(username)));
        }
        self.release(&released, id).await;
        self.projected(id, committed.last_sequence).await?;
        Ok(())
    }

    pub(crate) async fn claim(
        &self,
        kind: ClaimKind,
        key: &str,
        user_id: &str,
        held: &mut Vec<(ClaimKind, String)>,
    ) -> Result<(), ServiceError> {
        let log = &self.log;
        let claimed = self
            .claims
            .claim(kind, key, user_id, |holder| async move {
                let user = log.load(&holder).await?;
                Ok(holder_standing(&user, kind, key))
            })
            .await?;
        if !claimed {
            let field = match kind {
                ClaimKind::Email => "email",
                ClaimKind::Username => "username",
                ClaimKind::ClerkId => "clerkId",
            };
            return Err(FieldError::new(field, "is already used by another user").into());
        }
        held.push((kind, key.to_owned()));
        Ok(())
    }

    pub(crate) async fn release(&self, claims: &[(ClaimKind, String)], user_id: &str) {
        for (kind, key) in claims {
            if let Err(error) = self.claims.release(*kind, key, user_id).await {
                tracing::warn!(user.id = user_id, error = %error, "could not release a claim; it will be taken over later");
            }
        }
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

/// How the user holding a claim stands towards it. A Clerk id stays with its
/// user even after deletion, so late Clerk news finds the deleted user.
pub fn holder_standing(user: &User, kind: ClaimKind, key: &str) -> Holder {
    if !user.exists() {
        return Holder::Unknown;
    }
    let (current, needs_live) = match kind {
        ClaimKind::Email => (Some(email_key(&user.clerk().email)), true),
        ClaimKind::Username => (user.clerk().username.as_deref().map(username_key), true),
        ClaimKind::ClerkId => (user.clerk_id().map(str::to_owned), false),
    };
    if (user.is_live() || !needs_live) && current.as_deref() == Some(key) {
        Holder::Uses
    } else {
        Holder::Released
    }
}
