//! Sync seen from outside: live over WebSocket, across a kill -9 of a real
//! process, and with the built-in emulator when no Clerk key is set.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::on_both_stores;
use crate::process::{gql_at, until_synced_at, Process};

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("socket open")
            .expect("no socket error");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

on_both_stores! {
    async fn subscribers_see_pending_turn_synced_live(app: TestApp) {
        let url = format!("{}/graphql/ws", app.base.replace("http://", "ws://"));
        let mut request = url.clone().into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        socket
            .send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {TOKEN}") } }).to_string()))
            .await
            .unwrap();
        assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
        socket
            .send(Message::text(json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { userChanged { email syncStatus } }" } }).to_string()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Held first, so the PENDING row is on screen before the push.
        app.pause_sync().await;
        app.create(json!({ "email": "live@example.com" })).await;
        let message = next_json(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["payload"]["data"]["userChanged"], json!({ "email": "live@example.com", "syncStatus": "PENDING" }));
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        let message = next_json(&mut socket).await;
        assert_eq!(message["payload"]["data"]["userChanged"], json!({ "email": "live@example.com", "syncStatus": "SYNCED" }));

        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let (mut intruder, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        intruder
            .send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer wrong" } }).to_string()))
            .await
            .unwrap();
        let refused = tokio::time::timeout(Duration::from_secs(10), intruder.next()).await.unwrap();
        assert!(!matches!(refused, Some(Ok(Message::Text(ref t))) if t.contains("connection_ack")), "no ack without the token: {refused:?}");
    }
}

#[tokio::test]
async fn without_a_clerk_key_the_built_in_emulator_is_used() {
    let storage = Storage::new(Store::Sqlite).await.unwrap();
    let mut config = tandem::config::Config::from_lookup(|_| None).unwrap();
    config.database_url = storage.url.clone();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.admin_token = Some(tandem::config::Secret::new(TOKEN));
    let app = tandem::app::Application::build(&config).await.unwrap();
    let emulator = app.emulator_url().expect("the emulator runs");
    let base = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let input = json!({ "input": { "email": "embedded@example.com" } });
    let created = gql_at(&client, &base, CREATE, input).await.unwrap();
    let id = created["data"]["createUser"]["id"].as_str().unwrap().to_owned();
    assert_eq!(until_synced_at(&client, &base, &id).await, "SYNCED");
    let log: Vec<Value> = client
        .get(format!("{emulator}/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "the create went to the built-in emulator: {log:?}");
    server.abort();
}

#[tokio::test]
async fn kill_9_with_syncs_pending_loses_none_and_duplicates_none_on_sqlite() {
    kill_9_with_syncs_pending(Store::Sqlite).await;
}

#[tokio::test]
async fn kill_9_with_syncs_pending_loses_none_and_duplicates_none_on_postgres() {
    kill_9_with_syncs_pending(Store::Postgres).await;
}

async fn kill_9_with_syncs_pending(store: Store) {
    let Some(storage) = Storage::new(store).await else {
        eprintln!("TEST_DATABASE_URL is not set: Postgres run skipped");
        return;
    };
    // Slow Clerk: the kill lands while pushes are in flight or queued.
    let clerk = slow_clerk(200).await;
    let client = reqwest::Client::new();
    let mut env = clerk_env(&clerk);
    env.extend([
        ("TANDEM_SYNC_CONCURRENCY", "2".to_owned()),
        ("TANDEM_SYNC_LEASE", "1s".to_owned()),
    ]);
    let first = Process::start(&storage.url, &env);
    first.ready(&client).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let input = json!({ "input": { "email": format!("k{i}@example.com") } });
        let body = gql_at(&client, &first.base, CREATE, input).await.unwrap();
        ids.push(body["data"]["createUser"]["id"].as_str().unwrap().to_owned());
    }
    first.signal("-KILL");
    drop(first);

    let second = Process::start(&storage.url, &env);
    second.ready(&client).await;
    for id in &ids {
        assert_eq!(
            until_synced_at(&client, &second.base, id).await,
            "SYNCED",
            "user {id}"
        );
        let users: Vec<Value> = client
            .get(format!("{}/v1/users?external_id={id}", clerk.url()))
            .bearer_auth(CLERK_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(users.len(), 1, "exactly one Clerk user for {id}");
    }
}

#[tokio::test]
async fn two_server_processes_on_one_sqlite_file_send_each_change_once() {
    two_processes_send_each_change_once(Store::Sqlite).await;
}

#[tokio::test]
async fn two_server_processes_on_one_postgres_send_each_change_once() {
    two_processes_send_each_change_once(Store::Postgres).await;
}

async fn two_processes_send_each_change_once(store: Store) {
    let Some(storage) = Storage::new(store).await else {
        eprintln!("TEST_DATABASE_URL is not set: Postgres run skipped");
        return;
    };
    let clerk = slow_clerk(20).await;
    let client = reqwest::Client::new();
    let env = clerk_env(&clerk);
    // One after the other, as a rolling deploy starts them.
    let first = Process::start(&storage.url, &env);
    first.ready(&client).await;
    let second = Process::start(&storage.url, &env);
    second.ready(&client).await;
    let servers = [first, second];
    let mut ids = Vec::new();
    for i in 0..10 {
        let input = json!({ "input": { "email": format!("twice{i}@example.com") } });
        let body = gql_at(&client, &servers[i % 2].base, CREATE, input)
            .await
            .unwrap();
        ids.push(body["data"]["createUser"]["id"].as_str().unwrap().to_owned());
    }
    for (i, id) in ids.iter().enumerate() {
        let input = json!({ "id": id, "input": { "firstName": format!("Twice{i}") } });
        gql_at(&client, &servers[(i + 1) % 2].base, UPDATE, input)
            .await
            .unwrap();
    }
    for id in &ids {
        assert_eq!(
            until_synced_at(&client, &servers[0].base, id).await,
            "SYNCED",
            "user {id}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log: Vec<Value> = client
        .get(format!("{}/_emulator/requests", clerk.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creates = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/users")
        .count();
    let patches = log.iter().filter(|r| r["method"] == "PATCH").count();
    assert_eq!(creates, ids.len(), "each create sent once");
    // An edit made before its create went out rides along with the create.
    assert!(patches <= ids.len(), "each edit sent at most once: {patches}");
    for (i, id) in ids.iter().enumerate() {
        let users: Vec<Value> = client
            .get(format!("{}/v1/users?external_id={id}", clerk.url()))
            .bearer_auth(CLERK_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["first_name"], format!("Twice{i}"));
    }
}

/// An emulator whose every Backend API call takes `ms` longer.
async fn slow_clerk(ms: u64) -> tandem::clerk::emulator::EmulatorServer {
    let clerk = tandem::clerk::emulator::Emulator::new(CLERK_KEY)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let latency = json!({ "kind": "latency", "ms": ms });
    reqwest::Client::new()
        .post(format!("{}/_emulator/faults", clerk.url()))
        .json(&latency)
        .send()
        .await
        .unwrap();
    clerk
}

/// Settings for a tandem process that talks to the test's emulator.
fn clerk_env(clerk: &tandem::clerk::emulator::EmulatorServer) -> Vec<(&'static str, String)> {
    vec![
        ("CLERK_SECRET_KEY", CLERK_KEY.to_owned()),
        ("CLERK_API_URL", clerk.url()),
        ("TANDEM_RETRY_SCHEDULE", "100ms,200ms,300ms".to_owned()),
    ]
}
