//! Reads the events table in commit order, from a checkpoint.

use chrono::{DateTime, Utc};

use crate::db::{parameter_groups, Db, Tx};
use crate::on_tx;
use crate::store::{param, EventMeta, MetadataMap};

/// A place in the commit order. On SQLite `global_seq` alone orders events
/// (one writer at a time); on Postgres the writing transaction comes first,
/// since identity values are taken before commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub tx_id: i64,
    pub global_seq: i64,
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: Position,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub meta: EventMeta,
}

impl StoredEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.meta.occurred_at
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    tx_id: i64,
    global_seq: i64,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    payload: String,
    metadata: String,
}

impl TryFrom<Row> for StoredEvent {
    type Error = anyhow::Error;

    fn try_from(row: Row) -> anyhow::Result<Self> {
        let metadata: MetadataMap = serde_json::from_str(&row.metadata)?;
        Ok(Self {
            position: Position {
                tx_id: row.tx_id,
                global_seq: row.global_seq,
            },
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            sequence: row.sequence,
            event_type: row.event_type,
            payload: serde_json::from_str(&row.payload)?,
            meta: EventMeta::from_map(&metadata),
        })
    }
}

const PG_AFTER: &str = "SELECT tx_id, global_seq, aggregate_type, aggregate_id, sequence, event_type,
        payload::text AS payload, metadata::text AS metadata
    FROM events
    WHERE (tx_id, global_seq) > ($1, $2)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ORDER BY tx_id, global_seq
    LIMIT $3";

const SQLITE_AFTER: &str =
    "SELECT 0 AS tx_id, global_seq, aggregate_type, aggregate_id, sequence, event_type,
        payload, metadata
    FROM events
    WHERE global_seq > $1
    ORDER BY global_seq
    LIMIT $2";

const PG_AGGREGATE: &str = "SELECT tx_id, global_seq, aggregate_type, aggregate_id, sequence, event_type,
        payload::text AS payload, metadata::text AS metadata
    FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence";

const SQLITE_AGGREGATE: &str =
    "SELECT 0 AS tx_id, global_seq, aggregate_type, aggregate_id, sequence, event_type,
        payload, metadata
    FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence";

