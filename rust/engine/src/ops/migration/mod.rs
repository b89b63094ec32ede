//! `testMigration`: for each account, would it still be asked for MFA if per-user MFA were
//! Disabled? The tenant's inputs (policies, security defaults, licences, the members of every
//! referenced group and role) are read once ([`read`]), each policy is analysed once
//! ([`policy`]), then every user gets a verdict from memory ([`verdict`]) and one
//! `migrationCheck` event. A tenant summary follows on the information stream ([`summary`]).
//! With `-Evaluate`, the users the rules leave `PartiallyCovered` or `Unknown` also get Graph's
//! What-If answers beside their verdict ([`whatif`]).

pub mod evidence;
pub mod policy;
pub mod read;
pub mod summary;
pub mod verdict;
pub mod whatif;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::listing::{first_page_url, listing_error, page_or_outage};
use super::patience::Patience;
use super::per_user::{read_state, read_user_with};
use super::report_sources::user_key;
use super::upn_ranges::RangeSizing;
use super::user_listing::UserListing;
use super::{send_outcome, InputTasks, UserTasks};
use crate::error::EngineError;
use crate::events::Event;
use crate::graph::batch::Batcher;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::model::MigrationCheck;
use crate::options::{Scope, MAX_SIGN_IN_DAYS};
use crate::signin::preflight::{named, Need};
use evidence::SignInEvidence;
use summary::Tally;
use verdict::{TenantInputs, UserFacts, Verdict, VerdictKind};
use whatif::WhatIf;

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
    evaluate: bool,
    throttle_limit: usize,
    sign_in_days: Option<u32>,
    mut input: mpsc::UnboundedReceiver<String>,
) -> Result<(), EngineError> {
    if let Some(days) = sign_in_days.filter(|d| !(1..=MAX_SIGN_IN_DAYS).contains(d)) {
        return Err(EngineError::invalid_input(format!(
            "-SignInDays {days} is out of range: give a number of days from 1 to {MAX_SIGN_IN_DAYS} (Graph keeps sign-in logs for 30 days at most)."
        )));
    }
    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let checker = match scope {
        MigrationScope::Input => {
            let checker = prepare(&context, evaluate, sign_in_days).await?;
            let mut tasks = InputTasks::new(&context, throttle_limit);
            while let Some(target) = input.recv().await {
                let (batcher, checker) = (batcher.clone(), checker.clone());
                let user = target.clone();
                tasks
                    .spawn(target, async move {
                        let (identity, state) = read_user_with(&batcher, &user, USER_SELECT).await?;
                        checker.check(&user, &identity, state).await
                    })
                    .await;
            }
            tasks.finish().await;
            checker
        }
        MigrationScope::PerUserMfa | MigrationScope::All => {
            // The listing starts at once, beside the tenant's set-up: its pages wait in the
            // channel (at most LISTED_PAGES_AHEAD) until the verdicts can be worked out, so the
            // check takes about as long as listing the states alone.
            let (pages, listed) = mpsc::channel(LISTED_PAGES_AHEAD);
            let only_per_user_mfa = scope == MigrationScope::PerUserMfa;
            let judging = async {
                let checker = prepare(&context, evaluate, sign_in_days).await?;
                check_listed(&context, only_per_user_mfa, &batcher, &checker, throttle_limit, listed).await;
                Ok(checker)
            };
            tokio::try_join!(list(&context, only_per_user_mfa, pages), judging)?.1
        }
    };
    if let Some(what_if) = &checker.what_if {
        context
            .events
            .send(Event::verbose(format!(
                "-Evaluate: {} What-If requests sent.",
                what_if.requests.load(std::sync::atomic::Ordering::Relaxed)
            )))
            .await;
    }
    context.events.send(Event::verbose(checker.tally.analysis_line())).await;
    context.events.send(Event::information(summary::render(&checker.inputs, &checker.tally))).await;
    Ok(())
}

/// Pages of the listing read ahead while the tenant's set-up is still being read (999 users each).
const LISTED_PAGES_AHEAD: usize = 128;

