//! Options the host passes in: session options and job requests, with their defaults.

use std::net::IpAddr;

use serde::Deserialize;

use crate::error::{EngineError, ErrorKind};
use crate::model::MfaState;

pub const DEFAULT_GRAPH_ENDPOINT: &str = "https://graph.microsoft.com";

/// Requests in flight per job when the caller does not say. Graph's budget for a large tenant
/// is 8,000 units per 10 s; 60 requests in flight at ~50 ms round trips reach it with headroom,
/// and the throttle gate keeps the rate under it.
pub const DEFAULT_THROTTLE_LIMIT: usize = 60;
pub const MAX_THROTTLE_LIMIT: usize = 1000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionOptions {
    #[serde(default = "default_endpoint")]
    pub graph_endpoint: String,
    #[serde(default)]
    pub auth: AuthOptions,
    #[serde(default)]
    pub user_agent: Option<String>,
}

fn default_endpoint() -> String {
    DEFAULT_GRAPH_ENDPOINT.to_string()
}

/// How the session gets its bearer token. New sign-in methods become new variants.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AuthOptions {
    /// A token obtained elsewhere, passed as the session secret.
    #[default]
    AccessToken,
}

impl SessionOptions {
    pub fn parse(json: &str) -> Result<SessionOptions, EngineError> {
        serde_json::from_str(json)
            .map_err(|e| EngineError::invalid_input(format!("The session options are not valid: {e}.")))
    }
}

/// Checks a Graph endpoint: https anywhere, plain http only on a loopback address, so a token
/// never crosses a network in clear text. Returns the endpoint without a trailing slash.
pub fn validate_endpoint(endpoint: &str) -> Result<reqwest::Url, EngineError> {
    let invalid = |why: String| EngineError::new(ErrorKind::InvalidEndpoint, why);
    let url = reqwest::Url::parse(endpoint.trim()).map_err(|_| {
        invalid(format!(
            "'{endpoint}' is not a valid Graph endpoint. Give an absolute URL such as https://graph.microsoft.com."
        ))
    })?;
    if url.username() != "" || url.password().is_some() {
        return Err(invalid("The Graph endpoint must not contain a user name or password.".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(format!(
                "The Graph endpoint '{endpoint}' uses plain http. The access token would cross the network \
                 unencrypted, so http is allowed only for a loopback address (127.0.0.1, ::1, localhost). Use https."
            )))
        }
        other => {
            return Err(invalid(format!(
                "The Graph endpoint '{endpoint}' uses the scheme '{other}'. Use https, for example https://graph.microsoft.com."
            )))
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("The Graph endpoint must not have a query or fragment.".into()));
    }
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// What a job does. Matches the request JSON of docs/ARCHITECTURE.md §1.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "operation", rename_all = "camelCase")]
pub enum JobRequest {
    #[serde(rename_all = "camelCase")]
    GetStates {
        scope: Scope,
        #[serde(default)]
        throttle_limit: Option<usize>,
    },
    #[serde(rename_all = "camelCase")]
    SetStates {
        state: MfaState,
        #[serde(default)]
        throttle_limit: Option<usize>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    /// Licensed member accounts, as admins' scripts list them.
    LicensedMembers,
    /// Every user, guests and unlicensed included.
    All,
    /// The users the caller pushes.
    Input,
}

impl JobRequest {
    pub fn parse(json: &str) -> Result<JobRequest, EngineError> {
        serde_json::from_str(json).map_err(|e| EngineError::invalid_input(format!("The job request is not valid: {e}.")))
    }

    pub fn throttle_limit(&self) -> Result<usize, EngineError> {
        let limit = match self {
            JobRequest::GetStates { throttle_limit, .. } | JobRequest::SetStates { throttle_limit, .. } => *throttle_limit,
        };
        match limit {
            None => Ok(DEFAULT_THROTTLE_LIMIT),
            Some(n) if (1..=MAX_THROTTLE_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(EngineError::invalid_input(format!(
                "-ThrottleLimit {n} is out of range: give a number from 1 to {MAX_THROTTLE_LIMIT}."
            ))),
        }
    }
}

/// Input pushed into a running job.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInput {
    pub user_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(validate_endpoint("https://graph.microsoft.com").is_ok());
        assert!(validate_endpoint("https://graph.microsoft.us/").is_ok());
        assert!(validate_endpoint("http://127.0.0.1:5000").is_ok());
        assert!(validate_endpoint("http://127.8.9.10:5000").is_ok());
        assert!(validate_endpoint("http://[::1]:5000").is_ok());
        assert!(validate_endpoint("http://LOCALHOST:5000").is_ok());
        let e = validate_endpoint("http://graph.contoso.com").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidEndpoint);
        assert!(e.message.contains("loopback"));
        assert!(validate_endpoint("http://10.0.0.1").is_err());
        assert!(validate_endpoint("http://localhost.evil.com").is_err());
        assert!(validate_endpoint("ftp://graph.microsoft.com").is_err());
        assert!(validate_endpoint("graph.microsoft.com").is_err());
        assert!(validate_endpoint("https://u:p@graph.microsoft.com").is_err());
    }

    #[test]
    fn trailing_slash_is_dropped() {
        assert_eq!(validate_endpoint("http://127.0.0.1:1/").unwrap().as_str(), "http://127.0.0.1:1/");
        assert_eq!(validate_endpoint("https://h/graph/").unwrap().path(), "/graph");
    }

    #[test]
    fn job_requests_parse() {
        let r = JobRequest::parse(r#"{"operation":"getStates","scope":"licensedMembers"}"#).unwrap();
        assert!(matches!(r, JobRequest::GetStates { scope: Scope::LicensedMembers, .. }));
        assert_eq!(r.throttle_limit().unwrap(), DEFAULT_THROTTLE_LIMIT);
        let r = JobRequest::parse(r#"{"operation":"setStates","state":"enforced","throttleLimit":5}"#).unwrap();
        assert!(matches!(r, JobRequest::SetStates { state: MfaState::Enforced, .. }));
        assert_eq!(r.throttle_limit().unwrap(), 5);
        assert!(JobRequest::parse(r#"{"operation":"setStates","state":"on"}"#).is_err());
        let r = JobRequest::parse(r#"{"operation":"getStates","scope":"all","throttleLimit":0}"#).unwrap();
        assert!(r.throttle_limit().is_err());
    }
}
