//! Applies one Clerk user (or its deletion) to Tandem.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use cqrs_es::Aggregate;

use crate::clerk::model::ClerkUser;
use crate::db::Db;
use crate::domain::user::{ClerkProfile, UserCommand, UserError};
use crate::domain::values::{email_key, username_key};
use crate::on_db;
use crate::store::{ClaimKind, Claims, EventLog, EventMeta, ExecuteError, Origin};
use crate::users::{ServiceError, UserService};

pub const ACTOR: &str = "clerk";

/// What applying Clerk's state did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Created(String),
    Updated(String),
    /// Known user, nothing new: an echo, a duplicate or stale news.
    Unchanged(String),
    /// Nothing to apply, and never will be (e.g. a user deleted before we knew it).
    Ignored(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// Can never apply as it is (e.g. the email is held by another Tandem user).
    #[error("{0}")]
    Rejected(String),
    /// Worth trying again later.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ServiceError> for InboundError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(e) => Self::Rejected(e.to_string()),
            other => Self::Internal(anyhow::anyhow!(other)),
        }
    }
}

impl From<ExecuteError> for InboundError {
    fn from(error: ExecuteError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<sqlx::Error> for InboundError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.into())
    }
}

/// Clerk's user as Tandem's Clerk-owned fields; `None` without any email,
/// which Tandem requires.
pub fn profile_of(user: &ClerkUser) -> Option<ClerkProfile> {
    let email = user.primary_email().or_else(|| user.email_addresses.first())?;
    let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    Some(ClerkProfile {
        email: email.email_address.clone(),
        username: text(&user.username),
        first_name: text(&user.first_name),
        last_name: text(&user.last_name),
    })
}

pub struct InboundSync {
    db: Db,
    log: Arc<EventLog>,
    claims: Claims,
    users: Arc<UserService>,
}

impl InboundSync {
    pub fn new(db: Db, log: Arc<EventLog>, users: Arc<UserService>) -> Self {
        Self {
            claims: Claims::new(db.clone()),
            db,
            log,
            users,
        }
    }

    /// Applies Clerk's state of `user`. With `match_email`, a Clerk user not
    /// yet linked is matched to a live Tandem user with its email (import).
    /// A `snapshot` was fetched just now (import, reconcile) rather than
    /// delivered, possibly late, by a webhook.
    pub async fn observe(
        &self,
        user: &ClerkUser,
        match_email: bool,
        snapshot: bool,
    ) -> Result<Applied, InboundError> {
        let Some(profile) = profile_of(user) else {
            return Ok(Applied::Ignored("the Clerk user has no email address"));
        };
        let meta = EventMeta::new(ACTOR, Origin::Clerk, None);
        let by_email = match_email.then_some(profile.email.as_str());
        if let Some(id) = self.find(user, by_email).await? {
            return self.update(&id, user, profile, &meta, snapshot).await;
        }
        if self.is_tombstoned(&user.id).await? {
            return Ok(Applied::Ignored("deleted in Clerk before Tandem knew it"));
        }
        self.create(user, profile, &meta).await
    }

    /// Clerk deleted the user: delete it here too, with no push back.
    pub async fn deleted(&self, clerk_id: &str, external_id: Option<&str>) -> Result<Applied, InboundError> {
        let found = match external_id {
            Some(id) if self.log.load(id).await?.exists() => Some(id.to_owned()),
            _ => self.by_clerk_id(clerk_id).await?,
        };
        let Some(id) = found else {
            on_db!(&self.db, pool => sqlx::query(
                "INSERT INTO clerk_tombstones (clerk_id, deleted_at) VALUES ($1, $2) ON CONFLICT (clerk_id) DO NOTHING",
            )
            .bind(clerk_id)
            .bind(Utc::now().trunc_subsecs(6))
            .execute(pool)
            .await
            .map(drop))?;
            return Ok(Applied::Ignored("not known to Tandem"));
        };
        let meta = EventMeta::new(ACTOR, Origin::Clerk, None);
        let before = self.log.load(&id).await?;
        let committed = self
            .log
            .execute(
                &id,
                UserCommand::DeleteFromClerk {
                    clerk_id: clerk_id.to_owned(),
                },
                &meta,
            )
            .await?;
        let mut released = vec![(ClaimKind::Email, email_key(&before.clerk().email))];
        if let Some(username) = &before.clerk().username {
            released.push((ClaimKind::Username, username_key(username)));
        }
        self.users.release(&released, &id).await;
        Ok(if committed.events.is_empty() {
            Applied::Unchanged(id)
        } else {
            Applied::Updated(id)
        })
    }

    async fn find(&self, user: &ClerkUser, by_email: Option<&str>) -> Result<Option<String>, InboundError> {
        if let Some(external_id) = &user.external_id {
            if self.log.load(external_id).await?.exists() {
                return Ok(Some(external_id.clone()));
            }
        }
        if let Some(id) = self.by_clerk_id(&user.id).await? {
            return Ok(Some(id));
        }
        if let Some(email) = by_email {
            if let Some(holder) = self.claims.holder(ClaimKind::Email, &email_key(email)).await? {
                let local = self.log.load(&holder).await?;
                if local.is_live()
                    && local.clerk_id().is_none()
                    && email_key(&local.clerk().email) == email_key(email)
                {
                    return Ok(Some(holder));
                }
            }
        }
        Ok(None)
    }