/// Reads the tenant's inputs (and, with `-IncludeSignIns`, the sign-in evidence beside them),
/// tells what was read and what is missing, and returns the checker that judges users from them.
async fn prepare(context: &JobContext, evaluate: bool, sign_in_days: Option<u32>) -> Result<Arc<Checker>, EngineError> {
    let notify = context.notify();
    let reader = read::Reader::new(context.client.clone(), notify.clone());
    // The sign-in scan runs on its own budget (sign-in logs), beside the CA reads.
    let scan = async {
        match sign_in_days {
            Some(days) => evidence::scan(&context.client, days, notify.as_ref()).await,
            None => Ok(SignInEvidence::NotAsked),
        }
    };
    let (inputs, evidence) = tokio::join!(reader.tenant_inputs(), scan);
    let inputs = Arc::new(inputs?);
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
    let evidence = evidence?;
    if let SignInEvidence::Unreadable { warning, for_want_of_permission } = &evidence {
        // One warning per cause: the pre-flight one may have named AuditLog.Read.All already.
        let said = *for_want_of_permission
            && context.client.credential().current().is_some_and(|t| named(t.secret.expose(), Need::ReadSignIns));
        if !said {
            context.events.send(Event::warning(warning.clone())).await;
        }
    }
    let what_if = evaluate.then(|| WhatIf::new(context.client.clone(), notify.clone(), context.events.clone()));
    if what_if.is_some() {
        context
            .events
            .send(Event::verbose(
                "-Evaluate: Graph's What-If is asked for each PartiallyCovered or Unknown user, 8 sign-ins each, at \
                 one request per second (Graph's Conditional Access budget for the whole tenant): about 8 s per \
                 such user.",
            ))
            .await;
    }
    Ok(Arc::new(Checker { inputs, evidence, tally: Tally::default(), what_if }))
}

/// Lists the tenant's users (with their states where Graph gives them in the listing) and sends
/// each page on. With `only_per_user_mfa` (the default scope), the progress total is not known up
/// front: only the Enabled and Enforced count.
async fn list(
    context: &JobContext,
    only_per_user_mfa: bool,
    pages: mpsc::Sender<Vec<Value>>,
) -> Result<(), EngineError> {
    let notify = context.notify();
    let select = format!("{USER_SELECT},perUserMfaState");
    // The same listing as Get-PerUserMfaState -All: a big tenant's pages come from
    // userPrincipalName ranges in parallel, so the check takes no longer than reading the states.
    let patience = Patience::new(context);
    let url = first_page_url(&context.client, Scope::All, &select);
    let first = match patience.read(|| page_or_outage(&context.client, &url, notify.as_ref())).await? {
        Ok(page) => page,
        Err((status, body, request_id)) => return Err(listing_error(status, &body, request_id)),
    };
    if !only_per_user_mfa {
        if let Some(count) = first.count {
            context.progress.set_total(count);
        }
    }
    let sizing = RangeSizing::for_listing(&context.client, first.carries_states());
    let mut listing =
        UserListing::after_first(context, &patience, Scope::All, &select, "list all users", &first, sizing);
    let mut next = Some(first.users);
    while let Some(users) = next.take() {
        if pages.send(users).await.is_err() {
            // The checks stopped (their job failed): nobody reads further pages.
            return Ok(());
        }
        next = listing.next().await?.map(|page| page.users);
    }
    Ok(())
}

