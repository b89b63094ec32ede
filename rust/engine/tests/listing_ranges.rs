//! A big tenant's users listing split into `userPrincipalName` ranges paged in parallel: every
//! user comes out once (bulk path and per-user path, all users and licensed members, UPNs that
//! all start alike), and a Graph that refuses the range filter gets the listing page by page.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use graph_sim::{BulkStateMode, SchemaModes, SimConfig, SimHandle, UpnRangeMode};
use serde_json::{json, Value};

use crate::common;
use common::*;

/// More users than the engine splits from (six pages of 999).
const BIG: usize = 6_200;

/// A tenant of `users` whose every users page (counts included) takes `page_ms`: the link the
/// first page names is followed meanwhile, so the ranges only take over from a chain that is
/// still paging, as they do against Graph's round trips.
fn config(users: usize, seed: u64) -> SimConfig {
    paged(users, seed, 60)
}

fn paged(users: usize, seed: u64, page_ms: u64) -> SimConfig {
    let mut config = SimConfig::new(users, seed);
    config.runtime.page_ms = page_ms;
    config
}

fn list(sim: &SimHandle, scope: &str) -> Vec<Value> {
    let session = Session::for_sim(sim, READ);
    let job = session.start(json!({"operation": "getStates", "scope": scope}));
    job.close_input();
    let events = job.drain_within(Duration::from_secs(180));
    assert!(of_type(&events, "fatal").is_empty() && of_type(&events, "error").is_empty(), "{:?}", errors(&events));
    events
}

fn errors(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["type"] == "fatal" || e["type"] == "error").collect()
}

fn verbose(events: &[Value]) -> Vec<&str> {
    of_type(events, "verbose").iter().filter_map(|v| v["message"].as_str()).collect()
}

/// Every user `keep` accepts comes out exactly once, with its true state and UPN.
fn assert_each_once(sim: &SimHandle, events: &[Value], keep: impl Fn(&Value) -> bool) -> usize {
    let truth: HashMap<String, Value> = sim
        .simulator()
        .users_json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| keep(u))
        .map(|u| (u["id"].as_str().unwrap().to_string(), u.clone()))
        .collect();
    let states = of_type(events, "userState");
    let ids: HashSet<&str> = states.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), states.len(), "no user twice");
    assert_eq!(states.len(), truth.len(), "no user lost");
    for state in states {
        let t = &truth[state["id"].as_str().unwrap()];
        assert_eq!(
            (&state["perUserMfaState"], &state["userPrincipalName"]),
            (&t["perUserMfaState"], &t["userPrincipalName"])
        );
    }
    truth.len()
}

