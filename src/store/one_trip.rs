//! A command commits in one round trip to the database: on Postgres as one
//! statement, without `BEGIN` or `COMMIT` (the `INSERT` of its events, with
//! the claims it takes and gives back and the work alongside as data-modifying
//! `WITH` clauses); on SQLite as one script, `BEGIN IMMEDIATE` to `COMMIT`, run
//! by the connection's thread in one go. As a transaction it took four to six
//! round trips: on Postgres each a wake-up of a backend, which spent most of
//! its CPU per round trip, not per row; on SQLite each a hand-over to the
//! connection's thread and back, with the database's one write lock held
//! throughout. Both are as atomic as the transaction: an error anywhere
//! undoes all of it.
//!
//! sqlx 0.8 binds a SQLite script's `$n` parameters across its statements,
//! but calls running several statements as one query deprecated
//! (launchbadge/sqlx#3108): an upgrade that drops it has to keep a script's
//! statements on one connection's thread some other way.
//!
//! A value another user already holds fails the round trip on the claims'
//! key; the caller then takes the transaction path, which finds out whether
//! that holder still uses the value.

use std::fmt::Write as _;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;
use sqlx::error::DatabaseError;
use sqlx::PgPool;

use super::alongside::{bind_params, param, Dialect, Param, Write};
use super::claims::{self, Changes};
use super::in_tx::{bind_event_rows, event_rows, EventRow, EVENT_COLUMNS};
use super::scripts::Scripts;
use super::Change;
use crate::db::parameter_groups;

/// Why the round trip did not commit.
pub enum OneTripError {
    /// Another writer committed the same sequence number first.
    Conflict,
    /// A value to claim is held already: only the transaction path can tell
    /// whether its holder still uses it.
    ClaimHeld,
    /// The work alongside broke one of its guards: a condition did not hold.
    Unmet,
    Failed(anyhow::Error),
}

/// Everything a round trip binds, owned: a SQLite script runs in a task of its own.
pub(super) struct Bound {
    pub(super) user_id: String,
    pub(super) rows: Vec<EventRow>,
    pub(super) metadata: Value,
    pub(super) claims: Changes,
    pub(super) now: DateTime<Utc>,
    pub(super) params: Vec<Param>,
    pub(super) guards: &'static [&'static str],
}

impl Bound {
    fn new(change: &Change<'_>) -> Result<Self, OneTripError> {
        let failed = |e: anyhow::Error| OneTripError::Failed(e);
        Ok(Self {
            user_id: change.user_id.to_owned(),
            rows: event_rows(change.base_sequence, change.events).map_err(failed)?,
            metadata: serde_json::to_value(change.metadata).map_err(|e| failed(e.into()))?,
            claims: claims::changes(change.before, change.after),
            now: Utc::now().trunc_subsecs(6),
            params: change.alongside.map_or_else(Vec::new, |a| a.params(change.after)),
            guards: change.alongside.map_or(&[], |a| a.guards()),
        })
    }
}

/// Binds a [`Bound`] to a query of either database, in the order
/// [`writes`] numbers the parameters.
macro_rules! bind_all {
    ($query:expr, $bound:expr) => {{
        let bound: &Bound = $bound;
        let mut query = bind_event_rows!($query, &bound.user_id, &bound.rows, &bound.metadata);
        for (kind, value) in &bound.claims.take {
            query = query
                .bind(kind.as_str())
                .bind(value)
                .bind(&bound.user_id)
                .bind(bound.now);
        }
        if !bound.claims.give_back.is_empty() {
            query = query.bind(&bound.user_id);
            for (kind, value) in &bound.claims.give_back {
                query = query.bind(kind.as_str()).bind(value);
            }
        }
        bind_params!(query, &bound.params)
    }};
}

pub(super) use bind_all;

/// Commits the change on Postgres: its events, the claims they bring and the work alongside.
pub async fn commit_pg(pool: &PgPool, change: &Change<'_>) -> Result<(), OneTripError> {
    let bound = Bound::new(change)?;
    let (writes, events) = writes(bound.rows.len(), &bound.claims, change, Dialect::Postgres);
    let mut sql = String::new();
    if !writes.is_empty() {
        let clauses: Vec<String> = writes
            .iter()
            .map(|w| format!("{} AS ({})", w.name, w.sql))
            .collect();
        let _ = write!(sql, "WITH {} ", clauses.join(", "));
    }
    sql.push_str(&events);
    let guards = bound.guards;
    bind_all!(sqlx::query(&sql), &bound)
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| classify(e, guards))
}

/// Commits the change on SQLite, in the database's turn to write: the same
/// writes, one statement after another in one script (see [`super::scripts`]).
pub async fn commit_sqlite(scripts: &Scripts, change: &Change<'_>) -> Result<(), OneTripError> {
    let bound = Bound::new(change)?;
    let (writes, events) = writes(bound.rows.len(), &bound.claims, change, Dialect::Sqlite);
    let statements = writes.into_iter().map(|w| w.sql).chain([events]).collect();
    scripts.commit(statements, bound).await
}

/// Maps a failed round trip to its cause, by the table whose key it broke.
pub(super) fn classify(error: sqlx::Error, guards: &[&str]) -> OneTripError {
    let sqlx::Error::Database(e) = error else {
        return OneTripError::Failed(error.into());
    };
    if !e.is_unique_violation() {
        return OneTripError::Failed(sqlx::Error::Database(e).into());
    }
    match violated_table(&*e) {
        Some(CLAIMS) => OneTripError::ClaimHeld,
        Some(table) if guards.contains(&table) => OneTripError::Unmet,
        Some(EVENTS) => OneTripError::Conflict,
        _ => OneTripError::Failed(sqlx::Error::Database(e).into()),
    }
}

const CLAIMS: &str = "identity_claims";
const EVENTS: &str = "events";

/// Postgres names the table of a broken key; SQLite only says it in its
/// message: `UNIQUE constraint failed: events.aggregate_type, ...`.
fn violated_table(e: &dyn DatabaseError) -> Option<&str> {
    e.table().or_else(|| {
        e.message()
            .strip_prefix("UNIQUE constraint failed: ")?
            .split('.')
            .next()
    })
}

/// The writes before the events' `INSERT`, and that `INSERT`, parameters
/// numbered in the order [`bind_all`] binds them: event rows, claims to
/// take, claims to give back, the work alongside.
fn writes(events: usize, claims: &Changes, change: &Change<'_>, dialect: Dialect) -> (Vec<Write>, String) {
    let mut next = 1;
    let events = numbered(&mut next, events, 7);
    let mut writes = Vec::new();
    if !claims.take.is_empty() {
        writes.push(Write {
            name: "taken",
            sql: format!(
                "INSERT INTO identity_claims (kind, value, user_id, claimed_at) VALUES {}",
                numbered(&mut next, claims.take.len(), 4)
            ),
        });
    }
    if !claims.give_back.is_empty() {
        let holder = param(&mut next);
        writes.push(Write {
            name: "given_back",
            sql: format!(
                "DELETE FROM identity_claims WHERE user_id = {holder} AND (kind, value) IN (VALUES {})",
                numbered(&mut next, claims.give_back.len(), 2)
            ),
        });
    }
    if let Some(alongside) = change.alongside {
        writes.extend(alongside.writes(change.after, dialect, &mut next));
    }
    (writes, format!("INSERT INTO {EVENT_COLUMNS} VALUES {events}"))
}

/// `($n, $n+1, ...), ...`: `rows` groups of `columns` parameters from `*next` on.
fn numbered(next: &mut usize, rows: usize, columns: usize) -> String {
    parameter_groups(rows, columns, || param(next))
}
