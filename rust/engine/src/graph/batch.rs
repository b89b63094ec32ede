//! `$batch` bundling: callers send one sub-request at a time and await its answer; the batcher
//! packs up to 20 into one `POST /$batch` and keeps as many sub-requests outstanding as its
//! adaptive window allows ([`super::window`], at most the job's `-ThrottleLimit`). It retries
//! only the sub-requests that can succeed on a retry (429, 503, 504, 424, or left out of the
//! answer), each after the larger of its backoff and its own `Retry-After`. An envelope answered
//! 424 is read like a 200. When the connection breaks under a batch holding writes, Graph may have
//! applied them: their resources are read again first, and only the writes that did not land are
//! sent again. Callers see one final answer per sub-request.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::batch_report::BatchReport;
use super::client::{GraphClient, OnTransportError, Request, Response, ResponseMeta};
use super::retry::is_retryable_sub_status;
use super::throttle::Budget;
use super::window::{BatchSample, InFlightWindow};
use super::{ApiVersion, Notify};
use crate::error::{EngineError, ErrorKind};

/// Graph's limit of requests in one `$batch`.
pub const MAX_BATCH: usize = 20;
/// How long a lone sub-request waits for company before its batch leaves.
const LINGER: Duration = Duration::from_millis(3);

pub struct SubRequest {
    pub method: Method,
    /// Path relative to the API version, already percent-encoded (`/users/x/authentication/requirements`).
    pub path: String,
    pub body: Option<Value>,
    pub budget: Budget,
    /// For a write: the resource's fields as they were before it. If the connection breaks under
    /// the write, a re-read that still shows them means the write did not land; without them, a
    /// re-read that shows the body's fields means it did.
    pub before: Option<Value>,
}

impl SubRequest {
    pub fn get(path: String) -> SubRequest {
        SubRequest { method: Method::GET, path, body: None, budget: Budget::Read, before: None }
    }

    /// A GET counted against another budget family than the directory reads.
    pub fn get_from(path: String, budget: Budget) -> SubRequest {
        SubRequest { budget, ..SubRequest::get(path) }
    }

    /// A PATCH of `body` to a resource whose fields were `before`.
    pub fn patch(path: String, body: Value, before: Option<Value>) -> SubRequest {
        SubRequest { method: Method::PATCH, path, body: Some(body), budget: Budget::Write, before }
    }

    fn is_write(&self) -> bool {
        self.method != Method::GET
    }

    /// Whether `current` (the resource read again after a broken connection) shows this write.
    fn shows_applied(&self, current: &Value) -> bool {
        let fields_match = |fields: &Value| {
            fields.as_object().is_some_and(|map| map.iter().all(|(name, value)| &current[name] == value))
        };
        match (&self.before, &self.body) {
            (Some(before), _) => !fields_match(before),
            (None, Some(body)) => fields_match(body),
            (None, None) => false,
        }
    }

    /// The budgets this request spends a unit of: a write also costs a resource unit of the read
    /// budget, as Graph's cost table says.
    pub fn spends(&self) -> &'static [Budget] {
        match self.budget {
            Budget::Write => &[Budget::Write, Budget::Read],
            Budget::Read => &[Budget::Read],
            Budget::Reports => &[Budget::Reports],
            Budget::SignInLogs => &[Budget::SignInLogs],
            Budget::SignInActivity => &[Budget::SignInActivity],
            Budget::AuthMethods => &[Budget::AuthMethods, Budget::Read],
            Budget::ConditionalAccess => &[Budget::ConditionalAccess],
        }
    }
}

#[derive(Debug, Clone)]
pub struct SubResponse {
    pub status: u16,
    pub meta: ResponseMeta,
    pub body: Value,
}

impl SubResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

struct Pending {
    request: SubRequest,
    attempt: u32,
    /// Time spent waiting between tries so far, against the retry budget.
    waited: Duration,
    reply: oneshot::Sender<Result<SubResponse, EngineError>>,
}

/// Handle to a running batcher. Dropping every handle and the guard stops it.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
}

/// Aborts the batcher task (and its batches in flight) when dropped.
pub struct BatcherGuard(tokio::task::JoinHandle<()>);

