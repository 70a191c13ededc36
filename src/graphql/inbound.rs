//! Bringing Clerk's users in: the import and reconciliation.

use async_graphql::{Context, Object};

use super::error::ApiResult;
use super::ApiServices;
use crate::inbound::{ImportReport, ReconcileReport};

#[derive(Default)]
pub struct InboundQuery;

#[Object]
impl InboundQuery {
    /// Progress of the running (or last) import from Clerk.
    async fn import_status(&self, ctx: &Context<'_>) -> async_graphql::Result<ImportReport> {
        Ok(ctx.data::<ApiServices>()?.inbound.import_status())
    }
}

#[derive(Default)]
pub struct InboundMutation;

#[Object]
impl InboundMutation {
    /// Starts importing every Clerk user (link by external id, then Clerk id,
    /// then primary email; create the rest). Re-running changes nothing.
    /// Answers at once; follow `importStatus`.
    async fn import_from_clerk(&self, ctx: &Context<'_>) -> async_graphql::Result<ImportReport> {
        Ok(ctx.data::<ApiServices>()?.inbound.start_import())
    }

    /// Compares every user on both sides and reports the drift per field;
    /// unless `dryRun`, heals it by the conflict policy.
    async fn reconcile(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = true)] dry_run: bool,
    ) -> async_graphql::Result<ReconcileReport> {
        ctx.data::<ApiServices>()?.inbound.reconcile(dry_run).await.api()
    }
}
