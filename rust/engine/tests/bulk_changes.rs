//! Bulk changes through the C ABI against an in-process simulator: plan, apply with a
//! journal, a run cancelled mid-way and resumed, undo, and damaged journals.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use graph_sim::config::SimConfig;
use graph_sim::SimHandle;
use serde_json::{json, Value};

use crate::common;
use common::*;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pumfa-bulk-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plan_users(session: &Session, users: &[String], state: &str) -> Vec<Value> {
    let job = session.start(json!({ "operation": "planChanges", "state": state }));
    job.push(json!({ "userIds": users })).unwrap();
    job.close_input();
    job.drain()
}

fn plan_changes(session: &Session, changes: Vec<Value>) -> Vec<Value> {
    let job = session.start(json!({ "operation": "planChanges" }));
    job.push(json!({ "changes": changes })).unwrap();
    job.close_input();
    job.drain()
}

/// The apply input for planned changes: the plan's events as they are.
fn as_changes(planned: &[Value]) -> Vec<Value> {
    of_type(planned, "plannedChange").into_iter().cloned().collect()
}

fn apply(session: &Session, request: Value, changes: Vec<Value>) -> Vec<Value> {
    let job = session.start(request);
    job.push(json!({ "changes": changes })).unwrap();
    job.close_input();
    job.drain()
}

/// Sets `users` to `state` in one journalled run (plan, then apply); returns the journal's path,
/// in a folder of its own.
fn set_with_journal(session: &Session, users: &[String], state: &str) -> PathBuf {
    let path = temp_dir().join("set.jsonl");
    apply(
        session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }),
        as_changes(&plan_users(session, users, state)),
    );
    path
}

fn read_journal(session: &Session, path: &str) -> Vec<Value> {
    let job = session.start(json!({ "operation": "readJournal", "path": path }));
    job.close_input();
    job.drain()
}

fn journal_lines(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn states(sim: &SimHandle) -> HashMap<String, (String, u32)> {
    sim.tenant().users.iter().map(|u| (u.id.clone(), (u.state().as_str().to_string(), u.patch_count()))).collect()
}

#[test]
fn plan_reads_only_and_says_what_would_happen() {
    let sim = graph_sim::spawn(SimConfig::new(50, 1)).1;
    let session = Session::for_sim(&sim, WRITE);
    let users =
        ["adele.vance@contoso.com", "alex.wilber@contoso.com", "miriam.o'brien@contoso.com", "nobody@contoso.com"]
            .map(String::from);
    let events = plan_users(&session, &users, "enforced");
    let planned = of_type(&events, "plannedChange");
    let action = |upn: &str| planned.iter().find(|p| p["target"] == upn).unwrap()["action"].clone();
    assert_eq!(action("adele.vance@contoso.com"), "change");
    assert_eq!(action("alex.wilber@contoso.com"), "alreadyInState");
    assert_eq!(action("miriam.o'brien@contoso.com"), "change");
    let adele = planned.iter().find(|p| p["target"] == "adele.vance@contoso.com").unwrap();
    assert_eq!(adele["previousState"], "enabled");
    assert_eq!(adele["currentState"], "enabled");
    assert_eq!(adele["id"], "00000000-0000-4000-8000-000000000001");
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["target"], "nobody@contoso.com");
    assert_eq!(sim.stats().patches, 0);
}

#[test]
fn apply_journals_every_change_and_skips_users_already_in_state() {
    let sim = graph_sim::spawn(SimConfig::new(60, 2)).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    let before = states(&sim);
    let planned = plan_users(&session, &users, "enforced");
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set", "requestedState": "enforced" }),
        as_changes(&planned),
    );
    assert!(of_type(&events, "error").is_empty(), "{:?}", of_type(&events, "error"));
    assert!(of_type(&events, "fatal").is_empty(), "{:?}", of_type(&events, "fatal"));
    let results = of_type(&events, "changeResult");
    assert_eq!(results.len(), users.len());
    let needing: Vec<&String> = users.iter().filter(|id| before[*id].0 != "enforced").collect();
    assert!(needing.len() > 10 && needing.len() < users.len());
    assert_eq!(sim.stats().patches as usize, needing.len(), "one PATCH per user not in the state, none for the others");
    for (id, (state, patches)) in states(&sim) {
        assert_eq!(state, "enforced");
        assert_eq!(patches, u32::from(before[&id].0 != "enforced"), "{id}");
    }
    for result in &results {
        let id = result["id"].as_str().unwrap();
        let was = &before[id].0;
        assert_eq!(result["previousState"], was.as_str());
        assert_eq!(result["state"], "enforced", "read back");
        assert_eq!(result["changed"], was != "enforced");
        assert_eq!(result["outcome"], if was == "enforced" { "alreadyInState" } else { "changed" });
    }
    assert!(of_type(&events, "information").iter().any(|i| i["message"].as_str().unwrap().starts_with("Sending")));

    // The journal: header, every plan before any sending record, each sending before its outcome.
    let lines = journal_lines(&path);
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["format"], "PerUserMfa.Journal/1");
    assert_eq!(lines[0]["requestedState"], "enforced");
    let first_sending = lines.iter().position(|l| l["type"] == "sending").unwrap();
    let last_planned = lines.iter().rposition(|l| l["type"] == "planned").unwrap();
    assert!(last_planned < first_sending, "the whole plan is on disk before the first PATCH");
    assert_eq!(of_type(&lines, "planned").len(), needing.len());
    assert_eq!(of_type(&lines, "sending").len(), needing.len());
    assert_eq!(of_type(&lines, "outcome").len(), users.len());
    for id in &needing {
        let sending = lines.iter().position(|l| l["type"] == "sending" && l["id"] == id.as_str()).unwrap();
        let outcome = lines.iter().position(|l| l["type"] == "outcome" && l["id"] == id.as_str()).unwrap();
        assert!(sending < outcome);
        assert_eq!(lines[sending]["previousState"], before[*id].0.as_str());
    }

    // Read back: nothing pending, every changed user undoable.
    let read = read_journal(&session, path.to_str().unwrap());
    assert_eq!(of_type(&read, "journalHeader")[0]["operation"], "set");
    let entries = of_type(&read, "journalEntry");
    assert_eq!(entries.len(), users.len());
    assert!(entries.iter().all(|e| e["resumeNeeded"] == false));
    assert_eq!(entries.iter().filter(|e| e["undoNeeded"] == true).count(), needing.len());

    // A journal is never overwritten.
    let again = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }),
        as_changes(&planned),
    );
    let fatal = of_type(&again, "fatal");
    assert_eq!(fatal.len(), 1);
    assert!(fatal[0]["message"].as_str().unwrap().contains("already exists"));
    assert_eq!(sim.stats().patches as usize, needing.len());
}

