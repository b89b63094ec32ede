//! Conditional Access and the directory data a migration-readiness check reads: CA policies
//! (beta shape), named locations, security defaults, groups with nested membership, directory
//! role assignments and subscribed SKUs.
//!
//! A tenant's set-up is a JSON *scenario* (`--scenario <file>`, `POST /_sim/scenario`), so a test
//! states a configuration and the verdicts it expects. Users are the generated tenant's: a
//! scenario names them by user principal name (or object id) wherever Graph holds a user id, and
//! loading replaces each name with the user's object id. See `README.md` for the format.

pub mod budget;
pub mod evaluate;
pub mod routes;
pub mod sign_ins;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::tenant::Tenant;

/// Entra ID P1's service plan id (`AAD_PREMIUM`).
pub const AAD_PREMIUM_PLAN: &str = "41781fb2-bc02-4b7c-bd55-b576c07bb09d";
/// Entra ID P2's service plan id (`AAD_PREMIUM_P2`).
pub const AAD_PREMIUM_P2_PLAN: &str = "eec0eb4f-6444-4f95-aba0-50c24d67f998";

/// The built-in authentication strengths, as CA policies carry them inline.
const BUILT_IN_STRENGTHS: [(&str, &str, &str); 3] = [
    ("00000000-0000-0000-0000-000000000002", "Multifactor authentication", "mfa"),
    ("00000000-0000-0000-0000-000000000003", "Passwordless MFA", "mfa"),
    ("00000000-0000-0000-0000-000000000004", "Phishing-resistant MFA", "mfa"),
];

/// The tenant's Entra ID licence, as `subscribedSkus` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Licence {
    Free,
    #[default]
    P1,
    P2,
}

/// A scenario file as written (before user names are resolved).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub security_defaults: bool,
    #[serde(default)]
    pub licence: Licence,
    /// CA policies in the beta shape; missing fields get Graph's defaults.
    #[serde(default)]
    pub policies: Vec<Value>,
    #[serde(default)]
    pub named_locations: Vec<Value>,
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignmentSpec>,
    /// Sign-ins of named users: they replace those users' generated sign-ins (`sign_ins.rs`).
    #[serde(default)]
    pub sign_ins: Vec<sign_ins::SignInSpec>,
    /// What a test expects; the simulator ignores it.
    #[serde(default)]
    pub expect: Value,
    /// Test options (token permissions, flags); the simulator ignores them.
    #[serde(default)]
    pub test: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    pub id: String,
    pub display_name: String,
    /// Users (UPN or id) and groups (id): direct members.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub is_assignable_to_role: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAssignmentSpec {
    /// A built-in role's template id (Graph uses it as the role definition id).
    pub role_definition_id: String,
    /// A user (UPN or id) or a role-assignable group (id).
    pub principal: String,
    #[serde(default = "root_scope")]
    pub directory_scope_id: String,
}

fn root_scope() -> String {
    "/".to_string()
}

/// A member as the directory stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    User(String),
    Group(String),
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub members: Vec<Member>,
    pub is_assignable_to_role: bool,
}

#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub id: String,
    pub role_definition_id: String,
    pub principal: Member,
    pub directory_scope_id: String,
}

/// A loaded scenario: every user name resolved to an object id.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: Option<String>,
    pub security_defaults: bool,
    pub licence: Licence,
    pub policies: Vec<Value>,
    pub named_locations: Vec<Value>,
    pub groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    pub role_assignments: Vec<RoleAssignment>,
    /// Stated sign-ins (`sign_ins.rs`).
    pub sign_ins: Vec<sign_ins::StatedSignIn>,
    /// Each policy's scope for shaping sign-ins, in the order of `policies`.
    pub sign_in_scopes: Vec<sign_ins::PolicyScope>,
    /// False until a scenario is loaded: the sign-in log then keeps its generated shape.
    pub models_sign_ins: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        let mut scenario =
            Scenario::load(ScenarioFile::default(), &Tenant::generate(0, 1, 0)).expect("the empty scenario loads");
        scenario.models_sign_ins = false;
        scenario
    }
}

impl Scenario {
    /// Parses a scenario's JSON text against `tenant`.
    pub fn parse(text: &str, tenant: &Tenant) -> Result<Scenario, String> {
        let file: ScenarioFile = serde_json::from_str(text)
            .map_err(|e| format!("the scenario is not valid JSON of the expected shape: {e}"))?;
        Scenario::load(file, tenant)
    }

