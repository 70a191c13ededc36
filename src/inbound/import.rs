//! The initial import: every Clerk user, page by page, linked by
//! `external_id`, then by Clerk id, then by primary email, or created.
//! Re-running changes nothing; a crash resumes from the last page done.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::apply::{Applied, InboundError, InboundSync};
use crate::clerk::ClerkClient;
use crate::db::Db;
use crate::on_db;

const PAGE: u32 = 100;
const RESUME_KEY: &str = "clerk_import_offset";

#[derive(Debug, Clone, Default, Serialize, async_graphql::SimpleObject)]
pub struct ImportReport {
    pub running: bool,
    pub seen: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub ignored: i64,
    /// Clerk users that cannot be applied, with the reason.
    pub rejected: Vec<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// Runs the import, keeping `progress` current for whoever watches it.
pub async fn import_from_clerk(
    db: &Db,
    clerk: &ClerkClient,
    inbound: &InboundSync,
    progress: &Mutex<ImportReport>,
) -> anyhow::Result<ImportReport> {
    let update = |f: &dyn Fn(&mut ImportReport)| f(&mut progress.lock().expect("import progress lock"));
    update(&|r: &mut ImportReport| {
        *r = ImportReport {
            running: true,
            started_at: Some(Utc::now()),
            ..Default::default()
        }
    });
    let result = run(db, clerk, inbound, progress).await;
    update(&|r| {
        r.running = false;
        r.finished_at = Some(Utc::now());
        if let Err(error) = &result {
            r.error = Some(format!("{error:#}"));
        }
    });
    result?;
    Ok(progress.lock().expect("import progress lock").clone())
}

async fn run(
    db: &Db,
    clerk: &ClerkClient,
    inbound: &InboundSync,
    progress: &Mutex<ImportReport>,
) -> anyhow::Result<()> {
    let mut offset = resume_offset(db).await?;
    loop {
        let page = clerk.list_users(PAGE, offset).await?;
        for user in &page {
            let outcome = inbound.observe(user, true, true, None).await;
            {
                let mut r = progress.lock().expect("import progress lock");
                r.seen += 1;
                match &outcome {
                    Ok(Applied::Created(_)) => r.created += 1,
                    Ok(Applied::Updated(_)) => r.updated += 1,
                    Ok(Applied::Unchanged(_) | Applied::Duplicate) => r.unchanged += 1,
                    Ok(Applied::Ignored(_)) => r.ignored += 1,
                    Err(InboundError::Rejected(reason)) => r.rejected.push(format!("{}: {reason}", user.id)),
                    Err(InboundError::Internal(_)) => {}
                }
            }
            if let Err(InboundError::Internal(error)) = outcome {
                return Err(error.context(format!("importing Clerk user {}", user.id)));
            }
        }
        offset += page.len() as u32;
        if (page.len() as u32) < PAGE {
            set_resume_offset(db, None).await?;
            return Ok(());
        }
        set_resume_offset(db, Some(offset)).await?;
    }
}

async fn resume_offset(db: &Db) -> anyhow::Result<u32> {
    let value: Option<String> = on_db!(db, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(RESUME_KEY)
        .fetch_optional(pool)
        .await?);
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

async fn set_resume_offset(db: &Db, offset: Option<u32>) -> anyhow::Result<()> {
    let _turn = db.write_turn().await;
    match offset {
        Some(offset) => on_db!(db, pool => sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(RESUME_KEY)
        .bind(offset.to_string())
        .execute(pool)
        .await
        .map(drop))?,
        None => on_db!(db, pool => sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(RESUME_KEY)
            .execute(pool)
            .await
            .map(drop))?,
    }
    Ok(())
}
