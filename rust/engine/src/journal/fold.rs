//! Folding a journal's records into one entry per user: what the journal says about each user,
//! and from that what a resumed run and an undo still have to do.
//!
//! Two rules keep an undo honest when a user appears more than once (the same person given
//! twice, a PATCH resent by a resumed run): "changed" is sticky (a later "already in state" does
//! not hide that this run changed the user), and the state before the first PATCH that may have
//! landed is the one kept (it is what an undo restores).

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
    /// An undo left the user alone: someone else changed them since.
    ChangedSince,
    /// A run that requires coverage left the user alone: their verdict was not `Covered`.
    NotCovered,
}

impl From<Outcome> for Status {
    fn from(outcome: Outcome) -> Status {
        match outcome {
            Outcome::Changed => Status::Changed,
            Outcome::Unchanged => Status::Unchanged,
            Outcome::AlreadyInState => Status::AlreadyInState,
            Outcome::Failed => Status::Failed,
            Outcome::ChangedSince => Status::ChangedSince,
            Outcome::NotCovered => Status::NotCovered,
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
    /// The state before the change: from the `sending` record of the first PATCH that may have
    /// landed (read right before it), else from the plan or the outcome.
    pub previous_state: Option<String>,
    pub requested_state: String,
    /// A `sending` record exists that no definite refusal answered: the PATCH may have gone out.
    pub sent: bool,
    pub status: Status,
    /// The state read back after the change.
    pub state: Option<String>,
    pub error: Option<String>,
    pub time: String,
    /// The line of the latest record about this user.
    pub line: usize,
    /// A run that requires coverage: the verdict the user's change (or skip) was decided on.
    pub verdict: Option<String>,
    pub verdict_reason: Option<String>,
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
            verdict: None,
            verdict_reason: None,
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
                Status::Unchanged | Status::AlreadyInState | Status::ChangedSince | Status::NotCovered => false,
            }
    }

