//! The journal's line format: one JSON record per line, sealed with a check chained to the line
//! before it, so an edited, removed or reordered line is noticed.

use serde::{Deserialize, Serialize};

/// The first line's `format`.
pub const FORMAT: &str = "PerUserMfa.Journal/1";

const CHECK_KEY: &str = ",\"check\":\"";

/// How a record says one user's change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Graph now reports another state than before (read back).
    Changed,
    /// Graph accepted the PATCH but still reports the state from before.
    Unchanged,
    /// The user already had the requested state; nothing was sent.
    AlreadyInState,
    /// The change could not be made (or not confirmed); `error` says why.
    Failed,
    /// An undo left the user alone: someone else changed them since the run it undoes.
    ChangedSince,
    /// A run that requires coverage left the user alone: their migration verdict (`verdict`,
    /// `verdictReason`) is not `Covered`. Nothing was sent, and a resume does not send it.
    NotCovered,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Record {
    #[serde(rename_all = "camelCase")]
    Header {
        format: String,
        /// `set` or `undo`.
        operation: String,
        created: String,
        /// The state a `set` run asked for (each record has its own too).
        #[serde(default)]
        requested_state: Option<String>,
        /// The journal an `undo` run reverses.
        #[serde(default)]
        undo_of: Option<String>,
        #[serde(default)]
        engine: Option<String>,
        /// The tenant the run changed (a resume or an undo under another tenant is refused).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
        /// The app (client id) the run signed in with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app_id: Option<String>,
        /// The account the run signed in as (none for an app's own identity).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The process that holds the journal's lock while the run goes on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        /// The run changes only users whose migration verdict is `Covered` (a resume keeps the rule).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        require_coverage: bool,
    },
    #[serde(rename_all = "camelCase")]
    Resume {
        time: String,
        /// The line a killed run left cut off, which this record's newline terminated.
        #[serde(default)]
        torn_line: Option<usize>,
        #[serde(default)]
        engine: Option<String>,
        /// The process that holds the journal's lock while the resumed run goes on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// The run (or the resumed run) reached its end: every user it was given has an outcome. A
    /// journal whose last run has no `end` was stopped, or lost lines at its end.
    #[serde(rename_all = "camelCase")]
    End { time: String },
    #[serde(rename_all = "camelCase")]
    Planned {
        target: String,
        id: String,
        #[serde(default)]
        user_principal_name: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
        previous_state: String,
        requested_state: String,
        /// A run that requires coverage: the verdict the change was decided on, and its reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict_reason: Option<String>,
        time: String,
    },
    #[serde(rename_all = "camelCase")]
    Sending { target: String, id: String, previous_state: String, requested_state: String, time: String },
    #[serde(rename_all = "camelCase")]
    Outcome {
        target: String,
        id: String,
        #[serde(default)]
        user_principal_name: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
        outcome: Outcome,
        #[serde(default)]
        previous_state: Option<String>,
        requested_state: String,
        /// The state Graph reported afterwards (read back), when known.
        #[serde(default)]
        state: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// Graph answered the PATCH with a definite refusal (a 4xx), so it did not land: the
        /// user's earlier `sending` no longer counts as possibly sent.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refused: bool,
        /// A run that requires coverage: the user's verdict and its reason (why the user was
        /// changed, or left alone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict_reason: Option<String>,
        time: String,
    },
}

/// Who signed in for a run: recorded in the journal's header, so a resume or an undo under
/// another tenant is refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection {
    pub tenant_id: Option<String>,
    pub app_id: Option<String>,
    pub account: Option<String>,
}

fn fnv1a(previous_check: &str, body: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in previous_check.bytes().chain(std::iter::once(b'\n')).chain(body.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The line for `record` (newline included) and its check, chained to `previous_check`.
pub fn seal(previous_check: &str, record: &Record) -> (String, String) {
    let body = serde_json::to_string(record).expect("records always serialise");
    let check = fnv1a(previous_check, &body);
    let line = format!("{}{CHECK_KEY}{check}\"}}\n", &body[..body.len() - 1]);
    (line, check)
}

/// The lines for `records`, each chained to the one before it, starting from `check`; leaves
/// `check` at the last record's, for the next write to chain to.
pub(super) fn seal_all<'a>(check: &mut String, records: impl IntoIterator<Item = &'a Record>) -> String {
    let mut text = String::new();
    for record in records {
        let (line, next) = seal(check, record);
        text.push_str(&line);
        *check = next;
    }
    text
}

/// Reads one line (without its newline): the record and its check, or why it is not a record.
pub(super) fn unseal(line: &str, previous_check: &str) -> Result<(Record, String), String> {
    if line.trim().is_empty() {
        return Err("the line is empty".into());
    }
    let at = line.rfind(CHECK_KEY).ok_or("the line has no \"check\" value, so PerUserMfa did not write it")?;
    let rest = &line[at + CHECK_KEY.len()..];
    let check = rest.strip_suffix("\"}").filter(|c| c.len() == 16 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(check) = check else {
        return Err("the line does not end with a \"check\" value, so it is incomplete or was edited".into());
    };
    let body = format!("{}}}", &line[..at]);
    let record: Record = serde_json::from_str(&body).map_err(|e| format!("the line is not a journal record ({e})"))?;
    if fnv1a(previous_check, &body) != check {
        return Err(
            "its \"check\" value does not match: the line was changed, or a line before it was removed or reordered"
                .into(),
        );
    }
    Ok((record, check.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::samples::*;

    #[test]
    fn lines_are_json_with_a_chained_check() {
        let text = text(&sample());
        let mut previous = String::new();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value["type"].is_string());
            let (_, check) = unseal(line, &previous).unwrap();
            assert_eq!(value["check"], check.as_str());
            previous = check;
        }
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["format"], FORMAT);
    }
}
