//! Work that must commit with a command's events (a webhook's receipt, the
//! end of a sync job), in either of the two forms a command commits in.

use futures::future::BoxFuture;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;

use crate::db::Tx;
use crate::domain::user::User;

/// A statement of the command's one statement on Postgres, with its parameters bound.
pub type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

pub trait Alongside: Send + Sync {
    /// Writes inside the command's transaction, given the state its events lead to.
    fn in_tx<'t>(&'t self, tx: &'t mut Tx, after: &'t User) -> BoxFuture<'t, anyhow::Result<()>>;

    /// The same writes as data-modifying `WITH` clauses of the command's one
    /// statement, parameters numbered from `*next` on and bound by [`Self::bind`].
    fn clauses(&self, after: &User, next: &mut usize) -> Vec<String>;

    fn bind<'q>(&self, after: &User, query: PgQuery<'q>) -> PgQuery<'q>;

    /// Unique constraints that [`Self::clauses`] break on purpose when a
    /// condition of the command does not hold: the one statement then fails
    /// as [`Unmet`], as `in_tx` does when it finds the same.
    fn guards(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A condition the command was to commit on did not hold: nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("a condition of the command did not hold")]
pub struct Unmet;

/// `$n`, numbering parameters as clauses are written.
pub fn param(next: &mut usize) -> String {
    *next += 1;
    format!("${}", *next - 1)
}
