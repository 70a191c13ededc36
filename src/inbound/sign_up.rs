//! A `user.created` delivery for a user made in Clerk is almost always a new
//! sign-up: it commits straight away, on the conditions the lookup would have
//! checked, and only when one fails does the caller look the user up.

use futures::future::BoxFuture;

use super::receipts::{Receipt, RECEIPTS};
use crate::db::Tx;
use crate::domain::user::User;
use crate::on_tx;
use crate::store::{param, Alongside, Dialect, Param, Unmet, Write};

/// The delivery's receipt, written with the new user's events, and the
/// guards of the commit: no receipt names the delivery yet (the receipt is
/// [`Receipt::new`]), and Clerk did not delete the user before Tandem knew
/// it (a tombstone). The third condition, that no user holds the Clerk id,
/// is the claim the new user takes.
pub struct SignUp<'a> {
    pub clerk_id: &'a str,
    pub receipt: Receipt,
}

/// An existing tombstone breaks this table's key: the round trip inserts it again.
const TOMBSTONES: &str = "clerk_tombstones";

impl Alongside for SignUp<'_> {
    fn in_tx<'t>(&'t self, tx: &'t mut Tx, after: &'t User) -> BoxFuture<'t, anyhow::Result<()>> {
        Box::pin(async move {
            let known: bool = on_tx!(tx, tx => sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM webhook_receipts WHERE svix_id = $1)
                     OR EXISTS (SELECT 1 FROM clerk_tombstones WHERE clerk_id = $2)",
            )
            .bind(&self.receipt.delivery.svix_id)
            .bind(self.clerk_id)
            .fetch_one(&mut **tx)
            .await?);
            if known {
                return Err(Unmet.into());
            }
            self.receipt.in_tx(tx, after).await
        })
    }

    fn writes(&self, after: &User, dialect: Dialect, next: &mut usize) -> Vec<Write> {
        let mut writes = self.receipt.writes(after, dialect, next);
        writes.push(Write {
            name: "not_tombstoned",
            sql: format!(
                "INSERT INTO clerk_tombstones (clerk_id, deleted_at)
                 SELECT clerk_id, deleted_at FROM clerk_tombstones WHERE clerk_id = {}",
                param(next)
            ),
        });
        writes
    }

    fn params(&self, after: &User) -> Vec<Param> {
        let mut params = self.receipt.params(after);
        params.push(Param::Text(self.clerk_id.to_owned()));
        params
    }

    fn guards(&self) -> &'static [&'static str] {
        &[RECEIPTS, TOMBSTONES]
    }
}
