//! The sign-in log as a loaded scenario shapes it: which provider required MFA
//! (`authenticationRequirementPolicies`) and each policy's result
//! (`appliedConditionalAccessPolicies`), consistent with the scenario's policies, plus sign-ins a
//! scenario states for named users.
//!
//! A policy applies to a sign-in when it is in the user's scope (users, transitive group members,
//! holders of a role through a tenant-wide assignment, guests), the app is in its application
//! scope, and it has no condition the simulator does not model for sign-ins (platforms,
//! locations, devices, times, authentication flows, risk levels, an application filter, client
//! app types without `browser`): such a policy never applies, so the log can only under-state
//! Conditional Access. Every sign-in is a browser sign-in.
//!
//! A generated sign-in keeps its time, user and outcome: per-user MFA users' sign-ins name `user`,
//! and also `multiConditionalAccess` when an enabled MFA policy applies; other users' sign-ins
//! require MFA when an enabled policy does (or security defaults did). A stated sign-in replaces
//! the named user's generated ones; `requiredBy` gives its providers outright (enabled policies
//! then apply only when it names a Conditional Access provider).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{Member, Scenario};
use crate::tenant::{MfaState, Tenant, User, UserType};

pub const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const SHAREPOINT_ONLINE: &str = "00000003-0000-0ff1-ce00-000000000000";
const TEAMS: &str = "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe";
/// What a policy's `Office365` names (a few of its apps).
const OFFICE_365: [&str; 3] = [EXCHANGE_ONLINE, SHAREPOINT_ONLINE, TEAMS];
const KNOWN_APPS: [(&str, &str); 3] = [
    (EXCHANGE_ONLINE, "Office 365 Exchange Online"),
    (SHAREPOINT_ONLINE, "Office 365 SharePoint Online"),
    (TEAMS, "Microsoft Teams Services"),
];
const CONDITIONAL_ACCESS_PROVIDERS: [&str; 2] = ["multiConditionalAccess", "v1ConditionalAccess"];

/// A sign-in as a scenario file states it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInSpec {
    /// UPN or object id.
    pub user: String,
    /// The app's display name (default Exchange Online).
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default = "one_day")]
    pub days_ago: f64,
    #[serde(default = "interactive")]
    pub interactive: bool,
    #[serde(default)]
    pub error_code: u32,
    /// `requirementProvider` values, e.g. `["user"]`; absent: worked out from the scenario.
    #[serde(default)]
    pub required_by: Option<Vec<String>>,
}

fn one_day() -> f64 {
    1.0
}

fn interactive() -> bool {
    true
}

/// A stated sign-in, its user resolved.
#[derive(Debug, Clone)]
pub struct StatedSignIn {
    pub user: u32,
    pub app_id: String,
    pub app_name: String,
    pub seconds_ago: i64,
    pub interactive: bool,
    pub error_code: u32,
    pub required_by: Option<Vec<String>>,
}

impl StatedSignIn {
    pub fn resolve(spec: &SignInSpec, tenant: &Tenant) -> Result<StatedSignIn, String> {
        let user = tenant
            .position(&spec.user)
            .ok_or_else(|| format!("a sign-in names '{}', which is not a user of the tenant", spec.user))?;
        if !(0.0..=29.0).contains(&spec.days_ago) {
            return Err(format!("a sign-in of '{}': daysAgo must be 0 to 29 (the log's retention)", spec.user));
        }
        let known = |id: &str| KNOWN_APPS.iter().find(|(k, _)| k.eq_ignore_ascii_case(id)).map(|(_, n)| n.to_string());
        let by_name =
            |name: &str| KNOWN_APPS.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(id, _)| id.to_string());
        let (app_id, app_name) = match (&spec.app_id, &spec.app) {
            (Some(id), Some(name)) => (id.clone(), name.clone()),
            (Some(id), None) => (id.clone(), known(id).unwrap_or_else(|| id.clone())),
            (None, Some(name)) => (by_name(name).unwrap_or_else(|| app_id_for(name)), name.clone()),
            (None, None) => (EXCHANGE_ONLINE.to_string(), KNOWN_APPS[0].1.to_string()),
        };
        Ok(StatedSignIn {
            user,
            app_id,
            app_name,
            seconds_ago: (spec.days_ago * 86_400.0) as i64 + 60,
            interactive: spec.interactive,
            error_code: spec.error_code,
            required_by: spec.required_by.clone(),
        })
    }
}