#[test]
fn a_cancelled_run_resumes_without_changing_anyone_twice_and_undo_restores_everyone() {
    let mut config = SimConfig::new(200, 3);
    config.runtime.latency_ms = 60;
    let sim = graph_sim::spawn(config).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.user_principal_name.clone()).collect();
    let before = states(&sim);
    let planned = plan_users(&session, &users, "disabled");
    let needing = before.values().filter(|(s, _)| s != "disabled").count();
    assert!(needing > 30);
    let dir = temp_dir();
    let path = dir.join("set.jsonl");

    // Cancel once some PATCHes landed.
    let job = session.start(json!({
        "operation": "applyChanges", "journalPath": path, "journalOperation": "set", "requestedState": "disabled", "throttleLimit": 10
    }));
    job.push(json!({ "changes": as_changes(&planned) })).unwrap();
    job.close_input();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.stats().patches < 15 {
        assert!(job.next(20).is_some(), "the job finished before it could be cancelled");
        assert!(Instant::now() < deadline);
    }
    job.cancel();
    drop(job);
    std::thread::sleep(Duration::from_millis(300)); // requests already on their way land
    let landed = sim.stats().patches as usize;
    assert!(landed >= 15 && landed < needing, "cancelled mid-way: {landed} of {needing}");

    // The invariant: no PATCH without its journal record on disk.
    let lines = journal_lines(&path);
    for (id, (_, patches)) in states(&sim) {
        if patches > 0 {
            assert!(
                lines.iter().any(|l| l["type"] == "sending" && l["id"] == id.as_str()),
                "{id} was PATCHed without a record"
            );
        }
    }

    // Resume: the journal's unfinished users, planned against their current state, then applied.
    let read = read_journal(&session, path.to_str().unwrap());
    let pending: Vec<Value> = of_type(&read, "journalEntry")
        .into_iter()
        .filter(|e| e["resumeNeeded"] == true)
        .map(|e| {
            json!({ "target": e["target"], "id": e["id"], "userPrincipalName": e["userPrincipalName"],
                     "previousState": e["previousState"], "requestedState": e["requestedState"], "sent": e["sent"] })
        })
        .collect();
    assert!(!pending.is_empty());
    let replanned = plan_changes(&session, pending);
    assert!(of_type(&replanned, "error").is_empty());
    let resumed = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "resume" }),
        as_changes(&replanned),
    );
    assert!(of_type(&resumed, "error").is_empty() && of_type(&resumed, "fatal").is_empty(), "{resumed:?}");
    let after = states(&sim);
    for (id, (state, patches)) in &after {
        assert_eq!(state, "disabled", "{id}");
        let expected = u32::from(before[id].0 != "disabled");
        assert_eq!(*patches, expected, "{id}: exactly one PATCH per changed user");
    }
    let read = read_journal(&session, path.to_str().unwrap());
    assert_eq!(of_type(&read, "journalHeader")[0]["resumes"], 1);
    assert!(of_type(&read, "journalEntry").iter().all(|e| e["resumeNeeded"] == false));

    // Undo: exactly the changed users, back to exactly where they were.
    let undo: Vec<Value> = of_type(&read, "journalEntry")
        .into_iter()
        .filter(|e| e["undoNeeded"] == true)
        .map(|e| json!({ "target": e["target"], "id": e["id"], "previousState": e["state"], "requestedState": e["previousState"] }))
        .collect();
    assert_eq!(undo.len(), needing);
    let undo_plan = plan_changes(&session, undo);
    let undo_path = dir.join("undo.jsonl");
    let undone = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": undo_path, "journalOperation": "undo", "undoOf": path }),
        as_changes(&undo_plan),
    );
    assert!(of_type(&undone, "error").is_empty() && of_type(&undone, "fatal").is_empty());
    let tenant = sim.tenant();
    let mut enforced_by_graph = 0;
    for (id, (state, patches)) in states(&sim) {
        let user = tenant.find(&id).unwrap();
        if before[&id].0 == "enabled" && user.has_mfa_methods {
            // Graph stores enforced for enabled once a user registered MFA methods: the closest
            // state an undo can reach, and its result says so (state read back, not requested).
            assert_eq!(state, "enforced");
            let result = of_type(&undone, "changeResult").into_iter().find(|r| r["id"] == id.as_str()).unwrap().clone();
            assert_eq!(
                (result["requestedState"].as_str(), result["state"].as_str()),
                (Some("enabled"), Some("enforced"))
            );
            enforced_by_graph += 1;
        } else {
            assert_eq!(state, before[&id].0, "{id} restored");
        }
        assert_eq!(patches, if before[&id].0 != "disabled" { 2 } else { 0 }, "{id}");
    }
    assert!(enforced_by_graph < needing);
    assert_eq!(journal_lines(&undo_path)[0]["undoOf"], path.to_str().unwrap());
}

