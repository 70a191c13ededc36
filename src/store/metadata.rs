//! Who did what, from where, and when: stored beside every event.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::MetadataMap;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Origin {
    /// An admin, through the panel or the GraphQL API.
    Admin,
    /// Clerk, through a webhook, an import or reconciliation.
    Clerk,
    /// Tandem itself, e.g. the sync saga.
    System,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Clerk => "CLERK",
            Self::System => "SYSTEM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    pub actor: String,
    pub origin: Origin,
    pub request_id: Option<String>,
    /// Microsecond precision, the finest both databases keep.
    pub occurred_at: DateTime<Utc>,
}

impl EventMeta {
    pub fn new(actor: impl Into<String>, origin: Origin, request_id: Option<String>) -> Self {
        Self {
            actor: actor.into(),
            origin,
            request_id,
            occurred_at: Utc::now().trunc_subsecs(6),
        }
    }

    pub fn to_map(&self) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("actor".into(), self.actor.clone());
        map.insert("origin".into(), self.origin.as_str().into());
        map.insert("occurred_at".into(), self.occurred_at.to_rfc3339());
        if let Some(id) = &self.request_id {
            map.insert("request_id".into(), id.clone());
        }
        map
    }

    /// Reads stored metadata; missing keys fall back rather than fail, so old
    /// or hand-written events stay readable.
    pub fn from_map(map: &MetadataMap) -> Self {
        let origin = match map.get("origin").map(String::as_str) {
            Some("CLERK") => Origin::Clerk,
            Some("SYSTEM") => Origin::System,
            _ => Origin::Admin,
        };
        Self {
            actor: map.get("actor").cloned().unwrap_or_else(|| "unknown".into()),
            origin,
            request_id: map.get("request_id").cloned(),
            occurred_at: map
                .get("occurred_at")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc)),
        }
    }
}
