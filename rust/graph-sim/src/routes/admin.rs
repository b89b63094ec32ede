//! Test-only routes under `/_sim/` (no auth, no faults, no latency, not counted in stats).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::auth::TokenRequest;
use crate::routes::plain_json;
use crate::SimState;

fn bad_request(message: impl Into<String>) -> Response {
    plain_json(StatusCode::BAD_REQUEST, &json!({"error": "invalid_request", "error_description": message.into()}))
}

/// `POST /_sim/token` `{"roles": [...]}` or `{"scp": "..."}`, optional `lifetimeSeconds`, `appId`.
pub async fn token(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(error) => {
                return bad_request(format!("the body must be JSON like {{\"roles\":[\"User.Read.All\"]}}: {error}"))
            }
        }
    };
    match sim.authority.issue_via(&request, "sim") {
        Ok(issued) => plain_json(
            StatusCode::OK,
            &json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "ext_expires_in": issued.expires_in,
            }),
        ),
        Err(message) => bad_request(message),
    }
}

/// `GET /_sim/users`: ground truth for every user.
pub async fn users(State(sim): State<Arc<SimState>>) -> Response {
    let tenant = sim.tenant();
    let truth: Vec<_> = tenant.users.iter().map(|u| u.truth()).collect();
    let bytes = serde_json::to_vec(&truth).unwrap_or_default();
    (StatusCode::OK, [("content-type", "application/json")], bytes).into_response()
}

pub async fn stats(State(sim): State<Arc<SimState>>) -> Response {
    plain_json(StatusCode::OK, &serde_json::to_value(sim.stats.snapshot()).unwrap_or(Value::Null))
}

pub async fn reset_stats(State(sim): State<Arc<SimState>>) -> Response {
    sim.stats.reset();
    plain_json(StatusCode::OK, &serde_json::to_value(sim.stats.snapshot()).unwrap_or(Value::Null))
}

pub async fn get_config(State(sim): State<Arc<SimState>>) -> Response {
    plain_json(StatusCode::OK, &sim.config_json())
}

/// `POST /_sim/config` with a partial JSON object; answers the full config.
pub async fn post_config(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let patch: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(error) => return bad_request(format!("the body must be a JSON object: {error}")),
        }
    };
    match sim.update_config(&patch) {
        Ok(full) => plain_json(StatusCode::OK, &full),
        Err(message) => bad_request(message),
    }
}

/// `POST /_sim/reset`: regenerate the tenant from the seed, clear stats and throttle windows.
pub async fn reset(State(sim): State<Arc<SimState>>) -> Response {
    let state = sim.clone();
    let _ = tokio::task::spawn_blocking(move || state.reset()).await;
    plain_json(StatusCode::OK, &json!({"users": sim.config.users, "seed": sim.config.seed}))
}

/// `GET /_sim/scenario`: a summary of the Conditional Access scenario served.
pub async fn get_scenario(State(sim): State<Arc<SimState>>) -> Response {
    plain_json(StatusCode::OK, &sim.ca.scenario().summary())
}

/// `POST /_sim/scenario` with a scenario's JSON (see `ca/`): replaces the one served.
pub async fn post_scenario(State(sim): State<Arc<SimState>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match crate::ca::Scenario::parse(&text, &sim.tenant()) {
        Ok(scenario) => {
            let summary = scenario.summary();
            sim.ca.set(scenario);
            sim.ca.budget.clear();
            plain_json(StatusCode::OK, &summary)
        }
        Err(message) => bad_request(message),
    }
}

/// `POST /_sim/shutdown`: answer, then stop serving.
pub async fn shutdown(State(sim): State<Arc<SimState>>) -> Response {
    sim.request_shutdown();
    plain_json(StatusCode::OK, &json!({"event": "shutdown"}))
}

pub async fn not_found() -> Response {
    plain_json(
        StatusCode::NOT_FOUND,
        &json!({"error": "not_found", "error_description": "unknown /_sim route; see rust/graph-sim/README.md"}),
    )
}
