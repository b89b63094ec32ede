//! The Graph routes over a CA scenario:
//!
//! | route | permission (any of) |
//! |---|---|
//! | `GET /identity/conditionalAccess/policies[/{id}]`, `PATCH …/policies/{id}` (state) | Policy.Read.All, Policy.Read.ConditionalAccess (write: Policy.ReadWrite.ConditionalAccess) |
//! | `GET /identity/conditionalAccess/namedLocations` | Policy.Read.All, Policy.Read.ConditionalAccess |
//! | `POST /identity/conditionalAccess/evaluate` (What-If, `evaluate.rs`) | Policy.Read.ConditionalAccess, Policy.Read.All, Policy.ReadWrite.ConditionalAccess |
//! | `GET /policies/identitySecurityDefaultsEnforcementPolicy` | Policy.Read.All |
//! | `GET /groups/{id}`, `GET /groups/{id}/transitiveMembers` (`$top` ≤ 999, `$skiptoken`) | GroupMember.Read.All, Group.Read.All, Directory.Read.All |
//! | `GET /roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '…'` | RoleManagement.Read.Directory, RoleManagement.Read.All, Directory.Read.All |
//! | `GET /subscribedSkus` | LicenseAssignment.Read.All, Organization.Read.All, Directory.Read.All |
//!
//! Policies, named locations (and What-If) share the CA budget (`budget.rs`) when throttling is on.

use axum::http::Method;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::{evaluate, Licence, Member, Scenario, AAD_PREMIUM_P2_PLAN, AAD_PREMIUM_PLAN};
use crate::auth::Principal;
use crate::config::ThrottleMode;
use crate::odata::{GraphError, QueryOptions};
use crate::routes::paging;
use crate::routes::{GraphRequest, GraphResponse};
use crate::stats::bump;
use crate::SimState;

const POLICY_READ: &[&str] =
    &["Policy.Read.All", "Policy.Read.ConditionalAccess", "Policy.ReadWrite.ConditionalAccess"];
const POLICY_WRITE: &[&str] = &["Policy.ReadWrite.ConditionalAccess"];
const SECURITY_DEFAULTS_READ: &[&str] = &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"];
const GROUP_READ: &[&str] = &["GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"];
const ROLE_READ: &[&str] = &["RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All"];
const SKU_READ: &[&str] = &["LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All"];

/// The security-defaults conflict message Graph gives (observed, not documented).
pub const SECURITY_DEFAULTS_CONFLICT: &str =
    "Security Defaults is enabled in the tenant. You must disable Security defaults before enabling a Conditional Access policy.";

/// Which CA-scenario resource a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CaRoute {
    Policies,
    Policy(String),
    NamedLocations,
    Evaluate,
    SecurityDefaults,
    Group(String),
    TransitiveMembers(String),
    RoleAssignments,
    SubscribedSkus,
}

impl CaRoute {
    fn parse(path: &str) -> Option<CaRoute> {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match s.as_slice() {
            [a, b, c] if eq(a, "identity") && eq(b, "conditionalAccess") && eq(c, "policies") => {
                Some(CaRoute::Policies)
            }
            [a, b, c, id] if eq(a, "identity") && eq(b, "conditionalAccess") && eq(c, "policies") => {
                Some(CaRoute::Policy(id.to_string()))
            }
            [a, b, c] if eq(a, "identity") && eq(b, "conditionalAccess") && eq(c, "namedLocations") => {
                Some(CaRoute::NamedLocations)
            }
            [a, b, c] if eq(a, "identity") && eq(b, "conditionalAccess") && eq(c, "evaluate") => {
                Some(CaRoute::Evaluate)
            }
            [a, b] if eq(a, "policies") && eq(b, "identitySecurityDefaultsEnforcementPolicy") => {
                Some(CaRoute::SecurityDefaults)
            }
            [a, id] if eq(a, "groups") => Some(CaRoute::Group(id.to_string())),
            [a, id, c] if eq(a, "groups") && eq(c, "transitiveMembers") => {
                Some(CaRoute::TransitiveMembers(id.to_string()))
            }
            [a, b, c] if eq(a, "roleManagement") && eq(b, "directory") && eq(c, "roleAssignments") => {
                Some(CaRoute::RoleAssignments)
            }
            [a] if eq(a, "subscribedSkus") => Some(CaRoute::SubscribedSkus),
            _ => None,
        }
    }

    fn in_ca_budget(&self) -> bool {
        matches!(self, CaRoute::Policies | CaRoute::Policy(_) | CaRoute::NamedLocations | CaRoute::Evaluate)
    }
}

/// Answers `request` if it names a CA-scenario resource; `None` lets the other routes have it.
pub fn handle(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
) -> Option<Result<GraphResponse, GraphError>> {
    let route = CaRoute::parse(&request.path)?;
    Some(answer(sim, request, principal, route))
}

