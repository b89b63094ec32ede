//! Bulk changes, step 2: make the pushed changes, journalled (docs/ARCHITECTURE.md §4).
//!
//! 1. Wait for the whole input (the host pushes the approved plan, then closes it). The same
//!    account given twice (a UPN and its object id) is changed once: the first is kept.
//! 2. Create the journal (or, resuming, open it to append) and lock it for the whole job; a
//!    resumed run reads it again under the lock and leaves out users another run finished since.
//!    An undo locks the journal it undoes as well. Then write, in one synced write, a `planned`
//!    record for every change and an `outcome` for every user that needs no request. From here on
//!    a killed run can be resumed: every user it was going to change is on disk.
//! 3. Per user, with at most `throttleLimit` in flight: read the state again (the plan may be
//!    minutes old, the prompt may have waited); decide again ([`crate::bulk::decide`]); if a PATCH
//!    is needed, write the `sending` record and wait until it is on disk, send the PATCH, read the
//!    state back, and record the `outcome` before reporting it.
//! 4. Once every user has an outcome, write the `end` record and release the lock.
//!
//! A run that requires coverage (and a resume of one) reads the tenant's Conditional Access
//! set-up again before step 2 and changes only users whose verdict is still `Covered`; the
//! journal records each user's verdict and reason, and a user left alone as `notCovered`.
//!
//! PATCHes go through the session's throttle gate, which paces writes to Graph's budget (3,000
//! per 150 s per app per tenant). The job estimates the duration up front from that budget and
//! keeps the progress bar's time left on the same schedule.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::coverage::{self, Coverage};
use super::per_user::{has_second_factor, read_state, write_state};
use super::{naming_user, UserTasks};
use crate::bulk::{landing_unknown, same_state, Action, ChangeItem};
use crate::error::{EngineError, ErrorKind};
use crate::events::{self, Event};
use crate::graph::batch::Batcher;
use crate::graph::throttle::Budget;
use crate::graph::ApiVersion;
use crate::job::JobContext;
use crate::journal::{self, Connection, Journal, JournalWriter, Outcome, Record};
use crate::model::MfaState;
use crate::options::JournalOperation;
use crate::utc;

/// Writes per second assumed while the window has room, until the job has measured its own.
const ASSUMED_UNPACED_RATE: f64 = 50.0;

/// Where and how the job journals.
pub struct JournalSpec {
    pub path: String,
    pub operation: JournalOperation,
    pub requested_state: Option<MfaState>,
    pub undo_of: Option<String>,
    /// Change only users whose migration verdict is `Covered`.
    pub require_coverage: bool,
    /// Who is signed in: recorded in a new journal's header, compared with a resumed one's.
    pub connection: Connection,
}