#[test]
fn a_damaged_journal_is_refused_and_a_cut_off_one_is_read_with_a_warning() {
    let sim = graph_sim::spawn(SimConfig::new(20, 4)).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    let planned = plan_users(&session, &users, "enabled");
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }),
        as_changes(&planned),
    );
    let text = std::fs::read_to_string(&path).unwrap();

    let torn = dir.join("torn.jsonl");
    std::fs::write(&torn, &text[..text.len() - 20]).unwrap();
    let events = read_journal(&session, torn.to_str().unwrap());
    assert!(of_type(&events, "fatal").is_empty());
    let warnings = of_type(&events, "warning");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0]["message"].as_str().unwrap().contains("incomplete"));

    let edited = dir.join("edited.jsonl");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2].replacen("\"enabled\"", "\"disabled\"", 1).replacen("\"enforced\"", "\"disabled\"", 1);
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let events = read_journal(&session, edited.to_str().unwrap());
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1);
    assert_eq!(fatal[0]["errorId"], "InvalidInput");
    let message = fatal[0]["message"].as_str().unwrap();
    assert!(message.contains(edited.to_str().unwrap()) && message.contains("line 3"), "{message}");
    assert!(of_type(&events, "journalEntry").is_empty(), "nothing is reported from a damaged journal");

    let missing = read_journal(&session, dir.join("nope.jsonl").to_str().unwrap());
    assert!(of_type(&missing, "fatal")[0]["message"].as_str().unwrap().contains("does not exist"));
}

#[test]
fn inputs_are_checked_against_the_operation() {
    let sim = graph_sim::spawn(SimConfig::new(10, 5)).1;
    let session = Session::for_sim(&sim, WRITE);
    let job = session.start(json!({ "operation": "getStates", "scope": "input" }));
    let error = job.push(json!({ "changes": [{ "id": "1", "requestedState": "enabled" }] })).unwrap_err();
    assert!(error.contains("userIds"), "{error}");
    // A journal folder that cannot be created (its parent is a file): refused before any change.
    let dir = temp_dir();
    std::fs::write(dir.join("a-file"), "").unwrap();
    let path = dir.join("a-file").join("x.jsonl");
    let job = session.start(json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }));
    assert!(job.push(json!({ "userIds": ["a"] })).unwrap_err().contains("changes"));
    job.close_input();
    let events = job.drain();
    let message = of_type(&events, "fatal")[0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("journal folder") && message.contains("cannot be created"), "{message}");
    assert_eq!(sim.stats().patches, 0);
}

#[test]
fn the_journal_folder_is_created_with_the_journal() {
    let sim = graph_sim::spawn(SimConfig::new(10, 6)).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    let planned = plan_users(&session, &users, "enforced");
    let path = temp_dir().join("new").join("folder").join("set.jsonl");
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }),
        as_changes(&planned),
    );
    assert!(of_type(&events, "fatal").is_empty(), "{events:?}");
    assert_eq!(journal_lines(&path)[0]["type"], "header");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the folder holds personal data: its owner's only");
    }
}

/// What a journal entry plans for a resumed run (as the cmdlet sends it).
fn resume_change(entry: &Value) -> Value {
    json!({ "target": entry["target"], "id": entry["id"], "userPrincipalName": entry["userPrincipalName"],
             "previousState": entry["previousState"], "requestedState": entry["requestedState"], "sent": entry["sent"] })
}

/// What a journal entry plans for an undo: back to the state before, only if the user is still
/// where the run left them (`expectedState`), unless `include_changed_since`.
fn undo_change(entry: &Value, include_changed_since: bool) -> Value {
    let left = if entry["state"].is_string() { entry["state"].clone() } else { entry["requestedState"].clone() };
    let mut change = json!({ "target": entry["target"], "id": entry["id"], "previousState": left,
                             "requestedState": entry["previousState"] });
    if !include_changed_since {
        change["expectedState"] = left;
    }
    change
}

fn entries(session: &Session, path: &std::path::Path) -> Vec<Value> {
    of_type(&read_journal(session, path.to_str().unwrap()), "journalEntry").into_iter().cloned().collect()
}

fn user_with_state<'a>(tenant: &'a graph_sim::tenant::Tenant, state: &str) -> &'a graph_sim::tenant::User {
    tenant.users.iter().find(|u| u.state().as_str() == state && !u.has_mfa_methods).unwrap()
}

#[test]
fn the_same_account_given_twice_is_changed_once_and_its_undo_restores_it() {
    let sim = graph_sim::spawn(SimConfig::new(30, 7)).1;
    let session = Session::for_sim(&sim, WRITE);
    let tenant = sim.tenant();
    let adele = user_with_state(&tenant, "enabled");
    let (id, upn) = (adele.id.clone(), adele.user_principal_name.clone());
    let planned = plan_users(&session, &[upn.clone(), id.clone()], "disabled");
    assert_eq!(of_type(&planned, "plannedChange").len(), 2, "the plan reads both spellings");
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set", "throttleLimit": 60 }),
        as_changes(&planned),
    );
    assert_eq!(sim.stats().patches, 1, "one PATCH for one account");
    let warnings = of_type(&events, "warning");
    assert_eq!(warnings.len(), 1, "{events:?}");
    let warning = warnings[0]["message"].as_str().unwrap();
    assert!(warning.contains(&upn) && warning.contains(&id) && warning.contains("changed once"), "{warning}");
    assert_eq!(of_type(&events, "changeResult").len(), 1);
    assert_eq!(of_type(&journal_lines(&path), "planned").len(), 1);

    let entry = entries(&session, &path).into_iter().find(|e| e["id"] == id.as_str()).unwrap();
    assert_eq!((entry["status"].as_str(), entry["previousState"].as_str()), (Some("changed"), Some("enabled")));
    assert_eq!(entry["undoNeeded"], true);
    let undo_plan = plan_changes(&session, vec![undo_change(&entry, false)]);
    let undone = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": dir.join("undo.jsonl"), "journalOperation": "undo", "undoOf": path }),
        as_changes(&undo_plan),
    );
    assert!(of_type(&undone, "fatal").is_empty(), "{undone:?}");
    assert_eq!(tenant.find(&id).unwrap().state().as_str(), "enabled", "Adele is back to Enabled");
}

