//! Access tokens and permissions.
//!
//! Tokens are JWT-shaped (`base64url(header).base64url(payload).base64url(signature)`) with the
//! claims Entra puts in a Graph token (`aud`, `iss`, `tid`, `appid`, `azp`, `iat`, `nbf`, `exp`,
//! `roles` for application permissions or `scp` for delegated ones). The signature is
//! HMAC-SHA256 over `header.payload` with a key drawn at random per simulator, so only tokens this
//! simulator minted are accepted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::clock;

pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// The application id tokens carry unless `/_sim/token` is given an `appId`.
pub const DEFAULT_APP_ID: &str = "5f3c1e0a-7b2d-4c8e-9a61-2d4b8f0c3e17";

/// Permissions that allow reading users.
pub const USER_READ: &[&str] =
    &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
/// Permissions that allow reading per-user MFA state.
pub const POLICY_READ: &[&str] = &["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"];
/// Permissions that allow changing per-user MFA state.
pub const POLICY_WRITE: &[&str] = &["Policy.ReadWrite.AuthenticationMethod"];

/// What `POST /_sim/token` accepts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// Application permissions (an app-only token).
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Delegated scopes, space-separated (a delegated token).
    #[serde(default)]
    pub scp: Option<String>,
    /// Lifetime in seconds from now; 0 or negative mints an already expired token.
    #[serde(default)]
    pub lifetime_seconds: Option<i64>,
    /// Application (client) id; each app has its own throttling budget.
    #[serde(default)]
    pub app_id: Option<String>,
}

impl TokenRequest {
    pub fn roles(roles: &[&str]) -> Self {
        TokenRequest { roles: Some(roles.iter().map(|r| r.to_string()).collect()), ..Default::default() }
    }

    pub fn scopes(scp: &str) -> Self {
        TokenRequest { scp: Some(scp.to_owned()), ..Default::default() }
    }

    pub fn lifetime(mut self, seconds: i64) -> Self {
        self.lifetime_seconds = Some(seconds);
        self
    }

    pub fn app(mut self, app_id: &str) -> Self {
        self.app_id = Some(app_id.to_owned());
        self
    }
}

/// A minted token, as `/_sim/token` returns it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
}

/// Who is calling, from a validated token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub app_id: String,
    pub delegated: bool,
    /// Application permissions (`roles`) or delegated scopes (`scp`), whichever the token has.
    pub permissions: Vec<String>,
}

impl Principal {
    pub fn has_any(&self, wanted: &[&str]) -> bool {
        self.permissions.iter().any(|have| wanted.iter().any(|w| w.eq_ignore_ascii_case(have)))
    }
}

/// Why a bearer token was refused; each maps to a Graph 401 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Invalid,
    Expired,
    /// Revoked with `POST /_sim/tokens/revoke` (as continuous access evaluation would).
    Revoked,
}

impl AuthError {
    pub fn message(self) -> &'static str {
        match self {
            AuthError::Missing => "Access token is empty.",
            AuthError::Invalid => "Access token validation failure. Invalid audience.",
            AuthError::Expired => "Lifetime validation failed, the token is expired.",
            AuthError::Revoked => "Access token validation failure. The token has been revoked.",
        }
    }
}

/// A token this simulator issued, as `GET /_sim/tokens` lists it (tests scan output for these).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedRecord {
    /// `sim` (`/_sim/token`), `clientSecret`, `certificate`, `managedIdentity`.
    pub via: String,
    pub app_id: String,
    pub issued_at: i64,
    pub expires_in: i64,
    pub access_token: String,
    #[serde(skip)]
    pub uti: String,
}

/// How many issued tokens `/_sim/tokens` remembers.
const ISSUED_KEPT: usize = 2_000;

/// Mints and validates tokens for one simulator.
pub struct TokenAuthority {
    key: [u8; 32],
    tenant_id: String,
    issued: parking_lot::Mutex<std::collections::VecDeque<IssuedRecord>>,
    /// `uti`s of revoked tokens (`POST /_sim/tokens/revoke`).
    revoked: parking_lot::RwLock<std::collections::HashSet<String>>,
    /// Graph requests refused with 401 (any reason).
    rejected: std::sync::atomic::AtomicU64,
}

