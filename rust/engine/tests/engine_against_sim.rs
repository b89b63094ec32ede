//! The engine through its C ABI (the same calls the C# side makes) against an in-process Graph
//! simulator: listing and per-user paths, `$batch`, throttling, faults, changes, cancellation.

use std::collections::HashMap;
use std::ptr;
use std::time::{Duration, Instant};

use graph_sim::config::{SimConfig, ThrottleMode};
use graph_sim::SimHandle;
use perusermfa_engine::ffi::*;
use serde_json::{json, Value};

use crate::common;
use common::*;

fn start(config: SimConfig) -> SimHandle {
    start_sim(config)
}

/// Each user exactly once: as a result or as an error.
fn assert_each_once(events: &[Value], result_type: &str, expected: &[String]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for event in events.iter().filter(|e| e["type"] == result_type || e["type"] == "error") {
        *seen.entry(event["target"].as_str().unwrap().to_string()).or_default() += 1;
    }
    for user in expected {
        assert_eq!(seen.get(user).copied().unwrap_or(0), 1, "user {user} reported once");
    }
    assert_eq!(seen.len(), expected.len(), "no user reported that was not asked about");
}

/// Changes `users` to `state` the way Set-PerUserMfaState does: plan, then apply the plan with a
/// journal (in a temporary folder, removed afterwards). Returns the apply job's events.
fn change_states(session: &Session, users: &[&str], state: &str) -> Vec<Value> {
    let plan = session.start(json!({ "operation": "planChanges", "state": state }));
    plan.push_users(users);
    plan.close_input();
    let planned: Vec<Value> = of_type(&plan.drain(), "plannedChange").into_iter().cloned().collect();
    assert_eq!(planned.len(), users.len(), "every user planned");
    let journal = std::env::temp_dir().join(format!("pumfa-changes-{}.jsonl", uuid::Uuid::new_v4()));
    let apply = session.start(json!({
        "operation": "applyChanges", "journalPath": journal, "journalOperation": "set", "requestedState": state
    }));
    apply.push(json!({ "changes": planned })).unwrap();
    apply.close_input();
    let events = apply.drain();
    let _ = std::fs::remove_file(&journal);
    events
}

fn licensed_member_ids(sim: &SimHandle) -> Vec<String> {
    sim.tenant()
        .users
        .iter()
        .filter(|u| u.is_licensed() && u.user_type.as_str() == "Member")
        .map(|u| u.id.clone())
        .collect()
}

#[test]
fn listing_reads_states_in_bulk() {
    let sim = start(SimConfig::new(2500, 3));
    let session = Session::with_token(&sim.url(), &sim.token(READ)).unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "licensedMembers" }));
    job.close_input();
    let events = job.drain();
    let expected = licensed_member_ids(&sim);
    assert_each_once(&events, "userState", &expected);
    let tenant = sim.tenant();
    for event in of_type(&events, "userState") {
        let user = tenant.find(event["id"].as_str().unwrap()).unwrap();
        assert_eq!(event["perUserMfaState"], user.state().as_str());
        assert_eq!(event["userPrincipalName"], user.user_principal_name.as_str());
    }
    let stats = sim.stats();
    assert_eq!(stats.requirements_gets, 0, "bulk path sends no per-user request");
    let pages = expected.len().div_ceil(999) as u64;
    assert!(pages >= 2);
    // The licensed-member scope also counts, in one `$count` request, the accounts it leaves out.
    assert_eq!(stats.list_pages, pages + 1, "one request per page of 999 users, and one count");
    assert!(of_type(&events, "verbose").iter().any(|v| v["message"].as_str().unwrap().contains("bulk read")));
}

