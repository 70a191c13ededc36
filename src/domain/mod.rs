//! The user domain: parsed values, and the event-sourced `User` aggregate.

pub mod user;
pub mod values;
