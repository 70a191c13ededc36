//! Reads: one user, and the admin list.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, InputObject, Object, ID};

use super::error::{ApiError, ApiResult};
use super::user::UserNode;
use super::ApiServices;
use crate::projection::admin_users::{
    ListFilter, OrderDirection, OrderField, PageRequest, SortKey, SyncStatus,
};

const DEFAULT_PAGE: i32 = 20;
const MAX_PAGE: i32 = 100;

#[derive(InputObject, Clone, Copy)]
pub struct UserOrder {
    pub field: OrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

pub type UserConnection = Connection<OpaqueCursor<SortKey>, UserNode, UserListTotals, EmptyFields>;

/// Totals of a list, counted only when asked for.
pub struct UserListTotals {
    filter: ListFilter,
    /// Counted with the page already.
    total: Option<i64>,
}

#[Object]
impl UserListTotals {
    /// Users matching the filters, on every page.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match self.total {
            Some(total) => Ok(total),
            None => ctx.data::<ApiServices>()?.read.count(&self.filter).await.api(),
        }
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// A user by id; deleted users too, with `deletedAt` set.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<UserNode>> {
        let services = ctx.data::<ApiServices>()?;
        Ok(services.read.get(&id).await.api()?.map(UserNode))
    }

    /// The admin list, newest first unless `orderBy` says otherwise.
    /// `search` matches email, username and names, ignoring case.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        sync_status: Option<SyncStatus>,
        role: Option<String>,
        include_deleted: Option<bool>,
        order_by: Option<UserOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let services = ctx.data::<ApiServices>()?;
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(ApiError::Validation {
                field: "first",
                message: format!("first must be between 1 and {MAX_PAGE}"),
            })
            .api();
        }
        let after = after
            .map(|cursor| OpaqueCursor::<SortKey>::decode_cursor(&cursor).map(|c| c.0))
            .transpose()
            .map_err(|_| ApiError::Validation {
                field: "after",
                message: "after is not a cursor from this list".into(),
            })
            .api()?;
        let order = order_by.unwrap_or(UserOrder {
            field: OrderField::CreatedAt,
            direction: OrderDirection::Desc,
        });
        let filter = ListFilter {
            search,
            sync_status,
            role,
            include_deleted: include_deleted.unwrap_or(false),
        };
        let request = PageRequest {
            field: order.field,
            direction: order.direction,
            has_after: after.is_some(),
            after,
            first: i64::from(first),
        };
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let page = services
            .read
            .list(&filter, &request, with_total)
            .await
            .map_err(|e| match e {
                crate::projection::admin_users::ListError::CursorMismatch => ApiError::Validation {
                    field: "after",
                    message: "after is a cursor from a list in another order".into(),
                },
                crate::projection::admin_users::ListError::Db(e) => ApiError::internal(e),
            });
        let page = page.api()?;
        let mut connection = Connection::with_additional_fields(
            request.has_after,
            page.has_next,
            UserListTotals {
                filter,
                total: page.total,
            },
        );
        connection.edges.extend(
            page.rows
                .into_iter()
                .map(|row| Edge::new(OpaqueCursor(SortKey::of(order.field, &row)), UserNode(row))),
        );
        Ok(connection)
    }
}
