//! `POST /{version}/$batch`: JSON batching. Each sub-request goes through [`process`] exactly like
//! a top-level request (same token, permissions, throttling, faults), and the answers come back in
//! shuffled order.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use rand::seq::SliceRandom;
use serde_json::{json, Map, Value};

use crate::faults::{self, Fault};
use crate::odata::GraphError;
use crate::routes::{process, GraphRequest, GraphResponse, Ids, Route, Timing};
use crate::stats::bump;
use crate::throttle::Family;
use crate::SimState;

/// Graph's limit on requests in one batch.
pub const MAX_REQUESTS: usize = 20;

struct SubRequest {
    id: String,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Option<Bytes>,
    depends_on: Vec<String>,
}

fn invalid(message: impl Into<String>) -> GraphError {
    GraphError::bad_request(message)
}

fn parse_envelope(body: &[u8]) -> Result<Vec<SubRequest>, GraphError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("Invalid batch payload format."))?;
    let requests = value
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("Invalid batch payload format: a 'requests' array is required."))?;
    if requests.len() > MAX_REQUESTS {
        return Err(invalid(format!(
            "Invalid batch payload format: the batch has {} requests; at most {MAX_REQUESTS} are allowed.",
            requests.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(requests.len());
    for entry in requests {
        let object = entry.as_object().ok_or_else(|| invalid("Invalid batch payload format."))?;
        let id = match object.get("id") {
            Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
            _ => return Err(invalid("Invalid batch payload format: every request needs a string 'id'.")),
        };
        if !seen.insert(id.clone()) {
            return Err(invalid(format!(
                "Invalid batch payload format: the request id '{id}' is used more than once."
            )));
        }
        let method = match object.get("method").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
            Some("GET") => Method::GET,
            Some("POST") => Method::POST,
            Some("PATCH") => Method::PATCH,
            Some("PUT") => Method::PUT,
            Some("DELETE") => Method::DELETE,
            _ => return Err(invalid(format!("Invalid batch payload format: request '{id}' has no valid 'method'."))),
        };
        let url = match object.get("url").and_then(Value::as_str) {
            Some(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => return Err(invalid(format!("Invalid batch payload format: request '{id}' has no 'url'."))),
        };
        let mut headers = HeaderMap::new();
        if let Some(given) = object.get("headers") {
            let given = given
                .as_object()
                .ok_or_else(|| invalid("Invalid batch payload format: 'headers' must be an object."))?;
            for (name, value) in given {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&text)) {
                    headers.insert(name, value);
                }
            }
        }
        let body = match object.get("body") {
            None | Some(Value::Null) => None,
            Some(body) => Some(Bytes::from(serde_json::to_vec(body).unwrap_or_default())),
        };
        let is_write = matches!(method, Method::POST | Method::PATCH | Method::PUT);
        if is_write && (body.is_none() || !headers.contains_key("content-type")) {
            return Err(invalid(format!("Write request id : {id} does not contain Content-Type header or body.")));
        }
        let depends_on = match object.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(_) => return Err(invalid("Invalid batch payload format: 'dependsOn' must be an array of ids.")),
        };
        out.push(SubRequest { id, method, url, headers, body, depends_on });
    }
    for request in &out {
        for dependency in &request.depends_on {
            if dependency == &request.id || !seen.contains(dependency) {
                return Err(invalid(format!(
                    "Invalid batch payload format: request '{}' depends on unknown request '{dependency}'.",
                    request.id
                )));
            }
        }
    }
    Ok(out)
}

/// Builds the sub-request as a [`GraphRequest`], or the error it answers with.
fn to_graph_request(envelope: &GraphRequest, sub: &SubRequest) -> Result<GraphRequest, GraphError> {
    if sub.url.contains("://") {
        return Err(GraphError::bad_request(
            "Invalid request URL: the url of a request in a batch must be relative to the version, like '/users'.",
        ));
    }
    // A URL parser drops a fragment: an unencoded '#' (as in '#EXT#') cuts the path short.
    let without_fragment = sub.url.split('#').next().unwrap_or("");
    let (path, query) = match without_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (without_fragment, None),
    };
    let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    let mut headers = sub.headers.clone();
    headers.remove("authorization");
    if let Some(auth) = envelope.headers.get("authorization") {
        headers.insert("authorization", auth.clone());
    }
    if let Some(host) = envelope.headers.get("host") {
        headers.insert("host", host.clone());
    }
    Ok(GraphRequest {
        method: sub.method.clone(),
        version: envelope.version,
        path,
        query,
        headers,
        body: sub.body.clone().unwrap_or_default(),
        base_url: envelope.base_url.clone(),
    })
}

async fn run_one(sim: &SimState, envelope: &GraphRequest, sub: &SubRequest, timing: Timing) -> GraphResponse {
    bump(&sim.stats.sub_requests);
    let ids = Ids::for_headers(&sub.headers);
    match to_graph_request(envelope, sub) {
        Ok(request) => process(sim, &request, &ids, timing).await,
        Err(error) => ids.error(&error),
    }
}

