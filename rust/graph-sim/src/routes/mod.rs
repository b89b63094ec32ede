//! HTTP routing. `/_sim/*` goes to [`admin`]; everything else is a Graph request, handled by
//! [`graph_entry`] for top-level HTTP requests and by [`process`] for the request logic itself,
//! which `$batch` sub-requests go through too (same auth, permissions, throttling, faults).

pub mod admin;
pub mod batch;
pub mod methods;
pub mod paging;
pub mod reports;
pub mod requirements;
pub mod signins;
pub mod users;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use tokio::sync::Notify;

use crate::auth::AuthError;
use crate::config::ThrottleMode;
use crate::faults::{self, Fault};
use crate::odata::{error_body, GraphError, QueryOptions};
use crate::report_throttle::ReportBudget;
use crate::stats::bump;
use crate::throttle::{limit_percentage, Admission, Cost, Family};
use crate::SimState;

/// Graph API versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    Beta,
}

impl ApiVersion {
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }

    fn parse(segment: &str) -> Option<ApiVersion> {
        if segment.eq_ignore_ascii_case("v1.0") {
            Some(ApiVersion::V1)
        } else if segment.eq_ignore_ascii_case("beta") {
            Some(ApiVersion::Beta)
        } else {
            None
        }
    }
}

/// One Graph request, top-level or from a `$batch`.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: Method,
    pub version: ApiVersion,
    /// The path after the version, still percent-encoded (`/users/a%40b/...`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `http://host:port`, for absolute `@odata.nextLink`s.
    pub base_url: String,
}

impl GraphRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A Graph answer before it becomes HTTP (or a `$batch` sub-response).
#[derive(Debug, Clone)]
pub struct GraphResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl GraphResponse {
    pub fn json(status: u16, body: Value) -> Self {
        GraphResponse { status, headers: Vec::new(), body: Some(body) }
    }

