//! The admin list: one row per user with real, indexed columns, folded from
//! the user's events.

mod fresh;
mod query;
mod row;

use std::collections::HashMap;

use async_trait::async_trait;

pub use fresh::{Awaited, FreshRows};
pub use query::{AdminUsers, ListError, ListFilter, OrderDirection, OrderField, Page, PageRequest, SortKey};
pub use row::{AdminUserRow, SyncStatus};

use super::feed::{aggregate_events, StoredEvent};
use super::{AfterCommit, Projector};
use crate::db::Tx;
use crate::domain::user::User;
use crate::on_tx;
use cqrs_es::Aggregate;

/// Keeps the admin list; hands each row it writes to whoever waits in `fresh`.
#[derive(Default)]
pub struct AdminUsersProjector {
    pub fresh: FreshRows,
}

#[async_trait]
impl Projector for AdminUsersProjector {
    fn name(&self) -> &'static str {
        "admin_users"
    }

    async fn apply(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<Option<AfterCommit>> {
        // Group by user, keeping feed order within each user.
        let mut order: Vec<&str> = Vec::new();
        let mut by_user: HashMap<&str, Vec<&StoredEvent>> = HashMap::new();
        for event in events.iter().filter(|e| e.aggregate_type == User::TYPE) {
            by_user
                .entry(&event.aggregate_id)
                .or_insert_with(|| {
                    order.push(&event.aggregate_id);
                    Vec::new()
                })
                .push(event);
        }
        let mut stored = row::load_many(tx, &order).await?;
        let mut changed = Vec::new();
        for id in order {
            let before = stored.remove(id);
            let mut current = before.clone();
            let mut rebuilt = false;
            for event in &by_user[id] {
                let last = current.as_ref().map_or(0, |r| r.last_sequence);
                if event.sequence <= last {
                    continue;
                }
                if event.sequence != last + 1 {
                    // A gap: the row was lost or rolled back. Rebuilding from
                    // the user's events also covers this event.
                    current = rebuild(tx, id).await?;
                    rebuilt = true;
                    break;
                }
                current = Some(AdminUserRow::apply(current, event)?);
            }
            if let Some(row) = current.filter(|r| Some(r) != before.as_ref()) {
                let first = before.is_none() && !rebuilt;
                changed.push((row, before, first));
            }
        }
        store(tx, &changed).await?;
        Ok(self.fresh.after_commit(changed.iter().map(|(row, ..)| row)))
    }

    async fn reset(&self, tx: &mut Tx) -> anyhow::Result<()> {
        on_tx!(tx, tx => {
            sqlx::query("DELETE FROM admin_user_roles").execute(&mut **tx).await?;
            sqlx::query("DELETE FROM admin_user_counts").execute(&mut **tx).await?;
            sqlx::query("DELETE FROM admin_users").execute(&mut **tx).await?;
        });
        Ok(())
    }

    /// Sequences run 1, 2, 3... per user, so rows that all hold their user's
    /// latest event sum to the number of events: one count over the events'
    /// key and one over the rows, instead of grouping a million events by user.
    async fn needs_repair(&self, tx: &mut Tx) -> anyhow::Result<bool> {
        let wrong: i64 = on_tx!(tx, tx => sqlx::query_scalar(
            "SELECT CASE WHEN (SELECT COUNT(*) FROM events WHERE aggregate_type = $1)
                            = (SELECT COALESCE(SUM(last_sequence), 0) FROM admin_users)
                         THEN 0 ELSE 1 END
                  + (SELECT COUNT(*) FROM
                      (SELECT sync_status, CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END AS live, COUNT(*) AS users
                       FROM admin_users GROUP BY 1, 2
                       EXCEPT SELECT sync_status, live, users FROM admin_user_counts WHERE users <> 0) miscounted)
                  + (SELECT COUNT(*) FROM
                      (SELECT sync_status, live, users FROM admin_user_counts WHERE users <> 0
                       EXCEPT SELECT sync_status, CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END, COUNT(*)
                       FROM admin_users GROUP BY 1, 2) overcounted)",
        )
        .bind(User::TYPE)
        .fetch_one(&mut **tx)
        .await?);
        Ok(wrong > 0)
    }

    async fn repair(&self, tx: &mut Tx) -> anyhow::Result<usize> {
        let (drifted, orphans): (Vec<String>, u64) = on_tx!(tx, tx => {
            let drifted = sqlx::query_scalar(
                "SELECT e.aggregate_id
                 FROM (SELECT aggregate_id, MAX(sequence) AS last_sequence
                       FROM events WHERE aggregate_type = $1 GROUP BY aggregate_id) e
                 LEFT JOIN admin_users v ON v.id = e.aggregate_id
                 WHERE v.id IS NULL OR v.last_sequence <> e.last_sequence",
            )
            .bind(User::TYPE)
            .fetch_all(&mut **tx)
            .await?;
            let orphans = sqlx::query(
                "DELETE FROM admin_users WHERE NOT EXISTS
                   (SELECT 1 FROM events e WHERE e.aggregate_type = $1 AND e.aggregate_id = admin_users.id)",
            )
            .bind(User::TYPE)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            (drifted, orphans)
        });
        let ids: Vec<&str> = drifted.iter().map(String::as_str).collect();
        let mut stored = row::load_many(tx, &ids).await?;
        let mut rebuilt = Vec::new();
        for id in ids {
            if let Some(row) = rebuild(tx, id).await? {
                // A row missing here may have left its roles behind.
                rebuilt.push((row, stored.remove(id), false));
            }
        }
        store(tx, &rebuilt).await?;
        // Counts follow the rows; after hand edits only a recount is sure.
        on_tx!(tx, tx => {
            sqlx::query("DELETE FROM admin_user_counts").execute(&mut **tx).await?;
            sqlx::query(
                "INSERT INTO admin_user_counts (sync_status, live, users)
                 SELECT sync_status, CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END, COUNT(*)
                 FROM admin_users GROUP BY 1, 2",
            )
            .execute(&mut **tx)
            .await?;
        });
        Ok(drifted.len() + orphans as usize)
    }
}

/// Rows to write: each with the row it replaces, and whether it begins
/// with its user's first event.
async fn store(tx: &mut Tx, rows: &[(AdminUserRow, Option<AdminUserRow>, bool)]) -> anyhow::Result<()> {
    let changes: Vec<row::Change<'_>> = rows
        .iter()
        .map(|(row, before, first)| row::Change {
            row,
            before: before.as_ref(),
            first: *first,
        })
        .collect();
    row::store_many(tx, &changes).await
}

async fn rebuild(tx: &mut Tx, id: &str) -> anyhow::Result<Option<AdminUserRow>> {
    let mut row = None;
    for event in aggregate_events(tx, User::TYPE, id).await? {
        row = Some(AdminUserRow::apply(row, &event)?);
    }
    Ok(row)
}
