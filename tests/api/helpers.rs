//! Spawns the real server on a random port over a fresh database: a SQLite
//! file in a temporary folder, or a Postgres database of its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tandem::clerk::emulator::{Emulator, EmulatorServer};
use tandem::config::{ClerkConfig, Config, Secret, SyncConfig};
use tandem::db::Db;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-admin-token-0123456789";
pub const CLERK_KEY: &str = "sk_test_tandem_suite";
/// The webhook signing secret shared by the server and its emulator.
pub const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Short, so retry tests run in milliseconds.
pub const RETRY_SCHEDULE: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(300),
];

/// Sync jobs between vacuums of the job table (Postgres).
pub const VACUUM_AFTER_JOBS: u64 = 3;

#[derive(Clone, Copy, Debug)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// Where a test's data lives; removed when the test ends, pass or fail.
pub struct Storage {
    pub url: String,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl Storage {
    /// `None` when Postgres is asked for but `TEST_DATABASE_URL` is not set.
    pub async fn new(store: Store) -> Option<Self> {
        let name = format!("tandem_test_{}", uuid::Uuid::new_v4().simple());
        match store {
            Store::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                Some(Self {
                    url: format!("sqlite://{}", dir.join("tandem.db").display()),
                    dir: Some(dir),
                    pg: None,
                })
            }
            Store::Postgres => {
                let admin = std::env::var("TEST_DATABASE_URL").ok()?;
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .expect("TEST_DATABASE_URL reachable");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                Some(Self {
                    url: url.to_string(),
                    dir: None,
                    pg: Some((admin, name)),
                })
            }
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any runtime guarantees, so use a thread of its own.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&pool)
                            .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub storage: Storage,
    /// The Clerk this server talks to, over real HTTP.
    pub clerk: Arc<EmulatorServer>,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl TestApp {
    pub async fn spawn(store: Store) -> Option<Self> {
        let storage = Storage::new(store).await?;
        let clerk = Arc::new(
            Emulator::new(CLERK_KEY)
                .serve("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap(),
        );
        let mut app = Self {
            base: String::new(),
            client: reqwest::Client::new(),
            storage,
            clerk,
            server: None,
        };
        app.start().await;
        Some(app)
    }

    /// A second server on the same database, as another replica would be.
    pub async fn replica_of(other: &TestApp) -> TestApp {
        let storage = Storage {
            url: other.storage.url.clone(),
            dir: None,
            pg: None,
        };
        let mut app = Self {
            base: String::new(),
            client: reqwest::Client::new(),
            storage,
            clerk: other.clerk.clone(),
            server: None,
        };
        app.start().await;
        app
    }

    pub fn config(&self) -> Config {
        Config {
            database_url: self.storage.url.clone(),
            bind: "127.0.0.1:0".parse().unwrap(),
            admin_token: Some(Secret::new(TOKEN)),
            clerk: ClerkConfig {
                secret_key: Some(Secret::new(CLERK_KEY)),
                api_url: self.clerk.url(),
                rate_limit: None,
                webhook_secret: Some(Secret::new(WHSEC)),
            },
            sync: SyncConfig {
                retry_schedule: RETRY_SCHEDULE.to_vec(),
                concurrency: 8,
                lease: Duration::from_secs(2),
                reconcile_every: None,
                // Often, so vacuums run amid the other work of every test.
                vacuum_after_jobs: VACUUM_AFTER_JOBS,
            },
        }
    }

    async fn start(&mut self) {
        let application = tandem::app::Application::build(&self.config())
            .await
            .expect("server starts");
        self.base = format!("http://{}", application.local_addr());
        // Clerk tells the server about every change, as Clerk does.
        self.clerk
            .emulator()
            .deliver_webhooks(format!("{}/webhooks/clerk", self.base), WHSEC);
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            application
                .run_until_stopped(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        self.server = Some((stop, handle));
    }

    pub async fn stop(&mut self) {
        if let Some((stop, handle)) = self.server.take() {
            let _ = stop.send(());
            handle.await.unwrap();
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// A second connection to the same database, for checks behind the API's back.
    pub async fn db(&self) -> Db {
        Db::connect(&self.storage.url).await.unwrap()
    }

    /// The whole GraphQL response, sent with the admin token.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(format!("{}/graphql", self.base))
            .bearer_auth(TOKEN)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `data` of a response that must have no errors.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let response = self.gql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// The first error of a response that must fail.
    pub async fn err(&self, query: &str, variables: Value) -> Value {
        let response = self.gql(query, variables).await;
        response["errors"][0].clone()
    }

    /// Holds the Clerk sync, for tests that compare whole rows over time.
    pub async fn pause_sync(&self) {
        self.ok("mutation { pauseClerkSync { paused } }", json!({})).await;
    }

    /// Stops Clerk's webhooks, as if Clerk's changes were made before Tandem listened.
    pub async fn stop_clerk_webhooks(&self) {
        self.client
            .delete(format!("{}/_emulator/webhooks", self.clerk.url()))
            .send()
            .await
            .unwrap();
    }

    /// Every Backend API call the emulator has seen.
    pub async fn clerk_requests(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/_emulator/requests", self.clerk.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn clear_clerk_requests(&self) {
        self.client
            .delete(format!("{}/_emulator/requests", self.clerk.url()))
            .send()
            .await
            .unwrap();
    }

    /// Queues an emulator fault (see the emulator's control API).
    pub async fn clerk_fault(&self, fault: Value) {
        let response = self
            .client
            .post(format!("{}/_emulator/faults", self.clerk.url()))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "fault accepted: {fault}");
    }

    pub async fn clear_clerk_faults(&self) {
        self.client
            .delete(format!("{}/_emulator/faults", self.clerk.url()))
            .send()
            .await
            .unwrap();
    }

    /// A call to the emulator's Backend API, as a Clerk dashboard user would make.
    pub async fn clerk_api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/v1{path}", self.clerk.url()))
            .bearer_auth(CLERK_KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The emulator's users carrying `external_id`.
    pub async fn clerk_users_for(&self, external_id: &str) -> Vec<Value> {
        let (status, users) = self
            .clerk_api(
                reqwest::Method::GET,
                &format!("/users?external_id={external_id}&limit=500"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        users.as_array().unwrap().clone()
    }

    /// Waits for a user's sync status.
    pub async fn until_status(&self, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            last = self.user(id).await;
            if last["syncStatus"] == status {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("user {id} never became {status}: {last:#}");
    }

    pub async fn create(&self, input: Value) -> Value {
        self.ok(CREATE, json!({ "input": input })).await["createUser"].clone()
    }

    pub async fn user(&self, id: &str) -> Value {
        self.ok(
            &format!("query($id: ID!) {{ user(id: $id) {{ {USER_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await["user"]
            .clone()
    }

    /// Polls until `check` holds, for effects that happen in the background.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for: {what}");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.server.take() {
            let _ = stop.send(());
            handle.abort();
        }
    }
}

pub const USER_FIELDS: &str = "id clerkId email username firstName lastName displayName bio roles \
    socialLinks { platform url } syncStatus syncError syncAttempts nextRetryAt lastSyncedAt version \
    createdAt updatedAt deletedAt";

pub const CREATE: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { \
    id clerkId email username firstName lastName displayName bio roles socialLinks { platform url } \
    syncStatus syncError syncAttempts nextRetryAt lastSyncedAt version createdAt updatedAt deletedAt } }";

pub const UPDATE: &str = "mutation($id: ID!, $input: UpdateUserInput!, $v: Int) { \
    updateUser(id: $id, input: $input, expectedVersion: $v) { \
    id email username firstName lastName displayName bio roles socialLinks { platform url } \
    syncStatus version updatedAt deletedAt } }";

pub const DELETE: &str = "mutation($id: ID!, $v: Int) { deleteUser(id: $id, expectedVersion: $v) }";

pub const HISTORY: &str = "query($id: ID!) { user(id: $id) { history { sequence type occurredAt origin \
    actor requestId detail changes { field oldValue newValue } } } }";

/// Runs each test body once on SQLite and once on Postgres (when
/// `TEST_DATABASE_URL` is set; otherwise the Postgres run says so and stops).
#[macro_export]
macro_rules! on_both_stores {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body(app: $crate::helpers::TestApp) {
                #[allow(unused_mut)]
                let mut $app = app;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                body($crate::helpers::TestApp::spawn($crate::helpers::Store::Sqlite).await.unwrap()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::helpers::TestApp::spawn($crate::helpers::Store::Postgres).await {
                    Some(app) => body(app).await,
                    None => eprintln!("TEST_DATABASE_URL is not set: Postgres run skipped"),
                }
            }
        }
    )*};
}
