//! Clerk's Backend API: the wire model, our client, and the emulator that
//! stands in for Clerk locally and in tests.

pub mod client;
pub mod emulator;
pub mod model;
mod rate_limit;

pub use client::{ClerkClient, ClerkError, ClerkUserPatch, NewClerkUser};