/// Checks the users of each listed page that the scope asks for: from the listed state, or,
/// where the listing carried none, from a per-user read.
async fn check_listed(
    context: &JobContext,
    only_per_user_mfa: bool,
    batcher: &Batcher,
    checker: &Arc<Checker>,
    throttle_limit: usize,
    mut listed: mpsc::Receiver<Vec<Value>>,
) {
    let mut tasks = UserTasks::new(context, throttle_limit);
    while let Some(users) = listed.recv().await {
        for user in users {
            let id = user["id"].as_str().unwrap_or_default().to_string();
            match user["perUserMfaState"].as_str().map(str::to_string) {
                Some(state) => {
                    if only_per_user_mfa && state == "disabled" {
                        continue;
                    }
                    context.progress.add_pending(1);
                    let judged = checker.judge(&id, &user, state);
                    if checker.wants_what_if(&judged) {
                        let (context, checker) = (context.clone(), checker.clone());
                        tasks
                            .spawn(async move {
                                let outcome = checker.add_what_if(judged).await;
                                send_outcome(&context, &id, outcome).await;
                            })
                            .await;
                    } else {
                        send_outcome(context, &id, Ok(Event::MigrationCheck(Box::new(judged)).to_json())).await;
                    }
                }
                None => {
                    let (context, batcher, checker) = (context.clone(), batcher.clone(), checker.clone());
                    tasks
                        .spawn(async move {
                            match read_state(&batcher, &id, &id).await {
                                Ok(state) if only_per_user_mfa && state == "disabled" => {}
                                Ok(state) => {
                                    context.progress.add_pending(1);
                                    let outcome = checker.check(&id, &user, state).await;
                                    send_outcome(&context, &id, outcome).await;
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
    }
    tasks.finish().await;
}

/// Judges users against the tenant's inputs, counts the verdicts, and (with `-Evaluate`) adds
/// What-If's answers for the users the rules could not settle.
struct Checker {
    inputs: Arc<TenantInputs>,
    /// Rule 5's sign-in evidence (`-IncludeSignIns`).
    evidence: SignInEvidence,
    tally: Tally,
    what_if: Option<WhatIf>,
}

impl Checker {
    /// The verdict for one user (rules 1-4), its time counted as analysis.
    fn judge(&self, target: &str, user: &Value, state: String) -> MigrationCheck {
        let started = std::time::Instant::now();
        let check = self.verdict_of(target, user, state);
        self.tally.add_analysis(started.elapsed());
        check
    }

    /// What [`Checker::judge`] times.
    fn verdict_of(&self, target: &str, user: &Value, state: String) -> MigrationCheck {
        let id = user["id"].as_str().unwrap_or_default();
        let lower_id = id.to_ascii_lowercase();
        let facts = UserFacts {
            key: user_key(id),
            id: &lower_id,
            user_type: user["userType"].as_str(),
            user_principal_name: user["userPrincipalName"].as_str(),
        };
        let mut judged = self.inputs.verdict(&facts);
        self.evidence.apply(facts.key, &mut judged);
        let Verdict { verdict, covered_by, report_only, gaps, reason } = judged;
        self.tally.add(verdict);
        MigrationCheck {
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
            what_if: self.what_if.as_ref().map(|_| Vec::new()),
            sign_ins: self.evidence.columns(facts.key),
        }
    }

    /// Rule 6: What-If only for the verdicts the static rules could not settle.
    fn wants_what_if(&self, check: &MigrationCheck) -> bool {
        self.what_if.is_some()
            && [VerdictKind::PartiallyCovered.as_str(), VerdictKind::Unknown.as_str()].contains(&check.verdict)
    }

    /// What-If's sentences beside the verdict (never changing it), as the `migrationCheck` event.
    async fn add_what_if(&self, mut check: MigrationCheck) -> Result<String, EngineError> {
        if let (true, Some(what_if)) = (self.wants_what_if(&check), &self.what_if) {
            // The apps of the user's per-user-only sign-ins join the standard ones when the
            // sign-in evidence was read; without it, the standard scenarios alone.
            let sign_in_apps = self.evidence.sign_in_apps(user_key(&check.id));
            check.what_if = Some(what_if.evaluate_user(&check.id, &sign_in_apps).await?);
        }
        Ok(Event::MigrationCheck(Box::new(check)).to_json())
    }

    /// [`Checker::judge`], then [`Checker::add_what_if`].
    async fn check(&self, target: &str, user: &Value, state: String) -> Result<String, EngineError> {
        let judged = self.judge(target, user, state);
        self.add_what_if(judged).await
    }
}
