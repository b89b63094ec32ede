//! The operations a job runs. Each reports every user it was given exactly once: as a result
//! event or as an error event naming the user.

mod apply_changes;
mod coverage;
mod estimate_writes;
mod get_states;
mod listing;
mod migration;
mod patience;
mod per_user;
mod plan_changes;
mod read_journal;
mod report;
mod report_per_user;
mod report_sources;
mod upn_ranges;
mod user_listing;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::bulk::ChangeItem;
use crate::error::{EngineError, ErrorKind};
use crate::events;
use crate::job::{catch_panic, JobContext, Operation, OperationFuture};
use crate::options::{JobRequest, Scope};
pub use migration::MigrationScope;

/// The operation table the session hands to each job: what runs `request`, its progress
/// activity and the input it takes.
pub fn operation(request: &JobRequest) -> Operation {
    let (activity, takes_user_ids, takes_changes) = match request {
        JobRequest::GetStates { .. } => ("Reading per-user MFA states", true, false),
        JobRequest::PlanChanges { .. } => ("Reading per-user MFA states before changing them", true, true),
        JobRequest::ApplyChanges { .. } => ("Changing per-user MFA states", false, true),
        JobRequest::ReadJournal { .. } => ("Reading the journal", false, false),
        JobRequest::EstimateWrites { .. } => ("Estimating the duration", false, false),
        JobRequest::TestMigration { scope, .. } => {
            ("Testing migration readiness", *scope == MigrationScope::Input, false)
        }
    };
    Operation { activity, takes_user_ids, takes_changes, run: run_boxed }
}

fn run_boxed(
    context: JobContext,
    request: JobRequest,
    throttle_limit: usize,
    input: mpsc::UnboundedReceiver<String>,
    changes: mpsc::UnboundedReceiver<ChangeItem>,
) -> OperationFuture {
    Box::pin(run(context, request, throttle_limit, input, changes))
}

async fn run(
    context: JobContext,
    request: JobRequest,
    throttle_limit: usize,
    input: mpsc::UnboundedReceiver<String>,
    changes: mpsc::UnboundedReceiver<ChangeItem>,
) -> Result<(), EngineError> {
    match request {
        JobRequest::GetStates { scope, report: Some(options), .. } => {
            report::run(context, scope, options, throttle_limit, input).await
        }
        JobRequest::GetStates { scope: Scope::Input, .. } => {
            get_states::for_input(context, throttle_limit, input).await
        }
        JobRequest::GetStates { scope, .. } => get_states::for_listing(context, scope, throttle_limit).await,
        JobRequest::PlanChanges { state, require_coverage, journal_users, .. } => {
            plan_changes::run(context, state, require_coverage, journal_users, throttle_limit, input, changes).await
        }
        JobRequest::ApplyChanges {
            journal_path,
            journal_operation,
            requested_state,
            undo_of,
            require_coverage,
            tenant_id,
            app_id,
            account,
            ..
        } => {
            let journal = apply_changes::JournalSpec {
                path: journal_path,
                operation: journal_operation,
                requested_state,
                undo_of,
                require_coverage,
                connection: crate::journal::Connection { tenant_id, app_id, account },
            };
            apply_changes::run(context, journal, throttle_limit, changes).await
        }
        JobRequest::ReadJournal { path, tenant_id } => read_journal::run(context, path, tenant_id).await,
        JobRequest::EstimateWrites { writes } => estimate_writes::run(context, writes).await,
        JobRequest::TestMigration { scope, evaluate, include_sign_ins, sign_in_days, .. } => {
            let sign_ins = include_sign_ins.then_some(sign_in_days);
            migration::run(context, scope, evaluate, throttle_limit, sign_ins, input).await
        }
    }
}

