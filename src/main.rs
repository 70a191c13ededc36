//! The `tandem` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tandem::app::{open_database, projection_runners, shutdown_signal, Application};
use tandem::config::Config;
use tandem::projection::admin_users::FreshRows;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "User admin kept in two-way sync with Clerk"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    PrintSchema,
    /// Rebuild every projection from the event store.
    Replay,
    /// Import every Clerk user: link by external id, Clerk id or email, create the rest.
    ImportFromClerk,
    /// Compare every user with Clerk, print the drift, and heal it (unless --dry-run).
    Reconcile {
        /// Only report the drift.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the Clerk emulator on its own (Backend API under /v1, faults under /_emulator).
    ClerkEmulator {
        /// Address to listen on.
        #[arg(long, env = "CLERK_EMULATOR_BIND", default_value = "127.0.0.1:8090")]
        bind: std::net::SocketAddr,
        /// The secret key clients must send; made up and printed when not given.
        #[arg(long, env = "CLERK_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::PrintSchema = command {
        print!("{}", tandem::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    tandem::telemetry::init();
    if let Command::ClerkEmulator { bind, secret_key } = command {
        return match clerk_emulator(bind, secret_key).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("tandem: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tandem: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Serve => serve(&config).await,
        Command::Migrate => migrate(&config).await,
        Command::Replay => replay(&config).await,
        Command::ImportFromClerk => import(&config).await,
        Command::Reconcile { dry_run } => reconcile(&config, dry_run).await,
        Command::PrintSchema | Command::ClerkEmulator { .. } => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tandem: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    Application::build(config)
        .await?
        .run_until_stopped(shutdown_signal())
        .await
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    open_database(config).await?;
    println!("migrations applied");
    Ok(())
}

async fn replay(config: &Config) -> anyhow::Result<()> {
    let db = open_database(config).await?;
    // Nobody waits for rows here.
    for runner in projection_runners(&db, &FreshRows::default()) {
        let events = runner.replay().await?;
        println!("replayed {events} events");
    }
    db.tidy_read_model().await?;
    Ok(())
}

async fn import(config: &Config) -> anyhow::Result<()> {
    let inbound = inbound(config).await?;
    let report = inbound.import().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn reconcile(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let inbound = inbound(config).await?;
    let report = inbound.reconcile(dry_run).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn inbound(config: &Config) -> anyhow::Result<std::sync::Arc<tandem::inbound::Inbound>> {
    anyhow::ensure!(
        config.clerk.secret_key.is_some(),
        "CLERK_SECRET_KEY is not set: the built-in emulator lives inside a running server (use the importFromClerk and reconcile mutations there)"
    );
    tandem::app::inbound_for(config).await
}

async fn clerk_emulator(bind: std::net::SocketAddr, secret_key: Option<String>) -> anyhow::Result<()> {
    let printed = secret_key.is_none();
    let key = secret_key.unwrap_or_else(|| format!("sk_test_{}", uuid::Uuid::new_v4().simple()));
    let server = tandem::clerk::emulator::Emulator::new(key.clone())
        .serve(bind)
        .await?;
    println!("Clerk emulator at {} (set CLERK_API_URL to this)", server.url());
    if printed {
        println!("secret key: {key} (set CLERK_SECRET_KEY to this)");
    }
    shutdown_signal().await;
    Ok(())
}
