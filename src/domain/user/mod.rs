//! The `User` aggregate: commands in, events out, rules in between.

mod aggregate;
mod command;
mod event;
mod merge;

pub use aggregate::{Synced, User, UserError};
pub use command::{ClerkPatch, LocalPatch, SyncOutcome, UserCommand};
pub use event::{ClerkProfile, FieldConflict, LocalProfile, Side, UserEvent};
