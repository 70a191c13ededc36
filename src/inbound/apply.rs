//! Applies one Clerk user (or its deletion) to Tandem.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};

use super::receipts::{Delivery, Receipt};
use super::sign_up::SignUp;
use crate::clerk::model::ClerkUser;
use crate::db::Db;
use crate::domain::user::{ClerkProfile, UserCommand, UserError};
use crate::domain::values::email_key;
use crate::on_db;
use crate::store::{holder, ClaimKind, Committed, EventLog, EventMeta, ExecuteError, Loaded, Origin};
use crate::users::ServiceError;

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
    /// This delivery was applied before: its receipt is kept.
    Duplicate,
}

impl Applied {
    /// A creation or an update committed events, and with them the
    /// delivery's receipt; the other outcomes leave it to the caller.
    pub fn recorded(&self) -> bool {
        matches!(self, Self::Created(_) | Self::Updated(_))
    }
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
        match error {
            ExecuteError::Taken(_) => ServiceError::from(error).into(),
            other => Self::Internal(other.into()),
        }
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

/// What Tandem knows of a Clerk id, and of the delivery that names it.
struct Known {
    /// The user that claimed it, if any.
    holder: Option<String>,
    /// Clerk deleted it before Tandem knew it.
    tombstoned: bool,
    /// The delivery's receipt is kept: it was applied before.
    seen: bool,
}

/// A Tandem user found for a Clerk user, as loaded to find it.
struct Linked {
    id: String,
    loaded: Loaded,
}

/// Where [`InboundSync::find`] found Clerk's user.
enum Found {
    User(Box<Linked>),
    Nobody {
        tombstoned: bool,
    },
    /// The delivery was applied before.
    Seen,
}

pub struct InboundSync {
    db: Db,
    log: Arc<EventLog>,
}

impl InboundSync {
    pub fn new(db: Db, log: Arc<EventLog>) -> Self {
        Self { db, log }
    }

    /// Applies Clerk's state of `user`. With `match_email`, a Clerk user not
    /// yet linked is matched to a live Tandem user with its email (import).
    /// A `snapshot` was fetched just now (import, reconcile) rather than
    /// delivered, possibly late, by a webhook. A webhook's `delivery` has its
    /// receipt written with the events it leads to, if any (see [`Applied::recorded`]).
    pub async fn observe(
        &self,
        user: &ClerkUser,
        match_email: bool,
        snapshot: bool,
        delivery: Option<&Delivery>,
    ) -> Result<Applied, InboundError> {
        let Some(profile) = profile_of(user) else {
            return Ok(Applied::Ignored("the Clerk user has no email address"));
        };
        let meta = EventMeta::new(ACTOR, Origin::Clerk, None);
        let sign_up = delivery.filter(|d| d.event_type == "user.created" && user.external_id.is_none());
        if let (Some(delivery), false) = (sign_up, match_email) {
            if let Some(applied) = self.sign_up(user, &profile, &meta, delivery).await? {
                return Ok(applied);
            }
        }
        let by_email = match_email.then_some(profile.email.as_str());
        match self.find(user, by_email, delivery).await? {
            Found::User(linked) => {
                self.update(*linked, user, profile, &meta, snapshot, delivery)
                    .await
            }
            Found::Seen => Ok(Applied::Duplicate),
            Found::Nobody { tombstoned: true } => {
                Ok(Applied::Ignored("deleted in Clerk before Tandem knew it"))
            }
            Found::Nobody { tombstoned: false } => self.create(user, profile, &meta, delivery).await,
        }
    }

    /// Clerk deleted the user: delete it here too, with no push back.
    pub async fn deleted(
        &self,
        clerk_id: &str,
        external_id: Option<&str>,
        delivery: Option<&Delivery>,
    ) -> Result<Applied, InboundError> {
        let found = match external_id {
            Some(id) if self.log.load(id).await?.exists() => Some(id.to_owned()),
            _ => self
                .linked(self.known(clerk_id, None).await?.holder, clerk_id)
                .await?
                .map(|linked| linked.id),
        };
        let Some(id) = found else {
            let _turn = self.db.write_turn().await;
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
        let command = UserCommand::DeleteFromClerk {
            clerk_id: clerk_id.to_owned(),
        };
        let committed = self.run(&id, command, &meta, None, delivery).await?;
        Ok(if committed.events.is_empty() {
            Applied::Unchanged(id)
        } else {
            Applied::Updated(id)
        })
    }

    /// Runs `command` on user `id`, decided on `known` when given (an empty
    /// user for an id generated just now), writing the delivery's receipt
    /// with its events.
    async fn run(
        &self,
        id: &str,
        command: UserCommand,
        meta: &EventMeta,
        known: Option<Loaded>,
        delivery: Option<&Delivery>,
    ) -> Result<Committed, ExecuteError> {
        let applied = if known.as_ref().is_some_and(|k| k.sequence == 0) {
            Applied::Created(id.to_owned())
        } else {
            Applied::Updated(id.to_owned())
        };
        let receipt = delivery.map(|delivery| Receipt {
            delivery: delivery.clone(),
            outcome: format!("{applied:?}"),
            new: false,
        });
        let alongside = receipt.as_ref().map(|r| r as &dyn crate::store::Alongside);
        self.log.execute_with(id, command, meta, known, alongside).await
    }

    /// Our user for Clerk's `user`. A user made in Clerk has no external id,
    /// so the first lookup is by Clerk id, and it also reads the delivery's
    /// receipt (which the caller checks first when there is an external id).
    async fn find(
        &self,
        user: &ClerkUser,
        by_email: Option<&str>,
        delivery: Option<&Delivery>,
    ) -> Result<Found, InboundError> {
        if let Some(external_id) = &user.external_id {
            let loaded = self.log.load_versioned(external_id).await?;
            if loaded.user.exists() {
                return Ok(Found::User(Box::new(Linked {
                    id: external_id.clone(),
                    loaded: loaded.for_this_command(),
                })));
            }
        }
        // With an external id the caller has read the receipt already.
        let unchecked = delivery.filter(|_| user.external_id.is_none());
        let known = self.known(&user.id, unchecked).await?;
        if known.seen {
            return Ok(Found::Seen);
        }
        if let Some(linked) = self.linked(known.holder, &user.id).await? {
            return Ok(Found::User(Box::new(linked)));
        }
        if let Some(email) = by_email {
            if let Some(holder) = holder(&self.db, ClaimKind::Email, &email_key(email)).await? {
                let loaded = self.log.load_versioned(&holder).await?;
                let local = &loaded.user;
                if local.is_live()
                    && local.clerk_id().is_none()
                    && email_key(&local.clerk().email) == email_key(email)
                {
                    return Ok(Found::User(Box::new(Linked {
                        id: holder,
                        loaded: loaded.for_this_command(),
                    })));
                }
            }
        }
        Ok(Found::Nobody {
            tombstoned: known.tombstoned,
        })
    }

    /// All asked at once: a sign-up (the most common webhook) needs every answer.
    async fn known(&self, clerk_id: &str, delivery: Option<&Delivery>) -> Result<Known, InboundError> {
        let (holder, tombstoned, seen) = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT (SELECT user_id FROM identity_claims WHERE kind = $1 AND value = $2),
                    EXISTS (SELECT 1 FROM clerk_tombstones WHERE clerk_id = $2),
                    EXISTS (SELECT 1 FROM webhook_receipts WHERE svix_id = $3)",
        )
        .bind(ClaimKind::ClerkId.as_str())
        .bind(clerk_id)
        .bind(delivery.map(|d| d.svix_id.as_str()))
        .fetch_one(pool)
        .await?);
        Ok(Known {
            holder,
            tombstoned,
            seen,
        })
    }

