//! `testMigration`: for each account, would it still be asked for MFA if per-user MFA were
//! Disabled? The tenant's inputs (policies, security defaults, licences, the members of every
//! referenced group and role) are read once ([`read`]), each policy is analysed once
//! ([`policy`]), then every user gets a verdict from memory ([`verdict`]) and one
//! `migrationCheck` event. A tenant summary follows on the information stream ([`summary`]).

pub mod policy;
pub mod read;
pub mod summary;
pub mod verdict;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::listing::{fetch_page, first_page_url, listing_error};
use super::per_user::{read_state, read_user_with};
use super::report_sources::user_key;
use super::{send_outcome, InputTasks, UserTasks};
use crate::error::EngineError;
use crate::events::Event;
use crate::graph::batch::Batcher;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::model::MigrationCheck;
use crate::options::Scope;
use summary::Tally;
use verdict::{TenantInputs, UserFacts, Verdict};

/// Which accounts to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MigrationScope {
    /// Every account whose per-user MFA state is Enabled or Enforced.
    PerUserMfa,
    /// Every account.
    All,
    /// The accounts the caller pushes.
    Input,
}

const USER_SELECT: &str = "id,userPrincipalName,displayName,userType";

pub async fn run(
    context: JobContext,
    scope: MigrationScope,
    throttle_limit: usize,
    mut input: mpsc::UnboundedReceiver<String>,
) -> Result<(), EngineError> {
    let notify = context.notify();
    let reader = read::Reader::new(context.client.clone(), notify.clone());
    let inputs = Arc::new(reader.tenant_inputs().await?);
    context
        .events
        .send(Event::verbose(format!(
            "Read the tenant's Conditional Access set-up in {} requests ({} groups and {} roles resolved).",
            reader.requests.load(std::sync::atomic::Ordering::Relaxed),
            inputs.groups.len(),
            inputs.roles.len()
        )))
        .await;
    for warning in summary::input_warnings(&inputs) {
        context.events.send(Event::warning(warning)).await;
    }
    let tally = Arc::new(Tally::default());
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, notify.clone());
    match scope {
        MigrationScope::Input => {
            let mut tasks = InputTasks::new(&context, throttle_limit);
            while let Some(target) = input.recv().await {
                let (batcher, inputs, tally) = (batcher.clone(), inputs.clone(), tally.clone());
                let user = target.clone();
                tasks
                    .spawn(target, async move {
                        let (identity, state) = read_user_with(&batcher, &user, USER_SELECT).await?;
                        Ok(check(&inputs, &tally, &user, &identity, state))
                    })
                    .await;
            }
            tasks.finish().await;
        }
        MigrationScope::PerUserMfa | MigrationScope::All => {
            list_and_check(&context, scope, &batcher, &inputs, &tally, throttle_limit).await?;
        }
    }
    context.events.send(Event::verbose(tally.analysis_line())).await;
    context.events.send(Event::information(summary::render(&inputs, &tally))).await;
    Ok(())
}

/// Lists the tenant's users (states in bulk where Graph gives them, else per user) and checks
/// those `scope` asks for.
async fn list_and_check(
    context: &JobContext,
    scope: MigrationScope,
    batcher: &Batcher,
    inputs: &Arc<TenantInputs>,
    tally: &Arc<Tally>,
    throttle_limit: usize,
) -> Result<(), EngineError> {
    let notify = context.notify();
    let mut tasks = UserTasks::new(context, throttle_limit);
    let select = format!("{USER_SELECT},perUserMfaState");
    let mut next = Some(first_page_url(&context.client, Scope::All, &select));
    let only_per_user_mfa = scope == MigrationScope::PerUserMfa;
    while let Some(url) = next.take() {
        let page = match fetch_page(&context.client, &url, notify.as_ref()).await? {
            Ok(page) => page,
            Err((status, body, request_id)) => return Err(listing_error(status, &body, request_id)),
        };
        if !only_per_user_mfa {
            if let Some(count) = page.count {
                context.progress.set_total(count);
            }
        }
        for user in page.users {
            let id = user["id"].as_str().unwrap_or_default().to_string();
            match user["perUserMfaState"].as_str().map(str::to_string) {
                Some(state) => {
                    if only_per_user_mfa && state == "disabled" {
                        continue;
                    }
                    context.progress.add_pending(1);
                    let event = check(inputs, tally, &id, &user, state);
                    send_outcome(context, &id, Ok(event)).await;
                }
                None => {
                    let (context, batcher, inputs, tally) =
                        (context.clone(), batcher.clone(), inputs.clone(), tally.clone());
                    tasks
                        .spawn(async move {
                            match read_state(&batcher, &id, &id).await {
                                Ok(state) if only_per_user_mfa && state == "disabled" => {}
                                Ok(state) => {
                                    context.progress.add_pending(1);
                                    let event = check(&inputs, &tally, &id, &user, state);
                                    send_outcome(&context, &id, Ok(event)).await;
                                }
                                Err(error) => {
                                    context.progress.add_pending(1);
                                    send_outcome(&context, &id, Err(error)).await;
                                }
                            }
                        })
                        .await;
                }
            }
        }
        next = page.next_link;
    }
    tasks.finish().await;
    Ok(())
}

/// The verdict for one user as a `migrationCheck` event.
fn check(inputs: &TenantInputs, tally: &Tally, target: &str, user: &Value, state: String) -> String {
    let started = std::time::Instant::now();
    let event = judge(inputs, tally, target, user, state);
    tally.add_analysis(started.elapsed());
    event
}

/// What [`check`] times: the verdict and its event's JSON.
fn judge(inputs: &TenantInputs, tally: &Tally, target: &str, user: &Value, state: String) -> String {
    let id = user["id"].as_str().unwrap_or_default();
    let lower_id = id.to_ascii_lowercase();
    let facts = UserFacts {
        key: user_key(id),
        id: &lower_id,
        user_type: user["userType"].as_str(),
        user_principal_name: user["userPrincipalName"].as_str(),
    };
    let Verdict { verdict, covered_by, report_only, gaps, reason } = inputs.verdict(&facts);
    tally.add(verdict);
    Event::MigrationCheck(Box::new(MigrationCheck {
        target: target.to_string(),
        id: id.to_string(),
        user_principal_name: user["userPrincipalName"].as_str().map(str::to_string),
        display_name: user["displayName"].as_str().map(str::to_string),
        per_user_mfa_state: state,
        verdict: verdict.as_str(),
        covered_by,
        report_only,
        gaps,
        reason,
    }))
    .to_json()
}
