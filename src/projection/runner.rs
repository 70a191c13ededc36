//! Drives one projector: reads the feed after its checkpoint, applies a
//! batch, and moves the checkpoint, all in one transaction.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch, Notify};

use super::feed::{
    advance_checkpoints, any_after, events_after, held_back, lock_checkpoints, rewind_checkpoint,
};
use super::{Projector, StoredEvent};
use crate::db::Db;
use crate::live::Publisher;

const BATCH: i64 = 2_000;

/// Catches what no wake-up announced: another replica's writes, or a batch
/// that failed and must be tried again.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// While the feed is busy and nobody waits to read their own write, a batch
/// starts at most this often. A batch costs about a dozen round trips, and
/// whatever it holds: with sync reports trickling in, back-to-back batches of
/// two or three events kept the runner busy for as long as the trickle lasted.
/// A command whose caller waits for its row asks for a batch at once
/// ([`ProjectionHandle::hurry`]), and so does the first commit after a quiet spell.
const PACE: Duration = Duration::from_millis(10);

/// How soon to look again when committed events wait behind an older, still
/// running transaction (Postgres): it usually ends in moments, and nothing
/// wakes us when it does. Doubles while it lasts, up to [`POLL_EVERY`].
const HELD_BACK_RETRY: Duration = Duration::from_millis(1);

/// What one look at the feed did.
enum Batch {
    /// Applied this many events; `more` when the feed already holds others.
    Applied { events: usize, more: bool },
    /// Nothing new.
    Idle,
    /// Nothing yet: newer events wait for an older transaction to end.
    HeldBack,
}

/// Aggregates whose rows just changed; `remote` when another replica projected them.
#[derive(Debug, Clone)]
pub struct Changed {
    pub ids: Arc<[String]>,
    pub remote: bool,
}

pub struct ProjectionRunner {
    db: Db,
    projector: Arc<dyn Projector>,
    /// Fed from the same batches, each after its own checkpoint.
    riders: Vec<Arc<dyn Projector>>,
    applied: watch::Sender<u64>,
    /// Aggregates touched by each committed batch, for live subscribers.
    changed: broadcast::Sender<Changed>,
    /// Tells other replicas what each batch touched.
    publisher: Option<Publisher>,
    /// Someone waits for the next batch: no pacing.
    hurry: Arc<Notify>,
}

/// A cheap handle on a runner's progress.
#[derive(Clone)]
pub struct ProjectionHandle {
    applied: watch::Receiver<u64>,
    changed: broadcast::Sender<Changed>,
    hurry: Arc<Notify>,
}

impl ProjectionHandle {
    /// Changes each time a batch commits.
    pub fn progress(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Ids of the aggregates in each batch, once committed.
    pub fn changes(&self) -> broadcast::Receiver<Changed> {
        self.changed.subscribe()
    }

    /// Asks for the next batch without pacing: a caller waits to read what it just wrote.
    pub fn hurry(&self) {
        self.hurry.notify_one();
    }

    /// Announces aggregates changed by another replica.
    pub fn announce(&self, ids: Arc<[String]>) {
        let _ = self.changed.send(Changed { ids, remote: true });
    }
}

impl ProjectionRunner {
    pub fn new(db: Db, projector: Arc<dyn Projector>) -> Self {
        Self {
            db,
            projector,
            riders: Vec::new(),
            applied: watch::channel(0).0,
            changed: broadcast::channel(1024).0,
            publisher: None,
            hurry: Arc::new(Notify::new()),
        }
    }

    /// Feeds `projector` too, from the same reads of the feed and in the same
    /// transactions: one batch's overhead serves both. It keeps its own
    /// checkpoint, so a replay of the main projector does not replay it.
    pub fn also_feed(&mut self, projector: Arc<dyn Projector>) {
        self.riders.push(projector);
    }

    /// Announces every batch to the other replicas through `publisher`.
    pub fn publish_with(&mut self, publisher: Publisher) {
        self.publisher = Some(publisher);
    }

    pub fn handle(&self) -> ProjectionHandle {
        ProjectionHandle {
            applied: self.applied.subscribe(),
            changed: self.changed.clone(),
            hurry: self.hurry.clone(),
        }
    }

