//! `$batch` bundling: callers send one sub-request at a time and await its answer; the batcher
//! packs up to 20 into one `POST /$batch`, keeps at most `in_flight` sub-requests outstanding,
//! and retries only the sub-requests Graph answered 429/503/504, after the shared gate's pause
//! or an exponential backoff. Callers see one final answer per sub-request.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::client::{GraphClient, Request, ResponseMeta};
use super::retry::is_retryable_status;
use super::throttle::Budget;
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
}

impl SubRequest {
    pub fn get(path: String) -> SubRequest {
        SubRequest { method: Method::GET, path, body: None, budget: Budget::Read }
    }

    pub fn patch(path: String, body: Value) -> SubRequest {
        SubRequest { method: Method::PATCH, path, body: Some(body), budget: Budget::Write }
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
    pub fn spawn(
        client: Arc<GraphClient>,
        version: ApiVersion,
        in_flight: usize,
        notify: Arc<dyn Notify>,
    ) -> (Batcher, BatcherGuard) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let worker = BatchLoop {
            client,
            version,
            notify,
            in_flight: Arc::new(Semaphore::new(in_flight.max(1))),
            max_batch: in_flight.clamp(1, MAX_BATCH),
        };
        let handle = tokio::spawn(worker.run(receiver));
        (Batcher { queue }, BatcherGuard(handle))
    }

    /// Sends one sub-request and waits for its final answer (after any retries). A non-success
    /// status is an `Ok` for the caller to map; `Err` means Graph could not be reached.
    pub async fn call(&self, request: SubRequest) -> Result<SubResponse, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { request, attempt: 1, reply }).map_err(|_| EngineError::cancelled())?;
        answer.await.map_err(|_| EngineError::cancelled())?
    }
}

struct BatchLoop {
    client: Arc<GraphClient>,
    version: ApiVersion,
    notify: Arc<dyn Notify>,
    in_flight: Arc<Semaphore>,
    max_batch: usize,
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
    async fn run(self, mut receiver: mpsc::UnboundedReceiver<Pending>) {
        let this = Arc::new(self);
        let mut ready: VecDeque<(Instant, Pending)> = VecDeque::new();
        let mut delayed: BinaryHeap<Reverse<Delayed>> = BinaryHeap::new();
        let mut sequence = 0u64;
        let mut batches: JoinSet<Vec<(Pending, Option<Duration>)>> = JoinSet::new();
        let far = Duration::from_secs(86_400);
        loop {
            let now = Instant::now();
            while delayed.peek().is_some_and(|Reverse(d)| d.0 <= now) {
                let Reverse(Delayed(_, _, pending)) = delayed.pop().unwrap();
                ready.push_back((now, pending));
            }
            // Send what is ready: full batches at once, a partial one after its linger.
            while !ready.is_empty() {
                let oldest = ready.front().map(|r| r.0).unwrap();
                let want = ready.len().min(this.max_batch);
                if want < this.max_batch && oldest.elapsed() < LINGER {
                    break;
                }
                let Ok(permit) = this.in_flight.clone().try_acquire_many_owned(want as u32) else { break };
                let items: Vec<Pending> = ready.drain(..want).map(|(_, p)| p).collect();
                let worker = this.clone();
                batches.spawn(async move {
                    let outcome = worker.send_batch(items).await;
                    drop(permit);
                    outcome
                });
            }
            let next_delay = delayed.peek().map(|Reverse(d)| d.0).unwrap_or(now + far);
            let linger_end = ready.front().map(|r| r.0 + LINGER).unwrap_or(now + far);
            tokio::select! {
                received = receiver.recv() => match received {
                    Some(pending) => ready.push_back((Instant::now(), pending)),
                    None => return,
                },
                Some(done) = batches.join_next(), if !batches.is_empty() => {
                    if let Ok(retries) = done {
                        for (pending, wait) in retries {
                            sequence += 1;
                            match wait {
                                Some(wait) => delayed.push(Reverse(Delayed(Instant::now() + wait, sequence, pending))),
                                None => ready.push_back((Instant::now(), pending)),
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(next_delay.min(linger_end)) => {}
            }
        }
    }

    /// Sends one `$batch` and answers every sub-request that is final. Returns the ones to retry,
    /// each with its own backoff (None: retry as soon as the gate allows).
    async fn send_batch(&self, items: Vec<Pending>) -> Vec<(Pending, Option<Duration>)> {
        let mut reads = 0;
        let mut writes = 0;
        let requests: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(index, pending)| {
                for budget in pending.request.spends() {
                    match budget {
                        Budget::Write => writes += 1,
                        _ => reads += 1,
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
        let mut cost = Vec::new();
        if reads > 0 {
            cost.push((Budget::Read, reads));
        }
        if writes > 0 {
            cost.push((Budget::Write, writes));
        }
        let request = Request {
            method: Method::POST,
            url: self.client.url(self.version, "/$batch"),
            body: Some(json!({ "requests": requests })),
            eventual_consistency: false,
            cost,
            describe: format!("send a batch of {} requests", items.len()),
        };
        let envelope = match self.client.send(&request, self.notify.as_ref()).await {
            Ok(envelope) => envelope,
            Err(error) => {
                for pending in items {
                    let _ = pending.reply.send(Err(error.clone()));
                }
                return Vec::new();
            }
        };
        if !envelope.is_success() {
            // The envelope itself was refused (401, 403, 400...): every sub-request gets that answer.
            for pending in items {
                let answer =
                    SubResponse { status: envelope.status, meta: envelope.meta.clone(), body: envelope.body.clone() };
                let _ = pending.reply.send(Ok(answer));
            }
            return Vec::new();
        }
        let mut answers: HashMap<String, SubResponse> = HashMap::new();
        if let Some(responses) = envelope.body["responses"].as_array() {
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
        }
        let mut retries = Vec::new();
        let mut paused = false;
        for (index, mut pending) in items.into_iter().enumerate() {
            let answer = answers.remove(&(index + 1).to_string());
            if let Some(share) = answer.as_ref().and_then(|a| a.meta.throttle_share) {
                self.client.gate.observe_share(pending.request.spends(), share, self.notify.as_ref());
            }
            let retryable = match &answer {
                Some(a) => is_retryable_status(a.status),
                None => true,
            };
            if !retryable || !self.client.retry.can_retry(pending.attempt) {
                let result = answer.ok_or_else(|| {
                    EngineError::new(
                        ErrorKind::Transient,
                        "Graph's $batch answer left this request out after every retry.",
                    )
                });
                let _ = pending.reply.send(result);
                continue;
            }
            let retry_after = answer.as_ref().and_then(|a| a.meta.retry_after);
            let status = answer.as_ref().map(|a| a.status).unwrap_or(0);
            if retry_after.is_some() || status == 429 {
                self.client.gate.throttled(pending.request.budget, retry_after, status == 429);
                if !paused {
                    paused = true;
                    self.notify.verbose(format!(
                        "Graph answered {status} inside a $batch{}; those requests will be retried.",
                        retry_after.map(|d| format!(" with Retry-After {:.0} s", d.as_secs_f64())).unwrap_or_default()
                    ));
                }
            }
            let backoff = if retry_after.is_some() { None } else { Some(self.client.retry.backoff(pending.attempt)) };
            pending.attempt += 1;
            retries.push((pending, backoff));
        }
        retries
    }
}