pub async fn run(
    context: JobContext,
    spec: JournalSpec,
    throttle_limit: usize,
    mut changes: mpsc::UnboundedReceiver<ChangeItem>,
) -> Result<(), EngineError> {
    let mut items = Vec::new();
    while let Some(item) = changes.recv().await {
        items.push(item);
    }
    context.progress.set_total(items.len() as u64);
    let (items, duplicates) = first_of_each_account(items);
    for (duplicate, kept) in duplicates {
        context.events.send(Event::warning(same_account_message(&duplicate, &kept))).await;
        context.progress.add_completed(1);
    }

    if spec.require_coverage
        && spec.operation == JournalOperation::Set
        && spec.requested_state != Some(MfaState::Disabled)
    {
        return Err(EngineError::invalid_input(super::plan_changes::REQUIRE_COVERAGE_NEEDS_DISABLED));
    }
    // Read before the journal is touched: an unreadable set-up changes nobody.
    let mut coverage = match spec.require_coverage && spec.operation != JournalOperation::Undo {
        true => Some(Coverage::read(&context).await?),
        false => None,
    };
    // Held until the job ends: nobody resumes the journal this run undoes while it runs.
    let _undone_lock = lock_undone_journal(&spec).await?;
    let (writer, reread) = open_journal(&spec).await?;
    let items = match reread {
        Some(journal) => {
            if journal.header.require_coverage && coverage.is_none() {
                // The run being resumed required coverage: so does its resume.
                coverage = Some(Coverage::read(&context).await?);
            }
            let (items, finished) = still_to_resume(items, &journal);
            if finished > 0 {
                context.events.send(Event::information(finished_by_another_run_message(finished))).await;
                context.progress.add_completed(finished as u64);
            }
            items
        }
        None => items,
    };
    let resume_hint = resume_hint(writer.path());
    // One synced write before any request: the plan of every change, the outcome of the rest.
    let now = utc::now_millis();
    let mut first = Vec::new();
    let mut settled = Vec::new();
    let mut work = Vec::new();
    for mut item in items {
        let planned = item.action.unwrap_or(Action::Change);
        let action = match (&coverage, planned) {
            // The verdict again, from the set-up read just now: the plan's may be stale.
            (Some(coverage), Action::Change) => coverage.judge(&mut item, Action::Change),
            _ => planned,
        };
        match action {
            Action::NotCovered => {
                let result = not_covered(&item, &now);
                first.push(result.record);
                if planned != Action::NotCovered {
                    // The plan found this user covered, so nobody has told the admin yet.
                    settled.push(result.event);
                } else {
                    // The host reported the plan's verdict already.
                    context.progress.add_completed(1);
                }
            }
            Action::Change => {
                if spec.operation != JournalOperation::Resume {
                    first.push(Record::Planned {
                        target: item.display_target(),
                        id: item.id.clone(),
                        user_principal_name: item.user_principal_name.clone(),
                        display_name: item.display_name.clone(),
                        previous_state: item.previous_state.clone().or(item.current_state.clone()).unwrap_or_default(),
                        requested_state: item.requested_state.as_graph().to_string(),
                        verdict: item.verdict.clone(),
                        verdict_reason: item.verdict_reason.clone(),
                        time: now.clone(),
                    });
                }
                work.push(item);
            }
            action => {
                let current = item.current_state.clone().or(item.previous_state.clone()).unwrap_or_default();
                let result = settle(&item, action, &current, &now);
                first.push(result.record);
                settled.push(result.event);
            }
        }
    }
    writer.write(first).await?;
    for event in settled {
        context.events.send(event).await;
        context.progress.add_completed(1);
    }

    let pace = Arc::new(Pace::new(work.len() as u64));
    if !work.is_empty() {
        let (allowed, seconds) = up_front_estimate(&context, work.len() as u64);
        context.events.send(Event::information(estimate_message(work.len(), allowed, seconds))).await;
    }
    let ticker = {
        let (pace, context) = (pace.clone(), context.clone());
        crate::job::spawn_helper(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let allowed = write_allowance(&context);
                let (wait, _) = context.client.gate.outlook(Budget::Write);
                let (at, note) = pace.finish_estimate(allowed, wait);
                context.progress.set_finish_estimate(at, note);
            }
        })
    };

    let (batcher, _batcher_guard) =
        Batcher::spawn(context.client.clone(), ApiVersion::Beta, throttle_limit, context.notify());
    let mut tasks = UserTasks::new(&context, throttle_limit);
    for item in work {
        let worker = Worker {
            context: context.clone(),
            batcher: batcher.clone(),
            writer: writer.clone(),
            pace: pace.clone(),
            resume_hint: resume_hint.clone(),
        };
        tasks.spawn(async move { worker.change(item).await }).await;
    }
    tasks.finish().await;
    drop(ticker);
    if context.abort.is_cancelled() {
        // A job that failed (or was stopped) did not reach its end: the journal says so.
        return Ok(());
    }
    writer.close().await
}

/// The items with each account once (by object id, the first given kept), and each duplicate
/// with the item it duplicates.
fn first_of_each_account(items: Vec<ChangeItem>) -> (Vec<ChangeItem>, Vec<(ChangeItem, ChangeItem)>) {
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<ChangeItem> = Vec::new();
    let mut duplicates = Vec::new();
    for item in items {
        let key = item.id.to_ascii_lowercase();
        match first.get(&key) {
            Some(&at) => duplicates.push((item, kept[at].clone())),
            None => {
                first.insert(key, kept.len());
                kept.push(item);
            }
        }
    }
    (kept, duplicates)
}

fn same_account_message(duplicate: &ChangeItem, kept: &ChangeItem) -> String {
    format!(
        "'{}' is the same account as '{}' (object id {}): it is changed once.",
        duplicate.display_target(),
        kept.display_target(),
        kept.id
    )
}

