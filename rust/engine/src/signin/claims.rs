//! What a JWT access token says about itself: permissions (`roles` for an app, `scp` for a
//! delegated sign-in), expiry, tenant and app. Read without checking the signature: only Graph
//! can judge the token; the engine reads it to tell the admin what is missing before Graph
//! refuses. An opaque (non-JWT) token gives `None` and is used as it is.

use std::time::SystemTime;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

/// Whose permissions a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionType {
    /// App-only: application permissions in `roles`.
    Application,
    /// On behalf of a signed-in user: delegated scopes in `scp`.
    Delegated,
}

impl PermissionType {
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionType::Application => "Application",
            PermissionType::Delegated => "Delegated",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Claims {
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub has_scp: bool,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub tenant_id: Option<String>,
    pub app_id: Option<String>,
    pub app_display_name: Option<String>,
    pub audience: Option<String>,
    /// The signed-in user for a delegated token (`upn`, `preferred_username` or `unique_name`).
    pub account: Option<String>,
    pub object_id: Option<String>,
    pub idtyp: Option<String>,
    /// A managed identity's Azure resource id (`xms_mirid`).
    pub managed_identity_resource: Option<String>,
}

impl Claims {
    /// The claims of a JWT (`header.payload.signature`, base64url); None for anything else.
    pub fn decode(token: &str) -> Option<Claims> {
        let mut parts = token.trim().split('.');
        let (Some(header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let header: Value = serde_json::from_slice(&decode_part(header)?).ok()?;
        header.as_object()?;
        let payload: Value = serde_json::from_slice(&decode_part(payload)?).ok()?;
        let object = payload.as_object()?;
        let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
        let number =
            |name: &str| object.get(name).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
        let roles = match object.get("roles") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let scp = text("scp");
        Some(Claims {
            roles,
            scopes: scp.as_deref().map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default(),
            has_scp: scp.is_some(),
            exp: number("exp"),
            iat: number("iat"),
            tenant_id: text("tid"),
            app_id: text("appid").or_else(|| text("azp")),
            app_display_name: text("app_displayname"),
            audience: text("aud"),
            account: text("upn").or_else(|| text("preferred_username")).or_else(|| text("unique_name")),
            object_id: text("oid"),
            idtyp: text("idtyp"),
            managed_identity_resource: text("xms_mirid"),
        })
    }

    pub fn permission_type(&self) -> PermissionType {
        if self.has_scp || self.idtyp.as_deref() == Some("user") {
            PermissionType::Delegated
        } else {
            PermissionType::Application
        }
    }

    /// The permissions the token carries: `scp` for delegated, `roles` for app-only.
    pub fn permissions(&self) -> &[String] {
        match self.permission_type() {
            PermissionType::Delegated => &self.scopes,
            PermissionType::Application => &self.roles,
        }
    }

    /// Whether the token carries any of `wanted` (case-insensitive, as Graph compares them).
    pub fn has_any(&self, wanted: &[&str]) -> bool {
        self.permissions().iter().any(|have| wanted.iter().any(|w| w.eq_ignore_ascii_case(have)))
    }

    pub fn expires_on(&self) -> Option<SystemTime> {
        super::unix_time(u64::try_from(self.exp?).ok()?)
    }
}

fn decode_part(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).or_else(|_| URL_SAFE.decode(part)).ok()
}

/// `SystemTime` as RFC 3339 UTC (`2026-01-31T09:15:02Z`), for the connection's details.
pub fn rfc3339(time: SystemTime) -> String {
    crate::utc::format(time.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0))
}

#[cfg(test)]
pub(crate) fn test_jwt(claims: &Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_application_permissions() {
        let token = test_jwt(
            &json!({"aud":"https://graph.microsoft.com","tid":"t1","appid":"a1","roles":["User.Read.All","Policy.Read.All"],"exp":1_900_000_000,"idtyp":"app"}),
        );
        let claims = Claims::decode(&token).unwrap();
        assert_eq!(claims.permission_type(), PermissionType::Application);
        assert_eq!(claims.permissions(), ["User.Read.All", "Policy.Read.All"]);
        assert!(claims.has_any(&["policy.read.all"]));
        assert!(!claims.has_any(&["Policy.ReadWrite.AuthenticationMethod"]));
        assert_eq!(claims.tenant_id.as_deref(), Some("t1"));
        assert_eq!(claims.app_id.as_deref(), Some("a1"));
        assert_eq!(rfc3339(claims.expires_on().unwrap()), "2030-03-17T17:46:40Z");
    }

    #[test]
    fn reads_delegated_scopes_and_the_account() {
        let token = test_jwt(
            &json!({"scp":"User.Read.All  Policy.ReadWrite.AuthenticationMethod","upn":"admin@contoso.com","azp":"a2","exp":"1900000000"}),
        );
        let claims = Claims::decode(&token).unwrap();
        assert_eq!(claims.permission_type(), PermissionType::Delegated);
        assert_eq!(claims.permissions(), ["User.Read.All", "Policy.ReadWrite.AuthenticationMethod"]);
        assert_eq!(claims.account.as_deref(), Some("admin@contoso.com"));
        assert_eq!(claims.app_id.as_deref(), Some("a2"));
        assert_eq!(claims.exp, Some(1_900_000_000));
    }

    #[test]
    fn an_app_token_without_roles_has_no_permissions() {
        let claims = Claims::decode(&test_jwt(&json!({"appid":"a"}))).unwrap();
        assert_eq!(claims.permission_type(), PermissionType::Application);
        assert!(claims.permissions().is_empty());
    }

    #[test]
    fn opaque_and_malformed_tokens_give_none() {
        assert!(Claims::decode("EwBwA8l6BAAU...opaque").is_none());
        assert!(Claims::decode("a.b.c").is_none());
        assert!(Claims::decode("a.b").is_none());
        assert!(Claims::decode(&format!("{}.{}.s.extra", URL_SAFE_NO_PAD.encode("{}"), URL_SAFE_NO_PAD.encode("{}")))
            .is_none());
        assert!(
            Claims::decode(&format!("{}.{}.s", URL_SAFE_NO_PAD.encode("{}"), URL_SAFE_NO_PAD.encode("[1]"))).is_none()
        );
        // Padded base64url is accepted too.
        let padded = format!("{}.{}.s", URL_SAFE.encode("{\"a\":1}"), URL_SAFE.encode("{\"roles\":[\"X\"]}"));
        assert_eq!(Claims::decode(&padded).unwrap().roles, ["X"]);
    }
}