fn answer(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    route: CaRoute,
) -> Result<GraphResponse, GraphError> {
    let writes = matches!(route, CaRoute::Policy(_)) && request.method == Method::PATCH;
    let posts = route == CaRoute::Evaluate;
    if posts != (request.method == Method::POST) || (request.method != Method::GET && !writes && !posts) {
        return Err(GraphError::method_not_allowed());
    }
    let query = QueryOptions::parse(request.query.as_deref())?;
    if route == CaRoute::Evaluate {
        bump(&sim.stats.what_if_requests);
    }
    if sim.runtime().throttle == ThrottleMode::Auto
        && route.in_ca_budget()
        && !sim.ca.budget.admit(std::time::Instant::now())
    {
        bump(&sim.stats.throttled_429);
        bump(&sim.stats.ca_throttled_429);
        // Graph documents no Retry-After for these resources.
        return Err(GraphError::new(429, "TooManyRequests", "Too many requests"));
    }
    if matches!(route, CaRoute::Group(_) | CaRoute::TransitiveMembers(_) | CaRoute::RoleAssignments) {
        bump(&sim.stats.membership_requests);
    }
    let scenario = sim.ca.scenario();
    let version = request.version.segment();
    let context = |set: &str| format!("https://graph.microsoft.com/{version}/$metadata#{set}");
    match route {
        CaRoute::Policies => {
            require(principal, POLICY_READ)?;
            let filter = query.filter.as_deref().map(parse_state_filter).transpose()?;
            let value: Vec<Value> = scenario
                .policies
                .iter()
                .filter(|p| filter.as_ref().is_none_or(|state| p["state"].as_str() == Some(state.as_str())))
                .cloned()
                .collect();
            Ok(GraphResponse::json(
                200,
                json!({ "@odata.context": context("identity/conditionalAccess/policies"), "value": value }),
            ))
        }
        CaRoute::Policy(id) if writes => {
            require(principal, POLICY_WRITE)?;
            let body: Value = serde_json::from_slice(&request.body)
                .map_err(|_| GraphError::bad_request("The request body is not valid JSON."))?;
            let state = body["state"].as_str().ok_or_else(|| {
                GraphError::bad_request("The simulator changes only a policy's 'state'; the body had none.")
            })?;
            if !matches!(state, "enabled" | "disabled" | "enabledForReportingButNotEnforced") {
                return Err(GraphError::bad_request(format!("'{state}' is not a valid policy state.")));
            }
            if state == "enabled" && scenario.security_defaults {
                return Err(GraphError::new(400, "BadRequest", SECURITY_DEFAULTS_CONFLICT));
            }
            if !sim.ca.set_policy_state(&id, state) {
                return Err(GraphError::not_found(&id));
            }
            Ok(GraphResponse::no_content())
        }
        CaRoute::Policy(id) => {
            require(principal, POLICY_READ)?;
            scenario
                .policies
                .iter()
                .find(|p| p["id"].as_str().is_some_and(|p| p.eq_ignore_ascii_case(&id)))
                .map(|p| GraphResponse::json(200, p.clone()))
                .ok_or_else(|| GraphError::not_found(&id))
        }
        CaRoute::NamedLocations => {
            require(principal, POLICY_READ)?;
            Ok(GraphResponse::json(
                200,
                json!({ "@odata.context": context("identity/conditionalAccess/namedLocations"), "value": scenario.named_locations }),
            ))
        }
        CaRoute::Evaluate => {
            require(principal, POLICY_READ)?;
            let sign_in = evaluate::SignIn::parse(&request.body)?;
            let value = evaluate::evaluate(&scenario, &sim.tenant(), &sign_in)?;
            Ok(GraphResponse::json(
                200,
                json!({ "@odata.context": context("Collection(microsoft.graph.whatIfAnalysisResult)"), "value": value }),
            ))
        }
        CaRoute::SecurityDefaults => {
            require(principal, SECURITY_DEFAULTS_READ)?;
            Ok(GraphResponse::json(
                200,
                json!({
                    "@odata.context": context("policies/identitySecurityDefaultsEnforcementPolicy/$entity"),
                    "id": "00000000-0000-0000-0000-000000000005",
                    "displayName": "Security Defaults",
                    "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
                    "isEnabled": scenario.security_defaults,
                }),
            ))
        }
        CaRoute::Group(id) => {
            require(principal, GROUP_READ)?;
            let group = scenario.group(&id).ok_or_else(|| GraphError::not_found(&id))?;
            Ok(GraphResponse::json(
                200,
                json!({
                    "@odata.context": context("groups/$entity"), "id": group.id, "displayName": group.display_name,
                    "isAssignableToRole": group.is_assignable_to_role, "securityEnabled": true, "mailEnabled": false,
                }),
            ))
        }
        CaRoute::TransitiveMembers(id) => {
            require(principal, GROUP_READ)?;
            transitive_members(sim, request, &query, &scenario, &id)
        }
        CaRoute::RoleAssignments => {
            require(principal, ROLE_READ)?;
            let role = query.filter.as_deref().map(parse_role_filter).transpose()?;
            let expand = request.query.as_deref().is_some_and(|q| q.to_ascii_lowercase().contains("expand=principal"));
            let value: Vec<Value> = scenario
                .role_assignments
                .iter()
                .filter(|a| role.as_ref().is_none_or(|r| a.role_definition_id.eq_ignore_ascii_case(r)))
                .map(|a| {
                    let (principal_id, kind) = match &a.principal {
                        Member::User(id) => (id.as_str(), "#microsoft.graph.user"),
                        Member::Group(id) => (id.as_str(), "#microsoft.graph.group"),
                    };
                    let mut item = json!({
                        "id": a.id, "roleDefinitionId": a.role_definition_id, "principalId": principal_id,
                        "directoryScopeId": a.directory_scope_id,
                    });
                    if expand {
                        item["principal"] = json!({ "@odata.type": kind, "id": principal_id });
                    }
                    item
                })
                .collect();
            Ok(GraphResponse::json(
                200,
                json!({ "@odata.context": context("roleManagement/directory/roleAssignments"), "value": value }),
            ))
        }
        CaRoute::SubscribedSkus => {
            require(principal, SKU_READ)?;
            Ok(GraphResponse::json(
                200,
                json!({ "@odata.context": context("subscribedSkus"), "value": skus(scenario.licence) }),
            ))
        }
    }
}

