//! A job: one cmdlet invocation running on the session's runtime.
//!
//! The host pushes input, then polls `next` from its pipeline thread; workers send events into
//! a bounded queue, so a slow pipeline (Export-Csv to a slow disk) slows the engine instead of
//! growing memory. `cancel` (from StopProcessing, any thread) aborts the driver task, which owns
//! every worker and batch in flight: nothing keeps running once it returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bulk::ChangeItem;
use crate::error::EngineError;
use crate::events::{self, Event};
use crate::graph::client::GraphClient;
use crate::graph::Notify;
use crate::options::{JobInput, JobRequest};
use crate::progress::Progress;
use crate::runtime::EngineRuntime;

/// Events buffered between the engine and the pipeline thread.
const EVENT_QUEUE: usize = 1024;
/// How often a progress event is offered to the host.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// A running operation: what [`Operation::run`] returns.
pub type OperationFuture = Pin<Box<dyn Future<Output = Result<(), EngineError>> + Send>>;

/// How a job runs one request. The operations layer builds these (`crate::ops::operation`) and
/// the session hands that table to [`Job::start`], so a job knows how to feed, drain and cancel
/// an operation but not which operations exist: `ops` depends on `job`, never the reverse.
pub struct Operation {
    /// The progress bar's activity.
    pub activity: &'static str,
    /// Whether the operation takes pushed `userIds`.
    pub takes_user_ids: bool,
    /// Whether the operation takes pushed `changes`.
    pub takes_changes: bool,
    pub run: RunOperation,
}

/// Runs a request to its end: (context, request, requests in flight, pushed userIds, pushed changes).
pub type RunOperation = fn(
    JobContext,
    JobRequest,
    usize,
    mpsc::UnboundedReceiver<String>,
    mpsc::UnboundedReceiver<ChangeItem>,
) -> OperationFuture;

/// The operation table: the [`Operation`] that runs a request.
pub type OperationTable = fn(&JobRequest) -> Operation;

pub enum NextEvent {
    Event(String),
    Timeout,
    Done,
}

/// The sending side of a job's event queue, shared by its workers and its pipeline.
#[derive(Clone)]
pub struct EventSink(mpsc::Sender<String>);

impl EventSink {
    /// Queues an event, waiting while the host is behind.
    pub async fn send(&self, json: String) {
        let _ = self.0.send(json).await;
    }
}

impl Notify for EventSink {
    fn verbose(&self, message: String) {
        // Informational: dropped rather than blocking a request when the queue is full.
        let _ = self.0.try_send(Event::verbose(message));
    }
}

/// What an operation needs from its job.
#[derive(Clone)]
pub struct JobContext {
    pub client: Arc<GraphClient>,
    pub events: EventSink,
    pub progress: Arc<Progress>,
    /// Tripped when one worker hits an error that dooms the whole job (a rejected token).
    pub abort: CancellationToken,
    fatal: Arc<Mutex<Option<EngineError>>>,
}

impl JobContext {
    /// Ends the job with `error` as its terminating error (the first one wins).
    pub fn fail(&self, error: EngineError) {
        let mut fatal = self.fatal.lock().unwrap();
        if fatal.is_none() {
            *fatal = Some(error);
        }
        self.abort.cancel();
    }

    pub fn notify(&self) -> Arc<dyn Notify> {
        Arc::new(self.events.clone())
    }
}

pub struct Job {
    runtime: Arc<EngineRuntime>,
    events: Mutex<mpsc::Receiver<String>>,
    input: Mutex<Option<mpsc::UnboundedSender<String>>>,
    /// Bulk changes arrive here (`{"changes":[...]}`).
    changes: Mutex<Option<mpsc::UnboundedSender<ChangeItem>>>,
    /// Which input the operation takes: (userIds, changes).
    accepts: (bool, bool),
    driver: Mutex<Option<tokio::task::JoinHandle<()>>>,
    cancelled: AtomicBool,
}

