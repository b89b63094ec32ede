//! `GET /reports/authenticationMethods/userRegistrationDetails`: one row per enabled user
//! (Graph has no rows for disabled accounts), paged with `$top` (1..999, default 100) and
//! `$skiptoken`. Needs AuditLog.Read.All and a premium (Entra ID P1/P2) tenant.
//!
//! Each version has its own shape: `defaultMfaMethod` exists only in beta. Graph does not
//! document `$top` here; with `registrationTop: refused` any `$top` answers 400.

use serde_json::Value;

use crate::activity;
use crate::auth::Principal;
use crate::config::RegistrationTopMode;
use crate::odata::{GraphError, QueryOptions};
use crate::routes::paging::Collection;
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

const REGISTRATION_DETAILS: Collection =
    Collection { path: "/reports/authenticationMethods/userRegistrationDetails", default_top: 100, max_top: 999 };

pub fn registration_details(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    query: &QueryOptions,
) -> Result<GraphResponse, GraphError> {
    check_premium_source(sim, principal)?;
    let only_id = match query.filter.as_deref() {
        None => None,
        Some(filter) => Some(id_filter(filter).ok_or_else(|| {
            GraphError::unsupported_query(
                "The simulator implements only $filter=id eq '<id>' on userRegistrationDetails.",
            )
        })?),
    };
    if !query.unsupported.is_empty() || query.skip.is_some() {
        return Err(GraphError::unsupported_query(
            "The simulator does not implement query options on userRegistrationDetails other than $top and $filter.",
        ));
    }
    if query.top.is_some() && sim.runtime().schema.registration_top == RegistrationTopMode::Refused {
        return Err(GraphError::bad_request("Query option '$top' is not allowed on this resource."));
    }
    let tenant = sim.tenant();
    let version = request.version;
    let body = REGISTRATION_DETAILS.page(
        request,
        query,
        tenant.generation,
        &tenant.users,
        |user| user.account_enabled && only_id.as_ref().is_none_or(|id| user.id.eq_ignore_ascii_case(id)),
        |user| activity::registration_row(user, &user.activity, tenant.anchor, version),
    )?;
    Ok(GraphResponse::json(200, Value::Object(body)))
}

/// The id of `id eq '<id>'` (one user's row, as a per-user report asks for it).
fn id_filter(filter: &str) -> Option<String> {
    let rest = filter.trim().strip_prefix("id")?.trim_start().strip_prefix("eq")?.trim();
    let quoted = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(quoted.replace("''", "'"))
}
