//! Events a job sends to the host (docs/ARCHITECTURE.md §1). Serialised on the worker that
//! produced them, so the host's pipeline thread only parses and writes.

use serde::Serialize;

use crate::bulk::Action;
use crate::error::EngineError;
use crate::journal::{Outcome, Status};
use crate::model::{MigrationCheck, UserReport};

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
    /// `testMigration`: one account's migration-readiness verdict.
    MigrationCheck(Box<MigrationCheck>),
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
        /// An undo: the state the undone run left the user in (see `ChangeItem::expected_state`).
        #[serde(skip_serializing_if = "Option::is_none")]
        expected_state: Option<String>,
        /// A run that requires coverage: the user's migration verdict and its reason (see
        /// `ChangeItem::verdict`), and the user's type, which the apply step's verdict needs again.
        #[serde(skip_serializing_if = "Option::is_none")]
        verdict: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        verdict_reason: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_type: Option<String>,
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
        /// The latest run recorded its end; false: it was stopped, or lines at the end were lost.
        complete: bool,
        tenant_id: Option<String>,
        app_id: Option<String>,
        account: Option<String>,
        /// The run changed only users whose migration verdict was `Covered`; a resume keeps the rule.
        require_coverage: bool,
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
        /// A run that requires coverage: the verdict the change (or the skip) was decided on, and its reason.
        verdict: Option<String>,
        verdict_reason: Option<String>,
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
    /// estimateWrites: how long the PATCHes of a bulk change would take from now, for the
    /// confirmation prompt (the same estimate as the apply job's first line).
    #[serde(rename_all = "camelCase")]
    WriteEstimate {
        writes: u64,
        seconds: u64,
        /// `about 2 min 30 s`.
        duration: String,
        /// The write budget the estimate paces to: this many per `window_seconds`.
        allowed_per_window: u64,
        window_seconds: u64,
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

/// The contract with the C# layer: one example of every event kind, built from the types above,
/// is checked in under `docs/events/` (`<type>.json`). `PerUserMfa.Tests`' `EventContractTests`
/// reads each file through the C# event types and fails on a field either side lacks, so a field
/// renamed on one side fails a test on the other.
#[cfg(test)]
mod contract {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::error::ErrorKind;

    const UPDATE: &str = "PUMFA_UPDATE_EVENT_FIXTURES";

    /// Every variant of [`Event`], numbered. A new variant fails to compile here; give it the next
    /// number, raise [`VARIANTS`] and add its example to [`examples`].
    fn variant(event: &Event) -> usize {
        match event {
            Event::UserState { .. } => 0,
            Event::UserReport(_) => 1,
            Event::ChangeResult { .. } => 2,
            Event::PlannedChange { .. } => 3,
            Event::JournalHeader { .. } => 4,
            Event::JournalEntry { .. } => 5,
            Event::Information { .. } => 6,
            Event::Progress { .. } => 7,
            Event::Verbose { .. } => 8,
            Event::Warning { .. } => 9,
            Event::MigrationCheck(_) => 10,
            Event::WriteEstimate { .. } => 11,
        }
    }

    const VARIANTS: usize = 12;

    /// One of each kind, every optional field set (a null would pass any type check on the C# side).
    fn examples() -> Vec<Event> {
        let some = |s: &str| Some(s.to_string());
        vec![
            Event::UserState {
                target: "adele.vance@contoso.com".into(),
                id: "00000000-0000-4000-8000-000000000001".into(),
                user_principal_name: some("adele.vance@contoso.com"),
                display_name: some("Adele Vance"),
                per_user_mfa_state: "enforced".into(),
            },
            Event::UserReport(Box::new(UserReport {
                target: "adele.vance@contoso.com".into(),
                id: "00000000-0000-4000-8000-000000000001".into(),
                user_principal_name: some("adele.vance@contoso.com"),
                display_name: some("Adele Vance"),
                per_user_mfa_state: "enabled".into(),
                user_type: some("Member"),
                account_enabled: Some(true),
                is_licensed: Some(true),
                is_admin: Some(false),
                is_mfa_registered: Some(true),
                is_mfa_capable: Some(true),
                methods_registered: some("microsoftAuthenticatorPush, softwareOneTimePasscode"),
                default_mfa_method: some("microsoftAuthenticatorPush"),
                preferred_mfa_method: some("push"),
                last_sign_in: some("2026-11-28T09:15:00Z"),
                last_successful_sign_in: some("2026-11-28T09:15:00Z"),
                days_since_last_sign_in: Some(2),
                days_since_last_successful_sign_in: Some(2),
                sign_in_sessions_valid_from: some("2026-01-31T10:00:00Z"),
                password_last_changed: some("2026-06-01T08:00:00Z"),
                password_age_days: Some(182),
                password_policies: some("DisablePasswordExpiration"),
                password_never_expires: Some(true),
                last_mfa_sign_in: Some(some("2026-11-27T17:40:00Z")),
                days_since_last_mfa_sign_in: Some(Some(3)),
                authentication_methods: Some(some("microsoftAuthenticator, phone")),
            })),
            Event::ChangeResult {
                target: "miriam.o'brien@contoso.com".into(),
                id: "00000000-0000-4000-8000-000000000003".into(),
                user_principal_name: some("miriam.o'brien@contoso.com"),
                display_name: some("Miriam O'Brien"),
                previous_state: "disabled".into(),
                requested_state: "enabled".into(),
                state: "enforced".into(),
                changed: true,
                outcome: Some(Outcome::Changed),
            },
            Event::PlannedChange {
                target: "miriam.o'brien@contoso.com".into(),
                id: "00000000-0000-4000-8000-000000000003".into(),
                user_principal_name: some("miriam.o'brien@contoso.com"),
                display_name: some("Miriam O'Brien"),
                current_state: "disabled".into(),
                previous_state: "disabled".into(),
                requested_state: "enforced".into(),
                action: Action::Change,
                sent: false,
                expected_state: some("disabled"),
                verdict: some("PartiallyCovered"),
                verdict_reason: some("Only policies with conditions require MFA ('MFA for Office'): some sign-ins of this account would need no MFA."),
                user_type: some("Member"),
            },
            Event::JournalHeader {
                path: "/home/admin/.local/share/PerUserMfa/journals/20260131T091502Z-set-Enforced-3f9a1c.jsonl".into(),
                format: "PerUserMfa.Journal/1".into(),
                operation: "undo".into(),
                created: "2026-01-31T09:15:02Z".into(),
                requested_state: some("enforced"),
                undo_of: some("/home/admin/.local/share/PerUserMfa/journals/20260130T080000Z-set-Enabled-1b2c3d.jsonl"),
                lines: 412,
                resumes: 1,
                complete: false,
                tenant_id: some("11111111-2222-4333-8444-555555555555"),
                app_id: some("5f3c1e0a-7b2d-4c8e-9a61-2d4b8f0c3e17"),
                account: some("admin@contoso.com"),
                require_coverage: true,
            },
            Event::JournalEntry {
                target: "miriam.o'brien@contoso.com".into(),
                id: "00000000-0000-4000-8000-000000000003".into(),
                user_principal_name: some("miriam.o'brien@contoso.com"),
                display_name: some("Miriam O'Brien"),
                status: Status::Failed,
                previous_state: some("disabled"),
                requested_state: "enforced".into(),
                state: some("disabled"),
                sent: true,
                error: some("Graph answered 503 three times."),
                time: "2026-01-31T09:15:07Z".into(),
                line: 37,
                resume_needed: true,
                undo_needed: true,
                verdict: some("Covered"),
                verdict_reason: some("'Require MFA for all users' requires MFA at every sign-in of this account."),
            },
            Event::Information { message: "Sending 10,000 changes: this takes about 8 min.".into() },
            Event::Progress {
                activity: "Reading per-user MFA states".into(),
                completed: 120,
                total: Some(1000),
                rate_per_second: 812.5,
                seconds_remaining: Some(1),
                status: "120 of 1000 users, 812/s".into(),
            },
            Event::Verbose { message: "GET /v1.0/users: 200 in 41 ms".into() },
            Event::Warning { message: "The token lacks Policy.Read.All.".into() },
            Event::WriteEstimate {
                writes: 4277,
                seconds: 152,
                duration: "about 2 min 30 s".into(),
                allowed_per_window: 2850,
                window_seconds: 150,
            },
            Event::MigrationCheck(Box::new(MigrationCheck {
                target: "adele.vance@contoso.com".into(),
                id: "00000000-0000-4000-8000-000000000001".into(),
                user_principal_name: some("adele.vance@contoso.com"),
                display_name: some("Adele Vance"),
                per_user_mfa_state: "enforced".into(),
                verdict: "PartiallyCovered",
                covered_by: vec!["MFA outside the office".into()],
                report_only: vec!["Require MFA for all users (report-only)".into()],
                gaps: vec!["Sign-ins from trusted locations skip MFA in 'MFA outside the office'".into()],
                reason: "Only policies with conditions require MFA ('MFA outside the office'): some sign-ins of this account would need no MFA.".into(),
                what_if: Some(vec![
                    "Exchange Online, browser, Windows: MFA required by 'MFA outside the office'".into(),
                    "SharePoint Online, browser, iOS: MFA not required (report-only: 'Require MFA for all users (report-only)')".into(),
                ]),
                sign_ins: Some(crate::model::SignInColumns {
                    mfa_sign_ins: Some(14),
                    per_user_only_mfa_sign_ins: Some(2),
                    last_per_user_only_mfa_sign_in: some("2026-11-27T17:40:00Z"),
                    per_user_only_apps: vec!["Salesforce".into()],
                    last_conditional_access_mfa_sign_in: some("2026-11-29T08:05:00Z"),
                }),
            })),
        ]
    }

    /// The fixtures as they must be: file name -> pretty JSON.
    fn expected() -> BTreeMap<String, String> {
        let examples = examples();
        let mut covered = [false; VARIANTS];
        for example in &examples {
            covered[variant(example)] = true;
        }
        assert!(covered.iter().all(|c| *c), "every Event variant needs an example in events::contract::examples");
        let error = EngineError {
            status: Some(404),
            graph_code: Some("Request_ResourceNotFound".into()),
            request_id: Some("7c3a9f4e-0000-4000-8000-000000000000".into()),
            ..EngineError::new(ErrorKind::UserNotFound, "User 'nobody@contoso.com' was not found.")
        };
        let fatal = EngineError {
            status: Some(401),
            graph_code: Some("InvalidAuthenticationToken".into()),
            request_id: Some("7c3a9f4e-0000-4000-8000-000000000001".into()),
            ..EngineError::new(ErrorKind::Unauthorized, "Graph refused the access token: it has expired.")
        };
        // Serialised straight from the types, so the members keep the order the engine sends them in.
        let mut texts: Vec<String> = examples.iter().map(|e| serde_json::to_string_pretty(e).unwrap()).collect();
        texts.push(serde_json::to_string_pretty(&error.to_event("error", "nobody@contoso.com")).unwrap());
        texts.push(serde_json::to_string_pretty(&fatal.to_event("fatal", "")).unwrap());
        texts
            .into_iter()
            .map(|text| {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                let kind = value["type"].as_str().expect("every event has a type").to_string();
                (format!("{kind}.json"), text + "\n")
            })
            .collect()
    }

    fn folder() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events")
    }

    #[test]
    fn the_checked_in_event_fixtures_are_what_the_engine_sends() {
        let expected = expected();
        let folder = folder();
        if std::env::var_os(UPDATE).is_some() {
            std::fs::create_dir_all(&folder).unwrap();
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    std::fs::remove_file(path).unwrap();
                }
            }
            for (name, text) in &expected {
                std::fs::write(folder.join(name), text).unwrap();
            }
        }
        let fix = format!(
            "The event fixtures in docs/events differ from the engine's event types. If the change is \
             intended, regenerate them with `{UPDATE}=1 cargo test -p perusermfa-engine --lib events::contract`, \
             update the C# event types (dotnet/PerUserMfa/Engine/EventTypes.cs) and docs/ARCHITECTURE.md."
        );
        let mut present: Vec<String> = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{} cannot be read ({e}). {fix}", folder.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .collect();
        present.sort();
        assert_eq!(present, expected.keys().cloned().collect::<Vec<_>>(), "{fix}");
        for (name, text) in &expected {
            let on_disk = std::fs::read_to_string(folder.join(name)).unwrap().replace("\r\n", "\n");
            assert_eq!(&on_disk, text, "docs/events/{name}: {fix}");
        }
    }
}