#[test]
fn a_journal_is_locked_while_a_run_works_on_it_and_two_resumes_never_double_a_patch() {
    let mut config = SimConfig::new(120, 8);
    config.runtime.latency_ms = 40;
    let sim = graph_sim::spawn(config).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    let before = states(&sim);
    let needing = before.values().filter(|(s, _)| s != "enforced").count();
    let planned = plan_users(&session, &users, "enforced");
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    let job = session.start(json!({
        "operation": "applyChanges", "journalPath": path, "journalOperation": "set", "throttleLimit": 4
    }));
    job.push(json!({ "changes": as_changes(&planned) })).unwrap();
    job.close_input();
    while sim.stats().patches < 5 {
        assert!(job.next(20).is_some(), "the job finished too early");
    }
    // While the run goes on, its journal can be neither read for a resume/undo nor resumed.
    let read = read_journal(&session, path.to_str().unwrap());
    let fatal = of_type(&read, "fatal");
    assert_eq!(fatal.len(), 1, "{read:?}");
    assert_eq!(fatal[0]["errorId"], "JournalInUse");
    let message = fatal[0]["message"].as_str().unwrap();
    assert!(message.contains(&format!("in use by process {}", std::process::id())), "{message}");
    let resumed = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "resume" }),
        as_changes(&planned),
    );
    assert_eq!(of_type(&resumed, "fatal")[0]["errorId"], "JournalInUse", "{resumed:?}");
    assert!(of_type(&resumed, "changeResult").is_empty());
    // ...and an undo of it neither.
    let undo = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": dir.join("undo.jsonl"), "journalOperation": "undo", "undoOf": path }),
        vec![],
    );
    assert_eq!(of_type(&undo, "fatal")[0]["errorId"], "JournalInUse", "{undo:?}");
    job.cancel();
    drop(job);
    std::thread::sleep(Duration::from_millis(300));

    // The run is gone (its lock with it): two resumes started together. One takes the journal,
    // the other is refused or, starting after the first ended, finds nothing left to send.
    let pending: Vec<Value> =
        entries(&session, &path).iter().filter(|e| e["resumeNeeded"] == true).map(resume_change).collect();
    assert!(!pending.is_empty());
    let replanned = as_changes(&plan_changes(&session, pending));
    let request =
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "resume", "throttleLimit": 4 });
    let first = session.start(request.clone());
    let second = session.start(request);
    first.push(json!({ "changes": replanned })).unwrap();
    second.push(json!({ "changes": replanned })).unwrap();
    first.close_input();
    second.close_input();
    let (first, second) = (first.drain(), second.drain());
    let refused = [&first, &second].iter().filter(|events| !of_type(events, "fatal").is_empty()).count();
    let finished_by_other = [&first, &second]
        .iter()
        .filter(|events| {
            of_type(events, "information")
                .iter()
                .any(|i| i["message"].as_str().unwrap().contains("finished by another run"))
        })
        .count();
    assert_eq!(refused + finished_by_other, 1, "one wins: {first:?} {second:?}");
    for (id, (state, patches)) in states(&sim) {
        assert_eq!(state, "enforced", "{id}");
        assert_eq!(patches, u32::from(before[&id].0 != "enforced"), "{id}: no PATCH doubled");
    }
    assert_eq!(sim.stats().patches as usize, needing);
    let read = read_journal(&session, path.to_str().unwrap());
    assert!(of_type(&read, "fatal").is_empty(), "the journal stays readable: {read:?}");
    assert_eq!(of_type(&read, "journalHeader")[0]["complete"], true);
}

#[test]
fn an_undo_leaves_alone_users_someone_else_changed_since_unless_told_otherwise() {
    let sim = graph_sim::spawn(SimConfig::new(40, 9)).1;
    let session = Session::for_sim(&sim, WRITE);
    let tenant = sim.tenant();
    let disabled: Vec<String> = tenant
        .users
        .iter()
        .filter(|u| u.state().as_str() == "disabled" && !u.has_mfa_methods)
        .map(|u| u.id.clone())
        .take(3)
        .collect();
    assert_eq!(disabled.len(), 3);
    let path = set_with_journal(&session, &disabled, "enforced");
    let dir = path.parent().unwrap().to_path_buf();
    // After the run, another admin sets Miriam to Enabled and the second user back to Disabled.
    let (miriam, back, untouched) = (&disabled[0], &disabled[1], &disabled[2]);
    tenant.find(miriam).unwrap().apply_patch(graph_sim::tenant::MfaState::Enabled);
    tenant.find(back).unwrap().apply_patch(graph_sim::tenant::MfaState::Disabled);
    let patches = sim.stats().patches;

    let journal = entries(&session, &path);
    let undo: Vec<Value> = journal.iter().filter(|e| e["undoNeeded"] == true).map(|e| undo_change(e, false)).collect();
    assert_eq!(undo.len(), 3);
    let plan = plan_changes(&session, undo);
    let action = |id: &str| of_type(&plan, "plannedChange").iter().find(|p| p["id"] == id).unwrap()["action"].clone();
    assert_eq!(action(miriam), "changedSince");
    assert_eq!(action(back), "alreadyInState");
    assert_eq!(action(untouched), "change");
    let undone = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": dir.join("undo.jsonl"), "journalOperation": "undo", "undoOf": path }),
        as_changes(&plan),
    );
    assert_eq!(sim.stats().patches, patches + 1, "only the untouched user is undone");
    assert_eq!(tenant.find(miriam).unwrap().state().as_str(), "enabled", "Miriam keeps what the other admin set");
    assert_eq!(tenant.find(untouched).unwrap().state().as_str(), "disabled");
    let result = of_type(&undone, "changeResult").into_iter().find(|r| r["id"] == miriam.as_str()).unwrap().clone();
    assert_eq!((result["outcome"].as_str(), result["changed"].as_bool()), (Some("changedSince"), Some(false)));

    // Told to include users changed since: Miriam is undone too.
    let miriam_entry = journal.iter().find(|e| e["id"] == miriam.as_str()).unwrap();
    let plan = plan_changes(&session, vec![undo_change(miriam_entry, true)]);
    assert_eq!(of_type(&plan, "plannedChange")[0]["action"], "change");
    apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": dir.join("undo2.jsonl"), "journalOperation": "undo", "undoOf": path }),
        as_changes(&plan),
    );
    assert_eq!(tenant.find(miriam).unwrap().state().as_str(), "disabled");
}

