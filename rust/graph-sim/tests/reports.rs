//! The report sources over HTTP: registration details, signInActivity, sign-in logs, methods,
//! their permissions, the Free-tenant mode and the report budgets.

use crate::common;

use std::collections::{HashMap, HashSet};

use common::Sim;
use graph_sim::{SimConfig, ThrottleMode};
use reqwest::StatusCode;
use serde_json::Value;

const ALL: &[&str] = &["User.Read.All", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All"];

fn enc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn all_pages(sim: &Sim, first: &str, token: &str) -> (Vec<Value>, usize) {
    let mut next = Some(first.to_string());
    let mut rows = Vec::new();
    let mut pages = 0;
    while let Some(link) = next {
        let page = sim.get(&link, token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        rows.extend(page.body["value"].as_array().unwrap().iter().cloned());
        next = page.body["@odata.nextLink"].as_str().map(|l| l.to_string());
        pages += 1;
    }
    (rows, pages)
}

#[tokio::test]
async fn registration_details_page_every_enabled_user_once() {
    let sim = Sim::start(SimConfig::new(700, 4));
    let token = sim.token(ALL);
    let truth = sim.truth().await;
    let (rows, pages) =
        all_pages(&sim, "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=250", &token).await;
    assert!(pages >= 3);
    let enabled: HashSet<&str> =
        truth.iter().filter(|u| u["accountEnabled"] == true).map(|u| u["id"].as_str().unwrap()).collect();
    let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), rows.len());
    assert_eq!(ids, enabled, "one row per enabled user, none for disabled accounts");
    let by_id: HashMap<&str, &Value> = truth.iter().map(|u| (u["id"].as_str().unwrap(), u)).collect();
    for row in &rows {
        let t = by_id[row["id"].as_str().unwrap()];
        assert_eq!(row["isMfaRegistered"], t["isMfaRegistered"]);
        assert_eq!(row["methodsRegistered"], t["methodsRegistered"]);
        assert!(row.get("defaultMfaMethod").is_none(), "defaultMfaMethod is beta only");
        assert_eq!(row["isMfaRegistered"], t["hasMfaMethods"]);
    }
    let too_big = sim.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=1000", &token).await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_in_activity_needs_audit_permission_and_small_pages() {
    let sim = Sim::start(SimConfig::new(300, 2));
    let token = sim.token(ALL);
    let no_audit = sim.token(&["User.Read.All", "Policy.Read.All"]);
    let denied = sim.get("/v1.0/users?$select=id,signInActivity&$top=500", &no_audit).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.code(), "Authorization_RequestDenied");
    let big = sim.get("/v1.0/users?$select=id,signInActivity&$top=999", &token).await;
    assert_eq!(big.status, StatusCode::BAD_REQUEST);
    let (rows, _) = all_pages(&sim, "/v1.0/users?$select=id,signInActivity&$top=500", &token).await;
    let truth = sim.truth().await;
    assert_eq!(rows.len(), truth.len());
    for (row, t) in rows.iter().zip(&truth) {
        assert_eq!(row["signInActivity"]["lastSignInDateTime"], t["lastSignInDateTime"]);
        assert_eq!(row["signInActivity"]["lastSuccessfulSignInDateTime"], t["lastSuccessfulSignInDateTime"]);
    }
    // Without signInActivity the listing needs no audit permission.
    assert_eq!(
        sim.get("/v1.0/users?$select=id,signInSessionsValidFromDateTime", &no_audit).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sign_in_logs_filter_to_the_latest_mfa_sign_in() {
    let sim = Sim::start(SimConfig::new(400, 9));
    let token = sim.token(ALL);
    let truth = sim.truth().await;
    let since = graph_sim::clock::iso_utc(graph_sim::clock::unix_now() - 30 * 86_400);
    let filter = enc(&format!(
        "createdDateTime ge {since} and status/errorCode eq 0 and authenticationRequirement eq 'multiFactorAuthentication'"
    ));
    let (rows, pages) = all_pages(&sim, &format!("/beta/auditLogs/signIns?$filter={filter}&$top=100"), &token).await;
    assert!(pages > 1);
    let mut latest: HashMap<String, String> = HashMap::new();
    for row in &rows {
        assert_eq!(row["status"]["errorCode"], 0);
        assert_eq!(row["authenticationRequirement"], "multiFactorAuthentication");
        let providers: Vec<&str> = row["authenticationRequirementPolicies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["requirementProvider"].as_str().unwrap())
            .collect();
        assert!(matches!(providers[..], ["user"] | ["multiConditionalAccess"] | ["securityDefaults"]), "{providers:?}");
        let user = row["userId"].as_str().unwrap().to_string();
        let at = row["createdDateTime"].as_str().unwrap().to_string();
        let entry = latest.entry(user).or_insert_with(|| at.clone());
        if at > *entry {
            *entry = at;
        }
    }
    for t in &truth {
        assert_eq!(latest.get(t["id"].as_str().unwrap()).map(|s| s.as_str()), t["lastMfaSignInDateTime"].as_str());
    }
    // Per user.
    let fixture = "00000000-0000-4000-8000-000000000002";
    let one =
        sim.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc(&format!("userId eq '{fixture}'"))), &token).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body["value"].as_array().unwrap().iter().all(|r| r["userId"] == fixture));
    let bad =
        sim.get(&format!("/v1.0/auditLogs/signIns?$filter={}", enc("startswith(appDisplayName,'x')")), &token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let no_audit = sim.token(&["User.Read.All"]);
    assert_eq!(sim.get("/v1.0/auditLogs/signIns", &no_audit).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn methods_have_documented_shapes_and_need_their_permission() {
    let sim = Sim::start(SimConfig::new(200, 3));
    let truth = sim.truth().await;
    let token = sim.token(ALL);
    let with_phone = truth.iter().find(|u| !u["privateMethodDetails"].as_array().unwrap().is_empty()).unwrap();
    let id = with_phone["id"].as_str().unwrap();
    let answer = sim.get(&format!("/v1.0/users/{id}/authentication/methods"), &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["value"], with_phone["authenticationMethods"]);
    let text = answer.body.to_string();
    for private in with_phone["privateMethodDetails"].as_array().unwrap() {
        assert!(text.contains(private.as_str().unwrap()));
    }
    let no_perm = sim.token(&["User.Read.All", "AuditLog.Read.All"]);
    let denied = sim.get(&format!("/v1.0/users/{id}/authentication/methods"), &no_perm).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let missing = sim.get("/v1.0/users/nobody@contoso.com/authentication/methods", &token).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn free_tenant_refuses_premium_sources_only() {
    let sim = Sim::start(SimConfig::new(50, 1).with_free_tenant(true));
    let token = sim.token(ALL);
    for path in [
        "/v1.0/reports/authenticationMethods/userRegistrationDetails",
        "/beta/auditLogs/signIns",
        "/v1.0/users?$select=id,signInActivity",
    ] {
        let answer = sim.get(path, &token).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(answer.code(), "Authentication_RequestFromNonPremiumTenantOrB2CTenant");
    }
    assert_eq!(sim.get("/v1.0/users?$select=id,lastPasswordChangeDateTime", &token).await.status, StatusCode::OK);
    let methods = sim.get("/v1.0/users/00000000-0000-4000-8000-000000000002/authentication/methods", &token).await;
    assert_eq!(methods.status, StatusCode::OK);
}

#[tokio::test]
async fn report_budgets_are_separate_and_strict() {
    let sim = Sim::start(SimConfig::new(50, 1).with_throttle(ThrottleMode::Auto));
    let token = sim.token(ALL);
    for _ in 0..5 {
        assert_eq!(
            sim.get("/v1.0/reports/authenticationMethods/userRegistrationDetails", &token).await.status,
            StatusCode::OK
        );
    }
    let refused = sim.get("/v1.0/reports/authenticationMethods/userRegistrationDetails", &token).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // Sign-in logs have their own budget; ordinary reads are not affected.
    assert_eq!(sim.get("/beta/auditLogs/signIns?$top=1", &token).await.status, StatusCode::OK);
    assert_eq!(sim.get("/v1.0/users?$top=1", &token).await.status, StatusCode::OK);
    for _ in 0..10 {
        assert_eq!(sim.get("/v1.0/users?$select=id,signInActivity&$top=5", &token).await.status, StatusCode::OK);
    }
    assert_eq!(
        sim.get("/v1.0/users?$select=id,signInActivity&$top=5", &token).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A scenario's sign-ins over HTTP: report-only results only under `Prefer:
/// include-unknown-enum-members`, the applied-policies field only with a CA read permission, and
/// non-interactive sign-ins only when `signInEventTypes` asks for them.
#[tokio::test]
async fn scenario_sign_ins_follow_the_prefer_header_the_ca_permission_and_the_event_types() {
    let sim = Sim::start(SimConfig::new(20, 1));
    let scenario = serde_json::json!({
        "policies": [{
            "displayName": "MFA for Salesforce (report-only)",
            "state": "enabledForReportingButNotEnforced",
            "conditions": { "users": { "includeUsers": ["All"] },
                            "applications": { "includeApplications": ["a9c5e9b1-3f0e-4c52-9b2d-5a1e0f3c7d21"] } },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
        }],
        "signIns": [
            { "user": "adele.vance@contoso.com", "app": "Salesforce", "appId": "a9c5e9b1-3f0e-4c52-9b2d-5a1e0f3c7d21",
              "daysAgo": 2, "requiredBy": ["user"] },
            { "user": "adele.vance@contoso.com", "daysAgo": 3, "interactive": false, "requiredBy": ["user"] }
        ]
    });
    let (status, summary) = sim.sim_post("/_sim/scenario", scenario).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let adele = enc("userPrincipalName eq 'adele.vance@contoso.com'");
    let both = enc("userPrincipalName eq 'adele.vance@contoso.com' and (signInEventTypes/any(t: t eq 'interactiveUser') or signInEventTypes/any(t: t eq 'nonInteractiveUser'))");
    let token = sim.token(ALL);
    let prefer = [("Prefer", "include-unknown-enum-members")];

    let interactive = sim.get_with(&format!("/beta/auditLogs/signIns?$filter={adele}"), &token, &prefer).await;
    let rows = interactive.body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "interactive only by default: {rows:?}");
    assert_eq!(rows[0]["authenticationRequirementPolicies"][0]["requirementProvider"], "user");
    assert_eq!(rows[0]["appDisplayName"], "Salesforce");
    assert_eq!(rows[0]["appliedConditionalAccessPolicies"][0]["result"], "reportOnlySuccess");
    assert_eq!(rows[0]["appliedConditionalAccessPolicies"][0]["enforcedGrantControls"], serde_json::json!(["Mfa"]));

    let all = sim.get_with(&format!("/beta/auditLogs/signIns?$filter={both}"), &token, &prefer).await;
    assert_eq!(all.body["value"].as_array().unwrap().len(), 2, "{}", all.body);
    let v1 = sim.get(&format!("/v1.0/auditLogs/signIns?$filter={both}"), &token).await;
    assert_eq!(v1.status, StatusCode::BAD_REQUEST, "signInEventTypes is beta only");

    let plain = sim.get(&format!("/beta/auditLogs/signIns?$filter={adele}"), &token).await;
    assert_eq!(plain.body["value"][0]["appliedConditionalAccessPolicies"][0]["result"], "unknownFutureValue");

    let no_ca = sim.token(&["User.Read.All", "AuditLog.Read.All"]);
    let hidden = sim.get_with(&format!("/beta/auditLogs/signIns?$filter={adele}"), &no_ca, &prefer).await;
    assert_eq!(hidden.status, StatusCode::OK);
    assert!(hidden.body["value"][0].get("appliedConditionalAccessPolicies").is_none(), "{}", hidden.body);
}