/// The number of ranges the listing announced, and the users each range's pages held.
fn ranges(events: &[Value]) -> (usize, HashMap<usize, u64>) {
    let announced = verbose(events)
        .iter()
        .find_map(|m| m.strip_prefix("Listing in ")?.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    let mut users = HashMap::new();
    for message in verbose(events) {
        let Some(rest) = message.split_once("(range ").map(|(_, rest)| rest) else { continue };
        let index: usize = rest.split(' ').next().unwrap().parse().unwrap();
        let count: u64 = message.split("): ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        *users.entry(index).or_default() += count;
    }
    (announced, users)
}

/// The rounds of counts the listing announced.
fn rounds(events: &[Value]) -> u32 {
    verbose(events)
        .iter()
        .find_map(|m| m.strip_prefix("Listing in ")?.split(" rounds").next()?.rsplit(' ').next()?.parse().ok())
        .expect("the listing announced its ranges")
}

/// Lists every user of a tenant whose listing carries no state, so each is read per user: every
/// user once, each read once.
fn list_per_user(config: SimConfig) -> (SimHandle, Vec<Value>) {
    let schema = SchemaModes { bulk_state: BulkStateMode::Ignored, ..SchemaModes::default() };
    let sim = start_sim(config.with_schema(schema));
    let events = list(&sim, "all");
    let users = assert_each_once(&sim, &events, |_| true);
    assert_eq!(sim.stats().requirements_gets, users as u64, "a user listed twice is read once");
    (sim, events)
}

#[test]
fn a_big_listing_pages_upn_ranges_in_parallel_and_lists_every_user_once() {
    let sim = start_sim(config(BIG, 3));
    let events = list(&sim, "all");
    assert_each_once(&sim, &events, |_| true);
    let (announced, users) = ranges(&events);
    assert!(announced >= 3, "ranges announced: {:?}", verbose(&events));
    assert_eq!(users.len(), announced, "every range was paged: {users:?}");
    assert!(sim.stats().list_pages > 7 + 37, "the ranges were counted, then paged: {}", sim.stats().list_pages);
    assert_eq!(sim.stats().requirements_gets, 0, "the bulk path read every state from the listing");
}

#[test]
fn the_per_user_path_reads_each_state_once_with_ranges() {
    let (sim, events) = list_per_user(config(BIG, 4));
    // Each first character is a range paged on from the first page that counted it (none holds
    // more than the reads need seconds for), so no users page is read twice.
    let (announced, _) = ranges(&events);
    let whole: HashSet<&str> = verbose(&events)
        .into_iter()
        .filter_map(|m| m.split_once(" (UPNs ").map(|(_, rest)| rest.split(')').next().unwrap()))
        .collect();
    assert_eq!((announced, whole.len()), (37, 37), "{:?}", verbose(&events));
    let pages = sim.stats().list_pages;
    assert!((1 + 37..=7 + 37).contains(&pages), "the first page, its link meanwhile, 37 first pages: {pages}");
}

#[test]
fn licensed_members_are_listed_in_ranges_of_the_same_scope() {
    let sim = start_sim(config(9_000, 6));
    let events = list(&sim, "licensedMembers");
    let listed = assert_each_once(&sim, &events, |u| {
        u["userType"] == "Member" && !u["assignedLicenses"].as_array().unwrap().is_empty()
    });
    assert!(listed as u64 >= 6 * 999, "the scope itself is big enough to split: {listed}");
    assert!(ranges(&events).0 >= 3, "{:?}", verbose(&events));
}

#[test]
fn upns_that_all_start_alike_are_still_split_into_balanced_ranges() {
    // Four rounds of counts ('', 'e', 'em', 'emp') against seven pages in a row: pages slow
    // enough that the ranges take over from the chain under a loaded test run too.
    let sim = start_sim(paged(BIG, 5, 250).with_upn_prefix("emp"));
    let events = list(&sim, "all");
    assert_each_once(&sim, &events, |_| true);
    let (announced, users) = ranges(&events);
    assert!(announced >= 3, "{:?}", verbose(&events));
    // A range holds about two pages (the target for 6,200 users); one cell the next character
    // cannot split further may be bigger, never the whole tenant.
    let biggest = users.values().max().copied().unwrap_or_default();
    assert!(biggest < BIG as u64 / 2, "ranges: {users:?}");
    let rounds = rounds(&events);
    assert!(rounds >= 4, "the shared prefix was split character by character: {rounds} rounds");
}

#[test]
fn when_each_state_is_read_per_user_the_ranges_are_counted_in_one_round() {
    // The same tenant the bulk path splits in four rounds: here the reads, paced by the read
    // budget, take far longer than paging the one big cell, so a round of 37 counts per split
    // would only take read units from them.
    // 150 ms a page: the one cell (seven pages, about 1 s) would have to page nearly four times
    // slower than that before it lagged reads that take eight seconds.
    let (_sim, events) = list_per_user(paged(BIG, 5, 150).with_upn_prefix("emp"));
    let sized = verbose(&events).into_iter().find(|m| m.starts_with("Listing in ")).unwrap_or_default();
    assert!(sized.contains("sized with 37 $count requests in 1 rounds"), "{:?}", verbose(&events));
}

#[test]
fn when_each_state_is_read_per_user_a_cell_paging_would_lag_is_still_split() {
    // At 800 ms a page, one first character of 6,200 users (seven pages in a row) would take
    // longer than half the eight seconds its reads need: it is split, its first page reaching the
    // reads while the pieces are counted, and the other first characters paged on meanwhile.
    let (_sim, events) = list_per_user(paged(BIG, 5, 800).with_upn_prefix("emp"));
    let messages = verbose(&events);
    assert!(rounds(&events) >= 2, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("read while sizing the ranges")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("36 of them first characters paged on")), "{messages:?}");
}

#[test]
fn a_graph_that_refuses_the_range_filter_gets_the_listing_page_by_page() {
    let schema = SchemaModes { upn_range: UpnRangeMode::Refused, ..SchemaModes::default() };
    let sim = start_sim(config(BIG, 7).with_schema(schema));
    let events = list(&sim, "all");
    assert_each_once(&sim, &events, |_| true);
    assert!(
        verbose(&events).iter().any(|m| m.contains("did not count a userPrincipalName range")),
        "{:?}",
        verbose(&events)
    );
    assert_eq!(ranges(&events).0, 0);
    assert_eq!(sim.stats().list_pages, 7, "the seven pages, one after another");
}

#[test]
fn a_small_tenant_is_listed_page_by_page() {
    let sim = start_sim(config(2_500, 8));
    let events = list(&sim, "all");
    assert_each_once(&sim, &events, |_| true);
    assert!(verbose(&events).iter().all(|m| !m.contains("userPrincipalName range")), "{:?}", verbose(&events));
    assert_eq!(sim.stats().list_pages, 3);
}
