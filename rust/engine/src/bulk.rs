//! Bulk changes: what one planned change is, and the one rule that decides, from a user's state
//! read just now, whether a PATCH is still needed. The plan, the apply step, a resumed run and an
//! undo all use [`decide`], so nobody is changed twice and an undo leaves alone what others did.

use serde::{Deserialize, Serialize};

use crate::model::MfaState;

/// What to do for one user, decided from the state Graph reports now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Send the PATCH.
    Change,
    /// The user already has the requested state: nothing is sent.
    AlreadyInState,
    /// An earlier, interrupted run sent this user's PATCH and Graph shows it landed: nothing is
    /// sent again; the change is recorded as done.
    Completed,
    /// An undo: someone else changed the user since the run it undoes (the state is neither the
    /// one the run left nor the one the undo would restore). Nothing is sent unless the admin
    /// asks for it (`expectedState` not given).
    ChangedSince,
    /// A run that requires coverage: the user's migration verdict is not `Covered` (Conditional
    /// Access or security defaults would not ask them for MFA at every sign-in), so per-user MFA
    /// stays as it is and nothing is sent.
    NotCovered,
}

/// One user's change, as pushed into `planChanges` (resume, undo) and `applyChanges` jobs:
/// `{"changes":[...]}`. The requested state is per item, so one shape serves set, undo and resume.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    /// The user as the admin gave it (errors name it).
    #[serde(default)]
    pub target: String,
    /// Object id (the journal keys users by it).
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The state before the change: the state read when planning, or, for a resumed run, the
    /// state the journal recorded right before the interrupted PATCH.
    #[serde(default)]
    pub previous_state: Option<String>,
    pub requested_state: MfaState,
    /// True when the journal shows a PATCH for this user may already have gone out.
    #[serde(default)]
    pub sent: bool,
    /// The plan's decision (applyChanges); absent means "decide now".
    #[serde(default)]
    pub action: Option<Action>,
    /// The state the plan read.
    #[serde(default)]
    pub current_state: Option<String>,
    /// An undo: the state the undone run left the user in. A user found in another state was
    /// changed since by someone else and is left alone ([`Action::ChangedSince`]). Absent: no
    /// such check (a set, a resume, or an undo told to include users changed since).
    #[serde(default)]
    pub expected_state: Option<String>,
    /// A run that requires coverage: the user's migration verdict (`Covered`, `PartiallyCovered`,
    /// `NotCovered`, `Unknown`) and its reason, as the plan found them; the journal keeps both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_reason: Option<String>,
    /// The user's `userType` (guests are in scope of some policies by it), for the verdict the
    /// apply step works out again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

impl ChangeItem {
    /// The user as errors and the journal name it: the admin's text, else the UPN, else the id.
    pub fn display_target(&self) -> String {
        if !self.target.trim().is_empty() {
            return self.target.clone();
        }
        self.user_principal_name.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| self.id.clone())
    }

    /// [`decide`] for this change, from the state Graph reports now.
    pub fn decide(&self, current: &str) -> Action {
        decide(
            current,
            self.previous_state.as_deref(),
            &self.requested_state,
            self.sent,
            self.expected_state.as_deref(),
        )
    }
}

