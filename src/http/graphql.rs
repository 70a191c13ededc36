//! `POST /graphql`. GET is not mounted: it would run mutations from a link.

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::HeaderMap;

use super::{AppState, REQUEST_ID};
use crate::graphql::RequestContext;

pub async fn execute(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut request = request.into_inner().data(RequestContext {
        actor: "admin".into(),
        request_id,
    });
    state.parsed.prepare(&mut request);
    // Spawned so a client that hangs up cannot cancel a write halfway.
    let schema = state.schema.clone();
    match tokio::spawn(async move { schema.execute(request).await }).await {
        Ok(response) => response.into(),
        Err(error) => {
            tracing::error!(error = %error, "GraphQL execution panicked");
            async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                "internal error",
                None,
            )])
            .into()
        }
    }
}
