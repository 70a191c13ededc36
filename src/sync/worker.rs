//! Runs due jobs: claims them with a lease, pushes each user to Clerk, and
//! records the outcome as an event, then finishes or reschedules the job.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::jobs::{self, Job, JobEnd};
use super::push::{push, Attempt};
use super::upkeep::JobTableUpkeep;
use crate::clerk::{ClerkClient, ClerkError};
use crate::config::SyncConfig;
use crate::db::Db;
use crate::domain::user::{SyncOutcome, User, UserCommand};
use crate::metrics::Metrics;
use crate::store::{EventLog, EventMeta, Loaded, Origin};

/// A claimed job and when it was claimed: its lease runs from then.
struct Claimed {
    job: Job,
    at: Instant,
}

const IDLE_POLL: Duration = Duration::from_secs(1);
pub const ACTOR: &str = "clerk-sync";

#[derive(Clone)]
pub struct SyncWorker {
    db: Db,
    log: Arc<EventLog>,
    clerk: Arc<ClerkClient>,
    config: SyncConfig,
    metrics: Metrics,
    upkeep: Arc<JobTableUpkeep>,
    /// Identifies this process's leases.
    owner: String,
}

impl SyncWorker {
    pub fn new(
        db: Db,
        log: Arc<EventLog>,
        clerk: Arc<ClerkClient>,
        config: SyncConfig,
        metrics: Metrics,
    ) -> Self {
        Self {
            upkeep: JobTableUpkeep::new(db.clone(), config.vacuum_after_jobs),
            db,
            log,
            clerk,
            config,
            metrics,
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Runs until dropped. `jobs_added` and `kick` change when new work may be due.
    ///
    /// Claims a round of jobs (one per worker) at a time: those no worker is
    /// free for yet wait here, and each finished job starts the next of them
    /// instead of claiming its own. A claim is planned afresh every time (see
    /// [`jobs::claim`]), and claiming one job per finished job made claims
    /// the dearest statement of a sync.
    pub async fn run(self, mut jobs_added: watch::Receiver<u64>, mut kick: watch::Receiver<u64>) {
        let concurrency = self.config.concurrency;
        let mut running: JoinSet<()> = JoinSet::new();
        let mut waiting: VecDeque<Claimed> = VecDeque::new();
        loop {
            let (mut took_work, mut failed) = (false, false);
            if running.len() < concurrency && waiting.is_empty() {
                match self.claim(concurrency).await {
                    Ok(jobs) => {
                        took_work = !jobs.is_empty();
                        let at = Instant::now();
                        waiting.extend(jobs.into_iter().map(|job| Claimed { job, at }));
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "claiming sync jobs failed");
                        failed = true;
                    }
                }
            }
            while running.len() < concurrency {
                let Some(claimed) = waiting.pop_front() else { break };
                let worker = self.clone();
                running.spawn(async move { worker.run_job(claimed).await });
            }
            if took_work && running.len() < concurrency {
                continue;
            }
            // Only a free worker with nothing claimable looks for the next due
            // job: busy, the next claim waits for a finished job or a wake-up,
            // instead of asking the database in a loop. Paused, nothing is due.
            // A failed claim waits too, rather than retrying at once.
            let sleep = if running.len() < concurrency && !took_work && !failed {
                self.until_next_due().await
            } else {
                IDLE_POLL
            };
            tokio::select! {
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = jobs_added.changed() => {}
                _ = kick.changed() => {
                    // A pause, or a retry that should not queue behind a
                    // round claimed before it: the next claim decides again.
                    self.hand_back(waiting.drain(..).map(|c| c.job).collect()).await;
                }
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Gives back jobs claimed but not started, for any worker to claim again.
    async fn hand_back(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        if let Err(error) = jobs::hand_back(&self.db, &jobs, &self.owner).await {
            // Their leases run out instead.
            tracing::warn!(error = %format!("{error:#}"), "could not hand back claimed sync jobs");
        }
    }

    /// Due jobs, up to `limit`; none while sync is paused.
    async fn claim(&self, limit: usize) -> anyhow::Result<Vec<Job>> {
        jobs::claim(&self.db, &self.owner, Utc::now(), self.lease(), limit as i64).await
    }

    async fn until_next_due(&self) -> Duration {
        match jobs::next_due(&self.db).await {
            Ok(Some(due)) => (due - Utc::now()).to_std().unwrap_or_default().min(IDLE_POLL),
            _ => IDLE_POLL,
        }
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::seconds(15))
    }

    /// Runs one job, renewing its lease every third of it while the push runs,
    /// so a live worker keeps its job however slow Clerk is. A job that
    /// waited its turn for a third of its lease or more is renewed first.
    async fn run_job(self, claimed: Claimed) {
        let Claimed { job, at } = claimed;
        if at.elapsed() >= self.config.lease / 3 && !self.renew(&job).await {
            return;
        }
        let work = self.try_job(&job);
        tokio::pin!(work);
        let mut renew = tokio::time::interval(self.config.lease / 3);
        renew.tick().await;
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                _ = renew.tick() => { self.renew(&job).await; }
            }
        };
        if let Err(error) = result {
            // The lease runs out and another worker takes the job again.
            tracing::error!(user.id = %job.user_id, error = %format!("{error:#}"), "sync job failed to run");
        }
        self.upkeep.job_ran();
    }

    /// False when the lease was lost (another worker may hold the job now)
    /// or could not be renewed.
    async fn renew(&self, job: &Job) -> bool {
        match jobs::renew(&self.db, job, &self.owner, Utc::now() + self.lease()).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(user.id = %job.user_id, "lost the lease on a sync job");
                false
            }
            Err(error) => {
                tracing::warn!(user.id = %job.user_id, error = %error, "could not renew a sync lease");
                false
            }
        }
    }

    async fn try_job(&self, job: &Job) -> anyhow::Result<()> {
        let loaded = self.log.load_versioned(&job.user_id).await?;
        let user = &loaded.user;
        let attempt = Attempt {
            user_id: &job.user_id,
            tried_before: job.claims > 1 || job.attempts > 0,
        };
        match push(&self.clerk, user, &attempt).await {
            Ok(None) => self.settle(job, user.confirmation(), None).await,
            Ok(Some(outcome)) => {
                self.settle(job, Some(outcome), Some(loaded.clone())).await?;
                let latency = (Utc::now() - job.pending_since).to_std().unwrap_or_default();
                self.metrics.sync_latency(latency);
                Ok(())
            }
            Err(error) => self.failed(job, error).await,
        }
    }

    /// Clerk holds what was pushed: records that (when it is news; after a
    /// failed attempt a confirmation is, or the user would show its old
    /// failure for good) and ends the job with it.
    /// `known` is the user as loaded before the push, when still likely current.
    async fn settle(
        &self,
        job: &Job,
        outcome: Option<SyncOutcome>,
        known: Option<Loaded>,
    ) -> anyhow::Result<()> {
        let Some(outcome) = outcome else {
            return self.end_alone(job, JobEnd::Finish).await;
        };
        let meta = EventMeta::new(ACTOR, Origin::System, None);
        // The report may land after a change Clerk made meanwhile, which makes
        // no job of its own: the state after the report says if a push is still owed.
        self.commit(job, UserCommand::RecordSync(outcome), &meta, known, |after| {
            if after.in_sync() {
                JobEnd::Finish
            } else {
                JobEnd::Again
            }
        })
        .await
    }

    async fn failed(&self, job: &Job, error: ClerkError) -> anyhow::Result<()> {
        let user = self.log.load(&job.user_id).await?;
        if user.in_sync() {
            // Clerk caught up another way meanwhile (its own edit, a delete): nothing failed.
            return self.settle(job, user.confirmation(), None).await;
        }
        if error.is_not_found() {
            if let (Some(clerk_id), true) = (user.clerk_id(), user.is_live()) {
                // Clerk deleted the user and its webhook never came: Clerk's delete wins.
                tracing::info!(user.id = %job.user_id, "user is gone from Clerk; deleting it here too");
                let meta = EventMeta::new(crate::inbound::ACTOR, Origin::Clerk, None);
                let command = UserCommand::DeleteFromClerk {
                    clerk_id: clerk_id.to_owned(),
                };
                return self.commit(job, command, &meta, None, |_| JobEnd::Finish).await;
            }
        }
        let attempts = job.attempts + 1;
        let message = error.to_string();
        let retry = match &error {
            ClerkError::Transient { retry_after, .. } => self
                .config
                .retry_schedule
                .get(job.attempts as usize)
                .map(|wait| (*wait).max(retry_after.unwrap_or_default())),
            ClerkError::Permanent { .. } => None,
        };
        tracing::warn!(user.id = %job.user_id, sync.attempt = attempts, error = %message, retry = retry.is_some(), "Clerk sync attempt failed");
        let (outcome, due_at) = match retry {
            Some(wait) => {
                let next = Utc::now() + chrono::Duration::from_std(wait)?;
                let outcome = SyncOutcome::AttemptFailed {
                    attempt: attempts as u32,
                    error: message.clone(),
                    next_retry_at: next,
                };
                (outcome, Some(next))
            }
            None => {
                let outcome = SyncOutcome::Failed {
                    attempts: attempts as u32,
                    error: message.clone(),
                    code: error.code().map(str::to_owned),
                };
                (outcome, None)
            }
        };
        let meta = EventMeta::new(ACTOR, Origin::System, None);
        self.commit(job, UserCommand::RecordSync(outcome), &meta, None, |_| {
            JobEnd::Retry {
                attempts,
                due_at,
                error: message.clone(),
            }
        })
        .await
    }

    /// Runs `command` and ends the job as `end` says of the resulting state,
    /// in one transaction: a crash leaves both undone, and the job runs again.
    async fn commit(
        &self,
        job: &Job,
        command: UserCommand,
        meta: &EventMeta,
        known: Option<Loaded>,
        end: impl Fn(&User) -> JobEnd + Send + Sync,
    ) -> anyhow::Result<()> {
        let ending = jobs::Ending {
            job,
            owner: &self.owner,
            end: &end,
        };
        let committed = self
            .log
            .execute_with(&job.user_id, command, meta, known, Some(&ending))
            .await?;
        if committed.events.is_empty() {
            self.end_alone(job, end(&committed.user)).await?;
        }
        Ok(())
    }

    async fn end_alone(&self, job: &Job, end: JobEnd) -> anyhow::Result<()> {
        let mut tx = self.db.begin().await?;
        jobs::end(&mut tx, job, &self.owner, &end).await?;
        tx.commit().await?;
        Ok(())
    }
}
