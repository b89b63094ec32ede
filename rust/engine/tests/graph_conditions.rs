//! The request pipeline under the conditions real Graph imposes, through the C ABI against an
//! in-process simulator: round trips of hundreds of milliseconds, a budget shared with another
//! client, `Retry-After` pauses, 424 envelopes, connections that break under changes, and requests
//! that cannot be sent at all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use graph_sim::config::{SimConfig, ThrottleMode};
use graph_sim::SimHandle;
use serde_json::{json, Value};

use crate::common;
use common::*;

fn all_ids(sim: &SimHandle) -> Vec<String> {
    sim.tenant().users.iter().map(|u| u.id.clone()).collect()
}

/// Each user exactly once, as a result and never as an error.
fn assert_each_read_once(events: &[Value], expected: &[String]) {
    let errors = of_type(events, "error");
    assert!(errors.is_empty(), "{} errors, first: {:?}", errors.len(), errors.first());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for event in of_type(events, "userState") {
        *seen.entry(event["target"].as_str().unwrap()).or_default() += 1;
    }
    assert_eq!(seen.len(), expected.len(), "every user once");
    assert!(seen.values().all(|&n| n == 1));
}

fn read_all(session: &Session, throttle_limit: Option<u32>) -> (Vec<Value>, Duration) {
    let mut request = json!({ "operation": "getStates", "scope": "all" });
    if let Some(limit) = throttle_limit {
        request["throttleLimit"] = json!(limit);
    }
    let started = Instant::now();
    let job = session.start(request);
    job.close_input();
    let events = job.drain();
    (events, started.elapsed())
}

#[test]
fn the_in_flight_window_grows_to_the_round_trip() {
    // 300 ms per request: a fixed window of 60 sub-requests reads at most 200 users a second
    // (1,500 users in 7.5 s); the adaptive window reads them in about a second and a half.
    let sim = start_sim(SimConfig::new(1500, 11).with_bulk_state(false).with_latency(300, 30));
    let session = Session::for_sim(&sim, READ);
    let (events, elapsed) = read_all(&session, None);
    assert_each_read_once(&events, &all_ids(&sim));
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(sim.stats().max_in_flight > 5, "more than five batches in flight: {}", sim.stats().max_in_flight);
}

#[test]
fn the_in_flight_window_starts_from_the_round_trip_the_listing_took() {
    // 600 ms per request (the users page about 660 ms): the gate lets out about 1,940 reads in
    // the first second, so the first batches may have about 1,280 sub-requests in flight, twice
    // that while a batch's slowest read can take up to twice a page's round trip; a window
    // that started at its fixed 500 ramped up one round trip at a time while every later window
    // of Graph's budget repeated that ramp.
    let sim = start_sim(SimConfig::new(1500, 13).with_bulk_state(false).with_latency(600, 0));
    let session = Session::for_sim(&sim, READ);
    let (events, _) = read_all(&session, None);
    assert_each_read_once(&events, &all_ids(&sim));
    let first: usize = of_type(&events, "verbose")
        .iter()
        .filter_map(|v| v["message"].as_str())
        .find_map(|m| m.split_once("at first ")?.1.split(' ').next()?.parse().ok())
        .expect("the batcher says where its window starts");
    assert!((2000..=3500).contains(&first), "the window started at {first} sub-requests");
    assert!(sim.stats().max_in_flight > 25, "more than 25 batches in flight: {}", sim.stats().max_in_flight);
}

#[test]
fn the_throttle_limit_bounds_the_window() {
    // 200 ms per request: 20 sub-requests in flight read at most 100 users a second.
    let sim = start_sim(SimConfig::new(300, 12).with_bulk_state(false).with_latency(200, 0));
    let session = Session::for_sim(&sim, READ);
    let (events, bounded) = read_all(&session, Some(20));
    assert_each_read_once(&events, &all_ids(&sim));
    assert!(bounded >= Duration::from_millis(2800), "300 users at 20 in flight took {bounded:?}");
    let (events, adaptive) = read_all(&session, None);
    assert_each_read_once(&events, &all_ids(&sim));
    assert!(adaptive < bounded / 2, "the default window is not bound by 20: {adaptive:?} vs {bounded:?}");
}

