//! Read models fed from the events table. A projector sees every event
//! exactly once, in commit order, in the same transaction that moves its
//! checkpoint; so a crash, a dropped request or a failed write can leave a
//! read model behind its events, never wrong, and it catches up by itself.

pub mod admin_users;
mod feed;
mod runner;

use async_trait::async_trait;

pub use feed::{Position, StoredEvent};
pub use runner::{Changed, ProjectionHandle, ProjectionRunner};

use crate::db::Tx;

/// What a projector does once the batch it applied has committed, such as
/// handing its rows to whoever waits for them; never run for a batch that
/// rolls back.
pub type AfterCommit = Box<dyn FnOnce() + Send>;

/// A consumer of the event feed. `apply` runs inside the transaction that also
/// stores the new checkpoint, so whatever it writes commits with it or not at all.
#[async_trait]
pub trait Projector: Send + Sync + 'static {
    /// Stable name: the checkpoint is stored under it.
    fn name(&self) -> &'static str;

    async fn apply(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<Option<AfterCommit>>;

    /// Forgets everything this projector wrote, before a replay from the start.
    async fn reset(&self, tx: &mut Tx) -> anyhow::Result<()>;

    /// Whether any row disagrees with the events (rows deleted or rolled
    /// back by hand). Runs without the checkpoint lock, so the feed goes on
    /// meanwhile; only a yes takes the lock for [`Projector::repair`].
    async fn needs_repair(&self, tx: &mut Tx) -> anyhow::Result<bool>;

    /// Finds and mends rows that disagree with the events; returns how many were mended.
    async fn repair(&self, tx: &mut Tx) -> anyhow::Result<usize>;
}
