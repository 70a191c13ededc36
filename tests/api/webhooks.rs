//! `POST /webhooks/clerk`: signatures on the raw body, size limits, shapes,
//! duplicates, ordering.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_stores;

/// The shared Svix test vectors (svix's own `svix_default` case).
const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const VECTOR_TIMESTAMP: &str = "1614265330";
const VECTOR_PAYLOAD: &str = r#"{"test": 2432232314}"#;
const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn post(app: &TestApp, id: &str, timestamp: i64, body: &str, signature: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/webhooks/clerk", app.base))
        .header("svix-id", id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    svix::webhooks::Webhook::new(secret)
        .unwrap()
        .sign(id, timestamp, body.as_bytes())
        .unwrap()
}

/// Delivers `body` signed with the suite's secret, as Clerk would.
pub async fn deliver(app: &TestApp, id: &str, body: &Value) -> (u16, Value) {
    let text = body.to_string();
    let ts = now();
    post(app, id, ts, &text, &sign(WHSEC, id, ts, &text)).await
}

pub fn clerk_user(id: &str, email: &str, first_name: &str, updated_at: i64) -> Value {
    json!({
        "id": id, "object": "user", "external_id": null, "username": null, "first_name": first_name,
        "last_name": null, "primary_email_address_id": "idn_1",
        "email_addresses": [{ "id": "idn_1", "object": "email_address", "email_address": email }],
        "created_at": 1_700_000_000_000_i64, "updated_at": updated_at
    })
}

pub fn event(kind: &str, data: Value) -> Value {
    json!({ "type": kind, "object": "event", "data": data, "timestamp": 1_700_000_000_000_i64, "instance_id": "ins_test" })
}

async fn count(app: &TestApp) -> Value {
    app.ok("{ users(includeDeleted: true) { totalCount } }", json!({}))
        .await["users"]["totalCount"]
        .clone()
}

/// The count once the read model has caught up with what was applied.
async fn count_becomes(app: &TestApp, expected: i64) {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = count(app).await;
        if last == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {expected} users, have {last}");
}

async fn by_email(app: &TestApp, email: &str) -> Value {
    let query = format!(
        "{{ users(search: \"{email}\", includeDeleted: true) {{ edges {{ node {{ {USER_FIELDS} }} }} }} }}"
    );
    app.ok(&query, json!({})).await["users"]["edges"][0]["node"].clone()
}

on_both_stores! {
    async fn the_svix_vector_is_checked_on_the_raw_body(app: TestApp) {
        // The vector's own signature is right but its timestamp is years old.
        let (status, _) = post(&app, VECTOR_ID, VECTOR_TIMESTAMP.parse().unwrap(), VECTOR_PAYLOAD, VECTOR_SIGNATURE).await;
        assert_eq!(status, 401, "a stale timestamp");
        // Signed now with the vector's secret (the suite's), the body is checked next: no type, so 400.
        let ts = now();
        let (status, _) = post(&app, VECTOR_ID, ts, VECTOR_PAYLOAD, &sign(WHSEC, VECTOR_ID, ts, VECTOR_PAYLOAD)).await;
        assert_eq!(status, 400, "signed but not a Clerk event");
    }

    async fn bad_signatures_are_refused_and_change_nothing(app: TestApp) {
        let body = event("user.created", clerk_user("user_sig", "sig@example.com", "Sig", 1_700_000_000_001)).to_string();
        let ts = now();
        let good = sign(WHSEC, "msg_sig", ts, &body);
        let cases = [
            ("wrong secret", "msg_sig", ts, body.clone(), sign("whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==", "msg_sig", ts, &body)),
            ("tampered body", "msg_sig", ts, body.replace("Sig", "Gis"), good.clone()),
            ("stale timestamp", "msg_sig", ts - 600, body.clone(), sign(WHSEC, "msg_sig", ts - 600, &body)),
            ("future timestamp", "msg_sig", ts + 600, body.clone(), sign(WHSEC, "msg_sig", ts + 600, &body)),
            ("another message id", "msg_other", ts, body.clone(), good.clone()),
            ("no signature", "msg_sig", ts, body.clone(), String::new()),
        ];
        for (what, id, ts, body, signature) in cases {
            let (status, _) = post(&app, id, ts, &body, &signature).await;
            assert_eq!(status, 401, "{what}");
        }
        let missing = app.client.post(format!("{}/webhooks/clerk", app.base)).body(body.clone()).send().await.unwrap();
        assert_eq!(missing.status(), 401, "no svix headers");
        assert_eq!(count(&app).await, 0);
        let (status, _) = post(&app, "msg_sig", ts, &body, &good).await;
        assert_eq!(status, 200, "the same delivery, correctly signed");
        count_becomes(&app, 1).await;
    }

    async fn oversized_malformed_and_unknown_events_get_their_answers(app: TestApp) {
        let huge = format!("{{\"type\":\"user.updated\",\"data\":\"{}\"}}", "x".repeat(300 * 1024));
        let ts = now();
        let (status, _) = post(&app, "msg_big", ts, &huge, &sign(WHSEC, "msg_big", ts, &huge)).await;
        assert_eq!(status, 413);
        let (status, _) = deliver(&app, "msg_bad_json", &json!("not an event")).await;
        assert_eq!(status, 400);
        let (status, _) = deliver(&app, "msg_bad_shape", &event("user.updated", json!({ "id": 42 }))).await;
        assert_eq!(status, 400, "a known type with the wrong shape");
        let (status, body) = deliver(&app, "msg_org", &event("organization.created", json!({ "id": "org_1" }))).await;
        assert_eq!(status, 200, "unknown types are acknowledged and ignored: {body}");
        assert_eq!(count(&app).await, 0);
    }

    async fn a_redelivery_has_one_effect(app: TestApp) {
        let body = event("user.created", clerk_user("user_dup", "dup@example.com", "Dup", 1_700_000_000_001));
        for attempt in 0..3 {
            let (status, answer) = deliver(&app, "msg_dup", &body).await;
            assert_eq!(status, 200);
            let expected = if attempt == 0 { "applied" } else { "duplicate" };
            assert_eq!(answer["status"], expected, "delivery {attempt}: its receipt is read before anything is applied");
        }
        // Linked to a Tandem user, Clerk's user now carries its external id, and a
        // redelivery of such an event is caught before the user is loaded.
        let user = by_email(&app, "dup@example.com").await;
        let mut linked = clerk_user("user_dup", "dup@example.com", "Dup", 1_700_000_000_002);
        linked["external_id"] = user["id"].clone();
        let linked = event("user.updated", linked);
        let (_, first) = deliver(&app, "msg_dup_linked", &linked).await;
        let (_, again) = deliver(&app, "msg_dup_linked", &linked).await;
        assert_eq!((&first["status"], &again["status"]), (&json!("applied"), &json!("duplicate")));
        count_becomes(&app, 1).await;
        let user = by_email(&app, "dup@example.com").await;
        assert_eq!(user["clerkId"], "user_dup");
        assert_eq!(user["syncStatus"], "SYNCED", "it came from Clerk");
        let history = app.ok(HISTORY, json!({ "id": user["id"] })).await["user"]["history"].clone();
        assert_eq!(history[0]["origin"], "CLERK");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(app.clerk_requests().await.is_empty(), "nothing pushed back");
    }

    async fn deliveries_arriving_together_each_apply_once(app: TestApp) {
        // Sign-ups that arrive at once commit together on SQLite; the copies of
        // a delivery among them must still each be answered as duplicates.
        let sends = (0..12).flat_map(|i| {
            let copies = if i % 4 == 0 { 3 } else { 1 };
            (0..copies).map(move |_| i)
        });
        let answers = futures::future::join_all(sends.map(|i| {
            let app = &app;
            async move {
                let body = event("user.created", clerk_user(&format!("user_burst{i}"), &format!("burst{i}@example.com"), "Burst", 1_700_000_000_001));
                let (status, answer) = deliver(app, &format!("msg_burst{i}"), &body).await;
                assert_eq!(status, 200, "{answer}");
                (i, answer["status"].as_str().unwrap().to_owned())
            }
        }))
        .await;
        for i in 0..12 {
            let outcomes: Vec<&str> = answers.iter().filter(|(n, _)| *n == i).map(|(_, o)| o.as_str()).collect();
            assert_eq!(outcomes.iter().filter(|o| **o == "applied").count(), 1, "message {i}: {outcomes:?}");
            assert!(outcomes.iter().all(|o| *o == "applied" || *o == "duplicate"), "message {i}: {outcomes:?}");
        }
        count_becomes(&app, 12).await;
        for i in 0..12 {
            assert_eq!(by_email(&app, &format!("burst{i}@example.com")).await["clerkId"], format!("user_burst{i}"));
        }
    }

    async fn older_news_never_overwrites_newer(app: TestApp) {
        deliver(&app, "msg_o1", &event("user.created", clerk_user("user_o", "o@example.com", "First", 1_700_000_000_010))).await;
        deliver(&app, "msg_o3", &event("user.updated", clerk_user("user_o", "o@example.com", "Newest", 1_700_000_000_030))).await;
        let (status, _) = deliver(&app, "msg_o2", &event("user.updated", clerk_user("user_o", "o@example.com", "Older", 1_700_000_000_020))).await;
        assert_eq!(status, 200);
        count_becomes(&app, 1).await;
        let user = by_email(&app, "o@example.com").await;
        // The event store, not the read model: it holds every applied change already.
        let history = app.ok(HISTORY, json!({ "id": user["id"] })).await["user"]["history"].clone();
        let names: Vec<&Value> = history
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| h["changes"].as_array().unwrap())
            .filter(|c| c["field"] == "firstName")
            .map(|c| &c["newValue"])
            .collect();
        assert_eq!(names, [&json!("First"), &json!("Newest")], "the older update left no trace");
    }

    async fn an_update_after_a_delete_does_not_resurrect(app: TestApp) {
        deliver(&app, "msg_r1", &event("user.created", clerk_user("user_r", "r@example.com", "R", 1_700_000_000_010))).await;
        let (status, _) = deliver(&app, "msg_r2", &event("user.deleted", json!({ "object": "user", "id": "user_r", "deleted": true }))).await;
        assert_eq!(status, 200);
        deliver(&app, "msg_r3", &event("user.updated", clerk_user("user_r", "r@example.com", "Zombie", 1_700_000_000_050))).await;
        let mut user = Value::Null;
        for _ in 0..100 {
            user = by_email(&app, "r@example.com").await;
            if user["deletedAt"].is_string() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(user["deletedAt"].is_string(), "{user}");
        assert_eq!(user["firstName"], "R");
        let history = app.ok(HISTORY, json!({ "id": user["id"] })).await["user"]["history"].clone();
        let deleted = history.as_array().unwrap().iter().find(|h| h["type"] == "UserDeleted").unwrap();
        assert_eq!(deleted["origin"], "CLERK");
        // A user Clerk deleted before Tandem knew it stays out.
        deliver(&app, "msg_t1", &event("user.deleted", json!({ "object": "user", "id": "user_t", "deleted": true }))).await;
        deliver(&app, "msg_t2", &event("user.updated", clerk_user("user_t", "t@example.com", "T", 1_700_000_000_050))).await;
        // Its sign-up, delivered late, too.
        let (status, _) = deliver(&app, "msg_t0", &event("user.created", clerk_user("user_t", "t@example.com", "T", 1_700_000_000_040))).await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(count(&app).await, 1);
    }
}
