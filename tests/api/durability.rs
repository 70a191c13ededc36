//! Nothing acknowledged is lost: not under concurrent writers, not with two
//! replicas on one database, not when the process is killed.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::on_both_stores;
use crate::process::{gql_at, Process};

async fn create_at(client: &reqwest::Client, base: &str, email: &str) -> Option<String> {
    let body = gql_at(client, base, CREATE, json!({ "input": { "email": email } })).await?;
    body["data"]["createUser"]["id"].as_str().map(str::to_owned)
}

on_both_stores! {
    async fn concurrent_writers_lose_no_event_in_the_view(app: TestApp) {
        let writers = (0..24).map(|i| {
            let app = &app;
            async move {
                let user = app.create(json!({ "email": format!("w{i}@example.com") })).await;
                let id = user["id"].as_str().unwrap().to_owned();
                let updated = app.ok(UPDATE, json!({ "id": id, "input": { "bio": format!("bio {i}"), "firstName": "W" } })).await;
                assert_eq!(updated["updateUser"]["version"], 3, "the write was read back: {updated}");
                id
            }
        });
        let ids = futures::future::join_all(writers).await;
        let total = app.ok("{ users { totalCount } }", json!({})).await;
        assert_eq!(total["users"]["totalCount"], ids.len());
        for id in &ids {
            assert_eq!(app.user(id).await["version"], 3);
        }
    }

    async fn two_replicas_on_one_database_agree(app: TestApp) {
        app.pause_sync().await;
        let replica = TestApp::replica_of(&app).await;
        let mut ids = Vec::new();
        for i in 0..6 {
            let writer = if i % 2 == 0 { &app } else { &replica };
            ids.push(writer.create(json!({ "email": format!("r{i}@example.com"), "roles": ["x"] })).await["id"].as_str().unwrap().to_owned());
        }
        for reader in [&app, &replica] {
            reader
                .eventually("both replicas see every user", || async {
                    reader.ok("{ users { totalCount } }", json!({})).await["users"]["totalCount"] == ids.len()
                })
                .await;
        }
        for id in &ids {
            assert_eq!(app.user(id).await, replica.user(id).await);
        }
    }
}

#[tokio::test]
async fn acknowledged_creates_survive_kill_9_on_sqlite() {
    acknowledged_creates_survive_kill_9(Store::Sqlite).await;
}

#[tokio::test]
async fn acknowledged_creates_survive_kill_9_on_postgres() {
    acknowledged_creates_survive_kill_9(Store::Postgres).await;
}

async fn acknowledged_creates_survive_kill_9(store: Store) {
    let Some(storage) = Storage::new(store).await else {
        eprintln!("TEST_DATABASE_URL is not set: Postgres run skipped");
        return;
    };
    let client = reqwest::Client::new();
    let server = Process::start(&storage.url, &[]);
    server.ready(&client).await;
    let base = server.base.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let client = client.clone();
            let base = base.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    match create_at(&client, &base, &format!("k{w}-{i}@example.com")).await {
                        Some(id) => {
                            acknowledged.push(id);
                            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        None => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Kill mid-stream: once some writes are acknowledged, while others are in flight.
    for _ in 0..600 {
        if done.load(std::sync::atomic::Ordering::SeqCst) >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.signal("-KILL");
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    drop(server);
    assert!(
        acknowledged.len() >= 4,
        "some writes were acknowledged before the kill"
    );

    let restarted = Process::start(&storage.url, &[]);
    restarted.ready(&client).await;
    for id in &acknowledged {
        let query = "query($id: ID!) { user(id: $id) { id version } }";
        let body = gql_at(&client, &restarted.base, query, json!({ "id": id }))
            .await
            .unwrap();
        assert_eq!(
            body["data"]["user"]["version"], 1,
            "acknowledged user {id} is in the view"
        );
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let storage = Storage::new(Store::Sqlite).await.unwrap();
    let client = reqwest::Client::new();
    let mut server = Process::start(&storage.url, &[]);
    server.ready(&client).await;
    server.signal("-TERM");
    let status = server
        .exit_status()
        .await
        .expect("tandem stops within 5 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
}