/// An error message that names the user: Graph's answers mostly do; a lost connection does not.
pub(crate) fn naming_user(mut error: EngineError, doing: &str, target: &str) -> EngineError {
    let shown = crate::error::shown(target);
    if !target.is_empty() && !error.message.contains(shown.as_ref()) {
        error.message = format!("Could not {doing} '{shown}': {}", error.message);
    }
    error
}

/// Runs one task per user with at most `limit` at a time. Spawning waits for a free slot, so a
/// producer (the listing, the pipeline) never runs far ahead and memory stays flat. A task that
/// panics is never lost silently: [`UserTasks::spawn_user`] reports it as that user's error,
/// [`UserTasks::spawn`] as the job's terminating error.
pub(crate) struct UserTasks {
    context: JobContext,
    slots: Arc<Semaphore>,
    tasks: JoinSet<()>,
}

impl UserTasks {
    pub fn new(context: &JobContext, limit: usize) -> UserTasks {
        UserTasks { context: context.clone(), slots: Arc::new(Semaphore::new(limit.max(1))), tasks: JoinSet::new() }
    }

    /// Runs a task that reports its own outcome; a panic in it ends the job with an `Internal` error.
    pub async fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        let context = self.context.clone();
        self.spawn_raw(async move {
            let ended = catch_panic(async move {
                task.await;
                Ok(())
            })
            .await;
            if let Err(error) = ended {
                context.fail(error);
            }
        })
        .await;
    }

    /// Runs `work` for `target` and reports its outcome (a panic in it is that user's error).
    pub async fn spawn_user(
        &mut self,
        target: String,
        work: impl Future<Output = Result<String, EngineError>> + Send + 'static,
    ) {
        let context = self.context.clone();
        self.spawn_raw(async move {
            let outcome = catch_panic(work).await;
            send_outcome(&context, &target, outcome).await;
        })
        .await;
    }

    async fn spawn_raw(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        let slot = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        while self.tasks.try_join_next().is_some() {}
        self.tasks.spawn(async move {
            task.await;
            drop(slot);
        });
    }

    pub async fn finish(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// One task per user the pipeline sent, each reporting its outcome under the target it was
/// given. The total for progress is known once the input closes.
pub(crate) struct InputTasks {
    context: JobContext,
    tasks: UserTasks,
    count: u64,
}

impl InputTasks {
    pub fn new(context: &JobContext, limit: usize) -> InputTasks {
        context.progress.expect_input();
        InputTasks { context: context.clone(), tasks: UserTasks::new(context, limit), count: 0 }
    }

    /// Waits for a free slot, then runs `work` and reports its outcome for `target`.
    pub async fn spawn(
        &mut self,
        target: String,
        work: impl Future<Output = Result<String, EngineError>> + Send + 'static,
    ) {
        self.count += 1;
        self.context.progress.add_pending(1);
        self.tasks.spawn_user(target, work).await;
    }

    /// Sets the total and waits for every task.
    pub async fn finish(self) {
        self.context.progress.set_total(self.count);
        self.tasks.finish().await;
    }
}

/// The job's terminating error when Graph refused a state the token has no permission to read:
/// every other user would get the same 403.
fn stopped_at_first_refusal(mut error: EngineError) -> EngineError {
    error.message = format!(
        "Stopped at the first refusal: the token has no permission to read per-user MFA states, so Graph refuses every user the same way. {}",
        error.message
    );
    error
}

/// Sends one user's outcome: the event, or an error naming the user. A rejected token ends the
/// whole job instead: every other user would fail the same way.
pub(crate) async fn send_outcome(context: &JobContext, target: &str, outcome: Result<String, EngineError>) {
    match outcome {
        Ok(json) => context.events.send(json).await,
        Err(error) if error.kind == ErrorKind::Unauthorized => context.fail(error),
        Err(error) if error.kind == ErrorKind::PermissionDenied && context.states_unreadable => {
            context.fail(stopped_at_first_refusal(error))
        }
        Err(error) => context.events.send(events::user_error(&error, target)).await,
    }
    context.progress.add_completed(1);
}
