//! Rule 5, sign-in evidence (`-IncludeSignIns`): one scan of the beta sign-in logs over the
//! window (interactive and non-interactive, successful, MFA required), joined to users here, never
//! one query per user.
//!
//! A sign-in whose `authenticationRequirementPolicies` name only `user` (per-user MFA) as the
//! provider would have been single-factor without per-user MFA: any such sign-in turns `Covered`
//! into `PartiallyCovered`, with one gap naming how many, which apps and the latest date. The scan
//! sends `Prefer: include-unknown-enum-members`: without it Graph collapses the report-only
//! results of `appliedConditionalAccessPolicies` to `unknownFutureValue`, and the gap could not
//! name the report-only policies that would have asked for MFA. Sign-in logs that cannot be read
//! (no AuditLog.Read.All, a tenant without Entra ID P1) leave the columns empty with one warning
//! and never change a verdict.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use super::verdict::{Verdict, VerdictKind};
use super::whatif::SignInApp;
use crate::error::EngineError;
use crate::graph::client::GraphClient;
use crate::graph::throttle::Budget;
use crate::graph::{ApiVersion, Notify};
use crate::model::SignInColumns;
use crate::ops::report_sources::{
    date, page_through, user_key, FirstPage, SourceFailure, UserKey, AUDIT_LOG_READ, NON_PREMIUM,
};
use crate::utc;

/// Without this header Graph answers `unknownFutureValue` for the report-only results.
pub const PREFER_UNKNOWN_ENUM_MEMBERS: (&str, &str) = ("Prefer", "include-unknown-enum-members");

/// The `requirementProvider` of per-user MFA.
const PER_USER_MFA: &str = "user";
/// Providers that are Conditional Access (`authenticationStrengths` appears in real logs although
/// the enum does not list it).
const CONDITIONAL_ACCESS_PROVIDERS: [&str; 5] = [
    "multiConditionalAccess",
    "v1ConditionalAccess",
    "v1ConditionalAccessDependency",
    "v1ConditionalAccessPolicyIdRequested",
    "authenticationStrengths",
];
const REPORT_ONLY_REQUIRING: [&str; 3] = ["reportOnlySuccess", "reportOnlyFailure", "reportOnlyInterrupted"];

/// One user's successful MFA sign-ins in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEvidence {
    pub mfa_sign_ins: u32,
    pub per_user_only: u32,
    pub last_per_user_only: Option<i64>,
    pub per_user_only_apps: BTreeSet<String>,
    /// The same apps by id (name beside it), for What-If: it is asked about an app by its id.
    pub per_user_only_app_ids: BTreeMap<String, String>,
    pub last_conditional_access: Option<i64>,
    /// Report-only policies that would have required MFA in per-user-only sign-ins, with how many.
    pub report_only_would_require: BTreeMap<String, u32>,
}

/// What the scan found.
#[derive(Debug)]
pub enum SignInEvidence {
    /// `-IncludeSignIns` not given: no columns.
    NotAsked,
    /// The logs could not be read: columns present and empty, verdicts unchanged. `warning` says
    /// why; `for_want_of_permission` when Graph's 403 named a missing permission (which the
    /// pre-flight warning may have named already).
    Unreadable {
        warning: String,
        for_want_of_permission: bool,
    },
    Read {
        days: u32,
        by_user: HashMap<UserKey, UserEvidence>,
    },
}

/// The scan's filter: successful MFA sign-ins since `since`, interactive and non-interactive
/// (Graph returns interactive sign-ins only unless `signInEventTypes` is filtered).
pub fn filter(since: i64) -> String {
    format!(
        "createdDateTime ge {} and status/errorCode eq 0 and authenticationRequirement eq 'multiFactorAuthentication' \
         and (signInEventTypes/any(t: t eq 'interactiveUser') or signInEventTypes/any(t: t eq 'nonInteractiveUser'))",
        utc::format(since)
    )
}

