//! Writes: each resolver parses its input, runs one service call and maps the result.

use async_graphql::{Context, Object, ID};

use super::error::ApiResult;
use super::inputs::{CreateUserInput, UpdateUserInput};
use super::user::UserNode;
use super::{ApiServices, RequestContext};
use crate::store::{EventMeta, Origin};

pub(super) fn admin_meta(ctx: &Context<'_>) -> EventMeta {
    match ctx.data_opt::<RequestContext>() {
        Some(request) => EventMeta::new(request.actor.clone(), Origin::Admin, request.request_id.clone()),
        None => EventMeta::new("admin", Origin::Admin, None),
    }
}

fn version(expected: Option<i64>) -> Option<u64> {
    // A negative version can never match, which is what the caller should hear.
    expected.map(|v| u64::try_from(v).unwrap_or(u64::MAX))
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<UserNode> {
        let services = ctx.data::<ApiServices>()?;
        let (clerk, local) = input.parse().api()?;
        let row = services
            .users
            .create(clerk, local, &admin_meta(ctx))
            .await
            .api()?;
        Ok(UserNode(row))
    }

    /// With `expectedVersion`, fails with `CONFLICT` if the user changed since
    /// that version, and writes nothing.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateUserInput,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<UserNode> {
        let services = ctx.data::<ApiServices>()?;
        let (clerk, local) = input.parse().api()?;
        let row = services
            .users
            .update(&id, version(expected_version), clerk, local, &admin_meta(ctx))
            .await
            .api()?;
        Ok(UserNode(row))
    }

    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ID> {
        let services = ctx.data::<ApiServices>()?;
        services
            .users
            .delete(&id, version(expected_version), &admin_meta(ctx))
            .await
            .api()?;
        Ok(id)
    }
}
