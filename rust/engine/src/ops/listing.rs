//! Paging through `/users`, following `@odata.nextLink` as an opaque URL.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;

use crate::error::{EngineError, ErrorKind, Operation};
use crate::graph::client::{GraphClient, Request};
use crate::graph::throttle::Budget;
use crate::graph::{ApiVersion, Notify};
use crate::options::Scope;

/// The filter admins' scripts use for "licensed member accounts".
pub const LICENSED_MEMBERS_FILTER: &str = "assignedLicenses/$count ne 0 and userType eq 'Member'";
/// Graph's largest page for users.
pub const PAGE_SIZE: u32 = 999;

/// The first page's URL for `scope`, selecting `select`.
pub fn first_page_url(client: &GraphClient, scope: Scope, select: &str) -> String {
    let mut query = format!("$select={select}&$count=true&$top={PAGE_SIZE}");
    if scope == Scope::LicensedMembers {
        query = format!("$filter={}&{query}", utf8_percent_encode(LICENSED_MEMBERS_FILTER, NON_ALPHANUMERIC));
    }
    client.url(ApiVersion::Beta, &format!("/users?{query}"))
}

pub struct Page {
    pub users: Vec<Value>,
    pub count: Option<u64>,
    pub next_link: Option<String>,
}

/// Fetches one page. `Ok(Err(answer))` is Graph's refusal (status, body) for the caller to judge.
pub async fn fetch_page(
    client: &GraphClient,
    url: &str,
    notify: &dyn Notify,
) -> Result<Result<Page, (u16, Value, Option<String>)>, EngineError> {
    let request = Request {
        method: Method::GET,
        url: url.to_string(),
        body: None,
        eventual_consistency: true,
        cost: vec![(Budget::Read, 1)],
        describe: "list users".to_string(),
    };
    let mut response = client.send(&request, notify).await?;
    if !response.is_success() {
        let request_id = crate::graph::client::request_id(&response.meta, &response.body);
        return Ok(Err((response.status, response.body, request_id)));
    }
    let users = match response.body["value"].take() {
        Value::Array(users) => users,
        _ => return Err(EngineError::new(ErrorKind::GraphError, "Graph's users page had no 'value' array.")),
    };
    let next_link = response.body["@odata.nextLink"].as_str().map(str::to_string);
    if let Some(link) = &next_link {
        if !client.is_own_origin(link) {
            return Err(EngineError::new(
                ErrorKind::GraphError,
                "Graph's @odata.nextLink points to another host; the engine will not send the token there.",
            ));
        }
    }
    Ok(Ok(Page { users, count: response.body["@odata.count"].as_u64(), next_link }))
}

/// Graph's refusal of a listing as the job's error.
pub fn listing_error(status: u16, body: &Value, request_id: Option<String>) -> EngineError {
    let (code, message) = crate::graph::client::graph_error(body);
    EngineError::from_graph(status, code, message, request_id, Operation::ListUsers, "")
}
