//! The HTTP side of the pipeline: one try of one request with auth, ids and user agent, and the
//! retry loop around it for top-level requests (listing pages, `$batch` envelopes).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};
use serde_json::Value;

use super::auth::{stops_the_job, Credential};
use super::retry::{is_retryable_status, parse_retry_after, RetryOptions};
use super::throttle::{Budget, ThrottleGate};
use super::{ApiVersion, Notify};
use crate::error::{EngineError, ErrorKind};
use crate::secret::Secret;

/// Per-try timeout. Graph answers within seconds; a hung connection must not hang a cmdlet.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(100);

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
        Ok(GraphClient { http, base, credential, gate: ThrottleGate::new(), retry: RetryOptions::default() })
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

    /// The connection's credential (token cache, refresh).
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// One try with `token`: ids and body; no retry. `Err` is a transport failure.
    async fn try_once(&self, request: &Request, token: &Secret) -> Result<Response, reqwest::Error> {
        let mut builder = self
            .http
            .request(request.method.clone(), &request.url)
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .header("client-request-id", uuid::Uuid::new_v4().to_string());
        if request.eventual_consistency {
            builder = builder.header("ConsistencyLevel", "eventual");
        }
        if let Some(body) = &request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let meta = ResponseMeta::from_lookup(|name| headers.get(name).and_then(|v| v.to_str().ok()));
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok(Response { status, meta, body })
    }

    /// Sends with the shared gate and the retry policy. Non-success answers that are not retried
    /// (or ran out of retries) come back as `Ok` for the caller to map with its own context;
    /// `Err` means Graph could not be reached.
    ///
    /// A 401 with a credential that can get new tokens triggers one refresh and one more try
    /// (not counted as a retry); a static token's 401 comes back to the caller.
    pub async fn send(&self, request: &Request, notify: &dyn Notify) -> Result<Response, EngineError> {
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            for &(budget, units) in &request.cost {
                self.gate.admit(budget, units, notify).await;
            }
            let primary = request.cost.first().map(|c| c.0).unwrap_or(Budget::Read);
            let token = self.credential.bearer().await.map_err(stops_the_job)?;
            match self.try_once(request, &token).await {
                Ok(response) if response.status == 401 && !refreshed && self.credential.can_refresh() => {
                    refreshed = true;
                    notify.verbose(format!(
                        "Graph answered 401 to {}; getting a new token and trying once more.",
                        request.describe
                    ));
                    self.credential.refresh_after_rejection(&token).await.map_err(stops_the_job)?;
                    continue;
                }
                Ok(response) => {
                    if let Some(share) = response.meta.throttle_share {
                        let spent: Vec<Budget> = request.cost.iter().map(|c| c.0).collect();
                        self.gate.observe_share(&spent, share, notify);
                    }
                    if !is_retryable_status(response.status) || !self.retry.can_retry(attempt) {
                        return Ok(response);
                    }
                    let retry_after = response.meta.retry_after;
                    if retry_after.is_some() || response.status == 429 {
                        self.gate.throttled(primary, retry_after, response.status == 429);
                    }
                    let wait = if retry_after.is_some() { Duration::ZERO } else { self.retry.backoff(attempt) };
                    notify.verbose(format!(
                        "Graph answered {} to {}; retrying{} (attempt {} of {}).",
                        response.status,
                        request.describe,
                        match retry_after {
                            Some(d) => format!(" after the {:.1} s Retry-After", d.as_secs_f64()),
                            None => format!(" in {:.1} s", wait.as_secs_f64()),
                        },
                        attempt + 1,
                        self.retry.max_attempts
                    ));
                    tokio::time::sleep(wait).await;
                }
                Err(error) => {
                    let cause = describe_transport(&error);
                    if !self.retry.can_retry(attempt) {
                        return Err(EngineError::new(
                            ErrorKind::Transient,
                            format!(
                                "Could not reach Microsoft Graph at {} to {} after {} attempts: {cause}.",
                                self.base.host_str().unwrap_or("?"),
                                request.describe,
                                attempt
                            ),
                        ));
                    }
                    let wait = self.retry.backoff(attempt);
                    notify.verbose(format!(
                        "Request to {} failed ({cause}); retrying in {:.1} s (attempt {} of {}).",
                        request.describe,
                        wait.as_secs_f64(),
                        attempt + 1,
                        self.retry.max_attempts
                    ));
                    tokio::time::sleep(wait).await;
                }
            }
            attempt += 1;
        }
    }
}

/// A transport error in words, without the URL's query or any header.
pub fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
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
