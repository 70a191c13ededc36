//! The emulated instance's users and email addresses, and the rules Clerk enforces when they change.

use std::collections::HashMap;

use rand::distributions::{Alphanumeric, DistString};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::now_ms;

pub type Metadata = Map<String, Value>;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub external_id: Option<String>,
    /// Lower-cased, as Clerk stores it.
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub primary_email_address_id: Option<String>,
    pub email_addresses: Vec<EmailAddress>,
    /// Set when the user has a password; the password itself is not kept.
    pub password_last_updated_at: Option<i64>,
    pub public_metadata: Metadata,
    pub private_metadata: Metadata,
    pub unsafe_metadata: Metadata,
    pub delete_self_enabled: bool,
    pub create_organization_enabled: bool,
    pub legal_accepted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct EmailAddress {
    pub id: String,
    pub email_address: String,
    pub verified: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a write did, for the event it emits.
pub enum Change {
    Created(User),
    Updated(User),
    Deleted { id: String, external_id: Option<String> },
}

/// A field of a `PATCH`: left alone, cleared (`null`), or set.
pub enum Patch<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// The value when set; keeping and clearing both mean none where there is nothing to clear.
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Set(value) => Some(value),
            Self::Keep | Self::Clear => None,
        }
    }
}

pub struct NewUser {
    pub email_addresses: Vec<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub external_id: Option<String>,
    pub locale: Option<String>,
    pub password: Option<String>,
    pub skip_password_checks: bool,
    pub public_metadata: Metadata,
    pub private_metadata: Metadata,
    pub unsafe_metadata: Metadata,
    pub delete_self_enabled: Option<bool>,
    pub create_organization_enabled: Option<bool>,
    pub legal_accepted_at: Option<i64>,
    pub created_at: Option<i64>,
}

pub struct UserChanges {
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub username: Patch<String>,
    pub external_id: Patch<String>,
    pub locale: Patch<String>,
    pub primary_email_address_id: Option<String>,
    pub password: Option<String>,
    pub skip_password_checks: bool,
    pub delete_self_enabled: Option<bool>,
    pub create_organization_enabled: Option<bool>,
    pub legal_accepted_at: Patch<i64>,
    pub created_at: Option<i64>,
}

/// Which users a list or count covers: those matching any of the identifiers, or all when none is given.
pub struct Filter {
    pub email_addresses: Vec<String>,
    pub external_ids: Vec<String>,
    pub usernames: Vec<String>,
    pub user_ids: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    CreatedAt,
    UpdatedAt,
}

pub struct Page {
    pub order_by: OrderBy,
    pub descending: bool,
    pub limit: usize,
    pub offset: usize,
    pub starting_after: Option<String>,
}

#[derive(Default)]
pub struct Store {
    users: HashMap<String, User>,
    /// Kept with every write, so checks and lookups do not scan every user.
    identifiers: Identifiers,
    /// Where deleted users stood in `created_at` order, so a `starting_after` cursor naming one still works.
    deleted: HashMap<String, i64>,
    last_ms: i64,
}

impl Store {
    pub fn user(&self, id: &str) -> Result<&User, ApiError> {
        self.users.get(id).ok_or_else(|| ApiError::user_not_found(id))
    }