fn require(principal: &Principal, wanted: &[&str]) -> Result<(), GraphError> {
    if principal.has_any(wanted) {
        Ok(())
    } else {
        Err(GraphError::insufficient_privileges())
    }
}

/// `state eq '…'`, the one filter the simulator takes on policies.
fn parse_state_filter(text: &str) -> Result<String, GraphError> {
    quoted_after(text, "state eq ").ok_or_else(|| {
        GraphError::bad_request(format!(
            "Invalid filter clause: the simulator supports only state eq '…' on policies, not '{text}'."
        ))
    })
}

/// `roleDefinitionId eq '…'`, the one filter the simulator takes on role assignments.
fn parse_role_filter(text: &str) -> Result<String, GraphError> {
    quoted_after(text, "roledefinitionid eq ").ok_or_else(|| {
        GraphError::bad_request(format!(
            "Invalid filter clause: the simulator supports only roleDefinitionId eq '…' on roleAssignments, not '{text}'."
        ))
    })
}

fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let trimmed = text.trim();
    if !trimmed.to_ascii_lowercase().starts_with(prefix) {
        return None;
    }
    let value = trimmed[prefix.len()..].trim();
    (value.len() >= 2 && value.starts_with('\'') && value.ends_with('\''))
        .then(|| value[1..value.len() - 1].to_string())
}

const TRANSITIVE_MEMBERS_MAX_TOP: usize = 999;

fn transitive_members(
    sim: &SimState,
    request: &GraphRequest,
    query: &QueryOptions,
    scenario: &Scenario,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let members = scenario.transitive_members(id).ok_or_else(|| GraphError::not_found(id))?;
    let tenant = sim.tenant();
    let size = query.top_within(100, TRANSITIVE_MEMBERS_MAX_TOP)?;
    let start = paging::start(query, tenant.generation, members.len())?;
    let page = paging::collect(
        &members,
        start,
        size,
        |_| true,
        |member| match member {
            Member::User(user_id) => {
                let user = tenant.find(user_id);
                json!({
                    "@odata.type": "#microsoft.graph.user", "id": user_id,
                    "userPrincipalName": user.map(|u| u.user_principal_name.clone()),
                    "displayName": user.map(|u| u.display_name.clone()),
                })
            }
            Member::Group(group_id) => json!({
                "@odata.type": "#microsoft.graph.group", "id": group_id,
                "displayName": scenario.group(group_id).map(|g| g.display_name.clone()),
            }),
        },
    );
    let path = format!("/groups/{id}/transitiveMembers");
    let body = paging::body(request, query, &path, "directoryObjects", tenant.generation, page);
    Ok(GraphResponse::json(200, Value::Object(body)))
}

/// The tenant's subscriptions: an Office 365 E3 always, plus Entra ID P1 or P2 unless Free.
fn skus(licence: Licence) -> Value {
    let plan = |id: &str, name: &str| json!({ "servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User" });
    let mut value = vec![json!({
        "capabilityStatus": "Enabled", "consumedUnits": 25, "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "skuPartNumber": "ENTERPRISEPACK", "appliesTo": "User",
        "prepaidUnits": { "enabled": 25, "suspended": 0, "warning": 0 },
        "servicePlans": [ plan("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE") ],
    })];
    let premium = match licence {
        Licence::Free => None,
        Licence::P1 => {
            Some(("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", vec![plan(AAD_PREMIUM_PLAN, "AAD_PREMIUM")]))
        }
        Licence::P2 => Some((
            "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
            "AAD_PREMIUM_P2",
            vec![plan(AAD_PREMIUM_PLAN, "AAD_PREMIUM"), plan(AAD_PREMIUM_P2_PLAN, "AAD_PREMIUM_P2")],
        )),
    };
    if let Some((sku_id, part, plans)) = premium {
        value.push(json!({
            "capabilityStatus": "Enabled", "consumedUnits": 25, "skuId": sku_id, "skuPartNumber": part, "appliesTo": "User",
            "prepaidUnits": { "enabled": 25, "suspended": 0, "warning": 0 }, "servicePlans": plans,
        }));
    }
    Value::Array(value)
}