/// Reads the window. `Err` only for what ends the job (a rejected token, a cancelled job); a
/// refusal comes back as [`SignInEvidence::Unreadable`] with its one warning.
pub async fn scan(client: &GraphClient, days: u32, notify: &dyn Notify) -> Result<SignInEvidence, EngineError> {
    let started = Instant::now();
    let since = utc::now() - i64::from(days) * utc::DAY;
    let url = client.url(
        ApiVersion::Beta,
        &format!("/auditLogs/signIns?$filter={}&$top=1000", utf8_percent_encode(&filter(since), NON_ALPHANUMERIC)),
    );
    let mut by_user: HashMap<UserKey, UserEvidence> = HashMap::new();
    let mut rows = 0u64;
    let read = page_through(
        client,
        FirstPage { url, without_optional_query: None, headers: &[PREFER_UNKNOWN_ENUM_MEMBERS] },
        vec![(Budget::SignInLogs, 1)],
        "read the sign-in logs",
        AUDIT_LOG_READ,
        notify,
        |row| {
            rows += 1;
            add_sign_in(&mut by_user, row);
        },
    )
    .await;
    match read {
        Ok(pages) => {
            notify.verbose(format!(
                "Sign-in evidence of the last {days} days: {rows} MFA sign-ins of {} users in {pages} pages ({:.1} s; sign-in logs budget 5 requests per 10 s).",
                by_user.len(),
                started.elapsed().as_secs_f64()
            ));
            Ok(SignInEvidence::Read { days, by_user })
        }
        Err(Err(error)) => Err(error),
        Err(Ok(failure)) => Ok(SignInEvidence::Unreadable {
            warning: unreadable_warning(&failure),
            for_want_of_permission: matches!(failure, SourceFailure::Permission(_)),
        }),
    }
}

fn unreadable_warning(failure: &SourceFailure) -> String {
    let cause = match failure {
        SourceFailure::Permission(permission) => {
            format!("Graph refused to read the sign-in logs (403): the connection needs {permission}")
        }
        SourceFailure::NotPremium => format!(
            "Graph refused to read the sign-in logs (403 {NON_PREMIUM}): reading them needs Entra ID P1 or P2 in the tenant"
        ),
        SourceFailure::Other(message) => message.clone(),
    };
    format!(
        "The sign-in evidence is missing: {cause}. The sign-in columns are empty and every verdict comes from the policies alone."
    )
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value[key].as_str().filter(|s| !s.is_empty())
}

fn is_any(value: &str, of: &[&str]) -> bool {
    of.iter().any(|o| o.eq_ignore_ascii_case(value))
}

/// Whether an applied policy's controls ask for MFA (the grant `Mfa` or an authentication strength).
fn requires_mfa(applied: &Value) -> bool {
    let mfa_grant = applied["enforcedGrantControls"]
        .as_array()
        .is_some_and(|controls| controls.iter().filter_map(Value::as_str).any(|c| c.eq_ignore_ascii_case("mfa")));
    mfa_grant || applied["authenticationStrength"].is_object()
}

