//! Stored facts about a user. Each event carries the resulting state of the
//! fields it concerns, so readers never recompute it.
//!
//! Event types are stored names: never rename one, bump `event_version` instead.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::domain::values::SocialLink;

/// The fields Clerk owns and Tandem pushes to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkProfile {
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The fields that never leave Tandem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalProfile {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub roles: Vec<String>,
    pub social_links: Vec<SocialLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserEvent {
    UserCreated {
        clerk: ClerkProfile,
        local: LocalProfile,
        /// When the change was made: a later Clerk edit of the same field wins.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<DateTime<Utc>>,
    },
    /// Kept apart from local changes: only this kind is owed to Clerk.
    ClerkProfileChanged {
        clerk: ClerkProfile,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<DateTime<Utc>>,
    },
    LocalProfileChanged {
        local: LocalProfile,
    },
    UserDeleted {},
    /// Clerk now holds `clerk` (or, with `deleted`, no longer holds the user).
    ClerkSynced {
        clerk_id: Option<String>,
        clerk: ClerkProfile,
        deleted: bool,
        /// Clerk's `updated_at` (ms) for that state, when Clerk told us.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clerk_updated_at: Option<i64>,
    },
    /// A change made in Clerk, merged field by field with Tandem's: `clerk`
    /// is the result, `clerk_side` what Clerk holds.
    ClerkProfileReceived {
        clerk_id: String,
        clerk: ClerkProfile,
        clerk_side: ClerkProfile,
        clerk_updated_at: i64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conflicts: Vec<FieldConflict>,
    },
    /// An attempt failed in a way worth retrying; the next one is scheduled.
    ClerkSyncAttemptFailed {
        attempt: u32,
        error: String,
        next_retry_at: DateTime<Utc>,
    },
    /// Clerk refused the change, or retries ran out: an admin must act.
    ClerkSyncFailed {
        attempts: u32,
        error: String,
        code: Option<String>,
    },
}

/// A field both sides changed; the later change won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: String,
    pub winner: Side,
    pub kept: Option<String>,
    pub lost: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Tandem,
    Clerk,
}

impl UserEvent {
    /// Profile events change what an admin sees and count towards `version`;
    /// sync outcomes do not, so a sync never makes an admin's edit conflict.
    pub fn is_profile_change(&self) -> bool {
        matches!(
            self,
            Self::UserCreated { .. }
                | Self::ClerkProfileChanged { .. }
                | Self::ClerkProfileReceived { .. }
                | Self::LocalProfileChanged { .. }
                | Self::UserDeleted {}
        )
    }
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> String {
        match self {
            Self::UserCreated { .. } => "UserCreated",
            Self::ClerkProfileChanged { .. } => "ClerkProfileChanged",
            Self::LocalProfileChanged { .. } => "LocalProfileChanged",
            Self::UserDeleted {} => "UserDeleted",
            Self::ClerkSynced { .. } => "ClerkSynced",
            Self::ClerkProfileReceived { .. } => "ClerkProfileReceived",
            Self::ClerkSyncAttemptFailed { .. } => "ClerkSyncAttemptFailed",
            Self::ClerkSyncFailed { .. } => "ClerkSyncFailed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
