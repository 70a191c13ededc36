//! The `clerk_sync_jobs` table: enqueue, claim with a lease, finish.
//! Every finish is fenced by the lease owner and the row's generation, so a
//! worker that lost its lease, or raced a newer change, cannot drop work.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use futures::future::BoxFuture;

use super::pause::not_paused;
use crate::db::{Db, Tx};
use crate::domain::user::User;
use crate::store::{param, Alongside, Dialect, Param, Write};
use crate::{on_db, on_tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub user_id: String,
    pub attempts: i64,
    pub claims: i64,
    pub generation: i64,
    pub pending_since: DateTime<Utc>,
}

/// Records that each user owes Clerk its latest state, due at once; a user
/// named more than once is enqueued once, with its latest change. A new
/// change resets the attempts and bumps the generation, so a worker busy
/// with the old change cannot finish the job under it.
pub async fn enqueue_all(tx: &mut Tx, owed: &[(&str, DateTime<Utc>)]) -> anyhow::Result<()> {
    let mut latest: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for &(user_id, at) in owed {
        let due = latest.entry(user_id).or_insert(at);
        *due = (*due).max(at);
    }
    let latest: Vec<(&str, DateTime<Utc>)> = latest.into_iter().collect();
    // One statement for a whole batch; a multi-row upsert may not name a row twice.
    for chunk in latest.chunks(ENQUEUE_ROWS) {
        let sql = format!(
            "INSERT INTO clerk_sync_jobs (user_id, due_at, attempts, claims, generation, pending_since)
             VALUES {}
             ON CONFLICT (user_id) DO UPDATE SET due_at = excluded.due_at, attempts = 0,
                 generation = clerk_sync_jobs.generation + 1",
            tx.placeholders(chunk.len(), 6)
        );
        on_tx!(tx, tx => {
            let mut query = sqlx::query(&sql);
            for (user_id, at) in chunk {
                query = query.bind(*user_id).bind(*at).bind(0_i64).bind(0_i64).bind(1_i64).bind(*at);
            }
            query.execute(&mut **tx).await?;
        });
    }
    Ok(())
}

/// Rows per enqueue statement: six parameters each, well under SQLite's limit.
const ENQUEUE_ROWS: usize = 500;

const PG_CLAIM: &str = concat!(
    "UPDATE clerk_sync_jobs SET lease_owner = $1, lease_until = $2, claims = claims + 1
    WHERE user_id IN (
        SELECT user_id FROM clerk_sync_jobs
        WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < $3) AND ",
    not_paused!(),
    "
        ORDER BY due_at LIMIT $4
        FOR UPDATE SKIP LOCKED)
    RETURNING user_id, attempts, claims, generation, pending_since"
);

/// SQLite has one writer at a time, so the plain form is already exclusive.
const SQLITE_CLAIM: &str = concat!(
    "UPDATE clerk_sync_jobs SET lease_owner = $1, lease_until = $2, claims = claims + 1
    WHERE user_id IN (
        SELECT user_id FROM clerk_sync_jobs
        WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < $3) AND ",
    not_paused!(),
    "
        ORDER BY due_at LIMIT $4)
    RETURNING user_id, attempts, claims, generation, pending_since"
);

