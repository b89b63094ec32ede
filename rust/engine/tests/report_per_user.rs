//! `Get-PerUserMfaState -Detailed -UserId` for a few users reads each user's report sources on
//! their own (the simulator's request counters show it), with the same rows the tenant-wide read
//! gives; for many users it reads the tenant-wide sources.

use std::collections::HashMap;

use graph_sim::config::SimConfig;
use graph_sim::SimHandle;
use serde_json::{json, Value};

use crate::common;
use common::*;

const ALL: &[&str] = &["User.Read.All", "Policy.Read.All", "AuditLog.Read.All"];
/// ceil(3,000 / 999) = 4: up to 4 users are read per user.
const TENANT: usize = 3000;

fn detailed(session: &Session, users: &[&str]) -> Vec<Value> {
    let job = session.start(json!({"operation": "getStates", "scope": "input", "report": {"mfaSignIns": true}}));
    job.push(json!({ "userIds": users })).unwrap();
    job.close_input();
    job.drain()
}

fn enabled_users(sim: &SimHandle, n: usize) -> Vec<String> {
    sim.tenant().users.iter().filter(|u| u.account_enabled).take(n).map(|u| u.user_principal_name.clone()).collect()
}

fn rows_by_upn(events: &[Value]) -> HashMap<String, Value> {
    of_type(events, "userReport")
        .into_iter()
        .map(|row| {
            let mut row = row.clone();
            row.as_object_mut().unwrap().remove("target");
            (row["userPrincipalName"].as_str().unwrap().to_string(), row)
        })
        .collect()
}

#[test]
fn a_few_users_are_read_per_user_with_the_rows_the_tenant_wide_read_gives() {
    let sim = start_sim(SimConfig::new(TENANT, 31));
    let session = Session::for_sim(&sim, ALL);
    let users = enabled_users(&sim, 2);
    let asked = [users[0].as_str(), users[1].as_str(), "nobody@contoso.com"];

    sim.simulator().reset_stats();
    let events = detailed(&session, &asked);
    let stats = sim.stats();
    assert!(of_type(&events, "fatal").is_empty() && of_type(&events, "warning").is_empty(), "{events:?}");
    assert_eq!(stats.registration_requests, 2, "{stats:?}");
    assert_eq!(stats.sign_in_activity_requests, 2, "{stats:?}");
    assert_eq!(stats.sign_in_log_requests, 2, "{stats:?}");
    assert_eq!(stats.list_pages, 1, "only the tenant's user count: {stats:?}");
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0]["target"].as_str(), errors[0]["errorId"].as_str()),
        (Some("nobody@contoso.com"), Some("UserNotFound"))
    );
    let per_user = rows_by_upn(&events);
    assert_eq!(per_user.len(), 2);

    let job = session.start(json!({"operation": "getStates", "scope": "all", "report": {"mfaSignIns": true}}));
    job.close_input();
    let tenant_wide = rows_by_upn(&job.drain());
    for user in &users {
        assert_eq!(per_user[user], tenant_wide[user], "{user}");
        assert!(per_user[user]["isMfaRegistered"].is_boolean(), "{}", per_user[user]);
        assert!(per_user[user]["lastSignIn"].is_string(), "{}", per_user[user]);
    }
}

#[test]
fn many_users_are_read_from_the_tenant_wide_sources() {
    let sim = start_sim(SimConfig::new(TENANT, 32));
    let session = Session::for_sim(&sim, ALL);
    let users = enabled_users(&sim, 10);
    let asked: Vec<&str> = users.iter().map(String::as_str).collect();
    sim.simulator().reset_stats();
    let events = detailed(&session, &asked);
    let stats = sim.stats();
    assert_eq!(of_type(&events, "userReport").len(), 10, "{events:?}");
    // Pages of 999 registration rows and of 500 users' sign-in activity, not one request per user.
    assert!(stats.registration_requests <= 4, "{stats:?}");
    assert_eq!(stats.sign_in_activity_requests, TENANT.div_ceil(500) as u64, "{stats:?}");
}
