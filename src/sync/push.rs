//! Brings Clerk to one user's current state with as few calls as possible,
//! and safely again after any crash or lost response.

use crate::clerk::model::ClerkUser;
use crate::clerk::{ClerkClient, ClerkError, ClerkUserPatch, NewClerkUser};
use crate::domain::user::{ClerkProfile, SyncOutcome, User};

/// What the worker knows about earlier tries of this job.
pub struct Attempt<'a> {
    pub user_id: &'a str,
    /// An earlier try may have reached Clerk without us hearing back.
    pub tried_before: bool,
}

/// Pushes `user` to Clerk; `Ok(None)` when Clerk already holds it.
pub async fn push(
    clerk: &ClerkClient,
    user: &User,
    attempt: &Attempt<'_>,
) -> Result<Option<SyncOutcome>, ClerkError> {
    if user.in_sync() {
        return Ok(None);
    }
    let want = user.clerk();
    if user.is_deleted() {
        let clerk_id = match user.clerk_id() {
            Some(id) => Some(id.to_owned()),
            None => clerk.find_by_external_id(attempt.user_id).await?.map(|u| u.id),
        };
        if let Some(id) = &clerk_id {
            clerk.delete_user(id).await?;
        }
        return Ok(Some(synced(clerk_id, want, true, None)));
    }
    let (clerk_id, updated_at) = match (user.clerk_id(), user.synced()) {
        (Some(id), Some(synced)) if !synced.deleted => {
            (id.to_owned(), update(clerk, id, &synced.clerk, want).await?)
        }
        _ => {
            let existing = if attempt.tried_before {
                clerk.find_by_external_id(attempt.user_id).await?
            } else {
                None
            };
            match existing {
                Some(found) => link(clerk, &found, want).await?,
                None => create(clerk, attempt.user_id, want).await?,
            }
        }
    };
    Ok(Some(synced(Some(clerk_id), want, false, updated_at)))
}

fn synced(
    clerk_id: Option<String>,
    clerk: &ClerkProfile,
    deleted: bool,
    clerk_updated_at: Option<i64>,
) -> SyncOutcome {
    SyncOutcome::Synced {
        clerk_id,
        clerk: clerk.clone(),
        deleted,
        clerk_updated_at,
    }
}

/// The Clerk id and Clerk's `updated_at` after our last change, when known.
type Pushed = (String, Option<i64>);

async fn create(clerk: &ClerkClient, user_id: &str, want: &ClerkProfile) -> Result<Pushed, ClerkError> {
    let new = NewClerkUser {
        email_address: vec![want.email.clone()],
        username: want.username.clone(),
        first_name: want.first_name.clone(),
        last_name: want.last_name.clone(),
        external_id: user_id.to_owned(),
        skip_password_requirement: true,
    };
    match clerk.create_user(&new).await {
        Ok(created) => Ok((created.id, Some(created.updated_at))),
        // Our own create, whose answer was lost: link it instead of failing.
        Err(error) if error.code() == Some("form_identifier_exists") => {
            match clerk.find_by_external_id(user_id).await? {
                Some(found) => link(clerk, &found, want).await,
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// Adopts a Clerk user that already carries our id, then fixes what differs.
async fn link(clerk: &ClerkClient, found: &ClerkUser, want: &ClerkProfile) -> Result<Pushed, ClerkError> {
    let actual = ClerkProfile {
        email: found
            .primary_email()
            .map(|e| e.email_address.clone())
            .unwrap_or_default(),
        username: found.username.clone(),
        first_name: found.first_name.clone(),
        last_name: found.last_name.clone(),
    };
    let updated_at = update(clerk, &found.id, &actual, want)
        .await?
        .or(Some(found.updated_at));
    Ok((found.id.clone(), updated_at))
}

/// Sends only the fields that differ between what Clerk has and what we want;
/// returns Clerk's `updated_at` from its last answer about the user.
async fn update(
    clerk: &ClerkClient,
    clerk_id: &str,
    have: &ClerkProfile,
    want: &ClerkProfile,
) -> Result<Option<i64>, ClerkError> {
    let mut updated_at = None;
    if !have.email.eq_ignore_ascii_case(&want.email) {
        updated_at = Some(change_email(clerk, clerk_id, &have.email, &want.email).await?);
    }
    let differs = |a: &Option<String>, b: &Option<String>| normalize(a) != normalize(b);
    let patch = ClerkUserPatch {
        username: differs(&have.username, &want.username).then(|| want.username.clone()),
        first_name: differs(&have.first_name, &want.first_name).then(|| want.first_name.clone()),
        last_name: differs(&have.last_name, &want.last_name).then(|| want.last_name.clone()),
    };
    if !patch.is_empty() {
        updated_at = Some(clerk.update_user(clerk_id, &patch).await?.updated_at);
    }
    Ok(updated_at)
}

fn normalize(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Clerk's way: add the new address verified and primary, then remove the
/// old one. Each step checks Clerk's state first when repeated, so a retry
/// after a lost answer finishes the job instead of failing on it.
async fn change_email(clerk: &ClerkClient, clerk_id: &str, old: &str, new: &str) -> Result<i64, ClerkError> {
    match clerk.add_email(clerk_id, new, true).await {
        Ok(_) => {}
        Err(error) if error.code() == Some("form_identifier_exists") => {
            let user = clerk.get_user(clerk_id).await?;
            let Some(added) = user
                .email_addresses
                .iter()
                .find(|e| e.email_address.eq_ignore_ascii_case(new))
            else {
                return Err(error);
            };
            if user.primary_email_address_id != added.id {
                if let Some(id) = &added.id {
                    clerk.make_email_primary(id).await?;
                }
            }
        }
        Err(error) => return Err(error),
    }
    let user = clerk.get_user(clerk_id).await?;
    for stale in user
        .email_addresses
        .iter()
        .filter(|e| e.email_address.eq_ignore_ascii_case(old) && !e.email_address.eq_ignore_ascii_case(new))
    {
        if let Some(id) = &stale.id {
            clerk.delete_email(id).await?;
        }
    }
    Ok(user.updated_at)
}
