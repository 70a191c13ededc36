//! Live change notices for subscriptions. Each replica's projection runner
//! announces the users it just projected; on Postgres the notices also cross
//! to the other replicas through LISTEN/NOTIFY, since only one replica
//! projects each batch.

use std::sync::Arc;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast::error::RecvError;

use crate::projection::ProjectionHandle;

const CHANNEL: &str = "tandem_user_changed";

/// Spawns the tasks that carry notices between replicas; none on SQLite.
pub fn bridge(pool: PgPool, users: ProjectionHandle) -> Vec<tokio::task::JoinHandle<()>> {
    let replica = uuid::Uuid::new_v4().to_string();
    vec![
        tokio::spawn(publish(pool.clone(), users.clone(), replica.clone())),
        tokio::spawn(listen(pool, users, replica)),
    ]
}

async fn publish(pool: PgPool, users: ProjectionHandle, replica: String) {
    let mut changes = users.changes();
    loop {
        let ids = match changes.recv().await {
            Ok(changed) if !changed.remote => changed.ids,
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        // NOTIFY payloads stop at 8000 bytes: a hundred ids fit.
        for chunk in ids.chunks(100) {
            let payload = serde_json::json!({ "replica": replica, "ids": chunk }).to_string();
            if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %error, "could not publish a change notice");
            }
        }
    }
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
