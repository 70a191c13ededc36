//! The Clerk emulator over real HTTP: the Backend API as the spec describes it, the control API's faults,
//! and the webhooks it sends to a receiver of our own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use svix::webhooks::Webhook;
use tandem::clerk::emulator::{Emulator, EmulatorEvent, EmulatorServer};
use tandem::clerk::model::{ClerkErrorItem, ClerkErrors, ClerkUser, DeletedObject, API_VERSION};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{error::TryRecvError, Receiver};
use tokio::task::JoinHandle;

const KEY: &str = "sk_test_x";

/// The signing secret from Svix's documentation.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_bm90IHRoZSBzZWNyZXQgeW91IGFyZSBsb29raW5nIGZvcg==";

/// How long a test waits for webhooks before it fails: longer than the whole retry schedule.
const WEBHOOK_PATIENCE: Duration = Duration::from_secs(40);

/// Every field `components.schemas.User` marks required in the 2026-05-12 spec.
const USER_REQUIRED: &[&str] = &[
    "id",
    "object",
    "username",
    "first_name",
    "last_name",
    "has_image",
    "primary_email_address_id",
    "primary_phone_number_id",
    "primary_web3_wallet_id",
    "password_enabled",
    "two_factor_enabled",
    "totp_enabled",
    "backup_code_enabled",
    "email_addresses",
    "phone_numbers",
    "web3_wallets",
    "passkeys",
    "external_accounts",
    "saml_accounts",
    "enterprise_accounts",
    "public_metadata",
    "external_id",
    "last_sign_in_at",
    "banned",
    "locked",
    "lockout_expires_in_seconds",
    "verification_attempts_remaining",
    "created_at",
    "updated_at",
    "delete_self_enabled",
    "create_organization_enabled",
    "last_active_at",
    "mfa_enabled_at",
    "mfa_disabled_at",
    "legal_accepted_at",
];

/// Every field `components.schemas.EmailAddress` marks required in the 2026-05-12 spec.
const EMAIL_REQUIRED: &[&str] = &[
    "object",
    "email_address",
    "verification",
    "linked_to",
    "reserved",
    "created_at",
    "updated_at",
];

struct Clerk {
    server: EmulatorServer,
    http: Client,
}

