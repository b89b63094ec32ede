//! Records and files for the journal's unit tests.

use super::record::{seal_all, Outcome, Record, FORMAT};
use crate::utc;

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";

pub fn header() -> Record {
    Record::Header {
        format: FORMAT.into(),
        operation: "set".into(),
        created: utc::now_millis(),
        requested_state: Some("enforced".into()),
        undo_of: None,
        engine: None,
        tenant_id: Some(TENANT.into()),
        app_id: None,
        account: None,
        pid: Some(std::process::id()),
        require_coverage: false,
    }
}

pub fn planned(id: &str, previous: &str) -> Record {
    Record::Planned {
        target: format!("{id}@contoso.com"),
        id: id.into(),
        user_principal_name: Some(format!("{id}@contoso.com")),
        display_name: Some(id.to_uppercase()),
        previous_state: previous.into(),
        requested_state: "enforced".into(),
        verdict: None,
        verdict_reason: None,
        time: utc::now_millis(),
    }
}

pub fn sending(id: &str, previous: &str) -> Record {
    Record::Sending {
        target: format!("{id}@contoso.com"),
        id: id.into(),
        previous_state: previous.into(),
        requested_state: "enforced".into(),
        time: utc::now_millis(),
    }
}

pub fn outcome(id: &str, outcome: Outcome, previous: &str, state: &str) -> Record {
    Record::Outcome {
        target: format!("{id}@contoso.com"),
        id: id.into(),
        user_principal_name: None,
        display_name: None,
        outcome,
        previous_state: Some(previous.into()),
        requested_state: "enforced".into(),
        state: Some(state.into()),
        error: None,
        note: None,
        refused: false,
        verdict: None,
        verdict_reason: None,
        time: utc::now_millis(),
    }
}

pub fn text(records: &[Record]) -> String {
    seal_all(&mut String::new(), records)
}

pub fn sample() -> Vec<Record> {
    vec![
        header(),
        planned("a", "disabled"),
        planned("b", "enabled"),
        planned("c", "disabled"),
        planned("d", "disabled"),
        sending("a", "disabled"),
        outcome("a", Outcome::Changed, "disabled", "enforced"),
        sending("b", "enabled"),
        sending("c", "disabled"),
        outcome("c", Outcome::Failed, "disabled", "disabled"),
    ]
}

pub fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pumfa-journal-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
