//! Graph's Conditional Access What-If (`POST /identity/conditionalAccess/evaluate`) over a
//! scenario: the 2025 request shape (`signInIdentity`, `signInContext`, `signInConditions`), and
//! the answer Graph gives: every policy of the tenant as a `whatIfAnalysisResult` (the policy
//! itself plus `policyApplies` and `analysisReasons`), report-only policies included with their
//! state, disabled ones as `policyNotEnabled`; `appliedPoliciesOnly` keeps only those that apply.
//!
//! The evaluation is the simulator's own reading of the scenario (users, groups, roles, guests,
//! applications, client apps, platforms, locations, risk, flows); a condition the request gives
//! no information for (device filter, times) answers `notEnoughInformation`, as Graph does. The
//! request shape Graph removed in 2025 (`conditionalAccessWhatIfSubject`, …) answers 400.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::{Member, Scenario};
use crate::odata::GraphError;
use crate::tenant::{Tenant, UserType};

/// Exchange Online's and SharePoint Online's app ids, and the other first-party apps the
/// `Office365` app group holds for the simulator.
const OFFICE_365_APPS: &[&str] = &[
    "00000002-0000-0ff1-ce00-000000000000",
    "00000003-0000-0ff1-ce00-000000000000",
    "00000004-0000-0ff1-ce00-000000000000",
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
];
/// Azure portal, Entra admin center and the other admin portals (`MicrosoftAdminPortals`).
const ADMIN_PORTAL_APPS: &[&str] = &["c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "0000000c-0000-0000-c000-000000000000"];

const PLATFORMS: &[&str] = &["android", "iOS", "windows", "windowsPhone", "macOS", "linux", "all"];
const CLIENT_APP_TYPES: &[&str] =
    &["all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other"];
const RISK_LEVELS: &[&str] = &["low", "medium", "high", "hidden", "none"];
/// Parameters of the shape Graph removed in 2025; a request using them is refused as Graph does.
const OLD_SHAPE: &[&str] = &[
    "conditionalAccessWhatIfSubject",
    "conditionalAccessContext",
    "conditionalAccessWhatIfConditions",
    "subject",
    "context",
    "conditions",
];

/// A What-If request, validated.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub user_id: String,
    pub external_user_type: Option<String>,
    pub external_tenant_id: Option<String>,
    pub applications: Vec<String>,
    pub platform: String,
    pub client_app_type: String,
    pub country: Option<String>,
    pub ip_address: Option<Ipv4Addr>,
    pub sign_in_risk: String,
    pub user_risk: String,
    pub insider_risk: String,
    pub authentication_flow: Option<String>,
    pub applied_policies_only: bool,
}

