//! The outbound Clerk sync saga: changes owed to Clerk become durable jobs
//! (from the event feed), and workers push them with retries on a schedule.

mod control;
mod jobs;
mod pause;
mod push;
mod saga;
mod upkeep;
mod worker;

pub use control::{Overview, RetryError, SyncControl};
pub use jobs::ensure as ensure_job;
pub use saga::ClerkSyncSaga;
pub use worker::SyncWorker;
