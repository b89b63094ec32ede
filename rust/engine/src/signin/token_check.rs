//! What `Connect-PerUserMfa -AccessToken` can check before the first request: a token that looks
//! like a JWT must decode, be meant for this cloud's Graph and not have expired. Without these
//! checks a wrong token connected fine and failed only at the first command. The signature is
//! not checked (only Graph can); an opaque token cannot be read and is left for Graph to judge.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{EngineError, ErrorKind};
use crate::signin::claims::Claims;
use crate::signin::cloud::Cloud;

/// Microsoft Graph's application id: some tokens carry it as their audience instead of the URL.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Checks a token given with -AccessToken for `cloud` at `now`.
pub fn check(token: &str, cloud: Cloud, now: SystemTime) -> Result<(), EngineError> {
    let token = token.trim();
    if !looks_like_jwt(token) {
        return Ok(());
    }
    let Some(claims) = Claims::decode(token) else {
        return Err(EngineError::invalid_input(
            "The access token looks like a JWT (three parts separated by dots) but its parts cannot be read: it was \
             probably cut short or changed when it was copied. Copy the whole token again, or connect with \
             Connect-MgGraph and then Connect-PerUserMfa.",
        ));
    };
    if let Some(audience) = claims.audience.as_deref() {
        if !is_graph_audience(audience, cloud) {
            return Err(EngineError::invalid_input(format!(
                "The access token is for '{audience}', not for Microsoft Graph in the {} cloud ({}). Get a token for \
                 Graph, for example: (Get-AzAccessToken -ResourceUrl {} -AsSecureString).Token, or connect with \
                 Connect-MgGraph and then Connect-PerUserMfa; -Environment picks another cloud.",
                cloud.name(),
                cloud.graph_resource(),
                cloud.graph_resource()
            )));
        }
    }
    if let Some(exp) = claims.exp {
        let now = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        if exp <= now {
            return Err(EngineError::new(
                ErrorKind::Unauthorized,
                format!(
                    "The access token expired at {} ({} ago). Get a new token and run Connect-PerUserMfa again; a \
                     sign-in PerUserMfa makes itself (an app, a managed identity, the Azure CLI) is refreshed for you.",
                    crate::utc::format(exp),
                    describe_age(now - exp)
                ),
            ));
        }
    }
    Ok(())
}

/// Three non-empty dot-separated parts whose header starts like base64url JSON (`eyJ` = `{"`).
fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3 && parts[0].starts_with("eyJ")
}

fn is_graph_audience(audience: &str, cloud: Cloud) -> bool {
    let audience = audience.trim().trim_end_matches('/');
    audience.eq_ignore_ascii_case(cloud.graph_resource()) || audience.eq_ignore_ascii_case(GRAPH_APP_ID)
}

fn describe_age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::claims::test_jwt;
    use serde_json::json;
    use std::time::Duration;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn a_current_graph_token_passes() {
        let token = test_jwt(&json!({"aud": "https://graph.microsoft.com", "exp": 2_000}));
        assert!(check(&token, Cloud::Global, at(1_000)).is_ok());
        let by_app_id = test_jwt(&json!({"aud": GRAPH_APP_ID, "exp": 2_000}));
        assert!(check(&by_app_id, Cloud::UsGov, at(1_000)).is_ok());
        let slash = test_jwt(&json!({"aud": "https://graph.microsoft.us/", "exp": 2_000}));
        assert!(check(&slash, Cloud::UsGov, at(1_000)).is_ok());
    }

    #[test]
    fn an_expired_token_is_refused_with_when() {
        let token = test_jwt(&json!({"aud": "https://graph.microsoft.com", "exp": 1_000}));
        let error = check(&token, Cloud::Global, at(4_600)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unauthorized);
        assert!(error.message.contains("expired at 1970-01-01T00:16:40Z (60 min ago)"), "{}", error.message);
    }

    #[test]
    fn a_token_for_another_resource_or_cloud_is_refused() {
        let arm = test_jwt(&json!({"aud": "https://management.azure.com", "exp": 2_000}));
        let error = check(&arm, Cloud::Global, at(1_000)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert!(error.message.contains("'https://management.azure.com'"), "{}", error.message);
        let global = test_jwt(&json!({"aud": "https://graph.microsoft.com", "exp": 2_000}));
        assert!(check(&global, Cloud::China, at(1_000)).is_err());
    }

    #[test]
    fn a_cut_jwt_is_refused_and_an_opaque_token_is_left_to_graph() {
        let token = test_jwt(&json!({"aud": "https://graph.microsoft.com"}));
        let cut = &token[..token.len() - 30];
        let cut = format!("{}.{}", cut, "x");
        assert!(check(&cut, Cloud::Global, at(1_000)).is_err());
        assert!(check("not-a-token", Cloud::Global, at(1_000)).is_ok());
        assert!(check("EwBwA8l6BAAU.opaque", Cloud::Global, at(1_000)).is_ok());
    }
}
