//! Webhook deliveries already handled, kept by Svix message id so a
//! redelivery changes nothing, on any replica.

use chrono::{SubsecRound, Utc};

use futures::future::BoxFuture;

use crate::db::{Db, Tx};
use crate::domain::user::User;
use crate::store::{param, Alongside, Dialect, Param, Write};
use crate::{on_db, on_tx};

/// One webhook delivery, as its receipt names it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub svix_id: String,
    pub event_type: String,
}

macro_rules! insert_receipt {
    () => {
        "INSERT INTO webhook_receipts (svix_id, event_type, outcome, received_at) VALUES ($1, $2, $3, $4)"
    };
}

macro_rules! keep_first {
    () => {
        " ON CONFLICT (svix_id) DO NOTHING"
    };
}

/// A receipt kept already stays as it was.
const RECORD: &str = concat!(insert_receipt!(), keep_first!());
/// A receipt kept already breaks the statement on the key of [`RECEIPTS`].
const RECORD_NEW: &str = insert_receipt!();

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

    /// For a delivery that changed nothing, written after it was applied:
    /// applying is idempotent, so a crash in between only means the
    /// redelivery applies (nothing) again.
    pub async fn record(&self, delivery: &Delivery, outcome: &str) -> Result<(), sqlx::Error> {
        let _turn = self.db.write_turn().await;
        on_db!(&self.db, pool => sqlx::query(RECORD)
        .bind(&delivery.svix_id)
        .bind(&delivery.event_type)
        .bind(outcome)
        .bind(Utc::now().trunc_subsecs(6))
        .execute(pool)
        .await
        .map(drop))
    }
}

/// The receipt of a delivery that changed a user: written with the events it
/// led to, so the two commit (and wait for the disk) together.
pub struct Receipt {
    pub delivery: Delivery,
    pub outcome: String,
    /// The delivery must be new: a receipt kept already breaks the commit on
    /// the key of [`RECEIPTS`] instead of being kept.
    pub new: bool,
}

pub const RECEIPTS: &str = "webhook_receipts";

impl Receipt {
    fn on_conflict(&self) -> &'static str {
        if self.new {
            ""
        } else {
            keep_first!()
        }
    }
}

impl Alongside for Receipt {
    fn in_tx<'t>(&'t self, tx: &'t mut Tx, _after: &'t User) -> BoxFuture<'t, anyhow::Result<()>> {
        Box::pin(async move {
            let sql = if self.new { RECORD_NEW } else { RECORD };
            on_tx!(tx, tx => sqlx::query(sql)
                .bind(&self.delivery.svix_id)
                .bind(&self.delivery.event_type)
                .bind(&self.outcome)
                .bind(Utc::now().trunc_subsecs(6))
                .execute(&mut **tx)
                .await
                .map(drop))?;
            Ok(())
        })
    }

    fn writes(&self, _after: &User, _dialect: Dialect, next: &mut usize) -> Vec<Write> {
        let values: Vec<String> = (0..4).map(|_| param(next)).collect();
        vec![Write {
            name: "receipt",
            sql: format!(
                "INSERT INTO webhook_receipts (svix_id, event_type, outcome, received_at) VALUES ({}){}",
                values.join(", "),
                self.on_conflict()
            ),
        }]
    }

    fn params(&self, _after: &User) -> Vec<Param> {
        vec![
            Param::Text(self.delivery.svix_id.clone()),
            Param::Text(self.delivery.event_type.clone()),
            Param::Text(self.outcome.clone()),
            Param::Time(Utc::now().trunc_subsecs(6)),
        ]
    }
}
