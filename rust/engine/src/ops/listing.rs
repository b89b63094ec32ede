//! Paging through `/users`, following `@odata.nextLink` as an opaque URL.

use std::collections::HashSet;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;

use super::apply_changes::group;
use super::upn_ranges::UpnRange;
use crate::error::{EngineError, ErrorKind, Operation};
use crate::events::Event;
use crate::graph::client::{GraphClient, Request};
use crate::graph::throttle::Budget;
use crate::graph::{ApiVersion, Notify};
use crate::job::JobContext;
use crate::model::UserIdentity;
use crate::options::Scope;

/// The filter admins' scripts use for "licensed member accounts".
pub const LICENSED_MEMBERS_FILTER: &str = "assignedLicenses/$count ne 0 and userType eq 'Member'";
/// Graph's largest page for users.
pub const PAGE_SIZE: u32 = 999;

/// The first page's URL for `scope`, selecting `select`.
pub fn first_page_url(client: &GraphClient, scope: Scope, select: &str) -> String {
    users_url(client, scope, select, PAGE_SIZE, None)
}

/// The URL of the first `top` users of `scope` (within `range`, if given), selecting `select`,
/// with `$count=true`: every users listing of the engine is an advanced query, which the licensed
/// member filter and the ranges need.
pub fn users_url(client: &GraphClient, scope: Scope, select: &str, top: u32, range: Option<&UpnRange>) -> String {
    let mut query = format!("$select={select}&$count=true&$top={top}");
    let clauses: Vec<String> = [(scope == Scope::LicensedMembers).then(|| LICENSED_MEMBERS_FILTER.to_string())]
        .into_iter()
        .chain([range.and_then(UpnRange::filter)])
        .flatten()
        .collect();
    if !clauses.is_empty() {
        query = format!("$filter={}&{query}", utf8_percent_encode(&clauses.join(" and "), NON_ALPHANUMERIC));
    }
    client.url(ApiVersion::Beta, &format!("/users?{query}"))
}

pub struct Page {
    pub users: Vec<Value>,
    pub count: Option<u64>,
    pub next_link: Option<String>,
}

impl Page {
    /// Whether Graph put `perUserMfaState` in the page's users (the bulk path), which it may
    /// also leave out or refuse (then each state is read per user).
    pub fn carries_states(&self) -> bool {
        self.users.iter().any(|user| user.get("perUserMfaState").is_some())
    }
}

/// Graph's refusal of a page: status, body and request id.
pub type Refusal = (u16, Value, Option<String>);