impl SignIn {
    /// Reads the request body; 400 with Graph's wording for the removed shape or a bad value.
    pub fn parse(body: &[u8]) -> Result<SignIn, GraphError> {
        let body: Value =
            serde_json::from_slice(body).map_err(|_| GraphError::bad_request("The request body is not valid JSON."))?;
        let Some(object) = body.as_object() else {
            return Err(GraphError::bad_request("The request body must be a JSON object."));
        };
        for key in object.keys() {
            if OLD_SHAPE.iter().any(|old| old.eq_ignore_ascii_case(key)) {
                return Err(GraphError::bad_request(format!(
                    "The parameter '{key}' in the request payload is not a valid parameter for the operation 'evaluate'."
                )));
            }
        }
        let required = |name: &str| -> Result<&Value, GraphError> {
            object.get(name).filter(|v| v.is_object()).ok_or_else(|| {
                GraphError::bad_request(format!("The parameter '{name}' is required for the operation 'evaluate'."))
            })
        };
        let identity = required("signInIdentity")?;
        let context = required("signInContext")?;
        let conditions = required("signInConditions")?;
        let kind = |v: &Value| v["@odata.type"].as_str().unwrap_or_default().trim_start_matches('#').to_string();
        if !kind(identity).eq_ignore_ascii_case("microsoft.graph.userSignIn") {
            return Err(GraphError::bad_request(format!(
                "The simulator evaluates signInIdentity of type #microsoft.graph.userSignIn only, not '{}'.",
                kind(identity)
            )));
        }
        let user_id = identity["userId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| GraphError::bad_request("signInIdentity.userId is required."))?
            .to_string();
        if !kind(context).eq_ignore_ascii_case("microsoft.graph.applicationContext") {
            return Err(GraphError::bad_request(format!(
                "The simulator evaluates signInContext of type #microsoft.graph.applicationContext only, not '{}'.",
                kind(context)
            )));
        }
        let applications: Vec<String> = context["includeApplications"]
            .as_array()
            .map(|apps| apps.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if applications.is_empty() {
            return Err(GraphError::bad_request(
                "signInContext.includeApplications must name at least one application.",
            ));
        }
        let enumerated = |key: &str, allowed: &[&str], default: &str| -> Result<String, GraphError> {
            match &conditions[key] {
                Value::Null => Ok(default.to_string()),
                Value::String(text) => {
                    allowed.iter().find(|a| a.eq_ignore_ascii_case(text)).map(|a| a.to_string()).ok_or_else(|| {
                        GraphError::bad_request(format!("'{text}' is not a valid value for signInConditions.{key}."))
                    })
                }
                _ => Err(GraphError::bad_request(format!("signInConditions.{key} must be a string."))),
            }
        };
        let ip_address = match conditions["ipAddress"].as_str() {
            None => None,
            Some(text) => Some(text.parse::<Ipv4Addr>().map_err(|_| {
                GraphError::bad_request(format!("'{text}' is not a valid IPv4 address for signInConditions.ipAddress."))
            })?),
        };
        Ok(SignIn {
            user_id,
            external_user_type: identity["externalUserType"].as_str().map(str::to_string),
            external_tenant_id: identity["externalTenantId"].as_str().map(str::to_string),
            applications,
            platform: enumerated("devicePlatform", PLATFORMS, "all")?,
            client_app_type: enumerated("clientAppType", CLIENT_APP_TYPES, "all")?,
            country: conditions["country"].as_str().map(str::to_ascii_uppercase),
            ip_address,
            sign_in_risk: enumerated("signInRiskLevel", RISK_LEVELS, "none")?,
            user_risk: enumerated("userRiskLevel", RISK_LEVELS, "none")?,
            insider_risk: enumerated("insiderRiskLevel", &["minor", "moderate", "elevated", "none"], "none")?,
            authentication_flow: conditions["authenticationFlow"]["transferMethod"].as_str().map(str::to_string),
            applied_policies_only: body["appliedPoliciesOnly"].as_bool().unwrap_or(false),
        })
    }
}

/// The answer's `value`: one `whatIfAnalysisResult` per policy (only those that apply when the
/// request asked for `appliedPoliciesOnly`). `Err` when the user is not in the tenant.
pub fn evaluate(scenario: &Scenario, tenant: &Tenant, sign_in: &SignIn) -> Result<Vec<Value>, GraphError> {
    let user = tenant.find(&sign_in.user_id).ok_or_else(|| GraphError::not_found(&sign_in.user_id))?;
    let facts = UserFacts {
        id: user.id.to_ascii_lowercase(),
        guest_type: sign_in.external_user_type.clone().map(|t| t.to_ascii_lowercase()).or_else(|| {
            let external = user.user_principal_name.to_ascii_lowercase().contains("#ext#");
            match (user.user_type, external) {
                (UserType::Guest, true) => Some("b2bcollaborationguest".into()),
                (UserType::Guest, false) => Some("internalguest".into()),
                (UserType::Member, true) => Some("b2bcollaborationmember".into()),
                (UserType::Member, false) => None,
            }
        }),
    };
    let mut value = Vec::new();
    for policy in &scenario.policies {
        let reason = why_not(scenario, policy, &facts, sign_in);
        if sign_in.applied_policies_only && reason.is_some() {
            continue;
        }
        let mut result = policy.clone();
        result["@odata.type"] = json!("#microsoft.graph.whatIfAnalysisResult");
        result["policyApplies"] = json!(reason.is_none());
        result["analysisReasons"] = json!(reason.unwrap_or("notSet"));
        value.push(result);
    }
    Ok(value)
}

struct UserFacts {
    /// Object id, lower-cased.
    id: String,
    /// The `guestOrExternalUserTypes` flag the user matches (lower-cased), if any.
    guest_type: Option<String>,
}

/// The `analysisReasons` value that keeps `policy` from applying, or None when it applies.
fn why_not(scenario: &Scenario, policy: &Value, user: &UserFacts, sign_in: &SignIn) -> Option<&'static str> {
    if policy["state"].as_str() == Some("disabled") {
        return Some("policyNotEnabled");
    }
    let conditions = &policy["conditions"];
    let users = &conditions["users"];
    if !assigned(scenario, users, "include", user, sign_in) || assigned(scenario, users, "exclude", user, sign_in) {
        return Some("users");
    }
    let apps = &conditions["applications"];
    let included_apps = strings(&apps["includeApplications"]);
    if included_apps.is_empty() {
        // A policy for user actions or authentication contexts only: not an application sign-in.
        return Some(if strings(&apps["includeUserActions"]).is_empty() {
            "authenticationContext"
        } else {
            "userActions"
        });
    }
    // App groups named in the request match nothing: What-If needs the apps' own ids.
    let names = |list: &[String]| {
        sign_in.applications.iter().filter(|app| !is_app_group(app)).any(|app| list.iter().any(|e| app_matches(e, app)))
    };
    if !names(&included_apps) || names(&strings(&apps["excludeApplications"])) {
        return Some("application");
    }
    if !apps["applicationFilter"].is_null() {
        return Some("notEnoughInformation");
    }
    let client_apps = strings(&conditions["clientAppTypes"]);
    let client_matches = client_apps.is_empty()
        || client_apps
            .iter()
            .any(|c| c.eq_ignore_ascii_case("all") || c.eq_ignore_ascii_case(&sign_in.client_app_type))
        || (sign_in.client_app_type == "easSupported" && client_apps.iter().any(|c| c == "exchangeActiveSync"));
    if !client_matches {
        return Some("clientApps");
    }
    let platforms = &conditions["platforms"];
    if !platforms.is_null() {
        let listed = |key: &str| {
            strings(&platforms[key])
                .iter()
                .any(|p| p.eq_ignore_ascii_case("all") || p.eq_ignore_ascii_case(&sign_in.platform))
        };
        if sign_in.platform == "all" {
            return Some("notEnoughInformation");
        }
        if !listed("includePlatforms") || listed("excludePlatforms") {
            return Some("devicePlatform");
        }
    }
    let locations = &conditions["locations"];
    if !locations.is_null() {
        let include = strings(&locations["includeLocations"]);
        let exclude = strings(&locations["excludeLocations"]);
        let needs_location = include.iter().chain(&exclude).any(|l| !l.eq_ignore_ascii_case("All"));
        if needs_location && sign_in.ip_address.is_none() && sign_in.country.is_none() {
            return Some("notEnoughInformation");
        }
        let at = |list: &[String]| list.iter().any(|l| in_location(scenario, l, sign_in));
        if !at(&include) || at(&exclude) {
            return Some("location");
        }
    }
    if !conditions["devices"].is_null() {
        return Some("notEnoughInformation");
    }
    if !conditions["times"].is_null() {
        return Some("time");
    }
    let risk = |key: &str, level: &str| {
        let levels = strings(&conditions[key]);
        levels.is_empty() || levels.iter().any(|l| l.eq_ignore_ascii_case(level))
    };
    if !risk("signInRiskLevels", &sign_in.sign_in_risk) {
        return Some("signInRisk");
    }
    if !risk("userRiskLevels", &sign_in.user_risk) {
        return Some("userRisk");
    }
    if !conditions["insiderRiskLevels"].is_null() && !risk("insiderRiskLevels", &sign_in.insider_risk) {
        return Some("insiderRisk");
    }
    let flows = &conditions["authenticationFlows"];
    if !flows.is_null() {
        let methods = flows["transferMethods"].as_str().unwrap_or_default().to_ascii_lowercase();
        let matches = sign_in
            .authentication_flow
            .as_deref()
            .is_some_and(|flow| methods.split(',').any(|m| m.trim() == flow.to_ascii_lowercase()));
        if !matches {
            return Some("authenticationFlow");
        }
    }
    None
}

/// Whether the include (or exclude) side of a policy's users condition names the user.
fn assigned(scenario: &Scenario, users: &Value, side: &str, user: &UserFacts, sign_in: &SignIn) -> bool {
    let list = |key: &str| strings(&users[format!("{side}{key}")]);
    let named = list("Users");
    if named.iter().any(|u| u.eq_ignore_ascii_case("All") || u.eq_ignore_ascii_case(&user.id)) {
        return true;
    }
    if user.guest_type.is_some() && named.iter().any(|u| u.eq_ignore_ascii_case("GuestsOrExternalUsers")) {
        return true;
    }
    let guests = &users[format!("{side}GuestsOrExternalUsers")];
    if let (Some(kind), false) = (&user.guest_type, guests.is_null()) {
        let types = guests["guestOrExternalUserTypes"].as_str().unwrap_or_default().to_ascii_lowercase();
        let tenants = &guests["externalTenants"];
        let tenant_matches = tenants["membershipKind"].as_str() != Some("enumerated")
            || sign_in
                .external_tenant_id
                .as_deref()
                .is_some_and(|t| strings(&tenants["members"]).iter().any(|m| m.eq_ignore_ascii_case(t)));
        if types.split(',').any(|t| t.trim() == kind) && tenant_matches {
            return true;
        }
    }
    if list("Groups").iter().any(|group| member_of(scenario, group, &user.id)) {
        return true;
    }
    let roles = list("Roles");
    scenario.role_assignments.iter().any(|assignment| {
        assignment.directory_scope_id == "/"
            && roles.iter().any(|r| r.eq_ignore_ascii_case(&assignment.role_definition_id))
            && match &assignment.principal {
                Member::User(id) => id.eq_ignore_ascii_case(&user.id),
                Member::Group(group) => member_of(scenario, group, &user.id),
            }
    })
}

fn member_of(scenario: &Scenario, group: &str, user_id: &str) -> bool {
    scenario.transitive_members(group).is_some_and(|members| {
        members.iter().any(|m| matches!(m, Member::User(id) if id.eq_ignore_ascii_case(user_id)))
    })
}

fn is_app_group(app: &str) -> bool {
    ["Office365", "MicrosoftAdminPortals", "All"].iter().any(|g| g.eq_ignore_ascii_case(app))
}

/// Whether a policy's application entry (`All`, an app group, an app id) names `app`.
fn app_matches(entry: &str, app: &str) -> bool {
    if entry.eq_ignore_ascii_case("All") || entry.eq_ignore_ascii_case(app) {
        return true;
    }
    let group: &[&str] = match entry {
        e if e.eq_ignore_ascii_case("Office365") => OFFICE_365_APPS,
        e if e.eq_ignore_ascii_case("MicrosoftAdminPortals") => ADMIN_PORTAL_APPS,
        _ => &[],
    };
    group.iter().any(|id| id.eq_ignore_ascii_case(app))
}

/// Whether the sign-in's address or country is in a location entry (`All`, `AllTrusted`, the MFA
/// trusted IPs' id, or a named location's id).
fn in_location(scenario: &Scenario, entry: &str, sign_in: &SignIn) -> bool {
    if entry.eq_ignore_ascii_case("All") {
        return true;
    }
    let in_named = |location: &Value| {
        if let Some(countries) = location["countriesAndRegions"].as_array() {
            return sign_in.country.as_deref().is_some_and(|c| countries.iter().any(|x| x.as_str() == Some(c)));
        }
        let Some(ip) = sign_in.ip_address else { return false };
        location["ipRanges"].as_array().is_some_and(|ranges| {
            ranges.iter().any(|r| r["cidrAddress"].as_str().is_some_and(|cidr| in_cidr(ip, cidr)))
        })
    };
    if entry.eq_ignore_ascii_case("AllTrusted") {
        return scenario.named_locations.iter().any(|l| l["isTrusted"].as_bool() == Some(true) && in_named(l));
    }
    scenario
        .named_locations
        .iter()
        .find(|l| l["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(entry)))
        .is_some_and(in_named)
}

fn in_cidr(ip: Ipv4Addr, cidr: &str) -> bool {
    let Some((base, bits)) = cidr.split_once('/') else { return false };
    let (Ok(base), Ok(bits)) = (base.parse::<Ipv4Addr>(), bits.parse::<u32>()) else { return false };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(ip) & mask == u32::from(base) & mask
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges() {
        let ip: Ipv4Addr = "40.77.182.32".parse().unwrap();
        assert!(in_cidr(ip, "40.77.0.0/16"));
        assert!(!in_cidr(ip, "40.78.0.0/16"));
        assert!(in_cidr(ip, "0.0.0.0/0"));
        assert!(!in_cidr(ip, "nonsense"));
    }

    #[test]
    fn app_groups_hold_their_apps() {
        assert!(app_matches("Office365", "00000002-0000-0ff1-ce00-000000000000"));
        assert!(!app_matches("Office365", "797f4846-ba00-4fd7-ba43-dac1f8f63013"));
        assert!(app_matches("All", "anything"));
    }
}