impl TokenAuthority {
    pub fn new(tenant_id: String) -> Self {
        TokenAuthority {
            key: rand::random(),
            tenant_id,
            issued: Default::default(),
            revoked: Default::default(),
            rejected: Default::default(),
        }
    }

    /// Mints a token and remembers it as issued `via` a sign-in route.
    pub fn issue_via(&self, request: &TokenRequest, via: &str) -> Result<IssuedToken, String> {
        let issued = self.mint(request)?;
        let claims = decode_claims(&issued.access_token).unwrap_or(Value::Null);
        let mut list = self.issued.lock();
        if list.len() >= ISSUED_KEPT {
            list.pop_front();
        }
        list.push_back(IssuedRecord {
            via: via.to_owned(),
            app_id: claims["appid"].as_str().unwrap_or_default().to_owned(),
            issued_at: claims["iat"].as_i64().unwrap_or_default(),
            expires_in: issued.expires_in,
            access_token: issued.access_token.clone(),
            uti: claims["uti"].as_str().unwrap_or_default().to_owned(),
        });
        Ok(issued)
    }

    /// Every token issued so far (at most the last 2,000), oldest first.
    pub fn issued(&self) -> Vec<IssuedRecord> {
        self.issued.lock().iter().cloned().collect()
    }

    /// Revokes every token issued so far (or only `app_id`'s): Graph then answers them 401.
    /// Returns how many were revoked.
    pub fn revoke(&self, app_id: Option<&str>) -> usize {
        let list = self.issued.lock();
        let mut revoked = self.revoked.write();
        let mut count = 0;
        for record in list.iter().filter(|r| app_id.is_none_or(|a| a.eq_ignore_ascii_case(&r.app_id))) {
            if revoked.insert(record.uti.clone()) {
                count += 1;
            }
        }
        count
    }

    /// Graph requests refused with 401 so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// Mints a token (remembered as issued `via` `sim`, like `POST /_sim/token`).
    pub fn issue(&self, request: &TokenRequest) -> Result<IssuedToken, String> {
        self.issue_via(request, "sim")
    }

    fn mint(&self, request: &TokenRequest) -> Result<IssuedToken, String> {
        if request.roles.is_some() && request.scp.is_some() {
            return Err("give either 'roles' (application permissions) or 'scp' (delegated scopes), not both".into());
        }
        let now = clock::unix_now();
        let lifetime = request.lifetime_seconds.unwrap_or(3_600);
        let app_id = request.app_id.clone().unwrap_or_else(|| DEFAULT_APP_ID.to_owned());
        let delegated = request.scp.is_some();
        let mut claims = Map::new();
        claims.insert("aud".into(), json!(GRAPH_AUDIENCE));
        claims.insert("iss".into(), json!(format!("https://sts.windows.net/{}/", self.tenant_id)));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now - 300));
        claims.insert("exp".into(), json!(now + lifetime));
        claims.insert("app_displayname".into(), json!("graph-sim client"));
        claims.insert("appid".into(), json!(app_id));
        claims.insert("azp".into(), json!(app_id));
        claims.insert("appidacr".into(), json!("1"));
        claims.insert("idp".into(), json!(format!("https://sts.windows.net/{}/", self.tenant_id)));
        claims.insert("idtyp".into(), json!(if delegated { "user" } else { "app" }));
        claims.insert("oid".into(), json!(uuid::Uuid::new_v4().to_string()));
        if let Some(scp) = &request.scp {
            claims.insert("scp".into(), json!(scp.split_whitespace().collect::<Vec<_>>().join(" ")));
            claims.insert("upn".into(), json!("admin@contoso.onmicrosoft.com"));
            claims.insert("name".into(), json!("Simulated Admin"));
        } else {
            claims.insert("roles".into(), json!(request.roles.clone().unwrap_or_default()));
        }
        claims.insert("sub".into(), json!(uuid::Uuid::new_v4().to_string()));
        claims.insert("tid".into(), json!(self.tenant_id));
        claims.insert("uti".into(), json!(URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())));
        claims.insert("ver".into(), json!("1.0"));
        let header = json!({"typ": "JWT", "alg": "HS256", "kid": "graph-sim"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(&self.key, signing_input.as_bytes()));
        Ok(IssuedToken { access_token: format!("{signing_input}.{signature}"), expires_in: lifetime.max(0) })
    }

    /// Validates an `Authorization` header value.
    pub fn validate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let outcome = self.check(authorization);
        if outcome.is_err() {
            self.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        outcome
    }

    fn check(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let value = authorization.map(str::trim).unwrap_or("");
        if value.is_empty() {
            return Err(AuthError::Missing);
        }
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ if value.eq_ignore_ascii_case("bearer") => "",
            _ => return Err(AuthError::Invalid),
        };
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Invalid);
        };
        let expected = hmac_sha256(&self.key, &token.as_bytes()[..header.len() + 1 + payload.len()]);
        let given = URL_SAFE_NO_PAD.decode(signature).map_err(|_| AuthError::Invalid)?;
        if !constant_time_eq(&expected, &given) {
            return Err(AuthError::Invalid);
        }
        let claims: Value = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(AuthError::Invalid)?;
        if claims["aud"] != GRAPH_AUDIENCE || claims["tid"] != self.tenant_id.as_str() {
            return Err(AuthError::Invalid);
        }
        let exp = claims["exp"].as_i64().ok_or(AuthError::Invalid)?;
        if clock::unix_now() >= exp {
            return Err(AuthError::Expired);
        }
        if claims["uti"].as_str().is_some_and(|uti| self.revoked.read().contains(uti)) {
            return Err(AuthError::Revoked);
        }
        let app_id = claims["appid"].as_str().unwrap_or(DEFAULT_APP_ID).to_owned();
        let (delegated, permissions) = match claims.get("scp").and_then(Value::as_str) {
            Some(scp) => (true, scp.split_whitespace().map(str::to_owned).collect()),
            None => (
                false,
                claims["roles"]
                    .as_array()
                    .map(|roles| roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
            ),
        };
        Ok(Principal { app_id, delegated, permissions })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 (RFC 2104) on top of the `sha2` crate.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let inner_hash = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner_hash);
    outer.finalize().into()
}

