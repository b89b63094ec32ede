//! The HTTP side of the pipeline: one try of one request with auth, ids and user agent, and the
//! retry loop around it for top-level requests (listing pages, `$batch` envelopes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};
use serde_json::Value;

use super::auth::{stops_the_job, Credential};
use super::retry::{is_retryable_status, is_retryable_transport, parse_retry_after, RetryOptions};
use super::throttle::{Budget, ThrottleGate};
use super::{ApiVersion, Notify};
use crate::error::{EngineError, ErrorKind};
use crate::secret::Secret;

/// Per-try timeout. Graph answers within seconds; a hung connection must not hang a cmdlet.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(100);

/// The largest answer read from Graph. A users page of 999 with every column the report selects is
/// a few MB, a sign-in logs page of 1,000 about 10; anything far larger is not an answer to use,
/// and reading it whole would only grow the admin's PowerShell process.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// What the pipeline reads from any Graph answer, top-level or inside a `$batch`.
#[derive(Debug, Clone, Default)]
pub struct ResponseMeta {
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
    pub throttle_share: Option<f64>,
}

impl ResponseMeta {
    /// Reads the meta headers through a case-insensitive lookup.
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> ResponseMeta {
        ResponseMeta {
            request_id: get("request-id").map(str::to_string),
            retry_after: get("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now())),
            throttle_share: get("x-ms-throttle-limit-percentage").and_then(|v| v.trim().parse::<f64>().ok()),
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub meta: ResponseMeta,
    pub body: Value,
    /// How long the answering try took on the wire (for the `$batch` window's latency samples).
    pub round_trip: Duration,
    /// How long the throttle gate held the request before its tries, pauses included.
    pub gate_wait: Duration,
}

/// Whether a request may be sent again after its connection broke before the answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTransportError {
    /// Reads: sending again cannot change anything.
    Retry,
    /// A `$batch` holding writes: Graph may have applied them; the caller checks before resending.
    ReturnError,
}

/// A transport failure, with whether trying again could help.
#[derive(Debug)]
struct TransportFailure {
    cause: String,
    retryable: bool,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Graph's `error.code` and `error.message`, when the body has them.
    pub fn graph_error(&self) -> (Option<String>, Option<String>) {
        graph_error(&self.body)
    }
}

pub fn graph_error(body: &Value) -> (Option<String>, Option<String>) {
    let error = &body["error"];
    (error["code"].as_str().map(str::to_string), error["message"].as_str().map(str::to_string))
}

/// Graph's `request-id`: the response header, or the error body's `innerError` (inside a
/// `$batch` the sub-response often has only the latter).
pub fn request_id(meta: &ResponseMeta, body: &Value) -> Option<String> {
    meta.request_id.clone().or_else(|| body["error"]["innerError"]["request-id"].as_str().map(str::to_string))
}

/// A request as the pipeline sends it.
pub struct Request {
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
    /// `ConsistencyLevel: eventual` for advanced queries.
    pub eventual_consistency: bool,
    /// Units this request costs per budget, for the throttle gate.
    pub cost: Vec<(Budget, u32)>,
    /// Used in messages: what the request is for.
    pub describe: String,
}

pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
    credential: Credential,
    pub gate: ThrottleGate,
    pub retry: RetryOptions,
    /// The largest answer read ([`MAX_BODY_BYTES`]; smaller in tests).
    pub max_body: usize,
    /// The round trip of the latest answer, in microseconds (0: none yet); the first guess of a
    /// `$batch` window ([`super::window::InFlightWindow::seed`]).
    latest_round_trip: AtomicU64,
}

impl GraphClient {
    pub fn new(base: Url, credential: Credential, user_agent: &str) -> Result<GraphClient, EngineError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(user_agent).unwrap_or_else(|_| HeaderValue::from_static("PerUserMfa")),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(20))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EngineError::internal(format!("Could not create the HTTP client: {e}")))?;
        Ok(GraphClient {
            http,
            base,
            credential,
            gate: ThrottleGate::new(),
            retry: RetryOptions::default(),
            max_body: MAX_BODY_BYTES,
            latest_round_trip: AtomicU64::new(0),
        })
    }

    /// An absolute URL for a path relative to an API version (`/users?...`).
    pub fn url(&self, version: ApiVersion, path: &str) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        format!("{base}/{}{path}", version.segment())
    }

    /// True when `link` (an `@odata.nextLink`) points at the endpoint this session trusts. The
    /// token is only ever sent there.
    pub fn is_own_origin(&self, link: &str) -> bool {
        match Url::parse(link) {
            Ok(url) => url.origin() == self.base.origin(),
            Err(_) => false,
        }
    }

    /// The round trip of the latest answer Graph gave this connection (None before the first).
    pub fn latest_round_trip(&self) -> Option<Duration> {
        match self.latest_round_trip.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// The connection's credential (token cache, refresh).
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// One try with `token`: ids and body (at most `max_body` bytes); no retry. `Err` is a
    /// transport failure or an answer too large to read.
    async fn try_once(
        &self,
        request: &Request,
        headers: &[(&'static str, &'static str)],
        token: &Secret,
    ) -> Result<Response, TransportFailure> {
        let started = Instant::now();
        let mut builder = self
            .http
            .request(request.method.clone(), &request.url)
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .header("client-request-id", uuid::Uuid::new_v4().to_string());
        for &(name, value) in headers {
            builder = builder.header(name, value);
        }
        if request.eventual_consistency {
            builder = builder.header("ConsistencyLevel", "eventual");
        }
        if let Some(body) = &request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let transport = |error: reqwest::Error| TransportFailure {
            retryable: is_retryable_transport(&error),
            cause: describe_transport(&error),
        };
        let mut response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let meta = ResponseMeta::from_lookup(|name| headers.get(name).and_then(|v| v.to_str().ok()));
        let too_large = || TransportFailure {
            cause: format!("Graph's answer was larger than {} bytes, so it was not read", self.max_body),
            retryable: false,
        };
        if response.content_length().is_some_and(|length| length > self.max_body as u64) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        let round_trip = started.elapsed();
        self.latest_round_trip.store((round_trip.as_micros() as u64).max(1), Ordering::Relaxed);
        Ok(Response { status, meta, body, round_trip, gate_wait: Duration::ZERO })
    }

    /// Sends with the shared gate and the retry policy. Non-success answers that are not retried
    /// (or ran out of retries) come back as `Ok` for the caller to map with its own context;
    /// `Err` means Graph could not be reached.
    ///
    /// A 401 with a credential that can get new tokens triggers one refresh and one more try
    /// (not counted as a retry); a static token's 401 comes back to the caller.
    pub async fn send(&self, request: &Request, notify: &dyn Notify) -> Result<Response, EngineError> {
        self.send_with(request, notify, OnTransportError::Retry).await
    }

    /// [`GraphClient::send`] with extra request headers (e.g. `Prefer`), on every try.
    pub async fn send_with_headers(
        &self,
        request: &Request,
        headers: &[(&'static str, &'static str)],
        notify: &dyn Notify,
    ) -> Result<Response, EngineError> {
        self.send_inner(request, headers, notify, OnTransportError::Retry).await
    }

    /// [`GraphClient::send`], saying whether a broken connection may be retried here.
    pub async fn send_with(
        &self,
        request: &Request,
        notify: &dyn Notify,
        on_transport_error: OnTransportError,
    ) -> Result<Response, EngineError> {
        self.send_inner(request, &[], notify, on_transport_error).await
    }

    async fn send_inner(
        &self,
        request: &Request,
        headers: &[(&'static str, &'static str)],
        notify: &dyn Notify,
        on_transport_error: OnTransportError,
    ) -> Result<Response, EngineError> {
        let mut attempt = 1;
        let mut refreshed = false;
        let mut waited = Duration::ZERO;
        let mut gate_wait = Duration::ZERO;
        loop {
            let admitting = Instant::now();
            for &(budget, units) in &request.cost {
                self.gate.admit(budget, units, notify).await;
            }
            gate_wait += admitting.elapsed();
            let primary = request.cost.first().map(|c| c.0).unwrap_or(Budget::Read);
            let token = self.credential.bearer().await.map_err(stops_the_job)?;
            match self.try_once(request, headers, &token).await {
                Ok(response) if response.status == 401 && !refreshed && self.credential.can_refresh() => {
                    refreshed = true;
                    notify.verbose(format!(
                        "Graph answered 401 to {}; getting a new token and trying once more.",
                        request.describe
                    ));
                    self.credential.refresh_after_rejection(&token).await.map_err(stops_the_job)?;
                    continue;
                }
                Ok(mut response) => {
                    response.gate_wait = gate_wait;
                    if let Some(share) = response.meta.throttle_share {
                        let spent: Vec<Budget> = request.cost.iter().map(|c| c.0).collect();
                        self.gate.observe_share(&spent, share, notify);
                    }
                    if !is_retryable_status(response.status) {
                        self.gate.answered(primary);
                        return Ok(response);
                    }
                    let retry_after = response.meta.retry_after;
                    if retry_after.is_some() || response.status == 429 {
                        self.gate.throttled(primary, retry_after, response.status == 429, notify);
                    }
                    let Some(wait) = self.retry.next_wait(attempt, retry_after, waited) else {
                        return Ok(response);
                    };
                    notify.verbose(format!(
                        "Graph answered {} to {}; retrying in {:.1} s{} (attempt {} of {}).",
                        response.status,
                        request.describe,
                        wait.as_secs_f64(),
                        match retry_after {
                            Some(d) => format!(", after its {:.1} s Retry-After", d.as_secs_f64()),
                            None => String::new(),
                        },
                        attempt + 1,
                        self.retry.max_attempts
                    ));
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
                Err(TransportFailure { cause, retryable }) => {
                    let host = self.base.host_str().unwrap_or("?");
                    let wait = match (retryable, on_transport_error) {
                        (true, OnTransportError::Retry) => self.retry.next_wait(attempt, None, waited),
                        _ => None,
                    };
                    let Some(wait) = wait else {
                        let tries = if attempt == 1 { String::new() } else { format!(" after {attempt} attempts") };
                        return Err(EngineError::new(
                            if retryable { ErrorKind::Transient } else { ErrorKind::GraphError },
                            format!(
                                "Could not reach Microsoft Graph at {host} to {}{tries}: {cause}.",
                                request.describe
                            ),
                        ));
                    };
                    notify.verbose(format!(
                        "Request to {} failed ({cause}); retrying in {:.1} s (attempt {} of {}).",
                        request.describe,
                        wait.as_secs_f64(),
                        attempt + 1,
                        self.retry.max_attempts
                    ));
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
            }
            attempt += 1;
        }
    }
}

/// A transport error in words, without the URL's query or any header.
pub fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_builder() {
        // Never the header's value: it may hold the token.
        "the request could not be built (a malformed token or endpoint)".to_string()
    } else if error.is_timeout() {
        "the request timed out".to_string()
    } else if error.is_connect() {
        "the connection could not be made".to_string()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            text = format!("{text}: {inner}");
            source = inner.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::graph::throttle::tests::Quiet;

    /// A server on loopback that answers every request with `head` and then `body_len` bytes of
    /// JSON string content, and counts the requests.
    async fn answering(head: &'static str, body_len: usize) -> (Url, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let served = count.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request).await;
                    let _ = stream.write_all(head.as_bytes()).await;
                    let chunk = vec![b'a'; 64 * 1024];
                    let mut left = body_len;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if stream.write_all(&chunk[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                });
            }
        });
        (url, count)
    }

    fn client(base: Url, max_body: usize) -> GraphClient {
        let credential = Credential::access_token(Secret::new("a.b.c".to_string())).unwrap();
        let mut client = GraphClient::new(base, credential, "PerUserMfa-tests").unwrap();
        client.max_body = max_body;
        client
    }

    fn get(client: &GraphClient) -> Request {
        Request {
            method: Method::GET,
            url: client.url(ApiVersion::V1, "/users"),
            body: None,
            eventual_consistency: false,
            cost: vec![(Budget::Read, 1)],
            describe: "list users".to_string(),
        }
    }

    #[tokio::test]
    async fn an_answer_larger_than_the_cap_is_not_read_and_not_retried() {
        // No Content-Length: the cap must hold while reading, not only on the header.
        let (base, count) =
            answering("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", 4 << 20).await;
        let client = client(base, 1 << 20);
        let error = client.send(&get(&client), &Quiet(1)).await.unwrap_err();
        assert!(error.message.contains("larger than 1048576 bytes"), "{}", error.message);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1, "not retried");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_reading() {
        let (base, _) = answering("HTTP/1.1 200 OK\r\nContent-Length: 900000000\r\n\r\n", 1024).await;
        let client = client(base, 1 << 20);
        let error = client.send(&get(&client), &Quiet(1)).await.unwrap_err();
        assert!(error.message.contains("larger than"), "{}", error.message);
    }

    #[tokio::test]
    async fn an_answer_under_the_cap_is_read() {
        let (base, _) = answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0).await;
        let client = client(base, 1 << 20);
        let response = client.send(&get(&client), &Quiet(1)).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, serde_json::json!({}));
    }
}
