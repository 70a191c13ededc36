//! One admin-list row, how an event changes it, and how it is stored.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use cqrs_es::DomainEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::Tx;
use crate::domain::user::{ClerkProfile, LocalProfile, UserEvent};
use crate::domain::values::{email_key, username_key, SocialLink};
use crate::on_tx;
use crate::projection::StoredEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SyncStatus {
    /// Clerk holds what Tandem holds.
    Synced,
    /// A change is owed to Clerk: in flight or a retry is scheduled.
    Pending,
    /// Retries ran out or Clerk refused the change; needs an admin.
    Failed,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "SYNCED",
            Self::Pending => "PENDING",
            Self::Failed => "FAILED",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "SYNCED" => Self::Synced,
            "FAILED" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// A list stored as JSON text (the same column type on both databases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonList<T>(pub Vec<T>);

impl<T> Default for JsonList<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: DeserializeOwned> TryFrom<String> for JsonList<T> {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(Self)
    }
}

impl<T: Serialize> JsonList<T> {
    fn to_text(&self) -> String {
        serde_json::to_string(&self.0).expect("lists of strings serialize")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdminUserRow {
    pub id: String,
    pub clerk_id: Option<String>,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    #[sqlx(try_from = "String")]
    pub roles: JsonList<String>,
    #[sqlx(try_from = "String")]
    pub social_links: JsonList<SocialLink>,
    #[sqlx(try_from = "String")]
    pub sync_status: SyncStatusColumn,
    pub sync_error: Option<String>,
    pub sync_attempts: i64,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub last_sequence: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStatusColumn(pub SyncStatus);

impl From<String> for SyncStatusColumn {
    fn from(text: String) -> Self {
        Self(SyncStatus::parse(&text))
    }
}

pub const COLUMNS: &str = "id, clerk_id, email, username, first_name, last_name, display_name, bio, roles, \
    social_links, sync_status, sync_error, sync_attempts, next_retry_at, last_synced_at, version, \
    last_sequence, created_at, updated_at, deleted_at";

impl AdminUserRow {
    /// The row after `event`; `None` before the user's first event.
    pub fn apply(row: Option<Self>, event: &StoredEvent) -> anyhow::Result<Self> {
        let payload: UserEvent = serde_json::from_value(event.payload.clone())?;
        // Both databases keep microseconds: a row handed over as written
        // must equal the row read back.
        let at = event.occurred_at().trunc_subsecs(6);
        // Mirrors the aggregate's version: an outvoted Clerk change is not an edit.
        let profile_change = match (&payload, &row) {
            (UserEvent::ClerkProfileReceived { clerk, .. }, Some(row)) => *clerk != row.clerk_profile(),
            (other, _) => other.is_profile_change(),
        };
        let mut row = match (row, payload) {
            (None, UserEvent::UserCreated { clerk, local, .. }) => {
                let mut row = Self::blank(&event.aggregate_id, at);
                row.set_clerk(clerk);
                row.set_local(local);
                row.owe_clerk();
                row
            }
            (None, other) => anyhow::bail!(
                "user {} has {} before it was created",
                event.aggregate_id,
                other.event_type()
            ),
            (Some(_), UserEvent::UserCreated { .. }) => {
                anyhow::bail!("user {} created twice", event.aggregate_id)
            }
            (
                Some(mut row),
                UserEvent::ClerkProfileReceived {
                    clerk_id,
                    clerk,
                    clerk_side,
                    ..
                },
            ) => {
                let in_sync = clerk == clerk_side;
                row.set_clerk(clerk);
                row.clerk_id = Some(clerk_id);
                if in_sync {
                    row.mark_synced(at);
                } else {
                    row.owe_clerk();
                }
                row
            }
            (Some(mut row), UserEvent::ClerkProfileChanged { clerk, .. }) => {
                row.set_clerk(clerk);
                row.owe_clerk();
                row
            }
            (Some(mut row), UserEvent::LocalProfileChanged { local }) => {
                row.set_local(local);
                row
            }
            (Some(mut row), UserEvent::UserDeleted {}) => {
                row.deleted_at = Some(at);
                row.owe_clerk();
                row
            }
            (
                Some(mut row),
                UserEvent::ClerkSynced {
                    clerk_id,
                    clerk,
                    deleted,
                    ..
                },
            ) => {
                if clerk_id.is_some() {
                    row.clerk_id = clerk_id;
                }
                // A newer change may already be queued: only a match is SYNCED.
                if deleted == row.deleted_at.is_some() && (deleted || clerk == row.clerk_profile()) {
                    row.mark_synced(at);
                } else {
                    row.owe_clerk();
                }
                row
            }
            (
                Some(mut row),
                UserEvent::ClerkSyncAttemptFailed {
                    attempt,
                    error,
                    next_retry_at,
                },
            ) => {
                row.sync_status = SyncStatusColumn(SyncStatus::Pending);
                row.sync_error = Some(error);
                row.sync_attempts = i64::from(attempt);
                row.next_retry_at = Some(next_retry_at.trunc_subsecs(6));
                row
            }
            (Some(mut row), UserEvent::ClerkSyncFailed { attempts, error, .. }) => {
                row.sync_status = SyncStatusColumn(SyncStatus::Failed);
                row.sync_error = Some(error);
                row.sync_attempts = i64::from(attempts);
                row.next_retry_at = None;
                row
            }
        };
        if profile_change {
            row.version += 1;
            row.updated_at = at;
        }
        row.last_sequence = event.sequence;
        Ok(row)
    }

    pub fn clerk_profile(&self) -> ClerkProfile {
        ClerkProfile {
            email: self.email.clone(),
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
        }
    }

    pub(super) fn blank(id: &str, at: DateTime<Utc>) -> Self {
        Self {
            id: id.to_owned(),
            clerk_id: None,
            email: String::new(),
            username: None,
            first_name: None,
            last_name: None,
            display_name: None,
            bio: None,
            roles: JsonList::default(),
            social_links: JsonList::default(),
            sync_status: SyncStatusColumn(SyncStatus::Pending),
            sync_error: None,
            sync_attempts: 0,
            next_retry_at: None,
            last_synced_at: None,
            version: 0,
            last_sequence: 0,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    fn set_clerk(&mut self, clerk: ClerkProfile) {
        self.email = clerk.email;
        self.username = clerk.username;
        self.first_name = clerk.first_name;
        self.last_name = clerk.last_name;
    }

    fn set_local(&mut self, local: LocalProfile) {
        self.display_name = local.display_name;
        self.bio = local.bio;
        self.roles = JsonList(local.roles);
        self.social_links = JsonList(local.social_links);
    }

    fn mark_synced(&mut self, at: DateTime<Utc>) {
        self.sync_status = SyncStatusColumn(SyncStatus::Synced);
        self.sync_error = None;
        self.sync_attempts = 0;
        self.next_retry_at = None;
        self.last_synced_at = Some(at);
    }

    /// A change Clerk has not seen yet: the sync saga takes it from here.
    fn owe_clerk(&mut self) {
        self.sync_status = SyncStatusColumn(SyncStatus::Pending);
        self.sync_error = None;
        self.next_retry_at = None;
        self.sync_attempts = 0;
    }

    /// Lower-cased text that `search` matches against; fields are kept on
    /// separate lines so a match never spans two of them, except first and
    /// last name, which people type together.
    fn search_text(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        [
            self.email.as_str(),
            self.username.as_deref().unwrap_or(""),
            &name,
            self.display_name.as_deref().unwrap_or(""),
        ]
        .join("\n")
        .to_lowercase()
    }
}

/// Rows written per statement: 23 binds a row stays inside both databases' bind limits.
const ROWS_PER_STATEMENT: usize = 500;

/// The stored rows of `ids`, by id.
pub async fn load_many(tx: &mut Tx, ids: &[&str]) -> anyhow::Result<HashMap<String, AdminUserRow>> {
    let mut rows = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {COLUMNS} FROM admin_users WHERE id IN ({})",
            tx.placeholders(chunk.len(), 1)
        );
        let found: Vec<AdminUserRow> = on_tx!(tx, tx => {
            let mut query = sqlx::query_as(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.fetch_all(&mut **tx).await?
        });
        rows.extend(found.into_iter().map(|row| (row.id.clone(), row)));
    }
    Ok(rows)
}

/// A row's new state and the state it replaces, if any.
pub struct Change<'a> {
    pub row: &'a AdminUserRow,
    pub before: Option<&'a AdminUserRow>,
    /// The row begins here, from its user's first event: it has no roles
    /// stored yet, so none need deleting.
    pub first: bool,
}

/// Writes the changed rows, their roles and the per-status counts, a few
/// statements per batch rather than several per row.
pub async fn store_many(tx: &mut Tx, changes: &[Change<'_>]) -> anyhow::Result<()> {
    for chunk in changes.chunks(ROWS_PER_STATEMENT) {
        upsert(tx, chunk).await?;
    }
    let roles_changed: Vec<&Change<'_>> = changes
        .iter()
        .filter(|c| c.before.is_none_or(|b| b.roles != c.row.roles))
        .collect();
    for chunk in roles_changed.chunks(ROWS_PER_STATEMENT) {
        replace_roles(tx, chunk).await?;
    }
    let bucket = |r: &AdminUserRow| (r.sync_status.0.as_str(), i64::from(r.deleted_at.is_none()));
    let mut moves: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for change in changes {
        *moves.entry(bucket(change.row)).or_default() += 1;
        if let Some(before) = change.before {
            *moves.entry(bucket(before)).or_default() -= 1;
        }
    }
    moves.retain(|_, delta| *delta != 0);
    if moves.is_empty() {
        return Ok(());
    }
    // A handful of buckets at most, each named once: one statement.
    let sql = format!(
        "INSERT INTO admin_user_counts (sync_status, live, users) VALUES {}
         ON CONFLICT (sync_status, live) DO UPDATE SET users = admin_user_counts.users + excluded.users",
        tx.placeholders(moves.len(), 3)
    );
    on_tx!(tx, tx => {
        let mut query = sqlx::query(&sql);
        for ((status, live), delta) in moves {
            query = query.bind(status).bind(live).bind(delta);
        }
        query.execute(&mut **tx).await?;
    });
    Ok(())
}

async fn upsert(tx: &mut Tx, changes: &[Change<'_>]) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO admin_users (id, clerk_id, email, email_key, username, username_key, first_name,
            last_name, display_name, bio, roles, social_links, search_text, sync_status, sync_error,
            sync_attempts, next_retry_at, last_synced_at, version, last_sequence, created_at, updated_at,
            deleted_at)
        VALUES {}
        ON CONFLICT (id) DO UPDATE SET clerk_id = excluded.clerk_id, email = excluded.email,
            email_key = excluded.email_key, username = excluded.username, username_key = excluded.username_key,
            first_name = excluded.first_name, last_name = excluded.last_name,
            display_name = excluded.display_name, bio = excluded.bio, roles = excluded.roles,
            social_links = excluded.social_links, search_text = excluded.search_text,
            sync_status = excluded.sync_status, sync_error = excluded.sync_error,
            sync_attempts = excluded.sync_attempts, next_retry_at = excluded.next_retry_at,
            last_synced_at = excluded.last_synced_at, version = excluded.version,
            last_sequence = excluded.last_sequence, created_at = excluded.created_at,
            updated_at = excluded.updated_at, deleted_at = excluded.deleted_at",
        tx.placeholders(changes.len(), 23)
    );
    on_tx!(tx, tx => {
        let mut query = sqlx::query(&sql);
        for Change { row, .. } in changes {
            query = query
                .bind(&row.id)
                .bind(&row.clerk_id)
                .bind(&row.email)
                .bind(email_key(&row.email))
                .bind(&row.username)
                .bind(row.username.as_deref().map(username_key).unwrap_or_default())
                .bind(&row.first_name)
                .bind(&row.last_name)
                .bind(&row.display_name)
                .bind(&row.bio)
                .bind(row.roles.to_text())
                .bind(row.social_links.to_text())
                .bind(row.search_text())
                .bind(row.sync_status.0.as_str())
                .bind(&row.sync_error)
                .bind(row.sync_attempts)
                .bind(row.next_retry_at)
                .bind(row.last_synced_at)
                .bind(row.version)
                .bind(row.last_sequence)
                .bind(row.created_at)
                .bind(row.updated_at)
                .bind(row.deleted_at);
        }
        query.execute(&mut **tx).await?;
    });
    Ok(())
}

async fn replace_roles(tx: &mut Tx, changes: &[&Change<'_>]) -> anyhow::Result<()> {
    let stale: Vec<&str> = changes
        .iter()
        .filter(|c| !c.first)
        .map(|c| c.row.id.as_str())
        .collect();
    let delete = format!(
        "DELETE FROM admin_user_roles WHERE user_id IN ({})",
        tx.placeholders(stale.len(), 1)
    );
    let pairs: Vec<(&str, &str)> = changes
        .iter()
        .flat_map(|c| {
            c.row
                .roles
                .0
                .iter()
                .map(|role| (role.as_str(), c.row.id.as_str()))
        })
        .collect();
    let inserts: Vec<(String, &[(&str, &str)])> = pairs
        .chunks(ROWS_PER_STATEMENT)
        .map(|chunk| {
            let values = tx.placeholders(chunk.len(), 2);
            (
                format!("INSERT INTO admin_user_roles (role, user_id) VALUES {values}"),
                chunk,
            )
        })
        .collect();
    on_tx!(tx, tx => {
        if !stale.is_empty() {
            let mut query = sqlx::query(&delete);
            for id in &stale {
                query = query.bind(*id);
            }
            query.execute(&mut **tx).await?;
        }
        for (insert, chunk) in &inserts {
            let mut query = sqlx::query(insert);
            for (role, id) in chunk.iter() {
                query = query.bind(*role).bind(*id);
            }
            query.execute(&mut **tx).await?;
        }
    });
    Ok(())
}
