//! `GET /auditLogs/signIns` (v1.0 and beta): the tenant's sign-in log, newest first.
//!
//! `$filter`: clauses joined by `and` on `userId eq '…'`, `userPrincipalName eq '…'`,
//! `status/errorCode eq|ne N`, `authenticationRequirement eq '…'` (beta only: v1.0's `signIn` has
//! no such property, and answers 400 as Graph does),
//! `createdDateTime ge|gt|le|lt 2026-11-01T00:00:00Z`, and (beta only) `signInEventTypes/any(t: t eq
//! '…')` clauses joined by `or` (one lambda with `or` inside, or several); anything else answers
//! 400. Like Graph, the log holds interactive sign-ins only unless `signInEventTypes` is filtered.
//! `$top` 1..1000 (default 1000), `$skiptoken` paging. Needs AuditLog.Read.All and a premium
//! tenant (a scenario's `"licence": "free"` answers 403 as well).
//!
//! Report-only results in `appliedConditionalAccessPolicies` appear only under `Prefer:
//! include-unknown-enum-members` (else `unknownFutureValue`), and the field is absent unless the
//! token can read Conditional Access (Policy.Read.ConditionalAccess, Policy.Read.All or
//! Policy.ReadWrite.ConditionalAccess). A loaded scenario shapes each sign-in (`ca::sign_ins`).

use serde_json::Value;

use crate::activity::{self, SignIn, SignInView};
use crate::auth::Principal;
use crate::ca::sign_ins::{LogEntry, SignInShape};
use crate::ca::{Licence, Scenario};
use crate::odata::{GraphError, QueryOptions};
use crate::routes::paging::Collection;
use crate::routes::reports::{check_premium_source, non_premium};
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
    /// `signInEventTypes/any(...)`: any of these event types.
    EventTypes(Vec<String>),
}

const EVENT_TYPES: [&str; 4] = ["interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"];

/// `signInEventTypes/any(t: t eq 'a' or t eq 'b')` or `(signInEventTypes/any(t: t eq 'a') or
/// signInEventTypes/any(t: t eq 'b'))`: the event types named; None for any other shape.
fn event_types(clause: &str) -> Option<Vec<String>> {
    let mut values = Vec::new();
    let mut rest = String::new();
    let mut parts = clause.split('\'');
    while let Some(outside) = parts.next() {
        rest.push_str(outside);
        if let Some(inside) = parts.next() {
            let value = EVENT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(inside))?;
            values.push(value.to_string());
        }
    }
    let mut skeleton: String =
        rest.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect::<String>().to_ascii_lowercase();
    for token in ["signineventtypes/any", "t:", "teq", "or"] {
        skeleton = skeleton.replace(token, "");
    }
    (skeleton.is_empty() && !values.is_empty()).then_some(values)
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
        if piece.to_ascii_lowercase().contains("signineventtypes") {
            if version != ApiVersion::Beta {
                return Err(no_such_property("signInEventTypes"));
            }
            clauses.push(Clause::EventTypes(event_types(piece).ok_or_else(|| unsupported(piece.trim()))?));
            continue;
        }
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

fn matches(clauses: &[Clause], entry: &SignIn, mfa: bool, tenant: &Tenant) -> bool {
    let user = &tenant.users[entry.user as usize];
    let event_type = if entry.interactive { "interactiveUser" } else { "nonInteractiveUser" };
    let types_filtered = clauses.iter().any(|c| matches!(c, Clause::EventTypes(_)));
    if !types_filtered && !entry.interactive {
        return false;
    }
    clauses.iter().all(|clause| match clause {
        Clause::UserId(id) => user.id.eq_ignore_ascii_case(id),
        Clause::Upn(upn) => user.user_principal_name.to_lowercase() == *upn,
        Clause::ErrorCode(eq, code) => (entry.error_code == *code) == *eq,
        Clause::Requirement(r) => {
            let have = if mfa { "multiFactorAuthentication" } else { "singleFactorAuthentication" };
            have.eq_ignore_ascii_case(r)
        }
        Clause::Created(op, at) => match *op {
            "ge" => entry.time >= *at,
            "gt" => entry.time > *at,
            "le" => entry.time <= *at,
            _ => entry.time < *at,
        },
        Clause::EventTypes(types) => types.iter().any(|t| t == event_type),
    })
}