impl Drop for BatcherGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Batcher {
    /// Starts a batcher for one job, with at most `throttle_limit` sub-requests in flight.
    pub fn spawn(
        client: Arc<GraphClient>,
        version: ApiVersion,
        throttle_limit: usize,
        notify: Arc<dyn Notify>,
    ) -> (Batcher, BatcherGuard) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let max_batch = throttle_limit.clamp(1, MAX_BATCH);
        let report = BatchReport::new(notify.clone(), max_batch, throttle_limit);
        let worker = BatchLoop { client, version, notify, max_batch };
        let window = InFlightWindow::new(throttle_limit, max_batch);
        let handle = tokio::spawn(worker.run(receiver, window, report));
        (Batcher { queue }, BatcherGuard(handle))
    }

    /// Sends one sub-request and waits for its final answer (after any retries). A non-success
    /// status is an `Ok` for the caller to map; `Err` means Graph could not be reached.
    pub async fn call(&self, request: SubRequest) -> Result<SubResponse, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { request, attempt: 1, waited: Duration::ZERO, reply })
            .map_err(|_| EngineError::cancelled())?;
        answer.await.map_err(|_| EngineError::cancelled())?
    }
}

struct BatchLoop {
    client: Arc<GraphClient>,
    version: ApiVersion,
    notify: Arc<dyn Notify>,
    max_batch: usize,
}

/// What a batch leaves for the loop: the sub-requests to try again (each with its wait), and what
/// the answer says about the window (None: no answer came).
struct BatchOutcome {
    retries: Vec<(Pending, Duration)>,
    sample: Option<BatchSample>,
}

/// A sub-request waiting for its retry time.
struct Delayed(Instant, u64, Pending);

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

impl BatchLoop {
    /// `report` tells `-Verbose` about the batches; its last line comes when the loop ends (or is
    /// aborted with its job).
    async fn run(
        self,
        mut receiver: mpsc::UnboundedReceiver<Pending>,
        mut window: InFlightWindow,
        mut report: BatchReport,
    ) {
        let this = Arc::new(self);
        let mut ready: VecDeque<(Instant, Pending)> = VecDeque::new();
        let mut delayed: BinaryHeap<Reverse<Delayed>> = BinaryHeap::new();
        let mut sequence = 0u64;
        let mut batches: JoinSet<BatchOutcome> = JoinSet::new();
        // Sub-requests per batch in flight, so a batch that panicked still gives its room back.
        let mut sizes: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut in_flight = 0usize;
        let mut seeded = false;
        let far = Duration::from_secs(86_400);
        loop {
            let now = Instant::now();
            while delayed.peek().is_some_and(|Reverse(d)| d.0 <= now) {
                let Reverse(Delayed(_, _, pending)) = delayed.pop().unwrap();
                ready.push_back((now, pending));
            }
            // Send what is ready and fits the window: full batches at once, a partial one after
            // its linger. A batch always fits an empty window.
            let mut room_for_next = true;
            if !seeded {
                if let Some((_, first)) = ready.front() {
                    seeded = true;
                    let budget = first.request.budget;
                    if let (Some(round_trip), Some(rate)) =
                        (this.client.latest_round_trip(), this.client.gate.first_second_rate(budget))
                    {
                        window.seed(round_trip, rate);
                    }
                }
            }
            while let Some(&(oldest, _)) = ready.front() {
                let want = ready.len().min(this.max_batch);
                if in_flight > 0 && in_flight + want > window.limit() {
                    room_for_next = false;
                    break;
                }
                if want < this.max_batch && oldest.elapsed() < LINGER {
                    break;
                }
                let items: Vec<Pending> = ready.drain(..want).map(|(_, p)| p).collect();
                in_flight += want;
                report.sent(want, window.limit(), Instant::now());
                let worker = this.clone();
                let handle = batches.spawn(async move { worker.send_batch(items).await });
                sizes.insert(handle.id(), want);
            }
            // Without room, only a finishing batch (or new input) can change anything: no timer
            // for the linger, so the loop sleeps instead of spinning.
            let linger_end = match ready.front() {
                Some(&(oldest, _)) if room_for_next => oldest + LINGER,
                _ => now + far,
            };
            let next_delay = delayed.peek().map(|Reverse(d)| d.0).unwrap_or(now + far);
            tokio::select! {
                received = receiver.recv() => match received {
                    Some(pending) => ready.push_back((Instant::now(), pending)),
                    // Every handle is gone, so nobody waits for an answer any more.
                    None => return,
                },
                Some(done) = batches.join_next_with_id(), if !batches.is_empty() => {
                    let id = match &done {
                        Ok((id, _)) => *id,
                        Err(error) => error.id(),
                    };
                    in_flight -= sizes.remove(&id).unwrap_or(0);
                    let Ok((_, outcome)) = done else { continue };
                    if let Some(sample) = outcome.sample {
                        window.on_answer(sample, !ready.is_empty(), Instant::now());
                    }
                    report.retrying(outcome.retries.len());
                    report.tick(window.limit(), Instant::now());
                    for (pending, wait) in outcome.retries {
                        sequence += 1;
                        delayed.push(Reverse(Delayed(Instant::now() + wait, sequence, pending)));
                    }
                }
                _ = tokio::time::sleep_until(next_delay.min(linger_end)) => {}
            }
        }
    }

