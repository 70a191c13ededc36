//! Tandem: an admin panel for users, every change an event, kept in sync with Clerk.

pub mod app;
pub mod clerk;
pub mod config;
pub mod db;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod inbound;
pub mod live;
pub mod metrics;
pub mod projection;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod users;