    pub fn create_user(&mut self, new: NewUser) -> Result<(User, Change), ApiError> {
        for address in &new.email_addresses {
            check_email(address)?;
        }
        let username = non_empty(new.username).map(|u| parse_username(&u)).transpose()?;
        if let Some(password) = &new.password {
            check_password(password, new.skip_password_checks)?;
        }
        for (i, address) in new.email_addresses.iter().enumerate() {
            let repeated = new.email_addresses[..i]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(address));
            if repeated || self.email_taken(address) {
                return Err(ApiError::IdentifierExists("email_address"));
            }
        }
        if username.as_deref().is_some_and(|u| self.username_taken(u, None)) {
            return Err(ApiError::IdentifierExists("username"));
        }
        let external_id = non_empty(new.external_id);
        if external_id
            .as_deref()
            .is_some_and(|x| self.external_id_taken(x, None))
        {
            return Err(ApiError::IdentifierExists("external_id"));
        }
        let now = self.tick();
        let email_addresses: Vec<EmailAddress> = new
            .email_addresses
            .into_iter()
            .map(|address| EmailAddress::new(address, true, now))
            .collect();
        let user = User {
            id: new_id("user"),
            external_id,
            username,
            first_name: new.first_name,
            last_name: new.last_name,
            locale: new.locale,
            primary_email_address_id: email_addresses.first().map(|e| e.id.clone()),
            email_addresses,
            password_last_updated_at: new.password.map(|_| now),
            public_metadata: new.public_metadata,
            private_metadata: new.private_metadata,
            unsafe_metadata: new.unsafe_metadata,
            delete_self_enabled: new.delete_self_enabled.unwrap_or(true),
            create_organization_enabled: new.create_organization_enabled.unwrap_or(true),
            legal_accepted_at: new.legal_accepted_at,
            created_at: new.created_at.unwrap_or(now),
            updated_at: now,
        };
        self.put(user.clone());
        Ok((user.clone(), Change::Created(user)))
    }

    pub fn update_user(&mut self, id: &str, changes: UserChanges) -> Result<(User, Change), ApiError> {
        let mut user = self.user(id)?.clone();
        let username = match changes.username {
            Patch::Set(raw) if !raw.is_empty() => Patch::Set(parse_username(&raw)?),
            Patch::Set(_) | Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        };
        if let Some(password) = &changes.password {
            check_password(password, changes.skip_password_checks)?;
        }
        if let Patch::Set(username) = &username {
            if self.username_taken(username, Some(id)) {
                return Err(ApiError::IdentifierExists("username"));
            }
        }
        let external_id = match changes.external_id {
            Patch::Set(x) if x.is_empty() => Patch::Clear,
            other => other,
        };
        if let Patch::Set(external_id) = &external_id {
            if self.external_id_taken(external_id, Some(id)) {
                return Err(ApiError::IdentifierExists("external_id"));
            }
        }
        if let Some(primary) = &changes.primary_email_address_id {
            if !user
                .email_addresses
                .iter()
                .any(|e| e.id == *primary && e.verified)
            {
                return Err(ApiError::ValueInvalid {
                    param: "primary_email_address_id",
                    reason: format!("{primary} is not a verified email address of this user"),
                });
            }
        }
        let now = self.tick();
        apply(&mut user.first_name, changes.first_name);
        apply(&mut user.last_name, changes.last_name);
        apply(&mut user.username, username);
        apply(&mut user.external_id, external_id);
        apply(&mut user.locale, changes.locale);
        apply(&mut user.legal_accepted_at, changes.legal_accepted_at);
        if let Some(primary) = changes.primary_email_address_id {
            user.primary_email_address_id = Some(primary);
        }
        if changes.password.is_some() {
            user.password_last_updated_at = Some(now);
        }
        if let Some(enabled) = changes.delete_self_enabled {
            user.delete_self_enabled = enabled;
        }
        if let Some(enabled) = changes.create_organization_enabled {
            user.create_organization_enabled = enabled;
        }
        if let Some(created_at) = changes.created_at {
            user.created_at = created_at;
        }
        user.updated_at = now;
        Ok(self.save(user))
    }

    pub fn delete_user(&mut self, id: &str) -> Result<((), Change), ApiError> {
        let user = self
            .users
            .remove(id)
            .ok_or_else(|| ApiError::user_not_found(id))?;
        self.identifiers.forget(&user);
        self.deleted.insert(user.id.clone(), user.created_at);
        let change = Change::Deleted {
            id: user.id,
            external_id: user.external_id,
        };
        Ok(((), change))
    }

    pub fn email(&self, id: &str) -> Result<&EmailAddress, ApiError> {
        self.email_owner(id)?
            .email_addresses
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(email_not_found)
    }

    /// Adds an address to a user; it becomes primary when asked (verified only) or when it is the first.
    pub fn add_email(
        &mut self,
        user_id: &str,
        address: String,
        verified: bool,
        primary: Option<bool>,
    ) -> Result<(EmailAddress, Change), ApiError> {
        let mut user = self.user(user_id)?.clone();
        check_email(&address)?;
        if self.email_taken(&address) {
            return Err(ApiError::IdentifierExists("email_address"));
        }
        if primary == Some(true) && !verified {
            return Err(ApiError::VerificationNeeded("primary"));
        }
        let now = self.tick();
        let email = EmailAddress::new(address, verified, now);
        if primary.unwrap_or(user.email_addresses.is_empty()) {
            user.primary_email_address_id = Some(email.id.clone());
        }
        user.email_addresses.push(email.clone());
        user.updated_at = now;
        let (_, change) = self.save(user);
        Ok((email, change))
    }

    pub fn update_email(
        &mut self,
        id: &str,
        verified: Option<bool>,
        primary: Option<bool>,
    ) -> Result<(EmailAddress, Change), ApiError> {
        let mut user = self.email_owner(id)?.clone();
        let now = self.tick();
        let Some(email) = user.email_addresses.iter_mut().find(|e| e.id == id) else {
            return Err(email_not_found());
        };
        if let Some(verified) = verified {
            email.verified = verified;
        }
        if primary == Some(true) && !email.verified {
            return Err(ApiError::VerificationNeeded("primary"));
        }
        email.updated_at = now;
        let email = email.clone();
        if primary == Some(true) {
            user.primary_email_address_id = Some(email.id.clone());
        }
        user.updated_at = now;
        let (_, change) = self.save(user);
        Ok((email, change))
    }

    pub fn delete_email(&mut self, id: &str) -> Result<((), Change), ApiError> {
        let mut user = self.email_owner(id)?.clone();
        if user.email_addresses.len() == 1 {
            return Err(ApiError::LastIdentification);
        }
        if user.primary_email_address_id.as_deref() == Some(id) {
            return Err(ApiError::PrimaryIdentification);
        }
        user.email_addresses.retain(|e| e.id != id);
        user.updated_at = self.tick();
        let (_, change) = self.save(user);
        Ok(((), change))
    }

    pub fn list(&self, filter: &Filter, page: &Page) -> Result<Vec<&User>, ApiError> {
        let key = |user: &User| match page.order_by {
            OrderBy::CreatedAt => user.created_at,
            OrderBy::UpdatedAt => user.updated_at,
        };
        let mut users: Vec<&User> = self.users.values().filter(|u| filter.matches(u)).collect();
        // The id breaks ties, so pages never repeat or skip users that share a timestamp.
        users.sort_by(|a, b| (key(a), &a.id).cmp(&(key(b), &b.id)));
        if page.descending {
            users.reverse();
        }
        if let Some(cursor) = &page.starting_after {
            let at = self.cursor_position(cursor)?;
            users.retain(|u| {
                let position = (u.created_at, u.id.as_str());
                if page.descending {
                    position < at
                } else {
                    position > at
                }
            });
        }
        Ok(users.into_iter().skip(page.offset).take(page.limit).collect())
    }

    pub fn count(&self, filter: &Filter) -> usize {
        self.users.values().filter(|u| filter.matches(u)).count()
    }

    /// Strictly increasing milliseconds: two writes within one millisecond still order by `updated_at`,
    /// as they would against the real Clerk, where a round trip takes longer than that.
    fn tick(&mut self) -> i64 {
        self.last_ms = now_ms().max(self.last_ms + 1);
        self.last_ms
    }

    fn save(&mut self, user: User) -> (User, Change) {
        self.put(user.clone());
        (user.clone(), Change::Updated(user))
    }

    /// Stores `user` in place of its earlier state, identifiers included.
    fn put(&mut self, user: User) {
        if let Some(before) = self.users.insert(user.id.clone(), user.clone()) {
            self.identifiers.forget(&before);
        }
        self.identifiers.learn(&user);
    }

    fn email_owner(&self, email_id: &str) -> Result<&User, ApiError> {
        self.identifiers
            .email_ids
            .get(email_id)
            .and_then(|user_id| self.users.get(user_id))
            .ok_or_else(email_not_found)
    }

    fn cursor_position<'a>(&'a self, cursor: &'a str) -> Result<(i64, &'a str), ApiError> {
        let created_at = self.users.get(cursor).map(|u| u.created_at);
        created_at
            .or_else(|| self.deleted.get(cursor).copied())
            .map(|created_at| (created_at, cursor))
            .ok_or_else(|| ApiError::ValueInvalid {
                param: "starting_after",
                reason: format!("No user was found with id {cursor}"),
            })
    }

    fn email_taken(&self, address: &str) -> bool {
        self.identifiers
            .emails
            .contains_key(&address.to_ascii_lowercase())
    }

    /// Whether a user other than `except` has the username; `username` is already lower-cased.
    fn username_taken(&self, username: &str, except: Option<&str>) -> bool {
        held_by_another(&self.identifiers.usernames, username, except)
    }

    fn external_id_taken(&self, external_id: &str, except: Option<&str>) -> bool {
        held_by_another(&self.identifiers.external_ids, external_id, except)
    }
}

