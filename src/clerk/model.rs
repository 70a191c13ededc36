//! Clerk's JSON shapes (Backend API version 2026-05-12), as far as Tandem
//! reads them. Unknown fields are ignored, so Clerk may add to them freely.

use serde::{Deserialize, Serialize};

/// The `Clerk-API-Version` Tandem speaks; the spec in `shared/clerk` is this version.
pub const API_VERSION: &str = "2026-05-12";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkUser {
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub primary_email_address_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email_addresses: Vec<ClerkEmailAddress>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
}

impl ClerkUser {
    pub fn primary_email(&self) -> Option<&ClerkEmailAddress> {
        let primary = self.primary_email_address_id.as_deref()?;
        self.email_addresses
            .iter()
            .find(|e| e.id.as_deref() == Some(primary))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkEmailAddress {
    #[serde(default)]
    pub id: Option<String>,
    pub email_address: String,
}

/// `DELETE` answers with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedObject {
    pub object: String,
    #[serde(default)]
    pub id: Option<String>,
    pub deleted: bool,
}

/// Clerk's error body: `{"errors": [...], "clerk_trace_id": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkErrors {
    pub errors: Vec<ClerkErrorItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk_trace_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkErrorItem {
    pub message: String,
    pub long_message: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}
