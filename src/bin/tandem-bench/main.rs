//! `tandem-bench`: starts the real `tandem` server (the binary beside this
//! one) with the Clerk emulator, drives it over HTTP, and prints one markdown
//! table in which every figure stands beside a baseline measured in the same
//! run on the same database.

mod baseline;
mod client;
mod database;
mod load;
mod processes;
mod report;
mod seed;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    Sqlite,
    Postgres,
}

#[derive(Parser)]
#[command(
    name = "tandem-bench",
    about = "Measure Tandem's hot paths against the database's own limits"
)]
pub struct Args {
    /// The event store under test.
    #[arg(long, value_enum, default_value = "sqlite")]
    store: Store,
    /// A Postgres server the bench may create databases on (with `--store postgres`).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Tiny sizes and one-second runs: checks the bench works, measures nothing.
    #[arg(long)]
    smoke: bool,
    /// Only the items without a seeded store (1, 2, 3, 5, 6 and idle RSS): a
    /// quicker loop while working on the write path.
    #[arg(long)]
    write_path: bool,
    /// Leave the bench databases in place afterwards, e.g. to EXPLAIN its queries.
    #[arg(long)]
    keep_databases: bool,
    /// Where to write the table (besides printing it); default `target/bench/<store>.md`.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match suite::run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tandem-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