    /// `holder` of a Clerk id, as loaded, if its user still has that id.
    async fn linked(&self, holder: Option<String>, clerk_id: &str) -> Result<Option<Linked>, InboundError> {
        let Some(holder) = holder else {
            return Ok(None);
        };
        let loaded = self.log.load_versioned(&holder).await?;
        Ok((loaded.user.clerk_id() == Some(clerk_id)).then(|| Linked {
            id: holder,
            loaded: loaded.for_this_command(),
        }))
    }

    /// Commits a sign-up without looking it up first (see [`super::sign_up`]);
    /// `None` when a condition failed and the lookup must decide.
    async fn sign_up(
        &self,
        user: &ClerkUser,
        profile: &ClerkProfile,
        meta: &EventMeta,
        delivery: &Delivery,
    ) -> Result<Option<Applied>, InboundError> {
        let id = uuid::Uuid::now_v7().to_string();
        let command = UserCommand::CreateFromClerk {
            clerk_id: user.id.clone(),
            clerk: profile.clone(),
            clerk_updated_at: user.updated_at,
        };
        let applied = Applied::Created(id.clone());
        let guarded = SignUp {
            clerk_id: &user.id,
            receipt: Receipt {
                delivery: delivery.clone(),
                outcome: format!("{applied:?}"),
                new: true,
            },
        };
        match self
            .log
            .execute_with(&id, command, meta, Some(Loaded::new_user()), Some(&guarded))
            .await
        {
            Ok(_) => Ok(Some(applied)),
            Err(ExecuteError::Unmet(_) | ExecuteError::Taken(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn create(
        &self,
        user: &ClerkUser,
        profile: ClerkProfile,
        meta: &EventMeta,
        delivery: Option<&Delivery>,
    ) -> Result<Applied, InboundError> {
        let id = uuid::Uuid::now_v7().to_string();
        let command = UserCommand::CreateFromClerk {
            clerk_id: user.id.clone(),
            clerk: profile,
            clerk_updated_at: user.updated_at,
        };
        match self
            .run(&id, command, meta, Some(Loaded::new_user()), delivery)
            .await
        {
            Ok(_) => Ok(Applied::Created(id)),
            // Another delivery of the same sign-up is creating it now.
            Err(ExecuteError::Taken(ClaimKind::ClerkId)) => Err(InboundError::Internal(anyhow::anyhow!(
                "Clerk user {} is being linked; try again",
                user.id
            ))),
            Err(error) => Err(error.into()),
        }
    }

    async fn update(
        &self,
        Linked { id, loaded }: Linked,
        user: &ClerkUser,
        profile: ClerkProfile,
        meta: &EventMeta,
        snapshot: bool,
        delivery: Option<&Delivery>,
    ) -> Result<Applied, InboundError> {
        // Only values the merge adopts are claimed (the event store claims
        // what the new state holds), so Clerk's outvoted values never block
        // another user, even for a moment.
        let command = UserCommand::ReceiveFromClerk {
            clerk_id: user.id.clone(),
            clerk: profile,
            clerk_updated_at: user.updated_at,
            snapshot,
        };
        let committed = match self.run(&id, command, meta, Some(loaded), delivery).await {
            Ok(committed) => committed,
            Err(ExecuteError::Rejected(UserError::NotFound)) => {
                return Err(InboundError::Internal(anyhow::anyhow!(
                    "user {id} is not created yet"
                )))
            }
            Err(other) => return Err(other.into()),
        };
        Ok(if committed.events.is_empty() {
            Applied::Unchanged(id)
        } else {
            Applied::Updated(id)
        })
    }
}
