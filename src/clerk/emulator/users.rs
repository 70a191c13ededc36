//! `/v1/users`: create, list, count, get, update and delete users.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::Value;

use super::error::ApiError;
use super::form::Form;
use super::query::Params;
use super::state::{NewUser, UserChanges};
use super::{json, Emulator};

const CREATE_PARAMS: &[&str] = &[
    "email_address",
    "username",
    "first_name",
    "last_name",
    "external_id",
    "locale",
    "password",
    "skip_password_checks",
    "skip_password_requirement",
    "skip_legal_checks",
    "skip_user_requirement",
    "legal_accepted_at",
    "public_metadata",
    "private_metadata",
    "unsafe_metadata",
    "delete_self_enabled",
    "create_organization_enabled",
    "created_at",
];

const CREATE_UNSUPPORTED: &[&str] = &[
    "email_address_identification_status",
    "phone_number",
    "phone_number_identification_status",
    "web3_wallet",
    "password_digest",
    "password_hasher",
    "totp_secret",
    "backup_codes",
    "create_organizations_limit",
    "bypass_client_trust",
    "banned",
    "locked",
];

/// Since 2026-05-12 metadata is changed through `/users/{id}/metadata` only, so it is unknown here.
const UPDATE_PARAMS: &[&str] = &[
    "first_name",
    "last_name",
    "username",
    "external_id",
    "locale",
    "primary_email_address_id",
    "notify_primary_email_address_changed",
    "password",
    "skip_password_checks",
    "sign_out_of_other_sessions",
    "delete_self_enabled",
    "create_organization_enabled",
    "legal_accepted_at",
    "skip_legal_checks",
    "created_at",
];

const UPDATE_UNSUPPORTED: &[&str] = &[
    "primary_phone_number_id",
    "primary_web3_wallet_id",
    "profile_image_id",
    "password_digest",
    "password_hasher",
    "totp_secret",
    "backup_codes",
    "create_organizations_limit",
    "bypass_client_trust",
];

pub async fn create(State(emulator): State<Emulator>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(&body)?;
    form.only(CREATE_PARAMS, CREATE_UNSUPPORTED)?;
    // The emulated instance requires neither a password nor legal consent, so the skip flags change nothing.
    for flag in [
        "skip_password_requirement",
        "skip_legal_checks",
        "skip_user_requirement",
    ] {
        form.bool(flag)?;
    }
    let new = NewUser {
        email_addresses: form.strings("email_address")?,
        username: form.string("username")?,
        first_name: form.string("first_name")?,
        last_name: form.string("last_name")?,
        external_id: form.string("external_id")?,
        locale: form.string("locale")?,
        password: form.string("password")?,
        skip_password_checks: form.bool("skip_password_checks")?.unwrap_or(false),
        public_metadata: form.metadata("public_metadata")?,
        private_metadata: form.metadata("private_metadata")?,
        unsafe_metadata: form.metadata("unsafe_metadata")?,
        delete_self_enabled: form.bool("delete_self_enabled")?,
        create_organization_enabled: form.bool("create_organization_enabled")?,
        legal_accepted_at: form.time("legal_accepted_at")?.into_option(),
        created_at: form.time("created_at")?.into_option(),
    };
    let user = emulator.write(|store| store.create_user(new))?;
    Ok(Json(json::user(&user)))
}

/// A bare array, as Clerk answers; totals come from `/users/count`.
pub async fn list(
    State(emulator): State<Emulator>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let (filter, page) = (params.filter(), params.page()?);
    let users = emulator.read(|store| {
        let users = store.list(&filter, &page)?;
        Ok::<_, ApiError>(users.into_iter().map(json::user).collect::<Vec<_>>())
    })?;
    Ok(Json(Value::Array(users)))
}

pub async fn count(
    State(emulator): State<Emulator>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let filter = Params::parse(query.as_deref())?.filter();
    let total = emulator.read(|store| store.count(&filter));
    Ok(Json(
        serde_json::json!({ "object": "total_count", "total_count": total }),
    ))
}

pub async fn get(State(emulator): State<Emulator>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    emulator.read(|store| store.user(&id).map(|user| Json(json::user(user))))
}

pub async fn update(
    State(emulator): State<Emulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(&body)?;
    form.only(UPDATE_PARAMS, UPDATE_UNSUPPORTED)?;
    // No email is sent and there are no sessions, so these flags change nothing.
    for flag in [
        "notify_primary_email_address_changed",
        "sign_out_of_other_sessions",
        "skip_legal_checks",
    ] {
        form.bool(flag)?;
    }
    let changes = UserChanges {
        first_name: form.patch_string("first_name")?,
        last_name: form.patch_string("last_name")?,
        username: form.patch_string("username")?,
        external_id: form.patch_string("external_id")?,
        locale: form.patch_string("locale")?,
        primary_email_address_id: form.string("primary_email_address_id")?,
        password: form.string("password")?,
        skip_password_checks: form.bool("skip_password_checks")?.unwrap_or(false),
        delete_self_enabled: form.bool("delete_self_enabled")?,
        create_organization_enabled: form.bool("create_organization_enabled")?,
        legal_accepted_at: form.time("legal_accepted_at")?,
        created_at: form.time("created_at")?.into_option(),
    };
    let user = emulator.write(|store| store.update_user(&id, changes))?;
    Ok(Json(json::user(&user)))
}

pub async fn delete(
    State(emulator): State<Emulator>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    emulator.write(|store| store.delete_user(&id))?;
    Ok(Json(json::deleted("user", &id)))
}
