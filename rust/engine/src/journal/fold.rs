//! Folding a journal's records into one entry per user: what the journal says about each user,
//! and from that what a resumed run and an undo still have to do.

use std::collections::HashMap;

use serde::Serialize;

use super::read::damaged;
use super::record::{Outcome, Record, FORMAT};
use crate::error::EngineError;
use crate::model::MfaState;

/// One user's latest status in a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Planned (maybe sent) but no outcome recorded: the run was interrupted.
    Pending,
    Changed,
    Unchanged,
    AlreadyInState,
    Failed,
}

impl From<Outcome> for Status {
    fn from(outcome: Outcome) -> Status {
        match outcome {
            Outcome::Changed => Status::Changed,
            Outcome::Unchanged => Status::Unchanged,
            Outcome::AlreadyInState => Status::AlreadyInState,
            Outcome::Failed => Status::Failed,
        }
    }
}

/// What the journal says about one user, folded over its records.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub target: String,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    /// The state before the change: from the `sending` record when there is one (read right
    /// before the PATCH), else from the plan or the outcome.
    pub previous_state: Option<String>,
    pub requested_state: String,
    /// A `sending` record exists for the latest attempt: the PATCH may have gone out.
    pub sent: bool,
    pub status: Status,
    /// The state read back after the change.
    pub state: Option<String>,
    pub error: Option<String>,
    pub time: String,
    /// The line of the latest record about this user.
    pub line: usize,
}

impl Entry {
    /// A user the journal has just started to talk about at `line`: nothing sent, no outcome.
    fn pending(target: String, id: String, requested_state: String, line: usize) -> Entry {
        Entry {
            target,
            id,
            user_principal_name: None,
            display_name: None,
            previous_state: None,
            requested_state,
            sent: false,
            status: Status::Pending,
            state: None,
            error: None,
            time: String::new(),
            line,
        }
    }

    /// A resumed run must look at this user again: no outcome yet, or the change failed.
    pub fn resume_needed(&self) -> bool {
        matches!(self.status, Status::Pending | Status::Failed)
    }

    /// An undo must put this user back: the change landed, or a PATCH went out and its outcome is
    /// unknown (the undo re-reads the state and sends nothing if it did not land).
    pub fn undo_needed(&self) -> bool {
        let previous_is_settable = self.previous_state.as_deref().and_then(MfaState::parse).is_some();
        previous_is_settable
            && match self.status {
                Status::Changed => true,
                Status::Pending | Status::Failed => self.sent,
                Status::Unchanged | Status::AlreadyInState => false,
            }
    }
}

/// The header fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    pub format: String,
    pub operation: String,
    pub created: String,
    pub requested_state: Option<String>,
    pub undo_of: Option<String>,
}

/// The records folded so far: the header, one entry per user (in the order users first appear),
/// how many runs resumed the journal.
#[derive(Debug, Default)]
pub(super) struct Fold {
    pub header: Header,
    pub entries: Vec<Entry>,
    pub resumes: usize,
    /// Object id -> position in `entries`.
    index: HashMap<String, usize>,
}

