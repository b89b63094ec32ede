//! One Conditional Access policy as the verdict rules see it, worked out once per policy: does
//! it require MFA (rule 1), whom it names (rule 2), and every condition that makes it *partial*
//! (rule 3), each as a readable sentence.
//!
//! Where Graph's documentation leaves a reading open, the reading taken is the one that can only
//! under-state coverage: a condition this code does not know is a gap, an empty client-app list
//! is a gap, and an operator other than `AND` is read as `OR`.

use std::collections::HashMap;

use serde_json::Value;

/// `state` of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyState {
    Enabled,
    ReportOnly,
    Disabled,
}

/// Which guests and external users a policy names (`includeGuestsOrExternalUsers`).
#[derive(Debug, Clone, Default)]
pub struct GuestSpec {
    /// Lower-cased `guestOrExternalUserTypes` flags.
    pub types: Vec<String>,
    /// `externalTenants` is `enumerated`: only users from listed home tenants match.
    pub enumerated_tenants: bool,
}

/// One side (include or exclude) of a policy's user assignment.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    pub all: bool,
    /// Object ids, lower-cased.
    pub users: Vec<String>,
    /// `GuestsOrExternalUsers` in the user list (every guest or external user).
    pub all_guests: bool,
    pub groups: Vec<String>,
    /// Role template ids, lower-cased.
    pub roles: Vec<String>,
    pub guests: Option<GuestSpec>,
}

impl Assignment {
    fn read(users: &Value, side: &str) -> Assignment {
        let list = |key: &str| -> Vec<String> {
            users[format!("{side}{key}")]
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).map(|s| s.trim().to_ascii_lowercase()).collect())
                .unwrap_or_default()
        };
        let mut named = list("Users");
        let all = named.iter().any(|u| u == "all");
        let all_guests = named.iter().any(|u| u == "guestsorexternalusers");
        named.retain(|u| u != "all" && u != "none" && u != "guestsorexternalusers");
        let guests = match &users[format!("{side}GuestsOrExternalUsers")] {
            Value::Object(spec) => Some(GuestSpec {
                types: spec
                    .get("guestOrExternalUserTypes")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty() && t != "none")
                    .collect(),
                enumerated_tenants: spec
                    .get("externalTenants")
                    .and_then(|t| t.get("membershipKind"))
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.eq_ignore_ascii_case("enumerated")),
            }),
            _ => None,
        };
        Assignment { all, users: named, all_guests, groups: list("Groups"), roles: list("Roles"), guests }
    }
}

/// A policy, analysed.
#[derive(Debug, Clone)]
pub struct Policy {
    pub display_name: String,
    pub state: PolicyState,
    /// Rule 1: requires MFA and targets applications (not only user actions or contexts).
    pub requires_mfa: bool,
    /// A Microsoft-managed policy (display name `Microsoft-managed: …`).
    pub microsoft_managed: bool,
    /// The Microsoft-managed policy for per-user MFA users: its scope once per-user MFA is off is
    /// not documented, so coverage from it alone is `Unknown`.
    pub managed_per_user: bool,
    /// Enabled, blocks, all users, all apps, legacy clients: legacy authentication is blocked.
    pub blocks_legacy_auth: bool,
    pub include: Assignment,
    pub exclude: Assignment,
    /// Rule 3: each condition that makes the policy partial, as a sentence.
    pub gaps: Vec<String>,
}

/// Conditions the rules know; any other non-empty condition is a gap (it may narrow the policy).
const KNOWN_CONDITIONS: [&str; 18] = [
    "users",
    "applications",
    "clientAppTypes",
    "platforms",
    "locations",
    "devices",
    "deviceStates",
    "times",
    "authenticationFlows",
    "signInRiskLevels",
    "userRiskLevels",
    "insiderRiskLevels",
    "servicePrincipalRiskLevels",
    "clientApplications",
    "agentIdRiskLevels",
    "@odata.type",
    "userRiskLevels@odata.type",
    "signInRiskLevels@odata.type",
];

/// The sign-in named "MFA trusted IPs" in a location condition.
const MFA_TRUSTED_IPS: &str = "00000000-0000-0000-0000-000000000000";

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn has(list: &[String], wanted: &str) -> bool {
    list.iter().any(|item| item.eq_ignore_ascii_case(wanted))
}