/// A resumed run, with the journal read again under its lock: the items whose user still needs
/// the run (another run may have finished some since this one read the journal), each with what
/// the journal now says about a PATCH already sent; and how many were finished meanwhile.
fn still_to_resume(items: Vec<ChangeItem>, journal: &Journal) -> (Vec<ChangeItem>, usize) {
    let entries: HashMap<&str, &journal::Entry> = journal.entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut finished = 0;
    let mut left = Vec::new();
    for mut item in items {
        match entries.get(item.id.as_str()) {
            Some(entry) if !entry.resume_needed() => finished += 1,
            Some(entry) => {
                if entry.sent != item.sent {
                    // The plan is stale: decide again from what the journal says now.
                    item.sent = entry.sent;
                    item.previous_state = entry.previous_state.clone();
                    item.action = None;
                }
                left.push(item);
            }
            None => left.push(item),
        }
    }
    (left, finished)
}

fn finished_by_another_run_message(finished: usize) -> String {
    let accounts = if finished == 1 { "1 account".to_string() } else { format!("{} accounts", group(finished as u64)) };
    format!(
        "{accounts} had been finished by another run of this journal since this one read it: nothing was sent for them."
    )
}

/// An undo holds the lock of the journal it undoes, so that run cannot be resumed meanwhile.
async fn lock_undone_journal(spec: &JournalSpec) -> Result<Option<File>, EngineError> {
    let Some(undone) = spec.undo_of.clone().filter(|_| spec.operation == JournalOperation::Undo) else {
        return Ok(None);
    };
    tokio::task::spawn_blocking(move || journal::lock_existing(Path::new(&undone)))
        .await
        .map_err(|e| EngineError::internal(format!("Locking the journal stopped: {e}")))?
        .map(Some)
}

/// The journal's writer, and for a resumed run the journal as read again under its lock.
async fn open_journal(spec: &JournalSpec) -> Result<(JournalWriter, Option<Journal>), EngineError> {
    let path = PathBuf::from(&spec.path);
    let header = Record::Header {
        format: journal::FORMAT.to_string(),
        operation: match spec.operation {
            JournalOperation::Undo => "undo",
            _ => "set",
        }
        .to_string(),
        created: utc::now_millis(),
        requested_state: spec.requested_state.as_ref().map(|s| s.as_graph().to_string()),
        undo_of: spec.undo_of.clone(),
        engine: Some(crate::ENGINE_VERSION.to_string()),
        tenant_id: spec.connection.tenant_id.clone(),
        app_id: spec.connection.app_id.clone(),
        account: spec.connection.account.clone(),
        pid: Some(std::process::id()),
        require_coverage: spec.require_coverage && spec.operation == JournalOperation::Set,
    };
    let resume = spec.operation == JournalOperation::Resume;
    let tenant = spec.connection.tenant_id.clone();
    tokio::task::spawn_blocking(move || {
        if resume {
            let (writer, journal) = JournalWriter::append(&path)?;
            journal.header.ensure_same_tenant(tenant.as_deref(), writer.path())?;
            Ok((writer, Some(journal)))
        } else {
            JournalWriter::create(&path, header).map(|writer| (writer, None))
        }
    })
    .await
    .map_err(|e| EngineError::internal(format!("Opening the journal stopped: {e}")))?
}

fn resume_hint(path: &str) -> String {
    format!(
        " The journal '{path}' records every change sent so far; once the cause is fixed, finish the run with \
         Set-PerUserMfaState -ResumeJournal '{path}'."
    )
}

/// The journal's note for a user whose PATCH to Enabled may have landed and whose methods keep
/// them Enforced either way.
const KEPT_ENFORCED_NOTE: &str =
    "Graph keeps this user Enforced (they registered a second factor): a PATCH to Enabled \
     ends as Enforced whether or not the interrupted run's PATCH had landed, so it was not sent again.";

/// The journal record and the event for a user whose outcome needs no PATCH.
struct Settled {
    record: Record,
    event: String,
}

