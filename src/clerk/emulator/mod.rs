//! A stand-in for Clerk's Backend API (users, email addresses) under `/v1` and its Svix-signed webhooks,
//! with a keyless control API.

mod api;
mod control;
mod emails;
mod error;
mod form;
mod gate;
mod json;
mod query;
mod state;
mod users;
mod webhooks;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::Context;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use self::control::Control;
use self::error::ApiError;
use self::state::{Change, Store};
use self::webhooks::Webhooks;

/// Events a subscriber may fall behind by before it starts losing the oldest ones.
const EVENT_BUFFER: usize = 1024;

/// One emulated Clerk instance. Cheap to clone: clones share the same users, faults and log.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

struct Shared {
    secret_key: String,
    store: Mutex<Store>,
    control: Mutex<Control>,
    events: broadcast::Sender<EmulatorEvent>,
    webhooks: Webhooks,
}

/// A change made through the Backend API, shaped like the `type`, `data` and `timestamp` of Clerk's webhooks.
#[derive(Clone, Debug, Serialize)]
pub struct EmulatorEvent {
    /// `user.created`, `user.updated` or `user.deleted`.
    pub r#type: String,
    /// The full User object, or for `user.deleted` a DeletedObject with the user's `external_id`.
    pub data: serde_json::Value,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

impl Emulator {
    /// An empty instance that accepts `Authorization: Bearer <secret_key>`.
    pub fn new(secret_key: impl Into<String>) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            shared: Arc::new(Shared {
                secret_key: secret_key.into(),
                store: Mutex::new(Store::default()),
                control: Mutex::new(Control::default()),
                events,
                webhooks: Webhooks::new(),
            }),
        }
    }

    /// The Backend API under `/v1` and the control API under `/_emulator`.
    pub fn router(&self) -> axum::Router {
        api::router(self.clone()).merge(control::router(self.clone()))
    }

    /// Binds `bind` (port 0 picks a free port) and serves [`Self::router`] until the server is dropped.
    pub async fn serve(self, bind: SocketAddr) -> anyhow::Result<EmulatorServer> {
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding the Clerk emulator to {bind}"))?;
        let addr = listener
            .local_addr()
            .context("reading the Clerk emulator's address")?;
        let app = self.router();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(error = %error, "the Clerk emulator stopped");
            }
        });
        Ok(EmulatorServer {
            addr,
            task,
            emulator: self,
        })
    }

    /// Every change made through the Backend API from now on, in the order the changes were made.
    pub fn events(&self) -> broadcast::Receiver<EmulatorEvent> {
        self.shared.events.subscribe()
    }

    /// Sends every later change as a Svix-signed webhook to `url`, signed with `signing_secret` (`whsec_…`).
    /// Replaces any earlier target. Needs a running tokio runtime (spawns the delivery task).
    ///
    /// Delivery is at least once: each event is retried with backoff (50 ms up to 10 s, about 18 s in all)
    /// until the target answers a 2xx, and events go out one at a time in the order they were made, so an
    /// event being retried holds later ones back. Events still queued or retrying go to the new target.
    ///
    /// # Panics
    ///
    /// When `url` is not an http(s) URL or `signing_secret` is not a base64 secret, with or without `whsec_`.
    pub fn deliver_webhooks(&self, url: impl Into<String>, signing_secret: impl Into<String>) {
        let (url, secret) = (url.into(), signing_secret.into());
        if let Err(error) = self.webhooks().set_target(&url, &secret) {
            panic!("cannot deliver webhooks: {error}");
        }
    }

    fn read<T>(&self, op: impl FnOnce(&Store) -> T) -> T {
        op(&lock(&self.shared.store))
    }

    /// Applies `op` and, when it succeeds, emits its event before the lock is released, so events come out in
    /// the order the changes were made.
    fn write<T>(&self, op: impl FnOnce(&mut Store) -> Result<(T, Change), ApiError>) -> Result<T, ApiError> {
        let mut store = lock(&self.shared.store);
        let (answer, change) = op(&mut store)?;
        let event = json::event(change, now_ms());
        self.webhooks().enqueue(&event);
        // Nobody listening is fine: the event is only for subscribers.
        let _ = self.shared.events.send(event);
        Ok(answer)
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        lock(&self.shared.control)
    }

    fn webhooks(&self) -> &Webhooks {
        &self.shared.webhooks
    }

    fn reset(&self) {
        *lock(&self.shared.store) = Store::default();
        self.control().reset();
        self.webhooks().reset();
    }
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator").finish_non_exhaustive()
    }
}

/// A running emulator; the server stops when this is dropped.
#[derive(Debug)]
pub struct EmulatorServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
    emulator: Emulator,
}

impl EmulatorServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, without `/v1`, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A panic while a lock was held leaves plain data behind, still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