/// Takes up to `limit` due jobs for `owner` until `now + lease`; none while
/// sync is paused.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> anyhow::Result<Vec<Job>> {
    let sql = if db.is_postgres() { PG_CLAIM } else { SQLITE_CLAIM };
    let _turn = db.write_turn().await;
    // Planned afresh with its values each time: the table swings from empty to
    // a backlog of every user (an import, a Clerk outage), and a plan cached
    // while it was small scans every row of the backlog on each claim.
    Ok(on_db!(db, pool => sqlx::query_as(sql)
        .persistent(false)
        .bind(owner)
        .bind(now + lease)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// When the next job falls due, if any is waiting and sync is not paused.
pub async fn next_due(db: &Db) -> anyhow::Result<Option<DateTime<Utc>>> {
    Ok(on_db!(db, pool => sqlx::query_scalar(concat!(
        "SELECT MIN(COALESCE(CASE WHEN lease_until > due_at THEN lease_until END, due_at))
         FROM clerk_sync_jobs WHERE due_at IS NOT NULL AND ",
        not_paused!()
    ))
    .fetch_one(pool)
    .await?))
}

/// How a worker leaves the job it ran.
pub enum JobEnd {
    /// Clerk holds the change: the job is done, unless a newer change came in
    /// meanwhile, in which case it stays, due, for the next worker.
    Finish,
    /// Clerk holds what was pushed, but the user moved on while the push ran
    /// (and that change made no job of its own, e.g. it came from Clerk): due again now.
    Again,
    /// Another try at `due_at` (or parked with `None`), recording what went wrong.
    Retry {
        attempts: i64,
        due_at: Option<DateTime<Utc>>,
        error: String,
    },
}

/// Ends `job` as `end` says, inside the transaction that records its outcome.
pub async fn end(tx: &mut Tx, job: &Job, owner: &str, end: &JobEnd) -> anyhow::Result<()> {
    let changed = on_tx!(tx, tx => match end {
        JobEnd::Finish => sqlx::query(
            "DELETE FROM clerk_sync_jobs WHERE user_id = $1 AND lease_owner = $2 AND generation = $3",
        )
        .bind(&job.user_id)
        .bind(owner)
        .bind(job.generation)
        .execute(&mut **tx)
        .await?,
        JobEnd::Again => sqlx::query(
            "UPDATE clerk_sync_jobs SET due_at = $1, attempts = 0, lease_owner = NULL, lease_until = NULL
             WHERE user_id = $2 AND lease_owner = $3",
        )
        .bind(Utc::now())
        .bind(&job.user_id)
        .bind(owner)
        .execute(&mut **tx)
        .await?,
        JobEnd::Retry { attempts, due_at, error } => sqlx::query(
            "UPDATE clerk_sync_jobs SET attempts = $1, due_at = $2, last_error = $3, lease_owner = NULL,
                 lease_until = NULL
             WHERE user_id = $4 AND lease_owner = $5 AND generation = $6",
        )
        .bind(attempts)
        .bind(due_at)
        .bind(error)
        .bind(&job.user_id)
        .bind(owner)
        .bind(job.generation)
        .execute(&mut **tx)
        .await?,
    }
    .rows_affected());
    if changed == 0 {
        // A newer change bumped the generation: the job stays due for it.
        on_tx!(tx, tx => sqlx::query(
            "UPDATE clerk_sync_jobs SET lease_owner = NULL, lease_until = NULL WHERE user_id = $1 AND lease_owner = $2",
        )
        .bind(&job.user_id)
        .bind(owner)
        .execute(&mut **tx)
        .await
        .map(drop))?;
    }
    Ok(())
}

/// Ends a job with the event that records its outcome, as `end` says of the
/// state that event leads to.
pub struct Ending<'a, F> {
    pub job: &'a Job,
    pub owner: &'a str,
    pub end: F,
}

impl<F: Fn(&User) -> JobEnd + Send + Sync> Alongside for Ending<'_, F> {
    fn in_tx<'t>(&'t self, tx: &'t mut Tx, after: &'t User) -> BoxFuture<'t, anyhow::Result<()>> {
        Box::pin(async move { end(tx, self.job, self.owner, &(self.end)(after)).await })
    }

    /// [`end`] as writes. The lease is given back only when the ending write
    /// left the row alone. On Postgres both clauses read the row as the
    /// statement began, and a second condition on it (`generation <> ...`)
    /// would miss a newer change that committed while the statement waited
    /// for the row; a SQLite statement sees the ending's own change, which
    /// already gave the lease back.
    fn writes(&self, after: &User, dialect: Dialect, next: &mut usize) -> Vec<Write> {
        let (user_id, owner) = (param(next), param(next));
        let ending = match (self.end)(after) {
            JobEnd::Finish => format!(
                "DELETE FROM clerk_sync_jobs
                 WHERE user_id = {user_id} AND lease_owner = {owner} AND generation = {}
                 RETURNING user_id",
                param(next)
            ),
            JobEnd::Again => {
                return vec![Write {
                    name: "job_again",
                    sql: format!(
                        "UPDATE clerk_sync_jobs SET due_at = {}, attempts = 0, lease_owner = NULL,
                             lease_until = NULL
                         WHERE user_id = {user_id} AND lease_owner = {owner}",
                        param(next)
                    ),
                }]
            }
            JobEnd::Retry { .. } => format!(
                "UPDATE clerk_sync_jobs SET attempts = {}, due_at = {}, last_error = {},
                     lease_owner = NULL, lease_until = NULL
                 WHERE user_id = {user_id} AND lease_owner = {owner} AND generation = {}
                 RETURNING user_id",
                param(next),
                param(next),
                param(next),
                param(next)
            ),
        };
        let unless_ended = match dialect {
            Dialect::Postgres => " AND NOT EXISTS (SELECT FROM job_ended)",
            Dialect::Sqlite => "",
        };
        vec![
            Write {
                name: "job_ended",
                sql: ending,
            },
            Write {
                name: "job_kept",
                sql: format!(
                    "UPDATE clerk_sync_jobs SET lease_owner = NULL, lease_until = NULL
                     WHERE user_id = {user_id} AND lease_owner = {owner}{unless_ended}"
                ),
            },
        ]
    }

    fn params(&self, after: &User) -> Vec<Param> {
        let mut params = vec![
            Param::Text(self.job.user_id.clone()),
            Param::Text(self.owner.to_owned()),
        ];
        match (self.end)(after) {
            JobEnd::Finish => params.push(Param::Int(self.job.generation)),
            JobEnd::Again => params.push(Param::Time(Utc::now())),
            JobEnd::Retry {
                attempts,
                due_at,
                error,
            } => params.extend([
                Param::Int(attempts),
                Param::MaybeTime(due_at),
                Param::Text(error),
                Param::Int(self.job.generation),
            ]),
        }
        params
    }
}