impl Fold {
    /// Folds the record on line `number` into the entries. `path` is only used in messages.
    pub(super) fn apply(&mut self, path: &str, number: usize, record: Record) -> Result<(), EngineError> {
        let check_state = |state: &str| -> Result<(), EngineError> {
            if MfaState::parse(state).is_none() {
                return Err(damaged(
                    path,
                    number,
                    &format!("'{state}' is not a per-user MFA state that can be requested"),
                ));
            }
            Ok(())
        };
        match record {
            Record::Header { format, operation, created, requested_state, undo_of, .. } => {
                if number != 1 {
                    return Err(damaged(path, number, "a header may only be the first line"));
                }
                if format != FORMAT {
                    return Err(damaged(
                        path,
                        1,
                        &format!("the format is '{format}', and this version of PerUserMfa reads '{FORMAT}'"),
                    ));
                }
                self.header = Header { format, operation, created, requested_state, undo_of };
            }
            _ if number == 1 => return Err(damaged(path, 1, "the first line must be the journal's header")),
            Record::Resume { .. } => self.resumes += 1,
            Record::Planned {
                target,
                id,
                user_principal_name,
                display_name,
                previous_state,
                requested_state,
                time,
            } => {
                check_state(&requested_state)?;
                let at = self.entry_for(&id, &target, &requested_state, number);
                // A new plan for a user starts their story over: what an earlier attempt sent or
                // recorded no longer applies.
                self.entries[at] = Entry {
                    user_principal_name,
                    display_name,
                    previous_state: Some(previous_state),
                    time,
                    ..Entry::pending(target, id, requested_state, number)
                };
            }
            Record::Sending { target, id, previous_state, requested_state, time } => {
                check_state(&requested_state)?;
                let at = self.entry_for(&id, &target, &requested_state, number);
                let entry = &mut self.entries[at];
                entry.previous_state = Some(previous_state);
                entry.requested_state = requested_state;
                entry.sent = true;
                entry.status = Status::Pending;
                entry.error = None;
                entry.time = time;
                entry.line = number;
            }
            Record::Outcome {
                target,
                id,
                user_principal_name,
                display_name,
                outcome,
                previous_state,
                requested_state,
                state,
                error,
                time,
                ..
            } => {
                let at = self.entry_for(&id, &target, &requested_state, number);
                let entry = &mut self.entries[at];
                if user_principal_name.is_some() {
                    entry.user_principal_name = user_principal_name;
                }
                if display_name.is_some() {
                    entry.display_name = display_name;
                }
                if previous_state.is_some() {
                    entry.previous_state = previous_state;
                }
                entry.requested_state = requested_state;
                entry.status = outcome.into();
                entry.state = state;
                entry.error = error;
                entry.time = time;
                entry.line = number;
            }
        }
        Ok(())
    }

    fn entry_for(&mut self, id: &str, target: &str, requested_state: &str, line: usize) -> usize {
        if let Some(&at) = self.index.get(id) {
            return at;
        }
        self.index.insert(id.to_string(), self.entries.len());
        self.entries.push(Entry::pending(target.to_string(), id.to_string(), requested_state.to_string(), line));
        self.entries.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::parse;
    use crate::journal::samples::*;

    #[test]
    fn fold_gives_each_users_latest_status_and_what_resume_and_undo_need() {
        let journal = parse("j", text(&sample()).as_bytes()).unwrap();
        assert_eq!(journal.header.operation, "set");
        assert_eq!(journal.header.requested_state.as_deref(), Some("enforced"));
        assert!(journal.warnings.is_empty());
        let by_id = |id: &str| journal.entries.iter().find(|e| e.id == id).unwrap().clone();
        let a = by_id("a");
        assert_eq!((a.status, a.sent, a.state.as_deref()), (Status::Changed, true, Some("enforced")));
        assert!(!a.resume_needed() && a.undo_needed());
        let b = by_id("b");
        assert_eq!((b.status, b.sent, b.previous_state.as_deref()), (Status::Pending, true, Some("enabled")));
        assert!(b.resume_needed() && b.undo_needed(), "sent without outcome: may have landed");
        let c = by_id("c");
        assert_eq!(c.status, Status::Failed);
        assert!(c.resume_needed() && c.undo_needed());
        let d = by_id("d");
        assert_eq!((d.status, d.sent), (Status::Pending, false));
        assert!(d.resume_needed() && !d.undo_needed(), "never sent: nothing to undo");
        assert_eq!(journal.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn already_in_state_and_unchanged_need_neither_resume_nor_undo() {
        let records = vec![
            header(),
            outcome("x", Outcome::AlreadyInState, "enforced", "enforced"),
            planned("y", "disabled"),
            sending("y", "disabled"),
            outcome("y", Outcome::Unchanged, "disabled", "disabled"),
        ];
        let journal = parse("j", text(&records).as_bytes()).unwrap();
        assert!(journal.entries.iter().all(|e| !e.resume_needed() && !e.undo_needed()));
        assert_eq!(journal.entries[0].target, "x@contoso.com");
    }
}
