//! The admin list is a projection of the events: it survives tampering,
//! catches up by itself, and a replay rebuilds it exactly.

use serde_json::{json, Value};
use tandem::db::Db;
use tandem::on_db;

use crate::helpers::*;
use crate::on_both_stores;

/// Every user with every field, in a stable order.
async fn everyone(app: &TestApp) -> Value {
    let query = format!(
        "{{ users(includeDeleted: true, first: 100, orderBy: {{ field: EMAIL, direction: ASC }}) {{ totalCount edges {{ node {{ {USER_FIELDS} }} }} }} }}"
    );
    app.ok(&query, json!({})).await["users"].clone()
}

async fn seed(app: &TestApp) -> Vec<String> {
    // Held, so rows change only by what the test does.
    app.pause_sync().await;
    let mut ids = Vec::new();
    for (i, role) in ["ops", "admin", "ops"].iter().enumerate() {
        let user = app
            .create(json!({ "email": format!("p{i}@example.com"), "roles": [role], "firstName": "P" }))
            .await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    app.ok(
        UPDATE,
        json!({ "id": ids[0], "input": { "lastName": "Zero", "bio": "b" } }),
    )
    .await;
    app.ok(DELETE, json!({ "id": ids[2] })).await;
    ids
}

async fn execute(db: &Db, sql: &str, id: &str) {
    on_db!(db, pool => {
        sqlx::query(sql).bind(id).execute(pool).await.unwrap();
    });
}

async fn role_count(app: &TestApp, role: &str) -> Value {
    app.ok(
        "query($r: String) { users(role: $r, includeDeleted: true) { totalCount } }",
        json!({ "r": role }),
    )
    .await["users"]["totalCount"]
        .clone()
}

on_both_stores! {
    async fn rows_deleted_or_rolled_back_by_hand_are_whole_after_a_restart(app: TestApp) {
        let ids = seed(&app).await;
        let before = everyone(&app).await;
        let db = app.db().await;
        // A row lost with its roles left behind, one of them stale.
        execute(&db, "DELETE FROM admin_users WHERE id = $1", &ids[1]).await;
        execute(&db, "INSERT INTO admin_user_roles (role, user_id) VALUES ('stale', $1)", &ids[1]).await;
        execute(&db, "UPDATE admin_users SET email = 'stale@example.com', last_sequence = 1, version = 1 WHERE id = $1", &ids[0]).await;
        execute(&db, "UPDATE admin_users SET deleted_at = NULL, last_sequence = 1 WHERE id = $1", &ids[2]).await;
        db.close().await;
        assert_ne!(everyone(&app).await, before, "the tampering shows");

        app.restart().await;
        app.eventually("the view is whole again", || async { everyone(&app).await == before }).await;
        assert_eq!(role_count(&app, "admin").await, 1);
        assert_eq!(role_count(&app, "ops").await, 2);
        assert_eq!(role_count(&app, "stale").await, 0);
    }

    async fn a_view_behind_its_events_catches_up_without_a_restart(app: TestApp) {
        seed(&app).await;
        let before = everyone(&app).await;
        let db = app.db().await;
        on_db!(&db, pool => {
            sqlx::query("DELETE FROM admin_users").execute(pool).await.unwrap();
            sqlx::query("DELETE FROM admin_user_roles").execute(pool).await.unwrap();
            sqlx::query("DELETE FROM admin_user_counts").execute(pool).await.unwrap();
            sqlx::query("UPDATE projection_checkpoints SET tx_id = 0, global_seq = 0").execute(pool).await.unwrap();
        });
        db.close().await;
        app.eventually("the view caught up", || async { everyone(&app).await == before }).await;
        assert_eq!(role_count(&app, "ops").await, 2);
    }

    async fn rebuilding_the_view_in_place_hands_the_sync_saga_nothing_again(app: TestApp) {
        // The saga is fed from the view's batches; a view rebuilt from the
        // first event must not make it see those events a second time.
        for i in 0..3 {
            let user = app.create(json!({ "email": format!("s{i}@example.com"), "firstName": "S" })).await;
            app.until_status(user["id"].as_str().unwrap(), "SYNCED").await;
        }
        let before = everyone(&app).await;
        // Held, so any job made now stays for the count below.
        app.pause_sync().await;
        let db = app.db().await;
        on_db!(&db, pool => {
            sqlx::query("DELETE FROM admin_users").execute(pool).await.unwrap();
            sqlx::query("DELETE FROM admin_user_roles").execute(pool).await.unwrap();
            sqlx::query("DELETE FROM admin_user_counts").execute(pool).await.unwrap();
            sqlx::query("UPDATE projection_checkpoints SET tx_id = 0, global_seq = 0 WHERE projector = 'admin_users'")
                .execute(pool)
                .await
                .unwrap();
        });
        app.eventually("the view caught up", || async { everyone(&app).await == before }).await;
        let jobs: i64 = on_db!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM clerk_sync_jobs")
            .fetch_one(pool)
            .await
            .unwrap());
        db.close().await;
        assert_eq!(jobs, 0, "no user owes Clerk anything after the rebuild");
    }

    async fn a_lost_row_is_rebuilt_by_the_users_next_event(app: TestApp) {
        let ids = seed(&app).await;
        let db = app.db().await;
        execute(&db, "DELETE FROM admin_users WHERE id = $1", &ids[0]).await;
        db.close().await;
        let updated = app.ok(UPDATE, json!({ "id": ids[0], "input": { "displayName": "Back" } })).await["updateUser"].clone();
        assert_eq!(updated["email"], "p0@example.com");
        assert_eq!(updated["lastName"], "Zero", "fields from earlier events are back too");
        assert_eq!(updated["displayName"], "Back");
        assert_eq!(updated["version"], 4);
    }

    async fn replaying_twice_gives_the_same_view(app: TestApp) {
        seed(&app).await;
        let before = everyone(&app).await;
        for round in 1..=2 {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
                .arg("replay")
                .env_clear()
                .env("DATABASE_URL", &app.storage.url)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "replayed 6 events", "round {round}");
            assert_eq!(everyone(&app).await, before, "round {round}");
        }
        assert_eq!(role_count(&app, "ops").await, 2);
    }
}
