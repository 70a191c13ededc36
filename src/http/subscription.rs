//! `GET /graphql/ws`: subscriptions over graphql-transport-ws (and the older
//! graphql-ws). Browsers cannot set headers on a WebSocket, so the admin
//! token travels in the `connection_init` payload.

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;

use super::auth::token_matches;
use super::AppState;

pub async fn upgrade(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    ws: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    let token = state.admin_token.clone();
    ws.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let given = ["Authorization", "authorization"]
                        .iter()
                        .find_map(|key| payload.get(key).and_then(|v| v.as_str()))
                        .and_then(|v| v.split_once(' '))
                        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                        .map(|(_, token)| token.trim());
                    if given.is_some_and(|given| token_matches(given, &token)) {
                        Ok(Data::default())
                    } else {
                        Err(async_graphql::Error::new(
                            "UNAUTHENTICATED: missing or wrong admin token",
                        ))
                    }
                })
                .serve()
        })
}