fn sub_response(id: &str, response: GraphResponse) -> Value {
    let mut headers = Map::new();
    if response.body.is_some() {
        headers.insert("Content-Type".into(), json!("application/json"));
    }
    for (name, value) in response.headers {
        if name.eq_ignore_ascii_case("www-authenticate") {
            continue;
        }
        headers.insert(name.to_owned(), Value::String(value));
    }
    let mut item = Map::new();
    item.insert("id".into(), json!(id));
    item.insert("status".into(), json!(response.status));
    item.insert("headers".into(), Value::Object(headers));
    if let Some(body) = response.body {
        item.insert("body".into(), body);
    }
    Value::Object(item)
}

/// The `$batch` envelope (a top-level request).
pub async fn envelope(sim: &SimState, request: &GraphRequest, ids: &Ids, timing: Timing) -> GraphResponse {
    let principal = match sim.authority.validate(request.header("authorization")) {
        Ok(principal) => principal,
        Err(error) => return ids.unauthorized(error),
    };
    if request.method != Method::POST {
        return ids.error(&GraphError::method_not_allowed());
    }
    bump(&sim.stats.batch_envelopes);
    let runtime = sim.runtime();
    if let Some(fault) = faults::roll(&runtime) {
        match fault {
            Fault::ServiceUnavailable { retry_after } => {
                bump(&sim.stats.faults_503);
                if retry_after {
                    let now = std::time::Instant::now();
                    sim.throttle.note_retry_after(&principal.app_id, Family::Read, now, timing.delivery, 1);
                }
            }
            Fault::GatewayTimeout => bump(&sim.stats.faults_504),
        }
        return ids.fault(fault);
    }
    let subs = match parse_envelope(&request.body) {
        Ok(subs) => subs,
        Err(error) => return ids.error(&error),
    };
    // Requests run side by side: the envelope is answered after its overhead and its slowest
    // request's server time, and every answer reaches the client only then.
    let server_times: Vec<std::time::Duration> = subs
        .iter()
        .map(|sub| {
            let path = sub.url.split(['?', '#']).next().unwrap_or("");
            let route = Route::parse(request.version, path).map(|r| r.timing_index()).unwrap_or(0);
            faults::server_time(&runtime, route)
        })
        .collect();
    let server = faults::batch_server_time(&runtime, &server_times);
    let timing = Timing { arrived: timing.arrived, delivery: timing.delivery + server };
    let mut responses: Vec<Value> = Vec::with_capacity(subs.len());
    if subs.iter().all(|s| s.depends_on.is_empty()) {
        let answers = futures::future::join_all(subs.iter().map(|sub| run_one(sim, request, sub, timing))).await;
        for (sub, answer) in subs.iter().zip(answers) {
            responses.push(sub_response(&sub.id, answer));
        }
    } else {
        // With dependencies, run in order; a request whose dependency failed is answered 424.
        let mut statuses: Vec<(String, u16)> = Vec::new();
        for sub in &subs {
            let failed = sub
                .depends_on
                .iter()
                .any(|d| statuses.iter().any(|(id, status)| id == d && !(200..300).contains(status)));
            let answer = if failed {
                bump(&sim.stats.sub_requests);
                let sub_ids = Ids::for_headers(&sub.headers);
                sub_ids.error(&GraphError::new(424, "FailedDependency", "Dependent request failed."))
            } else {
                run_one(sim, request, sub, timing).await
            };
            statuses.push((sub.id.clone(), answer.status));
            responses.push(sub_response(&sub.id, answer));
        }
    }
    if !server.is_zero() {
        tokio::time::sleep(server).await;
    }
    responses.shuffle(&mut rand::rng());
    // With `envelope424`, a batch some of whose requests were throttled comes back 424 (Failed
    // Dependency) as a whole, still carrying every answer.
    let throttled = responses.iter().any(|r| r["status"] == 429);
    let status = if runtime.envelope_424 && throttled { 424 } else { 200 };
    GraphResponse::json(status, json!({ "responses": responses }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_validation() {
        let too_many: Vec<Value> =
            (1..=21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"})).collect();
        let body = serde_json::to_vec(&json!({"requests": too_many})).unwrap();
        assert_eq!(parse_envelope(&body).err().unwrap().code, "BadRequest");
        let dup = serde_json::to_vec(&json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]}))
        .unwrap();
        assert!(parse_envelope(&dup).is_err());
        let no_type = serde_json::to_vec(&json!({"requests": [
            {"id": "1", "method": "PATCH", "url": "/users/x/authentication/requirements", "body": {"perUserMfaState": "enabled"}}]}))
        .unwrap();
        assert!(parse_envelope(&no_type).err().unwrap().message.contains("Content-Type"));
        let ok = serde_json::to_vec(&json!({"requests": [
            {"id": "1", "method": "get", "url": "users/x"},
            {"id": "2", "method": "PATCH", "url": "/users/x/authentication/requirements",
             "headers": {"Content-Type": "application/json"}, "body": {"perUserMfaState": "enabled"}, "dependsOn": ["1"]}]}))
        .unwrap();
        assert_eq!(parse_envelope(&ok).unwrap().len(), 2);
        assert!(parse_envelope(b"nope").is_err());
    }
}
