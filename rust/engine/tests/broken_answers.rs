//! Hostile or broken answers from Graph, and hostile input.
//!
//! A mutation fuzz pass over the engine's parsing of Graph's answers: users pages and `$batch`
//! envelopes (with their per-user bodies) come back broken in one random way per case, and every
//! case must end with no panic (no `Internal` error), no hang, and every user asked about either
//! read or reported as an error naming it. The answers come from a small HTTP server in this file
//! (not the simulator), so any byte can be broken. CI runs `FUZZ_CASES` cases from a fixed seed
//! in a few seconds; more on demand:
//! `PUMFA_FUZZ_CASES=5000 PUMFA_FUZZ_SEED=7 cargo test -p perusermfa-engine --test it broken_answers:: -- --nocapture`.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Cases in an ordinary `cargo test` run.
const FUZZ_CASES: u64 = 60;
/// The seed of an ordinary run (a failure prints the case's own seed to rerun it alone).
const FUZZ_SEED: u64 = 20_261_130;

const USERS: [&str; 3] = ["adele@contoso.com", "bob@contoso.com", "chen@contoso.com"];

fn object_id(user: &str) -> String {
    let n = USERS.iter().position(|u| u.eq_ignore_ascii_case(user)).map(|i| i + 1).unwrap_or(99);
    format!("00000000-0000-4000-8000-{n:012}")
}

fn user_json(user: &str) -> Value {
    json!({ "id": object_id(user), "userPrincipalName": user, "displayName": user.split('@').next().unwrap() })
}

/// Which answer of a case is broken.
#[derive(Clone, Copy, Debug)]
enum Broken {
    FirstPage,
    SecondPage,
    FirstBatch,
}

/// One case's plan: which answer to break and the seed of the breaking.
#[derive(Clone, Copy, Debug)]
struct Case {
    /// The run's seed and the case's number in it: `PUMFA_FUZZ_SEED` and `PUMFA_FUZZ_CASES` = number + 1 repeat it.
    run_seed: u64,
    number: u64,
    seed: u64,
    broken: Broken,
}

#[derive(Default)]
struct ServerState {
    case: Option<Case>,
    /// The broken answer goes out once; retries get the real one.
    spent: bool,
}

/// Serves the listing (two pages) and `$batch`, breaking the case's answer.
async fn serve(listener: TcpListener, state: Arc<Mutex<ServerState>>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { return };
        let state = state.clone();
        tokio::spawn(async move {
            let Some((method, target, body)) = read_request(&mut stream).await else { return };
            let base = format!("http://{}", stream.local_addr().unwrap());
            let (answer, kind) = answer_for(&method, &target, &body, &base);
            let bytes = {
                let mut state = state.lock().unwrap();
                match state.case {
                    Some(case)
                        if !state.spent
                            && kind.is_some_and(|k| {
                                std::mem::discriminant(&k) == std::mem::discriminant(&case.broken)
                            }) =>
                    {
                        state.spent = true;
                        break_answer(answer, case.seed)
                    }
                    _ => answer.to_string().into_bytes(),
                }
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        });
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((method, target, body))
}

/// The real answer to a request, and which breakable answer it is.
fn answer_for(method: &str, target: &str, body: &[u8], base: &str) -> (Value, Option<Broken>) {
    if method == "POST" && target.ends_with("/$batch") {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let responses: Vec<Value> = request["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|sub| {
                let url = sub["url"].as_str().unwrap_or("");
                let user = percent_encoding::percent_decode_str(
                    url.trim_start_matches("/users/").split(['/', '?']).next().unwrap_or(""),
                )
                .decode_utf8_lossy()
                .to_string();
                let body = if url.contains("/authentication/requirements") {
                    json!({ "perUserMfaState": "enabled" })
                } else if user.starts_with("00000000-") {
                    let upn = USERS.iter().find(|u| object_id(u) == user).copied().unwrap_or("x@contoso.com");
                    user_json(upn)
                } else {
                    user_json(&user)
                };
                json!({ "id": sub["id"], "status": 200, "headers": {"Content-Type": "application/json"}, "body": body })
            })
            .collect();
        return (json!({ "responses": responses }), Some(Broken::FirstBatch));
    }
    if target.contains("$skiptoken=2") {
        return (json!({ "value": [user_json(USERS[2])] }), Some(Broken::SecondPage));
    }
    let next = format!("{base}/beta/users?$select=id,userPrincipalName,displayName&$skiptoken=2");
    let page =
        json!({ "@odata.count": 3, "value": [user_json(USERS[0]), user_json(USERS[1])], "@odata.nextLink": next });
    (page, Some(Broken::FirstPage))
}