#[test]
fn listing_falls_back_to_the_per_user_path_through_batch() {
    let sim = start(SimConfig::new(700, 4).with_bulk_state(false));
    let session = Session::with_token(&sim.url(), &sim.token(READ)).unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "all" }));
    job.close_input();
    let events = job.drain();
    let all: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    assert_each_once(&events, "userState", &all);
    let stats = sim.stats();
    assert_eq!(stats.requirements_gets, 700);
    assert!(stats.batch_envelopes >= 35, "700 requests in batches of at most 20");
    assert!(stats.batch_envelopes <= 120, "batches are mostly full: {}", stats.batch_envelopes);
    assert!(of_type(&events, "verbose").iter().any(|v| v["message"].as_str().unwrap().contains("per-user path")));
}

#[test]
fn throttled_reads_lose_nobody_and_stay_near_the_budget() {
    // A small budget so the test meets it quickly: 150 units per 10 s.
    let sim =
        start(SimConfig::new(320, 5).with_bulk_state(false).with_throttle(ThrottleMode::Auto).with_read_budget(150));
    let session = Session::with_token(&sim.url(), &sim.token(READ)).unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "all", "throttleLimit": 40 }));
    job.close_input();
    let events = job.drain();
    let all: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    assert_each_once(&events, "userState", &all);
    assert!(
        of_type(&events, "error").is_empty(),
        "throttling is retried, not reported: {:?}",
        of_type(&events, "error")
    );
    let stats = sim.stats();
    assert!(stats.throttled_429 < 40, "the gate keeps 429s rare: {}", stats.throttled_429);
}

#[test]
fn faults_and_dropped_connections_lose_nobody() {
    let mut config = SimConfig::new(400, 6).with_bulk_state(false);
    config.runtime.fault503 = 0.03;
    config.runtime.fault504 = 0.01;
    config.runtime.drop_rate = 0.02;
    let sim = start(config);
    let session = Session::with_token(&sim.url(), &sim.token(READ)).unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.user_principal_name.clone()).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    job.push_users(&refs);
    job.close_input();
    let events = job.drain();
    assert_each_once(&events, "userState", &users);
    let stats = sim.stats();
    assert!(stats.faults_503 + stats.faults_504 + stats.dropped > 0, "faults were injected");
}

#[test]
fn input_users_report_not_found_and_escape_upns() {
    let sim = start(SimConfig::new(50, 7));
    let session = Session::with_token(&sim.url(), &sim.token(READ)).unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    let asked = [
        "megan.bowen_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "miriam.o'brien@contoso.com",
        "zoë.åström@contoso.com",
        "nobody@contoso.com",
        "   ",
    ];
    job.push_users(&asked);
    job.close_input();
    let events = job.drain();
    let asked: Vec<String> = asked.iter().map(|s| s.to_string()).collect();
    assert_each_once(&events, "userState", &asked);
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 2);
    let missing = errors.iter().find(|e| e["target"] == "nobody@contoso.com").unwrap();
    assert_eq!(missing["errorId"], "UserNotFound");
    assert_eq!(missing["category"], "ObjectNotFound");
    assert!(missing["requestId"].is_string());
    let blank = errors.iter().find(|e| e["target"] == "   ").unwrap();
    assert_eq!(blank["errorId"], "InvalidInput");
}

#[test]
fn changes_skip_users_in_state_and_read_back_the_result() {
    let sim = start(SimConfig::new(30, 8));
    let session = Session::with_token(&sim.url(), &sim.token(WRITE)).unwrap();
    // adele: enabled already; diego: disabled with methods (ends enforced); miriam: disabled.
    let events = change_states(
        &session,
        &["adele.vance@contoso.com", "diego.siciliani@contoso.com", "miriam.o'brien@contoso.com"],
        "enabled",
    );
    let results = of_type(&events, "changeResult");
    assert_eq!(results.len(), 3);
    let by = |upn: &str| results.iter().find(|r| r["userPrincipalName"] == upn).unwrap().to_owned();
    assert_eq!(by("adele.vance@contoso.com")["changed"], false);
    assert_eq!(by("diego.siciliani@contoso.com")["state"], "enforced");
    assert_eq!(by("miriam.o'brien@contoso.com")["previousState"], "disabled");
    assert_eq!(by("miriam.o'brien@contoso.com")["state"], "enabled");
    let tenant = sim.tenant();
    assert_eq!(tenant.find("adele.vance@contoso.com").unwrap().patch_count(), 0);
    assert_eq!(tenant.find("miriam.o'brien@contoso.com").unwrap().patch_count(), 1);
    assert_eq!(sim.stats().patches, 2);
}