    pub fn no_content() -> Self {
        GraphResponse { status: 204, headers: Vec::new(), body: None }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// The request ids every answer carries.
#[derive(Debug, Clone)]
pub struct Ids {
    pub request_id: String,
    pub client_request_id: String,
}

impl Ids {
    pub fn for_headers(headers: &HeaderMap) -> Ids {
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ids { request_id: uuid::Uuid::new_v4().to_string(), client_request_id }
    }

    pub fn error(&self, error: &GraphError) -> GraphResponse {
        GraphResponse::json(
            error.status,
            error_body(error.code, &error.message, &self.request_id, &self.client_request_id),
        )
    }

    pub(crate) fn unauthorized(&self, error: AuthError) -> GraphResponse {
        self.error(&GraphError::new(401, "InvalidAuthenticationToken", error.message())).with_header(
            "WWW-Authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", \
             client_id=\"00000003-0000-0000-c000-000000000000\"",
        )
    }

    pub(crate) fn fault(&self, fault: Fault) -> GraphResponse {
        match fault {
            Fault::ServiceUnavailable { retry_after } => {
                let response = self.error(&GraphError::new(
                    503,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable. Please retry later.",
                ));
                if retry_after {
                    response.with_header("Retry-After", "1")
                } else {
                    response
                }
            }
            Fault::GatewayTimeout => self.error(&GraphError::new(
                504,
                "gatewayTimeout",
                "The gateway did not receive a timely response from the upstream service.",
            )),
        }
    }
}

/// Where a Graph path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ListUsers,
    /// A user by object id or UPN (percent-decoded).
    User(String),
    /// `/users/{id|upn}/authentication/requirements` (beta only).
    Requirements(String),
    Batch,
    /// `/reports/authenticationMethods/userRegistrationDetails`.
    RegistrationDetails,
    /// `/auditLogs/signIns`.
    SignIns,
    /// `/users/{id|upn}/authentication/methods`.
    Methods(String),
}

impl Route {
    pub fn parse(version: ApiVersion, path: &str) -> Result<Route, GraphError> {
        let mut segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if segments.len() > 1 && segments.last() == Some(&"") {
            segments.pop();
        }
        let first = segments.first().copied().unwrap_or("");
        if first.is_empty() {
            return Err(GraphError::bad_request("Invalid request: the URL has no resource segment."));
        }
        if decode_segment(first)?.eq_ignore_ascii_case("$batch") && segments.len() == 1 {
            return Ok(Route::Batch);
        }
        let decoded: Vec<String> = segments.iter().map(|s| decode_segment(s)).collect::<Result<_, _>>()?;
        let is = |i: usize, name: &str| decoded.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
        if is(0, "reports") {
            if decoded.len() == 3 && is(1, "authenticationMethods") && is(2, "userRegistrationDetails") {
                return Ok(Route::RegistrationDetails);
            }
            return Err(GraphError::segment_not_found(decoded.last().map(String::as_str).unwrap_or("reports")));
        }
        if is(0, "auditLogs") {
            if decoded.len() == 2 && is(1, "signIns") {
                return Ok(Route::SignIns);
            }
            return Err(GraphError::segment_not_found(decoded.last().map(String::as_str).unwrap_or("auditLogs")));
        }
        if decoded.len() == 4 && is(0, "users") && is(2, "authentication") && is(3, "methods") {
            return Ok(Route::Methods(decode_user(segments[1])?));
        }
        if !first.eq_ignore_ascii_case("users") {
            return Err(GraphError::segment_not_found(&decode_segment(first)?));
        }
        match segments.len() {
            1 => Ok(Route::ListUsers),
            2 => Ok(Route::User(decode_user(segments[1])?)),
            _ => {
                let user = decode_user(segments[1])?;
                let third = decode_segment(segments[2])?;
                if !third.eq_ignore_ascii_case("authentication") {
                    return Err(GraphError::segment_not_found(&third));
                }
                let Some(fourth) = segments.get(3) else {
                    return Err(GraphError::segment_not_found(&third));
                };
                let fourth = decode_segment(fourth)?;
                if !fourth.eq_ignore_ascii_case("requirements") || version == ApiVersion::V1 {
                    return Err(GraphError::segment_not_found(&fourth));
                }
                if let Some(extra) = segments.get(4) {
                    return Err(GraphError::segment_not_found(&decode_segment(extra)?));
                }
                Ok(Route::Requirements(user))
            }
        }
    }

    /// The index of the route's name in `config::ROUTE_NAMES` (per-route server times).
    pub fn timing_index(&self) -> usize {
        match self {
            Route::ListUsers => 0,
            Route::User(_) => 1,
            Route::Requirements(_) => 2,
            Route::Batch => 3,
            Route::RegistrationDetails => 4,
            Route::SignIns => 5,
            Route::Methods(_) => 6,
        }
    }

    /// The report budget this request counts against (`report_throttle.rs`), if any.
    fn report_budget(&self, query: &QueryOptions, runtime: &crate::config::RuntimeConfig) -> Option<ReportBudget> {
        match self {
            Route::RegistrationDetails => Some(ReportBudget::Reports),
            Route::SignIns => Some(ReportBudget::SignInLogs),
            Route::Methods(_) => runtime.methods_budget.map(|limit| ReportBudget::Methods(limit as usize)),
            Route::ListUsers | Route::User(_)
                if query.select.as_deref().is_some_and(|s| s.to_ascii_lowercase().contains("signinactivity")) =>
            {
                Some(ReportBudget::SignInActivity)
            }
            _ => None,
        }
    }

    /// Resource units and writes this request costs (Graph's identity cost table).
    fn cost(&self, method: &Method, query: &QueryOptions) -> Cost {
        let writes = if matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE) { 1 } else { 0 };
        let base: i32 = match self {
            Route::ListUsers if *method == Method::GET => 2,
            _ => 1,
        };
        let mut units = base;
        if query.select.is_some() {
            units -= 1;
        }
        if query.top.as_deref().and_then(|t| t.trim().parse::<i64>().ok()).is_some_and(|t| t < 20) {
            units -= 1;
        }
        Cost { resource_units: units.max(1) as u32, writes }
    }
}

