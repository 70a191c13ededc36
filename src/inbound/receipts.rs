//! Webhook deliveries already handled, kept by Svix message id so a
//! redelivery changes nothing, on any replica.

use chrono::{SubsecRound, Utc};

use crate::db::Db;
use crate::on_db;

#[derive(Clone)]
pub struct Receipts {
    db: Db,
}

impl Receipts {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn seen(&self, svix_id: &str) -> Result<bool, sqlx::Error> {
        let found: Option<String> = on_db!(&self.db, pool => sqlx::query_scalar("SELECT svix_id FROM webhook_receipts WHERE svix_id = $1")
            .bind(svix_id)
            .fetch_optional(pool)
            .await?);
        Ok(found.is_some())
    }

    /// Written after the event was applied: applying is idempotent, so a crash
    /// in between only means the redelivery applies (nothing) again.
    pub async fn record(&self, svix_id: &str, event_type: &str, outcome: &str) -> Result<(), sqlx::Error> {
        on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO webhook_receipts (svix_id, event_type, outcome, received_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (svix_id) DO NOTHING",
        )
        .bind(svix_id)
        .bind(event_type)
        .bind(outcome)
        .bind(Utc::now().trunc_subsecs(6))
        .execute(pool)
        .await
        .map(drop))
    }
}
