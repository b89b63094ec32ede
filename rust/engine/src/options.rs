//! Options the host passes in: session options and job requests, with their defaults.

use std::net::IpAddr;

use serde::Deserialize;

use crate::bulk::ChangeItem;
use crate::error::{EngineError, ErrorKind};
use crate::model::MfaState;

/// The most requests in flight per job when the caller does not say (`-ThrottleLimit`). It is an
/// upper bound: the working window adapts to the round trip (`graph::window`), and the throttle
/// gate keeps the rate under Graph's budget. 5,000 leaves room for Graph's 800 reads per second at
/// round trips of several seconds.
pub const DEFAULT_THROTTLE_LIMIT: usize = 5000;
pub const MAX_THROTTLE_LIMIT: usize = 10_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionOptions {
    /// The Graph endpoint; default: the environment's (`https://graph.microsoft.com` for Global).
    #[serde(default)]
    pub graph_endpoint: Option<String>,
    /// `Global` (default), `USGov`, `USGovDoD` or `China`: the Graph endpoint, the Entra ID
    /// authority and the token audience (crate::signin::cloud).
    #[serde(default)]
    pub environment: Option<String>,
    /// The Entra ID authority host; default: the environment's.
    #[serde(default)]
    pub authority_host: Option<String>,
    #[serde(default)]
    pub auth: AuthOptions,
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// How the session gets its bearer token (docs/ARCHITECTURE.md §1; crate::signin). What the
/// secret argument of `pumfa_session_open` carries depends on the kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AuthOptions {
    /// A token obtained elsewhere; secret: the token. Never refreshed.
    #[default]
    AccessToken,
    /// The token of a Connect-MgGraph session; secret: the token. Never refreshed.
    GraphSession,
    /// An app registration's client secret; secret: the client secret.
    #[serde(rename_all = "camelCase")]
    ClientSecret { tenant_id: String, client_id: String },
    /// An app registration's certificate; secret: its RSA private key, base64 DER (PKCS#8 or PKCS#1).
    #[serde(rename_all = "camelCase")]
    Certificate {
        tenant_id: String,
        client_id: String,
        /// SHA-1 thumbprint, hex: names the certificate (`x5t`) in the client assertion.
        thumbprint: String,
    },
    /// The host's managed identity; secret: the value of `secretVariable`, when set.
    #[serde(rename_all = "camelCase")]
    ManagedIdentity {
        /// A user-assigned identity's client id; none: the system-assigned identity.
        #[serde(default)]
        client_id: Option<String>,
        /// The variables the host sees: IDENTITY_ENDPOINT, MSI_ENDPOINT, IMDS_ENDPOINT,
        /// IDENTITY_SERVER_THUMBPRINT, AZURE_POD_IDENTITY_AUTHORITY_HOST (never the secret ones).
        #[serde(default)]
        environment_variables: std::collections::BTreeMap<String, String>,
        /// `IDENTITY_HEADER` or `MSI_SECRET`: which variable the secret argument holds.
        #[serde(default)]
        secret_variable: Option<String>,
    },
    /// The Azure CLI's signed-in account; no secret.
    #[serde(rename_all = "camelCase")]
    AzureCli {
        #[serde(default)]
        tenant_id: Option<String>,
        /// The PATH the `az` child process gets (the host's view of it).
        #[serde(default)]
        path: Option<String>,
    },
}

impl SessionOptions {
    pub fn parse(json: &str) -> Result<SessionOptions, EngineError> {
        serde_json::from_str(json)
            .map_err(|e| EngineError::invalid_input(format!("The session options are not valid: {e}.")))
    }
}

