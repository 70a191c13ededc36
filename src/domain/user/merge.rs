//! Merging Clerk's state of a user with Tandem's, field by field: a field only
//! one side changed since the last sync takes that side's value; a field both
//! changed takes the later change, and the other value is kept as a conflict.

use std::collections::BTreeMap;

use super::event::{ClerkProfile, FieldConflict, Side};

type Get = fn(&ClerkProfile) -> Option<&str>;
type Set = fn(&mut ClerkProfile, Option<String>);

/// The Clerk-owned fields by their API names.
const FIELDS: [(&str, Get, Set); 4] = [
    (
        "email",
        |p| Some(p.email.as_str()),
        |p, v| p.email = v.unwrap_or_default(),
    ),
    ("username", |p| p.username.as_deref(), |p, v| p.username = v),
    ("firstName", |p| p.first_name.as_deref(), |p, v| p.first_name = v),
    ("lastName", |p| p.last_name.as_deref(), |p, v| p.last_name = v),
];

pub fn changed_fields<'a>(
    before: &'a ClerkProfile,
    after: &'a ClerkProfile,
) -> impl Iterator<Item = &'static str> + 'a {
    FIELDS
        .iter()
        .filter(|(_, get, _)| get(before) != get(after))
        .map(|(name, _, _)| *name)
}

/// `ours` against `theirs`, given what Clerk held at the last sync (`base`),
/// when each of our fields last changed (`edited_at`, ms) and when Clerk's
/// state was made (`clerk_at`, ms), and what Tandem held since Clerk last
/// confirmed (`pushed`). Ties go to Clerk, whose clock made the record.
pub fn merge(
    ours: &ClerkProfile,
    base: Option<&ClerkProfile>,
    theirs: &ClerkProfile,
    edited_at: &BTreeMap<String, i64>,
    clerk_at: i64,
    pushed: &[ClerkProfile],
) -> (ClerkProfile, Vec<FieldConflict>) {
    let mut result = ours.clone();
    let mut conflicts = Vec::new();
    for (name, get, set) in FIELDS {
        let (o, t, b) = (get(ours), get(theirs), base.map(get));
        // Same value; or only we changed it (our push is owed); or a value we
        // held since Clerk last confirmed, i.e. a push of ours coming back
        // before its confirmation: not a change made in Clerk.
        if o == t || b == Some(t) || pushed.iter().any(|p| get(p) == t) {
            continue;
        }
        if b == Some(o) {
            set(&mut result, t.map(str::to_owned));
            continue;
        }
        let ours_later = edited_at.get(name).is_some_and(|at| *at > clerk_at);
        let (winner, kept, lost) = if ours_later {
            (Side::Tandem, o, t)
        } else {
            (Side::Clerk, t, o)
        };
        if winner == Side::Clerk {
            set(&mut result, t.map(str::to_owned));
        }
        conflicts.push(FieldConflict {
            field: name.to_owned(),
            winner,
            kept: kept.map(str::to_owned),
            lost: lost.map(str::to_owned),
        });
    }
    (result, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(email: &str, first: Option<&str>) -> ClerkProfile {
        ClerkProfile {
            email: email.into(),
            first_name: first.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn a_field_only_clerk_changed_takes_clerks_value() {
        let base = profile("a@x.io", Some("Ann"));
        let theirs = profile("a@x.io", Some("Anne"));
        let (result, conflicts) = merge(&base, Some(&base), &theirs, &BTreeMap::new(), 10, &[]);
        assert_eq!(result, theirs);
        assert!(conflicts.is_empty());
    }

    #[test]
    fn a_field_only_tandem_changed_keeps_tandems_value() {
        let base = profile("a@x.io", Some("Ann"));
        let ours = profile("a@x.io", Some("Annie"));
        let (result, conflicts) = merge(&ours, Some(&base), &base, &BTreeMap::new(), 10, &[]);
        assert_eq!(result, ours);
        assert!(conflicts.is_empty());
    }

    #[test]
    fn a_field_both_changed_goes_to_the_later_change() {
        let base = profile("a@x.io", Some("Ann"));
        let ours = profile("a@x.io", Some("Annie"));
        let theirs = profile("b@x.io", Some("Anne"));
        let edited = BTreeMap::from([("firstName".to_owned(), 20)]);
        let (result, conflicts) = merge(&ours, Some(&base), &theirs, &edited, 10, &[]);
        assert_eq!(
            result,
            profile("b@x.io", Some("Annie")),
            "email from Clerk, name ours (later)"
        );
        assert_eq!(
            conflicts,
            [FieldConflict {
                field: "firstName".into(),
                winner: Side::Tandem,
                kept: Some("Annie".into()),
                lost: Some("Anne".into())
            }]
        );
        let (result, conflicts) = merge(&ours, Some(&base), &theirs, &edited, 30, &[]);
        assert_eq!(result, theirs, "Clerk's change is later now");
        assert_eq!(conflicts[0].winner, Side::Clerk);
        assert_eq!(conflicts[0].lost.as_deref(), Some("Annie"));
    }

    #[test]
    fn a_value_we_held_since_the_last_sync_is_our_push_coming_back() {
        // Created without a first name, pushed, then named "W" here; the
        // webhook of the create push comes back with Clerk's later clock.
        let created = profile("a@x.io", None);
        let ours = profile("a@x.io", Some("W"));
        let edited = BTreeMap::from([("firstName".to_owned(), 10)]);
        let (result, conflicts) = merge(
            &ours,
            None,
            &created,
            &edited,
            20,
            &[created.clone(), ours.clone()],
        );
        assert_eq!(result, ours);
        assert!(conflicts.is_empty());
        let (result, _) = merge(&ours, None, &created, &edited, 20, &[]);
        assert_eq!(result, created, "without it, Clerk's later clock would win");
    }
}
