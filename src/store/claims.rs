//! Unique emails and usernames across users. A value is claimed in its own
//! table before the command that takes it runs; the table's primary key makes
//! two concurrent claims race-free. A claim whose holder no longer uses the
//! value (it changed it, was deleted, or its create never committed) is taken
//! over with a compare-and-swap.

use std::future::Future;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::db::Db;
use crate::on_db;

/// How long a claim whose user has no events yet counts as a create in flight.
const IN_FLIGHT_GRACE: Duration = Duration::seconds(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Email,
    Username,
    /// Clerk's id of a user: finds our user for a Clerk event.
    ClerkId,
}

impl ClaimKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::ClerkId => "clerk_id",
        }
    }
}

/// What the caller knows about a claim's current holder.
pub enum Holder {
    /// The holder exists and still has this value.
    Uses,
    /// The holder exists but no longer has this value.
    Released,
    /// The holder has no events: its create is in flight or died.
    Unknown,
}

#[derive(Clone)]
pub struct Claims {
    db: Db,
}

impl Claims {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Claims `value` for `user_id`. Returns false when another user holds it
    /// and still uses it; `holder` tells how a holder stands.
    pub async fn claim<F, Fut>(
        &self,
        kind: ClaimKind,
        value: &str,
        user_id: &str,
        holder: F,
    ) -> anyhow::Result<bool>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = anyhow::Result<Holder>>,
    {
        loop {
            let now = Utc::now().trunc_subsecs(6);
            let inserted = on_db!(&self.db, pool => sqlx::query(
                "INSERT INTO identity_claims (kind, value, user_id, claimed_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, value) DO NOTHING",
            )
            .bind(kind.as_str())
            .bind(value)
            .bind(user_id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
            if inserted == 1 {
                return Ok(true);
            }
            let current: Option<(String, DateTime<Utc>)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT user_id, claimed_at FROM identity_claims WHERE kind = $1 AND value = $2",
            )
            .bind(kind.as_str())
            .bind(value)
            .fetch_optional(pool)
            .await?);
            let Some((holder_id, claimed_at)) = current else {
                continue;
            };
            if holder_id == user_id {
                return Ok(true);
            }
            let free = match holder(holder_id.clone()).await? {
                Holder::Uses => false,
                Holder::Released => true,
                Holder::Unknown => now - claimed_at > IN_FLIGHT_GRACE,
            };
            if !free {
                return Ok(false);
            }
            on_db!(&self.db, pool => sqlx::query(
                "UPDATE identity_claims SET user_id = $1, claimed_at = $2
                 WHERE kind = $3 AND value = $4 AND user_id = $5",
            )
            .bind(user_id)
            .bind(now)
            .bind(kind.as_str())
            .bind(value)
            .bind(&holder_id)
            .execute(pool)
            .await
            .map(drop))?;
        }
    }

    /// Who holds `value` now, if anyone.
    pub async fn holder(&self, kind: ClaimKind, value: &str) -> Result<Option<String>, sqlx::Error> {
        on_db!(&self.db, pool => sqlx::query_scalar("SELECT user_id FROM identity_claims WHERE kind = $1 AND value = $2")
            .bind(kind.as_str())
            .bind(value)
            .fetch_optional(pool)
            .await)
    }

    /// Gives a value back, if `user_id` still holds it.
    pub async fn release(&self, kind: ClaimKind, value: &str, user_id: &str) -> Result<(), sqlx::Error> {
        on_db!(&self.db, pool => sqlx::query(
            "DELETE FROM identity_claims WHERE kind = $1 AND value = $2 AND user_id = $3",
        )
        .bind(kind.as_str())
        .bind(value)
        .bind(user_id)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }
}
