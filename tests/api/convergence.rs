//! A seeded random run of local edits, Clerk-side edits, deletes, emulator
//! faults and restarts, then a settle and one reconcile: Tandem and Clerk
//! must hold the same users. `TANDEM_SEED=<n>` replays a run.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_stores;

const STEPS: usize = 500;

/// A user as both sides must end: Clerk id and Clerk-owned fields.
type Snapshot = BTreeSet<(String, String, Option<String>, Option<String>, Option<String>)>;

fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

async fn tandem_side(app: &TestApp) -> Snapshot {
    let mut all = Snapshot::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .ok(
                "query($a: String) { users(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { clerkId email username firstName lastName } } } }",
                json!({ "a": after }),
            )
            .await["users"]
            .clone();
        for edge in page["edges"].as_array().unwrap() {
            let n = &edge["node"];
            all.insert((
                n["clerkId"].as_str().unwrap_or("(none)").to_owned(),
                n["email"].as_str().unwrap().to_lowercase(),
                text(&n["username"]),
                text(&n["firstName"]),
                text(&n["lastName"]),
            ));
        }
        if page["pageInfo"]["hasNextPage"] == false {
            return all;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// A call to Clerk from the "dashboard": faults meant for Tandem may hit it
/// too, so it is repeated until Clerk answers (a dropped answer still applied).
async fn clerk(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    for _ in 0..20 {
        let (status, value) = app.clerk_api(method.clone(), path, body.clone()).await;
        if status < 500 && status != 429 {
            return value;
        }
    }
    panic!("Clerk kept failing {method} {path}");
}

async fn clerk_users(app: &TestApp) -> Vec<Value> {
    for _ in 0..20 {
        if let Some(users) = clerk(app, Method::GET, "/users?limit=500", None).await.as_array() {
            return users.clone();
        }
    }
    panic!("cannot list Clerk's users");
}

async fn clerk_side(app: &TestApp) -> Snapshot {
    clerk_users(app)
        .await
        .iter()
        .map(|u| {
            let primary = u["primary_email_address_id"].clone();
            let email = u["email_addresses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["id"] == primary)
                .unwrap();
            (
                u["id"].as_str().unwrap().to_owned(),
                email["email_address"].as_str().unwrap().to_lowercase(),
                text(&u["username"]),
                text(&u["first_name"]),
                text(&u["last_name"]),
            )
        })
        .collect()
}

async fn live_tandem_ids(app: &TestApp) -> Vec<String> {
    let page = app
        .ok("{ users(first: 100) { edges { node { id } } } }", json!({}))
        .await;
    page["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn clerk_ids(app: &TestApp) -> Vec<String> {
    clerk_users(app)
        .await
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn settle(app: &TestApp) {
    let mut status = "PENDING";
    for _ in 0..400 {
        let overview = app.ok("{ syncOverview { pending failed } }", json!({})).await["syncOverview"].clone();
        if overview["pending"] == 0 && overview["failed"] == 0 {
            return;
        }
        if overview["pending"] == 0 {
            status = "FAILED";
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stuck = app
        .ok(
            "query($s: SyncStatus) { users(syncStatus: $s, includeDeleted: true, first: 30) { edges { node { id email clerkId syncStatus syncError syncAttempts nextRetryAt deletedAt history { type origin detail } } } } }",
            json!({ "s": status }),
        )
        .await;
    let stuck: Vec<&Value> = stuck["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    panic!("the sync did not settle: {stuck:#?}");
}

async fn run(mut app: TestApp, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut n = 0_u32;
    let mut unique = || {
        n += 1;
        n
    };
    for step in 0..STEPS {
        let roll = rng.gen_range(0..100);
        match roll {
            0..=14 => {
                let u = unique();
                app.gql(CREATE, json!({ "input": { "email": format!("l{u}@conv.example.com"), "firstName": format!("L{u}") } })).await;
            }
            15..=34 => {
                let ids = live_tandem_ids(&app).await;
                if let Some(id) = ids.get(rng.gen_range(0..ids.len().max(1))) {
                    let u = unique();
                    let input = match rng.gen_range(0..4) {
                        0 => json!({ "firstName": format!("F{u}") }),
                        1 => json!({ "lastName": format!("N{u}") }),
                        2 => json!({ "username": format!("user{u}") }),
                        _ => json!({ "email": format!("e{u}@conv.example.com") }),
                    };
                    app.gql(UPDATE, json!({ "id": id, "input": input })).await;
                }
            }
            35..=39 => {
                let ids = live_tandem_ids(&app).await;
                if let Some(id) = ids.get(rng.gen_range(0..ids.len().max(1))) {
                    app.gql(DELETE, json!({ "id": id })).await;
                }
            }
            40..=49 => {
                let u = unique();
                let body = json!({ "email_address": [format!("c{u}@conv.example.com")], "first_name": format!("C{u}"), "skip_password_requirement": true });
                clerk(&app, Method::POST, "/users", Some(body)).await;
            }
            50..=69 => {
                let ids = clerk_ids(&app).await;
                if let Some(id) = ids.get(rng.gen_range(0..ids.len().max(1))) {
                    let u = unique();
                    let body = match rng.gen_range(0..3) {
                        0 => json!({ "first_name": format!("R{u}") }),
                        1 => json!({ "last_name": format!("M{u}") }),
                        _ => json!({ "username": format!("clerk{u}") }),
                    };
                    clerk(&app, Method::PATCH, &format!("/users/{id}"), Some(body)).await;
                }
            }
            70..=72 => {
                let ids = clerk_ids(&app).await;
                if let Some(id) = ids.get(rng.gen_range(0..ids.len().max(1))) {
                    clerk(&app, Method::DELETE, &format!("/users/{id}"), None).await;
                }
            }
            73..=98 => {
                let fault = match rng.gen_range(0..7) {
                    0 => json!({ "kind": "fail", "count": rng.gen_range(1..3), "status": 503 }),
                    1 => json!({ "kind": "drop_response", "count": 1 }),
                    2 => json!({ "kind": "webhook_duplicate", "count": 1 }),
                    3 => json!({ "kind": "webhook_reorder", "count": 1 }),
                    4 => json!({ "kind": "webhook_delay", "count": 1, "ms": rng.gen_range(10..300) }),
                    5 => json!({ "kind": "webhook_drop", "count": 1 }),
                    _ => json!({ "kind": "rate_limit", "count": 1, "retry_after_secs": 1 }),
                };
                app.clerk_fault(fault).await;
            }
            _ => {
                eprintln!("step {step}: restart");
                app.restart().await;
            }
        }
    }
    app.clear_clerk_faults().await;
    settle(&app).await;
    // Webhooks still in flight (delayed, retried) land before the reconcile.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.ok("mutation { reconcile(dryRun: false) { healed } }", json!({}))
        .await;
    settle(&app).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    settle(&app).await;
    let drift = app
        .ok(
            "mutation { reconcile(dryRun: true) { drift { kind field userId clerkId tandem clerk } } }",
            json!({}),
        )
        .await;
    let (tandem, clerk) = (tandem_side(&app).await, clerk_side(&app).await);
    assert!(
        tandem == clerk,
        "seed {seed}: the sides differ\nonly in Tandem: {:#?}\nonly in Clerk: {:#?}\ndrift: {drift:#}",
        tandem.difference(&clerk).collect::<Vec<_>>(),
        clerk.difference(&tandem).collect::<Vec<_>>()
    );
}

fn seed() -> u64 {
    std::env::var("TANDEM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

on_both_stores! {
    async fn random_edits_faults_and_restarts_converge(app: TestApp) {
        let seed = seed();
        eprintln!("convergence seed {seed} (replay with TANDEM_SEED={seed})");
        run(app, seed).await;
    }
}
