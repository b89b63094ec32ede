//! `GET|PATCH /beta/users/{id|upn}/authentication/requirements`: the per-user MFA state.

use serde_json::{json, Value};

use crate::auth::{Principal, POLICY_READ, POLICY_WRITE};
use crate::odata::GraphError;
use crate::routes::{GraphRequest, GraphResponse};
use crate::stats::bump;
use crate::tenant::MfaState;
use crate::SimState;

/// `GET`: `{"@odata.context": ..., "perUserMfaState": "enforced"}`.
pub fn get(
    sim: &SimState,
    _request: &GraphRequest,
    principal: &Principal,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    if !principal.has_any(POLICY_READ) {
        return Err(GraphError::access_denied());
    }
    let tenant = sim.tenant();
    let user = tenant.find(key).ok_or_else(|| GraphError::not_found(key))?;
    bump(&sim.stats.requirements_gets);
    Ok(GraphResponse::json(
        200,
        json!({
            "@odata.context": format!(
                "https://graph.microsoft.com/beta/$metadata#users('{}')/authentication/requirements/$entity",
                user.id
            ),
            "perUserMfaState": user.state().as_str(),
        }),
    ))
}

/// `PATCH` with `{"perUserMfaState": "disabled" | "enabled" | "enforced"}` → 204.
pub fn patch(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    if !principal.has_any(POLICY_WRITE) {
        return Err(GraphError::access_denied());
    }
    let tenant = sim.tenant();
    let user = tenant.find(key).ok_or_else(|| GraphError::not_found(key))?;
    let requested = parse_body(&request.body)?;
    user.apply_patch(requested);
    bump(&sim.stats.patches);
    Ok(GraphResponse::no_content())
}

fn parse_body(body: &[u8]) -> Result<MfaState, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GraphError::bad_request("Empty Payload. JSON content expected."));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        GraphError::bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    })?;
    let object =
        value.as_object().ok_or_else(|| GraphError::bad_request("The request payload must be a JSON object."))?;
    for key in object.keys() {
        if key != "perUserMfaState" && !key.starts_with("@odata.") {
            return Err(GraphError::bad_request(format!(
                "The property '{key}' does not exist on type 'microsoft.graph.strongAuthenticationRequirements'. \
                 Make sure to only use property names that are defined by the type."
            )));
        }
    }
    match object.get("perUserMfaState") {
        None | Some(Value::Null) => {
            Err(GraphError::bad_request("The property 'perUserMfaState' is required and was not provided."))
        }
        Some(Value::String(text)) => MfaState::parse(text)
            .ok_or_else(|| GraphError::bad_request(format!("Requested value '{text}' was not found."))),
        Some(other) => Err(GraphError::bad_request(format!(
            "Cannot convert the literal '{other}' to the expected type 'microsoft.graph.perUserMfaState'."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_values() {
        assert_eq!(parse_body(br#"{"perUserMfaState":"enforced"}"#).unwrap(), MfaState::Enforced);
        let bad = parse_body(br#"{"perUserMfaState":"sometimes"}"#).unwrap_err();
        assert!(bad.message.contains("'sometimes'"));
        assert_eq!(bad.code, "BadRequest");
        assert!(parse_body(br#"{"perUserMfaState":"Enabled"}"#).is_err());
        assert!(parse_body(br#"{"perUserMfaState":"unknownFutureValue"}"#).is_err());
        assert!(parse_body(b"").is_err());
        assert!(parse_body(b"{").is_err());
        assert!(parse_body(br#"{}"#).is_err());
        assert!(parse_body(br#"{"perUserMfaState":1}"#).is_err());
        assert!(parse_body(br#"{"state":"enabled"}"#).is_err());
    }
}
