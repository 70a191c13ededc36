//! Create, read, update, delete, list, search, sort and page through users.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_stores;

const LIST: &str = "query($search: String, $status: SyncStatus, $role: String, $deleted: Boolean, \
    $order: UserOrder, $first: Int, $after: String) { users(search: $search, syncStatus: $status, \
    role: $role, includeDeleted: $deleted, orderBy: $order, first: $first, after: $after) { \
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id email username } } } }";

async fn list(app: &TestApp, vars: Value) -> Value {
    app.ok(LIST, vars).await["users"].clone()
}

fn emails(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap().to_owned())
        .collect()
}

on_both_stores! {
    async fn create_returns_the_new_user_with_every_field(app: TestApp) {
        app.pause_sync().await;
        let user = app
            .create(json!({
                "email": "Ada@Example.com", "username": "ada_l", "firstName": "Ada", "lastName": "Lovelace",
                "displayName": "Countess", "bio": "First programmer.", "roles": ["editor", "admin", "editor"],
                "socialLinks": [{ "platform": "GitHub", "url": "https://github.com/ada" }]
            }))
            .await;
        assert_eq!(user["email"], "Ada@Example.com");
        assert_eq!(user["username"], "ada_l");
        assert_eq!(user["firstName"], "Ada");
        assert_eq!(user["lastName"], "Lovelace");
        assert_eq!(user["displayName"], "Countess");
        assert_eq!(user["bio"], "First programmer.");
        assert_eq!(user["roles"], json!(["admin", "editor"]), "roles are a sorted set");
        assert_eq!(user["socialLinks"], json!([{ "platform": "GitHub", "url": "https://github.com/ada" }]));
        assert_eq!(user["version"], 1);
        assert_eq!(user["syncStatus"], "PENDING", "a new user is owed to Clerk");
        assert_eq!(user["syncAttempts"], 0);
        assert_eq!(user["deletedAt"], Value::Null);
        assert_eq!(user["createdAt"], user["updatedAt"]);
        assert_eq!(app.user(user["id"].as_str().unwrap()).await, user, "user(id) reads what create returned");
    }

    async fn update_changes_only_the_given_fields_and_null_clears(app: TestApp) {
        let user = app.create(json!({ "email": "a@example.com", "firstName": "A", "lastName": "B", "bio": "x" })).await;
        let id = user["id"].as_str().unwrap();
        let updated = app
            .ok(UPDATE, json!({ "id": id, "input": { "firstName": "Alice", "lastName": null, "roles": ["ops"] } }))
            .await["updateUser"]
            .clone();
        assert_eq!(updated["firstName"], "Alice");
        assert_eq!(updated["lastName"], Value::Null);
        assert_eq!(updated["bio"], "x", "omitted fields are kept");
        assert_eq!(updated["roles"], json!(["ops"]));
        assert_eq!(updated["version"], 3, "a Clerk-field event and a local-field event");
        assert_eq!(app.user(id).await["firstName"], "Alice");
    }

    async fn an_update_that_changes_nothing_writes_no_event(app: TestApp) {
        app.pause_sync().await;
        let user = app.create(json!({ "email": "same@example.com", "firstName": "Same", "roles": ["a", "b"] })).await;
        let id = user["id"].as_str().unwrap();
        let again = app
            .ok(UPDATE, json!({ "id": id, "input": { "email": "same@example.com", "firstName": " Same ", "roles": ["b", "a"] } }))
            .await["updateUser"]
            .clone();
        assert_eq!(again["version"], 1);
        assert_eq!(again["updatedAt"], user["updatedAt"]);
        let history = app.ok(HISTORY, json!({ "id": id })).await;
        assert_eq!(history["user"]["history"].as_array().unwrap().len(), 1);
    }

    async fn delete_hides_the_user_from_the_list_but_user_still_finds_it(app: TestApp) {
        let user = app.create(json!({ "email": "gone@example.com" })).await;
        let id = user["id"].as_str().unwrap();
        let deleted = app.ok(DELETE, json!({ "id": id })).await;
        assert_eq!(deleted["deleteUser"], id);
        let found = app.user(id).await;
        assert!(found["deletedAt"].is_string(), "deletedAt set: {found}");
        assert_eq!(found["version"], 2);
        assert_eq!(list(&app, json!({})).await["totalCount"], 0);
        let with_deleted = list(&app, json!({ "deleted": true })).await;
        assert_eq!(with_deleted["totalCount"], 1);
        let again = app.err(DELETE, json!({ "id": id })).await;
        assert_eq!(again["extensions"]["code"], "NOT_FOUND");
        let edit = app.err(UPDATE, json!({ "id": id, "input": { "bio": "back?" } })).await;
        assert_eq!(edit["extensions"]["code"], "NOT_FOUND");
    }

    async fn unknown_ids_are_not_found(app: TestApp) {
        assert_eq!(app.user("no-such-user").await, Value::Null);
        let err = app.err(UPDATE, json!({ "id": "no-such-user", "input": { "bio": "x" } })).await;
        assert_eq!(err["extensions"]["code"], "NOT_FOUND");
        let err = app.err(DELETE, json!({ "id": "no-such-user" })).await;
        assert_eq!(err["extensions"]["code"], "NOT_FOUND");
    }

    async fn search_matches_email_username_and_names_ignoring_case(app: TestApp) {
        app.create(json!({ "email": "grace@navy.mil", "username": "hopper", "firstName": "Grace", "lastName": "Hopper" })).await;
        app.create(json!({ "email": "alan@bletchley.uk", "username": "turing", "firstName": "Alan" })).await;
        app.create(json!({ "email": "kat@nasa.gov", "displayName": "Katherine J" })).await;
        for (term, expected) in [
            ("GRACE", vec!["grace@navy.mil"]),
            ("bletchley", vec!["alan@bletchley.uk"]),
            ("TURing", vec!["alan@bletchley.uk"]),
            ("grace hopper", vec!["grace@navy.mil"]),
            ("katherine", vec!["kat@nasa.gov"]),
            ("100%", vec![]),
            ("a_a", vec![]),
        ] {
            let page = list(&app, json!({ "search": term })).await;
            assert_eq!(emails(&page), expected, "search {term:?}");
            assert_eq!(page["totalCount"], expected.len(), "count for {term:?}");
        }
    }

    async fn filters_by_role_and_sync_status(app: TestApp) {
        // Paused, so every user stays PENDING while the filters are checked.
        app.pause_sync().await;
        app.create(json!({ "email": "a@x.io", "roles": ["admin"] })).await;
        app.create(json!({ "email": "b@x.io", "roles": ["admin", "ops"] })).await;
        app.create(json!({ "email": "c@x.io" })).await;
        let admins = list(&app, json!({ "role": "admin", "order": { "field": "EMAIL", "direction": "ASC" } })).await;
        assert_eq!(emails(&admins), vec!["a@x.io", "b@x.io"]);
        assert_eq!(admins["totalCount"], 2);
        assert_eq!(list(&app, json!({ "status": "PENDING" })).await["totalCount"], 3);
        assert_eq!(list(&app, json!({ "status": "SYNCED" })).await["totalCount"], 0);
        assert_eq!(list(&app, json!({ "role": "nobody" })).await["totalCount"], 0);
    }

    async fn sorts_by_each_field_in_both_directions(app: TestApp) {
        for (email, username) in [("b@x.io", "delta"), ("c@x.io", "alpha"), ("a@x.io", "charlie")] {
            app.create(json!({ "email": email, "username": username })).await;
        }
        let cases = [
            ("EMAIL", "ASC", vec!["a@x.io", "b@x.io", "c@x.io"]),
            ("EMAIL", "DESC", vec!["c@x.io", "b@x.io", "a@x.io"]),
            ("USERNAME", "ASC", vec!["c@x.io", "a@x.io", "b@x.io"]),
            ("CREATED_AT", "ASC", vec!["b@x.io", "c@x.io", "a@x.io"]),
            ("CREATED_AT", "DESC", vec!["a@x.io", "c@x.io", "b@x.io"]),
            ("UPDATED_AT", "DESC", vec!["a@x.io", "c@x.io", "b@x.io"]),
        ];
        for (field, direction, expected) in cases {
            let page = list(&app, json!({ "order": { "field": field, "direction": direction } })).await;
            assert_eq!(emails(&page), expected, "{field} {direction}");
        }
        assert_eq!(emails(&list(&app, json!({})).await), vec!["a@x.io", "c@x.io", "b@x.io"], "newest first by default");
    }

    async fn pages_through_every_user_once_with_cursors(app: TestApp) {
        let mut created = Vec::new();
        for i in 0..7 {
            created.push(app.create(json!({ "email": format!("user{i}@x.io") })).await["email"].as_str().unwrap().to_owned());
        }
        for order in [json!({ "field": "CREATED_AT", "direction": "ASC" }), json!({ "field": "EMAIL", "direction": "DESC" })] {
            let mut seen = Vec::new();
            let mut after = Value::Null;
            let mut pages = 0;
            loop {
                let page = list(&app, json!({ "order": order, "first": 3, "after": after })).await;
                assert_eq!(page["totalCount"], 7);
                assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 0);
                seen.extend(emails(&page));
                pages += 1;
                if page["pageInfo"]["hasNextPage"] == false {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(pages, 3, "7 users in pages of 3");
            let mut expected = created.clone();
            if order["field"] == "EMAIL" {
                expected.sort();
                expected.reverse();
            }
            assert_eq!(seen, expected, "order {order}");
        }
    }

    async fn searched_pages_count_every_match_on_every_page(app: TestApp) {
        let mut matches = Vec::new();
        for i in 0..7 {
            let user = app.create(json!({ "email": format!("match{i}@x.io"), "username": format!("handle{i}") })).await;
            matches.push(user);
        }
        for i in 0..3 {
            app.create(json!({ "email": format!("other{i}@x.io") })).await;
        }
        app.ok(DELETE, json!({ "id": matches[2]["id"] })).await;
        for (deleted, expected) in [(false, 6), (true, 7)] {
            for order in [json!({ "field": "CREATED_AT", "direction": "DESC" }), json!({ "field": "USERNAME", "direction": "ASC" })] {
                let mut seen = Vec::new();
                let mut after = Value::Null;
                loop {
                    let vars = json!({ "search": "MATCH", "deleted": deleted, "order": order, "first": 3, "after": after });
                    let page = list(&app, vars).await;
                    assert_eq!(page["totalCount"], expected, "every page counts every match ({order}, {seen:?})");
                    seen.extend(emails(&page));
                    after = page["pageInfo"]["endCursor"].clone();
                    if page["pageInfo"]["hasNextPage"] == false {
                        break;
                    }
                }
                let mut expected_emails: Vec<String> = (0..7)
                    .filter(|i| deleted || *i != 2)
                    .map(|i| format!("match{i}@x.io"))
                    .collect();
                if order["field"] == "CREATED_AT" {
                    expected_emails.reverse();
                }
                assert_eq!(seen, expected_emails, "order {order}, deleted {deleted}");
                // Past the last match: no rows, and still the total.
                let vars = json!({ "search": "match", "deleted": deleted, "order": order, "first": 3, "after": after });
                let beyond = list(&app, vars).await;
                assert_eq!(emails(&beyond), Vec::<String>::new());
                assert_eq!(beyond["totalCount"], expected);
            }
        }
        let none = list(&app, json!({ "search": "nomatch" })).await;
        assert_eq!((emails(&none).len(), none["totalCount"].as_i64()), (0, Some(0)));
        // Without the total asked for, the page is the same.
        let query = "query($s: String) { users(search: $s, first: 2) { edges { node { email } } } }";
        let page = app.ok(query, json!({ "s": "match" })).await;
        assert_eq!(page["users"]["edges"].as_array().unwrap().len(), 2);
    }

    async fn concurrent_creates_with_one_email_let_exactly_one_win(app: TestApp) {
        let attempts = (0..8).map(|i| {
            let app = &app;
            async move {
                // Differently cased: one address all the same.
                let email = if i % 2 == 0 { "race@example.com" } else { "RACE@example.com" };
                app.gql(CREATE, json!({ "input": { "email": email, "username": format!("racer{i}") } })).await
            }
        });
        let results = futures::future::join_all(attempts).await;
        let winners = results.iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(winners, 1, "{results:#?}");
        for loser in results.iter().filter(|r| r.get("errors").is_some()) {
            assert_eq!(loser["errors"][0]["extensions"]["code"], "VALIDATION");
            assert_eq!(loser["errors"][0]["extensions"]["field"], "email");
        }
        let all = list(&app, json!({ "deleted": true })).await;
        assert_eq!(all["totalCount"], 1, "losers wrote nothing");
        // The losers' usernames were given back.
        let winner = results.iter().position(|r| r.get("errors").is_none()).unwrap();
        let loser = (winner + 1) % 8;
        app.create(json!({ "email": "other@example.com", "username": format!("RACER{loser}") })).await;
    }

    async fn concurrent_creates_with_one_username_let_exactly_one_win(app: TestApp) {
        let attempts = (0..6).map(|i| {
            let app = &app;
            async move { app.gql(CREATE, json!({ "input": { "email": format!("u{i}@example.com"), "username": "Taken_Name" } })).await }
        });
        let results = futures::future::join_all(attempts).await;
        assert_eq!(results.iter().filter(|r| r.get("errors").is_none()).count(), 1, "{results:#?}");
        for loser in results.iter().filter(|r| r.get("errors").is_some()) {
            assert_eq!(loser["errors"][0]["extensions"]["field"], "username");
        }
    }

    async fn an_email_is_free_again_once_its_user_lets_it_go(app: TestApp) {
        let first = app.create(json!({ "email": "keep@example.com", "username": "keeper" })).await;
        let dup = app.err(CREATE, json!({ "input": { "email": "KEEP@example.com" } })).await;
        assert_eq!(dup["extensions"]["code"], "VALIDATION");
        assert_eq!(dup["extensions"]["field"], "email");
        let id = first["id"].as_str().unwrap();
        app.ok(UPDATE, json!({ "id": id, "input": { "email": "moved@example.com", "username": null } })).await;
        app.create(json!({ "email": "keep@example.com", "username": "keeper" })).await;
        let taken = app.err(UPDATE, json!({ "id": id, "input": { "username": "KEEPER" } })).await;
        assert_eq!(taken["extensions"]["field"], "username");
        app.ok(DELETE, json!({ "id": id })).await;
        app.create(json!({ "email": "moved@example.com" })).await;
    }

    async fn a_refused_update_takes_none_of_its_new_values(app: TestApp) {
        let alpha = app.create(json!({ "email": "alpha@example.com", "username": "alpha" })).await;
        app.create(json!({ "email": "bravo@example.com", "username": "bravo" })).await;
        let id = alpha["id"].as_str().unwrap();
        let refused = app
            .err(UPDATE, json!({ "id": id, "input": { "email": "new@example.com", "username": "BRAVO" } }))
            .await;
        assert_eq!(refused["extensions"]["field"], "username");
        let now = app.user(id).await;
        assert_eq!(now["email"], "alpha@example.com");
        assert_eq!(now["version"], 1);
        // The new email was never held, and the old one still is.
        app.create(json!({ "email": "NEW@example.com" })).await;
        let dup = app.err(CREATE, json!({ "input": { "email": "Alpha@example.com" } })).await;
        assert_eq!(dup["extensions"]["field"], "email");
    }

    async fn a_stale_expected_version_is_a_conflict_and_writes_nothing(app: TestApp) {
        let user = app.create(json!({ "email": "v@example.com" })).await;
        let id = user["id"].as_str().unwrap();
        app.ok(UPDATE, json!({ "id": id, "input": { "bio": "first" }, "v": 1 })).await;
        let stale = app.err(UPDATE, json!({ "id": id, "input": { "bio": "second" }, "v": 1 })).await;
        assert_eq!(stale["extensions"]["code"], "CONFLICT");
        assert_eq!(stale["extensions"]["currentVersion"], 2);
        let stale_delete = app.err(DELETE, json!({ "id": id, "v": 1 })).await;
        assert_eq!(stale_delete["extensions"]["code"], "CONFLICT");
        let now = app.user(id).await;
        assert_eq!(now["bio"], "first");
        assert_eq!(now["version"], 2);
        assert_eq!(now["deletedAt"], Value::Null);
        app.ok(UPDATE, json!({ "id": id, "input": { "bio": "second" }, "v": 2 })).await;
        assert_eq!(app.user(id).await["bio"], "second");
    }
}
