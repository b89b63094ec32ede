//! Bulk changes, step 1 (reads only): for each user, read the state now and say what applying
//! would do ([`crate::bulk::decide`]). Set-PerUserMfaState plans from user ids and a requested
//! state; a resumed run and an undo plan from journal entries (`changes`), each with its own
//! requested state. Nothing is written here, so -WhatIf and the confirmation prompt show the
//! real plan. A run that requires coverage reads the tenant's Conditional Access set-up once,
//! first, and plans a change only for users whose migration verdict is `Covered`
//! ([`super::coverage`]); the others are planned as [`Action::NotCovered`], with the verdict.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::coverage::{self, Coverage};
use super::per_user::{identity_in, read_state, read_user, read_user_with};
use super::{naming_user, InputTasks};
use crate::bulk::{decide, Action, ChangeItem};
use crate::error::EngineError;
use crate::events::Event;
use crate::graph::batch::Batcher;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::model::MfaState;

pub async fn run(
    context: JobContext,
    state: Option<MfaState>,
    require_coverage: bool,
    journal_users: Option<u64>,
    throttle_limit: usize,
    mut user_ids: mpsc::UnboundedReceiver<String>,
    mut changes: mpsc::UnboundedReceiver<ChangeItem>,
) -> Result<(), EngineError> {
    if require_coverage && state.as_ref().is_some_and(|s| *s != MfaState::Disabled) {
        return Err(EngineError::invalid_input(REQUIRE_COVERAGE_NEEDS_DISABLED));
    }
    let coverage = match require_coverage {
        true => Some(Arc::new(Coverage::read(&context).await?)),
        false => None,
    };
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let mut tasks = InputTasks::new(&context, throttle_limit);
    if let Some(users) = journal_users {
        context.progress.set_total(users);
        context.progress.set_phase(format!(
            "Re-reading the current state of {} users from the journal",
            super::apply_changes::group(users)
        ));
    }
    let (mut ids_open, mut changes_open) = (true, true);
    while ids_open || changes_open {
        let (target, work) = tokio::select! {
            id = user_ids.recv(), if ids_open => match id {
                Some(target) => (target.clone(), Work::User(target)),
                None => { ids_open = false; continue; }
            },
            change = changes.recv(), if changes_open => match change {
                Some(item) => (item.display_target(), Work::Change(Box::new(item))),
                None => { changes_open = false; continue; }
            },
        };
        let batcher = batcher.clone();
        let state = state.clone();
        let coverage = coverage.clone();
        let named = target.clone();
        tasks
            .spawn(target, async move {
                let coverage = coverage.as_deref();
                let outcome = match work {
                    Work::User(target) => plan_user(&batcher, &target, state, coverage).await,
                    Work::Change(item) => plan_change(&batcher, *item, coverage).await,
                };
                outcome.map_err(|e| naming_user(e, "read", &named))
            })
            .await;
    }
    tasks.finish().await;
    Ok(())
}

/// A run that requires coverage only turns per-user MFA off.
pub const REQUIRE_COVERAGE_NEEDS_DISABLED: &str =
    "-RequireCoverage goes with -State Disabled only: it turns per-user MFA off just for the accounts that \
     Conditional Access or security defaults would still ask for MFA. Remove -RequireCoverage to set another state.";

enum Work {
    User(String),
    Change(Box<ChangeItem>),
}

async fn plan_user(
    batcher: &Batcher,
    target: &str,
    state: Option<MfaState>,
    coverage: Option<&Coverage>,
) -> Result<String, EngineError> {
    let requested = state
        .ok_or_else(|| EngineError::invalid_input("A planChanges job given userIds needs 'state' in its request."))?;
    let (identity, current, user_type) = match coverage {
        Some(_) => {
            let (user, current) = read_user_with(batcher, target, coverage::USER_SELECT).await?;
            let user_type = user["userType"].as_str().map(str::to_string);
            (identity_in(&user, target)?, current, user_type)
        }
        None => {
            let (identity, current) = read_user(batcher, target).await?;
            (identity, current, None)
        }
    };
    let mut item = ChangeItem {
        target: target.to_string(),
        id: identity.id,
        user_principal_name: identity.user_principal_name,
        display_name: identity.display_name,
        previous_state: Some(current.clone()),
        requested_state: requested,
        sent: false,
        action: None,
        current_state: Some(current.clone()),
        expected_state: None,
        verdict: None,
        verdict_reason: None,
        user_type,
    };
    let mut action = decide(&current, None, &item.requested_state, false, None);
    if let Some(coverage) = coverage {
        action = coverage.judge(&mut item, action);
    }
    Ok(planned(item, current.clone(), current, action))
}

async fn plan_change(
    batcher: &Batcher,
    mut item: ChangeItem,
    coverage: Option<&Coverage>,
) -> Result<String, EngineError> {
    let target = item.display_target();
    if item.id.trim().is_empty() {
        return Err(EngineError::invalid_input(format!("The change for '{target}' has no object id.")));
    }
    let current = match coverage {
        // The verdict needs the user's type; the user is read with the state, in the same batch.
        Some(_) => {
            let (user, current) = read_user_with(batcher, &item.id, coverage::USER_SELECT).await?;
            item.user_type = user["userType"].as_str().map(str::to_string);
            current
        }
        None => read_state(batcher, &item.id, &target).await?,
    };
    let mut action = item.decide(&current);
    if let Some(coverage) = coverage {
        action = coverage.judge(&mut item, action);
    }
    let previous_state = match action {
        // The earlier PATCH landed: the state before it is the journal's.
        Action::Completed => item.previous_state.clone().unwrap_or_else(|| current.clone()),
        Action::Change | Action::AlreadyInState | Action::ChangedSince | Action::NotCovered => current.clone(),
    };
    Ok(planned(item, current, previous_state, action))
}

fn planned(item: ChangeItem, current_state: String, previous_state: String, action: Action) -> String {
    Event::PlannedChange {
        target: item.display_target(),
        id: item.id,
        user_principal_name: item.user_principal_name,
        display_name: item.display_name,
        current_state,
        previous_state,
        requested_state: item.requested_state.as_graph().to_string(),
        action,
        sent: item.sent,
        expected_state: item.expected_state,
        verdict: item.verdict,
        verdict_reason: item.verdict_reason,
        user_type: item.user_type,
    }
    .to_json()
}
