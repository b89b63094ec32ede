//! `GET /auditLogs/signIns` (v1.0 and beta): the tenant's sign-in log, newest first.
//!
//! `$filter`: clauses joined by `and` on `userId eq '…'`, `userPrincipalName eq '…'`,
//! `status/errorCode eq|ne N`, `authenticationRequirement eq '…'` (beta only: v1.0's `signIn` has
//! no such property, and answers 400 as Graph does),
//! `createdDateTime ge|gt|le|lt 2026-11-01T00:00:00Z`; anything else answers 400. `$top` 1..1000
//! (default 1000), `$skiptoken` paging. Needs AuditLog.Read.All and a premium tenant.

use serde_json::Value;

use crate::activity::{self, SignIn};
use crate::auth::Principal;
use crate::odata::{GraphError, QueryOptions};
use crate::routes::paging::Collection;
use crate::routes::reports::check_premium_source;
use crate::routes::{ApiVersion, GraphRequest, GraphResponse};
use crate::tenant::Tenant;
use crate::SimState;

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    UserId(String),
    Upn(String),
    ErrorCode(bool, u32),
    Requirement(String),
    Created(&'static str, i64),
}

fn unsupported(clause: &str) -> GraphError {
    GraphError::new(
        400,
        "BadRequest",
        format!("Invalid filter clause: the simulator does not support '{clause}' on signIns."),
    )
}

fn quoted(value: &str, clause: &str) -> Result<String, GraphError> {
    let v = value.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        Ok(v[1..v.len() - 1].replace("''", "'"))
    } else {
        Err(unsupported(clause))
    }
}

/// Graph's answer to a filter on a property the version's `signIn` type does not have.
fn no_such_property(name: &str) -> GraphError {
    GraphError::new(
        400,
        "BadRequest",
        format!("Could not find a property named '{name}' on type 'microsoft.graph.signIn'."),
    )
}

fn parse_filter(text: &str, version: ApiVersion) -> Result<Vec<Clause>, GraphError> {
    let mut clauses = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
        } else if !in_quote && lower[i..].starts_with(" and ") {
            pieces.push(&text[start..i]);
            start = i + 5;
            i += 5;
            continue;
        }
        i += 1;
    }
    pieces.push(&text[start..]);
    for piece in pieces {
        let clause = piece.trim().trim_start_matches('(').trim_end_matches(')').trim();
        let mut parts = clause.splitn(3, char::is_whitespace);
        let (Some(property), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(unsupported(clause));
        };
        let op = op.to_ascii_lowercase();
        let parsed = match (property.to_ascii_lowercase().as_str(), op.as_str()) {
            ("userid", "eq") => Clause::UserId(quoted(value, clause)?.to_ascii_lowercase()),
            ("userprincipalname", "eq") => Clause::Upn(quoted(value, clause)?.to_lowercase()),
            ("status/errorcode", "eq" | "ne") => {
                Clause::ErrorCode(op == "eq", value.trim().parse().map_err(|_| unsupported(clause))?)
            }
            ("authenticationrequirement", "eq") if version == ApiVersion::Beta => {
                Clause::Requirement(quoted(value, clause)?)
            }
            ("authenticationrequirement", _) => return Err(no_such_property("authenticationRequirement")),
            ("createddatetime", "ge" | "gt" | "le" | "lt") => {
                let at = activity::parse_iso(value.trim()).ok_or_else(|| unsupported(clause))?;
                let op: &'static str = match op.as_str() {
                    "ge" => "ge",
                    "gt" => "gt",
                    "le" => "le",
                    _ => "lt",
                };
                Clause::Created(op, at)
            }
            _ => return Err(unsupported(clause)),
        };
        clauses.push(parsed);
    }
    Ok(clauses)
}

fn matches(clauses: &[Clause], entry: &SignIn, tenant: &Tenant) -> bool {
    let user = &tenant.users[entry.user as usize];
    clauses.iter().all(|clause| match clause {
        Clause::UserId(id) => user.id.eq_ignore_ascii_case(id),
        Clause::Upn(upn) => user.user_principal_name.to_lowercase() == *upn,
        Clause::ErrorCode(eq, code) => (entry.error_code == *code) == *eq,
        Clause::Requirement(r) => {
            let have = if entry.mfa { "multiFactorAuthentication" } else { "singleFactorAuthentication" };
            have.eq_ignore_ascii_case(r)
        }
        Clause::Created(op, at) => match *op {
            "ge" => entry.time >= *at,
            "gt" => entry.time > *at,
            "le" => entry.time <= *at,
            _ => entry.time < *at,
        },
    })
}

const SIGN_INS: Collection = Collection { path: "/auditLogs/signIns", default_top: 1000, max_top: 1000 };

pub fn list(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    query: &QueryOptions,
) -> Result<GraphResponse, GraphError> {
    check_premium_source(sim, principal)?;
    if !query.unsupported.is_empty() || query.skip.is_some() || query.select.is_some() {
        return Err(GraphError::unsupported_query(
            "The simulator implements only $filter, $top and $skiptoken on signIns.",
        ));
    }
    let clauses = match query.filter.as_deref() {
        Some(text) if !text.trim().is_empty() => parse_filter(text, request.version)?,
        _ => Vec::new(),
    };
    let tenant = sim.tenant();
    let body = SIGN_INS.page(
        request,
        query,
        tenant.generation,
        &tenant.sign_ins,
        |entry| matches(&clauses, entry, &tenant),
        |entry| {
            activity::sign_in_json(entry, &tenant.users[entry.user as usize], &tenant.id, tenant.seed, request.version)
        },
    )?;
    Ok(GraphResponse::json(200, Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let text = "createdDateTime ge 2026-10-01T00:00:00Z and status/errorCode eq 0 and authenticationRequirement eq 'multiFactorAuthentication'";
        let c = parse_filter(text, ApiVersion::Beta).unwrap();
        assert_eq!(c.len(), 3);
        assert!(matches!(c[1], Clause::ErrorCode(true, 0)));
        let v1 = parse_filter(text, ApiVersion::V1).unwrap_err();
        assert!(v1.message.contains("'authenticationRequirement'"), "{}", v1.message);
        assert!(parse_filter("userId eq 'a' and startswith(userPrincipalName,'a')", ApiVersion::Beta).is_err());
        assert_eq!(
            parse_filter("userPrincipalName eq 'miriam.o''brien@contoso.com'", ApiVersion::V1).unwrap(),
            vec![Clause::Upn("miriam.o'brien@contoso.com".into())]
        );
    }
}
