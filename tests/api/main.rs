//! API tests against the real server on a random port, on SQLite and Postgres.

mod helpers;
mod process;

mod auth;
mod convergence;
mod durability;
mod history;
mod inbound;
mod projection;
mod schema;
mod sync;
mod sync_live;
mod users;
mod validation;
mod webhooks;
