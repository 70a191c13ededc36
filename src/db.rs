//! The one place that knows there are two databases: SQLite (embedded default)
//! and Postgres. Everything above holds a [`Db`] and writes `$N` SQL that both accept.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::store::Scripts;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// SQLite takes one writer at a time, and two cores run few readers at
/// once: more connections (each a thread with its own page cache and
/// allocator arena) add memory, not throughput. Measured at 100,000 users:
/// 8 connections with 2 MiB caches idled at 66 MiB after a list load, 4 with
/// 256 KiB at 29 MiB, for the same list and write throughput.
const SQLITE_CONNECTIONS: u32 = 4;
const SQLITE_PAGE_CACHE_KIB: u32 = 256;

const PG_CONNECTIONS: u32 = 16;

/// A Postgres connection used this recently has just proven itself; one idle
/// longer is pinged before use. A restart takes longer than this, so every
/// connection it broke is caught before a query fails on it.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub enum Db {
    Pg(PgPool),
    /// Readers' connections, and how writes take their turn.
    Sqlite(SqlitePool, Arc<SqliteWriter>),
}

/// SQLite lets one writer in at a time, and one that finds the lock taken
/// sleeps in SQLite's busy handler (1, 2, 5 … 100 ms) rather than waking
/// when the lock frees (counted at one create after another: 2.5 such sleeps
/// per create): every write waits for its turn in the process instead.
#[derive(Debug)]
pub struct SqliteWriter {
    turn: Arc<Mutex<()>>,
    scripts: Scripts,
}

impl SqliteWriter {
    /// Commands' scripts, each committed in the database's turn.
    pub fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    /// Waits for the database's turn to write, and holds it while the guard lives.
    async fn turn(&self) -> OwnedMutexGuard<()> {
        self.turn.clone().lock_owned().await
    }
}

/// An open transaction on either database.
pub enum Tx {
    Pg(Transaction<'static, Postgres>),
    /// Holds the database's turn until the transaction ends (declared after
    /// it, so dropped after it).
    Sqlite(Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
}

/// Runs the same body against whichever pool or transaction is inside: each
/// arm is compiled for its own database types.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Pg($conn) => $body,
            $crate::db::Db::Sqlite($conn, _) => $body,
        }
    };
}

#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Pg($conn) => $body,
            $crate::db::Tx::Sqlite($conn, _) => $body,
        }
    };
}

