//! A user's events as an audit log: what changed, from what to what, who and
//! where from. Old values come from folding the events in order.

use async_graphql::{Json, SimpleObject};
use chrono::{DateTime, Utc};
use cqrs_es::{DomainEvent, EventEnvelope};
use serde_json::{json, Value};

use crate::domain::user::{ClerkProfile, LocalProfile, Side, User, UserEvent};
use crate::store::{EventMeta, Origin};

#[derive(SimpleObject)]
pub struct HistoryEntry {
    /// Position in this user's event stream, from 1.
    sequence: i64,
    /// The stored event type, e.g. `ClerkProfileChanged`.
    #[graphql(name = "type")]
    event_type: String,
    occurred_at: DateTime<Utc>,
    origin: Origin,
    actor: String,
    request_id: Option<String>,
    changes: Vec<FieldChange>,
    /// For sync events: what happened at Clerk, e.g. its error message.
    detail: Option<String>,
}

#[derive(SimpleObject)]
pub struct FieldChange {
    /// The API name of the field, e.g. `firstName`.
    field: String,
    old_value: Option<Json<Value>>,
    new_value: Option<Json<Value>>,
}

fn fields(clerk: &ClerkProfile, local: &LocalProfile) -> [(&'static str, Value); 8] {
    [
        ("email", json!(clerk.email)),
        ("username", json!(clerk.username)),
        ("firstName", json!(clerk.first_name)),
        ("lastName", json!(clerk.last_name)),
        ("displayName", json!(local.display_name)),
        ("bio", json!(local.bio)),
        ("roles", json!(local.roles)),
        ("socialLinks", json!(local.social_links)),
    ]
}

fn as_option(value: Value) -> Option<Json<Value>> {
    let empty = value.is_null() || value.as_str() == Some("") || value.as_array().is_some_and(Vec::is_empty);
    (!empty).then_some(Json(value))
}

pub fn history(events: &[EventEnvelope<User>]) -> Vec<HistoryEntry> {
    let mut clerk = ClerkProfile::default();
    let mut local = LocalProfile::default();
    events
        .iter()
        .map(|envelope| {
            let meta = EventMeta::from_map(&envelope.metadata);
            let before = fields(&clerk, &local);
            let mut changes = Vec::new();
            let mut detail = None;
            match &envelope.payload {
                UserEvent::UserCreated {
                    clerk: c, local: l, ..
                } => {
                    clerk = c.clone();
                    local = l.clone();
                }
                UserEvent::ClerkProfileChanged { clerk: c, .. } => clerk = c.clone(),
                UserEvent::ClerkProfileReceived {
                    clerk: c, conflicts, ..
                } => {
                    clerk = c.clone();
                    if !conflicts.is_empty() {
                        let lines: Vec<String> = conflicts
                            .iter()
                            .map(|c| {
                                let show = |v: &Option<String>| {
                                    v.as_deref().map_or("(empty)".to_owned(), |v| format!("'{v}'"))
                                };
                                let side = match c.winner {
                                    Side::Tandem => "Tandem's later edit",
                                    Side::Clerk => "Clerk's later edit",
                                };
                                format!(
                                    "{}: {} kept ({side}), {} lost",
                                    c.field,
                                    show(&c.kept),
                                    show(&c.lost)
                                )
                            })
                            .collect();
                        detail = Some(format!("changed in Clerk; conflicts: {}", lines.join("; ")));
                    } else {
                        detail = Some("changed in Clerk".to_owned());
                    }
                }
                UserEvent::LocalProfileChanged { local: l } => local = l.clone(),
                UserEvent::UserDeleted {} => changes.push(FieldChange {
                    field: "deletedAt".into(),
                    old_value: None,
                    new_value: Some(Json(json!(meta.occurred_at))),
                }),
                UserEvent::ClerkSynced {
                    clerk_id, deleted, ..
                } => {
                    detail = Some(match (deleted, clerk_id) {
                        (true, _) => "deleted in Clerk".to_owned(),
                        (false, Some(id)) => format!("Clerk user {id} holds this version"),
                        (false, None) => "Clerk holds this version".to_owned(),
                    });
                }
                UserEvent::ClerkSyncAttemptFailed {
                    attempt,
                    error,
                    next_retry_at,
                } => {
                    detail = Some(format!(
                        "attempt {attempt} failed: {error}; next attempt at {}",
                        next_retry_at.to_rfc3339()
                    ));
                }
                UserEvent::ClerkSyncFailed { attempts, error, .. } => {
                    detail = Some(format!("gave up after {attempts} attempt(s): {error}"));
                }
            }
            for ((field, old), (_, new)) in before.into_iter().zip(fields(&clerk, &local)) {
                if old != new {
                    changes.push(FieldChange {
                        field: field.into(),
                        old_value: as_option(old),
                        new_value: as_option(new),
                    });
                }
            }
            HistoryEntry {
                sequence: envelope.sequence as i64,
                event_type: envelope.payload.event_type(),
                occurred_at: meta.occurred_at,
                origin: meta.origin,
                actor: meta.actor,
                request_id: meta.request_id,
                changes,
                detail,
            }
        })
        .collect()
}
