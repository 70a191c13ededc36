//! The event store inside a transaction the caller controls, in the exact
//! layout postgres-es and sqlite-es read back, so a command's events and the
//! rows that must change with them (claims, sync jobs) commit together. Reads
//! here use the transaction's own connection: SQLite writers queue for its one
//! write lock while holding pool connections, so a second connection could
//! wait on them while they wait on us.

use cqrs_es::{Aggregate, DomainEvent, EventEnvelope};
use serde_json::Value;

use super::{Change, MetadataMap};
use crate::db::Tx;
use crate::domain::user::{User, UserEvent};
use crate::on_tx;

/// Why events could not be appended.
pub enum AppendError {
    /// Another writer committed the same sequence number first.
    Conflict,
    Failed(anyhow::Error),
}

/// One event row as the events table stores it.
pub struct EventRow {
    pub sequence: usize,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
}

/// `events` numbered after `base_sequence`, serialized for the events table.
pub fn event_rows(base_sequence: usize, events: &[UserEvent]) -> anyhow::Result<Vec<EventRow>> {
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            Ok(EventRow {
                sequence: base_sequence + i + 1,
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: serde_json::to_value(event)?,
            })
        })
        .collect()
}

/// The columns [`EventRow`]s are bound to, seven per row.
pub const EVENT_COLUMNS: &str =
    "events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)";

/// Binds `rows` in the order of [`EVENT_COLUMNS`].
macro_rules! bind_event_rows {
    ($query:expr, $user_id:expr, $rows:expr, $metadata:expr) => {{
        let mut query = $query;
        for row in $rows {
            query = query
                .bind(<$crate::domain::user::User as cqrs_es::Aggregate>::TYPE)
                .bind($user_id)
                .bind(row.sequence as i64)
                .bind(&row.event_type)
                .bind(&row.event_version)
                .bind(&row.payload)
                .bind($metadata);
        }
        query
    }};
}
pub(super) use bind_event_rows;

/// The events as committed after `base_sequence`.
pub fn envelopes(
    user_id: &str,
    events: Vec<UserEvent>,
    base_sequence: usize,
    metadata: &MetadataMap,
) -> Vec<EventEnvelope<User>> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, payload)| EventEnvelope {
            aggregate_id: user_id.to_owned(),
            sequence: base_sequence + i + 1,
            payload,
            metadata: metadata.clone(),
        })
        .collect()
}

/// Appends the change's events after its base sequence.
pub async fn append(tx: &mut Tx, change: &Change<'_>) -> Result<(), AppendError> {
    let metadata_json = serde_json::to_value(change.metadata).map_err(|e| AppendError::Failed(e.into()))?;
    let rows = event_rows(change.base_sequence, change.events).map_err(AppendError::Failed)?;
    let sql = format!(
        "INSERT INTO {EVENT_COLUMNS} VALUES {}",
        tx.placeholders(rows.len(), 7)
    );
    let inserted = on_tx!(tx, tx => bind_event_rows!(sqlx::query(&sql), change.user_id, &rows, &metadata_json)
        .execute(&mut **tx)
        .await
        .map(drop));
    match inserted {
        Ok(()) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppendError::Conflict),
        Err(e) => Err(AppendError::Failed(e.into())),
    }
}

/// One user as its committed events (and the transaction's own) leave it.
pub async fn load(tx: &mut Tx, user_id: &str) -> anyhow::Result<User> {
    let payloads: Vec<Value> = on_tx!(tx, tx => sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(User::TYPE)
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?);
    let mut user = User::default();
    for payload in payloads {
        user.apply(serde_json::from_value::<UserEvent>(payload)?);
    }
    Ok(user)
}
