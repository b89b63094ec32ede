//! The domain values the engine reports.

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