    async fn by_clerk_id(&self, clerk_id: &str) -> Result<Option<String>, InboundError> {
        let Some(holder) = self.claims.holder(ClaimKind::ClerkId, clerk_id).await? else {
            return Ok(None);
        };
        let local = self.log.load(&holder).await?;
        Ok((local.clerk_id() == Some(clerk_id)).then_some(holder))
    }

    async fn is_tombstoned(&self, clerk_id: &str) -> Result<bool, InboundError> {
        let found: Option<String> = on_db!(&self.db, pool => sqlx::query_scalar("SELECT clerk_id FROM clerk_tombstones WHERE clerk_id = $1")
            .bind(clerk_id)
            .fetch_optional(pool)
            .await?);
        Ok(found.is_some())
    }

    async fn create(
        &self,
        user: &ClerkUser,
        profile: ClerkProfile,
        meta: &EventMeta,
    ) -> Result<Applied, InboundError> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut held = Vec::new();
        let outcome = async {
            self.users
                .claim(ClaimKind::ClerkId, &user.id, &id, &mut held)
                .await?;
            self.users
                .claim(ClaimKind::Email, &email_key(&profile.email), &id, &mut held)
                .await?;
            if let Some(username) = &profile.username {
                self.users
                    .claim(ClaimKind::Username, &username_key(username), &id, &mut held)
                    .await?;
            }
            let command = UserCommand::CreateFromClerk {
                clerk_id: user.id.clone(),
                clerk: profile,
                clerk_updated_at: user.updated_at,
            };
            self.log.execute(&id, command, meta).await?;
            Ok::<_, InboundError>(())
        }
        .await;
        match outcome {
            Ok(()) => Ok(Applied::Created(id)),
            Err(error) => {
                self.users.release(&held, &id).await;
                Err(match error {
                    // Another delivery of the same sign-up is creating it now.
                    InboundError::Rejected(reason) if reason.starts_with("clerkId") => {
                        InboundError::Internal(anyhow::anyhow!(
                            "Clerk user {} is being linked; try again",
                            user.id
                        ))
                    }
                    other => other,
                })
            }
        }
    }

    async fn update(
        &self,
        id: &str,
        user: &ClerkUser,
        profile: ClerkProfile,
        meta: &EventMeta,
        snapshot: bool,
    ) -> Result<Applied, InboundError> {
        let current = self.log.load(id).await?;
        let before = current.clerk().clone();
        let command = UserCommand::ReceiveFromClerk {
            clerk_id: user.id.clone(),
            clerk: profile,
            clerk_updated_at: user.updated_at,
            snapshot,
        };
        // Only values the merge will adopt are claimed, so Clerk's outvoted
        // values never block another user, even for a moment.
        let mut preview = current.clone();
        for event in current
            .decide(command.clone(), meta.occurred_at)
            .unwrap_or_default()
        {
            preview.apply(event);
        }
        let adopted = preview.clerk().clone();
        let mut held = Vec::new();
        let outcome = async {
            self.users
                .claim(ClaimKind::ClerkId, &user.id, id, &mut held)
                .await?;
            if current.is_live() {
                if email_key(&adopted.email) != email_key(&before.email) {
                    self.users
                        .claim(ClaimKind::Email, &email_key(&adopted.email), id, &mut held)
                        .await?;
                }
                let username = adopted.username.as_deref().map(username_key);
                if username.is_some() && username != before.username.as_deref().map(username_key) {
                    self.users
                        .claim(
                            ClaimKind::Username,
                            username.as_deref().unwrap_or_default(),
                            id,
                            &mut held,
                        )
                        .await?;
                }
            }
            match self.log.execute(id, command, meta).await {
                Ok(committed) => Ok::<_, InboundError>(committed),
                Err(ExecuteError::Rejected(UserError::NotFound)) => Err(InboundError::Internal(
                    anyhow::anyhow!("user {id} is not created yet"),
                )),
                Err(other) => Err(other.into()),
            }
        }
        .await;
        let committed = match outcome {
            Ok(committed) => committed,
            Err(error) => {
                // The Clerk id stays claimed: it does belong to this user.
                held.retain(|(kind, _)| *kind != ClaimKind::ClerkId);
                self.users.release(&held, id).await;
                return Err(error);
            }
        };
        let after = committed.user.clerk();
        let mut released = Vec::new();
        if email_key(&after.email) != email_key(&before.email) {
            released.push((ClaimKind::Email, email_key(&before.email)));
        }
        if let Some(old) = before.username.as_deref().map(username_key) {
            if after.username.as_deref().map(username_key).as_deref() != Some(old.as_str()) {
                released.push((ClaimKind::Username, old));
            }
        }
        self.users.release(&released, id).await;
        // Claimed but not taken (Tandem's value won): give those back too.
        let unused: Vec<_> = held
            .into_iter()
            .filter(|(kind, key)| match kind {
                ClaimKind::Email => *key != email_key(&after.email),
                ClaimKind::Username => {
                    Some(key.as_str()) != after.username.as_deref().map(username_key).as_deref()
                }
                ClaimKind::ClerkId => false,
            })
            .collect();
        self.users.release(&unused, id).await;
        Ok(if committed.events.is_empty() {
            Applied::Unchanged(id.to_owned())
        } else {
            Applied::Updated(id.to_owned())
        })
    }
}
