//! Bulk changes: what one planned change is, and the one rule that decides, from a
//! user's state read just now, whether a PATCH is still needed. The plan, the apply step and a
//! resumed run all use [`decide`], so nobody is changed twice.

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
}

impl ChangeItem {
    /// The user as errors and the journal name it: the admin's text, else the UPN, else the id.
    pub fn display_target(&self) -> String {
        if !self.target.trim().is_empty() {
            return self.target.clone();
        }
        self.user_principal_name.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| self.id.clone())
    }
}

/// Graph's states compare without regard to letter case.
pub fn same_state(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The rule. `current` is what Graph reports now; `previous` the state recorded before an earlier
/// PATCH (only meaningful when `sent`).
///
/// - A PATCH may already have gone out (`sent`) and the state is no longer the one recorded
///   before it: that PATCH landed (Graph may also have turned `enabled` into `enforced`). Never
///   send it twice: [`Action::Completed`].
/// - Otherwise the user already in the requested state needs nothing: [`Action::AlreadyInState`].
/// - Otherwise: [`Action::Change`].
pub fn decide(current: &str, previous: Option<&str>, requested: &MfaState, sent: bool) -> Action {
    if sent {
        if let Some(previous) = previous {
            if !same_state(current, previous) {
                return Action::Completed;
            }
        }
    }
    if same_state(current, requested.as_graph()) {
        Action::AlreadyInState
    } else {
        Action::Change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_changes_skip_users_already_in_state() {
        assert_eq!(decide("enforced", None, &MfaState::Enforced, false), Action::AlreadyInState);
        assert_eq!(decide("Enforced", Some("disabled"), &MfaState::Enforced, false), Action::AlreadyInState);
        assert_eq!(decide("disabled", None, &MfaState::Enforced, false), Action::Change);
        // Not sent before: a state someone else set since the plan is simply the new starting point.
        assert_eq!(decide("enabled", Some("disabled"), &MfaState::Enforced, false), Action::Change);
    }

    #[test]
    fn a_sent_patch_that_landed_is_never_sent_again() {
        assert_eq!(decide("enforced", Some("disabled"), &MfaState::Enforced, true), Action::Completed);
        // Graph stored enforced for a requested enabled (user with MFA methods): still landed.
        assert_eq!(decide("enforced", Some("disabled"), &MfaState::Enabled, true), Action::Completed);
        // Still the state from before the PATCH: it did not land, send it.
        assert_eq!(decide("disabled", Some("disabled"), &MfaState::Enforced, true), Action::Change);
        // Sent, and the previous state was already the requested one (cannot normally happen).
        assert_eq!(decide("enforced", Some("enforced"), &MfaState::Enforced, true), Action::AlreadyInState);
        // Sent but no recorded previous state: judge by the requested state alone.
        assert_eq!(decide("enforced", None, &MfaState::Enforced, true), Action::AlreadyInState);
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
