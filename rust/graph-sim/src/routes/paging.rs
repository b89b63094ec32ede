//! Paging shared by the collection routes (`/users`, `userRegistrationDetails`, `signIns`):
//! [`Collection::page`] does all of it for a route with no rules of its own; `/users` uses the
//! steps ([`start`], [`collect`], [`body`]) around its own.
//!
//! A `$skiptoken` names the index the next page starts at within one tenant generation, so a
//! token from before a regeneration is refused as expired instead of skipping or repeating rows.

use serde_json::{Map, Value};

use crate::odata::{decode_skiptoken, encode_skiptoken, expired_page_token, GraphError, QueryOptions};
use crate::routes::GraphRequest;

/// A collection route answered one page at a time, with its own `$top` limits.
pub struct Collection {
    /// The path after the version segment, e.g. `/auditLogs/signIns`; without its leading `/`
    /// it is also the entity set in `@odata.context`.
    pub path: &'static str,
    /// The page size without `$top`.
    pub default_top: usize,
    /// The largest `$top` accepted.
    pub max_top: usize,
}

impl Collection {
    /// The requested page of `items` (those `keep` accepts, each rendered) as a response body:
    /// `$top` is checked first, then `$skiptoken`.
    pub fn page<T>(
        &self,
        request: &GraphRequest,
        query: &QueryOptions,
        generation: u64,
        items: &[T],
        keep: impl FnMut(&T) -> bool,
        render: impl FnMut(&T) -> Value,
    ) -> Result<Map<String, Value>, GraphError> {
        let size = query.top_within(self.default_top, self.max_top)?;
        let page = collect(items, start(query, generation, items.len())?, size, keep, render);
        Ok(body(request, query, self.path, &self.path[1..], generation, page))
    }
}

/// Where the requested page starts in a collection of `len` items: 0, or the index the
/// `$skiptoken` names when it comes from tenant `generation`.
pub fn start(query: &QueryOptions, generation: u64, len: usize) -> Result<usize, GraphError> {
    match query.skiptoken.as_deref() {
        None => Ok(0),
        Some(token) => match decode_skiptoken(token) {
            Some((token_generation, index)) if token_generation == generation && index <= len => Ok(index),
            _ => Err(expired_page_token()),
        },
    }
}

/// One page of a collection.
pub struct Page {
    pub value: Vec<Value>,
    /// Index of the first item that belongs in the collection but did not fit on this page.
    pub next: Option<usize>,
}

/// Up to `size` of the items from `start` on that `keep` accepts, each rendered.
pub fn collect<T>(
    items: &[T],
    start: usize,
    size: usize,
    mut keep: impl FnMut(&T) -> bool,
    mut render: impl FnMut(&T) -> Value,
) -> Page {
    let mut value = Vec::with_capacity(size.min(items.len()));
    let mut next = None;
    for (index, item) in items.iter().enumerate().skip(start) {
        if keep(item) {
            if value.len() == size {
                next = Some(index);
                break;
            }
            value.push(render(item));
        }
    }
    Page { value, next }
}

/// The body of a collection response: `@odata.context` for the entity set `context`,
/// `@odata.nextLink` back to `path` when another page follows, and `value`.
pub fn body(
    request: &GraphRequest,
    query: &QueryOptions,
    path: &str,
    context: &str,
    generation: u64,
    page: Page,
) -> Map<String, Value> {
    let version = request.version.segment();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(format!("https://graph.microsoft.com/{version}/$metadata#{context}")),
    );
    if let Some(next) = page.next {
        body.insert("@odata.nextLink".into(), Value::String(next_link(request, query, path, generation, next)));
    }
    body.insert("value".into(), Value::Array(page.value));
    body
}

/// `@odata.nextLink` for `path` continuing at index `next`: the request's own query options
/// with a fresh `$skiptoken`.
fn next_link(request: &GraphRequest, query: &QueryOptions, path: &str, generation: u64, next: usize) -> String {
    let mut text = query.raw_without_skiptoken.join("&");
    if !text.is_empty() {
        text.push('&');
    }
    text.push_str("$skiptoken=");
    text.push_str(&encode_skiptoken(generation, next));
    format!("{}/{}{path}?{text}", request.base_url, request.version.segment())
}
