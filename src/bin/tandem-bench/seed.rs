//! Seeds users straight into the event store in large transactions: the
//! events the API would have written (create, sync reports, profile edits),
//! without one HTTP call and one aggregate load each.

use chrono::{DateTime, Duration as TimeDelta, SubsecRound, Utc};
use cqrs_es::{Aggregate, DomainEvent};
use tandem::db::{Db, Tx};
use tandem::domain::user::{ClerkProfile, LocalProfile, User, UserEvent};
use tandem::store::{EventMeta, Origin};
use tandem::{on_db, on_tx};

/// Users written per transaction.
const USERS_PER_TX: u64 = 2_000;
/// Rows per INSERT statement: inside SQLite's and Postgres's bind limits.
const ROWS_PER_INSERT: usize = 500;

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwxyz";
const VOWELS: &[u8] = b"aeiou";
const SURNAMES: u64 = 2_000;

/// One of 2,000 made-up surnames of three syllables (of 100 possible): a
/// search for one finds about 50 of 100,000 users, as a real name would.
pub fn surname(k: u64) -> String {
    let mut x = (k % SURNAMES).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    let mut name = String::new();
    for _ in 0..3 {
        let syllable = (x % 100) as usize;
        x /= 100;
        name.push(CONSONANTS[syllable / 5] as char);
        name.push(VOWELS[syllable % 5] as char);
    }
    let mut chars = name.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('X');
    std::iter::once(first).chain(chars).collect()
}

pub fn surname_count() -> u64 {
    SURNAMES
}

fn profile(n: u64, edit: usize) -> ClerkProfile {
    ClerkProfile {
        email: format!("seed{n}@example.com"),
        username: Some(format!("seed_{n}")),
        first_name: Some(if edit == 0 {
            "Alex".into()
        } else {
            format!("Alex{edit}")
        }),
        last_name: Some(surname(n.wrapping_mul(2_654_435_761) % surname_count())),
    }
}

/// A user's history of `events` events: created, synced, then Clerk-field
/// edits each followed by its sync report, and a local edit to make up an odd count.
fn history(n: u64, events: usize, created: DateTime<Utc>) -> Vec<(UserEvent, EventMeta)> {
    let meta = |origin: Origin, step: usize| EventMeta {
        actor: if origin == Origin::System {
            "sync".into()
        } else {
            "admin:seed".into()
        },
        origin,
        request_id: None,
        occurred_at: created + TimeDelta::milliseconds(step as i64),
    };
    let clerk_id = Some(format!("user_seed{n:022}"));
    let synced = |clerk: ClerkProfile| UserEvent::ClerkSynced {
        clerk_id: clerk_id.clone(),
        clerk,
        deleted: false,
        clerk_updated_at: Some(created.timestamp_millis()),
    };
    let mut out = vec![
        (
            UserEvent::UserCreated {
                clerk: profile(n, 0),
                local: LocalProfile {
                    display_name: None,
                    bio: None,
                    roles: vec![if n % 10 == 0 {
                        "admin".into()
                    } else {
                        "member".into()
                    }],
                    social_links: Vec::new(),
                },
                at: Some(created),
            },
            meta(Origin::Admin, 0),
        ),
        (synced(profile(n, 0)), meta(Origin::System, 1)),
    ];
    let mut edit = 0;
    while out.len() + 2 <= events {
        edit += 1;
        let step = out.len();
        out.push((
            UserEvent::ClerkProfileChanged {
                clerk: profile(n, edit),
                at: Some(created + TimeDelta::milliseconds(step as i64)),
            },
            meta(Origin::Admin, step),
        ));
        out.push((synced(profile(n, edit)), meta(Origin::System, step + 1)));
    }
    if out.len() < events {
        let step = out.len();
        out.push((
            UserEvent::LocalProfileChanged {
                local: LocalProfile {
                    display_name: None,
                    bio: Some(format!("Seeded user {n}")),
                    roles: vec!["member".into()],
                    social_links: Vec::new(),
                },
            },
            meta(Origin::Admin, step),
        ));
    }
    out
}