/// A stable app id for an app a scenario names only by display name.
fn app_id_for(name: &str) -> String {
    let mut hash: u128 = 0xcbf2_9ce4_8422_2325;
    for b in name.to_ascii_lowercase().bytes() {
        hash = (hash ^ u128::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    uuid::Builder::from_random_bytes(hash.to_le_bytes()).into_uuid().to_string()
}

/// Who and what a policy covers, worked out once when the scenario loads.
#[derive(Debug, Clone, Default)]
pub struct PolicyScope {
    include_all: bool,
    include_guests: bool,
    included: HashSet<String>,
    excluded: HashSet<String>,
    exclude_guests: bool,
    all_apps: bool,
    apps: Vec<String>,
    excluded_apps: Vec<String>,
    all_apps_excluded: bool,
    /// A condition the simulator does not model for sign-ins.
    unmodelled_condition: bool,
    pub requires_mfa: bool,
    /// The grant controls as sign-in logs name them (`Mfa`, `Block`, ...).
    grant_names: Vec<String>,
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

impl PolicyScope {
    pub fn of(policy: &Value, scenario: &Scenario) -> PolicyScope {
        let conditions = &policy["conditions"];
        let users = &conditions["users"];
        let mut scope = PolicyScope::default();
        let include_users = strings(&users["includeUsers"]);
        scope.include_all = include_users.iter().any(|u| u == "All");
        scope.include_guests = include_users.iter().any(|u| u == "GuestsOrExternalUsers")
            || users["includeGuestsOrExternalUsers"].is_object();
        scope.exclude_guests = strings(&users["excludeUsers"]).iter().any(|u| u == "GuestsOrExternalUsers")
            || users["excludeGuestsOrExternalUsers"].is_object();
        let people = |ids: &str, groups: &str, roles: &str| -> HashSet<String> {
            let mut out: HashSet<String> = strings(&users[ids]).into_iter().map(|u| u.to_ascii_lowercase()).collect();
            let add_group = |id: &str, out: &mut HashSet<String>| {
                for member in scenario.transitive_members(id).unwrap_or_default() {
                    if let Member::User(user) = member {
                        out.insert(user.to_ascii_lowercase());
                    }
                }
            };
            for group in strings(&users[groups]) {
                add_group(&group, &mut out);
            }
            for role in strings(&users[roles]) {
                for assignment in scenario
                    .role_assignments
                    .iter()
                    .filter(|a| a.role_definition_id.eq_ignore_ascii_case(&role) && a.directory_scope_id == "/")
                {
                    match &assignment.principal {
                        Member::User(user) => {
                            out.insert(user.to_ascii_lowercase());
                        }
                        Member::Group(group) => add_group(group, &mut out),
                    }
                }
            }
            out
        };
        scope.included = people("includeUsers", "includeGroups", "includeRoles");
        scope.excluded = people("excludeUsers", "excludeGroups", "excludeRoles");
        let applications = &conditions["applications"];
        let include_apps = strings(&applications["includeApplications"]);
        scope.all_apps = include_apps.iter().any(|a| a == "All");
        scope.apps = expand_apps(&include_apps);
        let exclude_apps = strings(&applications["excludeApplications"]);
        scope.all_apps_excluded = exclude_apps.iter().any(|a| a == "All");
        scope.excluded_apps = expand_apps(&exclude_apps);
        let client_types = strings(&conditions["clientAppTypes"]);
        let not_empty = |key: &str| match &conditions[key] {
            Value::Null => false,
            Value::Array(a) => !a.is_empty(),
            _ => true,
        };
        scope.unmodelled_condition = !applications["applicationFilter"].is_null()
            || !(client_types.is_empty() || client_types.iter().any(|t| t == "all" || t == "browser"))
            || ["platforms", "locations", "devices", "times", "authenticationFlows", "insiderRiskLevels"]
                .iter()
                .any(|k| not_empty(k))
            || ["signInRiskLevels", "userRiskLevels"].iter().any(|k| not_empty(k));
        let grant = &policy["grantControls"];
        let built_in = strings(&grant["builtInControls"]);
        scope.requires_mfa = built_in.iter().any(|c| c == "mfa") || grant["authenticationStrength"].is_object();
        scope.grant_names =
            built_in.iter().map(|c| if c == "mfa" { "Mfa".to_string() } else { capitalised(c) }).collect();
        scope
    }

    fn applies(&self, user: &User, app_id: &str) -> bool {
        let id = user.id.to_ascii_lowercase();
        let guest = user.user_type == UserType::Guest;
        let in_scope = self.include_all || self.included.contains(&id) || (guest && self.include_guests);
        let out_of_scope = self.excluded.contains(&id) || (guest && self.exclude_guests);
        let app_in = self.all_apps || self.apps.iter().any(|a| a.eq_ignore_ascii_case(app_id));
        let app_out = self.all_apps_excluded || self.excluded_apps.iter().any(|a| a.eq_ignore_ascii_case(app_id));
        in_scope && !out_of_scope && app_in && !app_out && !self.unmodelled_condition
    }
}

fn expand_apps(apps: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for app in apps {
        if app == "Office365" {
            out.extend(OFFICE_365.iter().map(|a| a.to_string()));
        } else {
            out.push(app.clone());
        }
    }
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// One sign-in's scenario-dependent fields.
#[derive(Debug, Clone)]
pub struct SignInShape {
    pub mfa: bool,
    pub providers: Vec<String>,
    /// Every policy of the scenario with its result for this sign-in (beta's full shape).
    pub applied: Vec<Value>,
    pub app_id: String,
    pub app_name: String,
    pub conditional_access_status: &'static str,
}

/// What a sign-in of the log is before the scenario shapes it.
pub struct LogEntry<'a> {
    pub user: &'a User,
    pub error_code: u32,
    /// The generated entry's own MFA requirement and provider (stated sign-ins: None).
    pub generated: Option<(bool, &'static str)>,
    pub stated: Option<&'a StatedSignIn>,
}

impl Scenario {
    /// The sign-in's shape under this scenario; None when no scenario was loaded (the log keeps
    /// its generated shape).
    pub fn shape_sign_in(&self, entry: &LogEntry) -> Option<SignInShape> {
        if !self.models_sign_ins {
            return None;
        }
        let (app_id, app_name) = match entry.stated {
            Some(s) => (s.app_id.clone(), s.app_name.clone()),
            None => (EXCHANGE_ONLINE.to_string(), KNOWN_APPS[0].1.to_string()),
        };
        let enabled_mfa_applies = self.policies.iter().zip(&self.sign_in_scopes).any(|(policy, scope)| {
            policy["state"] == "enabled" && scope.requires_mfa && scope.applies(entry.user, &app_id)
        });
        let (mfa, providers, ca_may_apply) = match (entry.stated.and_then(|s| s.required_by.clone()), entry.generated) {
            (Some(required_by), _) => {
                let ca = required_by.iter().any(|p| CONDITIONAL_ACCESS_PROVIDERS.contains(&p.as_str()));
                (!required_by.is_empty(), required_by, ca)
            }
            (None, generated) => {
                let per_user = match generated {
                    Some((_, provider)) => provider == "user",
                    None => entry.user.state() != MfaState::Disabled,
                };
                let by_defaults = self.security_defaults && !per_user && generated.is_some_and(|(mfa, _)| mfa);
                let mut providers = Vec::new();
                if per_user {
                    providers.push("user".to_string());
                }
                if enabled_mfa_applies {
                    providers.push("multiConditionalAccess".to_string());
                } else if by_defaults {
                    providers.push("securityDefaults".to_string());
                }
                (!providers.is_empty(), providers, true)
            }
        };
        let failed_mfa = entry.error_code == 50074;
        let mut status = "notApplied";
        let applied = self
            .policies
            .iter()
            .zip(&self.sign_in_scopes)
            .map(|(policy, scope)| {
                let state = policy["state"].as_str().unwrap_or("disabled");
                let applies = scope.applies(entry.user, &app_id);
                let result = match state {
                    "enabled" if applies && ca_may_apply => {
                        if failed_mfa && scope.requires_mfa {
                            status = "failure";
                            "failure"
                        } else {
                            if status != "failure" {
                                status = "success";
                            }
                            "success"
                        }
                    }
                    "enabled" => "notApplied",
                    "enabledForReportingButNotEnforced" if applies => {
                        if scope.requires_mfa && !(mfa && entry.error_code == 0) {
                            "reportOnlyInterrupted"
                        } else {
                            "reportOnlySuccess"
                        }
                    }
                    "enabledForReportingButNotEnforced" => "reportOnlyNotApplied",
                    _ => "notEnabled",
                };
                let controls: Vec<String> =
                    if result.starts_with("notApplied") || result == "notEnabled" || result == "reportOnlyNotApplied" {
                        Vec::new()
                    } else {
                        scope.grant_names.clone()
                    };
                json!({
                    "id": policy["id"],
                    "displayName": policy["displayName"],
                    "enforcedGrantControls": controls,
                    "enforcedSessionControls": [],
                    "sessionControlsNotSatisfied": [],
                    "result": result,
                    "conditionsSatisfied": if applies { "application,users" } else { "none" },
                    "conditionsNotSatisfied": if applies { "none" } else { "users" },
                    "includeRulesSatisfied": [],
                    "excludeRulesSatisfied": [],
                    "authenticationStrength": policy["grantControls"]["authenticationStrength"].clone(),
                })
            })
            .collect();
        Some(SignInShape { mfa, providers, applied, app_id, app_name, conditional_access_status: status })
    }
}
