//! Clerk-side changes come back as events: live through the emulator's
//! webhooks, with no echo, by the conflict policy, and by import and reconcile.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_stores;

async fn find(app: &TestApp, email: &str) -> Value {
    let query = format!(
        "{{ users(search: \"{email}\", includeDeleted: true) {{ edges {{ node {{ {USER_FIELDS} }} }} }} }}"
    );
    app.ok(&query, json!({})).await["users"]["edges"][0]["node"].clone()
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out: {what}");
}

async fn clerk_create(app: &TestApp, email: &str, first: &str) -> String {
    let body = json!({ "email_address": [email], "first_name": first, "skip_password_requirement": true });
    let (status, user) = app.clerk_api(Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 200, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

async fn reconcile(app: &TestApp, dry_run: bool) -> Value {
    let query = "mutation($d: Boolean) { reconcile(dryRun: $d) { clerkUsers tandemUsers healed drift { userId clerkId kind field tandem clerk } } }";
    app.ok(query, json!({ "d": dry_run })).await["reconcile"].clone()
}

on_both_stores! {
    async fn changes_made_in_clerk_show_up_with_origin_clerk(app: TestApp) {
        let clerk_id = clerk_create(&app, "signup@example.com", "Sign").await;
        until("the sign-up arrives", || async { !find(&app, "signup@example.com").await.is_null() }).await;
        let user = find(&app, "signup@example.com").await;
        assert_eq!(user["clerkId"], clerk_id.as_str());
        assert_eq!(user["syncStatus"], "SYNCED");
        let id = user["id"].as_str().unwrap().to_owned();
        app.clerk_api(Method::PATCH, &format!("/users/{clerk_id}"), Some(json!({ "first_name": "Signe" }))).await;
        until("the edit arrives", || async { app.user(&id).await["firstName"] == "Signe" }).await;
        app.clerk_api(Method::DELETE, &format!("/users/{clerk_id}"), None).await;
        until("the delete arrives", || async { app.user(&id).await["deletedAt"].is_string() }).await;
        let history = app.ok(HISTORY, json!({ "id": id })).await["user"]["history"].clone();
        let origins: Vec<(&str, &str)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["type"].as_str().unwrap(), h["origin"].as_str().unwrap()))
            .filter(|(t, _)| *t != "ClerkSynced")
            .collect();
        assert_eq!(origins, [("UserCreated", "CLERK"), ("ClerkProfileReceived", "CLERK"), ("UserDeleted", "CLERK")]);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let pushes: Vec<Value> = app.clerk_requests().await.into_iter().filter(|r| r["method"] != "GET").collect();
        assert_eq!(pushes.len(), 3, "only the test's own three calls, nothing pushed back: {pushes:?}");
    }

    async fn our_push_echoes_back_without_a_second_push(app: TestApp) {
        let user = app.create(json!({ "email": "echo@example.com", "firstName": "E" })).await;
        let id = user["id"].as_str().unwrap();
        app.until_status(id, "SYNCED").await;
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "Echo", "email": "echo2@example.com" } })).await;
        app.until_status(id, "SYNCED").await;
        // Settle: every webhook of our own pushes has come back by now.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let calls: Vec<String> = app
            .clerk_requests()
            .await
            .iter()
            .map(|r| format!("{} {}", r["method"].as_str().unwrap(), r["path"].as_str().unwrap()))
            .collect();
        let writes = calls.iter().filter(|c| !c.starts_with("GET")).count();
        assert_eq!(writes, 4, "create, add email, delete old email, patch name — nothing echoed: {calls:?}");
        let now = app.user(id).await;
        assert_eq!(now["firstName"], "Echo");
        assert_eq!(now["email"], "echo2@example.com");
        assert_eq!(now["version"], 2, "echoes are not edits");
    }

    async fn a_later_clerk_edit_wins_a_conflict_and_ours_is_kept_in_history(app: TestApp) {
        let user = app.create(json!({ "email": "c1@example.com", "firstName": "Base" })).await;
        let id = user["id"].as_str().unwrap();
        let clerk_id = app.until_status(id, "SYNCED").await["clerkId"].as_str().unwrap().to_owned();
        app.pause_sync().await;
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "Local" } })).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        app.clerk_api(Method::PATCH, &format!("/users/{clerk_id}"), Some(json!({ "first_name": "Remote" }))).await;
        until("Clerk's later edit wins", || async { app.user(id).await["firstName"] == "Remote" }).await;
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        app.until_status(id, "SYNCED").await;
        let history = app.ok(HISTORY, json!({ "id": id })).await["user"]["history"].clone();
        let received = history.as_array().unwrap().iter().find(|h| h["type"] == "ClerkProfileReceived").unwrap();
        let detail = received["detail"].as_str().unwrap();
        assert!(detail.contains("'Local'") && detail.contains("lost"), "{detail}");
        let (_, in_clerk) = app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await;
        assert_eq!(in_clerk["first_name"], "Remote", "both sides equal");
    }

    async fn a_later_local_edit_wins_a_conflict_and_is_pushed(app: TestApp) {
        let user = app.create(json!({ "email": "c2@example.com", "firstName": "Base" })).await;
        let id = user["id"].as_str().unwrap();
        let clerk_id = app.until_status(id, "SYNCED").await["clerkId"].as_str().unwrap().to_owned();
        app.pause_sync().await;
        // Clerk's edit first, its webhook held back; then ours, later.
        app.clerk_fault(json!({ "kind": "webhook_delay", "count": 1, "ms": 500 })).await;
        app.clerk_api(Method::PATCH, &format!("/users/{clerk_id}"), Some(json!({ "first_name": "Remote" }))).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "Local" } })).await;
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(app.user(id).await["firstName"], "Local", "ours is later");
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        app.until_status(id, "SYNCED").await;
        let (_, in_clerk) = app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await;
        assert_eq!(in_clerk["first_name"], "Local", "pushed: both sides equal");
        let history = app.ok(HISTORY, json!({ "id": id })).await["user"]["history"].clone();
        let received = history.as_array().unwrap().iter().find(|h| h["type"] == "ClerkProfileReceived").unwrap();
        assert!(received["detail"].as_str().unwrap().contains("'Remote' lost"), "{received}");
    }

    async fn reconcile_finds_drift_on_either_side_and_heals_it(app: TestApp) {
        let user = app.create(json!({ "email": "d@example.com", "firstName": "Same" })).await;
        let id = user["id"].as_str().unwrap();
        let clerk_id = app.until_status(id, "SYNCED").await["clerkId"].as_str().unwrap().to_owned();
        // Lost webhooks: Clerk changes that never reach Tandem.
        app.clerk_fault(json!({ "kind": "webhook_drop", "count": 2 })).await;
        app.clerk_api(Method::PATCH, &format!("/users/{clerk_id}"), Some(json!({ "first_name": "Drifted" }))).await;
        let only_in_clerk = clerk_create(&app, "clerkonly@example.com", "C").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let dry = reconcile(&app, true).await;
        let kinds: Vec<(&str, Option<&str>)> = dry["drift"].as_array().unwrap().iter().map(|d| (d["kind"].as_str().unwrap(), d["field"].as_str())).collect();
        assert!(kinds.contains(&("field", Some("firstName"))), "{dry}");
        assert!(kinds.contains(&("missing_in_tandem", None)), "{dry}");
        assert_eq!(dry["healed"], false);
        assert_eq!(app.user(id).await["firstName"], "Same", "a dry run changes nothing");
        assert!(find(&app, "clerkonly@example.com").await.is_null());

        let healed = reconcile(&app, false).await;
        assert_eq!(healed["healed"], true);
        until("Clerk's newer state wins", || async { app.user(id).await["firstName"] == "Drifted" }).await;
        until("the Clerk-only user is in", || async { !find(&app, "clerkonly@example.com").await.is_null() }).await;
        let linked = find(&app, "clerkonly@example.com").await;
        assert_eq!(linked["clerkId"], only_in_clerk.as_str());
        let again = reconcile(&app, true).await;
        assert_eq!(again["drift"], json!([]), "no drift left");
    }

    async fn reconcile_settles_each_field_by_its_latest_edit(app: TestApp) {
        let user = app.create(json!({ "email": "push@example.com", "firstName": "Ours" })).await;
        let id = user["id"].as_str().unwrap();
        let clerk_id = app.until_status(id, "SYNCED").await["clerkId"].as_str().unwrap().to_owned();
        // Clerk's webhooks are lost from here on.
        app.stop_clerk_webhooks().await;
        // A Clerk edit, then a later Tandem edit of another field, whose push
        // moves Clerk's updated_at past the Clerk edit.
        app.clerk_api(Method::PATCH, &format!("/users/{clerk_id}"), Some(json!({ "first_name": "Theirs" }))).await;
        app.ok(UPDATE, json!({ "id": id, "input": { "lastName": "Later" } })).await;
        until("our push is in", || async {
            app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await.1["last_name"] == "Later"
        })
        .await;
        let report = reconcile(&app, false).await;
        assert_eq!(report["drift"][0]["field"], "firstName", "{report}");
        until("Clerk's edit, the later one for that field, wins", || async { app.user(id).await["firstName"] == "Theirs" }).await;
        assert_eq!(app.user(id).await["lastName"], "Later");

        // Now Tandem's edit is the later one: it wins and is pushed.
        app.pause_sync().await;
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "Mine" } })).await;
        reconcile(&app, false).await;
        assert_eq!(app.user(id).await["firstName"], "Mine");
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        until("ours is pushed", || async {
            app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await.1["first_name"] == "Mine"
        })
        .await;
        app.until_status(id, "SYNCED").await;
        assert_eq!(reconcile(&app, true).await["drift"], json!([]));
    }
}