/// The next committed events after `after`, at most `limit`.
pub async fn events_after(tx: &mut Tx, after: Position, limit: i64) -> anyhow::Result<Vec<StoredEvent>> {
    let rows: Vec<Row> = match tx {
        Tx::Pg(tx) => {
            sqlx::query_as(PG_AFTER)
                .bind(after.tx_id)
                .bind(after.global_seq)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?
        }
        Tx::Sqlite(tx, _) => {
            sqlx::query_as(SQLITE_AFTER)
                .bind(after.global_seq)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?
        }
    };
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// The feed's own order and limit keep Postgres on the commit-order index even
/// without statistics (an `EXISTS` would be planned as a scan of every event).
const PG_HELD_BACK: &str = "SELECT global_seq FROM events WHERE (tx_id, global_seq) > ($1, $2)
    ORDER BY tx_id, global_seq LIMIT 1";

/// True when events after `after` exist that [`events_after`] cannot hand out
/// yet, because an older transaction is still running: they are moments away,
/// and no commit of ours may announce them.
pub async fn held_back(tx: &mut Tx, after: Position) -> anyhow::Result<bool> {
    Ok(match tx {
        Tx::Pg(tx) => {
            let next: Option<i64> = sqlx::query_scalar(PG_HELD_BACK)
                .bind(after.tx_id)
                .bind(after.global_seq)
                .fetch_optional(&mut **tx)
                .await?;
            next.is_some()
        }
        // One writer at a time: whatever is committed is in the feed.
        Tx::Sqlite(..) => false,
    })
}

/// True when the feed holds events after `after`, handed out or held back:
/// asked after a batch, to look again at once rather than wait for a wake-up
/// that a commit elsewhere would not send.
pub async fn any_after(db: &Db, after: Position) -> anyhow::Result<bool> {
    Ok(match db {
        Db::Pg(pool) => {
            let next: Option<i64> = sqlx::query_scalar(PG_HELD_BACK)
                .bind(after.tx_id)
                .bind(after.global_seq)
                .fetch_optional(pool)
                .await?;
            next.is_some()
        }
        // One writer, all in this process: every later commit wakes the runner.
        Db::Sqlite(..) => false,
    })
}

/// Every committed event of one aggregate, oldest first.
pub async fn aggregate_events(
    tx: &mut Tx,
    aggregate_type: &str,
    aggregate_id: &str,
) -> anyhow::Result<Vec<StoredEvent>> {
    let rows: Vec<Row> = match tx {
        Tx::Pg(tx) => {
            sqlx::query_as(PG_AGGREGATE)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(&mut **tx)
                .await?
        }
        Tx::Sqlite(tx, _) => {
            sqlx::query_as(SQLITE_AGGREGATE)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_all(&mut **tx)
                .await?
        }
    };
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// Reads and locks the checkpoints of `projectors` (always named in the same
/// order, so two lockers cannot deadlock). On Postgres an advisory lock per
/// projector keeps two replicas off it without writing: a look at the feed
/// that finds nothing stays read-only (no transaction id, no WAL), and a batch
/// takes a transaction id only once it writes, so it holds back other readers
/// of the feed for as short a time as it can. On SQLite writing first takes
/// the write lock up front, which avoids a read-to-write upgrade failing under
/// another writer. A projector's first run starts at the beginning.
pub async fn lock_checkpoints(tx: &mut Tx, projectors: &[&str]) -> anyhow::Result<Vec<Position>> {
    match tx {
        Tx::Pg(tx) => {
            sqlx::query("SELECT count(pg_advisory_xact_lock($1, hashtext(p))) FROM unnest($2::text[]) AS p")
                .bind(CHECKPOINT_LOCKS)
                .bind(projectors)
                .execute(&mut **tx)
                .await?;
        }
        Tx::Sqlite(tx, _) => {
            let rows: Vec<String> = (1..=projectors.len()).map(|n| format!("(${n}, 0, 0)")).collect();
            let sql = format!(
                "INSERT INTO projection_checkpoints (projector, tx_id, global_seq) VALUES {}
                 ON CONFLICT (projector) DO UPDATE SET tx_id = projection_checkpoints.tx_id",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for name in projectors {
                query = query.bind(*name);
            }
            query.execute(&mut **tx).await?;
        }
    }
    let sql = format!(
        "SELECT projector, tx_id, global_seq FROM projection_checkpoints WHERE projector IN ({})",
        numbered(1, projectors.len())
    );
    let found: Vec<(String, i64, i64)> = on_tx!(tx, tx => {
        let mut query = sqlx::query_as(&sql);
        for name in projectors {
            query = query.bind(*name);
        }
        query.fetch_all(&mut **tx).await?
    });
    let mut positions = Vec::with_capacity(projectors.len());
    for name in projectors {
        match found.iter().find(|(projector, ..)| projector == name) {
            Some((_, tx_id, global_seq)) => positions.push(Position {
                tx_id: *tx_id,
                global_seq: *global_seq,
            }),
            None => {
                on_tx!(tx, tx => sqlx::query(
                    "INSERT INTO projection_checkpoints (projector, tx_id, global_seq) VALUES ($1, 0, 0)
                     ON CONFLICT (projector) DO NOTHING",
                )
                .bind(*name)
                .execute(&mut **tx)
                .await
                .map(drop))?;
                positions.push(Position::default());
            }
        }
    }
    Ok(positions)
}

/// The advisory-lock namespace of projection checkpoints (any constant no
/// other lock of this database uses).
const CHECKPOINT_LOCKS: i32 = 0x7a6e_6401;

/// Moves the checkpoints of `projectors` forward to `position`; one already
/// past it stays where it is.
pub async fn advance_checkpoints(tx: &mut Tx, projectors: &[&str], position: Position) -> anyhow::Result<()> {
    let sql = format!(
        "UPDATE projection_checkpoints SET tx_id = $1, global_seq = $2
         WHERE (tx_id, global_seq) < ($1, $2) AND projector IN ({})",
        numbered(3, projectors.len())
    );
    on_tx!(tx, tx => {
        let mut query = sqlx::query(&sql).bind(position.tx_id).bind(position.global_seq);
        for name in projectors {
            query = query.bind(*name);
        }
        query.execute(&mut **tx).await?;
    });
    Ok(())
}

/// Puts a projector's checkpoint back to the start, before a replay.
pub async fn rewind_checkpoint(tx: &mut Tx, projector: &str) -> anyhow::Result<()> {
    on_tx!(tx, tx => {
        sqlx::query("UPDATE projection_checkpoints SET tx_id = 0, global_seq = 0 WHERE projector = $1")
            .bind(projector)
            .execute(&mut **tx)
            .await?;
    });
    Ok(())
}

/// `$first, $first+1, ...`: `count` placeholders.
fn numbered(first: usize, count: usize) -> String {
    let mut next = first;
    parameter_groups(count, 1, || param(&mut next))
}
