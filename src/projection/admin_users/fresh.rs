//! Rows handed from the batch that wrote them straight to the callers waiting
//! for them: a mutation answers with its user's row as the projection stored
//! it, without a second statement to read it back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::AdminUserRow;
use crate::projection::AfterCommit;

#[derive(Clone, Default)]
pub struct FreshRows(Arc<Waiting>);

#[derive(Default)]
struct Waiting {
    by_user: Mutex<HashMap<String, Vec<Wanted>>>,
    next_ticket: AtomicU64,
}

struct Wanted {
    ticket: u64,
    /// The oldest row that will do: the one holding this event of the user.
    sequence: i64,
    send: oneshot::Sender<AdminUserRow>,
}

/// One caller's wait for a user's row; leaving drops the wait.
pub struct Awaited {
    rows: FreshRows,
    id: String,
    ticket: u64,
    receive: oneshot::Receiver<AdminUserRow>,
}

impl FreshRows {
    /// Waits for the row of `id` once it holds the user's event `sequence`.
    /// A batch that committed before this call hands nothing over: the
    /// caller reads the row it announced.
    pub fn wait_for(&self, id: &str, sequence: i64) -> Awaited {
        let (send, receive) = oneshot::channel();
        let ticket = self.0.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.waiting().entry(id.to_owned()).or_default().push(Wanted {
            ticket,
            sequence,
            send,
        });
        Awaited {
            rows: self.clone(),
            id: id.to_owned(),
            ticket,
            receive,
        }
    }

    /// What to hand over once the batch that wrote `written` commits: copies
    /// of the rows someone waits for, taken now, while the batch holds them.
    pub(super) fn after_commit<'a>(
        &self,
        written: impl Iterator<Item = &'a AdminUserRow>,
    ) -> Option<AfterCommit> {
        let rows: Vec<AdminUserRow> = {
            let waiting = self.waiting();
            if waiting.is_empty() {
                return None;
            }
            written
                .filter(|row| waiting.contains_key(&row.id))
                .cloned()
                .collect()
        };
        if rows.is_empty() {
            return None;
        }
        let this = self.clone();
        Some(Box::new(move || this.hand_over(rows)))
    }

    fn hand_over(&self, rows: Vec<AdminUserRow>) {
        let mut waiting = self.waiting();
        for row in rows {
            let Some(wanted) = waiting.get_mut(&row.id) else {
                continue;
            };
            let (ready, later): (Vec<Wanted>, Vec<Wanted>) =
                wanted.drain(..).partition(|w| w.sequence <= row.last_sequence);
            *wanted = later;
            if wanted.is_empty() {
                waiting.remove(&row.id);
            }
            for wanted in ready {
                // The caller may have left meanwhile.
                let _ = wanted.send.send(row.clone());
            }
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Wanted>>> {
        // A panic while holding the lock leaves the map as consistent as ever.
        self.0
            .by_user
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Awaited {
    /// The row, once a batch has handed it over.
    pub async fn row(&mut self) -> Option<AdminUserRow> {
        (&mut self.receive).await.ok()
    }

    /// The row, if a batch has handed it over already.
    pub fn try_row(&mut self) -> Option<AdminUserRow> {
        self.receive.try_recv().ok()
    }
}

impl Drop for Awaited {
    fn drop(&mut self) {
        let mut waiting = self.rows.waiting();
        if let Some(wanted) = waiting.get_mut(&self.id) {
            wanted.retain(|w| w.ticket != self.ticket);
            if wanted.is_empty() {
                waiting.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn row(id: &str, last_sequence: i64) -> AdminUserRow {
        let mut row = AdminUserRow::blank(id, Utc::now());
        row.last_sequence = last_sequence;
        row
    }

    #[test]
    fn a_wait_takes_the_first_committed_row_that_holds_its_event() {
        let fresh = FreshRows::default();
        let mut wait = fresh.wait_for("u1", 2);
        let older = fresh.after_commit([row("u1", 1), row("u2", 5)].iter());
        older.expect("u1 is waited for")();
        assert!(wait.try_row().is_none(), "the row before event 2 does not do");
        let newer = fresh
            .after_commit([row("u1", 2)].iter())
            .expect("u1 is still waited for");
        assert!(
            wait.try_row().is_none(),
            "nothing is handed over before its batch commits"
        );
        newer();
        assert_eq!(wait.try_row().map(|r| r.last_sequence), Some(2));
        assert!(
            fresh.after_commit([row("u1", 3)].iter()).is_none(),
            "a wait that got its row is over"
        );
    }

    #[test]
    fn a_caller_that_leaves_waits_no_more() {
        let fresh = FreshRows::default();
        let stays = fresh.wait_for("u1", 1);
        drop(fresh.wait_for("u1", 1));
        drop(fresh.wait_for("u2", 1));
        assert!(fresh.after_commit([row("u2", 1)].iter()).is_none());
        assert!(fresh.after_commit([row("u1", 1)].iter()).is_some());
        drop(stays);
        assert!(fresh.after_commit([row("u1", 1)].iter()).is_none());
    }
}
