//! A job: one cmdlet invocation running on the session's runtime.
//!
//! The host pushes input, then polls `next` from its pipeline thread; workers send events into
//! a bounded queue, so a slow pipeline (Export-Csv to a slow disk) slows the engine instead of
//! growing memory. `cancel` (from StopProcessing, any thread) aborts the driver task, which owns
//! every worker and batch in flight: nothing keeps running once it returns.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

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

/// The sending side of a job's event queue, shared by its workers and its pipeline, with the
/// job's id (which job a throttle pause belongs to).
#[derive(Clone)]
pub struct EventSink(mpsc::Sender<String>, u64);

/// Numbers the jobs of the process.
static NEXT_JOB_ID: AtomicU64 = AtomicU64::new(1);

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

    fn job_id(&self) -> u64 {
        self.1
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
    /// The token's claims lack every permission that reads per-user MFA states: the first 403
    /// reading a state ends the job instead of one identical error per user.
    pub states_unreadable: bool,
    fatal: Arc<Mutex<Option<EngineError>>>,
}

impl JobContext {
    /// Ends the job with `error` as its terminating error (the first one wins).
    pub fn fail(&self, error: EngineError) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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
        let states_unreadable = client
            .credential()
            .current()
            .is_some_and(|t| crate::signin::preflight::cannot_read_states(t.secret.expose(), &request));
        let context = JobContext {
            client,
            events: EventSink(event_tx, NEXT_JOB_ID.fetch_add(1, Ordering::Relaxed)),
            progress: Arc::new(Progress::new(operation.activity)),
            abort: CancellationToken::new(),
            states_unreadable,
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

/// A task that lives only as long as its handle: the job's helpers (the progress reporter, the
/// apply ticker) end with the job however it ends (finished, failed, panicked or cancelled), so
/// an aborted job leaves nothing running that holds its client and credential.
pub fn spawn_helper(task: impl Future<Output = ()> + Send + 'static) -> AbortOnDropHandle<()> {
    AbortOnDropHandle::new(tokio::spawn(task))
}

/// Runs `future`, turning a panic inside it into an `Internal` error, so a bug in one operation
/// or one user's task becomes an error event instead of a silent loss or a hung job.
pub async fn catch_panic<T>(future: impl Future<Output = Result<T, EngineError>>) -> Result<T, EngineError> {
    AssertUnwindSafe(future).catch_unwind().await.unwrap_or_else(|panic| Err(EngineError::from_panic(panic)))
}

/// A `Retry-After` a job was given ends with the job, finished or cancelled (dropping the driver
/// drops this): the next command does not inherit a wait it did not cause.
struct PausesOfJob(Arc<GraphClient>, u64);

impl Drop for PausesOfJob {
    fn drop(&mut self) {
        self.0.gate.end_pauses_of(self.1);
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
    let operation = {
        let context = context.clone();
        async move {
            // Pre-flight: name the permissions the token lacks for this job before Graph refuses.
            if let Some(warning) = context
                .client
                .credential()
                .current()
                .and_then(|t| crate::signin::preflight::warning(t.secret.expose(), &request))
            {
                context.events.send(Event::warning(warning)).await;
            }
            run(context, request, throttle_limit, input, changes).await
        }
    };
    run_to_end(context, operation).await;
}

/// Runs `operation` with the progress reporter beside it; a panic in the operation becomes the
/// job's `Internal` error. Every path (done, failed, panicked) ends with the reporter stopped and
/// a last event, and once the driver is gone nothing holds the event queue open, so the host
/// always sees the job end; an aborted driver (cancel) takes the reporter with it.
async fn run_to_end(context: JobContext, operation: impl Future<Output = Result<(), EngineError>>) {
    let _pauses = PausesOfJob(context.client.clone(), context.events.job_id());
    let reporter = {
        let progress = context.progress.clone();
        let events = context.events.clone();
        spawn_helper(async move {
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let _ = events.0.try_send(progress.snapshot().to_json());
            }
        })
    };
    let outcome = tokio::select! {
        outcome = catch_panic(operation) => outcome,
        _ = context.abort.cancelled() => Ok(()),
    };
    drop(reporter);
    let fatal = context.fatal.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    match (outcome, fatal) {
        (_, Some(error)) | (Err(error), None) => context.events.send(events::fatal(&error, "")).await,
        (Ok(()), None) => context.events.send(context.progress.snapshot().to_json()).await,
    }
}

#[cfg(test)]
impl JobContext {
    /// A context whose client points at a closed port, and the receiving end of its events.
    pub(crate) fn for_tests() -> (JobContext, mpsc::Receiver<String>) {
        let credential =
            crate::graph::auth::Credential::access_token(crate::secret::Secret::new("opaque-test-token".into()))
                .unwrap();
        let base = url::Url::parse("http://127.0.0.1:9").unwrap();
        let client = Arc::new(GraphClient::new(base, credential, "PerUserMfa-tests").unwrap());
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let context = JobContext {
            client,
            events: EventSink(events, 0),
            progress: Arc::new(Progress::new("tests")),
            abort: CancellationToken::new(),
            fatal: Arc::new(Mutex::new(None)),
            states_unreadable: false,
        };
        (context, receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::auth::Credential;
    use crate::secret::Secret;
    use serde_json::{json, Value};

    /// A listener that accepts connections and never answers: every request hangs.
    fn silent_server() -> (url::Url, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().take(16) {
                held.push(stream);
            }
        });
        (url, thread)
    }

    fn client(base: url::Url) -> Arc<GraphClient> {
        let credential = Credential::access_token(Secret::new("opaque-test-token".into())).unwrap();
        Arc::new(GraphClient::new(base, credential, "PerUserMfa-tests").unwrap())
    }

    async fn drain(mut receiver: mpsc::Receiver<String>) -> Vec<Value> {
        let mut events = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(event) = receiver.recv().await {
                events.push(serde_json::from_str::<Value>(&event).unwrap());
            }
        })
        .await;
        assert!(closed.is_ok(), "the event queue was still open 5 s after the job ended: {events:?}");
        events
    }

