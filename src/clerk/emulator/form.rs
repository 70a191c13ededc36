//! JSON request bodies read field by field, so each mistake is reported against the parameter that made it.

use serde_json::{Map, Value};

use super::error::ApiError;
use super::state::{Metadata, Patch};

pub struct Form {
    fields: Map<String, Value>,
}

impl Form {
    /// A JSON object; an empty body reads as `{}`.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { fields: Map::new() });
        }
        match serde_json::from_slice(body) {
            Ok(Value::Object(fields)) => Ok(Self { fields }),
            _ => Err(ApiError::BodyInvalid),
        }
    }

    /// Rejects a parameter outside `known`, and one of `unsupported`: parameters the spec lists for the
    /// endpoint but the emulator does not implement.
    pub fn only(&self, known: &[&str], unsupported: &[&str]) -> Result<(), ApiError> {
        for key in self.fields.keys() {
            if unsupported.contains(&key.as_str()) {
                return Err(ApiError::Unsupported(format!("The `{key}` parameter")));
            }
            if !known.contains(&key.as_str()) {
                return Err(ApiError::ParamUnknown(key.clone()));
            }
        }
        Ok(())
    }

    pub fn string(&self, key: &'static str) -> Result<Option<String>, ApiError> {
        Ok(self.patch_string(key)?.into_option())
    }

    /// Absent keeps the value, `null` clears it.
    pub fn patch_string(&self, key: &'static str) -> Result<Patch<String>, ApiError> {
        match self.fields.get(key) {
            None => Ok(Patch::Keep),
            Some(Value::Null) => Ok(Patch::Clear),
            Some(Value::String(value)) => Ok(Patch::Set(value.clone())),
            Some(_) => Err(wrong_type(key, "string")),
        }
    }

    pub fn required_string(&self, key: &'static str) -> Result<String, ApiError> {
        self.string(key)?.ok_or(ApiError::ParamMissing(key))
    }

    pub fn bool(&self, key: &'static str) -> Result<Option<bool>, ApiError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(wrong_type(key, "boolean")),
        }
    }

    pub fn strings(&self, key: &'static str) -> Result<Vec<String>, ApiError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| wrong_type(key, "array of strings"))
                })
                .collect(),
            Some(_) => Err(wrong_type(key, "array of strings")),
        }
    }

    pub fn metadata(&self, key: &'static str) -> Result<Metadata, ApiError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(Metadata::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(_) => Err(wrong_type(key, "object")),
        }
    }

    /// An RFC 3339 time, as milliseconds since the epoch.
    pub fn time(&self, key: &'static str) -> Result<Patch<i64>, ApiError> {
        Ok(match self.patch_string(key)? {
            Patch::Set(raw) => Patch::Set(
                chrono::DateTime::parse_from_rfc3339(&raw)
                    .map_err(|_| ApiError::TimeFormat(key))?
                    .timestamp_millis(),
            ),
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        })
    }
}

fn wrong_type(param: &'static str, expected: &'static str) -> ApiError {
    ApiError::ParamType { param, expected }
}