#[test]
fn another_client_sharing_the_budget_leaves_room_that_is_used_without_429s() {
    // A budget of 1,000 units per 10 s, of which another admin's script spends 600: about 350 per
    // 10 s are left for this job.
    let sim = start_sim(
        SimConfig::new(700, 14)
            .with_bulk_state(false)
            .with_throttle(ThrottleMode::Auto)
            .with_read_budget(1000)
            .with_other_client(600)
            .with_latency(40, 10),
    );
    let session = Session::for_sim(&sim, READ);
    let (events, elapsed) = read_all(&session, None);
    assert_each_read_once(&events, &all_ids(&sim));
    let stats = sim.stats();
    assert!(
        (stats.throttled_429 as f64) < 0.03 * stats.sub_requests as f64,
        "{} of {} answered 429",
        stats.throttled_429,
        stats.sub_requests
    );
    assert_eq!(stats.sent_during_retry_after, 0);
    // The other client ramps up over the first window, so the job gets more at first; it must not
    // collapse to a trickle after a 429 either.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

#[test]
fn a_424_envelope_is_read_like_a_200_and_only_its_failed_requests_are_retried() {
    // 150 reads leave at once (100 ms before any answer can slow them), into a budget of 100.
    let mut config = SimConfig::new(150, 15)
        .with_bulk_state(false)
        .with_throttle(ThrottleMode::Auto)
        .with_read_budget(100)
        .with_latency(100, 0);
    config.runtime.envelope_424 = true;
    let sim = start_sim(config);
    let session = Session::for_sim(&sim, READ);
    let (events, _) = read_all(&session, Some(150));
    assert_each_read_once(&events, &all_ids(&sim));
    let stats = sim.stats();
    assert!(stats.throttled_429 > 0, "the budget was met, so some envelopes came back 424");
    assert_eq!(stats.requirements_gets, 150, "no request Graph had answered was sent again");
}

#[test]
fn a_connection_dropped_under_changes_sends_each_change_once() {
    let sim = start_sim(SimConfig::new(150, 16));
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = all_ids(&sim);
    let plan = session.start(json!({ "operation": "planChanges", "state": "enforced" }));
    plan.push(json!({ "userIds": users })).unwrap();
    plan.close_input();
    let planned: Vec<Value> = of_type(&plan.drain(), "plannedChange").into_iter().cloned().collect();
    let needing = planned.iter().filter(|p| p["action"] == "change").count();
    assert!(needing > 50);
    // Graph applies each request, then the connection breaks before the answer: a fifth of them.
    sim.simulator().update_config(&json!({ "dropRate": 0.2 })).unwrap();
    let dir = std::env::temp_dir().join(format!("pumfa-drop-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let job = session.start(json!({
        "operation": "applyChanges", "journalPath": dir.join("set.jsonl"), "journalOperation": "set",
        "requestedState": "enforced"
    }));
    job.push(json!({ "changes": planned })).unwrap();
    job.close_input();
    let events = job.drain();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(sim.stats().dropped > 0, "connections were dropped");
    for user in sim.tenant().users.iter() {
        assert!(user.patch_count() <= 1, "{} was PATCHed {} times", user.id, user.patch_count());
    }
    assert_eq!(sim.stats().patches as usize, needing, "one PATCH per change");
    let results = of_type(&events, "changeResult").len() + of_type(&events, "error").len();
    assert_eq!(results, users.len(), "every user accounted for");
}

#[test]
#[ignore = "cannot tell the pause from budget pacing: the simulator's read Retry-After is at most one \
            10-s window, and after the first job's 429s the gate rightly holds the next command until \
            that window clears; graph::throttle::tests::a_long_retry_after_is_capped_and_ends_with_its_job \
            covers the pause ending with its job"]
fn a_retry_after_ends_with_the_job_that_caused_it() {
    // A budget of 30 units per 10 s: the first job meets it at once and Graph asks it to wait
    // several seconds.
    let sim = start_sim(
        SimConfig::new(300, 17).with_bulk_state(false).with_throttle(ThrottleMode::Auto).with_read_budget(30),
    );
    let session = Session::for_sim(&sim, READ);
    let first = session.start(json!({ "operation": "getStates", "scope": "all", "throttleLimit": 200 }));
    first.close_input();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.stats().throttled_429 == 0 {
        assert!(first.next(20).is_some(), "the job finished before Graph throttled it");
        assert!(Instant::now() < deadline);
    }
    first.cancel();
    drop(first);
    // Whatever Graph does next, this session's next command must not sit out the old pause.
    sim.simulator().update_config(&json!({ "throttle": "off" })).unwrap();
    let started = Instant::now();
    let next = session.start(json!({ "operation": "getStates", "scope": "input" }));
    next.push_users(&["adele.vance@contoso.com"]);
    next.close_input();
    let events = next.drain();
    assert_eq!(of_type(&events, "userState").len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2), "the next command waited {:?}", started.elapsed());
}

#[test]
fn a_request_that_cannot_be_built_is_not_retried_and_does_not_echo_the_token() {
    let sim = start_sim(SimConfig::new(20, 18));
    // A token with a line break cannot go into an Authorization header.
    let token = "not-a-token\nsecret-part";
    let session = Session::with_token(&sim.url(), token).expect("the session opens; the token is only used later");
    let started = Instant::now();
    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    job.push_users(&["adele.vance@contoso.com"]);
    job.close_input();
    let events = job.drain();
    assert!(started.elapsed() < Duration::from_secs(5), "retried for {:?}", started.elapsed());
    assert_eq!(sim.stats().requests, 0);
    let failures: Vec<&Value> = events.iter().filter(|e| e["type"] == "error" || e["type"] == "fatal").collect();
    assert_eq!(failures.len(), 1, "{events:?}");
    let text = failures[0].to_string();
    assert!(!text.contains("secret-part"), "{text}");
}
