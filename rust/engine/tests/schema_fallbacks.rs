//! The engine against each answer Graph may give where its behaviour is undocumented (the
//! simulator's schema modes): `perUserMfaState` in the users listing served, ignored or refused;
//! `$top` refused on registration details; `signInActivity` empty under advanced query; and
//! `defaultMfaMethod`, which only beta's registration details have.

use std::collections::HashMap;

use graph_sim::{BulkStateMode, RegistrationTopMode, SchemaModes, SignInActivityAdvancedMode, SimConfig, SimHandle};
use serde_json::{json, Value};

use crate::common;
use common::*;

const ALL: &[&str] = &["User.Read.All", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All"];

fn truth(sim: &SimHandle) -> HashMap<String, Value> {
    let users = sim.simulator().users_json();
    users.as_array().unwrap().iter().map(|u| (u["id"].as_str().unwrap().to_string(), u.clone())).collect()
}

fn run(session: &Session, request: Value) -> Vec<Value> {
    let job = session.start(request);
    job.close_input();
    job.drain_within(std::time::Duration::from_secs(120))
}

fn verbose_mentions(events: &[Value], text: &str) -> bool {
    of_type(events, "verbose").iter().any(|v| v["message"].as_str().unwrap_or_default().contains(text))
}

#[test]
fn states_are_read_whether_the_listing_serves_ignores_or_refuses_per_user_mfa_state() {
    for mode in [BulkStateMode::Served, BulkStateMode::Ignored, BulkStateMode::Refused] {
        let schema = SchemaModes { bulk_state: mode, ..SchemaModes::default() };
        let sim = start_sim(SimConfig::new(260, 8).with_schema(schema));
        let session = Session::for_sim(&sim, READ);
        let events = run(&session, json!({"operation": "getStates", "scope": "all"}));
        assert!(of_type(&events, "fatal").is_empty() && of_type(&events, "error").is_empty(), "{mode:?}: {events:?}");
        let truth = truth(&sim);
        let states = of_type(&events, "userState");
        assert_eq!(states.len(), truth.len(), "{mode:?}: every user once");
        for state in states {
            let t = &truth[state["id"].as_str().unwrap()];
            assert_eq!(state["perUserMfaState"], t["perUserMfaState"], "{mode:?}");
            assert_eq!(state["userPrincipalName"], t["userPrincipalName"], "{mode:?}");
        }
        let per_user = sim.stats().requirements_gets;
        match mode {
            BulkStateMode::Served => assert_eq!(per_user, 0, "the listing carried every state"),
            BulkStateMode::Ignored => assert_eq!(per_user, 260),
            BulkStateMode::Refused => {
                assert_eq!(per_user, 260);
                assert!(verbose_mentions(&events, "refused perUserMfaState"), "{events:?}");
            }
        }
    }
}

#[test]
fn the_detailed_report_survives_a_listing_that_refuses_per_user_mfa_state() {
    for mode in [BulkStateMode::Ignored, BulkStateMode::Refused] {
        let schema = SchemaModes { bulk_state: mode, ..SchemaModes::default() };
        let sim = start_sim(SimConfig::new(90, 12).with_schema(schema));
        let session = Session::for_sim(&sim, ALL);
        let events = run(&session, json!({"operation": "getStates", "scope": "all", "report": {}}));
        assert!(of_type(&events, "fatal").is_empty() && of_type(&events, "error").is_empty(), "{mode:?}: {events:?}");
        let truth = truth(&sim);
        let rows = of_type(&events, "userReport");
        assert_eq!(rows.len(), truth.len(), "{mode:?}");
        for row in rows {
            let t = &truth[row["id"].as_str().unwrap()];
            assert_eq!(row["perUserMfaState"], t["perUserMfaState"], "{mode:?}");
            assert_eq!(
                row["userType"], t["userType"],
                "{mode:?}: the directory columns came with the fallback listing"
            );
        }
    }
}

/// Every report column that comes from a bulk source, against the ground truth.
fn assert_report_sources_filled(sim: &SimHandle, events: &[Value], scope_ids: Option<&[String]>) {
    assert!(of_type(events, "fatal").is_empty(), "{events:?}");
    assert!(of_type(events, "warning").is_empty(), "no source was lost: {:?}", of_type(events, "warning"));
    let truth = truth(sim);
    let rows = of_type(events, "userReport");
    if let Some(ids) = scope_ids {
        assert_eq!(rows.len(), ids.len());
    }
    let mut defaults = 0;
    for row in rows {
        let t = &truth[row["id"].as_str().unwrap()];
        if t["hasRegistrationDetails"] == true {
            assert_eq!(row["defaultMfaMethod"], t["defaultMfaMethod"], "{}", t["userPrincipalName"]);
            assert!(row["methodsRegistered"].is_string());
            defaults += 1;
        }
        assert_eq!(row["lastSignIn"], t["lastSignInDateTime"], "{}", t["userPrincipalName"]);
        assert_eq!(row["lastSuccessfulSignIn"], t["lastSuccessfulSignInDateTime"]);
        assert_eq!(row["lastMfaSignIn"], t["lastMfaSignInDateTime"]);
    }
    assert!(defaults > 0);
}

#[test]
fn default_mfa_method_is_read_from_beta_registration_details() {
    let sim = start_sim(SimConfig::new(150, 14));
    let session = Session::for_sim(&sim, ALL);
    let events = run(&session, json!({"operation": "getStates", "scope": "all", "report": {"mfaSignIns": true}}));
    assert_report_sources_filled(&sim, &events, None);
    let with_default = of_type(&events, "userReport").iter().filter(|r| r["defaultMfaMethod"].is_string()).count();
    assert!(with_default > 100, "{with_default} rows with a default method");
}

#[test]
fn the_report_fills_every_source_against_the_harshest_answers() {
    let sim = start_sim(SimConfig::new(180, 16).with_schema(SchemaModes::HARSH));
    let session = Session::for_sim(&sim, ALL);
    // The default scope (licensed members) is an advanced query; signInActivity must not be.
    let events =
        run(&session, json!({"operation": "getStates", "scope": "licensedMembers", "report": {"mfaSignIns": true}}));
    let licensed: Vec<String> = sim
        .tenant()
        .users
        .iter()
        .filter(|u| u.is_licensed() && u.user_type.as_str() == "Member")
        .map(|u| u.id.clone())
        .collect();
    assert_report_sources_filled(&sim, &events, Some(&licensed));
    assert!(verbose_mentions(&events, "without the optional query options"), "the $top refusal was retried");
}

#[test]
fn registration_details_without_top_keep_their_source() {
    let schema = SchemaModes { registration_top: RegistrationTopMode::Refused, ..SchemaModes::default() };
    let sim = start_sim(SimConfig::new(130, 17).with_schema(schema));
    let session = Session::for_sim(&sim, ALL);
    let events = run(&session, json!({"operation": "getStates", "scope": "all", "report": {"mfaSignIns": true}}));
    assert_report_sources_filled(&sim, &events, None);
}

#[test]
fn sign_in_activity_is_read_without_advanced_query() {
    let schema = SchemaModes { sign_in_activity_advanced: SignInActivityAdvancedMode::Empty, ..SchemaModes::default() };
    let sim = start_sim(SimConfig::new(140, 18).with_schema(schema));
    let session = Session::for_sim(&sim, ALL);
    let events = run(&session, json!({"operation": "getStates", "scope": "licensedMembers", "report": {}}));
    let rows = of_type(&events, "userReport");
    let truth = truth(&sim);
    let signed_in = rows.iter().filter(|r| r["lastSignIn"].is_string()).count();
    assert!(signed_in > 50, "{signed_in} of {} rows have a last sign-in", rows.len());
    for row in rows {
        assert_eq!(row["lastSignIn"], truth[row["id"].as_str().unwrap()]["lastSignInDateTime"]);
    }
}