/// Checks a Graph endpoint: https anywhere, plain http only on a loopback address, so a token
/// never crosses a network in clear text. Returns the endpoint without a trailing slash.
pub fn validate_endpoint(endpoint: &str) -> Result<reqwest::Url, EngineError> {
    let invalid = |why: String| EngineError::new(ErrorKind::InvalidEndpoint, why);
    let url = reqwest::Url::parse(endpoint.trim()).map_err(|_| {
        invalid(format!(
            "'{endpoint}' is not a valid Graph endpoint. Give an absolute URL such as https://graph.microsoft.com."
        ))
    })?;
    if url.username() != "" || url.password().is_some() {
        return Err(invalid("The Graph endpoint must not contain a user name or password.".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(format!(
                "The Graph endpoint '{endpoint}' uses plain http. The access token would cross the network \
                 unencrypted, so http is allowed only for a loopback address (127.0.0.1, ::1, localhost). Use https."
            )))
        }
        other => {
            return Err(invalid(format!(
                "The Graph endpoint '{endpoint}' uses the scheme '{other}'. Use https, for example https://graph.microsoft.com."
            )))
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("The Graph endpoint must not have a query or fragment.".into()));
    }
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

/// Checks an endpoint the session sends credentials to (`-AuthorityHost`): https anywhere,
/// plain http only on a loopback address, no user name, query or fragment.
pub fn validate_url(value: &str, parameter: &str, example: &str) -> Result<reqwest::Url, EngineError> {
    let invalid = |why: String| EngineError::new(ErrorKind::InvalidEndpoint, why);
    let url = reqwest::Url::parse(value.trim()).map_err(|_| {
        invalid(format!("{parameter} '{value}' is not a valid URL. Give an absolute URL such as {example}."))
    })?;
    let plain_http_ok = url.scheme() == "http" && is_loopback(&url);
    if url.scheme() != "https" && !plain_http_ok {
        return Err(invalid(format!(
            "{parameter} '{value}' must use https (plain http is allowed only for a loopback address: 127.0.0.1, ::1, \
             localhost), so credentials never cross the network unencrypted. For example: {example}."
        )));
    }
    if url.username() != "" || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!(
            "{parameter} '{value}' must not contain a user name, password, query or fragment."
        )));
    }
    Ok(url)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// What a job does. Matches the request JSON of docs/ARCHITECTURE.md §1.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "operation", rename_all = "camelCase")]
pub enum JobRequest {
    #[serde(rename_all = "camelCase")]
    GetStates {
        scope: Scope,
        #[serde(default)]
        throttle_limit: Option<usize>,
        /// `Get-PerUserMfaState -Detailed`: one `userReport` per user instead of `userState`.
        #[serde(default)]
        report: Option<ReportOptions>,
    },
    /// Bulk changes, step 1 (reads only): for pushed `userIds` (with `state`) or `changes`, read
    /// each user's state now and send a `plannedChange` saying what applying would do.
    #[serde(rename_all = "camelCase")]
    PlanChanges {
        /// The state for pushed `userIds`; `changes` carry their own.
        #[serde(default)]
        state: Option<MfaState>,
        /// Plan a change only for users whose migration verdict is `Covered` (state `disabled`
        /// only); the others are planned `notCovered`.
        #[serde(default)]
        require_coverage: bool,
        #[serde(default)]
        throttle_limit: Option<usize>,
        /// A resumed run or an undo: how many users of the journal the host pushes as `changes`
        /// (for the progress bar, which says it re-reads their states).
        #[serde(default)]
        journal_users: Option<u64>,
    },
    /// Bulk changes, before confirming: how long `writes` PATCHes would take from now (one
    /// `writeEstimate` event; no request to Graph).
    #[serde(rename_all = "camelCase")]
    EstimateWrites { writes: u64 },
    /// Bulk changes, step 2: journal, then make the pushed `changes` (docs/ARCHITECTURE.md §4).
    #[serde(rename_all = "camelCase")]
    ApplyChanges {
        journal_path: String,
        journal_operation: JournalOperation,
        /// The header's `requestedState` for a `set` journal.
        #[serde(default)]
        requested_state: Option<MfaState>,
        /// The header's `undoOf` for an `undo` journal.
        #[serde(default)]
        undo_of: Option<String>,
        /// Change only users whose migration verdict is `Covered` right before the changes (read
        /// again); recorded in a new journal's header. A resumed journal's header also turns it on.
        #[serde(default)]
        require_coverage: bool,
        #[serde(default)]
        throttle_limit: Option<usize>,
        /// The connection's tenant, app and account: recorded in a new journal's header; a resumed
        /// journal of another tenant is refused.
        #[serde(default)]
        tenant_id: Option<String>,
        #[serde(default)]
        app_id: Option<String>,
        #[serde(default)]
        account: Option<String>,
    },
    /// Reads a journal: a `journalHeader` event, then one `journalEntry` per user. No Graph calls.
    /// Refused while another run holds the journal, or when it records another tenant than
    /// `tenantId` (the connection's).
    #[serde(rename_all = "camelCase")]
    ReadJournal {
        path: String,
        #[serde(default)]
        tenant_id: Option<String>,
    },
    /// Migration readiness (Test-PerUserMfaMigration): one `migrationCheck` per account, then
    /// the tenant summary as an `information` event.
    #[serde(rename_all = "camelCase")]
    TestMigration {
        scope: crate::ops::MigrationScope,
        /// `-Evaluate`: Graph's What-If for PartiallyCovered and Unknown users.
        #[serde(default)]
        evaluate: bool,
        #[serde(default)]
        throttle_limit: Option<usize>,
        /// `-IncludeSignIns`: scan the sign-in logs for rule 5's evidence.
        #[serde(default)]
        include_sign_ins: bool,
        /// `-SignInDays`: the window of that scan (1..=30).
        #[serde(default = "default_sign_in_days")]
        sign_in_days: u32,
    },
}

