//! Events a job sends to the host (docs/ARCHITECTURE.md §1). Serialised on the worker that
//! produced them, so the host's pipeline thread only parses and writes.

use serde::Serialize;

use crate::error::EngineError;

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
}

/// One user's failure as an `error` event (non-terminating).
pub fn user_error(error: &EngineError, target: &str) -> String {
    serde_json::to_string(&error.to_event("error", target)).expect("events always serialise")
}

/// The job's failure as a `fatal` event (terminating).
pub fn fatal(error: &EngineError, target: &str) -> String {
    error.to_event_json(target)
}
