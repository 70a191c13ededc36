//! Bad input gets a VALIDATION error naming its field, and changes nothing.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_stores;

const COUNT: &str = "{ users(includeDeleted: true) { totalCount } }";

on_both_stores! {
    async fn each_bad_create_input_is_refused_on_its_field(app: TestApp) {
        let long = "x".repeat(101);
        let cases: Vec<(Value, &str)> = vec![
            (json!({ "email": "not-an-email" }), "email"),
            (json!({ "email": "   " }), "email"),
            (json!({ "email": "a@b.c" }), "email"),
            (json!({ "email": "ok@example.com", "username": "abc" }), "username"),
            (json!({ "email": "ok@example.com", "username": "has space" }), "username"),
            (json!({ "email": "ok@example.com", "username": "x".repeat(65) }), "username"),
            (json!({ "email": "ok@example.com", "firstName": long }), "firstName"),
            (json!({ "email": "ok@example.com", "lastName": "a\u{0007}b" }), "lastName"),
            (json!({ "email": "ok@example.com", "displayName": long }), "displayName"),
            (json!({ "email": "ok@example.com", "bio": "x".repeat(2001) }), "bio"),
            (json!({ "email": "ok@example.com", "roles": ["no spaces allowed"] }), "roles"),
            (json!({ "email": "ok@example.com", "socialLinks": [{ "platform": "x", "url": "ftp://x.io" }] }), "socialLinks"),
            (json!({ "email": "ok@example.com", "socialLinks": [{ "platform": "", "url": "https://x.io" }] }), "socialLinks"),
        ];
        for (input, field) in cases {
            let err = app.err(CREATE, json!({ "input": input })).await;
            assert_eq!(err["extensions"]["code"], "VALIDATION", "{input}: {err}");
            assert_eq!(err["extensions"]["field"], field, "{input}: {err}");
            assert!(err["message"].as_str().unwrap().starts_with(field), "message names the field: {err}");
        }
        assert_eq!(app.ok(COUNT, json!({})).await["users"]["totalCount"], 0, "nothing was written");
    }

    async fn each_bad_update_input_is_refused_and_the_user_is_unchanged(app: TestApp) {
        app.pause_sync().await;
        let user = app.create(json!({ "email": "keep@example.com", "username": "keeper" })).await;
        let id = user["id"].as_str().unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (json!({ "email": null }), "email"),
            (json!({ "email": "nope" }), "email"),
            (json!({ "username": "ab" }), "username"),
            (json!({ "bio": "fine", "roles": ["bad role"] }), "roles"),
        ];
        for (input, field) in cases {
            let err = app.err(UPDATE, json!({ "id": id, "input": input })).await;
            assert_eq!(err["extensions"]["code"], "VALIDATION", "{input}: {err}");
            assert_eq!(err["extensions"]["field"], field, "{input}: {err}");
        }
        assert_eq!(app.user(id).await, user);
    }

    async fn list_arguments_are_checked(app: TestApp) {
        for first in [0, -1, 101] {
            let err = app.err("query($f: Int) { users(first: $f) { totalCount } }", json!({ "f": first })).await;
            assert_eq!(err["extensions"]["code"], "VALIDATION", "first={first}");
            assert_eq!(err["extensions"]["field"], "first");
        }
        let err = app.err("{ users(after: \"garbage\") { totalCount } }", json!({})).await;
        assert_eq!(err["extensions"]["field"], "after");
        app.create(json!({ "email": "a@x.io" })).await;
        app.create(json!({ "email": "b@x.io" })).await;
        let page = app.ok("{ users(first: 1) { pageInfo { endCursor } } }", json!({})).await;
        let cursor = page["users"]["pageInfo"]["endCursor"].clone();
        let err = app
            .err("query($c: String) { users(after: $c, orderBy: { field: EMAIL }) { totalCount } }", json!({ "c": cursor }))
            .await;
        assert_eq!(err["extensions"]["field"], "after", "a cursor from another ordering: {err}");
    }

    async fn graphiqls_introspection_query_fits_the_limits(app: TestApp) {
        let request: Value = serde_json::from_str(include_str!("fixtures/graphiql-introspection.json")).unwrap();
        let response: Value = app
            .client
            .post(format!("{}/graphql", app.base))
            .bearer_auth(TOKEN)
            .json(&request)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(response["data"]["__schema"]["queryType"]["name"], "Query");
        assert_eq!(response["data"]["__schema"]["mutationType"]["name"], "Mutation");
    }

    async fn query_cost_is_limited(app: TestApp) {
        let heavy = "{ users(first: 100) { edges { node { history { changes { field } } } } } }";
        let err = app.err(heavy, json!({})).await;
        assert!(err["message"].as_str().unwrap().contains("complex"), "{err}");
    }

    async fn an_operation_sent_again_is_checked_and_answered_afresh(app: TestApp) {
        // The server keeps parsed operations by their text; what is kept must
        // change neither the limits nor the answer.
        let heavy = "{ users(first: 100) { edges { node { history { changes { field } } } } } }";
        let broken = "{ users(first: 1) { nodes { id }";
        for _ in 0..2 {
            let err = app.err(heavy, json!({})).await;
            assert!(err["message"].as_str().unwrap().contains("complex"), "{err}");
            let err = app.err(broken, json!({})).await;
            assert!(err["message"].as_str().unwrap().contains("expected"), "{err}");
        }
        let ada = app.create(json!({ "email": "ada@example.com", "lastName": "Lovelace" })).await;
        let alan = app.create(json!({ "email": "alan@example.com", "lastName": "Turing" })).await;
        let by_name = "query($search: String) { users(search: $search) { nodes { id } } }";
        for (term, who) in [("lovelace", &ada), ("turing", &alan), ("lovelace", &ada)] {
            let data = app.ok(by_name, json!({ "search": term })).await;
            assert_eq!(data["users"]["nodes"], json!([{ "id": who["id"] }]), "{term}");
        }
        let aliased = "query($search: String) { users(search: $search) { nodes { key: id } } }";
        let data = app.ok(aliased, json!({ "search": "turing" })).await;
        assert_eq!(data["users"]["nodes"], json!([{ "key": alan["id"] }]));
    }
}
