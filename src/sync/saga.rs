//! The saga's intake: a projector over the event feed that turns every change
//! Clerk must hear about into a job, in the same transaction as its
//! checkpoint. Local-only changes make no job, so they never reach Clerk.

use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::Aggregate;
use tokio::sync::watch;

use super::jobs;
use crate::db::Tx;
use crate::domain::user::User;
use crate::projection::{AfterCommit, Projector, StoredEvent};

/// Turns changes into jobs, and tells the worker once a batch that made any
/// has committed: batches of sync reports alone do not wake it.
#[derive(Default)]
pub struct ClerkSyncSaga {
    jobs_added: Arc<watch::Sender<u64>>,
}

impl ClerkSyncSaga {
    /// Changes after each committed batch that enqueued jobs.
    pub fn jobs_added(&self) -> watch::Receiver<u64> {
        self.jobs_added.subscribe()
    }
}

/// Events after which Clerk may be behind Tandem. The worker checks whether a
/// push is really owed; a sync report that raced a newer change is checked by
/// the worker that records it, in the same transaction.
const OWED_TO_CLERK: [&str; 4] = [
    "UserCreated",
    "ClerkProfileChanged",
    "ClerkProfileReceived",
    "UserDeleted",
];

#[async_trait]
impl Projector for ClerkSyncSaga {
    fn name(&self) -> &'static str {
        "clerk_sync"
    }

    async fn apply(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<Option<AfterCommit>> {
        let owed = events.iter().filter(|event| {
            // Changes that came from Clerk are already there.
            let from_clerk = event.meta.origin == crate::store::Origin::Clerk;
            event.aggregate_type == User::TYPE
                && OWED_TO_CLERK.contains(&event.event_type.as_str())
                && !from_clerk
        });
        let owed: Vec<(&str, _)> = owed
            .map(|event| (event.aggregate_id.as_str(), event.occurred_at()))
            .collect();
        if owed.is_empty() {
            return Ok(None);
        }
        jobs::enqueue_all(tx, &owed).await?;
        let jobs_added = self.jobs_added.clone();
        Ok(Some(Box::new(move || jobs_added.send_modify(|n| *n += 1))))
    }

    /// Jobs are work, not a view: a replay must not redo pushes.
    async fn reset(&self, _tx: &mut Tx) -> anyhow::Result<()> {
        Ok(())
    }

    async fn needs_repair(&self, _tx: &mut Tx) -> anyhow::Result<bool> {
        Ok(false)
    }

    async fn repair(&self, _tx: &mut Tx) -> anyhow::Result<usize> {
        Ok(0)
    }
}
