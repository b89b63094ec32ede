//! CPU the engine burns while it waits, measured as the whole process's CPU time: a test binary of
//! its own, so no other test's work is counted (the other integration tests share one binary,
//! `tests/it.rs`, and run concurrently).

use std::time::{Duration, Instant};

use graph_sim::config::SimConfig;
use serde_json::json;

mod common;
use common::*;

/// CPU time this process has used (user + system), from /proc.
#[cfg(target_os = "linux")]
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 11 and 12 after the name and state.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_window_waits_without_spinning() {
    // 300 users read one by one (two requests each) through a window of 40 at 500 ms: six seconds
    // of waiting for room, which must not burn a core.
    let sim = start_sim(SimConfig::new(300, 13).with_latency(500, 0));
    let session = Session::for_sim(&sim, READ);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.user_principal_name.clone()).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let cpu_before = cpu_time();
    let started = Instant::now();
    let job = session.start(json!({ "operation": "getStates", "scope": "input", "throttleLimit": 40 }));
    job.push_users(&refs);
    job.close_input();
    let events = job.drain();
    let (cpu, elapsed) = (cpu_time() - cpu_before, started.elapsed());
    assert_eq!(of_type(&events, "userState").len(), 300);
    assert!(elapsed >= Duration::from_secs(5), "the window did hold requests back: {elapsed:?}");
    assert!(cpu < elapsed / 4, "{cpu:?} of CPU in {elapsed:?}");
}
