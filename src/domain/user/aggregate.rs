//! The `User` aggregate: enforces the per-user rules and emits events.
//!
//! Rules that span users (unique email and username) cannot live here: the
//! service claims those values before a command runs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::command::{SyncOutcome, UserCommand};
use super::event::{ClerkProfile, LocalProfile, UserEvent};
use super::merge::{changed_fields, merge};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Lifecycle {
    #[default]
    New,
    Live,
    Deleted,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct User {
    lifecycle: Lifecycle,
    clerk: ClerkProfile,
    local: LocalProfile,
    /// Admin-visible version: the number of profile events, the value
    /// `expectedVersion` is checked against.
    version: u64,
    clerk_id: Option<String>,
    /// What Clerk was last confirmed to hold; `None` before the first sync.
    synced: Option<Synced>,
    /// Clerk's `updated_at` (ms) of the newest Clerk state seen: older news is stale.
    clerk_updated_at: Option<i64>,
    /// When each Clerk-owned field last changed here (ms), for conflicts.
    edited_at: BTreeMap<String, i64>,
    /// Every Clerk-owned state Tandem held since Clerk last confirmed one: a
    /// push in flight carries one of them, and its webhook may come back first.
    #[serde(default)]
    held_since_sync: Vec<ClerkProfile>,
    /// The last sync report was a failure: admins see the user as pending or
    /// failed until a success is reported, even one that changes nothing else.
    #[serde(default)]
    last_sync_failed: bool,
}

/// Clerk's side as of the last successful sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synced {
    pub clerk: ClerkProfile,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("user not found")]
    NotFound,
    #[error("user already exists")]
    AlreadyExists,
    #[error("user was changed by someone else: expected version {expected}, found {actual}")]
    VersionConflict { expected: u64, actual: u64 },
}

impl User {
    pub fn is_live(&self) -> bool {
        self.lifecycle == Lifecycle::Live
    }

    pub fn exists(&self) -> bool {
        self.lifecycle != Lifecycle::New
    }

    pub fn clerk(&self) -> &ClerkProfile {
        &self.clerk
    }

