//! Inbound sync: Clerk's state of a user (from a webhook, the import or
//! reconciliation) applied to Tandem as events with origin `CLERK` — linked
//! to the right user, merged by the conflict policy, never echoed back.

mod apply;
mod import;
mod receipts;
mod reconcile;
mod sign_up;

pub use apply::{Applied, InboundError, InboundSync, ACTOR};
pub use import::{import_from_clerk, ImportReport};
pub use receipts::{Delivery, Receipts};
pub use reconcile::{reconcile, Drift, ReconcileReport};

use std::sync::{Arc, Mutex};

use crate::clerk::ClerkClient;
use crate::db::Db;
use crate::store::EventLog;

/// Everything inbound needs, shared by the webhook endpoint, the API and the CLI.
pub struct Inbound {
    pub db: Db,
    pub log: Arc<EventLog>,
    pub clerk: Arc<ClerkClient>,
    pub sync: InboundSync,
    pub receipts: Receipts,
    import: Mutex<ImportReport>,
}

impl Inbound {
    pub fn new(db: Db, log: Arc<EventLog>, clerk: Arc<ClerkClient>) -> Self {
        Self {
            sync: InboundSync::new(db.clone(), log.clone()),
            receipts: Receipts::new(db.clone()),
            db,
            log,
            clerk,
            import: Mutex::new(ImportReport::default()),
        }
    }

    pub fn import_status(&self) -> ImportReport {
        self.import.lock().expect("import progress lock").clone()
    }

    /// Starts the import in the background unless one is running; answers with its progress.
    pub fn start_import(self: &Arc<Self>) -> ImportReport {
        {
            let mut progress = self.import.lock().expect("import progress lock");
            if progress.running {
                return progress.clone();
            }
            progress.running = true;
        }
        let this = self.clone();
        tokio::spawn(async move {
            match this.import().await {
                Ok(report) => tracing::info!(
                    import.seen = report.seen,
                    import.created = report.created,
                    "Clerk import finished"
                ),
                Err(error) => tracing::error!(error = %format!("{error:#}"), "Clerk import failed"),
            }
        });
        self.import_status()
    }

    pub async fn import(&self) -> anyhow::Result<ImportReport> {
        import_from_clerk(&self.db, &self.clerk, &self.sync, &self.import).await
    }

    pub async fn reconcile(&self, dry_run: bool) -> anyhow::Result<ReconcileReport> {
        reconcile(&self.db, &self.log, &self.clerk, &self.sync, dry_run).await
    }
}