    pub fn load(file: ScenarioFile, tenant: &Tenant) -> Result<Scenario, String> {
        let group_ids: HashMap<String, usize> =
            file.groups.iter().enumerate().map(|(i, g)| (g.id.to_ascii_lowercase(), i)).collect();
        let user_id = |name: &str| tenant.find(name).map(|u| u.id.clone());
        let member = |name: &str, whose: &str| -> Result<Member, String> {
            if let Some(&i) = group_ids.get(&name.to_ascii_lowercase()) {
                return Ok(Member::Group(file.groups[i].id.clone()));
            }
            user_id(name).map(Member::User).ok_or_else(|| {
                format!("{whose} names '{name}', which is neither a user of the tenant nor a group of the scenario")
            })
        };
        let mut groups = Vec::with_capacity(file.groups.len());
        for spec in &file.groups {
            let members = spec
                .members
                .iter()
                .map(|m| member(m, &format!("group '{}'", spec.display_name)))
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(Group {
                id: spec.id.clone(),
                display_name: spec.display_name.clone(),
                members,
                is_assignable_to_role: spec.is_assignable_to_role,
            });
        }
        let mut role_assignments = Vec::new();
        for (i, spec) in file.role_assignments.iter().enumerate() {
            let principal = member(&spec.principal, "a role assignment")?;
            if let Member::Group(id) = &principal {
                if !groups.iter().any(|g| &g.id == id && g.is_assignable_to_role) {
                    return Err(format!(
                        "a role assignment names group '{id}', which is not role-assignable (isAssignableToRole)"
                    ));
                }
            }
            role_assignments.push(RoleAssignment {
                id: format!("sim-role-assignment-{i}"),
                role_definition_id: spec.role_definition_id.clone(),
                principal,
                directory_scope_id: spec.directory_scope_id.clone(),
            });
        }
        let mut policies = Vec::with_capacity(file.policies.len());
        for (i, policy) in file.policies.into_iter().enumerate() {
            policies.push(normalise_policy(policy, i, &user_id)?);
        }
        let named_locations = file.named_locations.into_iter().map(normalise_location).collect();
        let stated = file
            .sign_ins
            .iter()
            .map(|spec| sign_ins::StatedSignIn::resolve(spec, tenant))
            .collect::<Result<Vec<_>, _>>()?;
        let mut scenario = Scenario {
            name: file.name,
            security_defaults: file.security_defaults,
            licence: file.licence,
            policies,
            named_locations,
            groups,
            group_index: group_ids,
            role_assignments,
            sign_ins: stated,
            sign_in_scopes: Vec::new(),
            models_sign_ins: true,
        };
        scenario.sign_in_scopes =
            scenario.policies.iter().map(|policy| sign_ins::PolicyScope::of(policy, &scenario)).collect();
        Ok(scenario)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.group_index.get(&id.to_ascii_lowercase()).map(|&i| &self.groups[i])
    }

    /// Every user and group below `id` (nested groups included, each once), in discovery order.
    pub fn transitive_members(&self, id: &str) -> Option<Vec<Member>> {
        let root = self.group(id)?;
        let mut seen_groups = vec![root.id.clone()];
        let mut seen_users = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut queue = vec![root];
        while let Some(group) = queue.pop() {
            for member in &group.members {
                match member {
                    Member::User(user) => {
                        if seen_users.insert(user.clone()) {
                            out.push(member.clone());
                        }
                    }
                    Member::Group(inner) => {
                        if !seen_groups.contains(inner) {
                            seen_groups.push(inner.clone());
                            out.push(member.clone());
                            if let Some(g) = self.group(inner) {
                                queue.push(g);
                            }
                        }
                    }
                }
            }
        }
        Some(out)
    }

    /// A short description for `/_sim/scenario`.
    pub fn summary(&self) -> Value {
        json!({
            "name": self.name,
            "securityDefaults": self.security_defaults,
            "licence": format!("{:?}", self.licence),
            "policies": self.policies.len(),
            "namedLocations": self.named_locations.len(),
            "groups": self.groups.len(),
            "roleAssignments": self.role_assignments.len(),
            "signIns": self.sign_ins.len(),
        })
    }
}

/// The scenario a simulator serves, swapped whole on load.
#[derive(Default)]
pub struct CaState {
    scenario: RwLock<Arc<Scenario>>,
    pub budget: budget::CaBudget,
}

impl CaState {
    pub fn scenario(&self) -> Arc<Scenario> {
        self.scenario.read().clone()
    }

    pub fn set(&self, scenario: Scenario) {
        *self.scenario.write() = Arc::new(scenario);
    }

    /// Changes one policy's state (the `PATCH` route); false if no policy has that id.
    pub fn set_policy_state(&self, id: &str, state: &str) -> bool {
        let mut guard = self.scenario.write();
        let mut scenario = (**guard).clone();
        let Some(policy) =
            scenario.policies.iter_mut().find(|p| p["id"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(id)))
        else {
            return false;
        };
        policy["state"] = Value::String(state.to_string());
        *guard = Arc::new(scenario);
        true
    }
}

fn set_default(object: &mut Map<String, Value>, key: &str, value: Value) {
    if !object.contains_key(key) {
        object.insert(key.to_string(), value);
    }
}

fn object_at<'a>(object: &'a mut Map<String, Value>, key: &str) -> Result<&'a mut Map<String, Value>, String> {
    let entry = object.entry(key.to_string()).or_insert_with(|| json!({}));
    entry.as_object_mut().ok_or_else(|| format!("'{key}' must be an object"))
}