fn settle(item: &ChangeItem, action: Action, current: &str, time: &str) -> Settled {
    let (outcome, previous, note) = match action {
        Action::Completed => (
            Outcome::Changed,
            item.previous_state.clone().unwrap_or_else(|| current.to_string()),
            Some("The PATCH of an earlier, interrupted run had landed; it was not sent again.".to_string()),
        ),
        Action::ChangedSince => (
            Outcome::ChangedSince,
            current.to_string(),
            Some(format!(
                "Changed since by someone else (the undone run left {}); not undone.",
                item.expected_state.as_deref().unwrap_or("another state")
            )),
        ),
        _ => (Outcome::AlreadyInState, current.to_string(), None),
    };
    settled_outcome(item, outcome, &previous, current, note, time)
}

fn settled_outcome(
    item: &ChangeItem,
    outcome: Outcome,
    previous: &str,
    state: &str,
    note: Option<String>,
    time: &str,
) -> Settled {
    let record = Record::Outcome {
        target: item.display_target(),
        id: item.id.clone(),
        user_principal_name: item.user_principal_name.clone(),
        display_name: item.display_name.clone(),
        outcome,
        previous_state: Some(previous.to_string()),
        requested_state: item.requested_state.as_graph().to_string(),
        state: Some(state.to_string()),
        error: None,
        note,
        refused: false,
        verdict: item.verdict.clone(),
        verdict_reason: item.verdict_reason.clone(),
        time: time.to_string(),
    };
    let event = Event::ChangeResult {
        target: item.display_target(),
        id: item.id.clone(),
        user_principal_name: item.user_principal_name.clone(),
        display_name: item.display_name.clone(),
        previous_state: previous.to_string(),
        requested_state: item.requested_state.as_graph().to_string(),
        state: state.to_string(),
        changed: !same_state(previous, state),
        outcome: Some(outcome),
    }
    .to_json();
    Settled { record, event }
}

/// A user a run that requires coverage leaves alone: the journal's `notCovered` outcome with the
/// verdict, and the user's error naming the verdict and its reason.
fn not_covered(item: &ChangeItem, time: &str) -> Settled {
    let current = item.current_state.clone().or(item.previous_state.clone());
    let verdict = item.verdict.clone().unwrap_or_else(|| "Unknown".into());
    let reason = item.verdict_reason.clone().unwrap_or_default();
    let target = item.display_target();
    let error = coverage::not_covered_error(&target, &verdict, &reason);
    let record = Record::Outcome {
        target: target.clone(),
        id: item.id.clone(),
        user_principal_name: item.user_principal_name.clone(),
        display_name: item.display_name.clone(),
        outcome: Outcome::NotCovered,
        previous_state: current.clone(),
        requested_state: item.requested_state.as_graph().to_string(),
        state: current,
        error: None,
        note: Some(error.message.clone()),
        refused: false,
        verdict: Some(verdict),
        verdict_reason: Some(reason),
        time: time.to_string(),
    };
    Settled { record, event: events::user_error(&error, &target) }
}

struct Worker {
    context: JobContext,
    batcher: Batcher,
    writer: JournalWriter,
    pace: Arc<Pace>,
    resume_hint: String,
}

impl Worker {
    async fn change(self, item: ChangeItem) {
        let target = item.display_target();
        let current = match read_state(&self.batcher, &item.id, &target).await {
            Ok(current) => current,
            Err(error) => {
                self.pace.skipped();
                return self.failed(&item, None, Attempt::NotSent, naming_user(error, "read", &target)).await;
            }
        };
        let action = match item.decide(&current) {
            Action::Change
                if landing_unknown(&current, item.previous_state.as_deref(), &item.requested_state, item.sent) =>
            {
                match self.settle_unknown_landing(&item, &target, &current).await {
                    Some(settled) => {
                        self.pace.skipped();
                        return self.record(settled.record, settled.event).await;
                    }
                    None => Action::Change,
                }
            }
            action => action,
        };
        if action != Action::Change {
            self.pace.skipped();
            let settled = settle(&item, action, &current, &utc::now_millis());
            return self.record(settled.record, settled.event).await;
        }
        let sending = Record::Sending {
            target: target.clone(),
            id: item.id.clone(),
            previous_state: current.clone(),
            requested_state: item.requested_state.as_graph().to_string(),
            time: utc::now_millis(),
        };
        if let Err(error) = self.writer.write(vec![sending]).await {
            // Without the record on disk the PATCH must not go out.
            self.context.fail(error);
            return;
        }
        let sent = write_state(&self.batcher, &item.id, &item.requested_state, &current, &target).await;
        self.pace.written();
        if let Err(error) = sent {
            let attempt = if is_definite_refusal(&error) { Attempt::Refused } else { Attempt::MayHaveLanded };
            return self.failed(&item, Some(&current), attempt, naming_user(error, "change", &target)).await;
        }
        match read_state(&self.batcher, &item.id, &target).await {
            Ok(state) => {
                let outcome = if same_state(&state, &current) { Outcome::Unchanged } else { Outcome::Changed };
                let settled = settled_outcome(&item, outcome, &current, &state, None, &utc::now_millis());
                self.record(settled.record, settled.event).await;
            }
            Err(error) => {
                let error = EngineError {
                    message: format!(
                        "Graph accepted the change of '{target}', but reading the state back failed, so the state it \
                         ended with is not known: {}",
                        error.message
                    ),
                    ..error
                };
                // The PATCH was accepted: the journal says changed (an undo puts it back), state unknown.
                self.failed(&item, Some(&current), Attempt::Accepted, error).await;
            }
        }
    }