/// Which user holds each unique identifier: the bench keeps tens of thousands
/// of users here, and a scan of all of them on every create cost it CPU that
/// the server under test shares.
#[derive(Default)]
struct Identifiers {
    /// By address in lower case: Clerk compares them without case.
    emails: HashMap<String, String>,
    email_ids: HashMap<String, String>,
    usernames: HashMap<String, String>,
    external_ids: HashMap<String, String>,
}

impl Identifiers {
    fn learn(&mut self, user: &User) {
        for email in &user.email_addresses {
            self.emails
                .insert(email.email_address.to_ascii_lowercase(), user.id.clone());
            self.email_ids.insert(email.id.clone(), user.id.clone());
        }
        if let Some(username) = &user.username {
            self.usernames.insert(username.clone(), user.id.clone());
        }
        if let Some(external_id) = &user.external_id {
            self.external_ids.insert(external_id.clone(), user.id.clone());
        }
    }

    fn forget(&mut self, user: &User) {
        for email in &user.email_addresses {
            self.emails.remove(&email.email_address.to_ascii_lowercase());
            self.email_ids.remove(&email.id);
        }
        if let Some(username) = &user.username {
            self.usernames.remove(username);
        }
        if let Some(external_id) = &user.external_id {
            self.external_ids.remove(external_id);
        }
    }
}

