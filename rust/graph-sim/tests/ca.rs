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

const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";

fn what_if_body(user: &str, platform: &str, client: &str) -> serde_json::Value {
    json!({
        "signInIdentity": { "@odata.type": "#microsoft.graph.userSignIn", "userId": user },
        "signInContext": { "@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [EXCHANGE_ONLINE] },
        "signInConditions": { "devicePlatform": platform, "clientAppType": client, "country": "US", "ipAddress": "40.77.182.32" }
    })
}

async fn what_if_sim() -> Sim {
    sim_with_scenario(json!({
        "namedLocations": [{ "id": "loc-office", "displayName": "Office", "isTrusted": true, "ipRanges": [{ "cidrAddress": "40.77.0.0/16" }] }],
        "policies": [
            { "displayName": "MFA for all", "state": "enabled",
              "conditions": { "users": { "includeUsers": ["All"], "excludeGroups": ["grp-outer"] },
                              "applications": { "includeApplications": ["All"] } },
              "grantControls": { "operator": "OR", "builtInControls": ["mfa"] } },
            { "displayName": "MFA for Office (report-only)", "state": "enabledForReportingButNotEnforced",
              "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["Office365"] } },
              "grantControls": { "operator": "OR", "builtInControls": ["mfa"] } },
            { "displayName": "MFA outside the office", "state": "enabled",
              "conditions": { "users": { "includeGroups": ["grp-outer"] }, "applications": { "includeApplications": ["All"] },
                              "locations": { "includeLocations": ["All"], "excludeLocations": ["AllTrusted"] } },
              "grantControls": { "operator": "OR", "builtInControls": ["mfa"] } },
            { "displayName": "MFA on iOS", "state": "enabled",
              "conditions": { "users": { "includeGroups": ["grp-outer"] }, "applications": { "includeApplications": ["All"] },
                              "platforms": { "includePlatforms": ["iOS"] } },
              "grantControls": { "operator": "OR", "builtInControls": ["mfa"] } },
            { "displayName": "Old policy", "state": "disabled",
              "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["All"] } },
              "grantControls": { "operator": "OR", "builtInControls": ["mfa"] } }
        ]
    }))
    .await
}

fn results(body: &serde_json::Value) -> Vec<(String, bool, String)> {
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["displayName"].as_str().unwrap().to_string(),
                r["policyApplies"].as_bool().unwrap(),
                r["analysisReasons"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn what_if_evaluates_the_2025_request_shape_against_the_scenario() {
    let sim = what_if_sim().await;
    let token = sim.token(&["Policy.Read.ConditionalAccess"]);
    let path = "/beta/identity/conditionalAccess/evaluate";
    // Alex is not in the nested group: the tenant-wide policy applies, with the report-only one.
    let alex = "00000000-0000-4000-8000-000000000002";
    let answer = sim.call(Method::POST, path, Some(&token), &[], Some(what_if_body(alex, "windows", "browser"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["value"][0]["@odata.type"], "#microsoft.graph.whatIfAnalysisResult");
    assert_eq!(answer.body["value"][1]["state"], "enabledForReportingButNotEnforced", "report-only keeps its state");
    assert_eq!(answer.body["value"][0]["grantControls"]["builtInControls"], json!(["mfa"]), "the full policy");
    let s = |name: &str, applies: bool, why: &str| (name.to_string(), applies, why.to_string());
    assert_eq!(
        results(&answer.body),
        vec![
            s("MFA for all", true, "notSet"),
            s("MFA for Office (report-only)", true, "notSet"),
            s("MFA outside the office", false, "users"),
            s("MFA on iOS", false, "users"),
            s("Old policy", false, "policyNotEnabled"),
        ]
    );
    // Lee is in 'Inner', nested in 'Outer': excluded from the tenant-wide policy; from the
    // office's range the location policy skips him too, and only iOS gets MFA.
    let lee = "lee.gu@contoso.com";
    let windows = sim.call(Method::POST, path, Some(&token), &[], Some(what_if_body(lee, "windows", "browser"))).await;
    assert_eq!(
        results(&windows.body)[..4],
        [
            s("MFA for all", false, "users"),
            s("MFA for Office (report-only)", true, "notSet"),
            s("MFA outside the office", false, "location"),
            s("MFA on iOS", false, "devicePlatform"),
        ]
    );
    let mut ios = what_if_body(lee, "iOS", "mobileAppsAndDesktopClients");
    ios["appliedPoliciesOnly"] = json!(true);
    ios["signInConditions"]["ipAddress"] = json!("20.1.2.3");
    let ios = sim.call(Method::POST, path, Some(&token), &[], Some(ios)).await;
    assert_eq!(
        results(&ios.body),
        vec![
            s("MFA for Office (report-only)", true, "notSet"),
            s("MFA outside the office", true, "notSet"),
            s("MFA on iOS", true, "notSet"),
        ],
        "appliedPoliciesOnly keeps only what applies"
    );
    // An app group in the request matches nothing (Graph needs the apps' ids).
    let mut group = what_if_body(alex, "windows", "browser");
    group["signInContext"]["includeApplications"] = json!(["Office365"]);
    let group = sim.call(Method::POST, path, Some(&token), &[], Some(group)).await;
    assert_eq!(results(&group.body)[1], s("MFA for Office (report-only)", false, "application"));
}

#[tokio::test]
async fn what_if_refuses_the_removed_request_shape_and_bad_input() {
    let sim = what_if_sim().await;
    let token = sim.token(&["Policy.Read.ConditionalAccess"]);
    let path = "/v1.0/identity/conditionalAccess/evaluate";
    let old = json!({
        "conditionalAccessWhatIfSubject": { "@odata.type": "#microsoft.graph.userSubject", "userId": "lee.gu@contoso.com" },
        "conditionalAccessContext": { "@odata.type": "#microsoft.graph.whatIfApplicationContext", "includeApplications": [EXCHANGE_ONLINE] },
        "conditionalAccessWhatIfConditions": {}
    });
    let refused = sim.call(Method::POST, path, Some(&token), &[], Some(old)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.message().contains("is not a valid parameter for the operation 'evaluate'"),
        "{}",
        refused.message()
    );
    let mut missing = what_if_body("lee.gu@contoso.com", "windows", "browser");
    missing.as_object_mut().unwrap().remove("signInConditions");
    let missing = sim.call(Method::POST, path, Some(&token), &[], Some(missing)).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.message().contains("signInConditions"), "{}", missing.message());
    let bad_platform = sim
        .call(Method::POST, path, Some(&token), &[], Some(what_if_body("lee.gu@contoso.com", "amiga", "browser")))
        .await;
    assert_eq!(bad_platform.status, StatusCode::BAD_REQUEST);
    let nobody = sim
        .call(Method::POST, path, Some(&token), &[], Some(what_if_body("nobody@contoso.com", "windows", "browser")))
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let denied = sim
        .call(
            Method::POST,
            path,
            Some(&sim.token(&["User.Read.All"])),
            &[],
            Some(what_if_body("lee.gu@contoso.com", "windows", "browser")),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let get = sim.get(path, &token).await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn what_if_shares_the_ca_budget_with_policies_across_apps() {
    let sim = what_if_sim().await;
    sim.sim_post("/_sim/config", json!({ "throttle": "auto" })).await;
    let token = sim.token(&["Policy.Read.All"]);
    let path = "/beta/identity/conditionalAccess/evaluate";
    let body = what_if_body("lee.gu@contoso.com", "windows", "browser");
    let policies = sim.get("/beta/identity/conditionalAccess/policies", &token).await;
    assert_eq!(policies.status, StatusCode::OK);
    let other_app = sim.handle.issue_token(&graph_sim::TokenRequest::roles(CA_READ).app("another-app")).unwrap();
    let throttled = sim.call(Method::POST, path, Some(&other_app.access_token), &[], Some(body.clone())).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "one request per second for the whole tenant");
    assert!(throttled.header("retry-after").is_none(), "CA resources send no Retry-After");
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    let answered = sim.call(Method::POST, path, Some(&token), &[], Some(body)).await;
    assert_eq!(answered.status, StatusCode::OK);
    let stats = sim.stats().await;
    assert_eq!((stats["whatIfRequests"].as_u64(), stats["caThrottled429"].as_u64()), (Some(2), Some(1)));
}