/// What `-Detailed` adds (docs/ARCHITECTURE.md §1, `report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportOptions {
    /// `-IncludeMfaSignIns`: the latest successful MFA sign-in from the sign-in logs.
    #[serde(default)]
    pub mfa_sign_ins: bool,
    /// `-IncludeMethodDetails`: one methods request per user; phone numbers and addresses appear.
    #[serde(default)]
    pub method_details: bool,
    /// `-SignInDays`: how far back the sign-in logs are searched (1..=30).
    #[serde(default = "default_sign_in_days")]
    pub sign_in_days: u32,
}

pub const DEFAULT_SIGN_IN_DAYS: u32 = 30;
pub const MAX_SIGN_IN_DAYS: u32 = 30;

fn default_sign_in_days() -> u32 {
    DEFAULT_SIGN_IN_DAYS
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { mfa_sign_ins: false, method_details: false, sign_in_days: DEFAULT_SIGN_IN_DAYS }
    }
}

/// How an `applyChanges` job treats its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JournalOperation {
    /// A new journal for Set-PerUserMfaState.
    Set,
    /// A new journal for Undo-PerUserMfaChange.
    Undo,
    /// Append to the journal of an interrupted run.
    Resume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    /// Licensed member accounts, as admins' scripts list them.
    LicensedMembers,
    /// Every user, guests and unlicensed included.
    All,
    /// The users the caller pushes.
    Input,
}

impl JobRequest {
    pub fn parse(json: &str) -> Result<JobRequest, EngineError> {
        serde_json::from_str(json)
            .map_err(|e| EngineError::invalid_input(format!("The job request is not valid: {e}.")))
    }