/// Graph's states compare without regard to letter case.
pub fn same_state(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether Graph reporting `current` means a PATCH of `requested` landed: the requested state,
/// or `enforced` for a requested `enabled` (Graph enforces MFA for a user who registered methods).
pub fn reached(current: &str, requested: &str) -> bool {
    same_state(current, requested) || (same_state(requested, "enabled") && same_state(current, "enforced"))
}

/// The rule. `current` is what Graph reports now; `previous` the state recorded before an earlier
/// PATCH (only meaningful when `sent`); `expected` the state an undone run left the user in.
///
/// - A PATCH may already have gone out (`sent`), the state is no longer the one recorded before
///   it, and it is the requested one (or `enforced` for `enabled`): that PATCH landed. Never send
///   it twice: [`Action::Completed`]. A state that is neither means someone else changed the user
///   meanwhile, and the requested state still has to be set.
/// - A sent `enabled` where Graph shows `enforced`, as it did before the PATCH: the state cannot
///   tell whether it landed ([`landing_unknown`]); [`Action::Change`], and the apply step asks
///   Graph for the user's methods before it sends anything.
/// - Otherwise the user already in the requested state needs nothing: [`Action::AlreadyInState`].
/// - An undo finds the user in another state than the run left (allowing `enabled` ->
///   `enforced`): someone else changed them since: [`Action::ChangedSince`].
/// - Otherwise: [`Action::Change`].
pub fn decide(
    current: &str,
    previous: Option<&str>,
    requested: &MfaState,
    sent: bool,
    expected: Option<&str>,
) -> Action {
    let requested = requested.as_graph();
    if sent && reached(current, requested) && previous.is_some_and(|previous| !same_state(current, previous)) {
        return Action::Completed;
    }
    if same_state(current, requested) {
        return Action::AlreadyInState;
    }
    if expected.is_some_and(|expected| !reached(current, expected)) {
        return Action::ChangedSince;
    }
    Action::Change
}

/// Whether the state Graph shows cannot tell if a PATCH an interrupted run sent has landed: the
/// PATCH asked for `enabled`, and Graph shows `enforced`, the state before it as well (or the
/// state before is not known). Graph stores `enforced` for a requested `enabled` when the user
/// has registered MFA methods, so such a PATCH may have landed without a trace, or never left.
/// The user's methods settle it: with a second factor registered the PATCH ends as `enforced`
/// either way, and without one it did not land.
pub fn landing_unknown(current: &str, previous: Option<&str>, requested: &MfaState, sent: bool) -> bool {
    sent && *requested == MfaState::Enabled
        && same_state(current, "enforced")
        && previous.is_none_or(|previous| same_state(previous, "enforced"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_changes_skip_users_already_in_state() {
        assert_eq!(decide("enforced", None, &MfaState::Enforced, false, None), Action::AlreadyInState);
        assert_eq!(decide("Enforced", Some("disabled"), &MfaState::Enforced, false, None), Action::AlreadyInState);
        assert_eq!(decide("disabled", None, &MfaState::Enforced, false, None), Action::Change);
        // Not sent before: a state someone else set since the plan is simply the new starting point.
        assert_eq!(decide("enabled", Some("disabled"), &MfaState::Enforced, false, None), Action::Change);
    }

    #[test]
    fn a_sent_patch_that_landed_is_never_sent_again() {
        assert_eq!(decide("enforced", Some("disabled"), &MfaState::Enforced, true, None), Action::Completed);
        // Graph stored enforced for a requested enabled (user with MFA methods): still landed.
        assert_eq!(decide("enforced", Some("disabled"), &MfaState::Enabled, true, None), Action::Completed);
        // Still the state from before the PATCH: it did not land, send it.
        assert_eq!(decide("disabled", Some("disabled"), &MfaState::Enforced, true, None), Action::Change);
        // Sent, and the previous state was already the requested one (cannot normally happen).
        assert_eq!(decide("enforced", Some("enforced"), &MfaState::Enforced, true, None), Action::AlreadyInState);
        // Sent but no recorded previous state: judge by the requested state alone.
        assert_eq!(decide("enforced", None, &MfaState::Enforced, true, None), Action::AlreadyInState);
        assert!(!landing_unknown("enforced", Some("disabled"), &MfaState::Enabled, true));
    }

    #[test]
    fn a_sent_enabled_that_graph_shows_enforced_as_before_is_not_taken_for_landed() {
        // An undo to Enabled killed between its `sending` record and the PATCH: Graph still shows
        // the Enforced the run left. Taking that for landed left users Enforced who were Enabled
        // before the run (the 5,000-user kill run found 169); the apply step checks their methods.
        assert_eq!(decide("enforced", Some("enforced"), &MfaState::Enabled, true, None), Action::Change);
        assert!(landing_unknown("enforced", Some("enforced"), &MfaState::Enabled, true));
        assert!(landing_unknown("Enforced", None, &MfaState::Enabled, true));
        // Not sent, another requested state, or a state that moved: the state tells.
        assert!(!landing_unknown("enforced", Some("enforced"), &MfaState::Enabled, false));
        assert!(!landing_unknown("enforced", Some("enforced"), &MfaState::Disabled, true));
        assert!(!landing_unknown("enabled", Some("enforced"), &MfaState::Enabled, true));
    }

    #[test]
    fn a_sent_patch_counts_as_landed_only_when_graph_shows_the_requested_state() {
        // Sent, then refused or lost; meanwhile the helpdesk enforced the user: still to do.
        assert_eq!(decide("enforced", Some("enabled"), &MfaState::Disabled, true, None), Action::Change);
        assert_eq!(decide("disabled", Some("enforced"), &MfaState::Enabled, true, None), Action::Change);
        assert_eq!(decide("enforced", Some("disabled"), &MfaState::Enabled, true, None), Action::Completed);
    }

    #[test]
    fn an_undo_leaves_alone_users_changed_since_by_someone_else() {
        // The run left Miriam enabled; another admin enforced her... allowed: Graph does that too.
        assert_eq!(decide("enforced", None, &MfaState::Disabled, false, Some("enabled")), Action::Change);
        // The run left her enabled; someone set her back to disabled: already where the undo goes.
        assert_eq!(decide("disabled", None, &MfaState::Disabled, false, Some("enabled")), Action::AlreadyInState);
        // The run left her disabled; someone enforced her since: not the undo's to change.
        assert_eq!(decide("enforced", None, &MfaState::Enabled, false, Some("disabled")), Action::ChangedSince);
        assert_eq!(decide("enabled", None, &MfaState::Disabled, false, Some("enabled")), Action::Change);
        // Without the check (the admin included users changed since): changed.
        assert_eq!(decide("enforced", None, &MfaState::Enabled, false, None), Action::Change);
    }

    #[test]
    fn change_items_parse_with_defaults() {
        let item: ChangeItem = serde_json::from_str(r#"{"id":"1","requestedState":"enabled"}"#).unwrap();
        assert_eq!(item.requested_state, MfaState::Enabled);
        assert!(!item.sent);
        assert_eq!(item.action, None);
        assert_eq!(item.display_target(), "1");
        let item: ChangeItem = serde_json::from_str(
            r#"{"target":"a@x","id":"1","previousState":"disabled","requestedState":"enforced","sent":true,"action":"completed"}"#,
        )
        .unwrap();
        assert_eq!(item.action, Some(Action::Completed));
        assert_eq!(item.display_target(), "a@x");
        assert!(serde_json::from_str::<ChangeItem>(r#"{"id":"1","requestedState":"on"}"#).is_err());
    }
}
