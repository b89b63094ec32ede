//! `getStates` with `report` (Get-PerUserMfaState -Detailed) through the C ABI against an
//! in-process simulator: every column against the simulator's ground truth, the privacy default,
//! a token without AuditLog.Read.All, an Entra ID Free tenant, and (ignored) the benchmark behind
//! the sign-in strategy.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use graph_sim::config::{SimConfig, ThrottleMode};
use graph_sim::SimHandle;
use serde_json::{json, Value};

use crate::common;
use common::*;

const ALL: &[&str] = &["User.Read.All", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All"];
const NO_AUDIT: &[&str] = &["User.Read.All", "Policy.Read.All", "UserAuthenticationMethod.Read.All"];

fn report(session: &Session, report: Value) -> Vec<Value> {
    let job = session.start(json!({"operation": "getStates", "scope": "all", "report": report}));
    job.close_input();
    // The benchmark's 10,000-user report runs for minutes under the report budgets.
    job.drain_within(std::time::Duration::from_secs(600))
}

fn truth(sim: &SimHandle) -> HashMap<String, Value> {
    let users = sim.simulator().users_json();
    users.as_array().unwrap().iter().map(|u| (u["id"].as_str().unwrap().to_string(), u.clone())).collect()
}

fn days(iso: &Value) -> Value {
    match iso.as_str() {
        None => Value::Null,
        Some(text) => {
            let then = humantime_like(text);
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            json!((now - then).max(0) / 86_400)
        }
    }
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ`.
fn humantime_like(t: &str) -> i64 {
    let n = |a: usize, b: usize| t[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * m2 + 2) / 5 + d - 1;
    (era * 146_097 + doe - 719_468) * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)
}

#[test]
fn detailed_report_matches_ground_truth_in_every_column() {
    let (_, sim) = graph_sim::spawn(SimConfig::new(320, 21).with_throttle(ThrottleMode::Auto));
    let session = Session::for_sim(&sim, ALL);
    let events = report(&session, json!({"mfaSignIns": true}));
    assert!(of_type(&events, "fatal").is_empty(), "{events:?}");
    assert!(of_type(&events, "warning").is_empty(), "{:?}", of_type(&events, "warning"));
    let rows = of_type(&events, "userReport");
    let truth = truth(&sim);
    assert_eq!(rows.len(), truth.len());
    let mut mfa_seen = 0;
    for row in rows {
        let t = &truth[row["id"].as_str().unwrap()];
        assert_eq!(row["userPrincipalName"], t["userPrincipalName"]);
        assert_eq!(row["perUserMfaState"], t["perUserMfaState"]);
        assert_eq!(row["userType"], t["userType"]);
        assert_eq!(row["accountEnabled"], t["accountEnabled"]);
        assert_eq!(row["isLicensed"], json!(!t["assignedLicenses"].as_array().unwrap().is_empty()));
        if t["hasRegistrationDetails"] == true {
            assert_eq!(row["isAdmin"], t["isAdmin"]);
            assert_eq!(row["isMfaRegistered"], t["isMfaRegistered"]);
            assert_eq!(row["isMfaCapable"], t["isMfaCapable"]);
            let methods: Vec<&str> =
                t["methodsRegistered"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
            assert_eq!(row["methodsRegistered"], json!(methods.join(", ")));
            assert_eq!(row["defaultMfaMethod"], t["defaultMfaMethod"]);
            assert_eq!(row["preferredMfaMethod"], t["userPreferredMethodForSecondaryAuthentication"]);
        } else {
            assert_eq!(row["isMfaRegistered"], Value::Null, "no registration row for a disabled account");
        }
        assert_eq!(row["lastSignIn"], t["lastSignInDateTime"]);
        assert_eq!(row["lastSuccessfulSignIn"], t["lastSuccessfulSignInDateTime"]);
        assert_eq!(row["daysSinceLastSignIn"], days(&t["lastSignInDateTime"]));
        assert_eq!(row["lastMfaSignIn"], t["lastMfaSignInDateTime"]);
        assert_eq!(row["daysSinceLastMfaSignIn"], days(&t["lastMfaSignInDateTime"]));
        assert_eq!(row["passwordLastChanged"], t["lastPasswordChangeDateTime"]);
        assert_eq!(row["passwordAgeDays"], days(&t["lastPasswordChangeDateTime"]));
        assert_eq!(row["signInSessionsValidFrom"], t["signInSessionsValidFromDateTime"]);
        assert_eq!(row["passwordPolicies"], t["passwordPolicies"]);
        assert_eq!(row["passwordNeverExpires"], json!(t["passwordPolicies"] == "DisablePasswordExpiration"));
        assert!(row.get("authenticationMethods").is_none());
        if !row["lastMfaSignIn"].is_null() {
            mfa_seen += 1;
        }
        // Privacy by default: no phone number or address anywhere in the row.
        let text = row.to_string();
        for private in t["privateMethodDetails"].as_array().unwrap() {
            assert!(!text.contains(private.as_str().unwrap()));
        }
    }
    assert!(mfa_seen > 20, "{mfa_seen}");
    let stats = sim.stats();
    assert_eq!(stats.throttled_429, 0, "every source paced to its own budget");
}

#[test]
fn method_details_list_each_method_with_its_detail() {
    let (_, sim) = graph_sim::spawn(SimConfig::new(60, 3));
    let session = Session::for_sim(&sim, ALL);
    let events = report(&session, json!({"methodDetails": true}));
    let warnings = of_type(&events, "warning");
    assert_eq!(warnings.len(), 1, "the duration warning, up front");
    assert!(warnings[0]["message"].as_str().unwrap().contains("one Graph request per user"));
    let truth = truth(&sim);
    let mut private_seen = 0;
    for row in of_type(&events, "userReport") {
        let t = &truth[row["id"].as_str().unwrap()];
        let text = row["authenticationMethods"].as_str().unwrap();
        for method in t["authenticationMethods"].as_array().unwrap() {
            for field in ["phoneNumber", "emailAddress", "displayName", "model"] {
                if let Some(detail) = method[field].as_str() {
                    assert!(text.contains(detail), "{text} lacks {detail}");
                }
            }
        }
        private_seen += t["privateMethodDetails"].as_array().unwrap().len();
    }
    assert!(private_seen > 0);
}

#[test]
fn without_audit_permission_one_warning_and_the_rest_complete() {
    let (_, sim) = graph_sim::spawn(SimConfig::new(80, 5));
    let session = Session::for_sim(&sim, NO_AUDIT);
    let events = report(&session, json!({"mfaSignIns": true}));
    assert!(of_type(&events, "fatal").is_empty());
    assert!(of_type(&events, "error").is_empty());
    let warnings = of_type(&events, "warning");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("AuditLog.Read.All")
            && message.contains("LastMfaSignIn")
            && message.contains("IsMfaRegistered")
    );
    let truth = truth(&sim);
    let rows = of_type(&events, "userReport");
    assert_eq!(rows.len(), 80);
    for row in rows {
        let t = &truth[row["id"].as_str().unwrap()];
        assert_eq!(row["perUserMfaState"], t["perUserMfaState"]);
        assert_eq!(row["passwordLastChanged"], t["lastPasswordChangeDateTime"]);
        assert!(row["lastSignIn"].is_null() && row["lastMfaSignIn"].is_null() && row["isMfaRegistered"].is_null());
    }
}

#[test]
fn free_tenant_report_completes_with_what_it_has() {
    let (_, sim) = graph_sim::spawn(SimConfig::new(40, 6).with_free_tenant(true));
    let session = Session::for_sim(&sim, ALL);
    let events = report(&session, json!({"mfaSignIns": true}));
    let warnings = of_type(&events, "warning");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0]["message"].as_str().unwrap().contains("Authentication_RequestFromNonPremiumTenantOrB2CTenant"));
    assert_eq!(of_type(&events, "userReport").len(), 40);
}

#[test]
fn sign_in_days_out_of_range_is_refused() {
    let (_, sim) = graph_sim::spawn(SimConfig::new(10, 1));
    let session = Session::for_sim(&sim, ALL);
    let events = report(&session, json!({"signInDays": 31}));
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1);
    assert!(fatal[0]["message"].as_str().unwrap().contains("-SignInDays"));
}

/// BENCHMARKS.md "Detailed report": `cargo test -p perusermfa-engine --release --test it report:: -- --ignored --nocapture`.
#[test]
#[ignore]
fn benchmark_detailed_report_and_sign_in_strategies() {
    let users: usize = std::env::var("PUMFA_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let (_, sim) = graph_sim::spawn(SimConfig::new(users, 1).with_throttle(ThrottleMode::Auto).with_latency(40, 10));
    let session = Session::for_sim(&sim, ALL);
    let started = Instant::now();
    let events = report(&session, json!({"mfaSignIns": true}));
    let total = started.elapsed().as_secs_f64();
    let rows = of_type(&events, "userReport").len();
    let verbose: Vec<&str> = of_type(&events, "verbose").iter().filter_map(|v| v["message"].as_str()).collect();
    println!("detailed report, {users} users: {rows} rows in {total:.1} s; 429s: {}", sim.stats().throttled_429);
    for line in verbose {
        println!("  {line}");
    }
    // -IncludeMethodDetails: one methods request per user through $batch, at the simulator's
    // directory read budget (Graph documents no stricter one for these requests). A fresh
    // simulator and session: the first report spent the signInActivity budget of the minute.
    let (_, fresh) = graph_sim::spawn(SimConfig::new(users, 1).with_throttle(ThrottleMode::Auto).with_latency(40, 10));
    let fresh_session = Session::for_sim(&fresh, ALL);
    let started = Instant::now();
    let events = report(&fresh_session, json!({"methodDetails": true}));
    let seconds = started.elapsed().as_secs_f64();
    let described = of_type(&events, "userReport").iter().filter(|r| r["authenticationMethods"].is_string()).count();
    println!(
        "-IncludeMethodDetails, {users} users: {described} described, report in {seconds:.1} s (sources first, then one methods request per user); 429s: {}",
        fresh.stats().throttled_429
    );
    for line in of_type(&events, "verbose").iter().filter_map(|v| v["message"].as_str()) {
        println!("  {line}");
    }
    // Per-user sign-in queries, paced to the same 5-per-10-s budget (sequential, honouring Retry-After).
    let token = sim.token(ALL);
    let truth = sim.simulator().users_json();
    let sample: Vec<String> =
        truth.as_array().unwrap().iter().take(15).map(|u| u["id"].as_str().unwrap().to_string()).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut requests = 0;
    runtime.block_on(async {
        for id in &sample {
            loop {
                let filter = format!("userId eq '{id}' and status/errorCode eq 0 and authenticationRequirement eq 'multiFactorAuthentication'");
                let url = format!("{}/beta/auditLogs/signIns?$top=1&$filter={}", sim.url(), percent_encoding::utf8_percent_encode(&filter, percent_encoding::NON_ALPHANUMERIC));
                let answer = client.get(&url).bearer_auth(&token).send().await.unwrap();
                requests += 1;
                if answer.status() == 429 {
                    let wait: u64 = answer.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    continue;
                }
                assert!(answer.status().is_success());
                break;
            }
        }
    });
    let per_user = started.elapsed().as_secs_f64() / sample.len() as f64;
    println!(
        "per-user sign-in queries: {} users in {:.1} s ({requests} requests incl. 429s) = {per_user:.2} s per user; {users} users would take {:.0} s",
        sample.len(),
        started.elapsed().as_secs_f64(),
        per_user * users as f64
    );
}
