//! What an admin (or, later, Clerk) asks of a user. Commands hold parsed values only.

use crate::domain::values::{Email, SocialLink, Username};

use super::event::{ClerkProfile, LocalProfile};

#[derive(Debug, Clone)]
pub enum UserCommand {
    Create {
        clerk: ClerkProfile,
        local: LocalProfile,
    },
    /// One command for both field groups, so an edit of both is one commit.
    Update {
        expected_version: Option<u64>,
        clerk: ClerkPatch,
        local: LocalPatch,
    },
    Delete {
        expected_version: Option<u64>,
    },
    /// The sync saga reports what happened at Clerk.
    RecordSync(SyncOutcome),
    /// A user that exists only in Clerk so far (a sign-up, an import).
    CreateFromClerk {
        clerk_id: String,
        clerk: ClerkProfile,
        clerk_updated_at: i64,
    },
    /// Clerk's current state of a user we know, from a webhook, import or reconcile.
    ReceiveFromClerk {
        clerk_id: String,
        clerk: ClerkProfile,
        clerk_updated_at: i64,
        /// A snapshot fetched now (reconcile), not a delivery that may be late:
        /// every differing field is settled by edit time, whatever we last saw.
        snapshot: bool,
    },
    /// Clerk deleted the user: delete here too, and owe Clerk nothing.
    DeleteFromClerk {
        clerk_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Synced {
        clerk_id: Option<String>,
        clerk: ClerkProfile,
        deleted: bool,
        /// Clerk's `updated_at` (ms) from its last answer, if it gave one.
        clerk_updated_at: Option<i64>,
    },
    AttemptFailed {
        attempt: u32,
        error: String,
        next_retry_at: chrono::DateTime<chrono::Utc>,
    },
    Failed {
        attempts: u32,
        error: String,
        code: Option<String>,
    },
}

/// Changes to Clerk-owned fields; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ClerkPatch {
    pub email: Option<Email>,
    pub username: Option<Option<Username>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
}

impl ClerkPatch {
    pub fn applied_to(&self, current: &ClerkProfile) -> ClerkProfile {
        ClerkProfile {
            email: self
                .email
                .as_ref()
                .map_or_else(|| current.email.clone(), |e| e.as_str().to_owned()),
            username: match &self.username {
                Some(u) => u.clone().map(Username::into_string),
                None => current.username.clone(),
            },
            first_name: self
                .first_name
                .clone()
                .unwrap_or_else(|| current.first_name.clone()),
            last_name: self
                .last_name
                .clone()
                .unwrap_or_else(|| current.last_name.clone()),
        }
    }
}

/// Changes to local-only fields, with the same `Option` convention as [`ClerkPatch`].
#[derive(Debug, Clone, Default)]
pub struct LocalPatch {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub roles: Option<Vec<String>>,
    pub social_links: Option<Vec<SocialLink>>,
}

impl LocalPatch {
    pub fn applied_to(&self, current: &LocalProfile) -> LocalProfile {
        LocalProfile {
            display_name: self
                .display_name
                .clone()
                .unwrap_or_else(|| current.display_name.clone()),
            bio: self.bio.clone().unwrap_or_else(|| current.bio.clone()),
            roles: self.roles.clone().unwrap_or_else(|| current.roles.clone()),
            social_links: self
                .social_links
                .clone()
                .unwrap_or_else(|| current.social_links.clone()),
        }
    }
}