impl Clerk {
    async fn start() -> Self {
        let server = Emulator::new(KEY)
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            server,
            http: Client::new(),
        }
    }

    /// A Backend API call with the right key and version, as Tandem's client makes it.
    fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.bare(method, path)
            .bearer_auth(KEY)
            .header("Clerk-API-Version", API_VERSION)
    }

    fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.server.url()))
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> Response {
        self.api(method, path).json(&body).send().await.unwrap()
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self.send(method.clone(), path, body).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{method} {path}: {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, Value::Null).await
    }

    async fn create_user(&self, body: Value) -> Value {
        self.ok(Method::POST, "/v1/users", body).await
    }

    async fn control(&self, method: Method, path: &str, body: Value) -> StatusCode {
        self.bare(method, path).json(&body).send().await.unwrap().status()
    }

    async fn fault(&self, fault: Value) {
        let status = self.control(Method::POST, "/_emulator/faults", fault).await;
        assert!(status.is_success(), "fault refused: {status}");
    }

    async fn log(&self) -> Vec<Value> {
        self.control_read("/_emulator/requests").await
    }

    /// A control API answer, as JSON.
    async fn control_read<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.bare(Method::GET, path).send().await.unwrap();
        response.json().await.unwrap()
    }

    fn deliver_webhooks_to(&self, receiver: &WebhookReceiver) {
        self.server.emulator().deliver_webhooks(&receiver.url, SECRET);
    }

    /// Polls the delivery log until `done` holds, since an attempt is logged once its answer is in.
    async fn webhook_log_until(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WEBHOOK_PATIENCE;
        loop {
            let log: Vec<Value> = self.control_read("/_emulator/webhooks").await;
            if done(&log) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "the delivery log never got there: {log:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One request a webhook receiver got, as it arrived.
#[derive(Clone)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    fn svix_id(&self) -> &str {
        self.headers["svix-id"].to_str().unwrap()
    }

    fn envelope(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn user_id(&self) -> String {
        self.envelope()["data"]["id"].as_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct Inbox {
    deliveries: Mutex<Vec<Delivery>>,
    failures_left: AtomicUsize,
}

/// A webhook endpoint on port 0 that records every request and answers 500 to the first `failures`.
struct WebhookReceiver {
    url: String,
    inbox: Arc<Inbox>,
    server: JoinHandle<()>,
}

impl WebhookReceiver {
    async fn start(failures: usize) -> Self {
        let inbox = Arc::new(Inbox {
            failures_left: AtomicUsize::new(failures),
            ..Inbox::default()
        });
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&inbox));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/clerk", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inbox, server }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.inbox.deliveries.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests have arrived, and hands back all of them.
    async fn wait_for(&self, count: usize) -> Vec<Delivery> {
        let deadline = Instant::now() + WEBHOOK_PATIENCE;
        loop {
            let deliveries = self.deliveries();
            if deliveries.len() >= count {
                return deliveries;
            }
            assert!(
                Instant::now() < deadline,
                "{count} webhooks expected, {} arrived",
                deliveries.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.deliveries.lock().unwrap().push(Delivery { headers, body });
    let failing = inbox
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

fn user_ids(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(Delivery::user_id).collect()
}

/// `prefix_` and 27 base62 characters.
fn is_clerk_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| rest.len() == 27 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Asserts Clerk's error shape, status and code, and hands back the error for more checks.
async fn expect_error(response: Response, status: StatusCode, code: &str) -> ClerkErrorItem {
    assert_eq!(response.status(), status);
    let errors: ClerkErrors = response.json().await.unwrap();
    assert!(errors.clerk_trace_id.is_some_and(|id| !id.is_empty()));
    let error = errors.errors.into_iter().next().expect("one error");
    assert_eq!(error.code, code, "{}", error.long_message);
    assert!(!error.message.is_empty() && !error.long_message.is_empty());
    error
}

fn param_name(error: &ClerkErrorItem) -> Option<&str> {
    error.meta.as_ref()?.get("param_name")?.as_str()
}

fn ids(users: &Value) -> Vec<&str> {
    users
        .as_array()
        .expect("a bare array")
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect()
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap()
}

fn next_event(events: &mut Receiver<EmulatorEvent>) -> EmulatorEvent {
    events.try_recv().expect("an event")
}

#[tokio::test]
async fn a_created_user_reads_back_with_its_first_email_verified_and_primary() {
    let clerk = Clerk::start().await;

    let created = clerk
        .create_user(json!({
            "email_address": ["ada@example.com", "ada.l@example.org"],
            "username": "Ada_L",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "external_id": "tandem-1",
            "password": "correct horse",
            "skip_password_requirement": true,
            "public_metadata": { "roles": ["admin"] },
        }))
        .await;

    let user: ClerkUser = serde_json::from_value(created.clone()).unwrap();
    assert!(user.id.starts_with("user_") && user.id.len() == 5 + 27);
    assert!(user.id[5..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        user.username.as_deref(),
        Some("ada_l"),
        "usernames are stored lower-cased"
    );
    assert_eq!(user.external_id.as_deref(), Some("tandem-1"));
    assert_eq!(user.primary_email().unwrap().email_address, "ada@example.com");
    assert!(user
        .email_addresses
        .iter()
        .all(|e| e.id.as_ref().unwrap().starts_with("idn_")));
    assert_eq!(
        created["email_addresses"][0]["verification"],
        json!({
            "object": "verification_admin",
            "status": "verified",
            "strategy": "admin",
            "attempts": null,
            "expire_at": null,
        })
    );
    assert_eq!(created["password_enabled"], json!(true));
    assert_eq!(created["public_metadata"], json!({ "roles": ["admin"] }));
    assert!(
        !created.to_string().contains("correct horse"),
        "the password is never returned"
    );
    assert_eq!(user.created_at, user.updated_at);
    assert_eq!(clerk.get(&format!("/v1/users/{}", user.id)).await, created);
}

#[tokio::test]
async fn a_created_user_carries_every_field_the_spec_requires() {
    let clerk = Clerk::start().await;

    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;

    for field in USER_REQUIRED {
        assert!(user.get(field).is_some(), "User lacks the required field {field}");
    }
    for field in EMAIL_REQUIRED {
        assert!(
            user["email_addresses"][0].get(field).is_some(),
            "EmailAddress lacks the required field {field}"
        );
    }
    assert_eq!(user["object"], "user");
    assert_eq!(user["email_addresses"][0]["object"], "email_address");
    assert!(user["created_at"].is_i64() && user["created_at"].as_i64().unwrap() > 1_600_000_000_000);
}

#[tokio::test]
async fn list_filters_by_external_id_repeated_email_address_and_username_as_one_or() {
    let clerk = Clerk::start().await;
    let ada = clerk
        .create_user(json!({ "email_address": ["ada@example.com"], "external_id": "t-1" }))
        .await;
    let bob = clerk
        .create_user(json!({ "email_address": ["bob@example.com"], "username": "bob_b" }))
        .await;
    let cy = clerk
        .create_user(json!({ "email_address": ["cy@example.com"] }))
        .await;
    let (ada, bob, cy) = (str_of(&ada, "id"), str_of(&bob, "id"), str_of(&cy, "id"));

    let all = clerk.get("/v1/users").await;
    let by_external_id = clerk.get("/v1/users?external_id=t-1").await;
    let by_emails = clerk
        .get("/v1/users?email_address=ada@example.com&email_address=CY@example.com")
        .await;
    let by_username = clerk.get("/v1/users?username=BOB_B").await;
    let either = clerk.get("/v1/users?external_id=t-1&username=bob_b").await;
    let nobody = clerk.get("/v1/users?email_address=nobody@example.com").await;

    assert_eq!(ids(&all), [cy, bob, ada], "newest first by default");
    assert_eq!(ids(&by_external_id), [ada]);
    assert_eq!(ids(&by_emails), [cy, ada]);
    assert_eq!(ids(&by_username), [bob]);
    assert_eq!(ids(&either), [bob, ada]);
    assert!(ids(&nobody).is_empty());
}

#[tokio::test]
async fn count_answers_a_total_count_under_the_same_filters() {
    let clerk = Clerk::start().await;
    for name in ["ada", "bob", "cy"] {
        clerk
            .create_user(json!({ "email_address": [format!("{name}@example.com")] }))
            .await;
    }

    let all = clerk.get("/v1/users/count").await;
    let some = clerk
        .get("/v1/users/count?email_address=ada@example.com&email_address=bob@example.com&limit=1")
        .await;

    assert_eq!(all, json!({ "object": "total_count", "total_count": 3 }));
    assert_eq!(some["total_count"], 2, "paging does not apply to counts");
}

#[tokio::test]
async fn list_pages_with_limit_offset_starting_after_and_order_by() {
    let clerk = Clerk::start().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let user = clerk
            .create_user(json!({ "email_address": [format!("u{i}@example.com")] }))
            .await;
        created.push(str_of(&user, "id").to_owned());
    }
    let newest_first: Vec<&str> = created.iter().rev().map(String::as_str).collect();
    clerk
        .ok(
            Method::PATCH,
            &format!("/v1/users/{}", created[0]),
            json!({ "first_name": "Touched" }),
        )
        .await;

    let first = clerk.get("/v1/users?limit=2").await;
    let second = clerk.get("/v1/users?limit=2&offset=2").await;
    let after = clerk
        .get(&format!("/v1/users?limit=2&starting_after={}", newest_first[1]))
        .await;
    let oldest_first = clerk.get("/v1/users?order_by=created_at").await;
    let plus_sign = clerk.get("/v1/users?order_by=%2Bcreated_at").await;
    let recently_updated = clerk.get("/v1/users?order_by=-updated_at&limit=1").await;

    assert_eq!(ids(&first), &newest_first[..2]);
    assert_eq!(ids(&second), &newest_first[2..4]);
    assert_eq!(ids(&after), &newest_first[2..4]);
    assert_eq!(ids(&oldest_first), created);
    assert_eq!(ids(&plus_sign), created);
    assert_eq!(ids(&recently_updated), [created[0].as_str()]);
}

#[tokio::test]
async fn a_starting_after_cursor_survives_the_deletion_of_its_user() {
    let clerk = Clerk::start().await;
    let mut created = Vec::new();
    for i in 0..3 {
        let user = clerk
            .create_user(json!({ "email_address": [format!("u{i}@example.com")] }))
            .await;
        created.push(str_of(&user, "id").to_owned());
    }
    clerk
        .ok(Method::DELETE, &format!("/v1/users/{}", created[1]), Value::Null)
        .await;

    let after = clerk
        .get(&format!("/v1/users?starting_after={}", created[1]))
        .await;

    assert_eq!(ids(&after), [created[0].as_str()]);
}

#[tokio::test]
async fn patch_changes_names_and_a_null_or_empty_username_removes_it() {
    let clerk = Clerk::start().await;
    let created = clerk
        .create_user(
            json!({ "email_address": ["ada@example.com"], "username": "ada_l", "first_name": "Ada" }),
        )
        .await;
    let path = format!("/v1/users/{}", str_of(&created, "id"));

    let renamed = clerk
        .ok(
            Method::PATCH,
            &path,
            json!({ "first_name": "Augusta", "last_name": "King", "locale": "en-GB" }),
        )
        .await;
    let no_username = clerk.ok(Method::PATCH, &path, json!({ "username": null })).await;
    clerk
        .ok(Method::PATCH, &path, json!({ "username": "ada_again" }))
        .await;
    let emptied = clerk.ok(Method::PATCH, &path, json!({ "username": "" })).await;

    assert_eq!(renamed["first_name"], "Augusta");
    assert_eq!(renamed["last_name"], "King");
    assert_eq!(renamed["locale"], "en-GB");
    assert_eq!(renamed["username"], "ada_l", "absent fields are left alone");
    assert!(renamed["updated_at"].as_i64() > created["updated_at"].as_i64());
    assert_eq!(renamed["created_at"], created["created_at"]);
    assert_eq!(no_username["username"], Value::Null);
    assert_eq!(no_username["first_name"], "Augusta");
    assert_eq!(emptied["username"], Value::Null);
}

#[tokio::test]
async fn the_primary_email_changes_by_adding_a_verified_primary_then_deleting_the_old_one() {
    let clerk = Clerk::start().await;
    let created = clerk
        .create_user(json!({ "email_address": ["old@example.com"] }))
        .await;
    let user_id = str_of(&created, "id");
    let old_id = str_of(&created["email_addresses"][0], "id");

    let added = clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({
                "user_id": user_id,
                "email_address": "new@example.com",
                "verified": true,
                "primary": true,
            }),
        )
        .await;
    let switched: ClerkUser =
        serde_json::from_value(clerk.get(&format!("/v1/users/{user_id}")).await).unwrap();
    let deleted: DeletedObject = serde_json::from_value(
        clerk
            .ok(
                Method::DELETE,
                &format!("/v1/email_addresses/{old_id}"),
                Value::Null,
            )
            .await,
    )
    .unwrap();
    let after: ClerkUser = serde_json::from_value(clerk.get(&format!("/v1/users/{user_id}")).await).unwrap();

    assert!(str_of(&added, "id").starts_with("idn_"));
    assert_eq!(added["verification"]["status"], "verified");
    for field in EMAIL_REQUIRED {
        assert!(
            added.get(field).is_some(),
            "EmailAddress lacks the required field {field}"
        );
    }
    assert_eq!(switched.primary_email().unwrap().email_address, "new@example.com");
    assert_eq!(switched.email_addresses.len(), 2);
    assert_eq!(
        deleted,
        DeletedObject {
            object: "email_address".into(),
            id: Some(old_id.into()),
            deleted: true
        }
    );
    assert_eq!(after.email_addresses.len(), 1);
    assert_eq!(after.primary_email().unwrap().email_address, "new@example.com");
}

#[tokio::test]
async fn an_unverified_email_can_be_verified_and_then_made_primary() {
    let clerk = Clerk::start().await;
    let created = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let user_id = str_of(&created, "id");

    let added = clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": user_id, "email_address": "second@example.com" }),
        )
        .await;
    let path = format!("/v1/email_addresses/{}", str_of(&added, "id"));
    let still_primary = clerk.get(&format!("/v1/users/{user_id}")).await;
    let verified = clerk
        .ok(Method::PATCH, &path, json!({ "verified": true, "primary": true }))
        .await;
    let user = clerk.get(&format!("/v1/users/{user_id}")).await;

    assert_eq!(added["verification"], Value::Null, "unverified unless asked");
    assert_eq!(
        still_primary["primary_email_address_id"],
        created["primary_email_address_id"]
    );
    assert_eq!(verified["verification"]["status"], "verified");
    assert_eq!(clerk.get(&path).await, verified);
    assert_eq!(user["primary_email_address_id"], verified["id"]);
}

#[tokio::test]
async fn deleting_a_user_answers_a_deleted_object_and_later_calls_are_resource_not_found() {
    let clerk = Clerk::start().await;
    let created = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let id = str_of(&created, "id");
    let path = format!("/v1/users/{id}");

    let deleted: DeletedObject =
        serde_json::from_value(clerk.ok(Method::DELETE, &path, Value::Null).await).unwrap();

    assert_eq!(
        deleted,
        DeletedObject {
            object: "user".into(),
            id: Some(id.into()),
            deleted: true
        }
    );
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let response = clerk.send(method, &path, json!({})).await;
        expect_error(response, StatusCode::NOT_FOUND, "resource_not_found").await;
    }
    let email_id = str_of(&created["email_addresses"][0], "id");
    let email = clerk
        .send(
            Method::GET,
            &format!("/v1/email_addresses/{email_id}"),
            Value::Null,
        )
        .await;
    expect_error(email, StatusCode::NOT_FOUND, "resource_not_found").await;
    assert_eq!(clerk.get("/v1/users/count").await["total_count"], 0);
}

#[tokio::test]
async fn unknown_users_email_addresses_and_paths_are_resource_not_found() {
    let clerk = Clerk::start().await;
    let missing = "user_0000000000000000000000000";

    let calls = [
        (Method::GET, format!("/v1/users/{missing}"), Value::Null),
        (
            Method::PATCH,
            format!("/v1/users/{missing}"),
            json!({ "first_name": "x" }),
        ),
        (Method::DELETE, format!("/v1/users/{missing}"), Value::Null),
        (
            Method::GET,
            "/v1/email_addresses/idn_missing".to_owned(),
            Value::Null,
        ),
        (
            Method::PATCH,
            "/v1/email_addresses/idn_missing".to_owned(),
            json!({ "verified": true }),
        ),
        (
            Method::DELETE,
            "/v1/email_addresses/idn_missing".to_owned(),
            Value::Null,
        ),
        (
            Method::POST,
            "/v1/email_addresses".to_owned(),
            json!({ "user_id": missing, "email_address": "ada@example.com" }),
        ),
        (Method::GET, "/v1/organizations".to_owned(), Value::Null),
    ];

    for (method, path, body) in calls {
        let response = clerk.send(method, &path, body).await;
        expect_error(response, StatusCode::NOT_FOUND, "resource_not_found").await;
    }
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_header_is_authorization_header_format_invalid() {
    let clerk = Clerk::start().await;

    let missing = clerk.bare(Method::GET, "/v1/users").send().await.unwrap();
    let basic = clerk
        .bare(Method::GET, "/v1/users")
        .header("Authorization", format!("Basic {KEY}"))
        .send()
        .await
        .unwrap();
    let empty = clerk
        .bare(Method::GET, "/v1/users")
        .header("Authorization", "Bearer ")
        .send()
        .await
        .unwrap();

    for response in [missing, basic, empty] {
        expect_error(
            response,
            StatusCode::UNAUTHORIZED,
            "authorization_header_format_invalid",
        )
        .await;
    }
}

#[tokio::test]
async fn a_wrong_secret_key_is_clerk_key_invalid() {
    let clerk = Clerk::start().await;

    let response = clerk
        .bare(Method::POST, "/v1/users")
        .bearer_auth("sk_test_wrong")
        .json(&json!({ "email_address": ["ada@example.com"] }))
        .send()
        .await
        .unwrap();

    expect_error(response, StatusCode::UNAUTHORIZED, "clerk_key_invalid").await;
    assert_eq!(clerk.get("/v1/users/count").await["total_count"], 0);
}

#[tokio::test]
async fn an_unknown_api_version_is_api_version_invalid_and_no_version_is_accepted() {
    let clerk = Clerk::start().await;

    let unknown = clerk
        .bare(Method::GET, "/v1/users")
        .bearer_auth(KEY)
        .header("Clerk-API-Version", "2099-01-01")
        .send()
        .await
        .unwrap();
    let both = clerk
        .api(
            Method::GET,
            &format!("/v1/users?__clerk_api_version={API_VERSION}"),
        )
        .send()
        .await
        .unwrap();
    let none = clerk
        .bare(Method::GET, "/v1/users")
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let older = clerk
        .bare(Method::GET, "/v1/users")
        .bearer_auth(KEY)
        .header("Clerk-API-Version", "2025-04-10")
        .send()
        .await
        .unwrap();

    expect_error(unknown, StatusCode::BAD_REQUEST, "api_version_invalid").await;
    expect_error(both, StatusCode::BAD_REQUEST, "api_version_invalid").await;
    assert_eq!(none.status(), StatusCode::OK);
    assert_eq!(older.status(), StatusCode::OK);
}

#[tokio::test]
async fn identifiers_given_up_are_free_for_another_user() {
    let clerk = Clerk::start().await;
    let ada = clerk
        .create_user(json!({
            "email_address": ["ada@example.com", "ada.old@example.com"],
            "username": "ada_l",
            "external_id": "t-1"
        }))
        .await;
    let ada_path = format!("/v1/users/{}", str_of(&ada, "id"));
    clerk
        .ok(
            Method::PATCH,
            &ada_path,
            json!({ "username": "ada_lovelace", "external_id": "t-2" }),
        )
        .await;
    let old_email = ada["email_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["email_address"] == "ada.old@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    clerk
        .ok(
            Method::DELETE,
            &format!("/v1/email_addresses/{old_email}"),
            Value::Null,
        )
        .await;
    let bob = clerk
        .create_user(json!({
            "email_address": ["ADA.OLD@example.com"],
            "username": "ada_l",
            "external_id": "t-1"
        }))
        .await;
    assert_eq!(
        bob["username"], "ada_l",
        "the old username, the old external id and the deleted address are free"
    );
    let taken = clerk
        .send(Method::POST, "/v1/users", json!({ "username": "ADA_LOVELACE" }))
        .await;
    expect_error(taken, StatusCode::UNPROCESSABLE_ENTITY, "form_identifier_exists").await;

    clerk.ok(Method::DELETE, &ada_path, Value::Null).await;
    let carol = clerk
        .create_user(
            json!({ "email_address": ["ada@example.com"], "username": "ada_lovelace", "external_id": "t-2" }),
        )
        .await;
    assert_eq!(
        carol["external_id"], "t-2",
        "a deleted user's identifiers are free"
    );
}

#[tokio::test]
async fn an_email_username_or_external_id_in_use_is_form_identifier_exists() {
    let clerk = Clerk::start().await;
    let ada = clerk
        .create_user(
            json!({ "email_address": ["ada@example.com"], "username": "ada_l", "external_id": "t-1" }),
        )
        .await;
    let bob = clerk
        .create_user(json!({ "email_address": ["bob@example.com"] }))
        .await;
    let bob_path = format!("/v1/users/{}", str_of(&bob, "id"));

    let cases = [
        (
            Method::POST,
            "/v1/users",
            json!({ "email_address": ["ADA@example.com"] }),
            "email_address",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({ "username": "ADA_L" }),
            "username",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({ "external_id": "t-1" }),
            "external_id",
        ),
        (
            Method::PATCH,
            bob_path.as_str(),
            json!({ "username": "Ada_L" }),
            "username",
        ),
        (
            Method::PATCH,
            bob_path.as_str(),
            json!({ "external_id": "t-1" }),
            "external_id",
        ),
        (
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": str_of(&bob, "id"), "email_address": "ada@example.com" }),
            "email_address",
        ),
        (
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": str_of(&ada, "id"), "email_address": "ada@example.com" }),
            "email_address",
        ),
    ];

    for (method, path, body, param) in cases {
        let response = clerk.send(method, path, body).await;
        let error = expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_identifier_exists",
        )
        .await;
        assert_eq!(param_name(&error), Some(param));
    }
    let email = expect_error(
        clerk
            .send(
                Method::POST,
                "/v1/users",
                json!({ "email_address": ["ada@example.com"] }),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "form_identifier_exists",
    )
    .await;
    assert_eq!(email.message, "That email address is taken. Please try another.");
    assert_eq!(clerk.get("/v1/users/count").await["total_count"], 2);
    let same_user = clerk
        .ok(
            Method::PATCH,
            &format!("/v1/users/{}", str_of(&ada, "id")),
            json!({ "username": "ada_l", "external_id": "t-1" }),
        )
        .await;
    assert_eq!(
        same_user["username"], "ada_l",
        "a user does not clash with itself"
    );
}

#[tokio::test]
async fn usernames_must_be_4_to_64_letters_digits_dashes_or_underscores() {
    let clerk = Clerk::start().await;
    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let path = format!("/v1/users/{}", str_of(&user, "id"));

    let too_long = "a".repeat(65);
    let cases = [
        ("abc", "form_username_invalid_length"),
        (too_long.as_str(), "form_username_invalid_length"),
        ("ada lovelace", "form_username_invalid_character"),
        ("ada.l", "form_username_invalid_character"),
        ("adá_l", "form_username_invalid_character"),
    ];

    for (username, code) in cases {
        for (method, path) in [(Method::POST, "/v1/users"), (Method::PATCH, path.as_str())] {
            let response = clerk.send(method, path, json!({ "username": username })).await;
            let error = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
            assert_eq!(param_name(&error), Some("username"), "{username:?}");
        }
    }
    let longest = "a".repeat(64);
    assert_eq!(
        clerk.create_user(json!({ "username": "a-_1" })).await["username"],
        "a-_1"
    );
    assert_eq!(
        clerk.create_user(json!({ "username": longest })).await["username"],
        longest
    );
}

#[tokio::test]
async fn an_unknown_parameter_is_form_param_unknown() {
    let clerk = Clerk::start().await;

    let create = clerk
        .send(Method::POST, "/v1/users", json!({ "email": "ada@example.com" }))
        .await;
    let add_email = clerk
        .send(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user": "user_x", "email_address": "a@b.co" }),
        )
        .await;

    let error = expect_error(create, StatusCode::UNPROCESSABLE_ENTITY, "form_param_unknown").await;
    assert_eq!(param_name(&error), Some("email"));
    assert_eq!(
        error.long_message,
        "email is not a valid parameter for this request."
    );
    let error = expect_error(add_email, StatusCode::UNPROCESSABLE_ENTITY, "form_param_unknown").await;
    assert_eq!(param_name(&error), Some("user"));
}

#[tokio::test]
async fn metadata_in_a_user_patch_is_form_param_unknown_in_this_api_version() {
    let clerk = Clerk::start().await;
    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let path = format!("/v1/users/{}", str_of(&user, "id"));

    for field in ["public_metadata", "private_metadata", "unsafe_metadata"] {
        let mut body = serde_json::Map::new();
        body.insert(field.to_owned(), json!({ "roles": [] }));
        let response = clerk.send(Method::PATCH, &path, Value::Object(body)).await;
        let error = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "form_param_unknown").await;
        assert_eq!(param_name(&error), Some(field));
    }
    assert_eq!(clerk.get(&path).await["updated_at"], user["updated_at"]);
}

#[tokio::test]
async fn a_malformed_body_is_request_body_invalid() {
    let clerk = Clerk::start().await;

    let broken = clerk
        .api(Method::POST, "/v1/users")
        .header("Content-Type", "application/json")
        .body("{\"email_address\": [")
        .send()
        .await
        .unwrap();
    let not_an_object = clerk
        .send(Method::POST, "/v1/users", json!(["ada@example.com"]))
        .await;

    expect_error(broken, StatusCode::BAD_REQUEST, "request_body_invalid").await;
    expect_error(not_an_object, StatusCode::BAD_REQUEST, "request_body_invalid").await;
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_rejected_against_its_name() {
    let clerk = Clerk::start().await;

    let response = clerk
        .send(
            Method::POST,
            "/v1/users",
            json!({ "email_address": "ada@example.com" }),
        )
        .await;

    let error = expect_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "form_param_type_invalid",
    )
    .await;
    assert_eq!(param_name(&error), Some("email_address"));
}

#[tokio::test]
async fn a_password_shorter_than_8_characters_is_form_password_length_too_short() {
    let clerk = Clerk::start().await;

    let short = clerk
        .send(
            Method::POST,
            "/v1/users",
            json!({ "username": "ada_l", "password": "1234567" }),
        )
        .await;
    let skipped = clerk
        .create_user(json!({ "username": "ada_l", "password": "1234567", "skip_password_checks": true }))
        .await;

    let error = expect_error(
        short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "form_password_length_too_short",
    )
    .await;
    assert_eq!(param_name(&error), Some("password"));
    assert_eq!(skipped["password_enabled"], true);
    assert!(skipped.get("password").is_none());
}

#[tokio::test]
async fn an_invalid_email_address_is_form_param_format_invalid() {
    let clerk = Clerk::start().await;
    let user = clerk.create_user(json!({ "username": "ada_l" })).await;

    let create = clerk
        .send(
            Method::POST,
            "/v1/users",
            json!({ "email_address": ["not-an-email"] }),
        )
        .await;
    let add = clerk
        .send(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": str_of(&user, "id"), "email_address": "ada@" }),
        )
        .await;

    for response in [create, add] {
        let error = expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_format_invalid",
        )
        .await;
        assert_eq!(param_name(&error), Some("email_address"));
    }
}

#[tokio::test]
async fn deleting_the_last_or_the_primary_email_is_identification_deletion_failed() {
    let clerk = Clerk::start().await;
    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let primary = format!(
        "/v1/email_addresses/{}",
        str_of(&user["email_addresses"][0], "id")
    );

    let last = clerk.send(Method::DELETE, &primary, Value::Null).await;
    clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({
                "user_id": str_of(&user, "id"),
                "email_address": "second@example.com",
                "verified": true,
            }),
        )
        .await;
    let still_primary = clerk.send(Method::DELETE, &primary, Value::Null).await;

    expect_error(last, StatusCode::BAD_REQUEST, "identification_deletion_failed").await;
    expect_error(
        still_primary,
        StatusCode::BAD_REQUEST,
        "identification_deletion_failed",
    )
    .await;
    assert_eq!(clerk.get(&primary).await["email_address"], "ada@example.com");
}

#[tokio::test]
async fn only_a_verified_email_of_the_same_user_can_become_primary() {
    let clerk = Clerk::start().await;
    let ada = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let bob = clerk
        .create_user(json!({ "email_address": ["bob@example.com"] }))
        .await;
    let ada_path = format!("/v1/users/{}", str_of(&ada, "id"));
    let unverified = clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": str_of(&ada, "id"), "email_address": "ada2@example.com", "verified": false }),
        )
        .await;

    let others = clerk
        .send(
            Method::PATCH,
            &ada_path,
            json!({ "primary_email_address_id": bob["primary_email_address_id"] }),
        )
        .await;
    let not_verified = clerk
        .send(
            Method::PATCH,
            &ada_path,
            json!({ "primary_email_address_id": unverified["id"] }),
        )
        .await;
    let unverified_primary = clerk
        .send(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": str_of(&ada, "id"), "email_address": "ada3@example.com", "primary": true }),
        )
        .await;

    for response in [others, not_verified] {
        let error = expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_value_invalid",
        )
        .await;
        assert_eq!(param_name(&error), Some("primary_email_address_id"));
    }
    expect_error(
        unverified_primary,
        StatusCode::UNPROCESSABLE_ENTITY,
        "form_verification_needed",
    )
    .await;
    assert_eq!(
        clerk.get(&ada_path).await["primary_email_address_id"],
        ada["primary_email_address_id"]
    );
}