    pub fn local(&self) -> &LocalProfile {
        &self.local
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn is_deleted(&self) -> bool {
        self.lifecycle == Lifecycle::Deleted
    }

    pub fn clerk_id(&self) -> Option<&str> {
        self.clerk_id.as_deref()
    }

    /// A success report that would clear the last failure, when Clerk already
    /// holds this user (the failed push landed, or Clerk caught up another way).
    pub fn confirmation(&self) -> Option<SyncOutcome> {
        let synced = self.synced.as_ref()?;
        (self.last_sync_failed && self.in_sync()).then(|| SyncOutcome::Synced {
            clerk_id: self.clerk_id.clone(),
            clerk: synced.clerk.clone(),
            deleted: synced.deleted,
            clerk_updated_at: None,
        })
    }

    pub fn synced(&self) -> Option<&Synced> {
        self.synced.as_ref()
    }

    /// True when Clerk holds exactly what Tandem holds (or both have no user).
    pub fn in_sync(&self) -> bool {
        match &self.synced {
            Some(s) => s.deleted == self.is_deleted() && (s.deleted || s.clerk == self.clerk),
            None => self.lifecycle == Lifecycle::New,
        }
    }

    fn require_live(&self, expected_version: Option<u64>) -> Result<(), UserError> {
        if !self.is_live() {
            return Err(UserError::NotFound);
        }
        match expected_version {
            Some(expected) if expected != self.version => Err(UserError::VersionConflict {
                expected,
                actual: self.version,
            }),
            _ => Ok(()),
        }
    }

    pub fn clerk_updated_at(&self) -> Option<i64> {
        self.clerk_updated_at
    }

    /// The events a command produces at time `now`; pure, so the rules are easy to test.
    pub fn decide(&self, command: UserCommand, now: DateTime<Utc>) -> Result<Vec<UserEvent>, UserError> {
        match command {
            UserCommand::Create { clerk, local } => {
                if self.exists() {
                    return Err(UserError::AlreadyExists);
                }
                Ok(vec![UserEvent::UserCreated {
                    clerk,
                    local,
                    at: Some(now),
                }])
            }
            UserCommand::CreateFromClerk {
                clerk_id,
                clerk,
                clerk_updated_at,
            } => {
                if self.exists() {
                    return Err(UserError::AlreadyExists);
                }
                Ok(vec![
                    UserEvent::UserCreated {
                        clerk: clerk.clone(),
                        local: LocalProfile::default(),
                        at: DateTime::from_timestamp_millis(clerk_updated_at),
                    },
                    UserEvent::ClerkSynced {
                        clerk_id: Some(clerk_id),
                        clerk,
                        deleted: false,
                        clerk_updated_at: Some(clerk_updated_at),
                    },
                ])
            }
            UserCommand::ReceiveFromClerk {
                clerk_id,
                clerk,
                clerk_updated_at,
                snapshot,
            } => Ok(self.receive(clerk_id, clerk, clerk_updated_at, snapshot)?),
            UserCommand::DeleteFromClerk { clerk_id } => {
                if !self.exists() {
                    return Err(UserError::NotFound);
                }
                let mut events = Vec::new();
                if self.is_live() {
                    events.push(UserEvent::UserDeleted {});
                }
                if events.is_empty() && self.synced.as_ref().is_some_and(|s| s.deleted) {
                    return Ok(events);
                }
                events.push(UserEvent::ClerkSynced {
                    clerk_id: Some(clerk_id),
                    clerk: self.clerk.clone(),
                    deleted: true,
                    clerk_updated_at: None,
                });
                Ok(events)
            }
            UserCommand::Update {
                expected_version,
                clerk,
                local,
            } => {
                self.require_live(expected_version)?;
                let mut events = Vec::new();
                let clerk = clerk.applied_to(&self.clerk);
                if clerk != self.clerk {
                    events.push(UserEvent::ClerkProfileChanged { clerk, at: Some(now) });
                }
                let local = local.applied_to(&self.local);
                if local != self.local {
                    events.push(UserEvent::LocalProfileChanged { local });
                }
                Ok(events)
            }
            UserCommand::Delete { expected_version } => {
                self.require_live(expected_version)?;
                Ok(vec![UserEvent::UserDeleted {}])
            }
            UserCommand::RecordSync(outcome) => {
                if !self.exists() {
                    return Err(UserError::NotFound);
                }
                if let SyncOutcome::Synced {
                    clerk_updated_at: Some(at),
                    ..
                } = &outcome
                {
                    // Clerk changed again after our push (a webhook told us): that is newer.
                    if self.clerk_updated_at.is_some_and(|seen| seen > *at) {
                        return Ok(Vec::new());
                    }
                }
                if let SyncOutcome::Synced { deleted: false, .. } = &outcome {
                    // Gone from Clerk and from here: a late report of an older push changes nothing.
                    if self.is_deleted() && self.synced.as_ref().is_some_and(|s| s.deleted) {
                        return Ok(Vec::new());
                    }
                }
                if let SyncOutcome::Synced {
                    clerk_id,
                    clerk,
                    deleted,
                    ..
                } = &outcome
                {
                    let same = Synced {
                        clerk: clerk.clone(),
                        deleted: *deleted,
                    };
                    if self.synced.as_ref() == Some(&same)
                        && (clerk_id.is_none() || *clerk_id == self.clerk_id)
                        && !self.last_sync_failed
                    {
                        return Ok(Vec::new());
                    }
                }
                Ok(vec![match outcome {
                    SyncOutcome::Synced {
                        clerk_id,
                        clerk,
                        deleted,
                        clerk_updated_at,
                    } => UserEvent::ClerkSynced {
                        clerk_id,
                        clerk,
                        deleted,
                        clerk_updated_at,
                    },
                    SyncOutcome::AttemptFailed {
                        attempt,
                        error,
                        next_retry_at,
                    } => UserEvent::ClerkSyncAttemptFailed {
                        attempt,
                        error,
                        next_retry_at,
                    },
                    SyncOutcome::Failed {
                        attempts,
                        error,
                        code,
                    } => UserEvent::ClerkSyncFailed {
                        attempts,
                        error,
                        code,
                    },
                }])
            }
        }
    }
}

impl User {
    /// Clerk's state of this user, as a webhook, import or reconcile saw it.
    fn receive(
        &self,
        clerk_id: String,
        theirs: ClerkProfile,
        updated_at: i64,
        snapshot: bool,
    ) -> Result<Vec<UserEvent>, UserError> {
        if !self.exists() {
            return Err(UserError::NotFound);
        }
        // A deleted user stays deleted; older news than we have is stale.
        let stale = !snapshot && self.clerk_updated_at.is_some_and(|seen| updated_at <= seen);
        if !self.is_live() || stale {
            return Ok(Vec::new());
        }
        // An echo of our own push changes nothing and is never pushed back.
        if theirs == self.clerk {
            return Ok(Vec::new());
        }
        // A snapshot may hide Clerk edits behind our own later pushes, so what
        // we last synced is no guide: each differing field goes by edit time.
        let base = if snapshot {
            None
        } else {
            self.synced.as_ref().filter(|s| !s.deleted).map(|s| &s.clerk)
        };
        let (clerk, conflicts) = merge(
            &self.clerk,
            base,
            &theirs,
            &self.edited_at,
            updated_at,
            &self.held_since_sync,
        );
        if clerk == self.clerk && conflicts.is_empty() {
            // Only older values of fields we changed since: our push is on its way.
            return Ok(Vec::new());
        }
        Ok(vec![UserEvent::ClerkProfileReceived {
            clerk_id,
            clerk,
            clerk_side: theirs,
            clerk_updated_at: updated_at,
            conflicts,
        }])
    }