/// Adds one sign-in row to its user's evidence (rows that are not successful MFA sign-ins are
/// left out, whatever the filter let through).
pub fn add_sign_in(by_user: &mut HashMap<UserKey, UserEvidence>, row: &Value) {
    let (Some(id), Some(at)) = (text(row, "userId"), date(&row["createdDateTime"])) else { return };
    let succeeded = row["status"]["errorCode"].as_i64() == Some(0);
    let mfa =
        text(row, "authenticationRequirement").is_some_and(|r| r.eq_ignore_ascii_case("multiFactorAuthentication"));
    if !succeeded || !mfa {
        return;
    }
    let providers: Vec<&str> = row["authenticationRequirementPolicies"]
        .as_array()
        .map(|list| list.iter().filter_map(|p| p["requirementProvider"].as_str()).collect())
        .unwrap_or_default();
    let applied: &[Value] = row["appliedConditionalAccessPolicies"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let per_user_only = !providers.is_empty() && providers.iter().all(|p| p.eq_ignore_ascii_case(PER_USER_MFA));
    let by_conditional_access = providers.iter().any(|p| is_any(p, &CONDITIONAL_ACCESS_PROVIDERS))
        || applied
            .iter()
            .any(|a| text(a, "result").is_some_and(|r| r.eq_ignore_ascii_case("success")) && requires_mfa(a));
    let evidence = by_user.entry(user_key(id)).or_default();
    evidence.mfa_sign_ins += 1;
    if by_conditional_access {
        evidence.last_conditional_access = evidence.last_conditional_access.max(Some(at));
    }
    if per_user_only {
        evidence.per_user_only += 1;
        evidence.last_per_user_only = evidence.last_per_user_only.max(Some(at));
        let app = text(row, "appDisplayName").or_else(|| text(row, "appId")).unwrap_or("an unnamed app");
        if !evidence.per_user_only_apps.contains(app) {
            evidence.per_user_only_apps.insert(app.to_string());
        }
        if let Some(app_id) = text(row, "appId").filter(|id| !id.is_empty()) {
            evidence.per_user_only_app_ids.entry(app_id.to_ascii_lowercase()).or_insert_with(|| app.to_string());
        }
        for policy in applied {
            let report_only = text(policy, "result").is_some_and(|r| is_any(r, &REPORT_ONLY_REQUIRING));
            if report_only && requires_mfa(policy) {
                let name = text(policy, "displayName").or_else(|| text(policy, "id")).unwrap_or("(unnamed)");
                *evidence.report_only_would_require.entry(name.to_string()).or_default() += 1;
            }
        }
    }
}

fn day(unix: i64) -> String {
    utc::format(unix)[..10].to_string()
}

impl SignInEvidence {
    /// The columns for one user (None without `-IncludeSignIns`).
    pub fn columns(&self, key: UserKey) -> Option<SignInColumns> {
        match self {
            SignInEvidence::NotAsked => None,
            SignInEvidence::Unreadable { .. } => Some(SignInColumns::default()),
            SignInEvidence::Read { by_user, .. } => {
                let found = by_user.get(&key).cloned().unwrap_or_default();
                Some(SignInColumns {
                    mfa_sign_ins: Some(found.mfa_sign_ins),
                    per_user_only_mfa_sign_ins: Some(found.per_user_only),
                    last_per_user_only_mfa_sign_in: found.last_per_user_only.map(utc::format),
                    per_user_only_apps: found.per_user_only_apps.into_iter().collect(),
                    last_conditional_access_mfa_sign_in: found.last_conditional_access.map(utc::format),
                })
            }
        }
    }

    /// The apps of the user's per-user-only sign-ins, by id: What-If is asked about each of them
    /// too (rule 6). Empty without the evidence.
    pub fn sign_in_apps(&self, key: UserKey) -> Vec<SignInApp> {
        let SignInEvidence::Read { by_user, .. } = self else { return Vec::new() };
        by_user
            .get(&key)
            .map(|found| {
                found
                    .per_user_only_app_ids
                    .iter()
                    .map(|(id, name)| SignInApp { id: id.clone(), name: name.clone() })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rule 5 on one verdict: per-user-only sign-ins add one gap, and turn `Covered` into
    /// `PartiallyCovered`.
    pub fn apply(&self, key: UserKey, verdict: &mut Verdict) {
        let SignInEvidence::Read { days, by_user } = self else { return };
        let Some(found) = by_user.get(&key).filter(|e| e.per_user_only > 0) else { return };
        let count = found.per_user_only;
        let plural = if count == 1 { "sign-in" } else { "sign-ins" };
        let apps: Vec<&str> = found.per_user_only_apps.iter().map(String::as_str).collect();
        let latest = found.last_per_user_only.map(day).unwrap_or_default();
        let mut gap = format!(
            "{count} {plural} in the last {days} days needed MFA only because of per-user MFA ({}; latest {latest})",
            apps.join(", ")
        );
        for (policy, n) in &found.report_only_would_require {
            gap.push_str(&format!("; report-only '{policy}' would have required MFA in {n} of them"));
        }
        verdict.gaps.push(gap);
        if verdict.verdict == VerdictKind::Covered {
            verdict.verdict = VerdictKind::PartiallyCovered;
            let those = if count == 1 { "that sign-in" } else { "those sign-ins" };
            verdict.reason = format!(
                "Policies cover this account on paper, but {count} {plural} in the last {days} days needed MFA only \
                 because of per-user MFA: without it {those} would have been single-factor."
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "00000000-0000-4000-8000-000000000001";

    fn row(at: &str, providers: &[&str], app: &str, applied: Value) -> Value {
        json!({
            "userId": ID, "createdDateTime": at, "appDisplayName": app, "appId": format!("app-{}", app.to_ascii_lowercase()),
            "status": {"errorCode": 0}, "authenticationRequirement": "multiFactorAuthentication",
            "authenticationRequirementPolicies": providers.iter().map(|p| json!({"requirementProvider": p, "detail": ""})).collect::<Vec<_>>(),
            "appliedConditionalAccessPolicies": applied,
        })
    }

    fn covered() -> Verdict {
        Verdict {
            verdict: VerdictKind::Covered,
            covered_by: vec!["Require MFA for all users".into()],
            report_only: vec![],
            gaps: vec![],
            reason: "covered".into(),
        }
    }

    #[test]
    fn only_sign_ins_required_by_per_user_mfa_alone_count() {
        let mut by_user = HashMap::new();
        let report_only = json!([{"displayName": "MFA for Salesforce", "result": "reportOnlyInterrupted", "enforcedGrantControls": ["Mfa"]}]);
        add_sign_in(&mut by_user, &row("2026-11-20T10:00:00Z", &["user"], "Salesforce", report_only));
        add_sign_in(&mut by_user, &row("2026-11-22T10:00:00Z", &["user"], "Salesforce", json!([])));
        add_sign_in(&mut by_user, &row("2026-11-21T10:00:00Z", &["user"], "Box", json!([])));
        add_sign_in(
            &mut by_user,
            &row("2026-11-23T10:00:00Z", &["user", "multiConditionalAccess"], "Outlook", json!([])),
        );
        add_sign_in(&mut by_user, &row("2026-11-24T10:00:00Z", &["user", "unknownFutureValue"], "Teams", json!([])));
        let mut failed = row("2026-11-25T10:00:00Z", &["user"], "Failed app", json!([]));
        failed["status"]["errorCode"] = json!(50074);
        add_sign_in(&mut by_user, &failed);
        let found = &by_user[&user_key(ID)];
        assert_eq!(found.mfa_sign_ins, 5);
        assert_eq!(found.per_user_only, 3);
        assert_eq!(found.last_per_user_only, utc::parse("2026-11-22T10:00:00Z"));
        assert_eq!(found.last_conditional_access, utc::parse("2026-11-23T10:00:00Z"));
        let evidence = SignInEvidence::Read { days: 30, by_user };
        let mut verdict = covered();
        evidence.apply(user_key(ID), &mut verdict);
        assert_eq!(verdict.verdict, VerdictKind::PartiallyCovered);
        assert_eq!(
            verdict.gaps,
            vec!["3 sign-ins in the last 30 days needed MFA only because of per-user MFA (Box, Salesforce; latest 2026-11-22); report-only 'MFA for Salesforce' would have required MFA in 1 of them"]
        );
        let columns = evidence.columns(user_key(ID)).unwrap();
        assert_eq!(columns.per_user_only_apps, vec!["Box", "Salesforce"]);
        assert_eq!(
            evidence.sign_in_apps(user_key(ID)),
            vec![
                SignInApp { id: "app-box".into(), name: "Box".into() },
                SignInApp { id: "app-salesforce".into(), name: "Salesforce".into() }
            ],
            "What-If is asked about the apps of per-user-only sign-ins, by id"
        );
        assert_eq!(columns.last_conditional_access_mfa_sign_in.as_deref(), Some("2026-11-23T10:00:00Z"));
    }

    #[test]
    fn unreadable_or_absent_evidence_changes_nothing() {
        for evidence in [
            SignInEvidence::Unreadable { warning: String::new(), for_want_of_permission: false },
            SignInEvidence::Read { days: 7, by_user: HashMap::new() },
        ] {
            let mut verdict = covered();
            evidence.apply(user_key(ID), &mut verdict);
            assert_eq!(verdict, covered());
        }
        assert_eq!(
            SignInEvidence::Unreadable { warning: String::new(), for_want_of_permission: false }.columns(1),
            Some(SignInColumns::default())
        );
        assert_eq!(SignInEvidence::NotAsked.columns(1), None);
        let read = SignInEvidence::Read { days: 7, by_user: HashMap::new() }.columns(1).unwrap();
        assert_eq!((read.mfa_sign_ins, read.per_user_only_mfa_sign_ins), (Some(0), Some(0)));
    }

    #[test]
    fn the_filter_asks_for_both_kinds_of_user_sign_in() {
        let f = filter(0);
        assert!(f.contains(
            "signInEventTypes/any(t: t eq 'interactiveUser') or signInEventTypes/any(t: t eq 'nonInteractiveUser')"
        ));
        assert!(f.starts_with("createdDateTime ge 1970-01-01T00:00:00Z and status/errorCode eq 0"));
    }
}
