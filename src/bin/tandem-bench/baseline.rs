//! What the database alone does, measured by this process on the same
//! database as the server: the ceiling each Tandem figure is compared with.

use std::sync::Arc;

use serde_json::json;
use tandem::db::Db;
use tandem::on_db;

use crate::load::{closed_loop, Stats, Until};
use crate::processes::{Cpu, Emulator};

/// A pool of `connections` with the server's own connection settings.
pub async fn pool(url: &str, connections: u32) -> anyhow::Result<Db> {
    Ok(Db::connect_sized(url, Some(connections)).await?)
}

/// Single-row INSERT transactions into a table shaped like the events table,
/// and the CPU they took. The CPU is read while the pool is open: a Postgres
/// backend's time is gone from `/proc` once its connection closes.
pub async fn raw_inserts(
    url: &str,
    concurrency: usize,
    until: Until,
    emulator: &Emulator,
) -> anyhow::Result<(Stats, Cpu)> {
    let db = pool(url, concurrency as u32).await?;
    let create = if db.is_postgres() {
        "CREATE TABLE IF NOT EXISTS bench_raw_events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
            sequence bigint NOT NULL, event_type text NOT NULL, event_version text NOT NULL,
            payload json NOT NULL, metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))"
    } else {
        "CREATE TABLE IF NOT EXISTS bench_raw_events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
            sequence integer NOT NULL, event_type text NOT NULL, event_version text NOT NULL,
            payload text NOT NULL, metadata text NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))"
    };
    on_db!(&db, p => sqlx::query(create).execute(p).await.map(drop))?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let db = Arc::new(db);
    let open = db.clone();
    let cpu = Cpu::now(None, emulator);
    let stats = closed_loop(concurrency, until, move |i| {
        let db = db.clone();
        let id = format!("{run}-{i}");
        async move {
            let payload = json!({"UserCreated": {
                "clerk": {"email": format!("{id}@example.com"), "username": format!("u_{id}"),
                          "first_name": "Alex", "last_name": "Kalomi"},
                "local": {"display_name": null, "bio": null, "roles": ["member"], "social_links": []},
                "at": "2026-12-04T10:00:00.000000Z"}});
            let metadata = json!({"actor": "admin", "origin": "ADMIN", "occurred_at": "2026-12-04T10:00:00.000000+00:00"});
            on_db!(db.as_ref(), p => sqlx::query(
                "INSERT INTO bench_raw_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind("User")
            .bind(&id)
            .bind(1_i64)
            .bind("UserCreated")
            .bind("1.0")
            .bind(&payload)
            .bind(&metadata)
            .execute(p)
            .await
            .map(drop))?;
            Ok(())
        }
    })
    .await;
    let cpu = Cpu::now(None, emulator).since(cpu);
    drop(open);
    Ok((stats, cpu))
}

/// The list of [`crate::client::Api::list`] as plain SQL on the
/// projection table: one page and its total, in one statement that reads the
/// matches from the search index first, as Tandem's does (left to choose, the
/// planner reads every row for some terms). Its CPU is read while the pool
/// is open, as for [`raw_inserts`].
pub async fn plain_list(
    url: &str,
    concurrency: usize,
    until: Until,
    terms: Arc<Vec<String>>,
    emulator: &Emulator,
) -> anyhow::Result<(Stats, Cpu)> {
    let db = Arc::new(pool(url, concurrency as u32).await?);
    let open = db.clone();
    // Each store's own substring index: pg_trgm on Postgres, FTS5 trigrams on SQLite.
    let search = if db.is_postgres() {
        "search_text LIKE $1"
    } else {
        "rowid IN (SELECT rowid FROM admin_users_search WHERE search_text LIKE $1)"
    };
    let list: Arc<str> = format!(
        "WITH matched AS MATERIALIZED (
             SELECT id, created_at FROM admin_users
             WHERE deleted_at IS NULL AND sync_status = 'SYNCED' AND {search}),
         page AS (SELECT id, created_at FROM matched ORDER BY created_at DESC, id DESC LIMIT 51)
         SELECT u.id, u.clerk_id, u.email, u.username, u.first_name, u.last_name, u.display_name, u.roles,
                u.sync_status, u.sync_error, u.next_retry_at, u.created_at, u.updated_at,
                (SELECT COUNT(*) FROM matched) AS total
         FROM page p JOIN admin_users u ON u.id = p.id
         ORDER BY p.created_at DESC, p.id DESC"
    )
    .into();
    let cpu = Cpu::now(None, emulator);
    let stats = closed_loop(concurrency, until, move |i| {
        let db = db.clone();
        let list = list.clone();
        let term = format!("%{}%", terms[i as usize % terms.len()]);
        async move {
            on_db!(db.as_ref(), p => sqlx::query(&list).bind(&term).fetch_all(p).await.map(drop)?);
            Ok(())
        }
    })
    .await;
    let cpu = Cpu::now(None, emulator).since(cpu);
    drop(open);
    Ok((stats, cpu))
}
