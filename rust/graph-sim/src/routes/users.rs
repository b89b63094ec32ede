//! `GET /users` (with `$filter`, `$select`, `$top`, `$count`, `$skiptoken`) and `GET /users/{id|upn}`.

use serde_json::{Map, Value};

use crate::auth::{Principal, POLICY_READ, USER_READ};
use crate::config::{BulkStateMode, SignInActivityAdvancedMode, UpnRangeMode};
use crate::odata::{parse_select, Filter, GraphError, QueryOptions};
use crate::routes::{paging, ApiVersion, GraphRequest, GraphResponse};
use crate::stats::bump;
use crate::tenant::{Property, User};
use crate::SimState;

const METADATA: &str = "https://graph.microsoft.com";

/// Which properties to return, whether `perUserMfaState` may be filled in, and whether
/// `signInActivity` comes back empty (advanced query in [`SignInActivityAdvancedMode::Empty`]).
struct Projection {
    properties: Vec<Property>,
    selected: bool,
    include_state: bool,
    empty_sign_in_activity: bool,
}

impl Projection {
    fn new(
        sim: &SimState,
        request: &GraphRequest,
        principal: &Principal,
        query: &QueryOptions,
    ) -> Result<Projection, GraphError> {
        match query.select.as_deref() {
            Some(select) => {
                let properties = parse_select(select)?;
                let schema = sim.runtime().schema;
                let wants_state = properties.contains(&Property::PerUserMfaState);
                if wants_state && schema.bulk_state == BulkStateMode::Refused {
                    return Err(GraphError::request_bad_request(
                        "Could not find a property named 'perUserMfaState' on type 'microsoft.graph.user'.",
                    ));
                }
                if properties.contains(&Property::SignInActivity) {
                    crate::routes::reports::check_premium_source(sim, principal)?;
                }
                let include_state =
                    wants_state && schema.bulk_state == BulkStateMode::Served && principal.has_any(POLICY_READ);
                let empty_sign_in_activity =
                    advanced_query(request) && schema.sign_in_activity_advanced == SignInActivityAdvancedMode::Empty;
                Ok(Projection { properties, selected: true, include_state, empty_sign_in_activity })
            }
            None => {
                let properties = match request.version {
                    ApiVersion::V1 => Property::DEFAULT_V1.to_vec(),
                    ApiVersion::Beta => Property::DEFAULT_BETA.to_vec(),
                };
                Ok(Projection { properties, selected: false, include_state: false, empty_sign_in_activity: false })
            }
        }
    }

    /// `users` or `users(id,displayName)` for `@odata.context`.
    fn context_set(&self) -> String {
        if self.selected {
            let names: Vec<&str> = self.properties.iter().map(|p| p.name()).collect();
            format!("users({})", names.join(","))
        } else {
            "users".to_owned()
        }
    }

    fn render(&self, user: &User, into: &mut Map<String, Value>) {
        for property in &self.properties {
            if *property == Property::PerUserMfaState && !self.include_state {
                continue;
            }
            if *property == Property::SignInActivity && self.empty_sign_in_activity {
                into.insert(property.name().to_owned(), Value::Null);
                continue;
            }
            into.insert(property.name().to_owned(), property.value(user));
        }
    }
}

/// A request in advanced-query mode (`ConsistencyLevel: eventual`).
fn advanced_query(request: &GraphRequest) -> bool {
    request.header("consistencylevel").is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
}

fn check_unsupported(query: &QueryOptions) -> Result<(), GraphError> {
    if query.skip.is_some() {
        return Err(GraphError::request_bad_request("'$skip' is not supported by the service."));
    }
    if let Some(option) = query.unsupported.first() {
        return Err(GraphError::unsupported_query(format!(
            "Unsupported Query. The simulator does not implement '{option}'."
        )));
    }
    Ok(())
}

/// `GET /users`.
pub async fn list(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    query: &QueryOptions,
) -> Result<GraphResponse, GraphError> {
    if !principal.has_any(USER_READ) {
        return Err(GraphError::insufficient_privileges());
    }
    check_unsupported(query)?;
    let page_size = query.page_size()?;
    let count = query.count_requested()?;
    let eventual = advanced_query(request);
    let filter = match query.filter.as_deref() {
        Some(text) if !text.trim().is_empty() => Filter::parse(text)?,
        _ => Filter::default(),
    };
    if filter.has_upn_range() && sim.runtime().schema.upn_range == UpnRangeMode::Refused {
        return Err(GraphError::unsupported_query(
            "Unsupported or invalid query filter clause specified for property 'userPrincipalName' of resource 'User'.",
        ));
    }
    if filter.is_advanced() && !(eventual && count) {
        return Err(GraphError::unsupported_query("Unsupported Query."));
    }
    if count && !eventual {
        return Err(GraphError::request_bad_request("$count is not currently supported."));
    }
    let projection = Projection::new(sim, request, principal, query)?;
    if projection.properties.contains(&Property::SignInActivity) && page_size > 500 {
        return Err(GraphError::request_bad_request(format!(
            "Invalid page size specified: '{page_size}'. Must be between 1 and 500 inclusive when signInActivity is selected."
        )));
    }
    let tenant = sim.tenant();
    let start = paging::start(query, tenant.generation, tenant.users.len())?;
    let page_ms = sim.runtime().page_ms;
    if page_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(page_ms)).await;
    }

    let users = &tenant.users;
    let page = paging::collect(
        users,
        start,
        page_size,
        |user| filter.matches(user),
        |user| {
            let mut item = Map::new();
            projection.render(user, &mut item);
            Value::Object(item)
        },
    );
    let mut body = paging::body(request, query, "/users", &projection.context_set(), tenant.generation, page);
    if count {
        let total = match filter.upn_bounds() {
            // Only the users within the bounds can match: the rest of the filter is tested on them.
            Some((lower, upper)) => tenant.users_in_upn_range(lower, upper).filter(|u| filter.matches(u)).count(),
            None => users.iter().filter(|u| filter.matches(u)).count(),
        };
        body.insert("@odata.count".into(), Value::from(total));
    }
    bump(&sim.stats.list_pages);
    Ok(GraphResponse::json(200, Value::Object(body)))
}

/// `GET /users/{id|upn}`.
pub fn get(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    query: &QueryOptions,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    if !principal.has_any(USER_READ) {
        return Err(GraphError::insufficient_privileges());
    }
    check_unsupported(query)?;
    let projection = Projection::new(sim, request, principal, query)?;
    let tenant = sim.tenant();
    let user = tenant.find(key).ok_or_else(|| GraphError::not_found(key))?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(format!(
            "{METADATA}/{}/$metadata#{}/$entity",
            request.version.segment(),
            projection.context_set()
        )),
    );
    projection.render(user, &mut body);
    Ok(GraphResponse::json(200, Value::Object(body)))
}