    fn touch(&mut self, before: &ClerkProfile, at: Option<i64>) {
        if let Some(at) = at {
            for field in changed_fields(before, &self.clerk) {
                self.edited_at.insert(field.to_owned(), at);
            }
        }
    }
}

impl Aggregate for User {
    const TYPE: &'static str = "User";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, Utc::now())? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        // A Clerk change that Tandem's later edits outvoted leaves what admins
        // see as it was, so it does not move the version they edit against.
        let visible = match &event {
            UserEvent::ClerkProfileReceived { clerk, .. } => *clerk != self.clerk,
            other => other.is_profile_change(),
        };
        if visible {
            self.version += 1;
        }
        match event {
            UserEvent::UserCreated { clerk, local, at } => {
                self.lifecycle = Lifecycle::Live;
                let before = ClerkProfile::default();
                self.clerk = clerk;
                self.local = local;
                self.touch(&before, at.map(|t| t.timestamp_millis()));
                self.held_since_sync = vec![self.clerk.clone()];
            }
            UserEvent::ClerkProfileChanged { clerk, at } => {
                let before = std::mem::replace(&mut self.clerk, clerk);
                self.touch(&before, at.map(|t| t.timestamp_millis()));
                self.held_since_sync.push(self.clerk.clone());
            }
            UserEvent::ClerkProfileReceived {
                clerk_id,
                clerk,
                clerk_side,
                clerk_updated_at,
                ..
            } => {
                let before = std::mem::replace(&mut self.clerk, clerk);
                self.touch(&before, Some(clerk_updated_at));
                self.clerk_id = Some(clerk_id);
                self.synced = Some(Synced {
                    clerk: clerk_side,
                    deleted: false,
                });
                self.clerk_updated_at = Some(clerk_updated_at);
            }
            UserEvent::LocalProfileChanged { local } => self.local = local,
            UserEvent::UserDeleted {} => self.lifecycle = Lifecycle::Deleted,
            UserEvent::ClerkSynced {
                clerk_id,
                clerk,
                deleted,
                clerk_updated_at,
            } => {
                if clerk_id.is_some() {
                    self.clerk_id = clerk_id;
                }
                self.synced = Some(Synced { clerk, deleted });
                self.last_sync_failed = false;
                // One push at a time per user: once Clerk confirms one, only
                // what Tandem holds now can still be on its way.
                self.held_since_sync = vec![self.clerk.clone()];
                if clerk_updated_at > self.clerk_updated_at {
                    self.clerk_updated_at = clerk_updated_at;
                }
            }
            UserEvent::ClerkSyncAttemptFailed { .. } | UserEvent::ClerkSyncFailed { .. } => {
                self.last_sync_failed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::{ClerkPatch, LocalPatch};
    use crate::domain::values::{Email, Username};

    /// Given past events, when a command arrives at `now()`, then these events or that error.
    struct Scenario(User);
    struct Outcome(Result<Vec<UserEvent>, UserError>);

    fn given(events: Vec<UserEvent>) -> Scenario {
        let mut user = User::default();
        for event in events {
            user.apply(event);
        }
        Scenario(user)
    }

    fn given_no_previous_events() -> Scenario {
        given(Vec::new())
    }

    impl Scenario {
        fn when(self, command: UserCommand) -> Outcome {
            Outcome(self.0.decide(command, now()))
        }
    }

    impl Outcome {
        fn then_expect_events(self, expected: Vec<UserEvent>) {
            assert_eq!(self.0, Ok(expected));
        }

        fn then_expect_error(self, expected: UserError) {
            assert_eq!(self.0, Err(expected));
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000).unwrap()
    }

    fn clerk() -> ClerkProfile {
        ClerkProfile {
            email: "ada@example.com".into(),
            username: Some("ada".into()),
            first_name: Some("Ada".into()),
            last_name: None,
        }
    }

    fn created() -> UserEvent {
        UserEvent::UserCreated {
            clerk: clerk(),
            local: LocalProfile::default(),
            at: Some(now()),
        }
    }

    fn update(clerk: ClerkPatch, local: LocalPatch) -> UserCommand {
        UserCommand::Update {
            expected_version: None,
            clerk,
            local,
        }
    }

    #[test]
    fn create_emits_user_created() {
        given_no_previous_events()
            .when(UserCommand::Create {
                clerk: clerk(),
                local: LocalProfile::default(),
            })
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn create_twice_is_refused() {
        given(vec![created()])
            .when(UserCommand::Create {
                clerk: clerk(),
                local: LocalProfile::default(),
            })
            .then_expect_error(UserError::AlreadyExists);
    }

    #[test]
    fn a_clerk_field_change_emits_only_a_clerk_event() {
        let patch = ClerkPatch {
            username: Some(Some(Username::parse("ada_l").unwrap())),
            ..Default::default()
        };
        let mut expected = clerk();
        expected.username = Some("ada_l".into());
        given(vec![created()])
            .when(update(patch, LocalPatch::default()))
            .then_expect_events(vec![UserEvent::ClerkProfileChanged {
                clerk: expected,
                at: Some(now()),
            }]);
    }

    #[test]
    fn a_local_field_change_emits_only_a_local_event() {
        let patch = LocalPatch {
            roles: Some(vec!["admin".into()]),
            ..Default::default()
        };
        given(vec![created()])
            .when(update(ClerkPatch::default(), patch))
            .then_expect_events(vec![UserEvent::LocalProfileChanged {
                local: LocalProfile {
                    roles: vec!["admin".into()],
                    ..Default::default()
                },
            }]);
    }

    #[test]
    fn an_update_that_changes_nothing_emits_nothing() {
        let same = ClerkPatch {
            email: Some(Email::parse("ada@example.com").unwrap()),
            first_name: Some(Some("Ada".into())),
            last_name: Some(None),
            ..Default::default()
        };
        given(vec![created()])
            .when(update(same, LocalPatch::default()))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_stale_expected_version_is_a_conflict() {
        given(vec![
            created(),
            UserEvent::LocalProfileChanged {
                local: LocalProfile::default(),
            },
        ])
        .when(UserCommand::Delete {
            expected_version: Some(1),
        })
        .then_expect_error(UserError::VersionConflict {
            expected: 1,
            actual: 2,
        });
    }

    #[test]
    fn a_deleted_user_cannot_be_changed_or_deleted_again() {
        given(vec![created(), UserEvent::UserDeleted {}])
            .when(UserCommand::Delete {
                expected_version: None,
            })
            .then_expect_error(UserError::NotFound);
        given(vec![created(), UserEvent::UserDeleted {}])
            .when(update(ClerkPatch::default(), LocalPatch::default()))
            .then_expect_error(UserError::NotFound);
    }

    #[test]
    fn sync_outcomes_do_not_move_the_admin_version() {
        let mut user = User::default();
        user.apply(created());
        user.apply(UserEvent::ClerkSynced {
            clerk_id: Some("user_1".into()),
            clerk: clerk(),
            deleted: false,
            clerk_updated_at: None,
        });
        assert_eq!(user.version(), 1);
        assert!(user.in_sync());
        assert_eq!(user.clerk_id(), Some("user_1"));
        user.apply(UserEvent::ClerkProfileChanged {
            clerk: ClerkProfile {
                first_name: Some("Augusta".into()),
                ..clerk()
            },
            at: Some(now()),
        });
        assert!(!user.in_sync(), "a Clerk-field change is owed to Clerk");
        user.apply(UserEvent::UserDeleted {});
        assert!(!user.in_sync());
    }

    #[test]
    fn a_local_change_keeps_the_user_in_sync() {
        let mut user = User::default();
        user.apply(created());
        user.apply(UserEvent::ClerkSynced {
            clerk_id: Some("user_1".into()),
            clerk: clerk(),
            deleted: false,
            clerk_updated_at: None,
        });
        user.apply(UserEvent::LocalProfileChanged {
            local: LocalProfile {
                bio: Some("local".into()),
                ..Default::default()
            },
        });
        assert!(user.in_sync());
    }

    fn synced_at(updated_at: i64) -> UserEvent {
        UserEvent::ClerkSynced {
            clerk_id: Some("user_1".into()),
            clerk: clerk(),
            deleted: false,
            clerk_updated_at: Some(updated_at),
        }
    }

    fn receive(first_name: &str, updated_at: i64) -> UserCommand {
        UserCommand::ReceiveFromClerk {
            clerk_id: "user_1".into(),
            clerk: ClerkProfile {
                first_name: Some(first_name.into()),
                ..clerk()
            },
            clerk_updated_at: updated_at,
            snapshot: false,
        }
    }

    #[test]
    fn an_echo_of_our_own_push_changes_nothing() {
        given(vec![created(), synced_at(100)])
            .when(UserCommand::ReceiveFromClerk {
                clerk_id: "user_1".into(),
                clerk: clerk(),
                clerk_updated_at: 200,
                snapshot: false,
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn older_or_repeated_clerk_news_is_ignored() {
        given(vec![created(), synced_at(100)])
            .when(receive("Old", 100))
            .then_expect_events(vec![]);
        given(vec![created(), synced_at(100)])
            .when(receive("Old", 50))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_clerk_edit_is_received_with_clerks_values() {
        let theirs = ClerkProfile {
            first_name: Some("Augusta".into()),
            ..clerk()
        };
        given(vec![created(), synced_at(100)])
            .when(receive("Augusta", 200))
            .then_expect_events(vec![UserEvent::ClerkProfileReceived {
                clerk_id: "user_1".into(),
                clerk: theirs.clone(),
                clerk_side: theirs,
                clerk_updated_at: 200,
                conflicts: vec![],
            }]);
    }

    #[test]
    fn clerk_news_never_brings_a_deleted_user_back() {
        given(vec![created(), synced_at(100), UserEvent::UserDeleted {}])
            .when(receive("Zombie", 500))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_clerk_delete_deletes_and_owes_clerk_nothing() {
        let mut user = given(vec![created(), synced_at(100)]).0;
        let events = user
            .decide(
                UserCommand::DeleteFromClerk {
                    clerk_id: "user_1".into(),
                },
                now(),
            )
            .unwrap();
        for event in events {
            user.apply(event);
        }
        assert!(user.is_deleted());
        assert!(user.in_sync(), "no push back");
    }

    #[test]
    fn an_unknown_user_is_not_found() {
        given_no_previous_events()
            .when(UserCommand::Delete {
                expected_version: None,
            })
            .then_expect_error(UserError::NotFound);
    }
}