#[tokio::test]
async fn importing_a_thousand_clerk_users_twice_makes_a_thousand_users() {
    let app = TestApp::spawn(Store::Sqlite).await.unwrap();
    import_a_thousand(app).await;
}

#[tokio::test]
async fn importing_a_thousand_clerk_users_twice_makes_a_thousand_users_on_postgres() {
    match TestApp::spawn(Store::Postgres).await {
        Some(app) => import_a_thousand(app).await,
        None => eprintln!("TEST_DATABASE_URL is not set: Postgres run skipped"),
    }
}

async fn import_a_thousand(app: TestApp) {
    // Clerk had these users before Tandem: no webhooks for them.
    app.stop_clerk_webhooks().await;
    // A Tandem user not yet pushed, whose email a Clerk user has: linked by email.
    app.pause_sync().await;
    let local = app.create(json!({ "email": "user7@import.example.com" })).await;
    let client = &app.client;
    let url = &app.clerk.url();
    futures::future::join_all((0..1000).map(|i| async move {
        let body = json!({ "email_address": [format!("user{i}@import.example.com")], "first_name": format!("U{i}"), "skip_password_requirement": true });
        let response = client.post(format!("{url}/v1/users")).bearer_auth(CLERK_KEY).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }))
    .await;
    for round in 1..=2 {
        app.ok("mutation { importFromClerk { running } }", json!({}))
            .await;
        let mut status = Value::Null;
        for _ in 0..600 {
            status = app
                .ok(
                    "{ importStatus { running seen created updated unchanged ignored rejected error } }",
                    json!({}),
                )
                .await["importStatus"]
                .clone();
            if status["running"] == false {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status["running"], false, "round {round}: {status}");
        assert_eq!(status["seen"], 1000, "round {round}: {status}");
        assert_eq!(status["rejected"], json!([]), "round {round}: {status}");
        if round == 1 {
            assert_eq!(
                status["created"], 999,
                "one Clerk user linked to the Tandem user by email: {status}"
            );
        } else {
            assert_eq!(status["created"], 0, "re-running creates nothing: {status}");
        }
        until("the read model holds every user", || async {
            app.ok("{ users { totalCount } }", json!({})).await["users"]["totalCount"] == 1000
        })
        .await;
    }
    let linked = app.user(local["id"].as_str().unwrap()).await;
    assert!(linked["clerkId"].is_string(), "linked by email: {linked}");
    app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
    let mut overview = Value::Null;
    for _ in 0..300 {
        overview = app
            .ok("{ syncOverview { synced pending failed } }", json!({}))
            .await["syncOverview"]
            .clone();
        if overview["synced"] == 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(overview, json!({ "synced": 1000, "pending": 0, "failed": 0 }));
    let (_, count) = app.clerk_api(Method::GET, "/users/count", None).await;
    assert_eq!(count["total_count"], 1000, "no duplicates in Clerk");
}
