//! Migration readiness (`testMigration`) through the C ABI against the simulator: the
//! table-driven scenario suite in `tests/migration-scenarios/` (each file a small tenant and the
//! verdicts it expects for named users), plus the cost and scope checks.

use std::path::PathBuf;
use std::time::Instant;

use graph_sim::config::SimConfig;
use serde_json::{json, Value};

use crate::common;
use common::*;

/// What the check reads with: every permission the migration check uses.
const MIGRATION_READ: &[&str] = &[
    "User.Read.All",
    "Policy.Read.All",
    "GroupMember.Read.All",
    "RoleManagement.Read.Directory",
    "LicenseAssignment.Read.All",
];

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/migration-scenarios")
}

fn scenarios() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("the scenario folder exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_str(&text).unwrap())
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

/// An expected text with each `{date:N}` replaced by the day of a sign-in a scenario states N
/// days ago (the simulator dates it N days and a minute before its minute-rounded start).
fn with_dates(text: &str) -> String {
    let mut out = text.to_string();
    while let Some(start) = out.find("{date:") {
        let end = start + out[start..].find('}').expect("a closed {date:N}");
        let days: f64 = out[start + 6..end].parse().expect("{date:N} with a number");
        let anchor = perusermfa_engine::utc::now() / 60 * 60;
        let at = anchor - (days * 86_400.0) as i64 - 60;
        out.replace_range(start..=end, &perusermfa_engine::utc::format(at)[..10]);
    }
    out
}

/// Runs `testMigration` for `users` and returns the events.
fn run(sim: &graph_sim::SimHandle, permissions: &[&str], users: &[&str]) -> Vec<Value> {
    run_with(sim, permissions, users, false, None)
}

/// [`run`], with `-Evaluate` when `evaluate`, and `-IncludeSignIns -SignInDays <days>` when
/// `sign_in_days` is given.
fn run_with(
    sim: &graph_sim::SimHandle,
    permissions: &[&str],
    users: &[&str],
    evaluate: bool,
    sign_in_days: Option<u32>,
) -> Vec<Value> {
    let session = Session::for_sim(sim, permissions);
    let mut request = json!({ "operation": "testMigration", "scope": "input", "evaluate": evaluate });
    if let Some(days) = sign_in_days {
        request["includeSignIns"] = json!(true);
        request["signInDays"] = json!(days);
    }
    let job = session.start(request);
    job.push_users(users);
    job.close_input();
    job.drain()
}

#[test]
fn every_scenario_gives_the_expected_verdicts() {
    let sim = start_sim(SimConfig::new(20, 1));
    let all = scenarios();
    assert!(all.len() >= 30, "at least 30 scenarios, found {}", all.len());
    let mut failures = Vec::new();
    for (file, scenario) in &all {
        sim.simulator().load_scenario(&scenario.to_string()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let sign_in_days = scenario["test"]["signInDays"].as_u64().map(|d| d as u32);
        let permissions: Vec<String> = match scenario["test"]["permissions"].as_array() {
            Some(list) => list.iter().map(|p| p.as_str().unwrap().to_string()).collect(),
            None => {
                MIGRATION_READ.iter().chain(sign_in_days.map(|_| &"AuditLog.Read.All")).map(|p| p.to_string()).collect()
            }
        };
        let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
        let expect = scenario["expect"].as_object().unwrap_or_else(|| panic!("{file}: no expect"));
        let users: Vec<&str> = expect.keys().map(String::as_str).collect();
        let evaluate = scenario["test"]["evaluate"].as_bool().unwrap_or(false);
        let events = run_with(&sim, &permissions, &users, evaluate, sign_in_days);
        if sign_in_days.is_some() {
            let missing = of_type(&events, "warning")
                .into_iter()
                .filter(|w| w["message"].as_str().unwrap().contains("sign-in logs"))
                .count();
            let expected = usize::from(scenario["test"]["signInsUnreadable"].as_bool().unwrap_or(false));
            assert_eq!(
                missing, expected,
                "{file}: one warning about unreadable sign-in logs, or none; events {events:?}"
            );
        }
        assert!(of_type(&events, "fatal").is_empty(), "{file}: {events:?}");
        for (user, wanted) in expect {
            let found: Vec<&Value> =
                of_type(&events, "migrationCheck").into_iter().filter(|e| e["target"] == *user).collect();
            if found.len() != 1 {
                failures.push(format!("{file}: {user}: {} migrationCheck events; events {events:?}", found.len()));
                continue;
            }
            let got = found[0];
            if !evaluate && got.get("whatIf").is_some() {
                failures.push(format!("{file}: {user}: a whatIf field without -Evaluate"));
            }
            let mut mismatch = |what: &str, expected: String, actual: String| {
                if expected != actual {
                    failures.push(format!(
                        "{file}: {user}: {what} expected {expected}, got {actual} (reason: {})",
                        got["reason"]
                    ));
                }
            };
            mismatch("verdict", wanted["verdict"].to_string(), got["verdict"].to_string());
            for key in ["gaps", "coveredBy", "reportOnly", "whatIf"] {
                if !wanted[key].is_null() {
                    let expected: Vec<String> = strings(&wanted[key]).iter().map(|t| with_dates(t)).collect();
                    mismatch(key, format!("{expected:?}"), format!("{:?}", strings(&got[key])));
                }
            }
            // The evidence columns a scenario states (dates as `{date:N}`).
            if let Some(columns) = wanted["signIns"].as_object() {
                for (key, value) in columns {
                    let expected = match value.as_str() {
                        Some(text) => json!(with_dates(text)),
                        None => value.clone(),
                    };
                    mismatch(key, expected.to_string(), got[key].to_string());
                }
            }
            if let Some(part) = wanted["reason"].as_str() {
                let reason = got["reason"].as_str().unwrap_or_default();
                if !reason.contains(part) {
                    failures.push(format!("{file}: {user}: reason '{reason}' lacks '{part}'"));
                }
            }
        }
        let information = of_type(&events, "information");
        assert_eq!(information.len(), 1, "{file}: one tenant summary");
        assert!(information[0]["message"].as_str().unwrap().starts_with("Migration readiness:"), "{file}");
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn memberships_are_read_once_per_group_never_per_user() {
    let sim = start_sim(SimConfig::new(600, 2));
    let tenant = sim.tenant();
    let members: Vec<&str> = tenant.users.iter().skip(8).take(300).map(|u| u.id.as_str()).collect();
    let scenario = json!({
        "groups": [
            { "id": "grp-big", "displayName": "Everyone in sales", "members": members },
            { "id": "grp-exempt", "displayName": "Exempt", "members": ["grp-nested"] },
            { "id": "grp-nested", "displayName": "Nested", "members": [tenant.users[10].id] },
        ],
        "policies": [{
            "displayName": "MFA for sales",
            "conditions": { "users": { "includeGroups": ["grp-big"], "excludeGroups": ["grp-exempt"] },
                            "applications": { "includeApplications": ["All"] } },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
        }]
    });
    sim.simulator().load_scenario(&scenario.to_string()).unwrap();
    sim.simulator().reset_stats();
    let session = Session::for_sim(&sim, MIGRATION_READ);
    let job = session.start(json!({ "operation": "testMigration", "scope": "all" }));
    job.close_input();
    let events = job.drain();
    let checks = of_type(&events, "migrationCheck");
    assert_eq!(checks.len(), 600, "every account once");
    for check in &checks {
        let id = check["id"].as_str().unwrap();
        let expected = if id == tenant.users[10].id {
            "NotCovered"
        } else if members.contains(&id) {
            "Covered"
        } else {
            "NotCovered"
        };
        assert_eq!(check["verdict"], expected, "{check}");
    }
    let stats = sim.stats();
    // 1 policies + 1 security defaults + 1 SKUs + 2 groups x (entity + 1 page of members), plus
    // 1 page of users: nothing per user (the states come with the listing).
    assert!(stats.requests <= 10, "{} requests for 600 users", stats.requests);
    assert_eq!(stats.requirements_gets, 0);
}

/// The scale rule: membership is read once per group or role a policy names, however many users
/// there are. 20,000 users in 150 child groups, 50 parent groups holding three children each, 50
/// policies naming 4 groups each (and one a role): the membership requests are the referenced
/// groups' (an entity read and one page of transitive members each) plus the role's, not one per user.
#[test]
fn a_large_tenant_costs_membership_requests_per_referenced_group_not_per_user() {
    const USERS: usize = 20_000;
    const CHILDREN: usize = 150;
    const PARENTS: usize = 50;
    let sim = start_sim(SimConfig::new(USERS, 3));
    let tenant = sim.tenant();
    let ids: Vec<&str> = tenant.users.iter().map(|u| u.id.as_str()).collect();
    let mut groups: Vec<Value> = (0..CHILDREN)
        .map(|c| {
            let members: Vec<&str> = ids.iter().copied().skip(c).step_by(CHILDREN).collect();
            json!({ "id": format!("grp-child-{c}"), "displayName": format!("Team {c}"), "members": members })
        })
        .collect();
    groups.extend((0..PARENTS).map(|p| {
        let members: Vec<String> = (0..3).map(|k| format!("grp-child-{}", (3 * p + k) % CHILDREN)).collect();
        json!({ "id": format!("grp-parent-{p}"), "displayName": format!("Division {p}"), "members": members })
    }));
    let mut referenced = std::collections::HashSet::new();
    let policies: Vec<Value> = (0..50)
        .map(|n| {
            let include =
                vec![format!("grp-parent-{n}"), format!("grp-child-{}", (5 * n + 1) % CHILDREN), format!("grp-child-{}", (5 * n + 2) % CHILDREN)];
            let exclude = vec![format!("grp-child-{}", (5 * n + 3) % CHILDREN)];
            referenced.extend(include.iter().chain(&exclude).cloned());
            let mut users = json!({ "includeGroups": include, "excludeGroups": exclude });
            if n == 1 {
                users["includeRoles"] = json!(["62e90394-69f5-4237-9190-012177145e10"]);
            }
            json!({
                "displayName": format!("Policy {n}"),
                "conditions": { "users": users, "applications": { "includeApplications": [if n % 5 == 2 { "Office365" } else { "All" }] } },
                "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
            })
        })
        .collect();
    let scenario = json!({
        "groups": groups,
        "policies": policies,
        "roleAssignments": [{ "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "principal": ids[1] }]
    });
    sim.simulator().load_scenario(&scenario.to_string()).unwrap();
    sim.simulator().reset_stats();
    let session = Session::for_sim(&sim, MIGRATION_READ);
    let job = session.start(json!({ "operation": "testMigration", "scope": "all" }));
    job.close_input();
    let events = job.drain();
    let checks = of_type(&events, "migrationCheck");
    assert_eq!(checks.len(), USERS, "every account once");
    let covered = checks.iter().filter(|c| c["verdict"] == "Covered").count();
    assert!(covered > 0 && covered < USERS, "a mix of verdicts ({covered} Covered)");
    let stats = sim.stats();
    // Each referenced group: its entity and one page of transitive members (at most 3 x 134 + a
    // few members, under a page of 999). The role: its assignments, one page.
    let expected = 2 * referenced.len() as u64 + 1;
    assert_eq!(
        stats.membership_requests,
        expected,
        "{} membership requests for {} referenced groups and 1 role ({USERS} users)",
        stats.membership_requests,
        referenced.len()
    );
    assert_eq!(stats.requirements_gets, 0, "the states come with the listing");
    // The users listing (its pages, and the $count reads that size its userPrincipalName ranges)
    // is counted apart: it is Get-PerUserMfaState -All's listing, not the analysis's cost.
    let ranged: Vec<&Value> = of_type(&events, "verbose")
        .into_iter()
        .filter(|v| v["message"].as_str().unwrap_or("").contains("range"))
        .collect();
    assert!(
        ranged.iter().any(|v| v["message"].as_str().unwrap_or("").starts_with("Listing in ")),
        "a tenant of {USERS} is listed in parallel ranges, as Get-PerUserMfaState -All lists it: {ranged:?}"
    );
    assert!(
        stats.requests - stats.list_pages < expected + 40,
        "{} requests besides the listing",
        stats.requests - stats.list_pages
    );
}

#[test]
fn default_scope_is_the_accounts_with_per_user_mfa() {
    let sim = start_sim(SimConfig::new(300, 4));
    let session = Session::for_sim(&sim, MIGRATION_READ);
    let job = session.start(json!({ "operation": "testMigration", "scope": "perUserMfa" }));
    job.close_input();
    let events = job.drain();
    let expected: Vec<String> =
        sim.tenant().users.iter().filter(|u| u.state().as_str() != "disabled").map(|u| u.id.clone()).collect();
    let mut got: Vec<String> =
        of_type(&events, "migrationCheck").iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected);
    assert!(of_type(&events, "migrationCheck").iter().all(|e| e["verdict"] == "NotCovered"));
}

#[test]
fn unknown_users_come_back_as_errors_naming_them() {
    let sim = start_sim(SimConfig::new(20, 1));
    let events = run(&sim, MIGRATION_READ, &["adele.vance@contoso.com", "nobody@contoso.com"]);
    assert_eq!(of_type(&events, "migrationCheck").len(), 1);
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["target"], "nobody@contoso.com");
}

#[test]
fn policies_are_paced_to_the_ca_budget() {
    let sim = start_sim(SimConfig::new(20, 1));
    sim.simulator().update_config(&json!({ "throttle": "auto" })).unwrap();
    let scenario = json!({
        "namedLocations": [{ "id": "loc-1", "displayName": "Head office" }],
        "policies": [{
            "displayName": "MFA outside the office",
            "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["All"] },
                            "locations": { "includeLocations": ["All"], "excludeLocations": ["loc-1"] } },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
        }]
    });
    sim.simulator().load_scenario(&scenario.to_string()).unwrap();
    sim.simulator().reset_stats();
    let started = Instant::now();
    let events = run(&sim, MIGRATION_READ, &["adele.vance@contoso.com"]);
    let check = of_type(&events, "migrationCheck")[0].clone();
    assert_eq!(check["gaps"], json!(["Sign-ins from 'Head office' skip MFA in 'MFA outside the office'"]));
    assert_eq!(sim.stats().throttled_429, 0, "policies and named locations a second apart: no 429");
    assert!(started.elapsed().as_millis() >= 1000);
}

#[test]
fn evaluate_without_a_what_if_permission_warns_once_and_leaves_what_if_empty() {
    let sim = start_sim(SimConfig::new(20, 1));
    let scenario = json!({
        "policies": [{
            "displayName": "MFA for all",
            "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["All"] } },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
        }]
    });
    sim.simulator().load_scenario(&scenario.to_string()).unwrap();
    sim.simulator().reset_stats();
    // States read through Policy.ReadWrite.AuthenticationMethod; no CA permission: the policies
    // cannot be read (Unknown), and What-If is refused.
    let users = ["adele.vance@contoso.com", "lee.gu@contoso.com", "diego.siciliani@contoso.com"];
    let permissions = ["User.Read.All", "Policy.ReadWrite.AuthenticationMethod", "GroupMember.Read.All"];
    let events = run_with(&sim, &permissions, &users, true, None);
    let checks = of_type(&events, "migrationCheck");
    assert_eq!(checks.len(), 3, "{events:?}");
    for check in &checks {
        assert_eq!(check["verdict"], "Unknown", "{check}");
        assert_eq!(check["whatIf"], json!([]), "{check}");
    }
    let warnings: Vec<String> = of_type(&events, "warning")
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .filter(|m| m.contains("What-If"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Policy.Read.ConditionalAccess"), "{}", warnings[0]);
    assert_eq!(sim.stats().what_if_requests, 1, "no more What-If requests after the refusal");
}

#[test]
fn two_checks_at_once_share_the_ca_budget_without_a_429() {
    // Graph's CA budget is one request per second for the whole tenant: two jobs of one session
    // (and What-If) must share it, not pace themselves apart.
    let sim = start_sim(SimConfig::new(20, 1));
    sim.simulator().update_config(&json!({ "throttle": "auto" })).unwrap();
    let scenario = json!({
        "namedLocations": [{ "id": "loc-1", "displayName": "Head office" }],
        "policies": [{
            "displayName": "MFA outside the office",
            "conditions": { "users": { "includeUsers": ["All"] }, "applications": { "includeApplications": ["All"] },
                            "locations": { "includeLocations": ["All"], "excludeLocations": ["loc-1"] } },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"] }
        }]
    });
    sim.simulator().load_scenario(&scenario.to_string()).unwrap();
    sim.simulator().reset_stats();
    let session = Session::for_sim(&sim, MIGRATION_READ);
    let first = session.start(json!({ "operation": "testMigration", "scope": "input", "evaluate": true }));
    let second = session.start(json!({ "operation": "testMigration", "scope": "input" }));
    first.push_users(&["adele.vance@contoso.com"]);
    second.push_users(&["lee.gu@contoso.com"]);
    first.close_input();
    second.close_input();
    let started = Instant::now();
    let (first, second) = (first.drain(), second.drain());
    assert_eq!(of_type(&first, "migrationCheck")[0]["verdict"], "PartiallyCovered");
    assert_eq!(of_type(&first, "migrationCheck")[0]["whatIf"].as_array().unwrap().len(), 8);
    assert_eq!(of_type(&second, "migrationCheck").len(), 1);
    let stats = sim.stats();
    assert_eq!(stats.ca_throttled_429, 0, "4 policy and location reads and 8 What-If calls a second apart");
    assert_eq!(stats.what_if_requests, 8);
    assert!(started.elapsed().as_secs_f64() >= 10.0, "12 CA requests take at least 11 s: {:?}", started.elapsed());
}
