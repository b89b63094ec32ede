//! The Conditional Access scenario routes: policies (beta shape, defaults filled), the
//! security-defaults conflict, transitive membership, role assignments, SKUs, permissions and
//! the CA budget whose 429s carry no Retry-After.

use crate::common;

use common::*;
use graph_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

const CA_READ: &[&str] =
    &["Policy.Read.All", "GroupMember.Read.All", "RoleManagement.Read.Directory", "LicenseAssignment.Read.All"];

fn scenario() -> serde_json::Value {
    json!({
        "name": "sim test",
        "groups": [
            { "id": "grp-outer", "displayName": "Outer", "members": ["grp-inner", "adele.vance@contoso.com"] },
            { "id": "grp-inner", "displayName": "Inner", "members": ["lee.gu@contoso.com", "grp-outer"] },
            { "id": "grp-admins", "displayName": "Admins", "members": ["alex.wilber@contoso.com"], "isAssignableToRole": true }
        ],
        "roleAssignments": [
            { "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "principal": "grp-admins" },
            { "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "principal": "adele.vance@contoso.com" }
        ],
        "policies": [{
            "displayName": "Require MFA", "state": "disabled",
            "conditions": { "users": { "includeUsers": ["All"], "excludeUsers": ["adele.vance@contoso.com"] },
                            "applications": { "includeApplications": ["All"] } },
            "grantControls": { "operator": "OR", "authenticationStrength": "00000000-0000-0000-0000-000000000002" }
        }]
    })
}

async fn sim_with_scenario(extra: serde_json::Value) -> Sim {
    let sim = Sim::start(SimConfig::new(20, 1));
    let mut body = scenario();
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    let (status, summary) = sim.sim_post("/_sim/scenario", body).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    sim
}

#[tokio::test]
async fn policies_have_the_beta_shape_with_user_names_resolved() {
    let sim = sim_with_scenario(json!({})).await;
    let token = sim.token(CA_READ);
    let answer = sim.get("/beta/identity/conditionalAccess/policies", &token).await;
    assert_eq!(answer.status, StatusCode::OK);
    let policy = &answer.body["value"][0];
    assert_eq!(policy["state"], "disabled");
    assert_eq!(policy["conditions"]["users"]["excludeUsers"], json!(["00000000-0000-4000-8000-000000000001"]));
    assert_eq!(policy["conditions"]["clientAppTypes"], json!(["all"]));
    assert!(policy["conditions"]["locations"].is_null());
    assert_eq!(policy["grantControls"]["authenticationStrength"]["requirementsSatisfied"], "mfa");
    let filtered = sim.get("/beta/identity/conditionalAccess/policies?$filter=state%20eq%20'enabled'", &token).await;
    assert_eq!(filtered.body["value"], json!([]));
}

#[tokio::test]
async fn enabling_a_policy_while_security_defaults_are_on_is_refused() {
    let sim = sim_with_scenario(json!({ "securityDefaults": true })).await;
    let token = sim.token(&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"]);
    let id = "00000000-0000-4000-a000-000000000001";
    let path = format!("/beta/identity/conditionalAccess/policies/{id}");
    let refused = sim.call(Method::PATCH, &path, Some(&token), &[], Some(json!({ "state": "enabled" }))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.message().contains("Security Defaults is enabled"), "{}", refused.message());
    let report_only = sim
        .call(Method::PATCH, &path, Some(&token), &[], Some(json!({ "state": "enabledForReportingButNotEnforced" })))
        .await;
    assert_eq!(report_only.status, StatusCode::NO_CONTENT);
    let read = sim.get(&path, &token).await;
    assert_eq!(read.body["state"], "enabledForReportingButNotEnforced");
    let defaults = sim.get("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", &token).await;
    assert_eq!(defaults.body["isEnabled"], true);
}

#[tokio::test]
async fn transitive_members_follow_nesting_once_and_page() {
    let sim = sim_with_scenario(json!({})).await;
    let token = sim.token(CA_READ);
    let answer = sim.get("/v1.0/groups/grp-outer/transitiveMembers?$top=2", &token).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["value"].as_array().unwrap().len(), 2);
    let next = answer.body["@odata.nextLink"].as_str().expect("a second page").to_string();
    let rest = sim.get(&next, &token).await;
    let mut ids: Vec<String> = answer.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest.body["value"].as_array().unwrap())
        .map(|m| format!("{}:{}", m["@odata.type"].as_str().unwrap(), m["id"].as_str().unwrap()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            "#microsoft.graph.group:grp-inner",
            "#microsoft.graph.user:00000000-0000-4000-8000-000000000001",
            "#microsoft.graph.user:00000000-0000-4000-8000-000000000007",
        ]
    );
    let missing = sim.get("/v1.0/groups/grp-gone/transitiveMembers", &token).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let denied = sim.get("/v1.0/groups/grp-outer/transitiveMembers", &sim.token(&["Policy.Read.All"])).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn role_assignments_filter_by_role_and_expand_the_principal() {
    let sim = sim_with_scenario(json!({})).await;
    let token = sim.token(CA_READ);
    let answer = sim
        .get(
            "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20'62e90394-69f5-4237-9190-012177145e10'&$expand=principal",
            &token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let kinds: Vec<&str> = answer.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["principal"]["@odata.type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["#microsoft.graph.group", "#microsoft.graph.user"]);
    let other = sim
        .get("/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20'fe930be7-5e62-47db-91af-98c3a49a38b1'", &token)
        .await;
    assert_eq!(other.body["value"], json!([]));
}

#[tokio::test]
async fn subscribed_skus_show_the_licence() {
    let premium = sim_with_scenario(json!({ "licence": "p2" })).await;
    let token = premium.token(CA_READ);
    let skus = premium.get("/v1.0/subscribedSkus", &token).await;
    let plans: Vec<String> = skus.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["servicePlans"].as_array().unwrap().iter().map(|p| p["servicePlanName"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(plans.contains(&"AAD_PREMIUM_P2".to_string()));
    let free = sim_with_scenario(json!({ "licence": "free" })).await;
    let skus = free.get("/v1.0/subscribedSkus", &free.token(CA_READ)).await;
    assert!(!skus.body.to_string().contains("AAD_PREMIUM"));
}

#[tokio::test]
async fn ca_budget_is_one_per_second_and_its_429_has_no_retry_after() {
    let sim = sim_with_scenario(json!({})).await;
    sim.sim_post("/_sim/config", json!({ "throttle": "auto" })).await;
    let token = sim.token(CA_READ);
    let first = sim.get("/beta/identity/conditionalAccess/policies", &token).await;
    assert_eq!(first.status, StatusCode::OK);
    // Another app in the same tenant shares the budget.
    let other_app = sim.handle.issue_token(&graph_sim::TokenRequest::roles(CA_READ).app("another-app")).unwrap();
    let second = sim.get("/beta/identity/conditionalAccess/namedLocations", &other_app.access_token).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(second.header("retry-after").is_none());
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    let third = sim.get("/beta/identity/conditionalAccess/namedLocations", &token).await;
    assert_eq!(third.status, StatusCode::OK);
}

#[tokio::test]
async fn a_scenario_naming_an_unknown_user_is_refused() {
    let sim = Sim::start(SimConfig::new(20, 1));
    let (status, body) = sim
        .sim_post(
            "/_sim/scenario",
            json!({ "groups": [{ "id": "g", "displayName": "G", "members": ["nobody@contoso.com"] }] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error_description"].as_str().unwrap().contains("nobody@contoso.com"));
}

#[tokio::test]
async fn policies_need_a_policy_read_permission() {
    let sim = sim_with_scenario(json!({})).await;
    let answer = sim.get("/beta/identity/conditionalAccess/policies", &sim.token(&["User.Read.All"])).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.code(), "Authorization_RequestDenied");
}