fn is_empty_condition(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::String(text) => text.is_empty(),
        // An object holding only annotations is a typed value (`{"@odata.type": "…AllTimes"}`),
        // not an empty condition.
        Value::Object(fields) => {
            let annotations_only = !fields.is_empty() && fields.keys().all(|k| k.starts_with('@'));
            !annotations_only && fields.iter().all(|(k, v)| k.starts_with('@') || is_empty_condition(v))
        }
        _ => false,
    }
}

fn joined(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// What a grant control is, in words, when an OR grant accepts it instead of MFA.
fn control_in_words(control: &str) -> String {
    match control.to_ascii_lowercase().as_str() {
        "compliantdevice" => "a compliant device".into(),
        "domainjoineddevice" => "a hybrid-joined device".into(),
        "approvedapplication" => "an approved client app".into(),
        "compliantapplication" => "an app protection policy".into(),
        "passwordchange" => "a password change".into(),
        "block" => "a block".into(),
        other => format!("'{other}'"),
    }
}

impl Policy {
    /// Analyses one policy as Graph returns it (beta shape). `locations` maps named-location ids
    /// (lower-cased) to display names.
    pub fn analyse(raw: &Value, locations: &HashMap<String, String>) -> Policy {
        let display_name = raw["displayName"].as_str().unwrap_or("(unnamed policy)").to_string();
        let name = display_name.as_str();
        let state = match raw["state"].as_str() {
            Some(s) if s.eq_ignore_ascii_case("enabled") => PolicyState::Enabled,
            Some(s) if s.eq_ignore_ascii_case("enabledForReportingButNotEnforced") => PolicyState::ReportOnly,
            _ => PolicyState::Disabled,
        };
        let conditions = &raw["conditions"];
        let grant = &raw["grantControls"];
        let built_in = strings(&grant["builtInControls"]);
        let strength_mfa = grant["authenticationStrength"]["requirementsSatisfied"]
            .as_str()
            .is_some_and(|r| r.eq_ignore_ascii_case("mfa"));
        let apps = &conditions["applications"];
        let include_apps = strings(&apps["includeApplications"]);
        let exclude_apps = strings(&apps["excludeApplications"]);
        let targets_apps = include_apps.iter().any(|a| !a.eq_ignore_ascii_case("none"));
        let requires_mfa = (has(&built_in, "mfa") || strength_mfa) && targets_apps;
        let microsoft_managed = name.to_ascii_lowercase().starts_with("microsoft-managed:");
        let managed_per_user = microsoft_managed && name.to_ascii_lowercase().contains("per-user");
        let client_types = strings(&conditions["clientAppTypes"]);
        let include = Assignment::read(&conditions["users"], "include");
        let exclude = Assignment::read(&conditions["users"], "exclude");

        let mut gaps = Vec::new();
        // Applications.
        if !has(&include_apps, "All") {
            let only = if include_apps.len() == 1 && include_apps[0].eq_ignore_ascii_case("Office365") {
                "Office 365".to_string()
            } else if include_apps.len() == 1 && include_apps[0].eq_ignore_ascii_case("MicrosoftAdminPortals") {
                "the Microsoft admin portals".to_string()
            } else {
                format!("{} selected application(s)", include_apps.len())
            };
            gaps.push(format!("'{name}' covers only {only}"));
        }
        if !exclude_apps.is_empty() {
            let what = if exclude_apps.len() == 1 && exclude_apps[0].eq_ignore_ascii_case("Office365") {
                "Office 365".to_string()
            } else {
                format!("{} application(s)", exclude_apps.len())
            };
            gaps.push(format!("'{name}' excludes {what}"));
        }
        if !is_empty_condition(&apps["applicationFilter"]) {
            gaps.push(format!("'{name}' applies only to applications that match its application filter"));
        }
        // Client app types.
        let all_clients = has(&client_types, "all")
            || (has(&client_types, "browser") && has(&client_types, "mobileAppsAndDesktopClients"));
        if !all_clients {
            let mut missing = Vec::new();
            if !has(&client_types, "browser") {
                missing.push("browser".to_string());
            }
            if !has(&client_types, "mobileAppsAndDesktopClients") {
                missing.push("mobile app and desktop client".to_string());
            }
            gaps.push(format!("'{name}' does not cover {} sign-ins", joined(&missing)));
        }
        // Platforms.
        let platforms = &conditions["platforms"];
        if !is_empty_condition(platforms) {
            let include_p = strings(&platforms["includePlatforms"]);
            let exclude_p = strings(&platforms["excludePlatforms"]);
            if has(&include_p, "all") && exclude_p.is_empty() {
                // Every platform: no condition.
            } else if has(&include_p, "all") {
                gaps.push(format!("Sign-ins on {} skip MFA in '{name}'", joined(&exclude_p)));
            } else {
                gaps.push(format!("'{name}' applies only on {}", joined(&include_p)));
            }
        }
        // Locations.
        let location_condition = &conditions["locations"];
        if !is_empty_condition(location_condition) {
            let include_l = strings(&location_condition["includeLocations"]);
            let exclude_l = strings(&location_condition["excludeLocations"]);
            let location_name = |id: &String| -> String {
                if id.eq_ignore_ascii_case("AllTrusted") {
                    "trusted locations".into()
                } else if id == MFA_TRUSTED_IPS {
                    "the MFA trusted IPs".into()
                } else {
                    match locations.get(&id.to_ascii_lowercase()) {
                        Some(display) => format!("'{display}'"),
                        None => format!("named location '{id}'"),
                    }
                }
            };
            if !has(&include_l, "All") {
                let names: Vec<String> = include_l.iter().map(location_name).collect();
                gaps.push(format!("'{name}' applies only to sign-ins from {}", joined(&names)));
            }
            if !exclude_l.is_empty() {
                let names: Vec<String> = exclude_l.iter().map(location_name).collect();
                gaps.push(format!("Sign-ins from {} skip MFA in '{name}'", joined(&names)));
            }
        }
        // Devices.
        for key in ["devices", "deviceStates"] {
            let devices = &conditions[key];
            if !is_empty_condition(devices) {
                let mode = devices["deviceFilter"]["mode"].as_str().unwrap_or_default();
                if mode.eq_ignore_ascii_case("exclude") {
                    gaps.push(format!("Devices that match the device filter skip MFA in '{name}'"));
                } else if mode.eq_ignore_ascii_case("include") {
                    gaps.push(format!("'{name}' applies only to devices that match its device filter"));
                } else {
                    gaps.push(format!("'{name}' has a device condition: some devices skip MFA"));
                }
            }
        }
        if !is_empty_condition(&conditions["times"]) {
            gaps.push(format!("'{name}' applies only at certain times"));
        }
        let flows = &conditions["authenticationFlows"];
        if !is_empty_condition(flows) {
            let methods = flows["transferMethods"].as_str().unwrap_or("some authentication flows");
            gaps.push(format!("'{name}' applies only to sign-ins through {methods}"));
        }
        let risk = |key: &str| -> Vec<String> {
            match &conditions[key] {
                Value::Array(_) => strings(&conditions[key]),
                Value::String(text) if !text.is_empty() => text.split(',').map(|s| s.trim().to_string()).collect(),
                _ => Vec::new(),
            }
        };
        let sign_in_risk = risk("signInRiskLevels");
        if !sign_in_risk.is_empty() {
            gaps.push(format!("'{name}' requires MFA only for sign-ins with {} risk", joined(&sign_in_risk)));
        }
        let user_risk = risk("userRiskLevels");
        if !user_risk.is_empty() {
            gaps.push(format!("'{name}' requires MFA only for users with {} risk", joined(&user_risk)));
        }
        let insider_risk = risk("insiderRiskLevels");
        if !insider_risk.is_empty() {
            gaps.push(format!("'{name}' requires MFA only for users with {} insider risk", joined(&insider_risk)));
        }
        if let Value::Object(fields) = conditions {
            let mut unknown: Vec<String> = fields
                .iter()
                .filter(|(key, value)| !KNOWN_CONDITIONS.contains(&key.as_str()) && !is_empty_condition(value))
                .map(|(key, _)| key.clone())
                .collect();
            unknown.sort();
            if !unknown.is_empty() {
                gaps.push(format!(
                    "'{name}' has a condition this version does not evaluate ({}), so it is counted as partial",
                    joined(&unknown)
                ));
            }
        }
        // Grant: AND, or OR over MFA-satisfying controls only.
        let is_and = grant["operator"].as_str().is_some_and(|o| o.eq_ignore_ascii_case("AND"));
        if !is_and {
            let mut alternatives: Vec<String> =
                built_in.iter().filter(|c| !c.eq_ignore_ascii_case("mfa")).map(|c| control_in_words(c)).collect();
            if !strings(&grant["customAuthenticationFactors"]).is_empty() {
                alternatives.push("a custom control".into());
            }
            if !strings(&grant["termsOfUse"]).is_empty() {
                alternatives.push("accepting terms of use".into());
            }
            for alternative in alternatives {
                gaps.push(format!("'{name}' accepts {alternative} instead of MFA"));
            }
        }
        let blocks_legacy_auth = state == PolicyState::Enabled
            && has(&built_in, "block")
            && include.all
            && exclude.groups.is_empty()
            && has(&include_apps, "All")
            && (has(&client_types, "all") || (has(&client_types, "exchangeActiveSync") && has(&client_types, "other")));

        Policy {
            display_name,
            state,
            requires_mfa,
            microsoft_managed,
            managed_per_user,
            blocks_legacy_auth,
            include,
            exclude,
            gaps,
        }
    }

    /// Groups this policy's assignment names (include and exclude).
    pub fn groups(&self) -> impl Iterator<Item = &String> {
        self.include.groups.iter().chain(self.exclude.groups.iter())
    }

    pub fn roles(&self) -> impl Iterator<Item = &String> {
        self.include.roles.iter().chain(self.exclude.roles.iter())
    }

    /// Counts towards coverage (enabled or report-only, and requires MFA).
    pub fn matters(&self) -> bool {
        self.requires_mfa && self.state != PolicyState::Disabled
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn analyse(raw: Value) -> Policy {
        let mut locations = HashMap::new();
        locations.insert("loc-office".to_string(), "Head office".to_string());
        Policy::analyse(&raw, &locations)
    }

    fn base() -> Value {
        json!({
            "displayName": "P", "state": "enabled",
            "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["All"] },
                            "clientAppTypes": ["all"] },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
        })
    }

    #[test]
    fn an_all_users_all_apps_mfa_policy_is_full() {
        let policy = analyse(base());
        assert!(policy.requires_mfa);
        assert!(policy.gaps.is_empty(), "{:?}", policy.gaps);
    }

    #[test]
    fn custom_factors_alone_and_user_actions_do_not_require_mfa() {
        let mut raw = base();
        raw["grantControls"] =
            json!({ "operator": "OR", "builtInControls": [], "customAuthenticationFactors": ["duo"] });
        assert!(!analyse(raw).requires_mfa);
        let mut raw = base();
        raw["conditions"]["applications"] =
            json!({ "includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"] });
        assert!(!analyse(raw).requires_mfa);
        let mut raw = base();
        raw["grantControls"] = json!({ "operator": "AND", "builtInControls": [],
            "authenticationStrength": { "requirementsSatisfied": "mfa" } });
        assert!(analyse(raw).requires_mfa);
    }

    #[test]
    fn each_condition_is_one_gap() {
        let mut raw = base();
        raw["displayName"] = json!("MFA outside the office");
        raw["conditions"]["locations"] =
            json!({ "includeLocations": ["All"], "excludeLocations": ["AllTrusted", "loc-office"] });
        raw["grantControls"]["builtInControls"] = json!(["mfa", "compliantDevice"]);
        raw["conditions"]["clientAppTypes"] = json!(["browser"]);
        let policy = analyse(raw);
        assert_eq!(
            policy.gaps,
            vec![
                "'MFA outside the office' does not cover mobile app and desktop client sign-ins",
                "Sign-ins from trusted locations and 'Head office' skip MFA in 'MFA outside the office'",
                "'MFA outside the office' accepts a compliant device instead of MFA",
            ]
        );
    }

    #[test]
    fn a_location_include_of_all_with_no_exclude_is_no_condition() {
        let mut raw = base();
        raw["conditions"]["locations"] = json!({ "includeLocations": ["All"], "excludeLocations": [] });
        assert!(analyse(raw).gaps.is_empty());
    }

    #[test]
    fn an_unknown_condition_counts_as_partial() {
        let mut raw = base();
        raw["conditions"]["futureCondition"] = json!({ "levels": ["x"] });
        assert_eq!(analyse(raw).gaps.len(), 1);
    }
}
