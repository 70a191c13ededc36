//! Unique emails and usernames across users, and the Clerk id of each user.
//! A user's claims follow its state: they are taken and given back in the
//! same transaction as the events that change the values, so a claim never
//! outlives or precedes the change it belongs to. The table's primary key
//! makes two concurrent claims race-free. A claim whose holder no longer uses
//! the value (it changed it, was deleted, or holds it from before claims
//! moved into the event transaction) is taken over with a compare-and-swap.

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::db::{Db, Tx};
use crate::domain::user::User;
use crate::domain::values::{email_key, username_key};
use crate::{on_db, on_tx};

/// How long a claim whose user has no events counts as a create in flight.
const IN_FLIGHT_GRACE: Duration = Duration::seconds(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Email,
    Username,
    /// Clerk's id of a user: finds our user for a Clerk event.
    ClerkId,
}

impl ClaimKind {
    const ALL: [Self; 3] = [Self::ClerkId, Self::Email, Self::Username];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::ClerkId => "clerk_id",
        }
    }

    /// The GraphQL field a taken value is reported on.
    pub fn field(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::ClerkId => "clerkId",
        }
    }

    /// The value of this kind `user` holds. A Clerk id stays with its user
    /// even after deletion, so late Clerk news finds the deleted user.
    pub fn held_by(self, user: &User) -> Option<String> {
        match self {
            Self::Email => user.is_live().then(|| email_key(&user.clerk().email)),
            Self::Username => user
                .is_live()
                .then(|| user.clerk().username.as_deref().map(username_key))
                .flatten(),
            Self::ClerkId => user.clerk_id().map(str::to_owned),
        }
    }
}

/// What a change of state does to one user's claims.
#[derive(Default)]
pub struct Changes {
    pub take: Vec<(ClaimKind, String)>,
    pub give_back: Vec<(ClaimKind, String)>,
}

/// The claims to take and give back between two states of one user.
pub fn changes(before: &User, after: &User) -> Changes {
    let mut changes = Changes::default();
    for kind in ClaimKind::ALL {
        let (old, new) = (kind.held_by(before), kind.held_by(after));
        if old != new {
            changes.take.extend(new.map(|value| (kind, value)));
            changes.give_back.extend(old.map(|value| (kind, value)));
        }
    }
    changes
}

/// How a claim's current holder stands towards it.
enum Holder {
    /// The holder exists and still has this value.
    Uses,
    /// The holder exists but no longer has this value.
    Released,
    /// The holder has no events: its create is in flight or died.
    Unknown,
}

fn holder_standing(user: &User, kind: ClaimKind, value: &str) -> Holder {
    if !user.exists() {
        return Holder::Unknown;
    }
    if kind.held_by(user).as_deref() == Some(value) {
        Holder::Uses
    } else {
        Holder::Released
    }
}

/// Claims every value of `wanted` for `user_id` inside `tx`; returns the
/// first kind another user holds and still uses. Values nobody holds, the
/// usual case, are taken by one statement; only the rest are looked into.
pub async fn claim_all(
    tx: &mut Tx,
    wanted: &[(ClaimKind, String)],
    user_id: &str,
) -> anyhow::Result<Option<ClaimKind>> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let now = Utc::now().trunc_subsecs(6);
    let sql = format!(
        "INSERT INTO identity_claims (kind, value, user_id, claimed_at) VALUES {}
         ON CONFLICT (kind, value) DO NOTHING RETURNING kind",
        tx.placeholders(wanted.len(), 4)
    );
    let inserted: Vec<String> = on_tx!(tx, tx => {
        let mut query = sqlx::query_scalar(&sql);
        for (kind, value) in wanted {
            query = query.bind(kind.as_str()).bind(value).bind(user_id).bind(now);
        }
        query.fetch_all(&mut **tx).await?
    });
    for (kind, value) in wanted {
        if inserted.iter().any(|k| k == kind.as_str()) {
            continue;
        }
        if !claim(tx, *kind, value, user_id).await? {
            return Ok(Some(*kind));
        }
    }
    Ok(None)
}

/// Claims `value` for `user_id` inside `tx`. Returns false when another user
/// holds it and still uses it.
async fn claim(tx: &mut Tx, kind: ClaimKind, value: &str, user_id: &str) -> anyhow::Result<bool> {
    loop {
        let now = Utc::now().trunc_subsecs(6);
        let inserted = on_tx!(tx, tx => sqlx::query(
            "INSERT INTO identity_claims (kind, value, user_id, claimed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, value) DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(value)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected());
        if inserted == 1 {
            return Ok(true);
        }
        let current: Option<(String, DateTime<Utc>)> = on_tx!(tx, tx => sqlx::query_as(
            "SELECT user_id, claimed_at FROM identity_claims WHERE kind = $1 AND value = $2",
        )
        .bind(kind.as_str())
        .bind(value)
        .fetch_optional(&mut **tx)
        .await?);
        let Some((holder_id, claimed_at)) = current else {
            continue;
        };
        if holder_id == user_id {
            return Ok(true);
        }
        let holder = super::in_tx::load(tx, &holder_id).await?;
        let free = match holder_standing(&holder, kind, value) {
            Holder::Uses => false,
            Holder::Released => true,
            Holder::Unknown => now - claimed_at > IN_FLIGHT_GRACE,
        };
        if !free {
            return Ok(false);
        }
        on_tx!(tx, tx => sqlx::query(
            "UPDATE identity_claims SET user_id = $1, claimed_at = $2
             WHERE kind = $3 AND value = $4 AND user_id = $5",
        )
        .bind(user_id)
        .bind(now)
        .bind(kind.as_str())
        .bind(value)
        .bind(&holder_id)
        .execute(&mut **tx)
        .await
        .map(drop))?;
    }
}

/// Gives a value back inside `tx`, if `user_id` still holds it.
pub async fn release(tx: &mut Tx, kind: ClaimKind, value: &str, user_id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, tx => sqlx::query(
        "DELETE FROM identity_claims WHERE kind = $1 AND value = $2 AND user_id = $3",
    )
    .bind(kind.as_str())
    .bind(value)
    .bind(user_id)
    .execute(&mut **tx)
    .await
    .map(drop))
}

/// Who holds `value` now, if anyone.
pub async fn holder(db: &Db, kind: ClaimKind, value: &str) -> Result<Option<String>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_scalar("SELECT user_id FROM identity_claims WHERE kind = $1 AND value = $2")
        .bind(kind.as_str())
        .bind(value)
        .fetch_optional(pool)
        .await)
}