#[test]
fn a_rejected_token_ends_the_job_with_one_fatal_error() {
    let sim = start(SimConfig::new(30, 9));
    let session = Session::with_token(&sim.url(), "not-a-token-the-simulator-issued").unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    job.push_users(&["adele.vance@contoso.com", "alex.wilber@contoso.com"]);
    job.close_input();
    let events = job.drain();
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1);
    assert_eq!(fatal[0]["errorId"], "Unauthorized");
    assert!(!fatal[0]["message"].as_str().unwrap().contains("not-a-token"), "the token never appears in messages");
}

#[test]
fn cancel_stops_all_work_at_once() {
    let mut config = SimConfig::new(20_000, 10).with_bulk_state(false);
    config.runtime.latency_ms = 50;
    let sim = start(config);
    let session = Session::with_token(&sim.url(), &sim.token(READ)).unwrap();
    let job = session.start(json!({ "operation": "getStates", "scope": "all" }));
    job.close_input();
    let mut seen = 0;
    while seen < 200 {
        if let Some(Some(event)) = job.next(1000) {
            if event["type"] == "userState" {
                seen += 1;
            }
        }
    }
    let started = Instant::now();
    job.cancel();
    assert!(job.next(1000).is_none(), "a cancelled job is done");
    assert!(started.elapsed() < Duration::from_millis(200));
    std::thread::sleep(Duration::from_millis(300));
    let before = sim.stats().requests;
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sim.stats().requests, before, "nothing keeps sending after cancel");
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let error = Session::with_token("http://graph.contoso.com", "token").err().unwrap();
    assert_eq!(error["errorId"], "InvalidEndpoint");
    assert!(error["message"].as_str().unwrap().contains("loopback"));
}

#[test]
fn null_handles_and_double_frees_are_harmless() {
    let mut error = empty();
    let input = b"{\"userIds\":[]}";
    assert_eq!(unsafe { pumfa_job_push(ptr::null_mut(), input.as_ptr(), input.len(), &mut error) }, PUMFA_ERROR);
    let text = take(&mut error);
    assert!(text.contains("null"));
    unsafe {
        pumfa_buffer_free(&mut error);
        pumfa_job_free(ptr::null_mut());
        pumfa_session_close(ptr::null_mut());
    }
    assert_eq!(unsafe { pumfa_job_next(ptr::null_mut(), 0, &mut error) }, PUMFA_ERROR);
    take(&mut error);
}

#[test]
fn a_nearly_full_write_budget_is_not_taken_for_the_read_budget() {
    // Writes fill 95% of a small write budget while reads stay far below theirs: the PATCH answers
    // carry x-ms-throttle-limit-percentage for the write window. Taking it for the read budget
    // once shrank the read pace of a 10,000-user change to two users a second.
    let sim =
        start(SimConfig::new(200, 21).with_throttle(ThrottleMode::Auto).with_read_budget(5000).with_write_budget(100));
    let session = Session::with_token(&sim.url(), &sim.token(WRITE)).unwrap();
    let users = sim.simulator().users_json();
    let ids: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["perUserMfaState"] == "disabled")
        .filter_map(|u| u["id"].as_str())
        .take(95)
        .collect();
    assert_eq!(ids.len(), 95);
    let events = change_states(&session, &ids, "enforced");
    assert_eq!(of_type(&events, "changeResult").len(), 95, "every user changed: {:?}", of_type(&events, "error"));
    assert_eq!(sim.stats().throttled_429, 0);
    let learnt: Vec<&Value> = of_type(&events, "verbose")
        .into_iter()
        .filter(|v| v["message"].as_str().unwrap_or("").contains("budget in use"))
        .collect();
    assert!(learnt.is_empty(), "the read budget was learnt from write answers: {learnt:?}");
}
