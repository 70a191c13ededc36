//! `/v1/email_addresses`: add an address to a user, read, verify or make it primary, and delete it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use super::error::ApiError;
use super::form::Form;
use super::{json, Emulator};

/// No email is ever sent, so `notify_primary_email_address_changed` is accepted and changes nothing.
const NOTIFY: &str = "notify_primary_email_address_changed";

pub async fn create(State(emulator): State<Emulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(&body)?;
    form.only(&["user_id", "email_address", "verified", "primary", NOTIFY], &[])?;
    let user_id = form.required_string("user_id")?;
    let address = form.required_string("email_address")?;
    let verified = form.bool("verified")?.unwrap_or(false);
    let primary = form.bool("primary")?;
    form.bool(NOTIFY)?;
    let email = emulator.write(|store| store.add_email(&user_id, address, verified, primary))?;
    Ok(Json(json::email_address(&email)))
}

pub async fn get(State(emulator): State<Emulator>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    emulator.read(|store| store.email(&id).map(|email| Json(json::email_address(email))))
}

pub async fn update(
    State(emulator): State<Emulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(&body)?;
    form.only(&["verified", "primary", NOTIFY], &[])?;
    let (verified, primary) = (form.bool("verified")?, form.bool("primary")?);
    form.bool(NOTIFY)?;
    let email = emulator.write(|store| store.update_email(&id, verified, primary))?;
    Ok(Json(json::email_address(&email)))
}

pub async fn delete(
    State(emulator): State<Emulator>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    emulator.write(|store| store.delete_email(&id))?;
    Ok(Json(json::deleted("email_address", &id)))
}
