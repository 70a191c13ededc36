//! API inputs, parsed into domain values; the first broken rule becomes a
//! `VALIDATION` error naming its field.

use async_graphql::{InputObject, MaybeUndefined};

use crate::domain::user::{ClerkPatch, ClerkProfile, LocalPatch, LocalProfile};
use crate::domain::values::{self, Email, FieldError, Username, MAX_BIO_CHARS, MAX_NAME_CHARS};

#[derive(InputObject)]
pub struct SocialLinkInput {
    pub platform: String,
    pub url: String,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub roles: Option<Vec<String>>,
    pub social_links: Option<Vec<SocialLinkInput>>,
}

/// Omitted fields stay as they are; `null` clears a field (not `email`).
#[derive(InputObject)]
pub struct UpdateUserInput {
    #[graphql(default)]
    pub email: MaybeUndefined<String>,
    #[graphql(default)]
    pub username: MaybeUndefined<String>,
    #[graphql(default)]
    pub first_name: MaybeUndefined<String>,
    #[graphql(default)]
    pub last_name: MaybeUndefined<String>,
    #[graphql(default)]
    pub display_name: MaybeUndefined<String>,
    #[graphql(default)]
    pub bio: MaybeUndefined<String>,
    #[graphql(default)]
    pub roles: MaybeUndefined<Vec<String>>,
    #[graphql(default)]
    pub social_links: MaybeUndefined<Vec<SocialLinkInput>>,
}

fn username(raw: Option<&str>) -> Result<Option<Username>, FieldError> {
    raw.map(str::trim)
        .filter(|u| !u.is_empty())
        .map(Username::parse)
        .transpose()
}

fn name(field: &'static str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    values::optional_text(field, raw, MAX_NAME_CHARS, false)
}

fn bio(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    values::optional_text("bio", raw, MAX_BIO_CHARS, true)
}

fn links(raw: &[SocialLinkInput]) -> Result<Vec<values::SocialLink>, FieldError> {
    let pairs: Vec<(String, String)> = raw.iter().map(|l| (l.platform.clone(), l.url.clone())).collect();
    values::social_links(&pairs)
}

/// `None` when the field was omitted, `Some(parsed)` when given or nulled.
fn patch<T, U>(
    value: &MaybeUndefined<T>,
    parse: impl FnOnce(Option<&T>) -> Result<U, FieldError>,
) -> Result<Option<U>, FieldError> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => parse(None).map(Some),
        MaybeUndefined::Value(v) => parse(Some(v)).map(Some),
    }
}

impl CreateUserInput {
    pub fn parse(self) -> Result<(ClerkProfile, LocalProfile), FieldError> {
        let clerk = ClerkProfile {
            email: Email::parse(&self.email)?.into_string(),
            username: username(self.username.as_deref())?.map(Username::into_string),
            first_name: name("firstName", self.first_name.as_deref())?,
            last_name: name("lastName", self.last_name.as_deref())?,
        };
        let local = LocalProfile {
            display_name: name("displayName", self.display_name.as_deref())?,
            bio: bio(self.bio.as_deref())?,
            roles: values::roles(self.roles.as_deref().unwrap_or_default())?,
            social_links: links(self.social_links.as_deref().unwrap_or_default())?,
        };
        Ok((clerk, local))
    }
}

impl UpdateUserInput {
    pub fn parse(self) -> Result<(ClerkPatch, LocalPatch), FieldError> {
        let clerk = ClerkPatch {
            email: patch(&self.email, |v| match v {
                Some(email) => Email::parse(email),
                None => Err(FieldError::new("email", "cannot be removed")),
            })?,
            username: patch(&self.username, |v| username(v.map(String::as_str)))?,
            first_name: patch(&self.first_name, |v| name("firstName", v.map(String::as_str)))?,
            last_name: patch(&self.last_name, |v| name("lastName", v.map(String::as_str)))?,
        };
        let local = LocalPatch {
            display_name: patch(&self.display_name, |v| name("displayName", v.map(String::as_str)))?,
            bio: patch(&self.bio, |v| bio(v.map(String::as_str)))?,
            roles: patch(&self.roles, |v| {
                values::roles(v.map(Vec::as_slice).unwrap_or_default())
            })?,
            social_links: patch(&self.social_links, |v| {
                links(v.map(Vec::as_slice).unwrap_or_default())
            })?,
        };
        Ok((clerk, local))
    }
}