/// Breaks `answer` one way chosen by `seed`: a node replaced, removed or retyped, or the bytes cut,
/// flipped or padded.
fn break_answer(answer: Value, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    if rng.random_bool(0.25) {
        let mut bytes = answer.to_string().into_bytes();
        match rng.random_range(0..4) {
            0 => {
                let at = rng.random_range(0..bytes.len());
                bytes.truncate(at);
            }
            1 => {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            2 => {
                let at = rng.random_range(0..bytes.len());
                bytes.insert(at, [b'\0', b'"', b'{', b']', 0xff][rng.random_range(0..5)]);
            }
            _ => bytes = [b"[".repeat(600), bytes, b"]".repeat(600)].concat(),
        }
        return bytes;
    }
    let mut answer = answer;
    let mut paths = Vec::new();
    collect_paths(&answer, &mut Vec::new(), &mut paths);
    let path = paths[rng.random_range(0..paths.len())].clone();
    let replacement = random_value(&mut rng);
    let remove = rng.random_bool(0.3);
    mutate_at(&mut answer, &path, replacement, remove);
    answer.to_string().into_bytes()
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn collect_paths(value: &Value, prefix: &mut Vec<Step>, into: &mut Vec<Vec<Step>>) {
    into.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Step::Key(key.clone()));
                collect_paths(child, prefix, into);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(Step::Index(index));
                collect_paths(child, prefix, into);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn mutate_at(value: &mut Value, path: &[Step], replacement: Value, remove: bool) {
    let Some((last, parent_path)) = path.split_last() else {
        *value = replacement;
        return;
    };
    let mut parent = value;
    for step in parent_path {
        parent = match step {
            Step::Key(key) => &mut parent[key.as_str()],
            Step::Index(index) => &mut parent[*index],
        };
    }
    match (parent, last) {
        (Value::Object(map), Step::Key(key)) if remove => {
            map.remove(key);
        }
        (Value::Array(items), Step::Index(index)) if remove => {
            items.remove(*index);
        }
        (parent, Step::Key(key)) => parent[key.as_str()] = replacement,
        (parent, Step::Index(index)) => parent[*index] = replacement,
    }
}

fn random_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(1.0e308),
        5 => json!(""),
        6 => json!("x".repeat(rng.random_range(1..200_000))),
        7 => json!([]),
        8 => json!({}),
        9 => json!("enforced"),
        10 => json!(404),
        11 => json!("\u{0}\u{feff}é#EXT#'\""),
        12 => json!([1, "two", null, {"id": 3}]),
        _ => {
            let mut map = Map::new();
            map.insert("error".into(), json!({"code": rng.random::<u32>(), "message": null}));
            Value::Object(map)
        }
    }
}

struct Outcome {
    events: Vec<Value>,
}

impl Outcome {
    fn check(&self, case: &Case, asked: Option<&[&str]>) {
        let context =
            format!("case {case:?} (rerun: PUMFA_FUZZ_SEED={} PUMFA_FUZZ_CASES={})", case.run_seed, case.number + 1);
        for event in &self.events {
            assert_ne!(event["errorId"], "Internal", "{context}: a panic or internal error: {event}");
            if event["type"] == "error" || event["type"] == "fatal" {
                let message = event["message"].as_str().unwrap_or("");
                assert!(!message.trim().is_empty(), "{context}: an error without a message: {event}");
            }
            if event["type"] == "error" {
                assert!(
                    !event["target"].as_str().unwrap_or("").is_empty(),
                    "{context}: an error naming no one: {event}"
                );
            }
        }
        let fatal = self.events.iter().any(|e| e["type"] == "fatal");
        let mut seen: HashMap<String, usize> = HashMap::new();
        for event in self.events.iter().filter(|e| e["type"] == "userState" || e["type"] == "error") {
            *seen.entry(event["target"].as_str().unwrap_or("").to_string()).or_default() += 1;
            if event["type"] == "userState" {
                assert!(!event["id"].as_str().unwrap_or("").is_empty(), "{context}: a row without an id: {event}");
            }
        }
        assert!(seen.values().all(|&n| n == 1), "{context}: someone reported twice: {seen:?}");
        if let (Some(asked), false) = (asked, fatal) {
            for user in asked {
                assert_eq!(
                    seen.get(*user),
                    Some(&1),
                    "{context}: {user} was neither read nor reported: {:?}",
                    self.events
                );
            }
        }
    }
}