/// Keeps a job while its push runs; false when the lease was lost.
pub async fn renew(db: &Db, job: &Job, owner: &str, until: DateTime<Utc>) -> anyhow::Result<bool> {
    // Without the write turn: it runs beside the job, whose transaction may
    // hold the turn while this waits, and it is rare enough for SQLite's own
    // busy handler.
    let updated = on_db!(db, pool => sqlx::query(
        "UPDATE clerk_sync_jobs SET lease_until = $1 WHERE user_id = $2 AND lease_owner = $3",
    )
    .bind(until)
    .bind(&job.user_id)
    .bind(owner)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(updated > 0)
}

/// Gives back jobs `owner` claimed and never started: free for the next
/// claim, and not counted as tried (a claim counts towards whether an earlier
/// try may have reached Clerk).
pub async fn hand_back(db: &Db, jobs: &[Job], owner: &str) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let owner_param = match &tx {
        Tx::Pg(_) => format!("${}", jobs.len() + 1),
        Tx::Sqlite(..) => "?".to_owned(),
    };
    let sql = format!(
        "UPDATE clerk_sync_jobs SET lease_owner = NULL, lease_until = NULL, claims = claims - 1
         WHERE user_id IN ({}) AND lease_owner = {owner_param}",
        tx.placeholders(jobs.len(), 1)
    );
    on_tx!(&mut tx, tx => {
        let mut query = sqlx::query(&sql);
        for job in jobs {
            query = query.bind(&job.user_id);
        }
        query.bind(owner).execute(&mut **tx).await?;
    });
    tx.commit().await?;
    Ok(())
}

/// Makes sure a push of `user_id` is due now, with or without a job so far.
pub async fn ensure(db: &Db, user_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    enqueue_all(&mut tx, &[(user_id, now)]).await?;
    tx.commit().await?;
    Ok(())
}

/// An admin asked for an attempt now. False when the user owes Clerk nothing.
pub async fn retry_now(db: &Db, user_id: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let _turn = db.write_turn().await;
    let updated = on_db!(db, pool => sqlx::query(
        "UPDATE clerk_sync_jobs SET due_at = $1, attempts = 0 WHERE user_id = $2",
    )
    .bind(now)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(updated > 0)
}

/// When the oldest change still waiting for Clerk was made.
pub async fn oldest_pending(db: &Db) -> anyhow::Result<Option<DateTime<Utc>>> {
    Ok(on_db!(db, pool => sqlx::query_scalar(
        "SELECT MIN(pending_since) FROM clerk_sync_jobs WHERE due_at IS NOT NULL",
    )
    .fetch_one(pool)
    .await?))
}

/// Clears the dead row versions finished jobs left (Postgres only). Skips the
/// table when another vacuum holds it, e.g. another replica's.
pub async fn vacuum(db: &Db) -> anyhow::Result<()> {
    if let Db::Pg(pool) = db {
        sqlx::query("VACUUM (SKIP_LOCKED) clerk_sync_jobs")
            .execute(pool)
            .await?;
    }
    Ok(())
}