#[test]
fn a_refused_patch_is_sent_again_on_resume_even_when_someone_changed_the_user_meanwhile() {
    let sim = graph_sim::spawn(SimConfig::new(30, 10)).1;
    let read_only = Session::for_sim(&sim, READ);
    let tenant = sim.tenant();
    let user = user_with_state(&tenant, "enabled");
    let id = user.id.clone();
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    let planned = plan_users(&read_only, std::slice::from_ref(&id), "disabled");
    let events = apply(
        &read_only,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }),
        as_changes(&planned),
    );
    assert_eq!(of_type(&events, "error").len(), 1, "403: {events:?}");
    assert_eq!(user.state().as_str(), "enabled");
    let outcome = journal_lines(&path).into_iter().find(|l| l["type"] == "outcome").unwrap();
    assert_eq!(outcome["refused"], true);

    // The helpdesk enforces the user; then, with the permission fixed, the run is resumed.
    user.apply_patch(graph_sim::tenant::MfaState::Enforced);
    let session = Session::for_sim(&sim, WRITE);
    let entry = entries(&session, &path).into_iter().next().unwrap();
    assert_eq!((entry["status"].as_str(), entry["sent"].as_bool()), (Some("failed"), Some(false)));
    let replanned = plan_changes(&session, vec![resume_change(&entry)]);
    assert_eq!(of_type(&replanned, "plannedChange")[0]["action"], "change", "the refused PATCH did not land");
    apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "resume" }),
        as_changes(&replanned),
    );
    assert_eq!(user.state().as_str(), "disabled", "the requested state is applied");
}

/// The journal at `path` as a run killed right after its `sending` records left it: its
/// header, plans and sendings, resealed (the outcomes and the end are gone, no PATCH went out).
fn cut_after_sendings(path: &std::path::Path) {
    use perusermfa_engine::journal::{seal, Record};
    let text = std::fs::read_to_string(path).unwrap();
    let mut check = String::new();
    let mut out = String::new();
    for line in text.lines() {
        let record: Record = serde_json::from_str(line).unwrap();
        if matches!(record, Record::Header { .. } | Record::Planned { .. } | Record::Sending { .. }) {
            let (sealed, next) = seal(&check, &record);
            out.push_str(&sealed);
            check = next;
        }
    }
    std::fs::write(path, out).unwrap();
}

/// An undo back to Enabled killed between its `sending` records and the PATCHes: Graph still
/// shows the Enforced the set run left, as it would had the PATCH landed on a user with MFA
/// methods (Graph stores Enforced for Enabled then). Resumed, the undo must restore the user
/// without methods (the old rule took Enforced for landed and left 169 of 4,277 users Enforced in
/// the 5,000-user kill run), and not resend the one with methods when it may read them.
fn resume_an_undo_killed_before_its_patches(roles: &[&str]) -> (String, String, u32, Vec<Value>) {
    let sim = graph_sim::spawn(SimConfig::new(80, 12)).1;
    let session = Session::for_sim(&sim, roles);
    let tenant = sim.tenant();
    let enabled = |methods: bool| {
        tenant
            .users
            .iter()
            .find(|u| u.state().as_str() == "enabled" && u.has_mfa_methods == methods)
            .unwrap()
            .id
            .clone()
    };
    let (plain, registered) = (enabled(false), enabled(true));
    let path = set_with_journal(&session, &[plain.clone(), registered.clone()], "enforced");
    let undo_path = path.with_file_name("undo.jsonl");
    let undo: Vec<Value> = entries(&session, &path).iter().map(|e| undo_change(e, false)).collect();
    apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": undo_path, "journalOperation": "undo", "undoOf": path }),
        as_changes(&plan_changes(&session, undo)),
    );
    // Back to where the set run left both, and the undo journal as the kill left it.
    tenant.find(&plain).unwrap().apply_patch(graph_sim::tenant::MfaState::Enforced);
    cut_after_sendings(&undo_path);
    let patches = sim.stats().patches;

    let left = entries(&session, &undo_path);
    assert!(left.iter().all(|e| e["sent"] == true && e["resumeNeeded"] == true), "{left:?}");
    let resume: Vec<Value> = left.iter().map(resume_change).collect();
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": undo_path, "journalOperation": "resume" }),
        as_changes(&plan_changes(&session, resume)),
    );
    assert!(of_type(&events, "fatal").is_empty() && of_type(&events, "error").is_empty(), "{events:?}");
    assert_eq!(tenant.find(&plain).unwrap().state().as_str(), "enabled", "the user without methods is Enabled again");
    assert_eq!(tenant.find(&registered).unwrap().state().as_str(), "enforced", "Graph keeps the other Enforced");
    let registered_patches = tenant.find(&registered).unwrap().patch_count();
    assert!(sim.stats().patches > patches, "the PATCH that never left is sent");
    (plain, registered, registered_patches, events)
}

