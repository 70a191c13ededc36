//! `User.history` is the audit log: every event, its origin, actor and changes.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_stores;

on_both_stores! {
    async fn history_lists_every_change_with_old_and_new_values(app: TestApp) {
        app.pause_sync().await;
        let user = app.create(json!({ "email": "h@example.com", "firstName": "Hedy", "roles": ["a"] })).await;
        let id = user["id"].as_str().unwrap();
        app.ok(UPDATE, json!({ "id": id, "input": { "firstName": "Hedwig", "username": "hedy_l" } })).await;
        app.ok(UPDATE, json!({ "id": id, "input": { "roles": ["a", "b"], "bio": "Inventor" } })).await;
        let response = app
            .client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(TOKEN)
            .header("x-request-id", "req-delete-1")
            .json(&json!({ "query": DELETE, "variables": { "id": id } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "req-delete-1", "request id is echoed");

        let history = app.ok(HISTORY, json!({ "id": id })).await["user"]["history"].clone();
        let types: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["UserCreated", "ClerkProfileChanged", "LocalProfileChanged", "UserDeleted"]);
        for (i, entry) in history.as_array().unwrap().iter().enumerate() {
            assert_eq!(entry["sequence"], i + 1);
            assert_eq!(entry["origin"], "ADMIN");
            assert_eq!(entry["actor"], "admin");
            assert!(entry["requestId"].is_string(), "each request has an id: {entry}");
        }
        assert_eq!(
            history[0]["changes"],
            json!([
                { "field": "email", "oldValue": null, "newValue": "h@example.com" },
                { "field": "firstName", "oldValue": null, "newValue": "Hedy" },
                { "field": "roles", "oldValue": null, "newValue": ["a"] },
            ])
        );
        assert_eq!(
            history[1]["changes"],
            json!([
                { "field": "username", "oldValue": null, "newValue": "hedy_l" },
                { "field": "firstName", "oldValue": "Hedy", "newValue": "Hedwig" },
            ])
        );
        assert_eq!(
            history[2]["changes"],
            json!([
                { "field": "bio", "oldValue": null, "newValue": "Inventor" },
                { "field": "roles", "oldValue": ["a"], "newValue": ["a", "b"] },
            ])
        );
        assert_eq!(history[3]["requestId"], "req-delete-1");
        assert_eq!(history[3]["changes"][0]["field"], "deletedAt");
        let times: Vec<&Value> = history.as_array().unwrap().iter().map(|h| &h["occurredAt"]).collect();
        assert!(times.windows(2).all(|w| w[0].as_str() <= w[1].as_str()), "in order: {times:?}");
    }
}
