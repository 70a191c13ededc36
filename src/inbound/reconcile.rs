//! Reconciliation: compares every user on both sides, reports the drift per
//! field, and (unless a dry run) heals it by the conflict policy — the newer
//! side's state wins, and Tandem's wins are pushed through the sync saga.

use std::collections::HashMap;

use chrono::Utc;
use serde::Serialize;

use super::apply::{profile_of, InboundSync};
use crate::clerk::model::ClerkUser;
use crate::clerk::ClerkClient;
use crate::db::Db;
use crate::domain::user::{ClerkProfile, SyncOutcome, User, UserCommand};
use crate::on_db;
use crate::store::{EventLog, EventMeta, Origin};
use crate::sync::ensure_job;

const PAGE: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, async_graphql::SimpleObject)]
pub struct Drift {
    pub user_id: Option<String>,
    pub clerk_id: Option<String>,
    /// `missing_in_tandem`, `missing_in_clerk`, `deleted_in_tandem` or `field`.
    pub kind: String,
    pub field: Option<String>,
    pub tandem: Option<String>,
    pub clerk: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, async_graphql::SimpleObject)]
pub struct ReconcileReport {
    pub clerk_users: i64,
    pub tandem_users: i64,
    pub drift: Vec<Drift>,
    pub healed: bool,
}

fn drift(user_id: Option<&str>, clerk_id: Option<&str>, kind: &str) -> Drift {
    Drift {
        user_id: user_id.map(str::to_owned),
        clerk_id: clerk_id.map(str::to_owned),
        kind: kind.to_owned(),
        field: None,
        tandem: None,
        clerk: None,
    }
}

fn field_drift(user_id: &str, clerk_id: &str, ours: &ClerkProfile, theirs: &ClerkProfile) -> Vec<Drift> {
    let fields = [
        ("email", Some(ours.email.clone()), Some(theirs.email.clone())),
        ("username", ours.username.clone(), theirs.username.clone()),
        ("firstName", ours.first_name.clone(), theirs.first_name.clone()),
        ("lastName", ours.last_name.clone(), theirs.last_name.clone()),
    ];
    fields
        .into_iter()
        .filter(|(name, o, t)| {
            if *name == "email" {
                !o.as_deref()
                    .unwrap_or_default()
                    .eq_ignore_ascii_case(t.as_deref().unwrap_or_default())
            } else {
                o != t
            }
        })
        .map(|(name, tandem, clerk)| Drift {
            field: Some(name.to_owned()),
            tandem,
            clerk,
            ..drift(Some(user_id), Some(clerk_id), "field")
        })
        .collect()
}

async fn all_clerk_users(clerk: &ClerkClient) -> anyhow::Result<Vec<ClerkUser>> {
    let mut users = Vec::new();
    loop {
        let page = clerk.list_users(PAGE, users.len() as u32).await?;
        let done = (page.len() as u32) < PAGE;
        users.extend(page);
        if done {
            return Ok(users);
        }
    }
}

pub async fn reconcile(
    db: &Db,
    log: &EventLog,
    clerk: &ClerkClient,
    inbound: &InboundSync,
    dry_run: bool,
) -> anyhow::Result<ReconcileReport> {
    let clerk_users = all_clerk_users(clerk).await?;
    let local_ids: Vec<String> = on_db!(db, pool => sqlx::query_scalar("SELECT id FROM admin_users ORDER BY id")
        .fetch_all(pool)
        .await?);
    let mut report = ReconcileReport {
        clerk_users: clerk_users.len() as i64,
        tandem_users: local_ids.len() as i64,
        healed: !dry_run,
        ..Default::default()
    };
    let mut locals: HashMap<String, User> = HashMap::new();
    for id in &local_ids {
        locals.insert(id.clone(), log.load(id).await?);
    }
    let by_clerk_id: HashMap<&str, &str> = locals
        .iter()
        .filter_map(|(id, u)| u.clerk_id().map(|c| (c, id.as_str())))
        .collect();
    let meta = EventMeta::new("reconcile", Origin::System, None);
    let mut seen_locals = Vec::new();
    for theirs in &clerk_users {
        let Some(profile) = profile_of(theirs) else {
            continue;
        };
        let local_id = theirs
            .external_id
            .as_deref()
            .filter(|id| locals.contains_key(*id))
            .or_else(|| by_clerk_id.get(theirs.id.as_str()).copied());
        let Some(local_id) = local_id else {
            report
                .drift
                .push(drift(None, Some(&theirs.id), "missing_in_tandem"));
            if !dry_run {
                inbound
                    .observe(theirs, true, true, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            continue;
        };
        seen_locals.push(local_id.to_owned());
        let ours = &locals[local_id];
        if ours.is_deleted() {
            report
                .drift
                .push(drift(Some(local_id), Some(&theirs.id), "deleted_in_tandem"));
            if !dry_run {
                record_clerk_state(log, local_id, theirs, profile, &meta).await?;
                ensure_job(db, local_id, Utc::now()).await?;
            }
            continue;
        }
        let fields = field_drift(local_id, &theirs.id, ours.clerk(), &profile);
        if fields.is_empty() {
            continue;
        }
        report.drift.extend(fields);
        if dry_run {
            continue;
        }
        // Settled field by field by edit time: a Clerk edit may hide behind our
        // own later push. Tandem's wins are pushed by the saga.
        inbound
            .observe(theirs, false, true, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for (id, ours) in &locals {
        if ours.is_deleted() || seen_locals.contains(id) {
            continue;
        }
        report
            .drift
            .push(drift(Some(id), ours.clerk_id(), "missing_in_clerk"));
        if dry_run {
            continue;
        }
        match ours.clerk_id() {
            // Clerk had it and deleted it: a missed user.deleted.
            Some(clerk_id) => {
                inbound
                    .deleted(clerk_id, Some(id), None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            // Never reached Clerk: make sure a push is on its way.
            None => ensure_job(db, id, Utc::now()).await?,
        }
    }
    Ok(report)
}

async fn record_clerk_state(
    log: &EventLog,
    id: &str,
    theirs: &ClerkUser,
    profile: ClerkProfile,
    meta: &EventMeta,
) -> anyhow::Result<()> {
    let outcome = SyncOutcome::Synced {
        clerk_id: Some(theirs.id.clone()),
        clerk: profile,
        deleted: false,
        clerk_updated_at: Some(theirs.updated_at),
    };
    log.execute(id, UserCommand::RecordSync(outcome), meta).await?;
    Ok(())
}
