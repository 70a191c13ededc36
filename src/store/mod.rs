//! The event store: cqrs-es's plain persisted event store over whichever
//! database is configured for reading, and a command path that commits a
//! command's events, the user's unique-value claims and any work the caller
//! adds atomically, in one round trip to the database (see [`one_trip`]).

mod alongside;
mod claims;
mod in_tx;
mod metadata;
mod one_trip;
mod repo;
mod scripts;

use std::collections::HashMap;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventEnvelope, EventStore};
use tokio::sync::watch;

pub use alongside::{param, Alongside, Dialect, Param, Unmet, Write};
pub use claims::{holder, ClaimKind};
pub use metadata::{EventMeta, Origin};
pub use repo::EventRepo;
pub use scripts::Scripts;

use crate::db::{Db, Tx};
use crate::domain::user::{User, UserCommand, UserError, UserEvent};
use in_tx::{append, AppendError};
use one_trip::OneTripError;

/// How often a command is re-run when another writer committed to the same
/// user between our load and our commit.
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Rejected(#[from] UserError),
    /// The command would give the user a value another user holds.
    #[error("{} is already used by another user", .0.field())]
    Taken(ClaimKind),
    #[error("event store: {0}")]
    Store(String),
    /// The work alongside found a condition of the command unmet (see
    /// [`Alongside::guards`]); nothing was written.
    #[error(transparent)]
    Unmet(#[from] Unmet),
}

/// What a successful command left behind.
pub struct Committed {
    pub user: User,
    /// Sequence of the user's newest event after the command (0 if none yet).
    pub last_sequence: usize,
    pub events: Vec<EventEnvelope<User>>,
}

/// A user as loaded, with the sequence of its newest event (0 if none).
#[derive(Clone)]
pub struct Loaded {
    pub user: User,
    pub sequence: usize,
    /// Loaded for the very command it is handed to, moments before.
    for_this_command: bool,
}

impl Loaded {
    /// A user with no events yet, e.g. for a freshly generated id.
    pub fn new_user() -> Self {
        Self {
            user: User::default(),
            sequence: 0,
            for_this_command: false,
        }
    }

    /// Marks a user the caller loaded moments ago to decide this very
    /// command on (e.g. to find which user a webhook names): a decision to
    /// change nothing stands on it, as on a load of the command's own,
    /// where an older state is loaded again first.
    pub fn for_this_command(self) -> Self {
        Self {
            for_this_command: true,
            ..self
        }
    }
}

pub struct EventLog {
    db: Db,
    store: PersistedEventStore<EventRepo, User>,
    /// Bumped after every commit, so event-feed readers wake at once.
    committed: watch::Sender<u64>,
}

impl EventLog {
    pub fn new(db: &Db) -> Self {
        Self {
            db: db.clone(),
            store: PersistedEventStore::new_event_store(EventRepo::new(db)),
            committed: watch::channel(0).0,
        }
    }

    /// Changes after each commit made through this log.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Loads the user, decides, and commits; re-runs on a concurrent write.
    pub async fn execute(
        &self,
        user_id: &str,
        command: UserCommand,
        meta: &EventMeta,
    ) -> Result<Committed, ExecuteError> {
        self.execute_with(user_id, command, meta, None, None).await
    }

    /// [`Self::execute`] for a user id generated just now: nothing to load.
    pub async fn execute_new(
        &self,
        user_id: &str,
        command: UserCommand,
        meta: &EventMeta,
    ) -> Result<Committed, ExecuteError> {
        self.execute_with(user_id, command, meta, Some(Loaded::new_user()), None)
            .await
    }

    /// Like [`Self::execute`], and commits `alongside` (given the state the
    /// events lead to) with them, when there are any.
    /// `known` is the user as the caller last loaded it: deciding on it saves a
    /// load, and the events' sequence numbers make a stale one a conflict,
    /// after which the user is loaded afresh. A decision to change nothing is
    /// only taken on a fresh load (see [`Loaded::for_this_command`]).
    pub async fn execute_with(
        &self,
        user_id: &str,
        command: UserCommand,
        meta: &EventMeta,
        mut known: Option<Loaded>,
        alongside: Option<&dyn Alongside>,
    ) -> Result<Committed, ExecuteError> {
        let metadata = meta.to_map();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let assumed = known.as_ref().is_some_and(|k| !k.for_this_command);
            let Loaded {
                user: before,
                sequence: base_sequence,
                ..
            } = match known.take() {
                Some(loaded) => loaded,
                None => self.load_versioned(user_id).await?,
            };
            let decided = before.decide(command.clone(), meta.occurred_at);
            if assumed && !matches!(&decided, Ok(events) if !events.is_empty()) {
                // Only a commit proves the assumed state current.
                continue;
            }
            let events = decided.map_err(ExecuteError::from)?;
            let mut after = before.clone();
            for event in events.iter().cloned() {
                after.apply(event);
            }
            if events.is_empty() {
                return Ok(Committed {
                    user: after,
                    last_sequence: base_sequence,
                    events: Vec::new(),
                });
            }
            let change = Change {
                user_id,
                before: &before,
                after: &after,
                base_sequence,
                events: &events,
                metadata: &metadata,
                alongside,
            };
            let one_trip = match &self.db {
                Db::Pg(pool) => one_trip::commit_pg(pool, &change).await,
                Db::Sqlite(_, writer) => one_trip::commit_sqlite(writer.scripts(), &change).await,
            };
            let appended = match one_trip {
                Ok(()) => Ok(()),
                Err(OneTripError::Conflict) => Err(AppendError::Conflict),
                Err(OneTripError::Failed(error)) => Err(AppendError::Failed(error)),
                Err(OneTripError::ClaimHeld) => self.in_transaction(&change).await?,
                Err(OneTripError::Unmet) => return Err(Unmet.into()),
            };
            match appended {
                Ok(()) => {}
                Err(AppendError::Conflict) if attempt < CONFLICT_RETRIES => continue,
                Err(AppendError::Conflict) => {
                    return Err(ExecuteError::Store("the user keeps changing; try again".into()))
                }
                Err(AppendError::Failed(error)) => return Err(failed(error)),
            };
            self.committed.send_modify(|n| *n += 1);
            let events = in_tx::envelopes(user_id, events, base_sequence, &metadata);
            return Ok(Committed {
                user: after,
                last_sequence: events.last().map_or(base_sequence, |e| e.sequence),
                events,
            });
        }
    }

    /// Commits in a transaction of its own: the events, the claims they
    /// change and the work alongside. A value held by another user is looked
    /// into only here.
    async fn in_transaction(&self, change: &Change<'_>) -> Result<Result<(), AppendError>, ExecuteError> {
        let mut tx = self.db.begin().await.map_err(failed)?;
        follow_claims(&mut tx, change.user_id, change.before, change.after).await?;
        if let Some(alongside) = change.alongside {
            alongside.in_tx(&mut tx, change.after).await.map_err(|error| {
                match error.downcast::<Unmet>() {
                    Ok(unmet) => unmet.into(),
                    Err(error) => failed(error),
                }
            })?;
        }
        let appended = append(&mut tx, change).await;
        if appended.is_ok() {
            tx.commit().await.map_err(failed)?;
        }
        Ok(appended)
    }

    pub async fn load(&self, user_id: &str) -> Result<User, ExecuteError> {
        Ok(self.load_versioned(user_id).await?.user)
    }

    pub async fn load_versioned(&self, user_id: &str) -> Result<Loaded, ExecuteError> {
        let mut context = self.store.load_aggregate(user_id).await.map_err(store_error)?;
        Ok(Loaded {
            sequence: context.current_sequence,
            user: context.aggregate().clone(),
            for_this_command: false,
        })
    }

    /// Every event of one user, oldest first, with its metadata.
    pub async fn events(&self, user_id: &str) -> Result<Vec<EventEnvelope<User>>, ExecuteError> {
        self.store.load_events(user_id).await.map_err(store_error)
    }
}