#[tokio::test]
async fn a_limit_outside_1_to_500_or_a_bad_offset_is_form_param_value_invalid() {
    let clerk = Clerk::start().await;

    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("order_by=shoe_size", "order_by"),
    ] {
        let response = clerk
            .send(Method::GET, &format!("/v1/users?{query}"), Value::Null)
            .await;
        let error = expect_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_value_invalid",
        )
        .await;
        assert_eq!(param_name(&error), Some(param), "{query}");
    }
    assert_eq!(clerk.get("/v1/users?limit=500").await, json!([]));
}

#[tokio::test]
async fn a_spec_feature_the_emulator_lacks_answers_501_instead_of_a_wrong_result() {
    let clerk = Clerk::start().await;

    let filter = clerk.send(Method::GET, "/v1/users?query=ada", Value::Null).await;
    let param = clerk
        .send(
            Method::POST,
            "/v1/users",
            json!({ "phone_number": ["+15555550100"] }),
        )
        .await;

    expect_error(filter, StatusCode::NOT_IMPLEMENTED, "emulator_unsupported").await;
    expect_error(param, StatusCode::NOT_IMPLEMENTED, "emulator_unsupported").await;
}

#[tokio::test]
async fn a_fail_fault_answers_its_error_n_times_changes_nothing_then_lets_calls_through() {
    let clerk = Clerk::start().await;
    clerk
        .fault(json!({
            "kind": "fail",
            "count": 2,
            "status": 503,
            "code": "internal_clerk_error",
            "message": "down",
        }))
        .await;
    let body = json!({ "email_address": ["ada@example.com"] });

    for _ in 0..2 {
        let response = clerk.send(Method::POST, "/v1/users", body.clone()).await;
        let error = expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "internal_clerk_error").await;
        assert_eq!(error.long_message, "down");
    }
    let count = clerk.get("/v1/users/count").await;
    let created = clerk.create_user(body).await;

    assert_eq!(count["total_count"], 0);
    assert_eq!(created["email_addresses"][0]["email_address"], "ada@example.com");
}

