//! Structured logs through tracing; `RUST_LOG` picks what is shown and
//! `TANDEM_LOG_FORMAT=json` switches to one JSON object a line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // stderr, so stdout carries only what a command prints on purpose.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if std::env::var("TANDEM_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
    // A second init (tests start several servers in one process) keeps the first.
    drop(result);
}
