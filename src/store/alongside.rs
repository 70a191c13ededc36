//! Work that must commit with a command's events (a webhook's receipt, the
//! end of a sync job), in either of the forms a command commits in.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::db::Tx;
use crate::domain::user::User;

/// The database a command's one round trip is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// One write of a command's one round trip: on Postgres the data-modifying
/// `WITH` clause `name AS (sql)`, which sees none of the others' changes; on
/// SQLite a statement of its script, run after the ones before it.
pub struct Write {
    pub name: &'static str,
    pub sql: String,
}

/// A value bound to a parameter of the writes.
pub enum Param {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    MaybeTime(Option<DateTime<Utc>>),
}

/// Binds borrowed [`Param`]s in order, to a query of either database.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                $crate::store::Param::Text(v) => query.bind(v),
                $crate::store::Param::Int(v) => query.bind(*v),
                $crate::store::Param::Time(v) => query.bind(*v),
                $crate::store::Param::MaybeTime(v) => query.bind(*v),
            };
        }
        query
    }};
}
pub(super) use bind_params;

pub trait Alongside: Send + Sync {
    /// Writes inside the command's transaction, given the state its events lead to.
    fn in_tx<'t>(&'t self, tx: &'t mut Tx, after: &'t User) -> BoxFuture<'t, anyhow::Result<()>>;

    /// The same writes for the command's one round trip, parameters numbered
    /// from `*next` on and bound from [`Self::params`] in order.
    fn writes(&self, after: &User, dialect: Dialect, next: &mut usize) -> Vec<Write>;

    fn params(&self, after: &User) -> Vec<Param>;

    /// Tables whose key [`Self::writes`] break on purpose when a condition of
    /// the command does not hold: the round trip then fails as [`Unmet`], as
    /// `in_tx` does when it finds the same.
    fn guards(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A condition the command was to commit on did not hold: nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("a condition of the command did not hold")]
pub struct Unmet;

/// `$n`, numbering parameters as writes are written. SQLite takes the same
/// numbers, counted across every statement of a script.
pub fn param(next: &mut usize) -> String {
    *next += 1;
    format!("${}", *next - 1)
}