    pub fn throttle_limit(&self) -> Result<usize, EngineError> {
        let limit = match self {
            JobRequest::GetStates { throttle_limit, .. }
            | JobRequest::PlanChanges { throttle_limit, .. }
            | JobRequest::ApplyChanges { throttle_limit, .. }
            | JobRequest::TestMigration { throttle_limit, .. } => *throttle_limit,
            JobRequest::ReadJournal { .. } | JobRequest::EstimateWrites { .. } => None,
        };
        match limit {
            None => Ok(DEFAULT_THROTTLE_LIMIT),
            Some(n) if (1..=MAX_THROTTLE_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(EngineError::invalid_input(format!(
                "-ThrottleLimit {n} is out of range: give a number from 1 to {MAX_THROTTLE_LIMIT}."
            ))),
        }
    }
}

/// Input pushed into a running job: `{"userIds":[...]}` (getStates, planChanges) or
/// `{"changes":[...]}` (planChanges, applyChanges).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInput {
    #[serde(default)]
    pub user_ids: Vec<String>,
    #[serde(default)]
    pub changes: Vec<ChangeItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(validate_endpoint("https://graph.microsoft.com").is_ok());
        assert!(validate_endpoint("https://graph.microsoft.us/").is_ok());
        assert!(validate_endpoint("http://127.0.0.1:5000").is_ok());
        assert!(validate_endpoint("http://127.8.9.10:5000").is_ok());
        assert!(validate_endpoint("http://[::1]:5000").is_ok());
        assert!(validate_endpoint("http://LOCALHOST:5000").is_ok());
        let e = validate_endpoint("http://graph.contoso.com").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidEndpoint);
        assert!(e.message.contains("loopback"));
        assert!(validate_endpoint("http://10.0.0.1").is_err());
        assert!(validate_endpoint("http://localhost.evil.com").is_err());
        assert!(validate_endpoint("ftp://graph.microsoft.com").is_err());
        assert!(validate_endpoint("graph.microsoft.com").is_err());
        assert!(validate_endpoint("https://u:p@graph.microsoft.com").is_err());
    }

    #[test]
    fn trailing_slash_is_dropped() {
        assert_eq!(validate_endpoint("http://127.0.0.1:1/").unwrap().as_str(), "http://127.0.0.1:1/");
        assert_eq!(validate_endpoint("https://h/graph/").unwrap().path(), "/graph");
    }

    #[test]
    fn job_requests_parse() {
        let r = JobRequest::parse(r#"{"operation":"getStates","scope":"licensedMembers"}"#).unwrap();
        assert!(matches!(r, JobRequest::GetStates { scope: Scope::LicensedMembers, .. }));
        assert_eq!(r.throttle_limit().unwrap(), DEFAULT_THROTTLE_LIMIT);
        let r = JobRequest::parse(r#"{"operation":"getStates","scope":"input","throttleLimit":5}"#).unwrap();
        assert_eq!(r.throttle_limit().unwrap(), 5);
        assert!(JobRequest::parse(r#"{"operation":"planChanges","state":"on"}"#).is_err());
        // The retired per-user `setStates` operation is gone: bulk changes plan, then apply.
        assert!(JobRequest::parse(r#"{"operation":"setStates","state":"enforced"}"#).is_err());
        let r = JobRequest::parse(r#"{"operation":"getStates","scope":"all","throttleLimit":0}"#).unwrap();
        assert!(r.throttle_limit().is_err());
    }

    #[test]
    fn report_requests_parse() {
        let r =
            JobRequest::parse(r#"{"operation":"getStates","scope":"all","report":{"mfaSignIns":true,"signInDays":7}}"#)
                .unwrap();
        let JobRequest::GetStates { report: Some(report), .. } = r else { panic!("no report options") };
        assert!(report.mfa_sign_ins && !report.method_details);
        assert_eq!(report.sign_in_days, 7);
        let r = JobRequest::parse(r#"{"operation":"getStates","scope":"all","report":{}}"#).unwrap();
        assert!(matches!(r, JobRequest::GetStates { report: Some(ReportOptions { sign_in_days: 30, .. }), .. }));
        assert!(matches!(
            JobRequest::parse(r#"{"operation":"getStates","scope":"all"}"#).unwrap(),
            JobRequest::GetStates { report: None, .. }
        ));
        assert!(JobRequest::parse(r#"{"operation":"getStates","scope":"all","report":{"phones":true}}"#).is_err());
    }

    #[test]
    fn bulk_change_requests_and_inputs_parse() {
        let r = JobRequest::parse(r#"{"operation":"planChanges","state":"enforced"}"#).unwrap();
        assert!(matches!(r, JobRequest::PlanChanges { state: Some(MfaState::Enforced), .. }));
        assert!(matches!(
            JobRequest::parse(r#"{"operation":"planChanges"}"#).unwrap(),
            JobRequest::PlanChanges { state: None, .. }
        ));
        let r = JobRequest::parse(
            r#"{"operation":"applyChanges","journalPath":"/j.jsonl","journalOperation":"undo","undoOf":"/i.jsonl","throttleLimit":7}"#,
        )
        .unwrap();
        assert!(
            matches!(&r, JobRequest::ApplyChanges { journal_operation: JournalOperation::Undo, undo_of: Some(u), .. } if u == "/i.jsonl")
        );
        assert_eq!(r.throttle_limit().unwrap(), 7);
        let r = JobRequest::parse(r#"{"operation":"readJournal","path":"/j.jsonl"}"#).unwrap();
        assert_eq!(r.throttle_limit().unwrap(), DEFAULT_THROTTLE_LIMIT);
        assert!(
            JobRequest::parse(r#"{"operation":"applyChanges","journalPath":"/j","journalOperation":"redo"}"#).is_err()
        );

        let input: JobInput = serde_json::from_str(r#"{"userIds":["a"]}"#).unwrap();
        assert_eq!((input.user_ids.len(), input.changes.len()), (1, 0));
        let input: JobInput = serde_json::from_str(r#"{"changes":[{"id":"1","requestedState":"disabled"}]}"#).unwrap();
        assert_eq!((input.user_ids.len(), input.changes.len()), (0, 1));
        assert!(serde_json::from_str::<JobInput>(r#"{"users":["a"]}"#).is_err());
    }
}
