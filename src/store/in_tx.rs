//! The event store inside a transaction the caller controls, in the exact
//! layout postgres-es and sqlite-es read back, so a command's events and the
//! rows that must change with them (claims, sync jobs) commit together. Reads
//! here use the transaction's own connection: SQLite writers queue for its one
//! write lock while holding pool connections, so a second connection could
//! wait on them while they wait on us.

use cqrs_es::{Aggregate, DomainEvent, EventEnvelope};
use serde_json::Value;

use super::MetadataMap;
use crate::db::Tx;
use crate::domain::user::{User, UserEvent};
use crate::on_tx;

/// Why events could not be appended.
pub enum AppendError {
    /// Another writer committed the same sequence number first.
    Conflict,
    Failed(anyhow::Error),
}

/// Appends `events` after `base_sequence` and returns them as committed.
pub async fn append(
    tx: &mut Tx,
    user_id: &str,
    base_sequence: usize,
    events: Vec<UserEvent>,
    metadata: &MetadataMap,
) -> Result<Vec<EventEnvelope<User>>, AppendError> {
    let metadata_json = serde_json::to_value(metadata).map_err(|e| AppendError::Failed(e.into()))?;
    let mut rows = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let payload = serde_json::to_value(event).map_err(|e| AppendError::Failed(e.into()))?;
        rows.push((
            base_sequence + i + 1,
            event.event_type(),
            event.event_version(),
            payload,
        ));
    }
    let sql = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES {}",
        tx.placeholders(rows.len(), 7)
    );
    let inserted = on_tx!(tx, tx => {
        let mut query = sqlx::query(&sql);
        for (sequence, event_type, event_version, payload) in &rows {
            query = query
                .bind(User::TYPE)
                .bind(user_id)
                .bind(*sequence as i64)
                .bind(event_type)
                .bind(event_version)
                .bind(payload)
                .bind(&metadata_json);
        }
        query.execute(&mut **tx).await.map(|done| done.rows_affected())
    });
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(AppendError::Conflict),
        Err(e) => return Err(AppendError::Failed(e.into())),
    }
    Ok(events
        .into_iter()
        .zip(rows)
        .map(|(payload, (sequence, ..))| EventEnvelope {
            aggregate_id: user_id.to_owned(),
            sequence,
            payload,
            metadata: metadata.clone(),
        })
        .collect())
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
