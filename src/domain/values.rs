//! Parsed input values: raw strings become these at the edge, or a field error.

use serde::{Deserialize, Serialize};

/// Input that broke a rule, named by the API field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// An email address, kept as typed; compared through [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let invalid = |why: &str| FieldError::new("email", format!("is not a valid email address: {why}"));
        if value.is_empty() {
            return Err(FieldError::new("email", "is required"));
        }
        if value.len() > 254 {
            return Err(invalid("longer than 254 characters"));
        }
        let (local, domain) = value.split_once('@').ok_or_else(|| invalid("missing @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before @ must be 1 to 64 characters"));
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(invalid("the part before @ has characters that are not allowed"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
            return Err(invalid("the domain is not valid"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The key under which an email is unique: addresses differ only in case are one address.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// A username as Clerk accepts it: 4–64 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let count = value.chars().count();
        if !(4..=64).contains(&count) {
            return Err(FieldError::new("username", "must be 4 to 64 characters long"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FieldError::new(
                "username",
                "may contain only letters, digits, '-' and '_'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Usernames are unique regardless of case, as in Clerk.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// Free text with a length limit; blank input means "no value".
pub fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(Some(value.to_owned()))
}

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_BIO_CHARS: usize = 2000;
const MAX_ROLES: usize = 32;
const MAX_SOCIAL_LINKS: usize = 20;

/// Roles as a sorted set, so the same roles in another order are no change.
pub fn roles(raw: &[String]) -> Result<Vec<String>, FieldError> {
    if raw.len() > MAX_ROLES {
        return Err(FieldError::new("roles", format!("at most {MAX_ROLES} roles")));
    }
    let mut roles = Vec::with_capacity(raw.len());
    for role in raw {
        let role = role.trim();
        let ok = (1..=64).contains(&role.len())
            && role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !ok {
            return Err(FieldError::new(
                "roles",
                format!("'{role}' is not a role name: 1 to 64 letters, digits, '-', '_', '.' or ':'"),
            ));
        }
        roles.push(role.to_owned());
    }
    roles.sort();
    roles.dedup();
    Ok(roles)
}

/// A link to one of the user's profiles elsewhere.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, async_graphql::SimpleObject,
)]
pub struct SocialLink {
    pub platform: String,
    pub url: String,
}

pub fn social_links(raw: &[(String, String)]) -> Result<Vec<SocialLink>, FieldError> {
    if raw.len() > MAX_SOCIAL_LINKS {
        return Err(FieldError::new(
            "socialLinks",
            format!("at most {MAX_SOCIAL_LINKS} links"),
        ));
    }
    let mut links = Vec::with_capacity(raw.len());
    for (platform, url) in raw {
        let platform = platform.trim();
        if !(1..=32).contains(&platform.chars().count()) || platform.chars().any(char::is_control) {
            return Err(FieldError::new(
                "socialLinks",
                "platform must be 1 to 32 characters",
            ));
        }
        let url = url.trim();
        let parsed = url::Url::parse(url)
            .map_err(|_| FieldError::new("socialLinks", format!("'{url}' is not a URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || url.len() > 2048 {
            return Err(FieldError::new(
                "socialLinks",
                format!("'{url}' must be an http or https URL of at most 2048 characters"),
            ));
        }
        links.push(SocialLink {
            platform: platform.to_owned(),
            url: url.to_owned(),
        });
    }
    links.dedup();
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_that_clerk_would_take_parse() {
        for ok in [
            "a@b.co",
            "Jane.Doe+tag@example.com",
            "x_y@sub.example.org",
            "  pad@x.io  ",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} should parse");
        }
    }

    #[test]
    fn malformed_emails_are_rejected_on_the_email_field() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@.com",
            "a@b.c",
            ".a@b.com",
            "a..b@c.com",
            "a b@c.com",
            "a@b_c.com",
            "a@-b.com",
        ] {
            let err = Email::parse(bad).expect_err(bad);
            assert_eq!(err.field, "email", "{bad}");
        }
    }

    #[test]
    fn usernames_follow_clerks_rules() {
        assert!(Username::parse("abcd").is_ok());
        assert!(Username::parse("A-b_9").is_ok());
        assert!(Username::parse(&"x".repeat(64)).is_ok());
        for bad in ["abc", "has space", "dot.ted", "émile", &"x".repeat(65)] {
            assert_eq!(Username::parse(bad).expect_err(bad).field, "username", "{bad}");
        }
    }

    #[test]
    fn roles_are_a_sorted_set() {
        let got = roles(&["b".into(), " a ".into(), "b".into()]).unwrap();
        assert_eq!(got, vec!["a", "b"]);
        assert!(roles(&["bad role".into()]).is_err());
        assert!(roles(&["".into()]).is_err());
    }

    #[test]
    fn social_links_need_http_urls() {
        let ok = social_links(&[("GitHub".into(), "https://github.com/x".into())]).unwrap();
        assert_eq!(ok[0].platform, "GitHub");
        assert!(social_links(&[("x".into(), "javascript:alert(1)".into())]).is_err());
        assert!(social_links(&[("".into(), "https://a.io".into())]).is_err());
    }

    #[test]
    fn blank_text_means_no_value_and_limits_hold() {
        assert_eq!(optional_text("bio", Some("   "), 10, true).unwrap(), None);
        assert_eq!(
            optional_text("bio", Some(" hi\nthere "), 10, true)
                .unwrap()
                .as_deref(),
            Some("hi\nthere")
        );
        assert!(optional_text("firstName", Some("a\nb"), 10, false).is_err());
        assert!(optional_text("firstName", Some(&"x".repeat(11)), 10, false).is_err());
    }
}