    /// A PATCH to Enabled that an interrupted run may have sent, with Graph showing the Enforced
    /// from before ([`landing_unknown`]): the user's methods decide. With a second factor
    /// registered, Graph stores Enforced for Enabled, so the user ends as they are whether or not
    /// that PATCH landed: nothing is sent (the outcome, returned). Without one, the PATCH did not
    /// land and is sent (None). When the methods cannot be read it is sent too: setting the same
    /// state again cannot change the user twice, and leaving it unsent could leave them Enforced.
    async fn settle_unknown_landing(&self, item: &ChangeItem, target: &str, current: &str) -> Option<Settled> {
        match has_second_factor(&self.batcher, &item.id, target).await {
            Ok(true) => Some(settled_outcome(
                item,
                Outcome::Unchanged,
                current,
                current,
                Some(KEPT_ENFORCED_NOTE.to_string()),
                &utc::now_millis(),
            )),
            Ok(false) => None,
            Err(error) => {
                let message = format!(
                    "Sending the change of '{target}' to Enabled again: an interrupted run may have sent it, Graph shows \
                     Enforced as before, and the user's authentication methods, which would tell whether it landed, could \
                     not be read ({}).",
                    error.message
                );
                self.context.events.send(Event::verbose(message)).await;
                None
            }
        }
    }

    /// Records the outcome, then reports it; a journal that cannot be written ends the job.
    async fn record(&self, record: Record, event: String) {
        match self.writer.write(vec![record]).await {
            Ok(()) => self.context.events.send(event).await,
            Err(error) => self.context.fail(error),
        }
        self.context.progress.add_completed(1);
    }

    async fn failed(&self, item: &ChangeItem, previous: Option<&str>, attempt: Attempt, error: EngineError) {
        let record = Record::Outcome {
            target: item.display_target(),
            id: item.id.clone(),
            user_principal_name: item.user_principal_name.clone(),
            display_name: item.display_name.clone(),
            outcome: if attempt == Attempt::Accepted { Outcome::Changed } else { Outcome::Failed },
            previous_state: previous.map(str::to_string).or(item.previous_state.clone()),
            requested_state: item.requested_state.as_graph().to_string(),
            state: None,
            error: Some(error.message.clone()),
            note: None,
            refused: attempt == Attempt::Refused,
            verdict: item.verdict.clone(),
            verdict_reason: item.verdict_reason.clone(),
            time: utc::now_millis(),
        };
        if let Err(journal_error) = self.writer.write(vec![record]).await {
            self.context.fail(journal_error);
            return;
        }
        if error.kind == ErrorKind::Unauthorized {
            // Every other user would fail the same way.
            let message = format!("{}{}", error.message, self.resume_hint);
            self.context.fail(EngineError { message, ..error });
        } else {
            self.context.events.send(events::user_error(&error, &item.display_target())).await;
        }
        self.context.progress.add_completed(1);
    }
}