#[test]
fn a_resumed_undo_restores_users_whose_patch_never_left_and_reads_methods_before_resending() {
    let roles = [WRITE, &["UserAuthenticationMethod.Read.All"]].concat();
    let (_, registered, patches, events) = resume_an_undo_killed_before_its_patches(&roles);
    // Set, then undo (Graph stored Enforced): the resume read the methods and sent nothing more.
    assert_eq!(patches, 2, "the user with MFA methods got no third PATCH");
    let result = of_type(&events, "changeResult").into_iter().find(|r| r["id"] == registered.as_str()).unwrap().clone();
    assert_eq!((result["outcome"].as_str(), result["changed"].as_bool()), (Some("unchanged"), Some(false)));
}

#[test]
fn a_resumed_undo_that_cannot_read_methods_sends_the_uncertain_patch_again() {
    let (_, registered, patches, events) = resume_an_undo_killed_before_its_patches(WRITE);
    // Without UserAuthenticationMethod.Read.All the same state is set again, which changes nothing.
    assert_eq!(patches, 3, "set, undo, and the resume's PATCH of the same state");
    let verbose = of_type(&events, "verbose");
    assert!(
        verbose.iter().any(|v| v["message"].as_str().unwrap().contains("could not be read")),
        "the resend is explained: {verbose:?}"
    );
    let result = of_type(&events, "changeResult").into_iter().find(|r| r["id"] == registered.as_str()).unwrap().clone();
    assert_eq!(result["state"], "enforced");
}

#[test]
fn a_run_records_its_end_and_a_journal_without_it_reads_as_incomplete() {
    let sim = graph_sim::spawn(SimConfig::new(40, 11)).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).collect();
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set" }),
        as_changes(&plan_users(&session, &users, "enforced")),
    );
    let lines = journal_lines(&path);
    assert_eq!(lines.last().unwrap()["type"], "end");
    let header =
        |path: &std::path::Path| of_type(&read_journal(&session, path.to_str().unwrap()), "journalHeader")[0].clone();
    assert_eq!(header(&path)["complete"], true);

    // The last 10 lines removed at a line boundary: every line left is valid, but the end is gone.
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().collect();
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, kept[..kept.len() - 10].join("\n") + "\n").unwrap();
    let read = read_journal(&session, cut.to_str().unwrap());
    assert!(of_type(&read, "fatal").is_empty() && of_type(&read, "warning").is_empty());
    assert_eq!(of_type(&read, "journalHeader")[0]["complete"], false);

    // Resuming it finishes the run and records a new end.
    let pending: Vec<Value> =
        entries(&session, &cut).iter().filter(|e| e["resumeNeeded"] == true).map(resume_change).collect();
    apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": cut, "journalOperation": "resume" }),
        as_changes(&plan_changes(&session, pending)),
    );
    assert_eq!(header(&cut)["complete"], true);
}

#[test]
fn a_journal_records_who_signed_in_and_refuses_another_tenant() {
    let sim = graph_sim::spawn(SimConfig::new(20, 12)).1;
    let session = Session::for_sim(&sim, WRITE);
    let users: Vec<String> = sim.tenant().users.iter().map(|u| u.id.clone()).take(10).collect();
    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    let ours = "aaaaaaaa-0000-4000-8000-000000000001";
    let theirs = "bbbbbbbb-0000-4000-8000-000000000002";
    let job = session.start(json!({
        "operation": "applyChanges", "journalPath": path, "journalOperation": "set",
        "tenantId": ours, "appId": "app-1", "account": "admin@contoso.com"
    }));
    job.push(json!({ "changes": as_changes(&plan_users(&session, &users, "enforced")) })).unwrap();
    job.close_input();
    job.drain();
    let header = &journal_lines(&path)[0];
    assert_eq!((header["tenantId"].as_str(), header["appId"].as_str()), (Some(ours), Some("app-1")));
    assert_eq!(header["account"], "admin@contoso.com");
    let read = |tenant: &str| {
        let job = session.start(json!({ "operation": "readJournal", "path": path, "tenantId": tenant }));
        job.close_input();
        job.drain()
    };
    let refused = read(theirs);
    let message = of_type(&refused, "fatal")[0]["message"].as_str().unwrap().to_string();
    assert!(message.contains(ours) && message.contains(theirs), "{message}");
    assert!(of_type(&refused, "journalEntry").is_empty());
    assert_eq!(of_type(&read(&ours.to_uppercase()), "journalHeader")[0]["tenantId"], ours);
    let resumed = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "resume", "tenantId": theirs }),
        vec![],
    );
    assert!(of_type(&resumed, "fatal")[0]["message"].as_str().unwrap().contains(theirs));
}

/// A run that requires coverage reads what the migration check reads, and writes.
const COVERAGE_WRITE: &[&str] = &[
    "User.Read.All",
    "Policy.ReadWrite.AuthenticationMethod",
    "Policy.Read.All",
    "GroupMember.Read.All",
    "RoleManagement.Read.Directory",
    "LicenseAssignment.Read.All",
];

