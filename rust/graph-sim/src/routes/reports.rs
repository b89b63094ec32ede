//! `GET /reports/authenticationMethods/userRegistrationDetails`: one row per enabled user
//! (Graph has no rows for disabled accounts), paged with `$top` (1..999, default 100) and
//! `$skiptoken`. Needs AuditLog.Read.All and a premium (Entra ID P1/P2) tenant.

use serde_json::{json, Map, Value};

use crate::activity;
use crate::auth::Principal;
use crate::odata::{decode_skiptoken, encode_skiptoken, expired_page_token, GraphError, QueryOptions};
use crate::routes::{GraphRequest, GraphResponse};
use crate::SimState;

/// Permissions that allow reading sign-in logs, signInActivity and registration details.
pub const AUDIT_READ: &[&str] = &["AuditLog.Read.All"];

/// 403 for a token without AuditLog.Read.All.
pub fn audit_denied() -> GraphError {
    GraphError::new(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation. Reading this needs AuditLog.Read.All.",
    )
}

/// 403 of an Entra ID Free tenant for a premium source.
pub fn non_premium() -> GraphError {
    GraphError::new(
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )
}

/// Permission, then premium licence.
pub fn check_premium_source(sim: &SimState, principal: &Principal) -> Result<(), GraphError> {
    if !principal.has_any(AUDIT_READ) {
        return Err(audit_denied());
    }
    if sim.runtime().free_tenant {
        return Err(non_premium());
    }
    Ok(())
}

/// `$top` within `1..=max`, or `default`.
pub fn top(query: &QueryOptions, default: usize, max: usize) -> Result<usize, GraphError> {
    match query.top.as_deref().map(str::trim) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(GraphError::request_bad_request(format!(
                "Invalid page size specified: '{text}'. Must be between 1 and {max} inclusive."
            ))),
        },
    }
}

/// `@odata.nextLink` for `path` continuing at `next`.
pub fn next_link(request: &GraphRequest, query: &QueryOptions, path: &str, generation: u64, next: usize) -> String {
    let mut text = query.raw_without_skiptoken.join("&");
    if !text.is_empty() {
        text.push('&');
    }
    text.push_str("$skiptoken=");
    text.push_str(&encode_skiptoken(generation, next));
    format!("{}/{}{path}?{text}", request.base_url, request.version.segment())
}

pub fn registration_details(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    query: &QueryOptions,
) -> Result<GraphResponse, GraphError> {
    check_premium_source(sim, principal)?;
    if query.filter.is_some() || !query.unsupported.is_empty() || query.skip.is_some() {
        return Err(GraphError::unsupported_query("The simulator does not implement query options on userRegistrationDetails other than $top."));
    }
    let page_size = top(query, 100, 999)?;
    let tenant = sim.tenant();
    let mut index = match query.skiptoken.as_deref() {
        None => 0,
        Some(token) => match decode_skiptoken(token) {
            Some((generation, index)) if generation == tenant.generation && index <= tenant.users.len() => index,
            _ => return Err(expired_page_token()),
        },
    };
    let mut page = Vec::new();
    let mut next = None;
    while index < tenant.users.len() {
        let user = &tenant.users[index];
        if user.account_enabled {
            if page.len() == page_size {
                next = Some(index);
                break;
            }
            page.push(activity::registration_row(user, &user.activity, tenant.anchor));
        }
        index += 1;
    }
    let version = request.version.segment();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("https://graph.microsoft.com/{version}/$metadata#reports/authenticationMethods/userRegistrationDetails")),
    );
    if let Some(next) = next {
        let path = "/reports/authenticationMethods/userRegistrationDetails";
        body.insert("@odata.nextLink".into(), Value::String(next_link(request, query, path, tenant.generation, next)));
    }
    body.insert("value".into(), Value::Array(page));
    Ok(GraphResponse::json(200, Value::Object(body)))
}