/// How far a failed user's change got, which decides what the journal records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Failed before a PATCH was sent (the state could not be read).
    NotSent,
    /// Graph refused the PATCH with a definite answer: it did not land.
    Refused,
    /// The PATCH may have landed (no answer, or one that does not say).
    MayHaveLanded,
    /// Graph accepted the PATCH, but the state could not be read back: recorded as changed (an
    /// undo puts it back), state unknown.
    Accepted,
}

/// A 4xx answer to a PATCH says Graph did not apply it; a timeout (408), throttling (429, after
/// the gate's retries), a 5xx or no answer at all leave open whether it landed.
fn is_definite_refusal(error: &EngineError) -> bool {
    error.status.is_some_and(|status| (400..500).contains(&status) && status != 408 && status != 429)
}

/// The writes the throttle gate lets through per write window (Graph's budget, as the gate knows
/// it, times the share it fills). Writes always have a documented budget.
fn write_allowance(context: &JobContext) -> f64 {
    context.client.gate.allowed(Budget::Write).unwrap_or(1.0)
}

/// The writes allowed per write window, and the seconds `writes` PATCHes take from now, before
/// any is sent: from what the session measured (the budget the gate learnt and the writes already
/// in its window: an earlier run in this session may have used most of it). The confirmation
/// prompt (the `estimateWrites` job) and the job's first line both use it, so they agree.
pub(crate) fn up_front_estimate(context: &JobContext, writes: u64) -> (f64, f64) {
    let allowed = write_allowance(context);
    let (_, in_window) = context.client.gate.outlook(Budget::Write);
    let ages: Vec<f64> = in_window.iter().map(Duration::as_secs_f64).collect();
    (allowed, schedule_seconds(&ages, writes, allowed, write_window_seconds(), ASSUMED_UNPACED_RATE))
}

/// Graph's write window, in seconds.
fn write_window_seconds() -> f64 {
    Budget::Write.span().as_secs_f64()
}

/// The job's own writes, to estimate when it finishes.
struct Pace {
    state: Mutex<PaceState>,
}

struct PaceState {
    remaining: u64,
    /// When each PATCH of the last write window was answered.
    answered: VecDeque<Instant>,
    /// The fastest rate seen over 5 s: what the job does while the window has room.
    best_rate: f64,
}

impl Pace {
    fn new(writes: u64) -> Pace {
        Pace { state: Mutex::new(PaceState { remaining: writes, answered: VecDeque::new(), best_rate: 0.0 }) }
    }

    fn written(&self) {
        let mut state = self.state.lock().unwrap();
        state.remaining = state.remaining.saturating_sub(1);
        state.answered.push_back(Instant::now());
    }

    /// A planned PATCH turned out not to be needed (or could not be tried).
    fn skipped(&self) {
        let mut state = self.state.lock().unwrap();
        state.remaining = state.remaining.saturating_sub(1);
    }

    /// When the job should finish, and the status note: the changes left and the pace, or, while
    /// the gate holds writes back (`wait`), the seconds left of that wait, counting down.
    fn finish_estimate(&self, allowed: f64, wait: Duration) -> (Instant, String) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        let window = Budget::Write.span();
        while state.answered.front().is_some_and(|&at| now.duration_since(at) >= window) {
            state.answered.pop_front();
        }
        let recent = state.answered.iter().filter(|&&at| now.duration_since(at) < Duration::from_secs(5)).count();
        state.best_rate = state.best_rate.max(recent as f64 / 5.0);
        let rate = if state.best_rate > 0.0 { state.best_rate } else { ASSUMED_UNPACED_RATE };
        let ages: Vec<f64> = state.answered.iter().map(|&at| now.duration_since(at).as_secs_f64()).collect();
        let seconds = schedule_seconds(&ages, state.remaining, allowed, write_window_seconds(), rate);
        let note = if wait >= Duration::from_secs(1) && state.remaining > 0 {
            format!(
                "waiting {} s for Graph's write budget ({} per {} s), {} changes left",
                wait.as_secs_f64().ceil() as u64,
                group(allowed as u64),
                write_window_seconds(),
                group(state.remaining)
            )
        } else {
            format!(
                "{} changes left, paced to Graph's write budget ({} per {} s)",
                group(state.remaining),
                group(allowed as u64),
                write_window_seconds()
            )
        };
        (now + Duration::from_secs_f64(seconds.min(1.0e7)), note)
    }
}

