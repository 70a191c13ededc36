//! On SQLite a command commits as one script (see [`super::one_trip`]), and
//! the commands that arrive while the database is busy writing commit
//! together, as one script and one transaction: SQLite takes one writer at a
//! time, and each script was a hand-over to its connection's thread and back
//! with the write lock held, plus a commit that wrote the pages every command
//! touches (the ends of the same indexes) to the log again. One task runs
//! them all; a command waits for its script's commit, never for a batch
//! that failed: a failed batch rolls back and its scripts run one by one,
//! each with its own outcome.

use std::fmt::Write as _;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::alongside::bind_params;
use super::in_tx::bind_event_rows;
use super::one_trip::{bind_all, classify, Bound, OneTripError};

/// A batch's parameters stay far below SQLite's limit (32,766) at about 30
/// per command.
const MOST_PER_BATCH: usize = 64;

/// The queue of scripts waiting for the database's turn to write.
#[derive(Debug, Clone)]
pub struct Scripts {
    queue: mpsc::UnboundedSender<Script>,
}

/// One command's writes, parameters numbered from `$1`, and who waits for them.
pub(super) struct Script {
    pub statements: Vec<String>,
    pub bound: Bound,
    pub done: oneshot::Sender<Result<(), OneTripError>>,
}

impl Scripts {
    /// Starts the task that runs the scripts on `pool`, each batch in the
    /// database's `turn`; it ends when the last handle is dropped.
    pub fn start(pool: SqlitePool, turn: Arc<Mutex<()>>) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, turn, waiting));
        Self { queue }
    }

    /// Commits `statements` with `bound`, once the database takes it.
    pub(super) async fn commit(&self, statements: Vec<String>, bound: Bound) -> Result<(), OneTripError> {
        let (done, outcome) = oneshot::channel();
        let stopped = || OneTripError::Failed(anyhow::anyhow!("the database is closing"));
        self.queue
            .send(Script {
                statements,
                bound,
                done,
            })
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// The scripts run in this task, never in their callers': one dropped
/// halfway would leave its connection inside the transaction, and the pool
/// would hand that out.
async fn run(pool: SqlitePool, turn: Arc<Mutex<()>>, mut waiting: mpsc::UnboundedReceiver<Script>) {
    while let Some(first) = waiting.recv().await {
        let _turn = turn.clone().lock_owned().await;
        // Whatever queued while the turn was taken commits with it.
        let mut batch = vec![first];
        while batch.len() < MOST_PER_BATCH {
            match waiting.try_recv() {
                Ok(script) => batch.push(script),
                Err(_) => break,
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(error) => {
                let error = error.to_string();
                for script in batch {
                    let _ = script
                        .done
                        .send(Err(OneTripError::Failed(anyhow::anyhow!("{error}"))));
                }
                continue;
            }
        };
        if batch.len() > 1 {
            if let Ok(()) = run_together(&mut conn, &batch).await {
                for script in batch {
                    let _ = script.done.send(Ok(()));
                }
                continue;
            }
        }
        for script in batch {
            let outcome = run_alone(&mut conn, &script).await;
            let _ = script.done.send(outcome);
        }
    }
}

/// All of `batch` in one transaction, or none of it.
async fn run_together(conn: &mut PoolConnection<Sqlite>, batch: &[Script]) -> Result<(), sqlx::Error> {
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    let mut before = 0;
    for script in batch {
        let mut most = 0;
        for statement in &script.statements {
            let (shifted, highest) = shift_params(statement, before);
            let _ = writeln!(sql, "{shifted};");
            most = most.max(highest);
        }
        before = most;
    }
    sql.push_str("COMMIT");
    // Each batch is a text of its own: not worth a place in the statement cache.
    let mut query = sqlx::query(&sql).persistent(false);
    for script in batch {
        query = bind_all!(query, &script.bound);
    }
    let outcome = query.execute(&mut **conn).await.map(drop);
    if outcome.is_err() {
        roll_back(conn).await;
    }
    outcome
}

/// One script in a transaction of its own.
async fn run_alone(conn: &mut PoolConnection<Sqlite>, script: &Script) -> Result<(), OneTripError> {
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for statement in &script.statements {
        let _ = writeln!(sql, "{statement};");
    }
    sql.push_str("COMMIT");
    let outcome = bind_all!(sqlx::query(&sql), &script.bound)
        .execute(&mut **conn)
        .await;
    if outcome.is_err() {
        roll_back(conn).await;
    }
    outcome.map(drop).map_err(|e| classify(e, script.bound.guards))
}

/// Ends the transaction a failed script left open, if any.
async fn roll_back(conn: &mut PoolConnection<Sqlite>) {
    if sqlx::query("ROLLBACK").execute(&mut **conn).await.is_err() {
        // No transaction was open (`BEGIN` itself failed), or the connection
        // is broken: the pool opens a new one rather than trust it.
        conn.close_on_drop();
    }
}

/// `statement` with each parameter `$n` renumbered `$(n + by)`, and the
/// highest number it then holds (`by` if it has none).
fn shift_params(statement: &str, by: usize) -> (String, usize) {
    let mut shifted = String::with_capacity(statement.len() + 16);
    let mut highest = by;
    let mut rest = statement;
    while let Some(at) = rest.find('$') {
        shifted.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            let _ = write!(shifted, "{}", n + by);
            highest = highest.max(n + by);
        }
        rest = &rest[digits..];
    }
    shifted.push_str(rest);
    (shifted, highest)
}

#[cfg(test)]
mod tests {
    use super::shift_params;

    #[test]
    fn parameters_are_renumbered_after_the_ones_before() {
        assert_eq!(
            shift_params("INSERT INTO t VALUES ($1, $2), ($10, $11)", 30),
            ("INSERT INTO t VALUES ($31, $32), ($40, $41)".to_owned(), 41)
        );
        assert_eq!(shift_params("DELETE FROM t", 7), ("DELETE FROM t".to_owned(), 7));
    }
}
