//! The pause switch: kept in the database, so it holds for every replica and
//! survives restarts.

use crate::db::Db;
use crate::on_db;

const KEY: &str = "clerk_sync_paused";

/// SQL that holds while sync runs, for statements that must do nothing while
/// it is paused (it saves each claim a query of its own). A macro, so that
/// `concat!` can build whole statements with it.
macro_rules! not_paused {
    () => {
        "NOT EXISTS (SELECT 1 FROM settings WHERE key = 'clerk_sync_paused' AND value = 'true')"
    };
}
pub(super) use not_paused;

pub async fn is_paused(db: &Db) -> anyhow::Result<bool> {
    let value: Option<String> = on_db!(db, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(KEY)
        .fetch_optional(pool)
        .await?);
    Ok(value.as_deref() == Some("true"))
}

pub async fn set_paused(db: &Db, paused: bool) -> anyhow::Result<()> {
    let _turn = db.write_turn().await;
    on_db!(db, pool => sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(KEY)
    .bind(if paused { "true" } else { "false" })
    .execute(pool)
    .await
    .map(drop))?;
    Ok(())
}