impl Db {
    /// Opens a pool for a `postgres://` or `sqlite:` URL; SQLite files and
    /// their folder are created on first use.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Self::connect_sized(url, None).await
    }

    /// [`Self::connect`] with at most `connections` connections instead of
    /// the store's default.
    pub async fn connect_sized(url: &str, connections: Option<u32>) -> Result<Self, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(connections.unwrap_or(PG_CONNECTIONS))
                .acquire_timeout(Duration::from_secs(10))
                // sqlx pings every connection it hands out by default: one more
                // round trip to Postgres per query or transaction. Only one that
                // sat idle may have been dropped by a restart meanwhile.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_AFTER_IDLE {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await?;
            return Ok(Self::Pg(pool));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL with NORMAL sync loses nothing when the process dies; only
            // an OS crash or power cut could drop the last commits.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // The operating system caches the file anyway; a page SQLite has
            // to read again costs a copy, while each connection's own cache
            // stays resident for good (2 MiB each by default).
            .pragma("cache_size", format!("-{SQLITE_PAGE_CACHE_KIB}"));
        if let Some(dir) = Path::new(options.get_filename()).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(connections.unwrap_or(SQLITE_CONNECTIONS))
            .acquire_timeout(Duration::from_secs(10))
            // A connection in this process has no socket to lose; the ping
            // would only be a round trip to its worker thread.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let turn = Arc::new(Mutex::new(()));
        let scripts = Scripts::start(pool.clone(), turn.clone());
        Ok(Self::Sqlite(pool, Arc::new(SqliteWriter { turn, scripts })))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Pg(_))
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Pg(pool) => POSTGRES_MIGRATIONS.run(pool).await,
            // SQLite has no migration lock: two processes starting at once on one
            // file can race; the loser's second look finds the work done.
            Self::Sqlite(pool, _) => match SQLITE_MIGRATIONS.run(pool).await {
                Ok(()) => Ok(()),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    SQLITE_MIGRATIONS.run(pool).await
                }
            },
        }
    }

    /// True when the database answers and every migration this build knows is applied.
    pub async fn is_ready(&self) -> bool {
        let (applied, known) = match self {
            Self::Pg(pool) => (
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(pool)
                    .await,
                POSTGRES_MIGRATIONS.iter().count(),
            ),
            Self::Sqlite(pool, _) => (
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(pool)
                    .await,
                SQLITE_MIGRATIONS.iter().count(),
            ),
        };
        applied.is_ok_and(|n| n as usize >= known)
    }

    /// Tidies the read model after a rebuild: until autovacuum gets to it,
    /// Postgres would plan list queries for an empty table (ANDing a
    /// 100,000-row index for a 50-row page), and every search would also read
    /// the trigram index's whole pending list of fresh entries.
    pub async fn tidy_read_model(&self) -> Result<(), sqlx::Error> {
        match self {
            Self::Pg(pool) => {
                sqlx::query("VACUUM (ANALYZE) admin_users, admin_user_roles, admin_user_counts")
                    .execute(pool)
                    .await?;
            }
            Self::Sqlite(pool, _) => {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Pg(pool) => Tx::Pg(pool.begin().await?),
            Self::Sqlite(pool, writer) => {
                let turn = writer.turn().await;
                Tx::Sqlite(pool.begin().await?, turn)
            }
        })
    }

    /// Waits for the database's turn to write, for a statement outside a
    /// transaction, and holds it while the guard lives; Postgres needs none.
    pub async fn write_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match self {
            Self::Pg(_) => None,
            Self::Sqlite(_, writer) => Some(writer.turn().await),
        }
    }

    /// A transaction whose writes can all be rebuilt from the events (read
    /// models, saga intake, each with its checkpoint in the same transaction).
    /// On Postgres it commits without waiting for the WAL flush: a server crash
    /// can only roll back a whole recent batch, checkpoint included, which the
    /// next run applies again. Its commit stops being a second disk flush on the
    /// way from a write to its answer.
    pub async fn begin_derived(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Pg(pool) => Tx::Pg(
                pool.begin_with("BEGIN; SET LOCAL synchronous_commit = off")
                    .await?,
            ),
            // WAL mode with synchronous = NORMAL already commits without a flush.
            Self::Sqlite(..) => self.begin().await?,
        })
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// `rows` groups of `columns` parameters, each written by `param` in turn:
/// `(a, b), (c, d)`, or `a, b` when a group has one column.
pub fn parameter_groups(rows: usize, columns: usize, mut param: impl FnMut() -> String) -> String {
    let groups: Vec<String> = (0..rows)
        .map(|_| {
            let params: Vec<String> = (0..columns).map(|_| param()).collect();
            if columns > 1 {
                format!("({})", params.join(", "))
            } else {
                params.join(", ")
            }
        })
        .collect();
    groups.join(", ")
}

impl Tx {
    /// `($1, $2), ($3, $4), ...`: `rows` groups of `columns` parameters, for a
    /// statement that has no others. SQLite gets `?`: sqlx looks up the name
    /// of every parameter it binds, and SQLite finds a named one (`$7`) by
    /// walking the list of all of them, so binding a multi-row statement of
    /// numbered parameters takes time quadratic in their count (half of a
    /// replay's time, before).
    pub fn placeholders(&self, rows: usize, columns: usize) -> String {
        let mut numbered = 0;
        parameter_groups(rows, columns, || match self {
            Self::Pg(_) => {
                numbered += 1;
                format!("${numbered}")
            }
            Self::Sqlite(..) => "?".to_owned(),
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        on_tx!(self, tx => tx.commit().await)
    }
}
