//! Wiring: database, event store, projections, API and HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::clerk::emulator::{Emulator, EmulatorServer};
use crate::clerk::ClerkClient;
use crate::config::{Config, Secret};
use crate::db::Db;
use crate::graphql::{self, ApiServices};
use crate::http::webhook::WebhookIngest;
use crate::http::{self, AppState};
use crate::inbound::Inbound;
use crate::metrics::Metrics;
use crate::projection::admin_users::{AdminUsers, AdminUsersProjector, FreshRows};
use crate::projection::ProjectionRunner;
use crate::store::EventLog;
use crate::sync::{ClerkSyncSaga, SyncControl, SyncWorker};
use crate::users::UserService;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    background: Vec<JoinHandle<()>>,
    generated_token: bool,
    /// The built-in Clerk, when no `CLERK_SECRET_KEY` is set.
    emulator: Option<EmulatorServer>,
}

/// Opens and migrates the database named by the config.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url)
        .await
        .context("cannot open the database in DATABASE_URL")?;
    db.migrate().await.context("cannot migrate the database")?;
    Ok(db)
}

/// The projectors every replica keeps up to date; the admin list hands the
/// rows it writes to whoever waits in `fresh`.
pub fn projection_runners(db: &Db, fresh: &FreshRows) -> Vec<ProjectionRunner> {
    let admin_users = AdminUsersProjector { fresh: fresh.clone() };
    vec![ProjectionRunner::new(db.clone(), Arc::new(admin_users))]
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let db = open_database(config).await?;
        let metrics = Metrics::default();
        let log = Arc::new(EventLog::new(&db));
        let (emulator, clerk, webhook_secret) = clerk_client(config, metrics.clone()).await?;

        // The saga rides on the read model's batches: one read of the feed
        // and one commit serve both.
        let fresh = FreshRows::default();
        let mut runners = projection_runners(&db, &fresh);
        let saga = ClerkSyncSaga::default();
        let jobs_added = saga.jobs_added();
        runners[0].also_feed(Arc::new(saga));
        let admin_users = runners[0].handle();

        let read = AdminUsers::new(db.clone());
        let users = Arc::new(UserService::new(
            log.clone(),
            read.clone(),
            admin_users.clone(),
            fresh,
        ));
        let sync = Arc::new(SyncControl::new(db.clone(), read.clone(), admin_users.clone()));
        let inbound = Arc::new(Inbound::new(db.clone(), log.clone(), clerk.clone()));
        let webhooks = match &webhook_secret {
            Some(secret) => Some(Arc::new(WebhookIngest {
                verifier: svix::webhooks::Webhook::new(secret.expose())
                    .context("CLERK_WEBHOOK_SIGNING_SECRET")?,
                inbound: inbound.clone(),
            })),
            None => None,
        };
        let worker = SyncWorker::new(
            db.clone(),
            log.clone(),
            clerk,
            config.sync.clone(),
            metrics.clone(),
        );

        let mut background: Vec<JoinHandle<()>> = Vec::new();
        if let Db::Pg(pool) = &db {
            let (publisher, listener) = crate::live::bridge(pool.clone(), admin_users.clone());
            runners[0].publish_with(publisher);
            background.push(listener);
        }
        background.extend(runners.into_iter().map(|r| tokio::spawn(r.run(log.commits()))));
        background.push(tokio::spawn(worker.run(jobs_added, sync.kicks())));
        if let Some(every) = config.sync.reconcile_every {
            background.push(tokio::spawn(reconcile_every(inbound.clone(), every)));
        }

        let schema = graphql::schema(Some(ApiServices {
            users,
            read,
            log,
            sync: sync.clone(),
            changes: admin_users,
            inbound,
        }));
        let (admin_token, generated_token) = match &config.admin_token {
            Some(token) => (token.clone(), false),
            None => (random_token(), true),
        };
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on TANDEM_BIND={}", config.bind))?;
        if let (Some(server), Some(secret)) = (&emulator, &webhook_secret) {
            // The built-in Clerk tells us about its changes, as Clerk would.
            let mut addr = listener.local_addr()?;
            if addr.ip().is_unspecified() {
                addr.set_ip([127, 0, 0, 1].into());
            }
            server
                .emulator()
                .deliver_webhooks(format!("http://{addr}/webhooks/clerk"), secret.expose());
        }
        Ok(Self {
            listener,
            state: AppState {
                db,
                schema,
                parsed: Arc::default(),
                admin_token,
                metrics,
                sync,
                webhooks,
            },
            background,
            generated_token,
            emulator,
        })
    }

    /// The built-in Clerk emulator's base URL, when it runs.
    pub fn emulator_url(&self) -> Option<String> {
        self.emulator.as_ref().map(EmulatorServer::url)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(http.address = %addr, "Tandem listening");
        if self.generated_token {
            // Printed once, like Jupyter: TANDEM_ADMIN_TOKEN was not set, so
            // this token exists only in this process.
            println!(
                "Tandem admin token (set TANDEM_ADMIN_TOKEN to choose your own): {token}\n    Admin panel: http://{addr}/#token={token}\n    GraphiQL: http://{addr}/graphiql#token={token}",
                token = self.state.admin_token.expose()
            );
        }
        let db = self.state.db.clone();
        let router = http::router(self.state);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        for task in &self.background {
            task.abort();
        }
        db.close().await;
        tracing::info!("Tandem stopped");
        served.context("HTTP server failed")
    }
}