fn decode_segment(raw: &str) -> Result<String, GraphError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| GraphError::bad_request("The request URL is not valid UTF-8 after percent-decoding."))
}

fn decode_user(raw: &str) -> Result<String, GraphError> {
    let decoded = decode_segment(raw)?;
    if decoded.is_empty() {
        return Err(GraphError::bad_request("Invalid object identifier ''."));
    }
    Ok(decoded)
}

/// When a top-level request reached the server, and how long its answer still takes to reach the
/// client after processing (the simulated latency). Batch sub-requests share their envelope's.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub arrived: Instant,
    pub delivery: Duration,
}

/// Handles one Graph request (top-level or a `$batch` sub-request, never a `$batch` envelope):
/// auth, route, faults, throttling, then the resource handler.
pub async fn process(sim: &SimState, request: &GraphRequest, ids: &Ids, timing: Timing) -> GraphResponse {
    let principal = match sim.authority.validate(request.header("authorization")) {
        Ok(principal) => principal,
        Err(error) => return ids.unauthorized(error),
    };
    if let Some(answer) = crate::ca::routes::handle(sim, request, &principal) {
        return answer.unwrap_or_else(|error| ids.error(&error));
    }
    let route = match Route::parse(request.version, &request.path) {
        Ok(Route::Batch) => {
            return ids.error(&GraphError::bad_request("A $batch request cannot contain another $batch request."))
        }
        Ok(route) => route,
        Err(error) => return ids.error(&error),
    };
    let allowed = matches!(
        (&route, &request.method),
        (Route::ListUsers | Route::User(_), &Method::GET)
            | (Route::Requirements(_), &Method::GET | &Method::PATCH)
            | (Route::RegistrationDetails | Route::SignIns | Route::Methods(_), &Method::GET)
    );
    if !allowed {
        return ids.error(&GraphError::method_not_allowed());
    }
    let query = match QueryOptions::parse(request.query.as_deref()) {
        Ok(query) => query,
        Err(error) => return ids.error(&error),
    };
    let runtime = sim.runtime();
    let report_budget = route.report_budget(&query, &runtime);
    match report_budget {
        Some(ReportBudget::Reports) => bump(&sim.stats.registration_requests),
        Some(ReportBudget::SignInLogs) => bump(&sim.stats.sign_in_log_requests),
        Some(ReportBudget::SignInActivity) => bump(&sim.stats.sign_in_activity_requests),
        Some(ReportBudget::Methods(_)) | None => {}
    }
    let now = Instant::now();
    let is_write = request.method != Method::GET;
    // The family a Retry-After on this request pauses, and the ones whose pause it must respect.
    let family = match (report_budget, is_write) {
        (Some(budget), _) => budget.family(),
        (None, true) => Family::Write,
        (None, false) => Family::Read,
    };
    let respects: &[Family] = if is_write { &[Family::Write, Family::Read] } else { std::slice::from_ref(&family) };
    if sim.throttle.arrived_during_retry_after(&principal.app_id, respects, timing.arrived) {
        bump(&sim.stats.sent_during_retry_after);
    }
    if let Some(fault) = faults::roll(&runtime) {
        match fault {
            Fault::ServiceUnavailable { retry_after } => {
                bump(&sim.stats.faults_503);
                if retry_after {
                    sim.throttle.note_retry_after(&principal.app_id, family, now, timing.delivery, 1);
                }
            }
            Fault::GatewayTimeout => bump(&sim.stats.faults_504),
        }
        return ids.fault(fault);
    }
    let cost = route.cost(&request.method, &query);
    let mut share = None;
    if runtime.throttle == ThrottleMode::Auto {
        if let Some(budget) = report_budget {
            if let Err(retry_after_secs) = sim.report_throttle.admit(&principal.app_id, budget, now) {
                bump(&sim.stats.throttled_429);
                sim.throttle.note_retry_after(&principal.app_id, family, now, timing.delivery, retry_after_secs);
                return ids
                    .error(&GraphError::new(429, "TooManyRequests", "Too many requests"))
                    .with_header("Retry-After", retry_after_secs.to_string())
                    .with_header("x-ms-throttle-information", budget.information());
            }
        }
    }
    if runtime.throttle == ThrottleMode::Auto {
        let read_limit = runtime.effective_read_budget(sim.config.users);
        let write_limit = runtime.effective_write_budget();
        match sim.throttle.admit(&principal.app_id, now, cost, read_limit, write_limit, runtime.other_client_units) {
            Admission::Allowed { share: s } => share = Some(s),
            Admission::Throttled { retry_after_secs, share, write_limit } => {
                bump(&sim.stats.throttled_429);
                let paused = if write_limit { Family::Write } else { Family::Read };
                sim.throttle.note_retry_after(&principal.app_id, paused, now, timing.delivery, retry_after_secs);
                let limit = if write_limit { "Write" } else { "ReadWrite" };
                let mut response = ids
                    .error(&GraphError::new(429, "TooManyRequests", "Too many requests"))
                    .with_header("Retry-After", retry_after_secs.to_string())
                    .with_header(
                        "x-ms-throttle-scope",
                        format!("Tenant_Application/{limit}/{}/{}", principal.app_id, sim.authority.tenant_id()),
                    )
                    .with_header(
                        "x-ms-throttle-information",
                        if write_limit { "WriteLimitExceeded" } else { "ResourceUnitLimitExceeded" },
                    );
                if let Some(pct) = limit_percentage(share) {
                    response = response.with_header("x-ms-throttle-limit-percentage", pct);
                }
                return response;
            }
        }
    }
    let result = match &route {
        Route::ListUsers => users::list(sim, request, &principal, &query).await,
        Route::User(key) => users::get(sim, request, &principal, &query, key),
        Route::Requirements(key) if request.method == Method::GET => requirements::get(sim, request, &principal, key),
        Route::Requirements(key) => requirements::patch(sim, request, &principal, key),
        Route::RegistrationDetails => reports::registration_details(sim, request, &principal, &query),
        Route::SignIns => signins::list(sim, request, &principal, &query),
        Route::Methods(key) => methods::list(sim, request, &principal, key),
        Route::Batch => unreachable!("handled above"),
    };
    let mut response = match result {
        Ok(response) => response,
        Err(error) => ids.error(&error),
    };
    response = response.with_header("x-ms-resource-unit", cost.resource_units.to_string());
    if let Some(pct) = share.and_then(limit_percentage) {
        response = response.with_header("x-ms-throttle-limit-percentage", pct);
    }
    response
}

