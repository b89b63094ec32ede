//! Reading per-user MFA states: for the users the pipeline gives, or for a listed scope.
//!
//! A listing first tries the bulk read (`$select=...,perUserMfaState` on `/users`: a whole page
//! of states per request). Users a page returns without the property are read one by one
//! through `$batch` instead, with no action from the admin; `-Verbose` says which path ran.

use tokio::sync::mpsc;

use super::listing::{fetch_page, first_page_url, listing_error};
use super::per_user::{read_state, read_user, IDENTITY_SELECT};
use super::{send_outcome, InputTasks, UserTasks};
use crate::error::EngineError;
use crate::events::Event;
use crate::graph::batch::Batcher;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::model::UserIdentity;
use crate::options::Scope;

pub async fn for_input(
    context: JobContext,
    throttle_limit: usize,
    mut input: mpsc::UnboundedReceiver<String>,
) -> Result<(), EngineError> {
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let mut tasks = InputTasks::new(&context, throttle_limit);
    while let Some(target) = input.recv().await {
        let batcher = batcher.clone();
        let user = target.clone();
        tasks
            .spawn(target, async move {
                read_user(&batcher, &user).await.map(|(identity, state)| user_state(&user, identity, state))
            })
            .await;
    }
    tasks.finish().await;
    Ok(())
}

pub async fn for_listing(context: JobContext, scope: Scope, throttle_limit: usize) -> Result<(), EngineError> {
    let notify = context.notify();
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, notify.clone());
    let mut tasks = UserTasks::new(throttle_limit);
    let what = match scope {
        Scope::LicensedMembers => "licensed member accounts",
        _ => "all users",
    };
    let bulk_select = format!("{IDENTITY_SELECT},perUserMfaState");
    let mut next = Some(first_page_url(&context.client, scope, &bulk_select));
    let mut first_page = true;
    let (mut bulk, mut per_user) = (0u64, 0u64);
    while let Some(url) = next.take() {
        let page = match fetch_page(&context.client, &url, notify.as_ref()).await? {
            Ok(page) => page,
            // A Graph that refuses the undocumented property outright: list without it.
            Err((400, _, _)) if first_page => {
                context.events.send(Event::verbose(
                    "Graph refused perUserMfaState in the users listing; listing without it and reading each state per user.",
                )).await;
                first_page = false;
                next = Some(first_page_url(&context.client, scope, IDENTITY_SELECT));
                continue;
            }
            Err((status, body, request_id)) => return Err(listing_error(status, &body, request_id)),
        };
        if first_page {
            let path = if page.users.iter().any(|u| u.get("perUserMfaState").is_some()) {
                "bulk read: one request per page of up to 999 users"
            } else {
                "per-user path: Graph's listing did not include perUserMfaState, so each state is read from /beta/users/{id}/authentication/requirements through $batch"
            };
            context.events.send(Event::verbose(format!("Listing {what} ({path})."))).await;
            first_page = false;
        }
        if let Some(count) = page.count {
            context.progress.set_total(count);
        }
        for mut user in page.users {
            let state = user.get_mut("perUserMfaState").and_then(|v| v.as_str().map(str::to_string));
            let identity: UserIdentity = serde_json::from_value(user).unwrap_or_default();
            let target = identity.id.clone();
            match state {
                Some(state) => {
                    bulk += 1;
                    send_outcome(&context, &target, Ok(user_state(&target, identity, state))).await;
                }
                None => {
                    per_user += 1;
                    let context = context.clone();
                    let batcher = batcher.clone();
                    tasks
                        .spawn(async move {
                            let outcome = read_state(&batcher, &identity.id, &target)
                                .await
                                .map(|state| user_state(&target, identity, state));
                            send_outcome(&context, &target, outcome).await;
                        })
                        .await;
                }
            }
        }
        next = page.next_link;
    }
    tasks.finish().await;
    context
        .events
        .send(Event::verbose(format!("Read {bulk} states from the listing and {per_user} through the per-user path.")))
        .await;
    Ok(())
}

fn user_state(target: &str, identity: UserIdentity, state: String) -> String {
    Event::UserState {
        target: target.to_string(),
        id: identity.id,
        user_principal_name: identity.user_principal_name,
        display_name: identity.display_name,
        per_user_mfa_state: state,
    }
    .to_json()
}
