//! The domain values the engine reports: the lowest layer, which the events, the journal and
//! the operations all build on.

use serde::{Deserialize, Serialize};

/// Graph's `perUserMfaState` values as sent on the wire. Graph may add values
/// (`unknownFutureValue`); those are kept as text and reported, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MfaState {
    Disabled,
    Enabled,
    Enforced,
}

impl MfaState {
    pub fn as_graph(&self) -> &'static str {
        match self {
            MfaState::Disabled => "disabled",
            MfaState::Enabled => "enabled",
            MfaState::Enforced => "enforced",
        }
    }

    pub fn parse(value: &str) -> Option<MfaState> {
        match value.to_ascii_lowercase().as_str() {
            "disabled" => Some(MfaState::Disabled),
            "enabled" => Some(MfaState::Enabled),
            "enforced" => Some(MfaState::Enforced),
            _ => None,
        }
    }
}

/// The identity fields of a user as Graph lists them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// One row of the detailed report (the `userReport` event). Dates are ISO 8601 UTC.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReport {
    pub target: String,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub per_user_mfa_state: String,
    pub user_type: Option<String>,
    pub account_enabled: Option<bool>,
    pub is_licensed: Option<bool>,
    pub is_admin: Option<bool>,
    pub is_mfa_registered: Option<bool>,
    pub is_mfa_capable: Option<bool>,
    pub methods_registered: Option<String>,
    pub default_mfa_method: Option<String>,
    pub preferred_mfa_method: Option<String>,
    pub last_sign_in: Option<String>,
    pub last_successful_sign_in: Option<String>,
    pub days_since_last_sign_in: Option<i64>,
    pub days_since_last_successful_sign_in: Option<i64>,
    pub sign_in_sessions_valid_from: Option<String>,
    pub password_last_changed: Option<String>,
    pub password_age_days: Option<i64>,
    pub password_policies: Option<String>,
    pub password_never_expires: Option<bool>,
    /// Only with `-IncludeMfaSignIns` (then null when there was none in the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_mfa_sign_in: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_since_last_mfa_sign_in: Option<Option<i64>>,
    /// Only with `-IncludeMethodDetails`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_methods: Option<Option<String>>,
}

/// One account's verdict (`PerUserMfa.MigrationCheck`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationCheck {
    pub target: String,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub per_user_mfa_state: String,
    /// `Covered`, `PartiallyCovered`, `NotCovered` or `Unknown`.
    pub verdict: &'static str,
    pub covered_by: Vec<String>,
    pub report_only: Vec<String>,
    pub gaps: Vec<String>,
    pub reason: String,
    /// `-Evaluate` only: one sentence per What-If scenario (empty for verdicts What-If is not
    /// asked about, or when it cannot be used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<Vec<String>>,
    /// Only with `-IncludeSignIns`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub sign_ins: Option<SignInColumns>,
}

/// The sign-in evidence columns of a `MigrationCheck` (`-IncludeSignIns`): counts of successful
/// MFA sign-ins in the window; every column null when the sign-in logs could not be read.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SignInColumns {
    pub mfa_sign_ins: Option<u32>,
    /// Sign-ins whose MFA only per-user MFA required.
    pub per_user_only_mfa_sign_ins: Option<u32>,
    pub last_per_user_only_mfa_sign_in: Option<String>,
    /// The apps of those sign-ins (display names, sorted).
    pub per_user_only_apps: Vec<String>,
    pub last_conditional_access_mfa_sign_in: Option<String>,
}