/// A tenant where everyone is covered by 'Require MFA for all users' except: the members of
/// 'Break glass' (excluded: NotCovered), of 'Office staff' (only 'MFA for Office': PartiallyCovered)
/// and of 'Contractors' (only 'MFA for contractors', which excludes a group that no longer
/// exists: Unknown).
fn coverage_scenario(break_glass: &[&str], office: &[&str], contractors: &[&str]) -> String {
    let all_apps = json!({ "includeApplications": ["All"] });
    let mfa = json!({ "operator": "OR", "builtInControls": ["mfa"] });
    json!({
        "groups": [
            { "id": "grp-breakglass", "displayName": "Break glass", "members": break_glass },
            { "id": "grp-office", "displayName": "Office staff", "members": office },
            { "id": "grp-contractors", "displayName": "Contractors", "members": contractors },
        ],
        "policies": [
            { "displayName": "Require MFA for all users", "state": "enabled", "grantControls": mfa,
              "conditions": { "users": { "includeUsers": ["All"],
                                         "excludeGroups": ["grp-breakglass", "grp-office", "grp-contractors"] },
                              "applications": all_apps, "clientAppTypes": ["all"] } },
            { "displayName": "MFA for Office", "state": "enabled", "grantControls": mfa,
              "conditions": { "users": { "includeGroups": ["grp-office"] },
                              "applications": { "includeApplications": ["Office365"] }, "clientAppTypes": ["all"] } },
            { "displayName": "MFA for contractors", "state": "enabled", "grantControls": mfa,
              "conditions": { "users": { "includeGroups": ["grp-contractors"], "excludeGroups": ["grp-deleted"] },
                              "applications": all_apps, "clientAppTypes": ["all"] } },
        ]
    })
    .to_string()
}

fn plan_covered(session: &Session, users: &[String]) -> Vec<Value> {
    let job = session.start(json!({ "operation": "planChanges", "state": "disabled", "requireCoverage": true }));
    job.push(json!({ "userIds": users })).unwrap();
    job.close_input();
    job.drain()
}

fn planned_for<'a>(events: &'a [Value], id: &str) -> &'a Value {
    of_type(events, "plannedChange").into_iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("{id}: {events:?}"))
}

#[test]
fn require_coverage_disables_only_covered_users_and_journals_each_verdict() {
    let sim = start_sim(SimConfig::new(40, 3));
    let tenant = sim.tenant();
    let on: Vec<String> =
        tenant.users.iter().filter(|u| u.state().as_str() != "disabled").take(6).map(|u| u.id.clone()).collect();
    let off = tenant.users.iter().find(|u| u.state().as_str() == "disabled").unwrap().id.clone();
    let (covered, glass, office, contractor) = (&on[0..2], &on[2], &on[3], &on[4]);
    sim.simulator().load_scenario(&coverage_scenario(&[glass], &[office], &[contractor])).unwrap();
    let session = Session::for_sim(&sim, COVERAGE_WRITE);
    let mut users: Vec<String> = on[0..5].to_vec();
    users.push(off.clone());

    let planned = plan_covered(&session, &users);
    assert!(of_type(&planned, "error").is_empty() && of_type(&planned, "fatal").is_empty(), "{planned:?}");
    for id in covered {
        let p = planned_for(&planned, id);
        assert_eq!((p["action"].as_str(), p["verdict"].as_str()), (Some("change"), Some("Covered")), "{p}");
        assert!(p["verdictReason"].as_str().unwrap().contains("Require MFA for all users"));
    }
    for (id, verdict) in [(glass, "NotCovered"), (office, "PartiallyCovered"), (contractor, "Unknown")] {
        let p = planned_for(&planned, id);
        assert_eq!((p["action"].as_str(), p["verdict"].as_str()), (Some("notCovered"), Some(verdict)), "{p}");
        assert!(!p["verdictReason"].as_str().unwrap().is_empty());
    }
    assert_eq!(planned_for(&planned, &off)["action"], "alreadyInState");
    assert_eq!(sim.stats().patches, 0, "the plan only reads");

    let dir = temp_dir();
    let path = dir.join("set.jsonl");
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set",
                "requestedState": "disabled", "requireCoverage": true }),
        as_changes(&planned),
    );
    assert!(of_type(&events, "error").is_empty(), "the host reported the plan's verdicts already: {events:?}");
    assert_eq!(sim.stats().patches, 2, "only the two Covered users are PATCHed");
    for (id, (state, patches)) in states(&sim) {
        let expected = u32::from(covered.contains(&id));
        assert_eq!(patches, expected, "{id}");
        if covered.contains(&id) {
            assert_eq!(state, "disabled");
        }
    }
    let lines = journal_lines(&path);
    assert_eq!(lines[0]["requireCoverage"], true);
    for line in lines.iter().filter(|l| l["type"] == "planned") {
        assert_eq!(line["verdict"], "Covered", "{line}");
    }
    let journal = read_journal(&session, path.to_str().unwrap());
    assert_eq!(of_type(&journal, "journalHeader")[0]["requireCoverage"], true);
    let entries = of_type(&journal, "journalEntry");
    for (id, verdict, status) in [
        (&covered[0], "Covered", "changed"),
        (glass, "NotCovered", "notCovered"),
        (office, "PartiallyCovered", "notCovered"),
        (contractor, "Unknown", "notCovered"),
    ] {
        let entry = entries.iter().find(|e| e["id"] == *id).unwrap();
        assert_eq!((entry["verdict"].as_str(), entry["status"].as_str()), (Some(verdict), Some(status)), "{entry}");
        assert!(entry["verdictReason"].is_string());
        assert_eq!(entry["resumeNeeded"], false);
        assert_eq!(entry["undoNeeded"], status == "changed", "an undo touches only the changed");
    }
}