/// Marker extension: lets a handler abort its connection (for `--drop-rate`).
#[derive(Clone)]
pub struct ConnKill(pub Arc<Notify>);

/// The axum router: `/_sim/*` plus the Graph fallback.
pub fn router(sim: Arc<SimState>) -> Router {
    Router::new()
        .route("/_sim/token", post(admin::token))
        .route("/_sim/users", get(admin::users))
        .route("/_sim/stats", get(admin::stats))
        .route("/_sim/stats/reset", post(admin::reset_stats))
        .route("/_sim/config", get(admin::get_config).post(admin::post_config))
        .route("/_sim/reset", post(admin::reset))
        .route("/_sim/scenario", get(admin::get_scenario).post(admin::post_scenario))
        .route("/_sim/shutdown", post(admin::shutdown))
        .route("/_sim/apps", get(crate::entra::get_apps).post(crate::entra::post_app))
        .route("/_sim/identity", get(crate::entra::get_identity).post(crate::entra::post_identity))
        .route("/_sim/tokens", get(crate::entra::get_tokens))
        .route("/_sim/tokens/revoke", post(crate::entra::revoke_tokens))
        .route("/{tenant}/oauth2/v2.0/token", post(crate::entra::token))
        .route("/msi/token", get(crate::entra::msi_get).post(crate::entra::msi_post))
        .route("/metadata/identity/oauth2/token", get(crate::entra::imds))
        .route("/_sim", any(admin::not_found))
        .route("/_sim/{*rest}", any(admin::not_found))
        .fallback(graph_entry)
        .with_state(sim)
}

