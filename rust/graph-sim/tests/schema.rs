//! Each API version's shapes as Graph publishes them (msgraph-metadata's CSDL for v1.0 and
//! beta), and the schema modes: the answers Graph gives where its behaviour is undocumented.

use crate::common;

use std::collections::{BTreeSet, HashSet};

use common::Sim;
use graph_sim::{BulkStateMode, SchemaModes, SignInActivityAdvancedMode, SimConfig, UpnRangeMode};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ALL: &[&str] = &["User.Read.All", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All"];

/// Every property of v1.0's `signIn` (entity `id` included), from `clean_v10_metadata`.
const SIGN_IN_V1: &[&str] = &[
    "appDisplayName",
    "appId",
    "appliedConditionalAccessPolicies",
    "authenticationAppDeviceDetails",
    "clientAppUsed",
    "conditionalAccessStatus",
    "correlationId",
    "createdDateTime",
    "deviceDetail",
    "homeTenantId",
    "id",
    "ipAddress",
    "isInteractive",
    "location",
    "resourceDisplayName",
    "resourceId",
    "resourceTenantId",
    "riskDetail",
    "riskEventTypes",
    "riskEventTypes_v2",
    "riskLevelAggregated",
    "riskLevelDuringSignIn",
    "riskState",
    "servicePrincipalId",
    "servicePrincipalName",
    "status",
    "userAgent",
    "userDisplayName",
    "userId",
    "userPrincipalName",
];

/// Every property of v1.0's `userRegistrationDetails` (with `id`): no `defaultMfaMethod`.
const REGISTRATION_V1: &[&str] = &[
    "id",
    "isAdmin",
    "isMfaCapable",
    "isMfaRegistered",
    "isPasswordlessCapable",
    "isSsprCapable",
    "isSsprEnabled",
    "isSsprRegistered",
    "isSystemPreferredAuthenticationMethodEnabled",
    "lastUpdatedDateTime",
    "methodsRegistered",
    "systemPreferredAuthenticationMethods",
    "userDisplayName",
    "userPreferredMethodForSecondaryAuthentication",
    "userPrincipalName",
    "userType",
];

fn keys(row: &Value) -> BTreeSet<&str> {
    row.as_object().unwrap().keys().map(String::as_str).collect()
}

async fn all_pages(sim: &Sim, first: &str, token: &str, headers: &[(&str, &str)]) -> Vec<Value> {
    let mut next = Some(first.to_string());
    let mut rows = Vec::new();
    while let Some(link) = next {
        let page = sim.get_with(&link, token, headers).await;
        assert_eq!(page.status, StatusCode::OK, "{link}: {}", page.body);
        rows.extend(page.body["value"].as_array().unwrap().iter().cloned());
        next = page.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    rows
}

#[tokio::test]
async fn sign_in_ids_are_unique() {
    let sim = Sim::start(SimConfig::new(700, 4));
    let token = sim.token(ALL);
    let rows = all_pages(&sim, "/v1.0/auditLogs/signIns", &token, &[]).await;
    assert!(rows.len() > 500, "{}", rows.len());
    let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), rows.len(), "every sign-in has its own id");
    let correlation: HashSet<&str> = rows.iter().map(|r| r["correlationId"].as_str().unwrap()).collect();
    assert_eq!(correlation.len(), rows.len());
}

