//! The emulator's objects as the spec shapes them: every field `User` and `EmailAddress` require, and more.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use super::state::{Change, EmailAddress, Metadata, User};
use super::EmulatorEvent;

/// The spec's `User`; what the emulator has no notion of (phones, wallets, MFA, sign-ins) stays empty.
#[derive(Serialize)]
struct UserObject<'a> {
    id: &'a str,
    object: &'static str,
    external_id: &'a Option<String>,
    primary_email_address_id: &'a Option<String>,
    primary_phone_number_id: Option<String>,
    primary_web3_wallet_id: Option<String>,
    username: &'a Option<String>,
    first_name: &'a Option<String>,
    last_name: &'a Option<String>,
    locale: &'a Option<String>,
    has_image: bool,
    image_url: String,
    profile_image_url: &'static str,
    public_metadata: &'a Metadata,
    private_metadata: &'a Metadata,
    unsafe_metadata: &'a Metadata,
    email_addresses: Vec<Value>,
    phone_numbers: [Value; 0],
    web3_wallets: [Value; 0],
    passkeys: [Value; 0],
    external_accounts: [Value; 0],
    saml_accounts: [Value; 0],
    enterprise_accounts: [Value; 0],
    password_enabled: bool,
    password_last_updated_at: Option<i64>,
    two_factor_enabled: bool,
    totp_enabled: bool,
    backup_code_enabled: bool,
    mfa_enabled_at: Option<i64>,
    mfa_disabled_at: Option<i64>,
    last_sign_in_at: Option<i64>,
    banned: bool,
    locked: bool,
    lockout_expires_in_seconds: Option<i64>,
    verification_attempts_remaining: Option<i64>,
    created_at: i64,
    updated_at: i64,
    delete_self_enabled: bool,
    create_organization_enabled: bool,
    create_organizations_limit: Option<i64>,
    last_active_at: Option<i64>,
    legal_accepted_at: Option<i64>,
}

pub fn user(user: &User) -> Value {
    let object = UserObject {
        id: &user.id,
        object: "user",
        external_id: &user.external_id,
        primary_email_address_id: &user.primary_email_address_id,
        primary_phone_number_id: None,
        primary_web3_wallet_id: None,
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        locale: &user.locale,
        has_image: false,
        image_url: image_url(&user.id),
        profile_image_url: "https://www.gravatar.com/avatar?d=mp",
        public_metadata: &user.public_metadata,
        private_metadata: &user.private_metadata,
        unsafe_metadata: &user.unsafe_metadata,
        email_addresses: user.email_addresses.iter().map(email_address).collect(),
        phone_numbers: [],
        web3_wallets: [],
        passkeys: [],
        external_accounts: [],
        saml_accounts: [],
        enterprise_accounts: [],
        password_enabled: user.password_last_updated_at.is_some(),
        password_last_updated_at: user.password_last_updated_at,
        two_factor_enabled: false,
        totp_enabled: false,
        backup_code_enabled: false,
        mfa_enabled_at: None,
        mfa_disabled_at: None,
        last_sign_in_at: None,
        banned: false,
        locked: false,
        lockout_expires_in_seconds: None,
        verification_attempts_remaining: None,
        created_at: user.created_at,
        updated_at: user.updated_at,
        delete_self_enabled: user.delete_self_enabled,
        create_organization_enabled: user.create_organization_enabled,
        create_organizations_limit: None,
        last_active_at: None,
        legal_accepted_at: user.legal_accepted_at,
    };
    serde_json::to_value(object).expect("a User of strings, numbers and maps always serializes")
}

/// An unverified address has no verification yet: the emulator never starts one.
pub fn email_address(email: &EmailAddress) -> Value {
    let verification = email.verified.then(|| {
        json!({
            "object": "verification_admin",
            "status": "verified",
            "strategy": "admin",
            "attempts": null,
            "expire_at": null,
        })
    });
    json!({
        "id": email.id,
        "object": "email_address",
        "email_address": email.email_address,
        "reserved": false,
        "verification": verification,
        "linked_to": [],
        "matches_sso_connection": false,
        "created_at": email.created_at,
        "updated_at": email.updated_at,
    })
}

/// What `DELETE` answers: a `DeletedObject`.
pub fn deleted(object: &str, id: &str) -> Value {
    json!({ "object": object, "id": id, "deleted": true })
}

pub fn event(change: Change, timestamp_ms: i64) -> EmulatorEvent {
    let (kind, data) = match change {
        Change::Created(created) => ("user.created", user(&created)),
        Change::Updated(updated) => ("user.updated", user(&updated)),
        Change::Deleted { id, external_id } => {
            let mut data = deleted("user", &id);
            // The spec types `external_id` as a plain string, so a user without one leaves it out.
            if let Some(external_id) = external_id {
                data["external_id"] = json!(external_id);
            }
            ("user.deleted", data)
        }
    };
    EmulatorEvent {
        r#type: kind.to_owned(),
        data,
        timestamp_ms,
    }
}

/// Clerk's default avatar URL: base64 of a small JSON naming the image type and the user.
fn image_url(user_id: &str) -> String {
    let spec = json!({ "type": "default", "iid": "ins_emulator", "rid": user_id });
    format!(
        "https://img.clerk.com/{}",
        URL_SAFE_NO_PAD.encode(spec.to_string())
    )
}