/// Seconds from now until `remaining` more writes have gone out, when a sliding window allows
/// `allowed` writes per `window` seconds, `sent_ago` are the ages in seconds of the writes already
/// in the window, and writes go at most `rate` per second while the window has room. This is how
/// the throttle gate admits them (Graph's 3,000 per 150 s allows bursts: a fresh window takes
/// 2,850 at once, then each write waits for one to leave the window).
pub fn schedule_seconds(sent_ago: &[f64], remaining: u64, allowed: f64, window: f64, rate: f64) -> f64 {
    let allowed = allowed.floor().max(1.0) as usize;
    let mut times: Vec<f64> = sent_ago.iter().map(|age| -age).filter(|&t| t > -window).collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let step = 1.0 / rate.max(0.01);
    let mut last = -step;
    for _ in 0..remaining.min(10_000_000) {
        let mut at = (last + step).max(0.0);
        if times.len() >= allowed {
            at = at.max(times[times.len() - allowed] + window);
        }
        times.push(at);
        last = at;
    }
    last.max(0.0)
}

/// `about 7 min 30 s`.
pub fn describe_seconds(seconds: f64) -> String {
    let seconds = seconds.max(0.0).ceil() as u64;
    match seconds {
        0..=1 => "about a second".to_string(),
        2..=59 => format!("about {seconds} s"),
        60..=3599 => {
            let rounded = (seconds + 5) / 10 * 10;
            match rounded % 60 {
                0 => format!("about {} min", rounded / 60),
                s => format!("about {} min {s} s", rounded / 60),
            }
        }
        _ => {
            let minutes = (seconds + 30) / 60;
            format!("about {} h {} min", minutes / 60, minutes % 60)
        }
    }
}

fn estimate_message(writes: usize, allowed: f64, seconds: f64) -> String {
    let changes = if writes == 1 { "1 change".to_string() } else { format!("{} changes", group(writes as u64)) };
    if writes as f64 > allowed {
        format!(
            "Sending {changes}. Graph accepts about {} changes per {} s from one app, so they are paced: this takes {}.",
            group((allowed / Budget::Write.target_share()).round() as u64),
            write_window_seconds(),
            describe_seconds(seconds)
        )
    } else {
        format!("Sending {changes}; this takes {}.", describe_seconds(seconds))
    }
}

/// `10,000`.
pub(super) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_window_takes_a_burst_then_waits_for_writes_to_leave_it() {
        assert_eq!(schedule_seconds(&[], 0, 2850.0, 150.0, 100.0), 0.0);
        let small = schedule_seconds(&[], 100, 2850.0, 150.0, 100.0);
        assert!((small - 0.99).abs() < 1e-9, "{small}");
        // 10,000 writes at 2,850 per 150 s: bursts at 0, 150, 300 and 450 s.
        let big = schedule_seconds(&[], 10_000, 2850.0, 150.0, 1000.0);
        assert!((450.0..453.0).contains(&big), "{big}");
    }

    #[test]
    fn writes_already_in_the_window_delay_the_next_ones() {
        // A full window sent 10 s ago: the next write waits 140 s.
        let full: Vec<f64> = vec![10.0; 2850];
        let next = schedule_seconds(&full, 1, 2850.0, 150.0, 100.0);
        assert!((next - 140.0).abs() < 1e-9, "{next}");
        // Writes older than the window do not count.
        let old: Vec<f64> = vec![200.0; 2850];
        assert_eq!(schedule_seconds(&old, 1, 2850.0, 150.0, 100.0), 0.0);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_seconds(0.2), "about a second");
        assert_eq!(describe_seconds(42.0), "about 42 s");
        assert_eq!(describe_seconds(452.0), "about 7 min 30 s");
        assert_eq!(describe_seconds(600.0), "about 10 min");
        assert_eq!(describe_seconds(7300.0), "about 2 h 2 min");
        assert_eq!(
            estimate_message(10_000, 2850.0, 479.0),
            "Sending 10,000 changes. Graph accepts about 3,000 changes per 150 s from one app, so they are paced: this takes about 8 min."
        );
        assert_eq!(group(999), "999");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(estimate_message(1, 2850.0, 0.1), "Sending 1 change; this takes about a second.");
    }
}