/// Fetches one page. `Ok(Err(answer))` is Graph's refusal (status, body) for the caller to judge.
pub async fn fetch_page(
    client: &GraphClient,
    url: &str,
    notify: &dyn Notify,
) -> Result<Result<Page, Refusal>, EngineError> {
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
    // `get_mut`, not `["value"]`: indexing a JSON array or string with a key panics.
    let users = match response.body.get_mut("value").map(Value::take).unwrap_or_default() {
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

/// One page; Graph's 5xx after every retry is an error (for `Patience` to wait out), any other
/// refusal comes back for the caller to judge.
pub async fn page_or_outage(
    client: &GraphClient,
    url: &str,
    notify: &dyn Notify,
) -> Result<Result<Page, Refusal>, EngineError> {
    match fetch_page(client, url, notify).await? {
        Err((status, body, request_id)) if status >= 500 => Err(listing_error(status, &body, request_id)),
        page => Ok(page),
    }
}

/// Graph's refusal of a listing as the job's error.
pub fn listing_error(status: u16, body: &Value, request_id: Option<String>) -> EngineError {
    let (code, message) = crate::graph::client::graph_error(body);
    EngineError::from_graph(status, code, message, request_id, Operation::ListUsers, "")
}

/// The `@odata.nextLink`s a paged read has followed. Graph (or a proxy in front of it) that hands
/// back a link already followed would make the read loop forever, emitting the same users again
/// and again; the read stops with an error instead.
#[derive(Default)]
pub struct NextLinks(HashSet<String>);

impl NextLinks {
    /// Records `link` as followed; an error naming the read if it was followed before.
    pub fn follow(&mut self, link: &str, read: &str) -> Result<(), EngineError> {
        if self.0.insert(link.to_string()) {
            return Ok(());
        }
        Err(EngineError::new(
            ErrorKind::GraphError,
            format!(
                "Graph's answer to the request to {read} repeated an @odata.nextLink already followed (after {} pages), \
                 so paging would never end; stopped. Run the command again; if it repeats, Graph is returning a \
                 broken page and Microsoft support can trace it.",
                self.0.len()
            ),
        ))
    }
}

/// The identity of a listed user: its id must be a non-empty string (a user without one cannot
/// be read, changed or told apart); names that are not strings are left out.
pub fn identity_of(user: &Value) -> Option<UserIdentity> {
    let text = |name: &str| user.get(name).and_then(Value::as_str).map(str::to_string);
    let id = text("id").filter(|id| !id.trim().is_empty())?;
    Some(UserIdentity { id, user_principal_name: text("userPrincipalName"), display_name: text("displayName") })
}

/// The error for a listed user without a usable id, naming the user as well as the answer allows.
pub fn missing_id(user: &Value, page: u32, position: usize) -> (String, EngineError) {
    let name = ["userPrincipalName", "displayName"].iter().find_map(|n| user.get(*n).and_then(Value::as_str));
    let target = match name {
        Some(name) => crate::error::shown(name).into_owned(),
        None => format!("users listing page {page}, entry {}", position + 1),
    };
    let error = EngineError::new(
        ErrorKind::GraphError,
        format!(
            "Graph listed a user without an id ({target}); it cannot be read or changed. \
             Look the account up in the Entra admin center."
        ),
    );
    (target, error)
}

/// How many users the tenant has in all, from one request: a one-user page with `$count=true`
/// and `ConsistencyLevel: eventual` (Graph's documented way to count directory objects; the
/// count is eventually consistent, so a user created seconds ago may be missing). None when
/// Graph does not give a count.
pub async fn count_all_users(client: &GraphClient, notify: &dyn Notify) -> Result<Option<u64>, EngineError> {
    let url = client.url(ApiVersion::V1, "/users?$count=true&$top=1&$select=id");
    Ok(fetch_page(client, &url, notify).await?.ok().and_then(|page| page.count))
}

/// Ends a licensed-members listing of `listed` users with one information line: how many accounts
/// the scope left out (guests, unlicensed accounts) and how to include them. Admins read the list
/// as the tenant's; without the line, Enabled or Enforced guests go unnoticed.
pub async fn tell_left_out(context: &JobContext, listed: u64) {
    let notify = context.notify();
    let line = match count_all_users(&context.client, notify.as_ref()).await {
        Ok(Some(total)) => left_out_line(listed, total),
        Ok(None) | Err(_) => {
            context
                .events
                .send(Event::verbose(
                    "Could not count the tenant's users, so the number of accounts outside the licensed member scope is unknown.",
                ))
                .await;
            return;
        }
    };
    context.events.send(Event::information(line)).await;
}

fn left_out_line(listed: u64, total: u64) -> String {
    let accounts = |n: u64| format!("{} {}", group(n), if n == 1 { "account" } else { "accounts" });
    match total.saturating_sub(listed) {
        0 => format!("Listed {} (licensed members); the tenant has no other accounts.", accounts(listed)),
        left_out => format!(
            "Listed {} (licensed members); {} outside that scope (guests, unlicensed accounts) are not in this list: add -All to include them.",
            accounts(listed),
            accounts(left_out)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_repeated_next_link_is_refused() {
        let mut links = NextLinks::default();
        links.follow("https://graph/users?$skiptoken=a", "list users").unwrap();
        links.follow("https://graph/users?$skiptoken=b", "list users").unwrap();
        let error = links.follow("https://graph/users?$skiptoken=a", "list users").unwrap_err();
        assert_eq!(error.kind, ErrorKind::GraphError);
        assert!(error.message.contains("list users") && error.message.contains("repeated"), "{}", error.message);
    }

    #[test]
    fn a_user_needs_a_string_id() {
        assert!(identity_of(&json!({"id": 7, "userPrincipalName": "a@contoso.com"})).is_none());
        assert!(identity_of(&json!({"id": " ", "userPrincipalName": "a@contoso.com"})).is_none());
        assert!(identity_of(&json!({"userPrincipalName": "a@contoso.com"})).is_none());
        let identity = identity_of(&json!({"id": "1", "userPrincipalName": 5, "displayName": "A"})).unwrap();
        assert_eq!(
            (identity.id.as_str(), identity.user_principal_name, identity.display_name.as_deref()),
            ("1", None, Some("A"))
        );
        let (target, error) = missing_id(&json!({"id": null, "userPrincipalName": "a@contoso.com"}), 3, 4);
        assert_eq!(target, "a@contoso.com");
        assert!(error.message.contains("a@contoso.com"));
        assert_eq!(missing_id(&json!({}), 3, 4).0, "users listing page 3, entry 5");
    }

    #[test]
    fn the_left_out_line_counts_the_accounts_outside_the_scope() {
        assert_eq!(
            left_out_line(161, 200),
            "Listed 161 accounts (licensed members); 39 accounts outside that scope (guests, unlicensed accounts) are not in this list: add -All to include them."
        );
        assert_eq!(
            left_out_line(1, 1_002),
            "Listed 1 account (licensed members); 1,001 accounts outside that scope (guests, unlicensed accounts) are not in this list: add -All to include them."
        );
        assert_eq!(left_out_line(5, 5), "Listed 5 accounts (licensed members); the tenant has no other accounts.");
        // An eventually consistent count lower than the listing never goes negative.
        assert_eq!(left_out_line(5, 4), "Listed 5 accounts (licensed members); the tenant has no other accounts.");
    }
}