#[tokio::test]
async fn a_rate_limit_fault_answers_429_with_retry_after() {
    let clerk = Clerk::start().await;
    clerk
        .fault(json!({ "kind": "rate_limit", "count": 1, "retry_after_secs": 7 }))
        .await;
    clerk
        .fault(json!({ "kind": "fail", "status": 429, "code": "too_many_requests", "retry_after_secs": 3 }))
        .await;

    let first = clerk.send(Method::GET, "/v1/users", Value::Null).await;
    let second = clerk.send(Method::GET, "/v1/users", Value::Null).await;
    let third = clerk.send(Method::GET, "/v1/users", Value::Null).await;

    assert_eq!(first.headers()["retry-after"], "7");
    expect_error(first, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(second.headers()["retry-after"], "3");
    expect_error(second, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_response_fails_the_client_but_the_change_is_applied() {
    let clerk = Clerk::start().await;
    let mut events = clerk.server.emulator().events();
    clerk
        .fault(json!({ "kind": "drop_response", "count": 1, "method": "post", "path_prefix": "/v1/users" }))
        .await;

    let outcome = async {
        clerk
            .api(Method::POST, "/v1/users")
            .json(&json!({ "email_address": ["ada@example.com"] }))
            .send()
            .await?
            .json::<Value>()
            .await
    }
    .await;
    let found = clerk.get("/v1/users?email_address=ada@example.com").await;

    assert!(
        outcome.is_err(),
        "the client must not get a valid response: {outcome:?}"
    );
    assert_eq!(ids(&found).len(), 1, "the user was created all the same");
    assert_eq!(next_event(&mut events).r#type, "user.created");
    assert_eq!(clerk.log().await[0]["status"], 200);
}

#[tokio::test]
async fn latency_delays_every_call_until_set_back_to_zero() {
    let clerk = Clerk::start().await;
    clerk.fault(json!({ "kind": "latency", "ms": 150 })).await;

    let started = Instant::now();
    clerk.get("/v1/users").await;
    let authorized = started.elapsed();
    let started = Instant::now();
    clerk.bare(Method::GET, "/v1/users").send().await.unwrap();
    let unauthorized = started.elapsed();
    clerk.fault(json!({ "kind": "latency", "ms": 0 })).await;
    clerk.get("/v1/users").await;

    assert!(authorized >= Duration::from_millis(150), "{authorized:?}");
    assert!(unauthorized >= Duration::from_millis(150), "{unauthorized:?}");
    assert_eq!(clerk.log().await.len(), 3);
}

#[tokio::test]
async fn faults_only_match_their_method_and_path_prefix() {
    let clerk = Clerk::start().await;
    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    clerk
        .fault(json!({
            "kind": "fail",
            "status": 500,
            "method": "DELETE",
            "path_prefix": "/v1/email_addresses",
        }))
        .await;

    clerk.get("/v1/users").await;
    clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": user["id"], "email_address": "b@example.com" }),
        )
        .await;
    let deleted_user = clerk
        .ok(
            Method::DELETE,
            &format!("/v1/users/{}", str_of(&user, "id")),
            Value::Null,
        )
        .await;
    let faulted = clerk
        .send(Method::DELETE, "/v1/email_addresses/idn_any", Value::Null)
        .await;
    let after = clerk
        .send(Method::DELETE, "/v1/email_addresses/idn_any", Value::Null)
        .await;

    assert_eq!(deleted_user["deleted"], true);
    expect_error(faulted, StatusCode::INTERNAL_SERVER_ERROR, "internal_clerk_error").await;
    expect_error(after, StatusCode::NOT_FOUND, "resource_not_found").await;
}

#[tokio::test]
async fn queued_faults_are_consumed_in_order() {
    let clerk = Clerk::start().await;
    clerk
        .fault(json!({ "kind": "fail", "status": 502, "code": "first" }))
        .await;
    clerk
        .fault(json!({ "kind": "fail", "status": 503, "code": "second" }))
        .await;

    let first = clerk.send(Method::GET, "/v1/users", Value::Null).await;
    let second = clerk.send(Method::GET, "/v1/users", Value::Null).await;

    expect_error(first, StatusCode::BAD_GATEWAY, "first").await;
    expect_error(second, StatusCode::SERVICE_UNAVAILABLE, "second").await;
}

#[tokio::test]
async fn deleting_faults_clears_the_queue_and_the_latency() {
    let clerk = Clerk::start().await;
    clerk
        .fault(json!({ "kind": "fail", "count": 5, "status": 503 }))
        .await;
    clerk.fault(json!({ "kind": "latency", "ms": 60_000 })).await;

    let cleared = clerk
        .control(Method::DELETE, "/_emulator/faults", Value::Null)
        .await;

    assert!(cleared.is_success());
    assert_eq!(clerk.get("/v1/users").await, json!([]));
}

#[tokio::test]
async fn invalid_faults_are_refused() {
    let clerk = Clerk::start().await;

    for fault in [
        json!({ "kind": "fail", "count": 0, "status": 503 }),
        json!({ "kind": "fail", "status": 200 }),
        json!({ "kind": "fail", "status": 503, "cuont": 2 }),
        json!({ "kind": "explode" }),
        json!({ "kind": "drop_response", "method": "NOT A METHOD" }),
        json!({ "kind": "webhook_drop", "count": 0 }),
        json!({ "kind": "webhook_delay", "count": 1 }),
        json!({ "kind": "webhook_reorder", "method": "POST" }),
    ] {
        let status = clerk
            .control(Method::POST, "/_emulator/faults", fault.clone())
            .await;
        assert!(status.is_client_error(), "{fault} was accepted: {status}");
    }
    assert_eq!(clerk.get("/v1/users").await, json!([]));
}

#[tokio::test]
async fn the_request_log_lists_backend_calls_in_arrival_order_with_status_and_body() {
    let clerk = Clerk::start().await;

    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    clerk.get("/v1/users?email_address=ada@example.com&limit=5").await;
    clerk.bare(Method::GET, "/v1/users/count").send().await.unwrap();
    clerk.send(Method::POST, "/v1/users", json!({ "nope": 1 })).await;
    let log = clerk.log().await;
    let cleared = clerk
        .control(Method::DELETE, "/_emulator/requests", Value::Null)
        .await;

    let summary: Vec<(&str, &str, Value)> = log
        .iter()
        .map(|c| (str_of(c, "method"), str_of(c, "path"), c["status"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/v1/users", json!(200)),
            ("GET", "/v1/users", json!(200)),
            ("GET", "/v1/users/count", json!(401)),
            ("POST", "/v1/users", json!(422)),
        ]
    );
    assert_eq!(log[0]["body"], json!({ "email_address": ["ada@example.com"] }));
    assert_eq!(log[0]["query"], Value::Null);
    assert_eq!(log[1]["body"], Value::Null);
    assert_eq!(log[1]["query"], "email_address=ada@example.com&limit=5");
    assert!(log
        .windows(2)
        .all(|w| w[0]["at_ms"].as_i64() <= w[1]["at_ms"].as_i64()));
    assert!(cleared.is_success());
    assert!(clerk.log().await.is_empty(), "control calls are not logged");
}

#[tokio::test]
async fn reset_forgets_users_faults_latency_and_the_log() {
    let clerk = Clerk::start().await;
    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    clerk.fault(json!({ "kind": "fail", "status": 503 })).await;
    clerk.fault(json!({ "kind": "latency", "ms": 60_000 })).await;

    let reset = clerk.control(Method::POST, "/_emulator/reset", Value::Null).await;
    let count = clerk.get("/v1/users/count").await;

    assert!(reset.is_success());
    assert_eq!(count["total_count"], 0);
    assert_eq!(clerk.log().await.len(), 1);
    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
}

#[tokio::test]
async fn each_change_emits_an_event_in_order_and_failed_calls_emit_none() {
    let clerk = Clerk::start().await;
    let mut events = clerk.server.emulator().events();

    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"], "external_id": "t-1" }))
        .await;
    let id = str_of(&user, "id");
    let patched = clerk
        .ok(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            json!({ "first_name": "Ada" }),
        )
        .await;
    let added = clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": id, "email_address": "new@example.com", "verified": true, "primary": true }),
        )
        .await;
    let old = str_of(&user["email_addresses"][0], "id");
    clerk
        .ok(Method::DELETE, &format!("/v1/email_addresses/{old}"), Value::Null)
        .await;
    clerk
        .send(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            json!({ "username": "x" }),
        )
        .await;
    clerk
        .ok(Method::DELETE, &format!("/v1/users/{id}"), Value::Null)
        .await;

    let created = next_event(&mut events);
    let updated = next_event(&mut events);
    let email_added = next_event(&mut events);
    let email_deleted = next_event(&mut events);
    let deleted = next_event(&mut events);

    assert_eq!(created.r#type, "user.created");
    assert_eq!(created.data, user);
    assert_eq!(updated.r#type, "user.updated");
    assert_eq!(updated.data, patched);
    assert_eq!(email_added.r#type, "user.updated");
    assert_eq!(email_added.data["primary_email_address_id"], added["id"]);
    assert_eq!(email_deleted.r#type, "user.updated");
    assert_eq!(email_deleted.data["email_addresses"].as_array().unwrap().len(), 1);
    let stamps = [&updated, &email_added, &email_deleted].map(|e| e.data["updated_at"].as_i64().unwrap());
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "updated_at grows with each change: {stamps:?}"
    );
    assert_eq!(deleted.r#type, "user.deleted");
    assert_eq!(
        deleted.data,
        json!({ "object": "user", "id": id, "deleted": true, "external_id": "t-1" })
    );
    assert!(deleted.timestamp_ms >= created.timestamp_ms);
    assert!(
        matches!(events.try_recv(), Err(TryRecvError::Empty)),
        "the failed PATCH emitted nothing"
    );
}

#[tokio::test]
async fn every_change_arrives_once_as_a_webhook_in_clerks_envelope_with_the_user_as_data() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);

    let created = clerk
        .create_user(json!({ "email_address": ["ada@example.com"], "external_id": "t-1" }))
        .await;
    let id = str_of(&created, "id");
    let patched = clerk
        .ok(
            Method::PATCH,
            &format!("/v1/users/{id}"),
            json!({ "first_name": "Ada" }),
        )
        .await;
    clerk
        .ok(
            Method::POST,
            "/v1/email_addresses",
            json!({ "user_id": id, "email_address": "new@example.com", "verified": true }),
        )
        .await;
    let with_email = clerk.get(&format!("/v1/users/{id}")).await;
    clerk
        .ok(Method::DELETE, &format!("/v1/users/{id}"), Value::Null)
        .await;
    // Delivered in order, so once this one is in, any repeat of the others would be too.
    let last = clerk
        .create_user(json!({ "email_address": ["grace@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(5).await;

    assert_eq!(deliveries.len(), 5, "each change arrives once");
    let envelopes: Vec<Value> = deliveries.iter().map(Delivery::envelope).collect();
    let types: Vec<&str> = envelopes.iter().map(|e| str_of(e, "type")).collect();
    assert_eq!(
        types,
        [
            "user.created",
            "user.updated",
            "user.updated",
            "user.deleted",
            "user.created"
        ]
    );
    assert_eq!(envelopes[0]["data"], created);
    assert_eq!(envelopes[1]["data"], patched);
    assert_eq!(envelopes[2]["data"], with_email);
    assert_eq!(
        envelopes[3]["data"],
        json!({ "object": "user", "id": id, "deleted": true, "external_id": "t-1" })
    );
    assert_eq!(envelopes[4]["data"], last);
    let instance_id = str_of(&envelopes[0], "instance_id");
    assert!(is_clerk_id(instance_id, "ins"), "{instance_id}");
    for (delivery, envelope) in deliveries.iter().zip(&envelopes) {
        assert_eq!(envelope["object"], "event");
        assert_eq!(envelope["instance_id"], instance_id);
        assert_eq!(
            envelope["event_attributes"],
            json!({ "http_request": { "client_ip": "127.0.0.1", "user_agent": "tandem-clerk-emulator" } })
        );
        let timestamp_ms = envelope["timestamp"].as_i64().unwrap();
        assert!(timestamp_ms > 1_000_000_000_000, "milliseconds: {timestamp_ms}");
        assert_eq!(delivery.headers["content-type"], "application/json");
        assert!(is_clerk_id(delivery.svix_id(), "msg"), "{}", delivery.svix_id());
        let sent_at: i64 = delivery.headers["svix-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(sent_at >= timestamp_ms / 1000, "seconds, at or after the change");
    }
    let mut svix_ids: Vec<&str> = deliveries.iter().map(Delivery::svix_id).collect();
    svix_ids.sort_unstable();
    svix_ids.dedup();
    assert_eq!(svix_ids.len(), 5, "each event has its own svix-id");
}

#[tokio::test]
async fn webhooks_verify_with_the_signing_secret_and_not_with_another() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);

    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let delivery = receiver.wait_for(1).await.remove(0);

    let signature = delivery.headers["svix-signature"].to_str().unwrap();
    assert!(signature.starts_with("v1,"), "{signature}");
    let signer = Webhook::new(SECRET).unwrap();
    signer.verify(&delivery.body, &delivery.headers).unwrap();
    assert!(Webhook::new(OTHER_SECRET)
        .unwrap()
        .verify(&delivery.body, &delivery.headers)
        .is_err());
    let tampered = String::from_utf8(delivery.body.to_vec())
        .unwrap()
        .replace("ada@", "eve@");
    assert!(signer.verify(tampered.as_bytes(), &delivery.headers).is_err());
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_svix_id_a_third_time_and_the_log_lists_and_counts_each_attempt(
) {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(2).await;
    clerk.deliver_webhooks_to(&receiver);

    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(3).await;
    let log = clerk.webhook_log_until(|log| log.len() >= 3).await;

    let svix_id = deliveries[0].svix_id();
    assert!(deliveries.iter().all(|d| d.svix_id() == svix_id));
    assert!(deliveries.iter().all(|d| d.body == deliveries[0].body));
    let signer = Webhook::new(SECRET).unwrap();
    for delivery in &deliveries {
        signer.verify(&delivery.body, &delivery.headers).unwrap();
    }
    let attempts: Vec<(Value, Value)> = log
        .iter()
        .map(|a| (a["attempt"].clone(), a["status"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [
            (json!(1), json!(500)),
            (json!(2), json!(500)),
            (json!(3), json!(204))
        ]
    );
    for attempt in &log {
        assert_eq!(attempt["svix_id"], svix_id);
        assert_eq!(attempt["type"], "user.created");
        assert_eq!(attempt["user_id"], user["id"]);
    }
    assert!(log
        .windows(2)
        .all(|w| w[0]["at_ms"].as_i64() <= w[1]["at_ms"].as_i64()));
    let summary: Value = clerk.control_read("/_emulator/webhooks/summary").await;
    assert_eq!(summary, json!({ "attempts": 3, "delivered": 1 }));
}

#[tokio::test]
async fn a_refused_connection_is_logged_with_a_null_status_and_retried() {
    let clerk = Clerk::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/clerk", closed.local_addr().unwrap());
    drop(closed);
    clerk.server.emulator().deliver_webhooks(url, SECRET);

    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let log = clerk.webhook_log_until(|log| log.len() >= 2).await;
    let stopped = clerk
        .control(Method::DELETE, "/_emulator/webhooks", Value::Null)
        .await;

    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[1]["attempt"], 2);
    assert!(log.iter().all(|a| a["status"].is_null()), "{log:?}");
    assert_eq!(log[0]["svix_id"], log[1]["svix_id"]);
    assert_eq!(stopped, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_duplicate_fault_delivers_an_event_twice_with_the_same_svix_id() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);
    clerk
        .fault(json!({ "kind": "webhook_duplicate", "count": 1 }))
        .await;

    let first = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let second = clerk
        .create_user(json!({ "email_address": ["grace@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(3).await;

    assert_eq!(
        user_ids(&deliveries),
        [str_of(&first, "id"), str_of(&first, "id"), str_of(&second, "id")]
    );
    assert_eq!(deliveries[0].svix_id(), deliveries[1].svix_id());
    assert_ne!(deliveries[1].svix_id(), deliveries[2].svix_id());
    let signer = Webhook::new(SECRET).unwrap();
    assert!(deliveries
        .iter()
        .all(|d| signer.verify(&d.body, &d.headers).is_ok()));
}

#[tokio::test]
async fn a_drop_fault_loses_the_next_events_and_later_ones_still_arrive() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);
    clerk.fault(json!({ "kind": "webhook_drop", "count": 2 })).await;

    for address in ["ada@example.com", "grace@example.com"] {
        clerk.create_user(json!({ "email_address": [address] })).await;
    }
    let kept = clerk
        .create_user(json!({ "email_address": ["edsger@example.com"] }))
        .await;
    // Events go out in order, so the dropped ones would have come before this one.
    let deliveries = receiver.wait_for(1).await;
    let log = clerk.webhook_log_until(|log| !log.is_empty()).await;

    assert_eq!(user_ids(&deliveries), [str_of(&kept, "id")]);
    assert_eq!(log.len(), 1, "a dropped event has no attempts: {log:?}");
    assert_eq!(log[0]["user_id"], kept["id"]);
}

#[tokio::test]
async fn a_delay_fault_lets_a_later_event_overtake_the_delayed_one() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);
    clerk
        .fault(json!({ "kind": "webhook_delay", "count": 1, "ms": 1000 }))
        .await;

    let delayed = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let prompt = clerk
        .create_user(json!({ "email_address": ["grace@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(2).await;

    assert_eq!(
        user_ids(&deliveries),
        [str_of(&prompt, "id"), str_of(&delayed, "id")]
    );
}

#[tokio::test]
async fn a_reorder_fault_sends_an_event_right_after_the_one_that_follows_it() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);
    clerk
        .fault(json!({ "kind": "webhook_reorder", "count": 1 }))
        .await;

    let mut ids = Vec::new();
    for address in ["ada@example.com", "grace@example.com", "edsger@example.com"] {
        let user = clerk.create_user(json!({ "email_address": [address] })).await;
        ids.push(str_of(&user, "id").to_owned());
    }
    let deliveries = receiver.wait_for(3).await;

    assert_eq!(
        user_ids(&deliveries),
        [ids[1].clone(), ids[0].clone(), ids[2].clone()]
    );
}

#[tokio::test]
async fn a_reordered_event_with_none_after_it_still_goes_out() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);
    clerk
        .fault(json!({ "kind": "webhook_reorder", "count": 1 }))
        .await;

    let user = clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(1).await;

    assert_eq!(user_ids(&deliveries), [str_of(&user, "id")]);
}

#[tokio::test]
async fn webhook_targets_are_set_replaced_and_removed_through_the_control_api() {
    let clerk = Clerk::start().await;
    let (first, second) = (WebhookReceiver::start(0).await, WebhookReceiver::start(0).await);
    let target = |url: &str| json!({ "url": url, "secret": SECRET });

    for refused in [
        json!({ "url": first.url, "secret": "not base64!" }),
        json!({ "url": first.url, "secret": "" }),
        json!({ "url": "ftp://example.com/hook", "secret": SECRET }),
        json!({ "url": first.url }),
    ] {
        let status = clerk
            .control(Method::POST, "/_emulator/webhooks", refused.clone())
            .await;
        assert!(status.is_client_error(), "{refused} was accepted: {status}");
    }
    let set = clerk
        .control(Method::POST, "/_emulator/webhooks", target(&first.url))
        .await;
    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    first.wait_for(1).await;
    clerk
        .control(Method::POST, "/_emulator/webhooks", target(&second.url))
        .await;
    clerk
        .create_user(json!({ "email_address": ["grace@example.com"] }))
        .await;
    second.wait_for(1).await;
    let removed = clerk
        .control(Method::DELETE, "/_emulator/webhooks", Value::Null)
        .await;
    clerk
        .create_user(json!({ "email_address": ["unsent@example.com"] }))
        .await;
    clerk
        .control(Method::POST, "/_emulator/webhooks", target(&second.url))
        .await;
    let last = clerk
        .create_user(json!({ "email_address": ["edsger@example.com"] }))
        .await;
    let at_second = second.wait_for(2).await;

    assert_eq!(set, StatusCode::NO_CONTENT);
    assert_eq!(removed, StatusCode::NO_CONTENT);
    assert_eq!(first.deliveries().len(), 1, "the replaced target gets no more");
    assert_eq!(at_second.len(), 2, "nothing was sent while delivery was off");
    assert_eq!(at_second[1].user_id(), str_of(&last, "id"));
}

#[tokio::test]
async fn webhook_faults_and_backend_api_faults_do_not_consume_each_other() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);
    clerk.fault(json!({ "kind": "webhook_drop", "count": 1 })).await;
    clerk.fault(json!({ "kind": "fail", "status": 503 })).await;

    let failed = clerk
        .send(
            Method::POST,
            "/v1/users",
            json!({ "email_address": ["ada@example.com"] }),
        )
        .await;
    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let delivered = clerk
        .create_user(json!({ "email_address": ["grace@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(1).await;

    expect_error(failed, StatusCode::SERVICE_UNAVAILABLE, "internal_clerk_error").await;
    assert_eq!(user_ids(&deliveries), [str_of(&delivered, "id")]);
}

#[tokio::test]
async fn deleting_faults_and_reset_clear_webhook_faults_and_reset_clears_the_delivery_log() {
    let clerk = Clerk::start().await;
    let receiver = WebhookReceiver::start(0).await;
    clerk.deliver_webhooks_to(&receiver);

    clerk.fault(json!({ "kind": "webhook_drop", "count": 5 })).await;
    clerk
        .control(Method::DELETE, "/_emulator/faults", Value::Null)
        .await;
    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    clerk.webhook_log_until(|log| log.len() == 1).await;
    clerk.fault(json!({ "kind": "webhook_drop", "count": 5 })).await;
    clerk.control(Method::POST, "/_emulator/reset", Value::Null).await;
    let after_reset = clerk.webhook_log_until(|_| true).await;
    clerk
        .create_user(json!({ "email_address": ["ada@example.com"] }))
        .await;
    let deliveries = receiver.wait_for(2).await;

    assert!(after_reset.is_empty(), "{after_reset:?}");
    assert_eq!(deliveries.len(), 2, "the target outlives a reset");
}
