//! On Postgres a command commits as one statement, without `BEGIN` or
//! `COMMIT`: the `INSERT` of its events, with the claims it takes and gives
//! back and the work alongside it (see [`super::Alongside`]) as
//! data-modifying `WITH` clauses. As a transaction it took four to five round
//! trips, each a wake-up of a Postgres backend, and Postgres spent most of
//! its CPU per round trip, not per row. One statement is as atomic as the
//! transaction: an error anywhere undoes all of it.
//!
//! A value another user already holds fails the statement on the claims'
//! primary key; the caller then takes the transaction path, which finds out
//! whether that holder still uses the value.

use std::fmt::Write;

use chrono::{SubsecRound, Utc};
use sqlx::PgPool;

use super::alongside::param;
use super::claims::{self, Changes};
use super::in_tx::{bind_event_rows, event_rows, EVENT_COLUMNS};
use super::Change;
use crate::db::parameter_groups;

/// Why the one statement did not commit.
pub enum OneStatementError {
    /// Another writer committed the same sequence number first.
    Conflict,
    /// A value to claim is held already: only the transaction path can tell
    /// whether its holder still uses it.
    ClaimHeld,
    /// The work alongside broke one of its guards: a condition did not hold.
    Unmet,
    Failed(anyhow::Error),
}

/// Commits the change: its events, the claims they bring and the work alongside.
pub async fn commit(pool: &PgPool, change: &Change<'_>) -> Result<(), OneStatementError> {
    let failed = |e: anyhow::Error| OneStatementError::Failed(e);
    let metadata_json = serde_json::to_value(change.metadata).map_err(|e| failed(e.into()))?;
    let rows = event_rows(change.base_sequence, change.events).map_err(failed)?;
    let claims = claims::changes(change.before, change.after);
    let now = Utc::now().trunc_subsecs(6);
    let sql = statement(rows.len(), &claims, change);
    let user_id = change.user_id;
    let mut query = bind_event_rows!(sqlx::query(&sql), user_id, &rows, &metadata_json);
    for (kind, value) in &claims.take {
        query = query.bind(kind.as_str()).bind(value).bind(user_id).bind(now);
    }
    if !claims.give_back.is_empty() {
        query = query.bind(user_id);
        for (kind, value) in &claims.give_back {
            query = query.bind(kind.as_str()).bind(value);
        }
    }
    if let Some(alongside) = change.alongside {
        query = alongside.bind(change.after, query);
    }
    match query.execute(pool).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => match e.constraint() {
            Some(CLAIMS_KEY) => Err(OneStatementError::ClaimHeld),
            Some(key) if change.alongside.is_some_and(|a| a.guards().contains(&key)) => {
                Err(OneStatementError::Unmet)
            }
            Some(EVENTS_KEY) => Err(OneStatementError::Conflict),
            _ => Err(failed(sqlx::Error::Database(e).into())),
        },
        Err(e) => Err(failed(e.into())),
    }
}

const CLAIMS_KEY: &str = "identity_claims_pkey";
const EVENTS_KEY: &str = "events_pkey";

/// The statement for the change, parameters numbered in the order
/// [`commit`] binds them: event rows, claims to take, claims to give back,
/// the work alongside.
fn statement(events: usize, claims: &Changes, change: &Change<'_>) -> String {
    let mut next = 1;
    let events = numbered(&mut next, events, 7);
    let mut clauses = Vec::new();
    if !claims.take.is_empty() {
        clauses.push(format!(
            "taken AS (INSERT INTO identity_claims (kind, value, user_id, claimed_at) VALUES {})",
            numbered(&mut next, claims.take.len(), 4)
        ));
    }
    if !claims.give_back.is_empty() {
        let holder = param(&mut next);
        clauses.push(format!(
            "given_back AS (DELETE FROM identity_claims WHERE user_id = {holder} AND (kind, value) IN ({}))",
            numbered(&mut next, claims.give_back.len(), 2)
        ));
    }
    if let Some(alongside) = change.alongside {
        clauses.extend(alongside.clauses(change.after, &mut next));
    }
    let mut sql = String::new();
    if !clauses.is_empty() {
        let _ = write!(sql, "WITH {} ", clauses.join(", "));
    }
    let _ = write!(sql, "INSERT INTO {EVENT_COLUMNS} VALUES {events}");
    sql
}

/// `($n, $n+1, ...), ...`: `rows` groups of `columns` parameters from `*next` on.
fn numbered(next: &mut usize, rows: usize, columns: usize) -> String {
    parameter_groups(rows, columns, || param(next))
}