    /// This run may have changed the user: what came before is the state to keep.
    fn may_have_changed(&self) -> bool {
        self.status == Status::Changed || self.sent
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
    pub tenant_id: Option<String>,
    pub app_id: Option<String>,
    pub account: Option<String>,
    pub require_coverage: bool,
}

impl Header {
    /// Refuses to resume or undo a run made in another tenant than the one connected now. A
    /// journal (or a connection) that does not say which tenant it is cannot be compared.
    pub fn ensure_same_tenant(&self, connected: Option<&str>, path: &str) -> Result<(), EngineError> {
        match (self.tenant_id.as_deref(), connected) {
            (Some(journal), Some(connected)) if !journal.eq_ignore_ascii_case(connected) => {
                Err(EngineError::invalid_input(format!(
                    "The journal '{path}' records a run in tenant {journal}{by}, and the connection is to tenant \
                     {connected}. Nothing was read from Graph or changed. Connect to tenant {journal} \
                     (Connect-PerUserMfa -TenantId {journal} ...), then run the command again.",
                    by = self.account.as_deref().map(|a| format!(" by {a}")).unwrap_or_default(),
                )))
            }
            _ => Ok(()),
        }
    }
}

/// The records folded so far: the header, one entry per user (in the order users first appear),
/// how many runs resumed the journal, whether the last run recorded its end.
#[derive(Debug, Default)]
pub(super) struct Fold {
    pub header: Header,
    pub entries: Vec<Entry>,
    pub resumes: usize,
    /// The latest run (the first, or the latest resume) wrote its `end` record.
    pub ended: bool,
    /// The process of the latest run (it holds the lock while that run goes on).
    pub pid: Option<u32>,
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
            Record::Header {
                format,
                operation,
                created,
                requested_state,
                undo_of,
                tenant_id,
                app_id,
                account,
                pid,
                require_coverage,
                ..
            } => {
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
                self.header = Header {
                    format,
                    operation,
                    created,
                    requested_state,
                    undo_of,
                    tenant_id,
                    app_id,
                    account,
                    require_coverage,
                };
                self.pid = pid;
            }
            _ if number == 1 => return Err(damaged(path, 1, "the first line must be the journal's header")),
            Record::Resume { pid, .. } => {
                self.resumes += 1;
                self.ended = false;
                self.pid = pid;
            }
            Record::End { .. } => self.ended = true,
            Record::Planned {
                target,
                id,
                user_principal_name,
                display_name,
                previous_state,
                requested_state,
                verdict,
                verdict_reason,
                time,
            } => {
                check_state(&requested_state)?;
                let at = self.entry_for(&id, &target, &requested_state, number);
                let entry = &mut self.entries[at];
                if entry.may_have_changed() {
                    // The same user planned twice (given twice): the first plan's story goes on.
                    return Ok(());
                }
                *entry = Entry {
                    user_principal_name,
                    display_name,
                    previous_state: Some(previous_state),
                    time,
                    verdict,
                    verdict_reason,
                    ..Entry::pending(target, id, requested_state, number)
                };
            }
            Record::Sending { target, id, previous_state, requested_state, time } => {
                check_state(&requested_state)?;
                let at = self.entry_for(&id, &target, &requested_state, number);
                let entry = &mut self.entries[at];
                if !entry.may_have_changed() {
                    entry.previous_state = Some(previous_state);
                    entry.status = Status::Pending;
                    entry.error = None;
                }
                entry.requested_state = requested_state;
                entry.sent = true;
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
                refused,
                verdict,
                verdict_reason,
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
                if state.is_some() {
                    entry.state = state;
                }
                entry.time = time;
                entry.line = number;
                if verdict.is_some() {
                    entry.verdict = verdict;
                    entry.verdict_reason = verdict_reason;
                }
                if entry.status == Status::Changed {
                    // Changed stays changed, from the state it had before.
                    return Ok(());
                }
                if previous_state.is_some() && !entry.sent {
                    entry.previous_state = previous_state;
                }
                if refused {
                    entry.sent = false;
                }
                entry.requested_state = requested_state;
                entry.status = outcome.into();
                entry.error = error;
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

    #[test]
    fn changed_is_sticky_and_the_earliest_previous_state_is_kept() {
        // The same user given twice and worked on at once: one PATCH landed, the other worker read
        // the state afterwards and found it already in place. The undo must still restore it.
        let records = vec![
            header(),
            planned("a", "enabled"),
            planned("a", "enabled"),
            sending("a", "enabled"),
            outcome("a", Outcome::Changed, "enabled", "enforced"),
            outcome("a", Outcome::AlreadyInState, "enforced", "enforced"),
        ];
        let journal = parse("j", text(&records).as_bytes()).unwrap();
        let a = &journal.entries[0];
        assert_eq!((a.status, a.previous_state.as_deref()), (Status::Changed, Some("enabled")));
        assert!(a.undo_needed());
        // Both PATCHes sent: the state before the first is the one to restore.
        let records = vec![
            header(),
            planned("b", "disabled"),
            sending("b", "disabled"),
            sending("b", "enabled"),
            outcome("b", Outcome::Changed, "enabled", "enforced"),
        ];
        let journal = parse("j", text(&records).as_bytes()).unwrap();
        assert_eq!(journal.entries[0].previous_state.as_deref(), Some("disabled"));
    }

    #[test]
    fn a_user_left_alone_for_coverage_needs_neither_resume_nor_undo_and_keeps_the_verdict() {
        let mut skipped = outcome("n", Outcome::NotCovered, "enforced", "enforced");
        let mut changed_planned = planned("c", "enabled");
        if let Record::Outcome { verdict, verdict_reason, .. } = &mut skipped {
            *verdict = Some("PartiallyCovered".into());
            *verdict_reason = Some("Only policies with conditions require MFA.".into());
        }
        if let Record::Planned { verdict, verdict_reason, .. } = &mut changed_planned {
            *verdict = Some("Covered".into());
            *verdict_reason = Some("'All users' requires MFA at every sign-in of this account.".into());
        }
        let mut coverage_header = header();
        if let Record::Header { require_coverage, .. } = &mut coverage_header {
            *require_coverage = true;
        }
        let records = vec![
            coverage_header,
            skipped,
            changed_planned,
            sending("c", "enabled"),
            outcome("c", Outcome::Changed, "enabled", "disabled"),
        ];
        let journal = parse("j", text(&records).as_bytes()).unwrap();
        assert!(journal.header.require_coverage);
        let n = &journal.entries[0];
        assert_eq!((n.status, n.verdict.as_deref()), (Status::NotCovered, Some("PartiallyCovered")));
        assert!(!n.resume_needed() && !n.undo_needed(), "left alone: a resume keeps it so, an undo has nothing to do");
        let c = &journal.entries[1];
        assert_eq!((c.status, c.verdict.as_deref()), (Status::Changed, Some("Covered")));
        assert!(c.verdict_reason.as_deref().unwrap().contains("'All users'"));
        assert!(c.undo_needed());
        // A journal from before the field reads as a run without the rule.
        assert!(!parse("j", text(&[header()]).as_bytes()).unwrap().header.require_coverage);
    }

    #[test]
    fn a_definite_refusal_clears_sent() {
        let mut refused = outcome("a", Outcome::Failed, "enabled", "enabled");
        if let Record::Outcome { refused: flag, state, .. } = &mut refused {
            *flag = true;
            *state = None;
        }
        let records = vec![header(), planned("a", "enabled"), sending("a", "enabled"), refused];
        let journal = parse("j", text(&records).as_bytes()).unwrap();
        let a = &journal.entries[0];
        assert_eq!((a.status, a.sent), (Status::Failed, false));
        assert!(a.resume_needed() && !a.undo_needed(), "refused: nothing landed, nothing to undo");
    }

    #[test]
    fn the_latest_run_is_complete_only_with_its_end_record() {
        let end = Record::End { time: crate::utc::now_millis() };
        let resume = Record::Resume { time: crate::utc::now_millis(), torn_line: None, engine: None, pid: Some(7) };
        let complete = parse("j", text(&[header(), planned("a", "disabled"), end.clone()]).as_bytes()).unwrap();
        assert!(complete.ended);
        let resumed = parse("j", text(&[header(), end.clone(), resume.clone()]).as_bytes()).unwrap();
        assert!(!resumed.ended && resumed.pid == Some(7));
        assert!(
            parse("j", text(&[header(), end, resume, Record::End { time: String::new() }]).as_bytes()).unwrap().ended
        );
        assert!(!parse("j", text(&[header(), planned("a", "disabled")]).as_bytes()).unwrap().ended);
    }

    #[test]
    fn another_tenant_is_refused_naming_both() {
        let journal = parse("j", text(&[header()]).as_bytes()).unwrap();
        assert!(journal.header.ensure_same_tenant(Some(&TENANT.to_uppercase()), "j").is_ok());
        assert!(journal.header.ensure_same_tenant(None, "j").is_ok());
        let error = journal.header.ensure_same_tenant(Some("other-tenant"), "/j.jsonl").unwrap_err();
        assert!(
            error.message.contains(TENANT)
                && error.message.contains("other-tenant")
                && error.message.contains("/j.jsonl")
        );
    }
}
