//! Live change notices for subscriptions. Each replica's projection runner
//! announces the users it just projected; on Postgres the notices also cross
//! to the other replicas through LISTEN/NOTIFY, since only one replica
//! projects each batch.

use std::sync::Arc;

use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::db::Tx;
use crate::projection::ProjectionHandle;

const CHANNEL: &str = "tandem_user_changed";

/// Sends one replica's notices to the others.
pub struct Publisher {
    replica: String,
}

impl Publisher {
    /// Queues the notice inside the batch's own transaction: Postgres sends
    /// it at commit, so it costs no commit (and no disk flush) of its own and
    /// never announces a batch that rolled back.
    pub async fn publish(&self, tx: &mut Tx, ids: &[String]) -> anyhow::Result<()> {
        let Tx::Pg(tx) = tx else {
            return Ok(());
        };
        // NOTIFY payloads stop at 8000 bytes: a hundred ids fit.
        for chunk in ids.chunks(100) {
            let payload = serde_json::json!({ "replica": self.replica, "ids": chunk }).to_string();
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// This replica's publisher, and the task that announces other replicas' notices here.
pub fn bridge(pool: PgPool, users: ProjectionHandle) -> (Publisher, tokio::task::JoinHandle<()>) {
    let replica = uuid::Uuid::new_v4().to_string();
    let listener = tokio::spawn(listen(pool, users, replica.clone()));
    (Publisher { replica }, listener)
}

async fn listen(pool: PgPool, users: ProjectionHandle, replica: String) {
    loop {
        if let Err(error) = listen_once(&pool, &users, &replica).await {
            tracing::warn!(error = %error, "change listener stopped; reconnecting");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

async fn listen_once(pool: &PgPool, users: &ProjectionHandle, replica: &str) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notice = listener.recv().await?;
        let Ok(body) = serde_json::from_str::<serde_json::Value>(notice.payload()) else {
            continue;
        };
        if body["replica"] == replica {
            continue;
        }
        let ids: Vec<String> = body["ids"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        users.announce(Arc::from(ids));
    }
}