struct Row {
    id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: serde_json::Value,
    metadata: serde_json::Value,
}

/// Writes users `from..to`, each with `events` events, created one second
/// apart and ending one second ago; returns the number of events written.
pub async fn users(db: &Db, from: u64, to: u64, events: usize) -> anyhow::Result<u64> {
    let newest = Utc::now().trunc_subsecs(3) - TimeDelta::seconds(1);
    let mut written = 0;
    let mut start = from;
    while start < to {
        let end = (start + USERS_PER_TX).min(to);
        let mut rows = Vec::new();
        let mut claims = Vec::new();
        for n in start..end {
            let id = format!("seed-{n:08}");
            let created = newest - TimeDelta::seconds((to - n) as i64);
            for (i, (event, meta)) in history(n, events, created).into_iter().enumerate() {
                rows.push(Row {
                    id: id.clone(),
                    sequence: i as i64 + 1,
                    event_type: event.event_type(),
                    event_version: event.event_version(),
                    payload: serde_json::to_value(&event)?,
                    metadata: serde_json::to_value(meta.to_map())?,
                });
            }
            let first = profile(n, 0);
            claims.push(("email", first.email, id.clone(), created));
            claims.push(("username", first.username.unwrap_or_default(), id, created));
        }
        let mut tx = db.begin().await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            insert_events(&mut tx, chunk).await?;
        }
        for chunk in claims.chunks(ROWS_PER_INSERT) {
            insert_claims(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        written += rows.len() as u64;
        start = end;
    }
    Ok(written)
}

async fn insert_events(tx: &mut Tx, rows: &[Row]) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES {}",
        tx.placeholders(rows.len(), 7)
    );
    on_tx!(tx, tx => {
        let mut query = sqlx::query(&sql);
        for row in rows {
            query = query
                .bind(User::TYPE)
                .bind(&row.id)
                .bind(row.sequence)
                .bind(&row.event_type)
                .bind(&row.event_version)
                .bind(&row.payload)
                .bind(&row.metadata);
        }
        query.execute(&mut **tx).await?;
    });
    Ok(())
}

async fn insert_claims(tx: &mut Tx, rows: &[(&str, String, String, DateTime<Utc>)]) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO identity_claims (kind, value, user_id, claimed_at) VALUES {}",
        tx.placeholders(rows.len(), 4)
    );
    on_tx!(tx, tx => {
        let mut query = sqlx::query(&sql);
        for (kind, value, id, at) in rows {
            query = query.bind(*kind).bind(value).bind(id).bind(*at);
        }
        query.execute(&mut **tx).await?;
    });
    Ok(())
}

/// Seeded users are already in Clerk: the sync saga starts after them
/// instead of re-checking each one.
pub async fn saga_starts_after_seed(db: &Db) -> anyhow::Result<()> {
    // The feed's position: the writing transaction, then the sequence (SQLite has one writer).
    let end = if db.is_postgres() {
        "COALESCE(MAX(tx_id), 0), COALESCE(MAX(global_seq), 0)"
    } else {
        "0, COALESCE(MAX(global_seq), 0)"
    };
    let sql = format!(
        "INSERT INTO projection_checkpoints (projector, tx_id, global_seq)
         SELECT 'clerk_sync', {end} FROM events WHERE true
         ON CONFLICT (projector) DO UPDATE SET tx_id = excluded.tx_id, global_seq = excluded.global_seq"
    );
    on_db!(db, pool => sqlx::query(&sql).execute(pool).await.map(drop))?;
    Ok(())
}

/// Leaves the database as a long-running one would be: vacuumed and with
/// statistics, so autovacuum does not wake up during the measurements.
pub async fn vacuum(db: &Db) -> anyhow::Result<()> {
    if let Db::Pg(pool) = db {
        sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    }
    Ok(())
}