#[test]
fn broken_graph_answers_become_errors_never_panics_or_hangs() {
    let cases: u64 = std::env::var("PUMFA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(FUZZ_CASES);
    let seed: u64 = std::env::var("PUMFA_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(FUZZ_SEED);
    let state = Arc::new(Mutex::new(ServerState::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(serve(listener, state.clone()));
    let session = Session::with_token(&url, "opaque-fuzz-token").expect("session opens");

    let started = Instant::now();
    let mut case_rng = StdRng::seed_from_u64(seed);
    for number in 0..cases {
        let broken = [Broken::FirstPage, Broken::SecondPage, Broken::FirstBatch][case_rng.random_range(0..3)];
        let case = Case { run_seed: seed, number, seed: case_rng.random(), broken };
        let by_input = matches!(broken, Broken::FirstBatch) && case_rng.random_bool(0.5);
        *state.lock().unwrap() = ServerState { case: Some(case), spent: false };
        let outcome = if by_input {
            let job = session.start(json!({ "operation": "getStates", "scope": "input", "throttleLimit": 4 }));
            job.push_users(&USERS);
            job.close_input();
            Outcome { events: job.drain_within(Duration::from_secs(30)) }
        } else {
            let job = session.start(json!({ "operation": "getStates", "scope": "all", "throttleLimit": 4 }));
            job.close_input();
            Outcome { events: job.drain_within(Duration::from_secs(30)) }
        };
        outcome.check(&case, by_input.then_some(&USERS[..]));
    }
    println!("{cases} fuzz cases from seed {seed} in {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_next_link_that_never_advances_stops_with_an_error() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let pages = Arc::new(Mutex::new(0u32));
    let counter = pages.clone();
    runtime.spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let counter = counter.clone();
            tokio::spawn(async move {
                let Some(_) = read_request(&mut stream).await else { return };
                *counter.lock().unwrap() += 1;
                let base = format!("http://{}", stream.local_addr().unwrap());
                // Every page hands back the same link, as a broken proxy or cache could.
                let body = json!({
                    "value": [{ "id": object_id(USERS[0]), "userPrincipalName": USERS[0], "perUserMfaState": "enforced" }],
                    "@odata.nextLink": format!("{base}/beta/users?$skiptoken=same"),
                })
                .to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    let session = Session::with_token(&url, "opaque-fuzz-token").expect("session opens");
    let job = session.start(json!({ "operation": "getStates", "scope": "all" }));
    job.close_input();
    let events = job.drain_within(Duration::from_secs(20));
    let rows = of_type(&events, "userState");
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1, "{events:?}");
    assert!(fatal[0]["message"].as_str().unwrap().contains("nextLink"), "{}", fatal[0]);
    assert!(rows.len() <= 2, "{} rows for 1 user: the link was followed round and round", rows.len());
    assert!(*pages.lock().unwrap() <= 2);
}

#[test]
fn a_listed_user_without_a_string_id_is_an_error_record_not_a_blank_row() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let Some(_) = read_request(&mut stream).await else { return };
                let body = json!({ "value": [
                    { "id": object_id(USERS[0]), "userPrincipalName": USERS[0], "perUserMfaState": "enforced" },
                    { "id": 12345, "userPrincipalName": USERS[1], "perUserMfaState": "disabled" },
                    { "userPrincipalName": null, "displayName": null, "perUserMfaState": "enabled" },
                ]})
                .to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    let session = Session::with_token(&url, "opaque-fuzz-token").expect("session opens");
    let job = session.start(json!({ "operation": "getStates", "scope": "all" }));
    job.close_input();
    let events = job.drain_within(Duration::from_secs(20));
    let rows = of_type(&events, "userState");
    assert_eq!(rows.len(), 1, "{events:?}");
    assert_eq!(rows[0]["userPrincipalName"], USERS[0]);
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 2, "{events:?}");
    assert_eq!(errors[0]["target"], USERS[1]);
    assert!(errors[0]["message"].as_str().unwrap().contains("without an id"));
    assert_eq!(errors[1]["target"], "users listing page 1, entry 3");
}

#[test]
fn a_huge_user_id_is_refused_unsent_and_not_echoed_whole() {
    let sim = start_sim(graph_sim::config::SimConfig::new(20, 1));
    let session = Session::for_sim(&sim, READ);
    let real = sim.tenant().users[0].user_principal_name.clone();
    let huge = "a".repeat(10 * 1024 * 1024) + "@contoso.com";
    sim.simulator().reset_stats();
    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    job.push(json!({ "userIds": [huge.as_str(), real.as_str()] })).unwrap();
    job.close_input();
    let events = job.drain();
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1, "{events:?}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.len() < 1024, "the error echoed {} bytes", message.len());
    assert!(message.contains("too long") && message.contains("characters"), "{message}");
    assert_eq!(errors[0]["errorId"], "InvalidInput");
    assert_eq!(of_type(&events, "userState").len(), 1);
    // Only the real user's two reads went out.
    assert_eq!(sim.stats().sub_requests, 2, "{:?}", sim.stats());
}