/// The log as a scenario leaves it: each named user's generated sign-ins replaced by the
/// scenario's, newest first. Borrowed as is when the scenario states none.
fn log<'a>(tenant: &'a Tenant, scenario: &Scenario) -> std::borrow::Cow<'a, [SignIn]> {
    if scenario.sign_ins.is_empty() {
        return std::borrow::Cow::Borrowed(&tenant.sign_ins);
    }
    let named: std::collections::HashSet<u32> = scenario.sign_ins.iter().map(|s| s.user).collect();
    let mut log: Vec<SignIn> = tenant.sign_ins.iter().filter(|e| !named.contains(&e.user)).cloned().collect();
    for (i, stated) in scenario.sign_ins.iter().enumerate() {
        log.push(SignIn {
            time: tenant.anchor - stated.seconds_ago,
            user: stated.user,
            // Past any generated entry's, so ids stay unique.
            sequence: u32::MAX - i as u32,
            error_code: stated.error_code,
            mfa: false,
            provider: "",
            interactive: stated.interactive,
            stated: Some(i as u32),
        });
    }
    log.sort_by(|a, b| b.time.cmp(&a.time).then(b.sequence.cmp(&a.sequence)));
    std::borrow::Cow::Owned(log)
}

fn shape(scenario: &Scenario, tenant: &Tenant, entry: &SignIn) -> Option<SignInShape> {
    let stated = entry.stated.map(|i| &scenario.sign_ins[i as usize]);
    scenario.shape_sign_in(&LogEntry {
        user: &tenant.users[entry.user as usize],
        error_code: entry.error_code,
        generated: if stated.is_some() { None } else { Some((entry.mfa, entry.provider)) },
        stated,
    })
}

const CONDITIONAL_ACCESS_READ: &[&str] =
    &["Policy.Read.ConditionalAccess", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"];

const SIGN_INS: Collection = Collection { path: "/auditLogs/signIns", default_top: 1000, max_top: 1000 };

pub fn list(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    query: &QueryOptions,
) -> Result<GraphResponse, GraphError> {
    check_premium_source(sim, principal)?;
    let scenario = sim.ca.scenario();
    if scenario.licence == Licence::Free {
        return Err(non_premium());
    }
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
    let view = SignInView {
        version: request.version,
        unknown_enum_members: request
            .header("prefer")
            .is_some_and(|p| p.split(',').any(|p| p.trim().eq_ignore_ascii_case("include-unknown-enum-members"))),
        conditional_access: principal.has_any(CONDITIONAL_ACCESS_READ),
    };
    let log = log(&tenant, &scenario);
    let body = SIGN_INS.page(
        request,
        query,
        tenant.generation,
        &log,
        |entry| {
            let mfa = shape(&scenario, &tenant, entry).map_or(entry.mfa, |s| s.mfa);
            matches(&clauses, entry, mfa, &tenant)
        },
        |entry| {
            let shape = shape(&scenario, &tenant, entry);
            let user = &tenant.users[entry.user as usize];
            activity::sign_in_json(entry, user, &tenant.id, tenant.seed, view, shape.as_ref())
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
        let both = vec!["interactiveUser".to_string(), "nonInteractiveUser".to_string()];
        for text in [
            "createdDateTime ge 2026-10-01T00:00:00Z and (signInEventTypes/any(t: t eq 'interactiveUser') or signInEventTypes/any(t: t eq 'nonInteractiveUser'))",
            "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')",
        ] {
            let c = parse_filter(text, ApiVersion::Beta).unwrap();
            assert_eq!(c.last(), Some(&Clause::EventTypes(both.clone())), "{text}");
            assert!(parse_filter(text, ApiVersion::V1).is_err());
        }
        assert!(parse_filter("signInEventTypes/any(t: t ne 'interactiveUser')", ApiVersion::Beta).is_err());
        assert!(parse_filter("signInEventTypes/any(t: t eq 'robot')", ApiVersion::Beta).is_err());
        assert_eq!(
            parse_filter("userPrincipalName eq 'miriam.o''brien@contoso.com'", ApiVersion::V1).unwrap(),
            vec![Clause::Upn("miriam.o'brien@contoso.com".into())]
        );
    }
}