const JSON_ODATA: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const AGS_DIAGNOSTIC: &str =
    r#"{"ServerInfo":{"DataCenter":"Loopback","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"graph-sim"}}"#;

/// Every top-level Graph HTTP request: latency, request counting, the drop fault, then
/// [`process`] (or the `$batch` envelope).
async fn graph_entry(State(sim): State<Arc<SimState>>, request: Request) -> Response {
    let arrived = Instant::now();
    let _in_flight = sim.stats.enter();
    bump(&sim.stats.requests);
    let runtime = sim.runtime();
    let (before, after) = faults::latency(&runtime);
    if !before.is_zero() {
        tokio::time::sleep(before).await;
    }
    let kill = request.extensions().get::<ConnKill>().cloned();
    let (parts, body) = request.into_parts();
    let ids = Ids::for_headers(&parts.headers);
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let response = ids.error(&GraphError::bad_request("The request body could not be read."));
            return into_http(response, &ids);
        }
    };
    let raw_path = parts.uri.path();
    let rest = raw_path.trim_start_matches('/');
    let (version_segment, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| sim.addr.get().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".into());
    let response = match ApiVersion::parse(version_segment) {
        None => ids.error(&GraphError::bad_request(format!("Invalid version: {version_segment}"))),
        Some(version) => {
            let graph_request = GraphRequest {
                method: parts.method.clone(),
                version,
                path: path.to_owned(),
                query: parts.uri.query().map(str::to_owned),
                headers: parts.headers.clone(),
                body,
                base_url: format!("http://{host}"),
            };
            let route = Route::parse(version, path);
            if matches!(route, Ok(Route::Batch)) {
                // The envelope adds its own server time: its overhead and its slowest request.
                batch::envelope(&sim, &graph_request, &ids, Timing { arrived, delivery: after }).await
            } else {
                // Answered at once, delivered after the server time and the way back.
                let server = route.map(|r| faults::server_time(&runtime, r.timing_index())).unwrap_or_default();
                let response = process(&sim, &graph_request, &ids, Timing { arrived, delivery: server + after }).await;
                if !server.is_zero() {
                    tokio::time::sleep(server).await;
                }
                response
            }
        }
    };
    if !after.is_zero() {
        tokio::time::sleep(after).await;
    }
    if faults::roll_drop(&runtime) {
        bump(&sim.stats.dropped);
        drop(_in_flight);
        return match kill {
            Some(ConnKill(notify)) => {
                // The connection task closes the socket; this response is never sent.
                notify.notify_one();
                std::future::pending::<Response>().await
            }
            None => broken_response(),
        };
    }
    into_http(response, &ids)
}

/// A response whose body fails after the first bytes, for servers without [`ConnKill`].
fn broken_response() -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(Bytes::from_static(b"{\"")), Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "dropped"))];
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// Turns a [`GraphResponse`] into HTTP with Graph's standard headers.
fn into_http(response: GraphResponse, ids: &Ids) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut http = match &response.body {
        Some(body) => {
            let bytes = serde_json::to_vec(body).unwrap_or_default();
            let mut http = Response::new(Body::from(bytes));
            let content_type = if response.status < 300 { JSON_ODATA } else { "application/json" };
            http.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
            if response.status < 300 {
                http.headers_mut().insert("odata-version", HeaderValue::from_static("4.0"));
            }
            http
        }
        None => Response::new(Body::empty()),
    };
    *http.status_mut() = status;
    let headers = http.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&ids.request_id) {
        headers.insert("request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&ids.client_request_id) {
        headers.insert("client-request-id", value);
    }
    headers.insert("x-ms-ags-diagnostic", HeaderValue::from_static(AGS_DIAGNOSTIC));
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            headers.insert(name, value);
        }
    }
    http
}

/// JSON helper for the `/_sim` routes.
pub fn plain_json(status: StatusCode, body: &Value) -> Response {
    (status, [("content-type", "application/json")], serde_json::to_vec(body).unwrap_or_default()).into_response()
}