    /// Sends one `$batch` and answers every sub-request that is final. Returns the ones to retry,
    /// each with its wait.
    async fn send_batch(&self, items: Vec<Pending>) -> BatchOutcome {
        let size = items.len();
        let has_writes = items.iter().any(|p| p.request.is_write());
        let request = self.envelope(&items);
        let on_transport_error = if has_writes { OnTransportError::ReturnError } else { OnTransportError::Retry };
        let envelope = match self.client.send_with(&request, self.notify.as_ref(), on_transport_error).await {
            Ok(envelope) => envelope,
            Err(error) if has_writes && error.kind == ErrorKind::Transient => {
                let retries = self.recheck_writes(items, &error).await;
                return BatchOutcome { retries, sample: None };
            }
            Err(error) => {
                for pending in items {
                    let _ = pending.reply.send(Err(error.clone()));
                }
                return BatchOutcome { retries: Vec::new(), sample: None };
            }
        };
        let Some(responses) =
            envelope.body["responses"].as_array().filter(|_| envelope.status == 424 || envelope.is_success())
        else {
            // The envelope itself was refused (401, 403, 400...): every sub-request gets that answer.
            for pending in items {
                let answer =
                    SubResponse { status: envelope.status, meta: envelope.meta.clone(), body: envelope.body.clone() };
                let _ = pending.reply.send(Ok(answer));
            }
            return BatchOutcome { retries: Vec::new(), sample: None };
        };
        let answers = read_answers(responses);
        let throttled = answers.values().any(|a| a.status == 429);
        let retries = self.settle(items, answers);
        let sample = BatchSample { size, round_trip: envelope.round_trip, gate_wait: envelope.gate_wait, throttled };
        BatchOutcome { retries, sample: Some(sample) }
    }