/// Takes the unique values `after` gains and gives back those it drops.
async fn follow_claims(tx: &mut Tx, user_id: &str, before: &User, after: &User) -> Result<(), ExecuteError> {
    let claims::Changes { take, give_back } = claims::changes(before, after);
    if let Some(kind) = claims::claim_all(tx, &take, user_id).await.map_err(failed)? {
        return Err(ExecuteError::Taken(kind));
    }
    for (kind, value) in give_back {
        claims::release(tx, kind, &value, user_id).await.map_err(failed)?;
    }
    Ok(())
}

fn failed(error: impl std::fmt::Display) -> ExecuteError {
    ExecuteError::Store(error.to_string())
}

fn store_error(error: AggregateError<UserError>) -> ExecuteError {
    match error {
        AggregateError::UserError(e) => ExecuteError::Rejected(e),
        other => ExecuteError::Store(other.to_string()),
    }
}

/// One decided command, ready to commit.
pub(crate) struct Change<'a> {
    user_id: &'a str,
    before: &'a User,
    after: &'a User,
    base_sequence: usize,
    events: &'a [UserEvent],
    metadata: &'a MetadataMap,
    alongside: Option<&'a dyn Alongside>,
}

/// Metadata as cqrs-es stores it.
pub type MetadataMap = HashMap<String, String>;
