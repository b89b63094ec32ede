//! Events a job sends to the host (docs/ARCHITECTURE.md §1). Serialised on the worker that
//! produced them, so the host's pipeline thread only parses and writes.

use serde::Serialize;

use crate::bulk::Action;
use crate::error::EngineError;
use crate::journal::{Outcome, Status};
use crate::model::UserReport;

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    #[serde(rename_all = "camelCase")]
    UserState {
        target: String,
        id: String,
        user_principal_name: Option<String>,
        display_name: Option<String>,
        per_user_mfa_state: String,
    },
    /// `getStates` with `report`: one user's row of `Get-PerUserMfaState -Detailed`. Dates are
    /// ISO 8601 UTC; a column whose source was unavailable is null.
    UserReport(Box<UserReport>),
    #[serde(rename_all = "camelCase")]
    ChangeResult {
        target: String,
        id: String,
        user_principal_name: Option<String>,
        display_name: Option<String>,
        previous_state: String,
        requested_state: String,
        state: String,
        changed: bool,
        /// Bulk changes: how the journal records it (`changed`, `unchanged`, `alreadyInState`).
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
    },
    /// planChanges: what applying would do for one user, from the state read just now.
    #[serde(rename_all = "camelCase")]
    PlannedChange {
        target: String,
        id: String,
        user_principal_name: Option<String>,
        display_name: Option<String>,
        /// The state Graph reports now.
        current_state: String,
        /// The state before the change (for a resumed user whose PATCH landed: the state before it).
        previous_state: String,
        requested_state: String,
        action: Action,
        /// The journal shows a PATCH for this user may already have gone out.
        sent: bool,
    },
    /// readJournal: the journal's first line.
    #[serde(rename_all = "camelCase")]
    JournalHeader {
        path: String,
        format: String,
        operation: String,
        created: String,
        requested_state: Option<String>,
        undo_of: Option<String>,
        lines: usize,
        resumes: usize,
    },
    /// readJournal: one user's latest status.
    #[serde(rename_all = "camelCase")]
    JournalEntry {
        target: String,
        id: String,
        user_principal_name: Option<String>,
        display_name: Option<String>,
        status: Status,
        previous_state: Option<String>,
        requested_state: String,
        state: Option<String>,
        sent: bool,
        error: Option<String>,
        time: String,
        line: usize,
        resume_needed: bool,
        undo_needed: bool,
    },
    /// Something the admin should see without asking for -Verbose (the host writes it to the
    /// information stream, shown like Write-Host).
    Information {
        message: String,
    },
    #[serde(rename_all = "camelCase")]
    Progress {
        activity: String,
        completed: u64,
        total: Option<u64>,
        rate_per_second: f64,
        seconds_remaining: Option<u64>,
        status: String,
    },
    Verbose {
        message: String,
    },
    Warning {
        message: String,
    },
}

impl Event {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("events always serialise")
    }

    pub fn verbose(message: impl Into<String>) -> String {
        Event::Verbose { message: message.into() }.to_json()
    }

    pub fn warning(message: impl Into<String>) -> String {
        Event::Warning { message: message.into() }.to_json()
    }

    pub fn information(message: impl Into<String>) -> String {
        Event::Information { message: message.into() }.to_json()
    }
}

/// One user's failure as an `error` event (non-terminating).
pub fn user_error(error: &EngineError, target: &str) -> String {
    serde_json::to_string(&error.to_event("error", target)).expect("events always serialise")
}

/// The job's failure as a `fatal` event (terminating).
pub fn fatal(error: &EngineError, target: &str) -> String {
    error.to_event_json(target)
}