#[test]
fn require_coverage_decides_again_right_before_the_change_and_a_resume_keeps_the_rule() {
    let sim = start_sim(SimConfig::new(40, 4));
    let tenant = sim.tenant();
    let on: Vec<String> =
        tenant.users.iter().filter(|u| u.state().as_str() != "disabled").take(3).map(|u| u.id.clone()).collect();
    sim.simulator().load_scenario(&coverage_scenario(&[], &[], &[])).unwrap();
    let session = Session::for_sim(&sim, COVERAGE_WRITE);
    let planned = plan_covered(&session, &on[0..1]);
    assert_eq!(planned_for(&planned, &on[0])["verdict"], "Covered");

    // While the prompt waits, someone adds the user to the break-glass group.
    sim.simulator().load_scenario(&coverage_scenario(&[&on[0]], &[], &[])).unwrap();
    let path = temp_dir().join("set.jsonl");
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set",
                "requestedState": "disabled", "requireCoverage": true }),
        as_changes(&planned),
    );
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1, "{events:?}");
    assert_eq!(errors[0]["errorId"], "NotCovered");
    assert_eq!(errors[0]["target"], on[0].as_str());
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("NotCovered") && message.contains("-RequireCoverage"), "{message}");
    assert_eq!(sim.stats().patches, 0, "not covered any more: not PATCHed");

    // A run whose PATCHes Graph refused (no write permission) is resumed after one of its
    // users lost coverage: the resume sends only the one still covered, even when the host
    // does not ask for the rule (the journal's header does).
    sim.simulator().load_scenario(&coverage_scenario(&[], &[], &[])).unwrap();
    let read_only: Vec<&str> =
        COVERAGE_WRITE.iter().copied().filter(|p| *p != "Policy.ReadWrite.AuthenticationMethod").collect();
    let refused_session = Session::for_sim(&sim, &read_only);
    let planned = plan_covered(&refused_session, &on[1..3]);
    let path = temp_dir().join("refused.jsonl");
    let events = apply(
        &refused_session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set",
                "requestedState": "disabled", "requireCoverage": true }),
        as_changes(&planned),
    );
    assert_eq!(of_type(&events, "error").len(), 2, "403 for both: {events:?}");
    sim.simulator().load_scenario(&coverage_scenario(&[], &[&on[2]], &[])).unwrap();
    let to_resume: Vec<Value> = entries(&session, &path).iter().map(resume_change).collect();
    assert_eq!(to_resume.len(), 2);
    let replanned = plan_changes(&session, to_resume.clone());
    assert!(replanned.iter().all(|e| e["type"] != "plannedChange" || e["verdict"].is_null()), "no rule asked");
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "resume" }),
        as_changes(&replanned),
    );
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1, "{events:?}");
    assert_eq!(
        (errors[0]["errorId"].as_str(), errors[0]["target"].as_str()),
        (Some("NotCovered"), Some(on[2].as_str()))
    );
    assert!(errors[0]["message"].as_str().unwrap().contains("PartiallyCovered"));
    let patched: HashMap<String, (String, u32)> = states(&sim);
    assert_eq!((patched[&on[1]].0.as_str(), patched[&on[1]].1), ("disabled", 1));
    assert_eq!(patched[&on[2]].1, 0, "lost coverage before the resume: left alone");
    let after = entries(&session, &path);
    let skipped = after.iter().find(|e| e["id"] == on[2].as_str()).unwrap();
    assert_eq!((skipped["status"].as_str(), skipped["resumeNeeded"].as_bool()), (Some("notCovered"), Some(false)));

    // With the host asking for the rule, the resume's plan shows the verdicts too.
    let with_rule = session.start(json!({ "operation": "planChanges", "requireCoverage": true }));
    with_rule.push(json!({ "changes": to_resume })).unwrap();
    with_rule.close_input();
    let replanned = with_rule.drain();
    assert_eq!(planned_for(&replanned, &on[2])["action"], "notCovered");
}

#[test]
fn require_coverage_changes_nobody_when_the_policies_cannot_be_read() {
    let sim = start_sim(SimConfig::new(20, 5));
    let tenant = sim.tenant();
    let on: Vec<String> =
        tenant.users.iter().filter(|u| u.state().as_str() != "disabled").take(3).map(|u| u.id.clone()).collect();
    sim.simulator().load_scenario(&coverage_scenario(&[], &[], &[])).unwrap();
    let without_policies: Vec<&str> = COVERAGE_WRITE.iter().copied().filter(|p| *p != "Policy.Read.All").collect();
    let session = Session::for_sim(&sim, &without_policies);
    let events = plan_covered(&session, &on);
    let fatal = of_type(&events, "fatal");
    assert_eq!(fatal.len(), 1, "one terminating error: {events:?}");
    let message = fatal[0]["message"].as_str().unwrap();
    assert!(message.contains("Policy.Read.All") && message.contains("Nobody was changed"), "{message}");
    assert!(of_type(&events, "plannedChange").is_empty());

    // The apply step reads the set-up again before touching the journal: nothing written, nothing sent.
    let path = temp_dir().join("set.jsonl");
    let changes: Vec<Value> =
        on.iter().map(|id| json!({ "id": id, "requestedState": "disabled", "action": "change" })).collect();
    let events = apply(
        &session,
        json!({ "operation": "applyChanges", "journalPath": path, "journalOperation": "set",
                "requestedState": "disabled", "requireCoverage": true }),
        changes,
    );
    assert_eq!(of_type(&events, "fatal").len(), 1, "{events:?}");
    assert!(!path.exists(), "no journal: nobody was changed");
    assert_eq!(sim.stats().patches, 0);

    // Another state than Disabled is refused before any request.
    let job = session.start(json!({ "operation": "planChanges", "state": "enforced", "requireCoverage": true }));
    job.close_input();
    let events = job.drain();
    assert!(of_type(&events, "fatal")[0]["message"].as_str().unwrap().contains("-State Disabled"), "{events:?}");
}
