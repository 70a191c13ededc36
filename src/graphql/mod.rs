//! The GraphQL API: schema assembly, limits and per-request context.

mod error;
mod history;
mod inbound;
mod inputs;
mod mutation;
mod parsed;
mod query;
mod subscription;
mod sync;
mod user;

use std::sync::Arc;

use async_graphql::{MergedObject, Schema};

pub use error::{ApiError, ApiResult};
pub use parsed::ParsedQueries;

use crate::inbound::Inbound;
use crate::projection::admin_users::AdminUsers;
use crate::projection::ProjectionHandle;
use crate::store::EventLog;
use crate::sync::SyncControl;
use crate::users::UserService;

#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(query::UserQuery, sync::SyncQuery, inbound::InboundQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    mutation::UserMutation,
    sync::SyncMutation,
    inbound::InboundMutation,
);

pub type TandemSchema = Schema<QueryRoot, MutationRoot, subscription::SubscriptionRoot>;

/// What resolvers reach through the context.
#[derive(Clone)]
pub struct ApiServices {
    pub users: Arc<UserService>,
    pub read: AdminUsers,
    pub log: Arc<EventLog>,
    pub sync: Arc<SyncControl>,
    /// Admin-list changes, for subscriptions.
    pub changes: ProjectionHandle,
    pub inbound: Arc<Inbound>,
}

/// Who is asking, stamped on every event a request causes.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub actor: String,
    pub request_id: Option<String>,
}

/// Deep enough for GraphiQL's introspection query (type references nest
/// about 13 levels), shallow enough to stop abuse; the API itself needs 6.
const MAX_DEPTH: usize = 16;
const MAX_COMPLEXITY: usize = 5_000;

pub fn schema(services: Option<ApiServices>) -> TandemSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY);
    if let Some(services) = services {
        builder = builder.data(services);
    }
    builder.finish()
}

/// The SDL as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}
