//! Reading per-user MFA states: for the users the pipeline gives, or for a listed scope.
//!
//! A listing first tries the bulk read (`$select=...,perUserMfaState` on `/users`: a whole page
//! of states per request). Users a page returns without the property are read one by one
//! through `$batch` instead, with no action from the admin; `-Verbose` says which path ran.

use serde_json::Value;
use tokio::sync::mpsc;

use super::listing::{first_page_url, identity_of, listing_error, missing_id, page_or_outage, tell_left_out};
use super::patience::Patience;
use super::per_user::{read_state, read_user, IDENTITY_SELECT};
use super::upn_ranges::RangeSizing;
use super::user_listing::{ListedPage, UserListing};
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
    let patience = Patience::new(&context);
    let mut tasks = InputTasks::new(&context, throttle_limit);
    while let Some(target) = input.recv().await {
        let (batcher, patience) = (batcher.clone(), patience.clone());
        let user = target.clone();
        tasks
            .spawn(target, async move {
                let (identity, state) = patience.read(|| read_user(&batcher, &user)).await?;
                Ok(user_state(&user, identity, state))
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
    let mut tasks = UserTasks::new(&context, throttle_limit);
    let what = match scope {
        Scope::LicensedMembers => "licensed member accounts",
        _ => "all users",
    };
    let bulk_select = format!("{IDENTITY_SELECT},perUserMfaState");
    let read = format!("list {what}");
    let patience = Patience::new(&context);
    let mut select = bulk_select.as_str();
    let first = loop {
        let url = first_page_url(&context.client, scope, select);
        match patience.read(|| page_or_outage(&context.client, &url, notify.as_ref())).await? {
            Ok(page) => break page,
            // A Graph that refuses the undocumented property outright: list without it.
            Err((400, _, _)) if select != IDENTITY_SELECT => {
                context.events.send(Event::verbose(
                    "Graph refused perUserMfaState in the users listing; listing without it and reading each state per user.",
                )).await;
                select = IDENTITY_SELECT;
            }
            Err((status, body, request_id)) => return Err(listing_error(status, &body, request_id)),
        }
    };
    let path = if first.carries_states() {
        "bulk read: one request per page of up to 999 users"
    } else {
        "per-user path: Graph's listing did not include perUserMfaState, so each state is read from /beta/users/{id}/authentication/requirements through $batch"
    };
    context.events.send(Event::verbose(format!("Listing {what} ({path})."))).await;
    if let Some(count) = first.count {
        context.progress.set_total(count);
    }
    let sizing = RangeSizing::for_listing(&context.client, first.carries_states());
    let mut listing = UserListing::after_first(&context, &patience, scope, select, &read, &first, sizing);
    let mut next = Some(ListedPage {
        number: 1,
        description: format!(
            "Page 1 of the listing: {} users, {}.",
            first.users.len(),
            if first.next_link.is_some() { "more to come" } else { "the last" }
        ),
        users: first.users,
    });
    let mut pages = 0u32;
    let (mut bulk, mut per_user) = (0u64, 0u64);
    while let Some(page) = next.take() {
        pages += 1;
        context.events.send(Event::verbose(page.description)).await;
        for (position, user) in page.users.into_iter().enumerate() {
            let Some(identity) = identity_of(&user) else {
                let (target, error) = missing_id(&user, page.number, position);
                send_outcome(&context, &target, Err(error)).await;
                continue;
            };
            let target = identity.id.clone();
            match user.get("perUserMfaState") {
                Some(Value::String(state)) => {
                    bulk += 1;
                    send_outcome(&context, &target, Ok(user_state(&target, identity, state.clone()))).await;
                }
                _ => {
                    per_user += 1;
                    let (batcher, patience) = (batcher.clone(), patience.clone());
                    tasks
                        .spawn_user(target.clone(), async move {
                            let state = patience.read(|| read_state(&batcher, &identity.id, &target)).await?;
                            Ok(user_state(&target, identity, state))
                        })
                        .await;
                }
            }
        }
        next = listing.next().await?;
    }
    if listing.passed_over() > 0 {
        context
            .events
            .send(Event::verbose(format!(
                "Listed {} users in {pages} pages; {} users listed twice were passed over.",
                bulk + per_user,
                listing.passed_over()
            )))
            .await;
    }
    tasks.finish().await;
    context
        .events
        .send(Event::verbose(format!("Read {bulk} states from the listing and {per_user} through the per-user path.")))
        .await;
    if scope == Scope::LicensedMembers {
        tell_left_out(&context, bulk + per_user).await;
    }
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
