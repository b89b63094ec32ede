//! Bulk changes, step 1 (reads only): for each user, read the state now and say what applying
//! would do ([`crate::bulk::decide`]). Set-PerUserMfaState plans from user ids and a requested
//! state; a resumed run and an undo plan from journal entries (`changes`), each with its own
//! requested state. Nothing is written here, so -WhatIf and the confirmation prompt show the
//! real plan.

use tokio::sync::mpsc;

use super::per_user::{read_state, read_user};
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
    throttle_limit: usize,
    mut user_ids: mpsc::UnboundedReceiver<String>,
    mut changes: mpsc::UnboundedReceiver<ChangeItem>,
) -> Result<(), EngineError> {
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let mut tasks = InputTasks::new(&context, throttle_limit);
    let (mut ids_open, mut changes_open) = (true, true);
    while ids_open || changes_open {
        let (target, work) = tokio::select! {
            id = user_ids.recv(), if ids_open => match id {
                Some(target) => (target.clone(), Work::User(target)),
                None => { ids_open = false; continue; }
            },
            change = changes.recv(), if changes_open => match change {
                Some(item) => (item.display_target(), Work::Change(item)),
                None => { changes_open = false; continue; }
            },
        };
        let batcher = batcher.clone();
        let state = state.clone();
        let named = target.clone();
        tasks
            .spawn(target, async move {
                let outcome = match work {
                    Work::User(target) => plan_user(&batcher, &target, state).await,
                    Work::Change(item) => plan_change(&batcher, item).await,
                };
                outcome.map_err(|e| naming_user(e, "read", &named))
            })
            .await;
    }
    tasks.finish().await;
    Ok(())
}

enum Work {
    User(String),
    Change(ChangeItem),
}

async fn plan_user(batcher: &Batcher, target: &str, state: Option<MfaState>) -> Result<String, EngineError> {
    let requested = state
        .ok_or_else(|| EngineError::invalid_input("A planChanges job given userIds needs 'state' in its request."))?;
    let (identity, current) = read_user(batcher, target).await?;
    let action = decide(&current, None, &requested, false, None);
    Ok(Event::PlannedChange {
        target: target.to_string(),
        id: identity.id,
        user_principal_name: identity.user_principal_name,
        display_name: identity.display_name,
        previous_state: current.clone(),
        current_state: current,
        requested_state: requested.as_graph().to_string(),
        action,
        sent: false,
        expected_state: None,
    }
    .to_json())
}

async fn plan_change(batcher: &Batcher, item: ChangeItem) -> Result<String, EngineError> {
    let target = item.display_target();
    if item.id.trim().is_empty() {
        return Err(EngineError::invalid_input(format!("The change for '{target}' has no object id.")));
    }
    let current = read_state(batcher, &item.id, &target).await?;
    let action = item.decide(&current);
    let previous_state = match action {
        // The earlier PATCH landed: the state before it is the journal's.
        Action::Completed => item.previous_state.clone().unwrap_or_else(|| current.clone()),
        Action::Change | Action::AlreadyInState | Action::ChangedSince => current.clone(),
    };
    Ok(Event::PlannedChange {
        target,
        id: item.id,
        user_principal_name: item.user_principal_name,
        display_name: item.display_name,
        current_state: current,
        previous_state,
        requested_state: item.requested_state.as_graph().to_string(),
        action,
        sent: item.sent,
        expected_state: item.expected_state,
    }
    .to_json())
}