    /// Applies the next batch; returns how many events it held.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        match self.next_batch().await? {
            Batch::Applied { events, .. } => Ok(events),
            Batch::Idle | Batch::HeldBack => Ok(0),
        }
    }

    fn names(&self) -> Vec<&'static str> {
        std::iter::once(&self.projector)
            .chain(&self.riders)
            .map(|p| p.name())
            .collect()
    }

    async fn next_batch(&self) -> anyhow::Result<Batch> {
        let names = self.names();
        let mut tx = self.db.begin_derived().await?;
        let positions = lock_checkpoints(&mut tx, &names).await?;
        let from = positions.iter().copied().min().unwrap_or_default();
        let events = events_after(&mut tx, from, BATCH).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            // Dropping the transaction rolls it back: an idle poll writes nothing.
            return Ok(if held_back(&mut tx, from).await? {
                Batch::HeldBack
            } else {
                Batch::Idle
            });
        };
        let projectors = std::iter::once(&self.projector).chain(&self.riders);
        let mut ours: &[StoredEvent] = &[];
        let mut after_commit = Vec::new();
        for (i, (projector, seen)) in projectors.zip(&positions).enumerate() {
            let unseen = &events[events.partition_point(|e| e.position <= *seen)..];
            if !unseen.is_empty() {
                after_commit.extend(projector.apply(&mut tx, unseen).await?);
            }
            if i == 0 {
                ours = unseen;
            }
        }
        advance_checkpoints(&mut tx, &names, last).await?;
        let mut ids: Vec<String> = ours.iter().map(|e| e.aggregate_id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        if let Some(publisher) = &self.publisher {
            publisher.publish(&mut tx, &ids).await?;
        }
        tx.commit().await?;
        // Before the announcement: whoever hears of the batch finds what it left.
        for done in after_commit {
            done();
        }
        self.applied.send_modify(|n| *n += 1);
        let _ = self.changed.send(Changed {
            ids: ids.into(),
            remote: false,
        });
        // Asked once the batch is out: one query saves the look at an empty
        // feed that would otherwise follow every batch.
        let more = events.len() as i64 == BATCH || any_after(&self.db, last).await?;
        Ok(Batch::Applied {
            events: events.len(),
            more,
        })
    }

    /// Applies batches until the feed is drained.
    pub async fn catch_up(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            match self.run_once().await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Mends rows that disagree with their events, under the checkpoint lock
    /// so it never races the feed.
    pub async fn repair(&self) -> anyhow::Result<usize> {
        let mut look = self.db.begin().await?;
        let needed = self.projector.needs_repair(&mut look).await?;
        // Only read: dropping rolls back.
        drop(look);
        if !needed {
            return Ok(0);
        }
        let mut tx = self.db.begin().await?;
        lock_checkpoints(&mut tx, &[self.projector.name()]).await?;
        let mended = self.projector.repair(&mut tx).await?;
        tx.commit().await?;
        if mended > 0 {
            self.applied.send_modify(|n| *n += 1);
        }
        Ok(mended)
    }

    /// Forgets the read model and rebuilds it from the first event.
    pub async fn replay(&self) -> anyhow::Result<usize> {
        let name = self.projector.name();
        let mut tx = self.db.begin().await?;
        lock_checkpoints(&mut tx, &[name]).await?;
        self.projector.reset(&mut tx).await?;
        rewind_checkpoint(&mut tx, name).await?;
        tx.commit().await?;
        self.catch_up().await
    }

    /// Runs until the task is dropped; `wake` changes after new commits.
    /// Dropping mid-batch rolls the batch back, so stopping at any point is safe.
    pub async fn run(self, mut wake: watch::Receiver<u64>) {
        let name = self.projector.name();
        match self.repair().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(projector = name, rows = n, "projection rows mended from events"),
            Err(error) => {
                tracing::error!(projector = name, error = %error, "projection repair failed")
            }
        }
        let mut failures: u32 = 0;
        let mut held_back: u32 = 0;
        // When the last batch that applied events began; after a full one (a
        // backlog) the next starts at once.
        let mut busy_since: Option<tokio::time::Instant> = None;
        loop {
            if let Some(started) = busy_since.take() {
                tokio::select! {
                    () = tokio::time::sleep_until(started + PACE) => {}
                    () = self.hurry.notified() => {}
                }
            }
            // Commits from here on wake the wait after this batch; earlier
            // ones are in it, or held back, which the batch reports.
            wake.borrow_and_update();
            let started = tokio::time::Instant::now();
            let batch = self.next_batch().await;
            if matches!(batch, Ok(Batch::Applied { events, .. }) if (events as i64) < BATCH) {
                busy_since = Some(started);
            }
            match batch {
                Ok(Batch::Idle | Batch::Applied { more: false, .. }) => {
                    (failures, held_back) = (0, 0);
                    tokio::select! {
                        _ = wake.changed() => {}
                        () = tokio::time::sleep(POLL_EVERY) => {}
                    }
                }
                Ok(Batch::HeldBack) => {
                    failures = 0;
                    let retry = (HELD_BACK_RETRY * 2u32.saturating_pow(held_back)).min(POLL_EVERY);
                    held_back = held_back.saturating_add(1);
                    tokio::select! {
                        _ = wake.changed() => {}
                        () = tokio::time::sleep(retry) => {}
                    }
                }
                Ok(Batch::Applied { more: true, .. }) => (failures, held_back) = (0, 0),
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(projector = name, error = %error, "projection batch failed; retrying");
                    let backoff = POLL_EVERY * 2u32.saturating_pow(failures.min(5));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}
