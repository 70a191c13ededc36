//! Live updates: each change to a user's admin-list row, as it is projected.

use std::collections::VecDeque;

use async_graphql::{Context, Subscription, ID};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::user::UserNode;
use super::ApiServices;

pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The user's row after every change (profile or sync status); all users,
    /// or just the one with `id`.
    async fn user_changed(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = UserNode>> {
        let services = ctx.data::<ApiServices>()?.clone();
        let changes = services.changes.changes();
        let only = id.map(|id| id.0);
        Ok(futures::stream::unfold(
            (changes, VecDeque::new(), services, only),
            |(mut changes, mut queue, services, only)| async move {
                loop {
                    if let Some(row) = queue.pop_front() {
                        return Some((UserNode(row), (changes, queue, services, only)));
                    }
                    let changed = match changes.recv().await {
                        Ok(changed) => changed,
                        // A slow client skips notices; the next one brings current rows.
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    };
                    for id in changed
                        .ids
                        .iter()
                        .filter(|id| only.as_ref().is_none_or(|o| o == *id))
                    {
                        match services.read.get(id).await {
                            Ok(Some(row)) => queue.push_back(row),
                            Ok(None) => {}
                            Err(error) => {
                                tracing::warn!(error = %error, "subscription could not read a user")
                            }
                        }
                    }
                }
            },
        ))
    }
}