    /// The `POST /$batch` for `items`, costed per budget.
    fn envelope(&self, items: &[Pending]) -> Request {
        let mut reads = 0;
        let mut writes = 0;
        let mut others: Vec<(Budget, u32)> = Vec::new();
        let requests: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(index, pending)| {
                for &budget in pending.request.spends() {
                    match budget {
                        Budget::Read => reads += 1,
                        Budget::Write => writes += 1,
                        other => match others.iter_mut().find(|(b, _)| *b == other) {
                            Some((_, units)) => *units += 1,
                            None => others.push((other, 1)),
                        },
                    }
                }
                let mut entry = json!({
                    "id": (index + 1).to_string(),
                    "method": pending.request.method.as_str(),
                    "url": pending.request.path,
                });
                if let Some(body) = &pending.request.body {
                    entry["body"] = body.clone();
                    entry["headers"] = json!({"Content-Type": "application/json"});
                }
                entry
            })
            .collect();
        // The most specific budget first: the envelope's own 429 pauses that family.
        let mut cost = others;
        if writes > 0 {
            cost.push((Budget::Write, writes));
        }
        if reads > 0 {
            cost.push((Budget::Read, reads));
        }
        Request {
            method: Method::POST,
            url: self.client.url(self.version, "/$batch"),
            body: Some(json!({ "requests": requests })),
            eventual_consistency: false,
            cost,
            describe: format!("send a batch of {} requests", items.len()),
        }
    }

    /// Answers the final sub-requests; returns the ones to try again, each after the larger of
    /// its backoff and its own `Retry-After`.
    fn settle(&self, items: Vec<Pending>, mut answers: HashMap<String, SubResponse>) -> Vec<(Pending, Duration)> {
        let mut retries = Vec::new();
        let mut told = false;
        for (index, mut pending) in items.into_iter().enumerate() {
            let answer = answers.remove(&(index + 1).to_string());
            if let Some(share) = answer.as_ref().and_then(|a| a.meta.throttle_share) {
                self.client.gate.observe_share(pending.request.spends(), share, self.notify.as_ref());
            }
            let retryable = answer.as_ref().is_none_or(|a| is_retryable_sub_status(a.status));
            let retry_after = answer.as_ref().and_then(|a| a.meta.retry_after);
            let status = answer.as_ref().map(|a| a.status).unwrap_or(0);
            if retryable && (retry_after.is_some() || status == 429) {
                self.client.gate.throttled(pending.request.budget, retry_after, status == 429, self.notify.as_ref());
            }
            let wait = if retryable {
                self.client.retry.next_wait(pending.attempt, retry_after, pending.waited)
            } else {
                None
            };
            let Some(wait) = wait else {
                let result = answer.ok_or_else(|| {
                    EngineError::new(
                        ErrorKind::Transient,
                        "Graph's $batch answer left this request out after every retry.",
                    )
                });
                let _ = pending.reply.send(result);
                continue;
            };
            if status == 429 && !told {
                told = true;
                self.notify.verbose(format!(
                    "Graph answered 429 inside a $batch{}; those requests will be retried.",
                    retry_after.map(|d| format!(" with Retry-After {:.0} s", d.as_secs_f64())).unwrap_or_default()
                ));
            }
            pending.attempt += 1;
            pending.waited += wait;
            retries.push((pending, wait));
        }
        retries
    }

    /// The connection broke under a batch holding writes: Graph may have applied any of them.
    /// Reads are simply tried again; each write's resource is read first, a write it shows is
    /// answered as done (one change, one PATCH in Graph's audit log), and only the others are
    /// sent again.
    async fn recheck_writes(&self, items: Vec<Pending>, error: &EngineError) -> Vec<(Pending, Duration)> {
        self.notify.verbose(format!(
            "The connection broke under a $batch holding changes ({}); reading those users again before resending anything.",
            error.message
        ));
        let (writes, reads): (Vec<Pending>, Vec<Pending>) = items.into_iter().partition(|p| p.request.is_write());
        let mut retries = Vec::new();
        for mut pending in reads {
            match self.client.retry.next_wait(pending.attempt, None, pending.waited) {
                Some(wait) => {
                    pending.attempt += 1;
                    pending.waited += wait;
                    retries.push((pending, wait));
                }
                None => {
                    let _ = pending.reply.send(Err(error.clone()));
                }
            }
        }
        let requests: Vec<Value> = writes
            .iter()
            .enumerate()
            .map(|(index, p)| json!({"id": (index + 1).to_string(), "method": "GET", "url": p.request.path}))
            .collect();
        let request = Request {
            method: Method::POST,
            url: self.client.url(self.version, "/$batch"),
            body: Some(json!({ "requests": requests })),
            eventual_consistency: false,
            cost: vec![(Budget::Read, writes.len() as u32)],
            describe: format!("read {} users again after a broken connection", writes.len()),
        };
        let current = match self.client.send(&request, self.notify.as_ref()).await {
            Ok(Response { status, body, .. }) if (200..300).contains(&status) || status == 424 => {
                body["responses"].as_array().map(|r| read_answers(r)).unwrap_or_default()
            }
            Ok(_) | Err(_) => HashMap::new(),
        };
        for (index, mut pending) in writes.into_iter().enumerate() {
            match current.get(&(index + 1).to_string()).filter(|a| a.is_success()) {
                Some(answer) if pending.request.shows_applied(&answer.body) => {
                    let done = SubResponse { status: 204, meta: answer.meta.clone(), body: Value::Null };
                    let _ = pending.reply.send(Ok(done));
                }
                Some(_) => match self.client.retry.next_wait(pending.attempt, None, pending.waited) {
                    Some(wait) => {
                        pending.attempt += 1;
                        pending.waited += wait;
                        retries.push((pending, wait));
                    }
                    None => {
                        let _ = pending.reply.send(Err(error.clone()));
                    }
                },
                // Not known whether it landed: report the broken connection rather than risk a
                // second PATCH.
                None => {
                    let _ = pending.reply.send(Err(error.clone()));
                }
            }
        }
        retries
    }
}

/// The sub-responses of a `$batch` answer by id.
fn read_answers(responses: &[Value]) -> HashMap<String, SubResponse> {
    let mut answers = HashMap::new();
    for response in responses {
        let id = match &response["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let status = response["status"].as_u64().unwrap_or(0) as u16;
        let headers = &response["headers"];
        let meta = ResponseMeta::from_lookup(|name| {
            headers.as_object().and_then(|map| {
                map.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
            })
        });
        answers.insert(id, SubResponse { status, meta, body: response["body"].clone() });
    }
    answers
}
