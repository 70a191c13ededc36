//! Outbound sync against the emulator over real HTTP: the right calls, the
//! retry schedule, permanent failures, lost responses, 429s, pause.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use tandem::db::Db;

use crate::helpers::*;
use crate::on_both_stores;

fn calls(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect()
}

async fn synced_user(app: &TestApp, input: Value) -> (String, Value) {
    let user = app.create(input).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let synced = app.until_status(&id, "SYNCED").await;
    (id, synced)
}

/// Long enough for a stray call to show up in the emulator's log.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(600)).await;
}

on_both_stores! {
    async fn a_new_user_reaches_clerk_and_turns_synced(app: TestApp) {
        let created = app.create(json!({ "email": "ada@example.com", "username": "ada_l", "firstName": "Ada", "lastName": "L", "roles": ["admin"], "bio": "local only" })).await;
        let id = created["id"].as_str().unwrap();
        let user = app.until_status(id, "SYNCED").await;
        assert_eq!(calls(&app.clerk_requests().await), ["POST /v1/users"]);
        let body = &app.clerk_requests().await[0]["body"];
        assert!(body.get("bio").is_none() && body.get("roles").is_none(), "local fields never leave: {body}");
        assert_eq!(body["external_id"], id);
        assert_eq!(body["email_address"], json!(["ada@example.com"]));
        assert!(user["clerkId"].as_str().unwrap().starts_with("user_"));
        assert!(user["lastSyncedAt"].is_string());
        assert_eq!(user["syncAttempts"], 0);
        assert_eq!(user["version"], 1, "a sync is not an admin edit");
        let in_clerk = app.clerk_users_for(id).await;
        assert_eq!(in_clerk.len(), 1);
        let clerk_user = &in_clerk[0];
        assert_eq!(clerk_user["id"], user["clerkId"]);
        assert_eq!(clerk_user["external_id"], id);
        assert_eq!(clerk_user["username"], "ada_l");
        assert_eq!(clerk_user["first_name"], "Ada");
        assert_eq!(clerk_user["last_name"], "L");
        assert_eq!(clerk_user["email_addresses"][0]["email_address"], "ada@example.com");
        let history = app.ok(HISTORY, json!({ "id": id })).await["user"]["history"].clone();
        let last = history.as_array().unwrap().last().unwrap();
        assert_eq!(last["type"], "ClerkSynced");
        assert_eq!(last["origin"], "SYSTEM");
    }

    async fn local_only_edits_make_no_clerk_call(app: TestApp) {
        let (id, _) = synced_user(&app, json!({ "email": "loc@example.com" })).await;
        app.clear_clerk_requests().await;
        app.ok(UPDATE, json!({ "id": id, "input": {
            "roles": ["ops"], "bio": "hi", "displayName": "Loc",
            "socialLinks": [{ "platform": "Web", "url": "https://loc.example.com" }] } })).await;
        settle().await;
        assert_eq!(app.clerk_requests().await, Vec::<Value>::new());
        assert_eq!(app.user(&id).await["syncStatus"], "SYNCED");
    }

    async fn name_and_username_edits_patch_only_what_changed(app: TestApp) {
        let (id, user) = synced_user(&app, json!({ "email": "n@example.com", "username": "nora", "firstName": "Nora", "lastName": "N" })).await;
        let clerk_id = user["clerkId"].as_str().unwrap().to_owned();
        app.clear_clerk_requests().await;
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "Nori", "username": "nori_n" } })).await;
        app.until_status(&id, "SYNCED").await;
        let log = app.clerk_requests().await;
        assert_eq!(calls(&log), [format!("PATCH /v1/users/{clerk_id}")]);
        assert_eq!(log[0]["body"], json!({ "first_name": "Nori", "username": "nori_n" }));
        app.clear_clerk_requests().await;
        app.ok(UPDATE, json!({ "id": id, "input": { "lastName": null } })).await;
        app.until_status(&id, "SYNCED").await;
        let log = app.clerk_requests().await;
        assert_eq!(log[0]["body"], json!({ "last_name": null }), "a cleared field is sent as null");
        let (_, clerk_user) = app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await;
        assert_eq!(clerk_user["first_name"], "Nori");
        assert_eq!(clerk_user["username"], "nori_n");
        assert_eq!(clerk_user["last_name"], Value::Null);
    }

    async fn an_email_edit_goes_through_the_email_address_endpoints(app: TestApp) {
        let (id, user) = synced_user(&app, json!({ "email": "old@example.com" })).await;
        let clerk_id = user["clerkId"].as_str().unwrap().to_owned();
        let (_, before) = app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await;
        let old_email_id = before["primary_email_address_id"].as_str().unwrap().to_owned();
        app.clear_clerk_requests().await;
        app.ok(UPDATE, json!({ "id": id, "input": { "email": "new@example.com" } })).await;
        app.until_status(&id, "SYNCED").await;
        let log = app.clerk_requests().await;
        assert_eq!(
            calls(&log),
            ["POST /v1/email_addresses".to_owned(), format!("GET /v1/users/{clerk_id}"), format!("DELETE /v1/email_addresses/{old_email_id}")]
        );
        assert_eq!(log[0]["body"], json!({ "user_id": clerk_id, "email_address": "new@example.com", "verified": true, "primary": true }));
        let (_, after) = app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await;
        let emails: Vec<&str> = after["email_addresses"].as_array().unwrap().iter().map(|e| e["email_address"].as_str().unwrap()).collect();
        assert_eq!(emails, ["new@example.com"]);
        assert_ne!(after["primary_email_address_id"], before["primary_email_address_id"]);
    }

    async fn a_delete_removes_the_user_from_clerk(app: TestApp) {
        let (id, user) = synced_user(&app, json!({ "email": "bye@example.com" })).await;
        let clerk_id = user["clerkId"].as_str().unwrap().to_owned();
        app.ok(DELETE, json!({ "id": id })).await;
        let after = app.until_status(&id, "SYNCED").await;
        assert!(after["deletedAt"].is_string());
        let (status, _) = app.clerk_api(Method::GET, &format!("/users/{clerk_id}"), None).await;
        assert_eq!(status, 404);
    }

    async fn a_delete_that_clerk_answers_404_counts_as_done(app: TestApp) {
        let (id, user) = synced_user(&app, json!({ "email": "gone@example.com" })).await;
        let clerk_id = user["clerkId"].as_str().unwrap().to_owned();
        app.stop_clerk_webhooks().await;
        let (status, _) = app.clerk_api(Method::DELETE, &format!("/users/{clerk_id}"), None).await;
        assert_eq!(status, 200, "deleted in Clerk's dashboard first, its webhook lost");
        app.ok(DELETE, json!({ "id": id })).await;
        let after = app.until_status(&id, "SYNCED").await;
        assert_eq!(after["syncError"], Value::Null);
    }

    async fn transient_failures_retry_on_the_schedule_then_sync(app: TestApp) {
        app.clerk_fault(json!({ "kind": "fail", "count": 2, "status": 503, "code": "internal_clerk_error", "message": "Clerk is down" })).await;
        let created = app.create(json!({ "email": "retry@example.com" })).await;
        let id = created["id"].as_str().unwrap();
        let mut saw_retry = false;
        for _ in 0..100 {
            let user = app.user(id).await;
            if user["syncStatus"] == "PENDING" && user["syncAttempts"].as_i64() >= Some(1) {
                assert!(user["nextRetryAt"].is_string(), "{user}");
                assert!(user["syncError"].as_str().unwrap().contains("Clerk is down"), "{user}");
                saw_retry = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(saw_retry, "the failed attempt shows as PENDING with its error");
        let user = app.until_status(id, "SYNCED").await;
        assert_eq!(user["syncAttempts"], 0);
        assert_eq!(user["nextRetryAt"], Value::Null);
        assert_eq!(user["syncError"], Value::Null);
        let history = app.ok(HISTORY, json!({ "id": id })).await["user"]["history"].clone();
        let types: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["UserCreated", "ClerkSyncAttemptFailed", "ClerkSyncAttemptFailed", "ClerkSynced"]);
        assert!(history[1]["detail"].as_str().unwrap().contains("Clerk is down"));
        assert_eq!(app.clerk_users_for(id).await.len(), 1);
    }

    async fn when_every_attempt_fails_the_user_is_failed_until_an_admin_retries(app: TestApp) {
        app.clerk_fault(json!({ "kind": "fail", "count": 100, "status": 500, "code": "internal_clerk_error", "message": "Clerk is on fire" })).await;
        let created = app.create(json!({ "email": "doomed@example.com" })).await;
        let id = created["id"].as_str().unwrap();
        let failed = app.until_status(id, "FAILED").await;
        assert_eq!(failed["syncAttempts"], 1 + RETRY_SCHEDULE.len(), "the first attempt and one per scheduled retry");
        assert!(failed["syncError"].as_str().unwrap().contains("Clerk is on fire"));
        assert_eq!(failed["nextRetryAt"], Value::Null);
        settle().await;
        assert_eq!(app.clerk_requests().await.len(), 4, "no attempt after FAILED");
        app.clear_clerk_faults().await;
        let retried = app.ok("mutation($id: ID!) { retryClerkSync(id: $id) { syncStatus syncAttempts clerkId } }", json!({ "id": id })).await;
        assert_eq!(retried["retryClerkSync"]["syncStatus"], "SYNCED");
        assert_eq!(retried["retryClerkSync"]["syncAttempts"], 0);
        let again = app.err("mutation($id: ID!) { retryClerkSync(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(again["extensions"]["code"], "VALIDATION", "nothing to retry once synced");
    }

    async fn a_permanent_error_fails_at_once_with_clerks_message(app: TestApp) {
        // A username Clerk has and Tandem never heard of.
        app.stop_clerk_webhooks().await;
        let (status, _) = app
            .clerk_api(Method::POST, "/users", Some(json!({ "email_address": ["someone@example.com"], "username": "taken_name", "skip_password_requirement": true })))
            .await;
        assert_eq!(status, 200);
        let created = app.create(json!({ "email": "me@example.com", "username": "taken_name" })).await;
        let id = created["id"].as_str().unwrap();
        let failed = app.until_status(id, "FAILED").await;
        assert_eq!(failed["syncAttempts"], 1);
        let error = failed["syncError"].as_str().unwrap();
        assert!(error.contains("form_identifier_exists") && error.to_lowercase().contains("taken"), "{error}");
        assert_eq!(app.clerk_requests().await.iter().filter(|r| r["method"] == "POST").count(), 2, "no retry of a refusal");
    }

    async fn a_create_whose_response_is_lost_links_the_one_clerk_user(app: TestApp) {
        app.clerk_fault(json!({ "kind": "drop_response", "count": 1, "method": "POST", "path_prefix": "/v1/users" })).await;
        let created = app.create(json!({ "email": "lost@example.com" })).await;
        let id = created["id"].as_str().unwrap();
        let user = app.until_status(id, "SYNCED").await;
        let in_clerk = app.clerk_users_for(id).await;
        assert_eq!(in_clerk.len(), 1, "exactly one Clerk user");
        assert_eq!(in_clerk[0]["id"], user["clerkId"]);
        let (_, count) = app.clerk_api(Method::GET, "/users/count", None).await;
        assert_eq!(count["total_count"], 1);
    }

    async fn a_429_waits_at_least_retry_after(app: TestApp) {
        app.clerk_fault(json!({ "kind": "rate_limit", "count": 1, "retry_after_secs": 1 })).await;
        let created = app.create(json!({ "email": "slow@example.com" })).await;
        let id = created["id"].as_str().unwrap();
        app.until_status(id, "SYNCED").await;
        let log = app.clerk_requests().await;
        let posts: Vec<&Value> = log.iter().filter(|r| r["method"] == "POST").collect();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0]["status"], 429);
        let waited = posts[1]["at_ms"].as_i64().unwrap() - posts[0]["at_ms"].as_i64().unwrap();
        assert!(waited >= 1000, "Retry-After: 1 honoured, waited {waited} ms");
    }

    async fn several_edits_while_pending_become_one_call_with_the_latest_values(app: TestApp) {
        let (id, user) = synced_user(&app, json!({ "email": "many@example.com", "firstName": "A" })).await;
        let clerk_id = user["clerkId"].as_str().unwrap().to_owned();
        app.ok("mutation { pauseClerkSync { paused } }", json!({})).await;
        app.clear_clerk_requests().await;
        for name in ["B", "C", "D"] {
            app.ok(UPDATE, json!({ "id": id, "input": { "firstName": name } })).await;
        }
        settle().await;
        assert_eq!(app.user(&id).await["syncStatus"], "PENDING");
        assert!(app.clerk_requests().await.is_empty(), "paused: no calls");
        let overview = app.ok("{ syncOverview { pending synced failed paused oldestPendingAt } }", json!({})).await["syncOverview"].clone();
        assert_eq!(overview["pending"], 1);
        assert_eq!(overview["paused"], true);
        assert!(overview["oldestPendingAt"].is_string());
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        app.until_status(&id, "SYNCED").await;
        let log = app.clerk_requests().await;
        assert_eq!(calls(&log), [format!("PATCH /v1/users/{clerk_id}")]);
        assert_eq!(log[0]["body"], json!({ "first_name": "D" }));
    }

    async fn a_pause_holds_back_jobs_claimed_but_not_started(app: TestApp) {
        let posts = |log: &[Value]| log.iter().filter(|r| r["method"] == "POST").cloned().collect::<Vec<_>>();
        // One push that ends early, seven that end late: the early one's
        // worker claims a round of jobs, starts one and keeps the rest
        // waiting for the seven.
        app.clerk_fault(json!({ "kind": "latency", "ms": 1500 })).await;
        app.create(json!({ "email": "early@example.com" })).await;
        app.eventually("the early push reaches Clerk", || async { posts(&app.clerk_requests().await).len() == 1 }).await;
        app.clerk_fault(json!({ "kind": "latency", "ms": 3000 })).await;
        let mut ids = Vec::new();
        for i in 0..23 {
            let created = app.create(json!({ "email": format!("late{i}@example.com") })).await;
            ids.push(created["id"].as_str().unwrap().to_owned());
        }
        app.eventually("the early push is answered", || async {
            posts(&app.clerk_requests().await).iter().any(|p| p["status"].is_number())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.ok("mutation { pauseClerkSync { paused } }", json!({})).await;
        // The seven late pushes and the one started after the early push end; nothing else starts.
        app.eventually("the pushes in flight are answered", || async {
            let posts = posts(&app.clerk_requests().await);
            posts.len() >= 9 && posts.iter().all(|p| p["status"].is_number())
        })
        .await;
        settle().await;
        assert_eq!(posts(&app.clerk_requests().await).len(), 9, "paused: jobs waiting their turn did not start");

        app.clerk_fault(json!({ "kind": "latency", "ms": 0 })).await;
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        for id in &ids {
            app.until_status(id, "SYNCED").await;
        }
        let log = app.clerk_requests().await;
        assert_eq!(posts(&log).len(), 24, "each user created in Clerk once");
        // A job given back unstarted counts as never tried: no look for a lost create.
        assert!(!log.iter().any(|r| r["method"] == "GET"), "{:?}", calls(&log));
    }

    async fn an_edit_made_while_its_push_runs_is_pushed_right_after_it(app: TestApp) {
        app.clerk_fault(json!({ "kind": "latency", "ms": 400 })).await;
        let created = app.create(json!({ "email": "inflight@example.com", "firstName": "A" })).await;
        let id = created["id"].as_str().unwrap();
        // The create's push is with Clerk now.
        tokio::time::sleep(Duration::from_millis(150)).await;
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "B" } })).await;
        let synced = app.until_status(id, "SYNCED").await;
        let log = app.clerk_requests().await;
        let clerk_id = synced["clerkId"].as_str().unwrap();
        assert_eq!(calls(&log), ["POST /v1/users".to_owned(), format!("PATCH /v1/users/{clerk_id}")]);
        assert_eq!(log[0]["body"]["first_name"], "A");
        assert_eq!(log[1]["body"], json!({ "first_name": "B" }));
        // The first push's worker handed the job back with its outcome; had it
        // kept the lease, the edit would have waited for the lease (2 s here) to run out.
        let gap = log[1]["at_ms"].as_i64().unwrap() - log[0]["at_ms"].as_i64().unwrap();
        assert!(gap < 1_500, "the edit waited {gap} ms behind the first push");
    }

    async fn the_pause_survives_a_restart(app: TestApp) {
        app.ok("mutation { pauseClerkSync { paused } }", json!({})).await;
        app.restart().await;
        let created = app.create(json!({ "email": "later@example.com" })).await;
        settle().await;
        assert_eq!(app.user(created["id"].as_str().unwrap()).await["syncStatus"], "PENDING");
        assert!(app.clerk_requests().await.is_empty());
        let overview = app.ok("{ syncOverview { paused pending } }", json!({})).await;
        assert_eq!(overview["syncOverview"], json!({ "paused": true, "pending": 1 }));
        app.ok("mutation { resumeClerkSync { paused } }", json!({})).await;
        app.until_status(created["id"].as_str().unwrap(), "SYNCED").await;
    }

    async fn two_replicas_send_each_change_to_clerk_once(app: TestApp) {
        let replica = TestApp::replica_of(&app).await;
        app.clerk_fault(json!({ "kind": "latency", "ms": 30 })).await;
        let mut ids = Vec::new();
        for i in 0..12 {
            let writer = if i % 2 == 0 { &app } else { &replica };
            let user = writer.create(json!({ "email": format!("once{i}@example.com") })).await;
            ids.push(user["id"].as_str().unwrap().to_owned());
        }
        for (i, id) in ids.iter().enumerate() {
            let writer = if i % 2 == 0 { &replica } else { &app };
            writer.ok(UPDATE, json!({ "id": id, "input": { "firstName": format!("F{i}") } })).await;
        }
        for id in &ids {
            app.until_status(id, "SYNCED").await;
        }
        settle().await;
        let log = app.clerk_requests().await;
        let posts = log.iter().filter(|r| r["method"] == "POST" && r["path"] == "/v1/users").count();
        assert_eq!(posts, ids.len(), "one create per user");
        for id in &ids {
            assert_eq!(app.clerk_users_for(id).await.len(), 1);
        }
        let patches = log.iter().filter(|r| r["method"] == "PATCH").count();
        assert!(patches <= ids.len(), "at most one PATCH per edit: {patches}");
    }

    async fn metrics_count_clerk_calls_and_the_queue(app: TestApp) {
        synced_user(&app, json!({ "email": "m@example.com" })).await;
        let text = app.client.get(format!("{}/metrics", app.base)).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("tandem_clerk_calls_total{endpoint=\"create_user\",outcome=\"ok\"} 1"), "{text}");
        assert!(text.contains("tandem_sync_pending_users 0"), "{text}");
        assert!(text.contains("tandem_sync_latency_seconds_count 1"), "{text}");
        let anonymous = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
    }
}

#[tokio::test]
async fn finished_jobs_are_vacuumed_away_on_postgres() {
    let Some(app) = TestApp::spawn(Store::Postgres).await else {
        eprintln!("TEST_DATABASE_URL is not set: Postgres run skipped");
        return;
    };
    let Db::Pg(pool) = app.db().await else {
        unreachable!("a Postgres app")
    };
    // Counts manual vacuums only: autovacuum has a column of its own.
    let vacuums = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'clerk_sync_jobs'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(vacuums().await, 0);
    for n in 0..VACUUM_AFTER_JOBS * 2 {
        let (id, _) = synced_user(&app, json!({ "email": format!("v{n}@example.com") })).await;
        assert_eq!(app.clerk_users_for(&id).await.len(), 1);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while vacuums().await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job table was not vacuumed twice"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dead: i64 =
        sqlx::query_scalar("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'clerk_sync_jobs'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        dead < VACUUM_AFTER_JOBS as i64 * 2,
        "{dead} dead row versions left"
    );
}