/// Decodes the payload of a JWT-shaped token without checking it (for tests and diagnostics).
pub fn decode_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn issued_tokens_validate_and_carry_claims() {
        let authority = TokenAuthority::new("11111111-2222-4333-8444-555555555555".into());
        let app = authority.issue(&TokenRequest::roles(&["User.Read.All", "Policy.Read.All"])).unwrap();
        let claims = decode_claims(&app.access_token).unwrap();
        assert_eq!(claims["aud"], GRAPH_AUDIENCE);
        assert_eq!(claims["roles"][1], "Policy.Read.All");
        let principal = authority.validate(Some(&format!("Bearer {}", app.access_token))).unwrap();
        assert!(principal.has_any(POLICY_READ));
        assert!(!principal.has_any(POLICY_WRITE));

        let delegated =
            authority.issue(&TokenRequest::scopes("User.Read.All Policy.ReadWrite.AuthenticationMethod")).unwrap();
        let principal = authority.validate(Some(&format!("bearer {}", delegated.access_token))).unwrap();
        assert!(principal.delegated && principal.has_any(POLICY_WRITE));
    }

    #[test]
    fn refuses_missing_foreign_tampered_and_expired_tokens() {
        let authority = TokenAuthority::new("t".into());
        let other = TokenAuthority::new("t".into());
        assert_eq!(authority.validate(None).unwrap_err(), AuthError::Missing);
        assert_eq!(authority.validate(Some("Bearer ")).unwrap_err(), AuthError::Missing);
        assert_eq!(authority.validate(Some("Bearer garbage")).unwrap_err(), AuthError::Invalid);
        let foreign = other.issue(&TokenRequest::roles(&[])).unwrap().access_token;
        assert_eq!(authority.validate(Some(&format!("Bearer {foreign}"))).unwrap_err(), AuthError::Invalid);
        let expired = authority.issue(&TokenRequest::roles(&[]).lifetime(-10)).unwrap().access_token;
        assert_eq!(authority.validate(Some(&format!("Bearer {expired}"))).unwrap_err(), AuthError::Expired);
        let mut parts: Vec<String> =
            authority.issue(&TokenRequest::roles(&[])).unwrap().access_token.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(
            r#"{"aud":"https://graph.microsoft.com","tid":"t","exp":99999999999,"roles":["Directory.ReadWrite.All"]}"#,
        );
        assert_eq!(authority.validate(Some(&format!("Bearer {}", parts.join(".")))).unwrap_err(), AuthError::Invalid);
    }
}
