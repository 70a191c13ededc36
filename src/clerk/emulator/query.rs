//! Query strings for listing and counting users: repeatable filters, paging and order.

use super::error::ApiError;
use super::state::{Filter, OrderBy, Page};

/// The filters the spec lists for `GET /users` and `/users/count` that the emulator does not implement.
const UNSUPPORTED_FILTERS: &[&str] = &[
    "phone_number",
    "web3_wallet",
    "organization_id",
    "query",
    "email_address_query",
    "phone_number_query",
    "username_query",
    "name_query",
    "banned",
    "last_active_at_before",
    "last_active_at_after",
    "last_active_at_since",
    "created_at_before",
    "created_at_after",
    "last_sign_in_at_before",
    "last_sign_in_at_after",
    "provider",
    "provider_user_id",
];

const MAX_LIMIT: usize = 500;

pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters outside the spec are ignored, as Clerk ignores them.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        if let Some((key, _)) = pairs
            .iter()
            .find(|(k, _)| UNSUPPORTED_FILTERS.contains(&k.as_str()))
        {
            return Err(ApiError::Unsupported(format!("The `{key}` filter")));
        }
        Ok(Self { pairs })
    }

    pub fn filter(&self) -> Filter {
        Filter {
            email_addresses: self.all("email_address"),
            external_ids: self.all("external_id"),
            usernames: self.all("username"),
            user_ids: self.all("user_id"),
        }
    }

    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = self.number("limit", 10)?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::ValueInvalid {
                param: "limit",
                reason: format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
            });
        }
        let offset = self.number("offset", 0)?;
        let (order_by, descending) = self.order()?;
        let starting_after = self.first("starting_after").map(str::to_owned);
        if starting_after.is_some() && order_by != OrderBy::CreatedAt {
            return Err(ApiError::ValueInvalid {
                param: "starting_after",
                reason: "starting_after needs users ordered by created_at".to_owned(),
            });
        }
        if starting_after.is_some() && offset != 0 {
            return Err(ApiError::ValueInvalid {
                param: "offset",
                reason: "offset cannot be combined with starting_after".to_owned(),
            });
        }
        Ok(Page {
            order_by,
            descending,
            limit,
            offset,
            starting_after,
        })
    }

    /// `-` sorts descending, `+` or no sign ascending; only the first `order_by` counts.
    fn order(&self) -> Result<(OrderBy, bool), ApiError> {
        let Some(raw) = self.first("order_by") else {
            return Ok((OrderBy::CreatedAt, true));
        };
        // An unescaped `+` arrives as a space.
        let (descending, field) = match raw.strip_prefix('-') {
            Some(field) => (true, field),
            None => (false, raw.trim_start_matches(['+', ' '])),
        };
        match field {
            "created_at" => Ok((OrderBy::CreatedAt, descending)),
            "updated_at" => Ok((OrderBy::UpdatedAt, descending)),
            "email_address" | "web3wallet" | "first_name" | "last_name" | "phone_number" | "username"
            | "last_active_at" | "last_sign_in_at" => {
                Err(ApiError::Unsupported(format!("Ordering users by `{field}`")))
            }
            _ => Err(ApiError::ValueInvalid {
                param: "order_by",
                reason: format!("{raw} does not match one of the allowed values for parameter order_by"),
            }),
        }
    }

    fn number(&self, key: &'static str, default: usize) -> Result<usize, ApiError> {
        let Some(raw) = self.first(key) else {
            return Ok(default);
        };
        raw.parse().map_err(|_| ApiError::ValueInvalid {
            param: key,
            reason: format!("{key} must be a non-negative integer, got {raw}"),
        })
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}
