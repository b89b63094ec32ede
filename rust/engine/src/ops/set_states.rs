//! Changing per-user MFA states. Per user: read identity and state; skip the PATCH when the
//! user is already in the requested state; PATCH; read the state back, because Graph may end
//! elsewhere than asked (enabling a user who registered MFA methods makes them enforced).

use tokio::sync::mpsc;

use super::per_user::{read_state, read_user, write_state};
use super::InputTasks;
use crate::error::EngineError;
use crate::events::Event;
use crate::graph::batch::Batcher;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::model::MfaState;

pub async fn run(
    context: JobContext,
    requested: MfaState,
    throttle_limit: usize,
    mut input: mpsc::UnboundedReceiver<String>,
) -> Result<(), EngineError> {
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let mut tasks = InputTasks::new(&context, throttle_limit);
    while let Some(target) = input.recv().await {
        let batcher = batcher.clone();
        let requested = requested.clone();
        let user = target.clone();
        tasks.spawn(target, async move { change_user(&batcher, &user, &requested).await }).await;
    }
    tasks.finish().await;
    Ok(())
}

async fn change_user(batcher: &Batcher, target: &str, requested: &MfaState) -> Result<String, EngineError> {
    let (identity, previous) = read_user(batcher, target).await?;
    let state = if MfaState::parse(&previous).as_ref() == Some(requested) {
        previous.clone()
    } else {
        write_state(batcher, &identity.id, requested, target).await?;
        read_state(batcher, &identity.id, target).await.map_err(|e| EngineError {
            message: format!("The change was sent, but reading the state back failed: {}", e.message),
            ..e
        })?
    };
    Ok(Event::ChangeResult {
        target: target.to_string(),
        id: identity.id,
        user_principal_name: identity.user_principal_name,
        display_name: identity.display_name,
        changed: state != previous,
        previous_state: previous,
        requested_state: requested.as_graph().to_string(),
        state,
        outcome: None,
    }
    .to_json())
}