#[tokio::test]
async fn sign_ins_have_each_versions_shape() {
    let sim = Sim::start(SimConfig::new(300, 2));
    let token = sim.token(ALL);
    let v1 = all_pages(&sim, "/v1.0/auditLogs/signIns", &token, &[]).await;
    let expected: BTreeSet<&str> = SIGN_IN_V1.iter().copied().collect();
    for row in &v1 {
        assert_eq!(keys(row), expected, "v1.0 signIn has exactly its published properties");
    }
    let by_ca: Vec<&Value> = v1.iter().filter(|r| r["conditionalAccessStatus"] == "success").collect();
    assert!(!by_ca.is_empty());
    for row in by_ca {
        let policy = &row["appliedConditionalAccessPolicies"][0];
        assert_eq!(policy["enforcedGrantControls"], json!(["Mfa"]));
        assert!(policy["id"].is_string() && policy["displayName"].is_string() && policy["result"].is_string());
    }
    let beta = all_pages(&sim, "/beta/auditLogs/signIns", &token, &[]).await;
    assert_eq!(beta.len(), v1.len());
    for row in &beta {
        let extra: BTreeSet<&str> = keys(row).difference(&expected).copied().collect();
        assert_eq!(
            extra,
            ["authenticationRequirement", "authenticationRequirementPolicies", "signInEventTypes", "userType"]
                .into_iter()
                .collect()
        );
    }
    // The beta-only property cannot be filtered on v1.0.
    let filter = "authenticationRequirement eq 'multiFactorAuthentication'".replace(' ', "%20");
    let refused = sim.get(&format!("/v1.0/auditLogs/signIns?$filter={filter}"), &token).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.message().contains("'authenticationRequirement'"), "{}", refused.message());
    assert_eq!(sim.get(&format!("/beta/auditLogs/signIns?$filter={filter}"), &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn registration_details_have_each_versions_shape() {
    let sim = Sim::start(SimConfig::new(120, 3));
    let token = sim.token(ALL);
    let truth = sim.truth().await;
    let path = "/reports/authenticationMethods/userRegistrationDetails";
    let v1 = all_pages(&sim, &format!("/v1.0{path}"), &token, &[]).await;
    let expected: BTreeSet<&str> = REGISTRATION_V1.iter().copied().collect();
    for row in &v1 {
        assert_eq!(keys(row), expected);
    }
    let beta = all_pages(&sim, &format!("/beta{path}"), &token, &[]).await;
    for row in &beta {
        let t = truth.iter().find(|t| t["id"] == row["id"]).unwrap();
        assert_eq!(row["defaultMfaMethod"], t["defaultMfaMethod"], "beta has defaultMfaMethod");
    }
}

#[tokio::test]
async fn registration_top_can_be_refused() {
    let modes = SchemaModes { registration_top: graph_sim::RegistrationTopMode::Refused, ..SchemaModes::default() };
    let sim = Sim::start(SimConfig::new(120, 3).with_schema(modes));
    let token = sim.token(ALL);
    let path = "/beta/reports/authenticationMethods/userRegistrationDetails";
    let refused = sim.get(&format!("{path}?$top=999"), &token).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let rows = all_pages(&sim, path, &token, &[]).await;
    assert_eq!(rows.len(), sim.truth().await.iter().filter(|u| u["accountEnabled"] == true).count());
}

#[tokio::test]
async fn bulk_state_is_served_ignored_or_refused() {
    let path = "/v1.0/users?$select=id,perUserMfaState";
    for mode in [BulkStateMode::Served, BulkStateMode::Ignored, BulkStateMode::Refused] {
        let modes = SchemaModes { bulk_state: mode, ..SchemaModes::default() };
        let sim = Sim::start(SimConfig::new(30, 1).with_schema(modes));
        let token = sim.token(common::READ);
        let page = sim.get(path, &token).await;
        match mode {
            BulkStateMode::Served => {
                assert_eq!(page.status, StatusCode::OK);
                assert!(page.body["value"].as_array().unwrap().iter().all(|u| u["perUserMfaState"].is_string()));
            }
            BulkStateMode::Ignored => {
                assert_eq!(page.status, StatusCode::OK);
                assert!(page.body["value"].as_array().unwrap().iter().all(|u| u.get("perUserMfaState").is_none()));
            }
            BulkStateMode::Refused => {
                assert_eq!((page.status, page.code()), (StatusCode::BAD_REQUEST, "Request_BadRequest"));
                assert!(page.message().contains("'perUserMfaState'"));
                assert_eq!(sim.get("/v1.0/users?$select=id", &token).await.status, StatusCode::OK);
            }
        }
        assert_eq!(sim.sim_get("/_sim/config").await["bulkState"], mode.as_str());
    }
}

#[tokio::test]
async fn sign_in_activity_can_come_back_empty_under_advanced_query() {
    let modes = SchemaModes { sign_in_activity_advanced: SignInActivityAdvancedMode::Empty, ..SchemaModes::default() };
    let sim = Sim::start(SimConfig::new(60, 7).with_schema(modes));
    let token = sim.token(ALL);
    let eventual = [("ConsistencyLevel", "eventual")];
    let advanced = sim.get_with("/v1.0/users?$select=id,signInActivity&$count=true", &token, &eventual).await;
    assert_eq!(advanced.status, StatusCode::OK);
    assert!(advanced.body["value"].as_array().unwrap().iter().all(|u| u["signInActivity"].is_null()));
    let plain = sim.get("/v1.0/users?$select=id,signInActivity", &token).await;
    assert!(plain.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["signInActivity"]["lastSignInDateTime"].is_string()));
}

#[tokio::test]
async fn schema_modes_change_at_runtime_and_refuse_bad_values() {
    let sim = Sim::start(SimConfig::new(10, 1));
    let (status, config) = sim
        .sim_post(
            "/_sim/config",
            json!({"bulkState": "refused", "registrationTop": "refused", "signInActivityAdvanced": "empty"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(
        (&config["bulkState"], &config["registrationTop"], &config["signInActivityAdvanced"]),
        (&json!("refused"), &json!("refused"), &json!("empty"))
    );
    let (status, _) = sim.sim_post("/_sim/config", json!({"registrationTop": "sometimes"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(sim.sim_get("/_sim/config").await["registrationTop"], "refused");
}

#[tokio::test]
async fn passkeys_are_fido2_methods_and_hardware_oath_is_beta_only() {
    let sim = Sim::start(SimConfig::new(600, 3));
    let token = sim.token(ALL);
    let truth = sim.truth().await;
    let types = |methods: &Value| -> Vec<String> {
        methods.as_array().unwrap().iter().map(|m| m["@odata.type"].as_str().unwrap().to_string()).collect()
    };
    let with_key = truth
        .iter()
        .find(|u| types(&u["authenticationMethods"]).iter().any(|t| t == "#microsoft.graph.fido2AuthenticationMethod"))
        .expect("a user with a FIDO2 key");
    let id = with_key["id"].as_str().unwrap();
    let answer = sim.get(&format!("/v1.0/users/{id}/authentication/methods"), &token).await;
    let key = answer.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethod")
        .unwrap();
    assert_eq!(key["passkeyType"], "deviceBound");
    let with_hardware = truth
        .iter()
        .find(|u| {
            types(&u["authenticationMethodsBeta"])
                .iter()
                .any(|t| t == "#microsoft.graph.hardwareOathAuthenticationMethod")
        })
        .expect("a user with a hardware OATH token");
    let id = with_hardware["id"].as_str().unwrap();
    let v1 = sim.get(&format!("/v1.0/users/{id}/authentication/methods"), &token).await;
    let beta = sim.get(&format!("/beta/users/{id}/authentication/methods"), &token).await;
    assert!(!types(&v1.body["value"]).iter().any(|t| t.contains("hardwareOath")), "v1.0 has no hardware OATH type");
    assert!(types(&beta.body["value"]).iter().any(|t| t.contains("hardwareOath")));
    for user in &truth {
        assert!(!user["authenticationMethodsBeta"].to_string().contains("passkeyAuthenticationMethod"));
    }
}

/// The users whose UPN lies in a `userPrincipalName` range (`ge low`, `le high`), listed as an
/// advanced query on top of the licensed-member filter.
async fn upn_range(sim: &Sim, token: &str, low: Option<&str>, high: Option<&str>) -> (Vec<Value>, u64) {
    let mut clauses = vec!["assignedLicenses/$count ne 0 and userType eq 'Member'".to_string()];
    clauses.extend(low.map(|low| format!("userPrincipalName ge '{low}'")));
    clauses.extend(high.map(|high| format!("userPrincipalName le '{high}'")));
    let filter = clauses.join(" and ").replace(' ', "%20");
    let eventual = [("ConsistencyLevel", "eventual")];
    let first = format!("/v1.0/users?$filter={filter}&$count=true&$top=7&$select=id,userPrincipalName");
    let count = sim.get_with(&first, token, &eventual).await.body["@odata.count"].as_u64().unwrap();
    (all_pages(sim, &first, token, &eventual).await, count)
}

#[tokio::test]
async fn upn_ranges_partition_the_users_as_an_advanced_query() {
    let sim = Sim::start(SimConfig::new(150, 5));
    let token = sim.token(common::READ);
    let truth = sim.truth().await;
    let licensed_members: BTreeSet<&str> = truth
        .iter()
        .filter(|u| u["userType"] == "Member" && !u["assignedLicenses"].as_array().unwrap().is_empty())
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    // Boundaries no UPN can equal (no '@'): every user falls in exactly one range, whatever the case.
    let bounds = [None, Some("g"), Some("M"), Some("s"), None];
    let mut listed = Vec::new();
    for pair in bounds.windows(2) {
        let (rows, count) = upn_range(&sim, &token, pair[0], pair[1]).await;
        assert_eq!(rows.len() as u64, count, "$count of the range {pair:?} counts its rows");
        for row in &rows {
            let upn = row["userPrincipalName"].as_str().unwrap().to_lowercase();
            assert!(pair[0].is_none_or(|low| upn.as_str() >= low.to_lowercase().as_str()), "{upn} in {pair:?}");
            assert!(pair[1].is_none_or(|high| upn.as_str() <= high.to_lowercase().as_str()), "{upn} in {pair:?}");
        }
        listed.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(listed.len(), licensed_members.len(), "no user in two ranges");
    assert_eq!(listed.iter().map(String::as_str).collect::<BTreeSet<_>>(), licensed_members);

    // Without the advanced-query parameters, a range is refused (the harsher reading of the docs).
    let plain = sim.get("/v1.0/users?$filter=userPrincipalName%20ge%20'm'&$select=id", &token).await;
    assert_eq!((plain.status, plain.code()), (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"));
    // Equality on the UPN stays a default query.
    let equal = sim.get("/v1.0/users?$filter=userPrincipalName%20eq%20'nobody@contoso.com'&$select=id", &token).await;
    assert_eq!(equal.status, StatusCode::OK);
}

#[tokio::test]
async fn upn_ranges_can_be_refused() {
    let modes = SchemaModes { upn_range: UpnRangeMode::Refused, ..SchemaModes::default() };
    let sim = Sim::start(SimConfig::new(30, 1).with_schema(modes));
    let token = sim.token(common::READ);
    let eventual = [("ConsistencyLevel", "eventual")];
    let range = "/v1.0/users?$filter=userPrincipalName%20ge%20'm'&$count=true&$top=1&$select=id";
    let refused = sim.get_with(range, &token, &eventual).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"));
    assert!(refused.message().contains("'userPrincipalName'"), "{}", refused.message());
    let listing = sim.get_with("/v1.0/users?$count=true&$select=id", &token, &eventual).await;
    assert_eq!(listing.status, StatusCode::OK, "the listing itself still works");
    assert_eq!(sim.sim_get("/_sim/config").await["upnRange"], "refused");
    assert_eq!(SchemaModes::HARSH.upn_range, UpnRangeMode::Refused);
}
