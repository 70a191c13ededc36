//! The event store: cqrs-es's plain persisted event store over whichever
//! database is configured, plus the command path that returns what it committed.

mod claims;
mod metadata;
mod repo;

use std::collections::HashMap;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventEnvelope, EventStore};
use tokio::sync::watch;

pub use claims::{ClaimKind, Claims, Holder};
pub use metadata::{EventMeta, Origin};
pub use repo::EventRepo;

use crate::db::Db;
use crate::domain::user::{User, UserCommand, UserError};

/// How often a command is re-run when another writer committed to the same
/// user between our load and our commit.
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Rejected(#[from] UserError),
    #[error("event store: {0}")]
    Store(String),
}

/// What a successful command left behind.
pub struct Committed {
    pub user: User,
    /// Sequence of the user's newest event after the command (0 if none yet).
    pub last_sequence: usize,
    pub events: Vec<EventEnvelope<User>>,
}

pub struct EventLog {
    store: PersistedEventStore<EventRepo, User>,
    /// Bumped after every commit, so event-feed readers wake at once.
    committed: watch::Sender<u64>,
}

impl EventLog {
    pub fn new(db: &Db) -> Self {
        Self {
            store: PersistedEventStore::new_event_store(EventRepo::new(db)),
            committed: watch::channel(0).0,
        }
    }

    /// Changes after each commit made through this log.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Loads the user, decides, and commits; re-runs on a concurrent write.
    pub async fn execute(
        &self,
        user_id: &str,
        command: UserCommand,
        meta: &EventMeta,
    ) -> Result<Committed, ExecuteError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut context = self.store.load_aggregate(user_id).await.map_err(store_error)?;
            let base_sequence = context.current_sequence;
            let user = context.aggregate();
            let events = user.decide(command.clone(), meta.occurred_at)?;
            for event in events.iter().cloned() {
                user.apply(event);
            }
            let after = user.clone();
            if events.is_empty() {
                return Ok(Committed {
                    user: after,
                    last_sequence: base_sequence,
                    events: Vec::new(),
                });
            }
            match self.store.commit(events, context, meta.to_map()).await {
                Ok(committed) => {
                    self.committed.send_modify(|n| *n += 1);
                    let last_sequence = committed.last().map_or(base_sequence, |e| e.sequence);
                    return Ok(Committed {
                        user: after,
                        last_sequence,
                        events: committed,
                    });
                }
                Err(AggregateError::AggregateConflict) if attempt < CONFLICT_RETRIES => continue,
                Err(e) => return Err(store_error(e)),
            }
        }
    }

    pub async fn load(&self, user_id: &str) -> Result<User, ExecuteError> {
        let mut context = self.store.load_aggregate(user_id).await.map_err(store_error)?;
        Ok(context.aggregate().clone())
    }

    /// Every event of one user, oldest first, with its metadata.
    pub async fn events(&self, user_id: &str) -> Result<Vec<EventEnvelope<User>>, ExecuteError> {
        self.store.load_events(user_id).await.map_err(store_error)
    }
}

fn store_error(error: AggregateError<UserError>) -> ExecuteError {
    match error {
        AggregateError::UserError(e) => ExecuteError::Rejected(e),
        other => ExecuteError::Store(other.to_string()),
    }
}

/// Metadata as cqrs-es stores it.
pub type MetadataMap = HashMap<String, String>;