fn held_by_another(holders: &HashMap<String, String>, value: &str, except: Option<&str>) -> bool {
    holders
        .get(value)
        .is_some_and(|holder| Some(holder.as_str()) != except)
}

impl EmailAddress {
    fn new(email_address: String, verified: bool, now: i64) -> Self {
        Self {
            id: new_id("idn"),
            email_address,
            verified,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Filter {
    fn matches(&self, user: &User) -> bool {
        let none = self.email_addresses.is_empty()
            && self.external_ids.is_empty()
            && self.usernames.is_empty()
            && self.user_ids.is_empty();
        none || self.user_ids.contains(&user.id)
            || user
                .external_id
                .as_ref()
                .is_some_and(|x| self.external_ids.contains(x))
            || user
                .username
                .as_ref()
                .is_some_and(|u| self.usernames.iter().any(|f| f.eq_ignore_ascii_case(u)))
            || user.email_addresses.iter().any(|e| {
                self.email_addresses
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&e.email_address))
            })
    }
}

fn apply<T>(field: &mut Option<T>, patch: Patch<T>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *field = None,
        Patch::Set(value) => *field = Some(value),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `prefix_` and 27 random base62 characters, the shape of Clerk's ids.
pub fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 27)
    )
}

fn email_not_found() -> ApiError {
    ApiError::NotFound("Resource not found".to_owned())
}

/// Loose on purpose: it catches what is plainly not an address, as Clerk does, not every RFC 5322 corner.
fn check_email(address: &str) -> Result<(), ApiError> {
    let valid = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.split('.').count() >= 2
            && domain.split('.').all(|label| !label.is_empty())
    }) && !address.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ApiError::EmailFormat("email_address"))
    }
}

fn parse_username(raw: &str) -> Result<String, ApiError> {
    if !(4..=64).contains(&raw.chars().count()) {
        return Err(ApiError::UsernameLength);
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::UsernameCharacter);
    }
    Ok(raw.to_ascii_lowercase())
}

fn check_password(password: &str, skip_checks: bool) -> Result<(), ApiError> {
    if skip_checks || password.chars().count() >= 8 {
        Ok(())
    } else {
        Err(ApiError::PasswordTooShort)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked_for_length_before_characters_and_lower_cased() {
        assert_eq!(parse_username("Ada_L-1"), Ok("ada_l-1".to_owned()));
        assert_eq!(parse_username("a!"), Err(ApiError::UsernameLength));
        assert_eq!(parse_username("ada lovelace"), Err(ApiError::UsernameCharacter));
        assert_eq!(parse_username(&"a".repeat(65)), Err(ApiError::UsernameLength));
    }

    #[test]
    fn plainly_broken_email_addresses_are_rejected() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@x.io",
            "a@x..io",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(check_email("Ada.Lovelace+tag@example.co.uk").is_ok());
    }

    #[test]
    fn ticks_strictly_increase_within_one_millisecond() {
        let mut store = Store::default();
        let first = store.tick();
        assert!(store.tick() > first);
    }
}