impl Job {
    pub fn start(
        runtime: Arc<EngineRuntime>,
        client: Arc<GraphClient>,
        request: JobRequest,
        operations: OperationTable,
    ) -> Result<Job, EngineError> {
        let throttle_limit = request.throttle_limit()?;
        let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
        let (input_tx, input_rx) = mpsc::unbounded_channel();
        let (changes_tx, changes_rx) = mpsc::unbounded_channel();
        let operation = operations(&request);
        let accepts = (operation.takes_user_ids, operation.takes_changes);
        let context = JobContext {
            client,
            events: EventSink(event_tx),
            progress: Arc::new(Progress::new(operation.activity)),
            abort: CancellationToken::new(),
            fatal: Arc::new(Mutex::new(None)),
        };
        let driver = runtime.get().spawn(drive(context, request, operation.run, throttle_limit, input_rx, changes_rx));
        Ok(Job {
            runtime,
            events: Mutex::new(event_rx),
            input: Mutex::new(Some(input_tx)),
            changes: Mutex::new(Some(changes_tx)),
            accepts,
            driver: Mutex::new(Some(driver)),
            cancelled: AtomicBool::new(false),
        })
    }

    pub fn push(&self, input_json: &str) -> Result<(), EngineError> {
        let input: JobInput = serde_json::from_str(input_json)
            .map_err(|e| EngineError::invalid_input(format!("The job input is not valid: {e}.")))?;
        let (takes_users, takes_changes) = self.accepts;
        if (!input.user_ids.is_empty() && !takes_users) || (!input.changes.is_empty() && !takes_changes) {
            let expected = if takes_changes { "changes" } else { "userIds" };
            return Err(EngineError::invalid_input(format!(
                "The job input is not valid: this job takes '{expected}'."
            )));
        }
        let guard = self.input.lock().unwrap();
        let changes = self.changes.lock().unwrap();
        let (Some(sender), Some(change_sender)) = (guard.as_ref(), changes.as_ref()) else {
            return Err(EngineError::invalid_input("The job's input is already closed."));
        };
        for user in input.user_ids {
            // A send fails only when the job has ended; its events already say why.
            let _ = sender.send(user);
        }
        for change in input.changes {
            let _ = change_sender.send(change);
        }
        Ok(())
    }

    pub fn close_input(&self) {
        self.input.lock().unwrap().take();
        self.changes.lock().unwrap().take();
    }

    pub fn next(&self, timeout: Duration) -> NextEvent {
        if self.cancelled.load(Ordering::SeqCst) {
            return NextEvent::Done;
        }
        let mut events = self.events.lock().unwrap();
        if timeout.is_zero() {
            return match events.try_recv() {
                Ok(json) => NextEvent::Event(json),
                Err(mpsc::error::TryRecvError::Empty) => NextEvent::Timeout,
                Err(mpsc::error::TryRecvError::Disconnected) => NextEvent::Done,
            };
        }
        // The timer must be created inside the runtime, so the whole wait runs in block_on.
        match self.runtime.get().block_on(async { tokio::time::timeout(timeout, events.recv()).await }) {
            Ok(Some(json)) => NextEvent::Event(json),
            Ok(None) => NextEvent::Done,
            Err(_) => NextEvent::Timeout,
        }
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.close_input();
        if let Some(driver) = self.driver.lock().unwrap().take() {
            driver.abort();
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Runs the operation, then ends the job with its terminating error, if any, and a last
/// progress event.
async fn drive(
    context: JobContext,
    request: JobRequest,
    run: RunOperation,
    throttle_limit: usize,
    input: mpsc::UnboundedReceiver<String>,
    changes: mpsc::UnboundedReceiver<ChangeItem>,
) {
    let progress_ticker = {
        let progress = context.progress.clone();
        let events = context.events.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let _ = events.0.try_send(progress.snapshot().to_json());
            }
        })
    };
    // Pre-flight: name the permissions the token lacks for this job before Graph refuses.
    if let Some(warning) = context
        .client
        .credential()
        .current()
        .and_then(|t| crate::signin::preflight::warning(t.secret.expose(), &request))
    {
        context.events.send(Event::warning(warning)).await;
    }
    let operation = run(context.clone(), request, throttle_limit, input, changes);
    let outcome = tokio::select! {
        outcome = operation => outcome,
        _ = context.abort.cancelled() => Ok(()),
    };
    progress_ticker.abort();
    let fatal = context.fatal.lock().unwrap().take();
    match (outcome, fatal) {
        (_, Some(error)) | (Err(error), None) => context.events.send(events::fatal(&error, "")).await,
        (Ok(()), None) => context.events.send(context.progress.snapshot().to_json()).await,
    }
}