    #[tokio::test]
    async fn a_panicking_operation_ends_the_job_with_an_internal_error() {
        let (context, receiver) = JobContext::for_tests();
        tokio::spawn(run_to_end(context, async { panic!("the operation broke") }));
        let events = drain(receiver).await;
        let last = events.last().expect("a last event");
        assert_eq!(last["type"], "fatal");
        assert_eq!(last["errorId"], "Internal");
        assert!(last["message"].as_str().unwrap().contains("the operation broke"), "{last}");
    }

    #[tokio::test]
    async fn a_cancelled_job_leaves_no_reporter_holding_its_events_open() {
        let (context, receiver) = JobContext::for_tests();
        let driver = tokio::spawn(run_to_end(context, std::future::pending()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        driver.abort();
        drain(receiver).await;
    }

    #[tokio::test]
    async fn a_panicking_user_task_is_that_users_error_and_the_others_complete() {
        let (context, receiver) = JobContext::for_tests();
        let mut tasks = crate::ops::InputTasks::new(&context, 4);
        tasks.spawn("adele@contoso.com".into(), async { panic!("parsing broke") }).await;
        tasks.spawn("bob@contoso.com".into(), async { Ok(Event::verbose("bob read")) }).await;
        tasks.finish().await;
        drop(context);
        let events = drain(receiver).await;
        let errors: Vec<&Value> = events.iter().filter(|e| e["type"] == "error").collect();
        assert_eq!(errors.len(), 1, "{events:?}");
        assert_eq!(errors[0]["target"], "adele@contoso.com");
        assert_eq!(errors[0]["errorId"], "Internal");
        assert!(events.iter().any(|e| e["message"] == "bob read"), "{events:?}");
    }

    #[test]
    fn a_cancelled_apply_job_lets_go_of_its_client() {
        let (url, _server) = silent_server();
        let runtime = Arc::new(EngineRuntime::new().unwrap());
        let client = {
            let _entered = runtime.get().enter();
            client(url)
        };
        let folder = std::env::temp_dir().join(format!("pumfa-job-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let request = json!({
            "operation": "applyChanges",
            "journalPath": folder.join("run.jsonl").to_string_lossy(),
            "journalOperation": "set",
            "requestedState": "enforced",
        });
        let job = Job::start(
            runtime.clone(),
            client.clone(),
            JobRequest::parse(&request.to_string()).unwrap(),
            crate::ops::operation,
        )
        .unwrap();
        let change = json!({"changes": [{"target": "a@contoso.com", "id": "00000000-0000-4000-8000-000000000001", "requestedState": "enforced"}]});
        job.push(&change.to_string()).unwrap();
        job.close_input();
        // The journal's first write is done once the run reaches its requests (which hang).
        let journal = folder.join("run.jsonl");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0) == 0 {
            assert!(std::time::Instant::now() < deadline, "the run never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(600));
        job.cancel();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&client) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "5 s after cancel, {} holders of the client remain",
                Arc::strong_count(&client) - 1
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(job);
        let _ = std::fs::remove_dir_all(&folder);
    }
}