/// Fills Graph's defaults into a scenario policy (so every policy has the full beta shape),
/// resolves user names in `includeUsers`/`excludeUsers`, and expands a built-in
/// authentication strength given by id.
fn normalise_policy(
    mut policy: Value,
    index: usize,
    user_id: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    let name = policy["displayName"].as_str().unwrap_or("(unnamed)").to_string();
    let Some(object) = policy.as_object_mut() else {
        return Err(format!("policy {index} is not a JSON object"));
    };
    set_default(object, "id", Value::String(format!("00000000-0000-4000-a000-{:012}", index + 1)));
    set_default(object, "templateId", Value::Null);
    set_default(object, "displayName", Value::String(format!("Policy {}", index + 1)));
    set_default(object, "createdDateTime", Value::String("2025-06-01T08:00:00Z".into()));
    set_default(object, "modifiedDateTime", Value::Null);
    set_default(object, "state", Value::String("enabled".into()));
    set_default(object, "partialEnablementStrategy", Value::Null);
    set_default(object, "sessionControls", Value::Null);
    match object["state"].as_str() {
        Some("enabled" | "disabled" | "enabledForReportingButNotEnforced") => {}
        _ => {
            return Err(format!(
                "policy '{name}': state must be enabled, disabled or enabledForReportingButNotEnforced"
            ))
        }
    }
    let conditions = object_at(object, "conditions").map_err(|e| format!("policy '{name}': {e}"))?;
    for (key, default) in [
        ("userRiskLevels", json!([])),
        ("signInRiskLevels", json!([])),
        ("servicePrincipalRiskLevels", json!([])),
        ("clientAppTypes", json!(["all"])),
        ("platforms", Value::Null),
        ("locations", Value::Null),
        ("times", Value::Null),
        ("deviceStates", Value::Null),
        ("devices", Value::Null),
        ("clientApplications", Value::Null),
        ("insiderRiskLevels", Value::Null),
        ("authenticationFlows", Value::Null),
        ("agentIdRiskLevels", Value::Null),
    ] {
        set_default(conditions, key, default);
    }
    let applications = object_at(conditions, "applications").map_err(|e| format!("policy '{name}': {e}"))?;
    for key in [
        "includeApplications",
        "excludeApplications",
        "includeUserActions",
        "includeAuthenticationContextClassReferences",
    ] {
        set_default(applications, key, json!([]));
    }
    set_default(applications, "applicationFilter", Value::Null);
    set_default(applications, "networkAccess", Value::Null);
    let users = object_at(conditions, "users").map_err(|e| format!("policy '{name}': {e}"))?;
    for key in ["includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles"] {
        set_default(users, key, json!([]));
    }
    set_default(users, "includeGuestsOrExternalUsers", Value::Null);
    set_default(users, "excludeGuestsOrExternalUsers", Value::Null);
    for key in ["includeUsers", "excludeUsers"] {
        let Some(list) = users.get_mut(key).and_then(Value::as_array_mut) else {
            return Err(format!("policy '{name}': conditions.users.{key} must be an array"));
        };
        for entry in list.iter_mut() {
            let text = entry.as_str().unwrap_or_default().to_string();
            if matches!(text.as_str(), "All" | "None" | "GuestsOrExternalUsers") {
                continue;
            }
            match user_id(&text) {
                Some(id) => *entry = Value::String(id),
                None => {
                    return Err(format!("policy '{name}': {key} names '{text}', which is not a user of the tenant"))
                }
            }
        }
    }
    let grant = object.entry("grantControls").or_insert_with(|| json!({}));
    if let Some(grant) = grant.as_object_mut() {
        set_default(grant, "operator", Value::String("OR".into()));
        set_default(grant, "builtInControls", json!([]));
        set_default(grant, "customAuthenticationFactors", json!([]));
        set_default(grant, "termsOfUse", json!([]));
        set_default(grant, "authenticationStrength", Value::Null);
        if let Some(id) = grant["authenticationStrength"].as_str().map(str::to_string) {
            let Some((id, display, satisfied)) = BUILT_IN_STRENGTHS.iter().find(|s| s.0 == id) else {
                return Err(format!(
                    "policy '{name}': authenticationStrength '{id}' is not a built-in strength's id; give the object"
                ));
            };
            grant.insert(
                "authenticationStrength".into(),
                json!({
                    "id": id, "displayName": display, "policyType": "builtIn",
                    "requirementsSatisfied": satisfied, "allowedCombinations": [],
                    "combinationConfigurations": [],
                }),
            );
        }
    }
    Ok(policy)
}

fn normalise_location(mut location: Value) -> Value {
    if let Some(object) = location.as_object_mut() {
        let is_country = object.contains_key("countriesAndRegions");
        set_default(
            object,
            "@odata.type",
            Value::String(
                if is_country { "#microsoft.graph.countryNamedLocation" } else { "#microsoft.graph.ipNamedLocation" }
                    .into(),
            ),
        );
        if !is_country {
            set_default(object, "isTrusted", Value::Bool(false));
            set_default(object, "ipRanges", json!([]));
        }
    }
    location
}