/// Clerk itself with a secret key; otherwise the emulator, in this process,
/// with a webhook signing secret of its own.
async fn clerk_client(
    config: &Config,
    metrics: Metrics,
) -> anyhow::Result<(Option<EmulatorServer>, Arc<ClerkClient>, Option<Secret>)> {
    if let Some(key) = &config.clerk.secret_key {
        let client = ClerkClient::new(&config.clerk, key.expose(), metrics)?;
        return Ok((None, Arc::new(client), config.clerk.webhook_secret.clone()));
    }
    let key = format!("sk_test_{}", random_token().expose());
    let server = Emulator::new(key.clone())
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .context("cannot start the built-in Clerk emulator")?;
    tracing::info!(clerk.url = %server.url(), "no CLERK_SECRET_KEY set: syncing with the built-in Clerk emulator");
    // Printed once, like the generated admin token: this key opens only the
    // emulator in this process, so you can act as Clerk's dashboard (curl its /v1 API).
    println!(
        "Built-in Clerk emulator: {} (its Backend API key: {key})",
        server.url()
    );
    let mut clerk_config = config.clerk.clone();
    clerk_config.api_url = server.url();
    let client = ClerkClient::new(&clerk_config, &key, metrics)?;
    let secret = config.clerk.webhook_secret.clone().unwrap_or_else(|| {
        let bytes: [u8; 24] = rand::random();
        Secret::new(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    });
    Ok((Some(server), Arc::new(client), Some(secret)))
}

/// Inbound sync for one-off commands (import, reconcile) against real Clerk.
pub async fn inbound_for(config: &Config) -> anyhow::Result<Arc<Inbound>> {
    let db = open_database(config).await?;
    let metrics = Metrics::default();
    let (_, clerk, _) = clerk_client(config, metrics).await?;
    let log = Arc::new(EventLog::new(&db));
    Ok(Arc::new(Inbound::new(db, log, clerk)))
}

/// Reconciles on a schedule, to catch webhooks Clerk never delivered.
async fn reconcile_every(inbound: Arc<Inbound>, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        match inbound.reconcile(false).await {
            Ok(report) => tracing::info!(reconcile.drift = report.drift.len(), "scheduled reconcile done"),
            Err(error) => tracing::error!(error = %format!("{error:#}"), "scheduled reconcile failed"),
        }
    }
}

fn random_token() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
